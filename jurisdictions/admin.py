"""The admin that NGO editors work in (``/admin/``).

Every model keeps its history (django-simple-history): each change page has a "History" button
that lists every write with its author and can revert to an earlier version.

Conventions, for every class below:
- an editor never types a primary key: every relation is an autocomplete or an inline;
- changelist columns read only what ``get_queryset`` joined or annotated, so a page of 100 rows
  costs the same number of queries as a page of 2 (``tests/test_admin.py`` pins this);
- search ignores case and accents: the term is folded like the ``search_text`` columns
  (``models.fold_for_search``), so "Sao Paulo" finds "São Paulo" on SQLite and PostgreSQL;
- deletes that would lose legal data are refused by ``PROTECT`` and shown as Django's
  "cannot delete" page; criteria cannot be deleted at all (they are retired).

The editorial workflow (issue 4):
- every form carries the version of the row it was opened on (``base_version``, hidden) and an
  optional "reason for this change" kept in the history; a save based on an old version is
  refused, the form saying who changed what since (:class:`EditorialForm`). The same check covers
  inline rows that were changed, and the database enforces it (``TrackedModel.save``) so two
  saves racing each other cannot both land;
- bulk deletes go row by row through ``delete()``: each deleted row keeps its history;
- reviewers (``jurisdictions.verify_assessment`` / ``review_jurisdiction``) get the actions "Mark
  verified today" / "Mark reviewed today"; the verification fields are read-only for others;
  "stale" filters list answers not verified within ``settings.LAWTRACKER_STALE_DAYS`` days;
- instruments, status events, assessments and sources import and export spreadsheets (CSV,
  XLSX) keyed by natural keys (:mod:`jurisdictions.resources`), all or nothing.
"""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from import_export.admin import ImportExportMixin
from import_export.formats import base_formats
from simple_history.admin import SimpleHistoryAdmin

from . import choices, clock, editorial, resources, text
from .choices import Status
from .models import (
    StaleVersion,
    Assessment,
    AssessmentSource,
    BlocMembership,
    Criterion,
    Event,
    EventJurisdiction,
    EventSource,
    Identifier,
    Instrument,
    InstrumentAmendment,
    InstrumentSource,
    Jurisdiction,
    Source,
    StatusEvent,
    StatusEventSource,
    fold_for_search,
)

# Long text fields stay small inside tabular inlines; a URL typed without a scheme is taken
# as https:// (Django 6's default, chosen now rather than http://).
COMPACT_TEXT = {
    models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 40})},
    models.URLField: {"assume_scheme": "https"},
}


def admin_change_url(obj) -> str:
    """The admin change page URL of ``obj`` (a saved model instance)."""
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def count_subquery(model, fk_field: str) -> Coalesce:
    """A correlated ``COUNT(*)`` of ``model`` rows whose ``fk_field`` is the outer row.

    Used instead of ``Count()`` over several reverse relations at once, whose joins would
    multiply each other's rows.
    """
    counted = (
        model.objects.filter(**{fk_field: OuterRef("pk")})
        .order_by()
        .values(fk_field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def source_links(sources) -> str:
    """HTML list of links to the admin pages of ``sources`` (already fetched), or "—"."""
    sources = list(sources)
    if not sources:
        return "—"
    return format_html(
        "<ul class=\"cited\">{}</ul>",
        format_html_join(
            "", '<li><a href="{}">{}</a></li>', ((admin_change_url(s), str(s)) for s in sources)
        ),
    )


class FoldedSearchMixin:
    """Search that ignores case and accents on every database.

    The term is folded like the ``search_text`` columns (NFKD, combining marks dropped,
    case-folded), so ``search_fields`` should name those columns, plus ASCII keys (codes, slugs,
    URLs, identifier values) on which a folded term still matches case-insensitively.
    """

    def get_search_results(self, request, queryset, search_term):
        return super().get_search_results(request, queryset, fold_for_search(search_term))


# --- the editorial workflow: versions, reasons, verification -----------------------------------
class BaseVersionField(forms.IntegerField):
    """The version of the row the form was opened on (hidden). Never counts as a change of its
    own: whether an inline row was edited is decided by its real fields."""

    widget = forms.HiddenInput

    def has_changed(self, initial, data):
        return False


def refuse_stale(form) -> None:
    """Raise ``ValidationError`` when ``form`` edits a row saved by someone else since the form
    was opened, naming who changed what (from the history). New rows pass."""
    instance = form.instance
    if instance.pk is None or instance._state.adding:
        return
    based_on = form.cleaned_data.get("base_version")
    if based_on is None:
        raise ValidationError(
            "This form does not say which version of the record it was opened on. Reload the "
            "page and apply your changes again.",
            code="no_version",
        )
    if based_on == instance.version:
        return
    model = type(instance)
    lines = [
        f"Someone else changed this {model._meta.verbose_name} after you opened it (you "
        f"opened version {based_on}, it is now version {instance.version}). Nothing was saved."
    ]
    lines += [
        "Their change: " + change.text()
        for change in editorial.changes_since(model, instance.pk, based_on)
    ]
    lines.append(
        "Reload the page to see the current version, then apply your changes again "
        "(copy them from this form first)."
    )
    raise ValidationError(lines, code="stale")


class VersionedForm(forms.ModelForm):
    """A model form carrying ``base_version``, the version of the row it was opened on (a form
    field, not a model field: the model's ``version`` is not editable); the subclass's
    ``clean`` decides when to check it with :func:`refuse_stale`."""

    base_version = BaseVersionField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.initial["base_version"] = self.instance.version


class EditorialForm(VersionedForm):
    """A model admin form: the version it was opened on and an optional reason for the change.

    ``change_reason`` is a form field too: :meth:`EditorialAdmin.save_model` passes it to the
    history, and ``clean`` refuses an edit of an old version (:func:`refuse_stale`).
    """

    change_reason = forms.CharField(
        label="Reason for this change",
        required=False,
        max_length=editorial.REASON_MAX_LENGTH,
        validators=[text.validate_line],
        help_text="Optional; kept in the record's history (e.g. “Gazette of 2025-03-01”).",
    )

    def clean(self):
        cleaned = super().clean()
        refuse_stale(self)
        return cleaned


class EditorialInlineForm(VersionedForm):
    """An inline row's form: the version it was opened on, checked only when the row is edited
    or deleted (an untouched row is not saved, so it cannot overwrite anything)."""

    def clean(self):
        cleaned = super().clean()
        if self.has_changed():
            refuse_stale(self)
        return cleaned


EDITORIAL_FIELDS = ["change_reason", "base_version"]


class EditorialInlineMixin:
    """Inlines whose rows carry their version (see :class:`EditorialInlineForm`)."""

    form = EditorialInlineForm

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if "base_version" not in fields and self.has_change_permission(request, obj):
            fields.append("base_version")
        return fields


class HistoryAdmin(FoldedSearchMixin, SimpleHistoryAdmin):
    """Base of every model admin here: history, folded search, bounded changelists, and the
    editorial workflow (versions, reasons, row-by-row deletes)."""

    list_per_page = 100
    formfield_overrides = COMPACT_TEXT
    form = EditorialForm

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None and obj.pk is not None and hasattr(obj, "_history"):
            # The history page's "revert" form shows an old version: the edit it makes is
            # based on the row as it is now, which the form must carry.
            current = (
                type(obj)._default_manager.filter(pk=obj.pk)
                .values_list("version", flat=True)
                .first()
            )
            if current is not None:
                obj.version = current
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (title, {**options, "fields": [
                f for f in options["fields"] if f not in EDITORIAL_FIELDS
            ]})
            for title, options in super().get_fieldsets(request, obj)
        ]
        can_write = (
            self.has_change_permission(request, obj)
            if obj is not None
            else self.has_add_permission(request)
        )
        if can_write:
            fieldsets.append(("Your change", {"fields": EDITORIAL_FIELDS}))
        return fieldsets

    def save_model(self, request, obj, form, change):
        # A save that changes nothing (a reason alone changes nothing) keeps the version and
        # writes no history: ``TrackedModel.save`` decides, for every path.
        editorial.stamp(obj, request.user, form.cleaned_data.get("change_reason"))
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        # The inline rows written with this form share its reason.
        reason = form.cleaned_data.get("change_reason")
        for inline_form in formset.forms:
            editorial.stamp(inline_form.instance, request.user, reason)
            if isinstance(inline_form.instance, (Assessment, StatusEvent)) and (
                inline_form.has_changed()
            ):
                set_verifier(request, inline_form.instance, inline_form)
        super().save_formset(request, form, formset, change)

    def delete_queryset(self, request, queryset):
        """Delete the selected rows one by one, so that each leaves its "deleted" record in
        the history with the user and the reason (PROTECT was checked by the confirmation)."""
        with transaction.atomic():
            for obj in queryset:
                editorial.stamp(obj, request.user, "admin: deleted with “delete selected”")
                obj.delete()

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except StaleVersion as exc:
            # Two saves of one version racing each other: the database let only one land.
            return self._refuse_race(request, exc)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        try:
            with transaction.atomic():
                return super().history_form_view(request, object_id, version_id, extra_context)
        except StaleVersion as exc:
            return self._refuse_race(request, exc)

    def _refuse_race(self, request, exc: StaleVersion):
        self.message_user(
            request,
            f"{exc} Nothing was saved: open the record again and apply your changes.",
            messages.ERROR,
        )
        return HttpResponseRedirect(request.get_full_path())


class OffIndexMixin:
    """Link tables stay reachable (history, autocomplete, direct links) but off the admin index:
    they are edited as inlines of the rows they link (issue 18)."""

    def has_module_permission(self, request):
        return False


def stale_limit() -> "datetime.date":
    """The oldest verification date that is not stale today."""
    return editorial.today() - datetime.timedelta(days=editorial.stale_days())


class StaleDateFilter(admin.SimpleListFilter):
    """Rows whose ``date_field`` is stale: empty, or older than
    ``settings.LAWTRACKER_STALE_DAYS`` days before today (:func:`stale_limit`); ``false``
    lists the others. Subclasses set ``title``, ``parameter_name``, ``date_field`` and
    ``verb``, the past participle the choices read ("verified")."""

    date_field: str
    verb: str

    def lookups(self, request, model_admin):
        days = editorial.stale_days()
        return [
            ("true", f"Stale (never {self.verb}, or more than {days} days ago)"),
            ("false", f"{self.verb.capitalize()} within {days} days"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "true":
            return queryset.filter(
                Q(**{f"{self.date_field}__isnull": True})
                | Q(**{f"{self.date_field}__lt": stale_limit()})
            )
        if self.value() == "false":
            return queryset.filter(**{f"{self.date_field}__gte": stale_limit()})
        return queryset


class StaleVerificationFilter(StaleDateFilter):
    """Answers whose verification is stale: never verified, or longer ago than
    ``settings.LAWTRACKER_STALE_DAYS`` days (the rule of ``AssessmentQuerySet.stale``)."""

    title = "verification"
    parameter_name = "stale"
    date_field, verb = "verified_on", "verified"


class StaleReviewFilter(StaleDateFilter):
    """Jurisdictions whose last review is older than ``settings.LAWTRACKER_STALE_DAYS`` days
    (or never reviewed)."""

    title = "review"
    parameter_name = "review_stale"
    date_field, verb = "last_reviewed_on", "reviewed"


class EditorialImportExportMixin(ImportExportMixin):
    """Spreadsheet import and export (django-import-export) with the editorial rules: importing
    needs the add and change permissions; an import is all or nothing (a file with one bad row
    changes nothing, also at the confirmation step); each imported row gets a history record
    naming the importer and the file."""

    import_formats = [base_formats.CSV, base_formats.XLSX]
    export_formats = [base_formats.CSV, base_formats.XLSX]

    def has_import_permission(self, request):
        opts = self.opts
        return request.user.has_perms(
            [f"{opts.app_label}.{action}_{opts.model_name}" for action in ("add", "change")]
        )

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    import_form_class = resources.ReasonImportForm
    confirm_form_class = resources.ReasonConfirmImportForm

    def get_import_data_kwargs(self, **kwargs):
        form = kwargs.get("form")
        data_kwargs = super().get_import_data_kwargs(**kwargs)
        data_kwargs["rollback_on_validation_errors"] = True
        if form is not None and getattr(form, "cleaned_data", None):
            # The editor's reason goes into every imported row's history (issue 18).
            data_kwargs["change_reason"] = form.cleaned_data.get("change_reason") or ""
        return data_kwargs

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["change_reason"] = import_form.cleaned_data.get("change_reason") or ""
        return initial

    import_template_name = "admin/jurisdictions/import.html"

    def get_urls(self):
        from django.urls import path

        opts = self.model._meta
        return [
            path("import-template.<str:fmt>", self.admin_site.admin_view(self.template_view),
                 name=f"{opts.app_label}_{opts.model_name}_import_template"),
            *super().get_urls(),
        ]

    def template_view(self, request, fmt):
        """The import template of this model: its columns and an example row, as CSV or XLSX
        (with a second sheet of the columns' formats)."""
        from django.core.exceptions import PermissionDenied
        from django.http import Http404, HttpResponse

        if not self.has_import_permission(request):
            raise PermissionDenied
        resource_class = self.resource_classes[0]
        dataset = resources.template_dataset(resource_class)
        name = f"{self.opts.model_name}-template.{fmt}"
        if fmt == "csv":
            response = HttpResponse(dataset.export("csv"), content_type="text/csv")
        elif fmt == "xlsx":
            import tablib

            formats = tablib.Dataset(*resources.column_formats(resource_class),
                                     headers=["column", "format"], title="formats")
            response = HttpResponse(
                tablib.Databook([dataset, formats]).export("xlsx"),
                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        else:
            raise Http404("The template comes as csv or xlsx.")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def import_action(self, request, **kwargs):
        response = super().import_action(request, **kwargs)
        context = getattr(response, "context_data", None)
        if context is not None:
            result = context.get("result")
            if result is not None and (result.has_errors() or result.has_validation_errors()):
                # Every error in words, by row and column, above the preview (issue 18).
                context["error_lines"] = resources.describe_errors(result)
            context["column_formats"] = resources.column_formats(self.resource_classes[0])
            opts = self.model._meta
            context["template_url"] = f"admin:{opts.app_label}_{opts.model_name}_import_template"
        return response

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            # The data changed between the preview and the confirmation: rolled back.
            self.message_user(
                request,
                "Nothing was imported: "
                + "; ".join(resources.describe_errors(result)[:5]),
                messages.ERROR,
            )
            return HttpResponseRedirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_import")
            )
        return super().process_result(result, request)


class LinkInline(EditorialInlineMixin, admin.TabularInline):
    """A tabular inline of link rows (citations, memberships, amendments) whose related rows
    are picked by autocomplete: ``autocomplete_fields`` are fetched in the inline's own query
    (``select_related``), never one query per row. Subclasses set ``model`` and
    ``autocomplete_fields`` (at least one foreign key)."""

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(*self.autocomplete_fields)


# --- citations as inlines ----------------------------------------------------------------
class CitationInline(LinkInline):
    """A tabular list of cited sources, chosen by autocomplete (URL, title or publisher).

    Titled "sources cited by this <citing model>" after the page it is shown on.
    """

    extra = 1
    autocomplete_fields = ["source"]
    fields = ["source"]
    verbose_name = "cited source"

    def __init__(self, parent_model, admin_site):
        super().__init__(parent_model, admin_site)
        self.verbose_name_plural = f"sources cited by this {parent_model._meta.verbose_name}"


class InstrumentSourceInline(CitationInline):
    model = InstrumentSource


class StatusEventSourceInline(CitationInline):
    model = StatusEventSource


class AssessmentSourceInline(CitationInline):
    model = AssessmentSource


class EventSourceInline(CitationInline):
    model = EventSource


# --- jurisdictions -------------------------------------------------------------------------
class JurisdictionForm(EditorialForm):
    class Meta:
        model = Jurisdiction
        fields = "__all__"

    def clean_code(self):
        # The model's field validator wants capitals and runs before Jurisdiction.clean()
        # normalises, so normalise here: an editor may type "us-ca".
        return (self.cleaned_data.get("code") or "").strip().upper()


class MembershipOfBlocInline(LinkInline):
    """The blocs this jurisdiction belongs to (the UK in the EU, 1973-01-01 to 2020-01-31)."""

    model = BlocMembership
    fk_name = "member"
    extra = 0
    autocomplete_fields = ["bloc", "source"]
    fields = ["bloc", "start_date", "end_date", "source"]
    verbose_name = "membership of a bloc"
    verbose_name_plural = "memberships of blocs"


class BlocMemberInline(LinkInline):
    """The members of this bloc (for the EU: its member states, past and present)."""

    model = BlocMembership
    fk_name = "bloc"
    extra = 0
    autocomplete_fields = ["member", "source"]
    fields = ["member", "start_date", "end_date", "source"]
    verbose_name = "member"
    verbose_name_plural = "members (for a bloc)"


@admin.register(Jurisdiction)
class JurisdictionAdmin(HistoryAdmin):
    form = JurisdictionForm
    list_display = [
        "code",
        "name",
        "common_name",
        "kind",
        "parent",
        "research_status",
        "last_reviewed_on",
        "instrument_count",
    ]
    list_filter = [
        "kind",
        "research_status",
        StaleReviewFilter,
        ("parent", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["parent"]
    search_fields = ["=code", "search_text"]
    autocomplete_fields = ["parent", "reviewed_by"]
    actions = ["mark_reviewed_today"]
    readonly_fields = ["instruments_link", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["code", "name", "common_name", "official_name", "kind", "parent"]}),
        ("ISO details", {"fields": ["subdivision_type", "numeric_code"]}),
        (
            "Research",
            {
                "fields": [
                    "research_status",
                    "last_reviewed_on",
                    "reviewed_by",
                    "research_compiled_on",
                    "research_notes",
                    "instruments_link",
                ]
            },
        ),
        ("Record", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]
    inlines = [MembershipOfBlocInline, BlocMemberInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            _instrument_count=count_subquery(Instrument, "jurisdiction")
        )

    def has_review_permission(self, request):
        return request.user.has_perm("jurisdictions.review_jurisdiction")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not self.has_review_permission(request):
            fields += ["last_reviewed_on", "reviewed_by"]
        return fields

    def save_model(self, request, obj, form, change):
        # A reviewer who sets the review date is the reviewer, unless they name someone else.
        if "last_reviewed_on" in form.changed_data and "reviewed_by" not in form.changed_data:
            obj.reviewed_by = request.user if obj.last_reviewed_on else None
        super().save_model(request, obj, form, change)

    @admin.action(description="Mark reviewed today (research status, date, reviewer)",
                  permissions=["review"])
    def mark_reviewed_today(self, request, queryset):
        count = editorial.mark_reviewed(
            queryset.order_by("pk"), request.user, reason="admin: mark reviewed today"
        )
        self.message_user(
            request, f"{count} jurisdiction(s) marked reviewed on {editorial.today()}.",
            messages.SUCCESS,
        )

    @admin.display(description="instruments", ordering="_instrument_count")
    def instrument_count(self, obj):
        return obj._instrument_count

    @admin.display(description="instruments")
    def instruments_link(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        url = reverse("admin:jurisdictions_instrument_changelist")
        return format_html(
            '<a href="{}?jurisdiction__id__exact={}">{} instrument(s) of this jurisdiction</a>',
            url,
            obj.pk,
            obj._instrument_count if hasattr(obj, "_instrument_count") else "the",
        )


@admin.register(BlocMembership)
class BlocMembershipAdmin(OffIndexMixin, HistoryAdmin):
    list_display = ["bloc_code", "member_code", "member_name", "start_date", "end_date"]
    list_filter = [("bloc", admin.RelatedOnlyFieldListFilter), "end_date"]
    list_select_related = ["bloc", "member"]
    search_fields = ["=bloc__code", "=member__code", "member__search_text"]
    autocomplete_fields = ["bloc", "member", "source"]
    date_hierarchy = "start_date"

    @admin.display(description="bloc", ordering="bloc__code")
    def bloc_code(self, obj):
        return obj.bloc.code

    @admin.display(description="member", ordering="member__code")
    def member_code(self, obj):
        return obj.member.code

    @admin.display(description="member name", ordering="member__name")
    def member_name(self, obj):
        return obj.member.name


# --- sources -------------------------------------------------------------------------------
@admin.register(Source)
class SourceAdmin(EditorialImportExportMixin, HistoryAdmin):
    resource_classes = [resources.SourceResource]
    list_display = [
        "title",
        "publisher",
        "kind",
        "language",
        "published_on",
        "accessed_on",
        "url",
        "citation_count",
    ]
    list_filter = ["kind", "language"]
    # search_text holds the folded title, publisher and URL.
    search_fields = ["search_text", "archived_url"]
    readonly_fields = ["cited_by", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["url", "title", "publisher", "kind", "language"]}),
        ("Dates", {"fields": ["published_on", "published_precision", "accessed_on"]}),
        ("Archive", {"fields": ["archived_url"]}),
        ("Cited by", {"fields": ["cited_by"]}),
        ("Record", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request):
        # One subquery per kind of citation: joins over four relations would multiply rows.
        return super().get_queryset(request).annotate(
            _citation_count=count_subquery(InstrumentSource, "source")
            + count_subquery(StatusEventSource, "source")
            + count_subquery(AssessmentSource, "source")
            + count_subquery(EventSource, "source")
        )

    @admin.display(description="citations", ordering="_citation_count")
    def citation_count(self, obj):
        return obj._citation_count

    @admin.display(description="cited by")
    def cited_by(self, obj):
        """Links to every row citing this source (a few queries, on the change page only)."""
        if obj is None or obj.pk is None:
            return "—"
        rows = [
            *Instrument.objects.filter(citations__source=obj),
            *StatusEvent.objects.filter(citations__source=obj).select_related("instrument"),
            *Assessment.objects.filter(citations__source=obj).select_related(
                "instrument", "criterion"
            ),
            *Event.objects.filter(citations__source=obj),
        ]
        if not rows:
            return "Nothing cites this source yet."
        return format_html_join(
            "<br>",
            '{}: <a href="{}">{}</a>',
            ((r._meta.verbose_name, admin_change_url(r), describe(r)) for r in rows),
        )


def describe(obj) -> str:
    """A label for a status event or assessment naming its instrument (joined by the caller)."""
    if isinstance(obj, StatusEvent):
        return f"{obj.instrument} — {obj.get_status_display()} {obj.date.isoformat()}"
    if isinstance(obj, Assessment):
        return f"{obj.instrument} — {obj.criterion}: {obj.get_value_display()}"
    return str(obj)


VERIFICATION_FIELDS = ["verified_on", "verified_by", "verification_note"]


def set_verifier(request, row, form) -> None:
    """A reviewer who sets the verification date of an assessment or a status step is the
    verifier, unless they name someone."""
    if "verified_on" in form.changed_data and "verified_by" not in form.changed_data:
        row.verified_by = request.user if row.verified_on else None


class VerificationFieldsMixin:
    """Verification (date, verifier, note) is read-only except for reviewers
    (``jurisdictions.verify_assessment``), on assessments and status steps alike."""

    def has_verify_permission(self, request):
        return request.user.has_perm("jurisdictions.verify_assessment")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not self.has_verify_permission(request):
            fields += VERIFICATION_FIELDS
        return fields


class ReviewActionsMixin:
    """"Verify" (with a note) and "Needs correction" (with a reason) on a fact's own page, for
    reviewers (issue 18); a pending correction request is shown to everyone at the top. The
    buttons post to ``<id>/review/``; a reviewer cannot verify a fact they entered
    (:func:`editorial.entered_by`)."""

    change_form_template = "admin/jurisdictions/fact_change_form.html"

    def get_urls(self):
        from django.urls import path

        opts = self.model._meta
        return [
            path("<path:object_id>/review/", self.admin_site.admin_view(self.review_view),
                 name=f"{opts.app_label}_{opts.model_name}_review"),
            *super().get_urls(),
        ]

    def review_view(self, request, object_id):
        from django.core.exceptions import PermissionDenied
        from django.http import Http404

        if request.method != "POST" or not request.user.has_perm(
            "jurisdictions.verify_assessment"
        ):
            raise PermissionDenied
        fact = self.get_object(request, object_id)
        if fact is None:
            raise Http404(f"No {self.model._meta.verbose_name} with id {object_id!r}.")
        page = admin_change_url(fact)
        note = (request.POST.get("note") or "").strip()
        if request.POST.get("action") == "verify":
            try:
                editorial.verify(fact, request.user, note)
            except PermissionError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return HttpResponseRedirect(page)
            self.message_user(request, f"Verified on {fact.verified_on}.", messages.SUCCESS)
        elif request.POST.get("action") == "correct":
            if not note:
                self.message_user(request, "Say what needs correcting (the reason goes to the "
                                  "editors' queue).", messages.ERROR)
                return HttpResponseRedirect(page)
            editorial.needs_correction(fact, request.user, note)
            self.message_user(request, "Sent to the editors' queue.", messages.SUCCESS)
        else:
            raise PermissionDenied
        return HttpResponseRedirect(reverse("review-queue"))

    def render_change_form(self, request, context, add=False, change=False, form_url="",
                           obj=None):
        context["can_review"] = obj is not None and request.user.has_perm(
            "jurisdictions.verify_assessment"
        )
        context["entered_by_me"] = obj is not None and editorial.entered_by(obj, request.user)
        if obj is not None:
            opts = self.model._meta
            context["review_url"] = reverse(
                f"admin:{opts.app_label}_{opts.model_name}_review", args=[obj.pk]
            )
            context["fact_sources"] = list(obj.sources.all())
        return super().render_change_form(request, context, add, change, form_url, obj)


# --- instruments ---------------------------------------------------------------------------
class DerivedStatusFilter(admin.SimpleListFilter):
    """Filter by today's derived status (the ``status_at`` annotation of the changelist)."""

    title = "status today"
    parameter_name = "status_today"
    NONE = "none"

    def lookups(self, request, model_admin):
        return [*Status.choices, (self.NONE, "No status event yet")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.NONE:
            return queryset.filter(status_at__isnull=True)
        if value in Status.values:
            return queryset.filter(status_at=value)
        return queryset


# --- the desk: a fact and its source in one go (issue 18) ------------------------------------
SOURCE_FIELDS = ["source_url", "source_title", "source_publisher"]


class CitingInlineForm(EditorialInlineForm):
    """An inline row of a fact that cites sources (a status step, an assessment), with the
    source typed right there: its URL, and for a source not yet recorded its title and
    publisher. A source already recorded is found by its URL (title and publisher may then stay
    empty). Saving the row saves the source (when new) and the citation, each with history."""

    source_url = forms.URLField(
        label="source URL", required=False, assume_scheme="https", max_length=500,
        widget=forms.URLInput(attrs={"size": 18, "placeholder": "https://…"}),
    )
    source_title = forms.CharField(
        label="source title", required=False, max_length=500,
        widget=forms.TextInput(attrs={"size": 14}),
    )
    source_publisher = forms.CharField(
        label="publisher", required=False, max_length=200,
        widget=forms.TextInput(attrs={"size": 10}),
    )

    def clean(self):
        cleaned = super().clean()
        url = cleaned.get("source_url")
        if url:
            found = Source.objects.filter(url=url).first()
            if found is None:
                if not cleaned.get("source_title"):
                    self.add_error("source_title", "A new source needs its title (this URL is "
                                   "not recorded yet).")
                else:
                    candidate = Source(url=url, title=cleaned["source_title"],
                                       publisher=cleaned.get("source_publisher") or "")
                    try:
                        candidate.full_clean(validate_unique=False)
                    except ValidationError as exc:
                        for name, messages_ in exc.message_dict.items():
                            target = f"source_{name}" if f"source_{name}" in self.fields \
                                else None
                            self.add_error(target, messages_)
            self._source = found
        elif cleaned.get("source_title") or cleaned.get("source_publisher"):
            self.add_error("source_url", "Give the source's URL (an existing source is found "
                           "by it).")
        return cleaned

    def save(self, commit=True):
        obj = super().save(commit)
        url = self.cleaned_data.get("source_url")
        if url and commit:
            self.cite(obj, url)
        return obj

    def cite(self, obj, url: str) -> None:
        user = getattr(obj, "_history_user", None)
        reason = getattr(obj, "_change_reason", None)
        source = getattr(self, "_source", None) or Source.objects.filter(url=url).first()
        if source is None:
            source = Source(url=url, title=self.cleaned_data["source_title"],
                            publisher=self.cleaned_data.get("source_publisher") or "",
                            kind=self.guess_kind(url))
            editorial.stamp(source, user, reason).save()
        link_model, field = self.citation
        if not link_model.objects.filter(**{field: obj, "source": source}).exists():
            editorial.stamp(link_model(**{field: obj, "source": source}), user, reason).save()

    @staticmethod
    def guess_kind(url: str) -> str:
        """A new source's kind: ``legislature`` for a legislature's site, else ``official``
        (the editor corrects it on the source's page)."""
        host = url.split("/")[2] if "//" in url else url
        if any(part in host for part in ("leg", "parl", "congress", "senate", "house")):
            return "legislature"
        return "official"


class StatusEventInlineForm(CitingInlineForm):
    citation = (StatusEventSource, "status_event")


class AssessmentInlineForm(CitingInlineForm):
    citation = (AssessmentSource, "assessment")


class StatusEventInline(VerificationFieldsMixin, EditorialInlineMixin, admin.TabularInline):
    """The status history of an instrument: record a step (status, date, precision, the body
    that took it, a description) with its source in one go. The date note and verification are
    on the step's own page (the "change" link), where the review queue sends reviewers; the
    VerificationFieldsMixin keeps them read-only should a subclass list them."""

    model = StatusEvent
    form = StatusEventInlineForm
    extra = 1
    fields = [
        "status",
        "date",
        "date_precision",
        "body",
        "description",
        *SOURCE_FIELDS,
        "cited_sources",
    ]
    readonly_fields = ["cited_sources"]
    show_change_link = True
    formfield_overrides = {
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 22})},
    }
    verbose_name_plural = "status history"


    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("sources")

    @admin.display(description="sources")
    def cited_sources(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        return source_links(obj.sources.all())


class AssessmentInline(VerificationFieldsMixin, EditorialInlineMixin, admin.TabularInline):
    """The instrument's answers to the criteria, each with its basis, pinpoint and a source
    typed in one go; commencement and verification are on each assessment's own page."""

    model = Assessment
    form = AssessmentInlineForm
    extra = 1
    fields = [
        "criterion",
        "value",
        "basis",
        "pinpoint",
        "note",
        *SOURCE_FIELDS,
        "cited_sources",
    ]
    readonly_fields = ["cited_sources"]
    autocomplete_fields = ["criterion"]
    show_change_link = True
    formfield_overrides = {
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 22})},
    }


    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("criterion", "verified_by")
            .prefetch_related("sources")
        )

    @admin.display(description="sources")
    def cited_sources(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        return source_links(obj.sources.all())


class IdentifierInline(EditorialInlineMixin, admin.TabularInline):
    model = Identifier
    extra = 1
    fields = ["scheme", "value"]


class AmendsInline(LinkInline):
    """The instruments this one amends."""

    model = InstrumentAmendment
    fk_name = "amending"
    extra = 0
    autocomplete_fields = ["amended"]
    fields = ["amended"]
    verbose_name = "amended instrument"
    verbose_name_plural = "instruments amended by this one"


@admin.register(Instrument)
class InstrumentAdmin(EditorialImportExportMixin, HistoryAdmin):
    class Media:
        css = {"all": ["jurisdictions/admin/desk.css"]}

    resource_classes = [resources.InstrumentResource]
    list_display = [
        "title",
        "short_name",
        "jurisdiction_code",
        "instrument_type",
        "status_today",
        "status_date",
        "legal_force_today",
        "confidence",
    ]
    list_display_links = ["title", "short_name"]
    list_filter = [
        DerivedStatusFilter,
        "instrument_type",
        "confidence",
        "jurisdiction__kind",
        ("jurisdiction", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["jurisdiction"]
    search_fields = ["search_text", "=slug", "=jurisdiction__code", "identifiers__value"]
    autocomplete_fields = ["jurisdiction"]
    prepopulated_fields = {"slug": ["short_name"]}
    readonly_fields = [
        "derived_status",
        "derived_legal_force",
        "key_dates_display",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "jurisdiction",
                    "instrument_type",
                    "title",
                    "short_name",
                    "slug",
                    "original_title",
                    "original_language",
                    "citation",
                    "official_url",
                ]
            },
        ),
        (
            "Derived from the status history (read-only)",
            {"fields": ["derived_status", "derived_legal_force", "key_dates_display"]},
        ),
        ("Content", {"fields": ["summary", "max_penalty"]}),
        ("Research", {"fields": ["confidence", "notes", "status_note"]}),
        ("Record", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]
    inlines = [
        StatusEventInline,
        AssessmentInline,
        IdentifierInline,
        InstrumentSourceInline,
        AmendsInline,
    ]

    def get_queryset(self, request):
        # Today's status as a correlated subquery, the same SQL the API filters with.
        return super().get_queryset(request).with_status(clock.today())

    @admin.display(description="jurisdiction", ordering="jurisdiction__code")
    def jurisdiction_code(self, obj):
        return obj.jurisdiction.code

    @admin.display(description="status today", ordering="status_at")
    def status_today(self, obj):
        return _status_label(obj.status_at)

    @admin.display(description="since", ordering="status_date_at")
    def status_date(self, obj):
        return obj.status_date_at

    @admin.display(description="legal force today")
    def legal_force_today(self, obj):
        return _legal_force_label(choices.legal_force_for(obj.status_at))

    @admin.display(description="status today")
    def derived_status(self, obj):
        if obj is None or obj.pk is None:
            return "— (derived from the status history once saved)"
        event = obj.status_event_as_of()
        if event is None:
            return "— (no status event dated today or earlier)"
        return (
            f"{_status_label(event.status)} since {event.date.isoformat()}"
            f" ({event.get_date_precision_display().lower()} precision)"
        )

    @admin.display(description="legal force today (schema.org LegalForceStatus)")
    def derived_legal_force(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        return _legal_force_label(obj.legal_force)

    @admin.display(description="key dates")
    def key_dates_display(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        # Plain text, one line each: the admin shows line breaks of text as breaks, and
        # markup never leaks as a literal "<br>" (issue 18).
        return "\n".join(
            f"{key.replace('_', ' ')}: "
            + (f"{value['date']} ({value['precision']})" if value else "—")
            for key, value in obj.key_dates().items()
        )


def _status_label(status: str | None) -> str:
    return Status(status).label if status in Status.values else "—"


def _legal_force_label(force: str | None) -> str:
    return f"{choices.LegalForce(force).label} ({force})" if force else "—"


@admin.register(Identifier)
class IdentifierAdmin(OffIndexMixin, HistoryAdmin):
    list_display = ["scheme", "value", "instrument"]
    list_filter = ["scheme"]
    list_select_related = ["instrument"]
    search_fields = ["value", "instrument__search_text"]
    autocomplete_fields = ["instrument"]


@admin.register(InstrumentAmendment)
class InstrumentAmendmentAdmin(OffIndexMixin, HistoryAdmin):
    list_display = ["amending", "amended"]
    list_filter = [
        "amending__instrument_type",
        ("amending__jurisdiction", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["amending", "amended"]
    search_fields = ["amending__search_text", "amended__search_text"]
    autocomplete_fields = ["amending", "amended"]


class InstrumentPartAdmin(EditorialImportExportMixin, HistoryAdmin):
    """Base of the admins of rows that belong to an instrument and cite sources (status events,
    assessments): the jurisdiction's code and the number of cited sources as columns, counted
    in the changelist query. Subclasses set ``citation_model`` (e.g. ``StatusEventSource``) and
    ``citing_field``, its foreign key to the row (``"status_event"``)."""

    citation_model: type[models.Model]
    citing_field: str

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            _source_count=count_subquery(self.citation_model, self.citing_field)
        )

    @admin.display(description="jurisdiction", ordering="instrument__jurisdiction__code")
    def jurisdiction_code(self, obj):
        return obj.instrument.jurisdiction.code

    @admin.display(description="sources", ordering="_source_count")
    def source_count(self, obj):
        return obj._source_count


# --- status events -------------------------------------------------------------------------
@admin.register(StatusEvent)
class StatusEventAdmin(ReviewActionsMixin, VerificationFieldsMixin, InstrumentPartAdmin):
    resource_classes = [resources.StatusEventResource]
    list_display = [
        "instrument",
        "jurisdiction_code",
        "status",
        "date",
        "date_precision",
        "body",
        "ocd_classification",
        "verified_on",
        "source_count",
    ]
    list_filter = ["status", "date_precision", "body", "instrument__jurisdiction__kind"]
    list_select_related = ["instrument__jurisdiction"]
    search_fields = ["instrument__search_text", "=instrument__jurisdiction__code", "description"]
    autocomplete_fields = ["instrument", "verified_by"]
    date_hierarchy = "date"
    readonly_fields = ["created_at", "updated_at"]
    inlines = [StatusEventSourceInline]
    citation_model, citing_field = StatusEventSource, "status_event"

    @admin.display(description="OCD classification")
    def ocd_classification(self, obj):
        return obj.ocd_classification

    def save_model(self, request, obj, form, change):
        set_verifier(request, obj, form)
        super().save_model(request, obj, form, change)


# --- criteria and assessments --------------------------------------------------------------
@admin.register(Criterion)
class CriterionAdmin(HistoryAdmin):
    list_display = ["slug", "label", "position", "retired", "assessment_count"]
    list_editable = ["position"]
    list_filter = ["retired"]
    search_fields = ["slug", "label", "question"]
    readonly_fields = ["created_at", "updated_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            _assessment_count=count_subquery(Assessment, "criterion")
        )

    def get_readonly_fields(self, request, obj=None):
        # A slug is a public key (links, exports): fixed once the criterion exists.
        fields = list(super().get_readonly_fields(request, obj))
        return ["slug", *fields] if obj is not None else fields

    def has_delete_permission(self, request, obj=None):
        # Criteria are retired, never deleted (DOMAIN.md): old exports keep their meaning.
        return False

    @admin.display(description="assessments", ordering="_assessment_count")
    def assessment_count(self, obj):
        return obj._assessment_count


@admin.register(Assessment)
class AssessmentAdmin(ReviewActionsMixin, VerificationFieldsMixin, InstrumentPartAdmin):
    resource_classes = [resources.AssessmentResource]
    list_display = [
        "instrument",
        "jurisdiction_code",
        "criterion",
        "value",
        "basis",
        "pinpoint",
        "commencement_date",
        "verified_on",
        "source_count",
    ]
    list_filter = [
        "value",
        "basis",
        "criterion",
        StaleVerificationFilter,
        "verified_on",
        "instrument__jurisdiction__kind",
    ]
    actions = ["mark_verified_today"]
    list_select_related = ["instrument__jurisdiction", "criterion"]
    search_fields = [
        "instrument__search_text",
        "=instrument__jurisdiction__code",
        "=criterion__slug",
        "pinpoint",
        "note",
    ]
    autocomplete_fields = ["instrument", "criterion", "verified_by"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [AssessmentSourceInline]
    citation_model, citing_field = AssessmentSource, "assessment"

    def save_model(self, request, obj, form, change):
        set_verifier(request, obj, form)
        super().save_model(request, obj, form, change)

    @admin.action(description="Mark verified today", permissions=["verify"])
    def mark_verified_today(self, request, queryset):
        selected = queryset.count()
        count = editorial.mark_verified(queryset.order_by("pk"), request.user)
        self.message_user(
            request, f"{count} assessment(s) marked verified on {editorial.today()}.",
            messages.SUCCESS,
        )
        if count < selected:
            self.message_user(
                request, f"{selected - count} assessment(s) left unverified: you entered or "
                "changed them yourself, and a second reader verifies.", messages.WARNING,
            )


# --- events --------------------------------------------------------------------------------
class EventJurisdictionInline(LinkInline):
    model = EventJurisdiction
    extra = 1
    autocomplete_fields = ["jurisdiction"]
    fields = ["jurisdiction"]
    verbose_name = "jurisdiction involved"
    verbose_name_plural = "jurisdictions involved"


@admin.register(Event)
class EventAdmin(HistoryAdmin):
    list_display = [
        "title",
        "date",
        "date_precision",
        "kind",
        "jurisdiction_codes",
        "instrument",
        "confidence",
    ]
    list_filter = ["kind", "date_precision", "confidence", "jurisdictions__kind"]
    list_select_related = ["instrument"]
    search_fields = ["search_text", "=slug", "=jurisdictions__code"]
    autocomplete_fields = ["instrument"]
    prepopulated_fields = {"slug": ["title"]}
    date_hierarchy = "date"
    readonly_fields = ["created_at", "updated_at"]
    inlines = [EventJurisdictionInline, EventSourceInline]

    def get_queryset(self, request):
        # One query for the jurisdictions of the whole page, not one per row.
        return super().get_queryset(request).prefetch_related("jurisdictions")

    @admin.display(description="jurisdictions")
    def jurisdiction_codes(self, obj):
        return ", ".join(sorted(j.code for j in obj.jurisdictions.all())) or "—"


# --- citations, listed on their own (which rows cite a source, audits) ---------------------
class CitationAdmin(OffIndexMixin, HistoryAdmin):
    """A citation's own page; citations are usually edited as inlines of the citing row."""

    autocomplete_fields = ["source"]
    list_filter = ["source__kind"]
    search_fields = ["source__search_text"]

    @admin.display(description="source", ordering="source__url")
    def source_title(self, obj):
        return str(obj.source)


@admin.register(InstrumentSource)
class InstrumentSourceAdmin(CitationAdmin):
    list_display = ["instrument", "source_title", "created_at"]
    list_select_related = ["instrument", "source"]
    autocomplete_fields = ["instrument", "source"]
    search_fields = ["source__search_text", "instrument__search_text"]


@admin.register(StatusEventSource)
class StatusEventSourceAdmin(CitationAdmin):
    list_display = ["status_event_label", "source_title", "created_at"]
    list_select_related = ["status_event__instrument", "source"]
    autocomplete_fields = ["status_event", "source"]
    search_fields = ["source__search_text", "status_event__instrument__search_text"]

    @admin.display(description="status event", ordering="status_event__date")
    def status_event_label(self, obj):
        return describe(obj.status_event)


@admin.register(AssessmentSource)
class AssessmentSourceAdmin(CitationAdmin):
    list_display = ["assessment_label", "source_title", "created_at"]
    list_select_related = ["assessment__instrument", "assessment__criterion", "source"]
    autocomplete_fields = ["assessment", "source"]
    search_fields = ["source__search_text", "assessment__instrument__search_text"]

    @admin.display(description="assessment")
    def assessment_label(self, obj):
        return describe(obj.assessment)


@admin.register(EventSource)
class EventSourceAdmin(CitationAdmin):
    list_display = ["event", "source_title", "created_at"]
    list_select_related = ["event", "source"]
    autocomplete_fields = ["event", "source"]
    search_fields = ["source__search_text", "event__search_text"]


# EventJurisdiction has no page of its own: it is edited on the event's page.
