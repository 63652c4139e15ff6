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
"""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from . import choices
from .choices import Status
from .models import (
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
    return format_html_join(
        "<br>", '<a href="{}">{}</a>', ((admin_change_url(s), str(s)) for s in sources)
    )


class FoldedSearchMixin:
    """Search that ignores case and accents on every database.

    The term is folded like the ``search_text`` columns (NFKD, combining marks dropped,
    case-folded), so ``search_fields`` should name those columns, plus ASCII keys (codes, slugs,
    URLs, identifier values) on which a folded term still matches case-insensitively.
    """

    def get_search_results(self, request, queryset, search_term):
        return super().get_search_results(request, queryset, fold_for_search(search_term))


class HistoryAdmin(FoldedSearchMixin, SimpleHistoryAdmin):
    """Base of every model admin here: history, folded search, bounded changelists."""

    list_per_page = 100
    formfield_overrides = COMPACT_TEXT


# --- citations as inlines ----------------------------------------------------------------
class CitationInline(admin.TabularInline):
    """A tabular list of cited sources, chosen by autocomplete (URL, title or publisher)."""

    extra = 1
    autocomplete_fields = ["source"]
    fields = ["source"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("source")


class InstrumentSourceInline(CitationInline):
    model = InstrumentSource
    verbose_name = "cited source"
    verbose_name_plural = "sources cited by this instrument"


class StatusEventSourceInline(CitationInline):
    model = StatusEventSource
    verbose_name = "cited source"
    verbose_name_plural = "sources cited by this status event"


class AssessmentSourceInline(CitationInline):
    model = AssessmentSource
    verbose_name = "cited source"
    verbose_name_plural = "sources cited by this assessment"


class EventSourceInline(CitationInline):
    model = EventSource
    verbose_name = "cited source"
    verbose_name_plural = "sources cited by this event"


# --- jurisdictions -------------------------------------------------------------------------
class JurisdictionForm(forms.ModelForm):
    class Meta:
        model = Jurisdiction
        fields = "__all__"

    def clean_code(self):
        # The model's field validator wants capitals and runs before Jurisdiction.clean()
        # normalises, so normalise here: an editor may type "us-ca".
        return (self.cleaned_data.get("code") or "").strip().upper()


class MembershipOfBlocInline(admin.TabularInline):
    """The blocs this jurisdiction belongs to (the UK in the EU, 1973-01-01 to 2020-01-31)."""

    model = BlocMembership
    fk_name = "member"
    extra = 0
    autocomplete_fields = ["bloc", "source"]
    fields = ["bloc", "start_date", "end_date", "source"]
    verbose_name = "membership of a bloc"
    verbose_name_plural = "memberships of blocs"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("bloc", "source")


class BlocMemberInline(admin.TabularInline):
    """The members of this bloc (for the EU: its member states, past and present)."""

    model = BlocMembership
    fk_name = "bloc"
    extra = 0
    autocomplete_fields = ["member", "source"]
    fields = ["member", "start_date", "end_date", "source"]
    verbose_name = "member"
    verbose_name_plural = "members (for a bloc)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("member", "source")


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
        ("parent", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["parent"]
    search_fields = ["=code", "search_text"]
    autocomplete_fields = ["parent", "reviewed_by"]
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
class BlocMembershipAdmin(HistoryAdmin):
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
class SourceAdmin(HistoryAdmin):
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


class StatusEventInline(admin.TabularInline):
    """The status history of an instrument. Its sources are edited on the event's own page
    (the "change" link); here they are listed read-only."""

    model = StatusEvent
    extra = 1
    fields = ["status", "date", "date_precision", "description", "cited_sources"]
    readonly_fields = ["cited_sources"]
    show_change_link = True
    formfield_overrides = COMPACT_TEXT
    verbose_name_plural = "status history"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("sources")

    @admin.display(description="sources")
    def cited_sources(self, obj):
        if obj is None or obj.pk is None:
            return "add sources on the event's page after saving"
        return source_links(obj.sources.all())


class AssessmentInline(admin.TabularInline):
    """The instrument's answers to the criteria; sources are edited on each assessment's page."""

    model = Assessment
    extra = 1
    fields = [
        "criterion",
        "value",
        "pinpoint",
        "note",
        "commencement_date",
        "verified_on",
        "verified_by",
        "cited_sources",
    ]
    readonly_fields = ["cited_sources"]
    autocomplete_fields = ["criterion", "verified_by"]
    show_change_link = True
    formfield_overrides = COMPACT_TEXT

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
            return "add sources on the assessment's page after saving"
        return source_links(obj.sources.all())


class IdentifierInline(admin.TabularInline):
    model = Identifier
    extra = 1
    fields = ["scheme", "value"]


class AmendsInline(admin.TabularInline):
    """The instruments this one amends."""

    model = InstrumentAmendment
    fk_name = "amending"
    extra = 0
    autocomplete_fields = ["amended"]
    fields = ["amended"]
    verbose_name = "amended instrument"
    verbose_name_plural = "instruments amended by this one"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("amended")


@admin.register(Instrument)
class InstrumentAdmin(HistoryAdmin):
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
        ("Research", {"fields": ["confidence", "notes"]}),
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
        return super().get_queryset(request).with_status(datetime.date.today())

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
        dates = obj.key_dates()
        return format_html_join(
            "<br>",
            "{}: {}",
            (
                (
                    key.replace("_", " "),
                    f"{value['date']} ({value['precision']})" if value else "—",
                )
                for key, value in dates.items()
            ),
        )


def _status_label(status: str | None) -> str:
    return Status(status).label if status in Status.values else "—"


def _legal_force_label(force: str | None) -> str:
    return f"{choices.LegalForce(force).label} ({force})" if force else "—"


@admin.register(Identifier)
class IdentifierAdmin(HistoryAdmin):
    list_display = ["scheme", "value", "instrument"]
    list_filter = ["scheme"]
    list_select_related = ["instrument"]
    search_fields = ["value", "instrument__search_text"]
    autocomplete_fields = ["instrument"]


@admin.register(InstrumentAmendment)
class InstrumentAmendmentAdmin(HistoryAdmin):
    list_display = ["amending", "amended"]
    list_filter = [
        "amending__instrument_type",
        ("amending__jurisdiction", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["amending", "amended"]
    search_fields = ["amending__search_text", "amended__search_text"]
    autocomplete_fields = ["amending", "amended"]


# --- status events -------------------------------------------------------------------------
@admin.register(StatusEvent)
class StatusEventAdmin(HistoryAdmin):
    list_display = [
        "instrument",
        "jurisdiction_code",
        "status",
        "date",
        "date_precision",
        "ocd_classification",
        "source_count",
    ]
    list_filter = ["status", "date_precision", "instrument__jurisdiction__kind"]
    list_select_related = ["instrument__jurisdiction"]
    search_fields = ["instrument__search_text", "=instrument__jurisdiction__code", "description"]
    autocomplete_fields = ["instrument"]
    date_hierarchy = "date"
    readonly_fields = ["created_at", "updated_at"]
    inlines = [StatusEventSourceInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            _source_count=count_subquery(StatusEventSource, "status_event")
        )

    @admin.display(description="jurisdiction", ordering="instrument__jurisdiction__code")
    def jurisdiction_code(self, obj):
        return obj.instrument.jurisdiction.code

    @admin.display(description="OCD classification")
    def ocd_classification(self, obj):
        return obj.ocd_classification

    @admin.display(description="sources", ordering="_source_count")
    def source_count(self, obj):
        return obj._source_count


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
class AssessmentAdmin(HistoryAdmin):
    list_display = [
        "instrument",
        "jurisdiction_code",
        "criterion",
        "value",
        "pinpoint",
        "commencement_date",
        "verified_on",
        "source_count",
    ]
    list_filter = ["value", "criterion", "verified_on", "instrument__jurisdiction__kind"]
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

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            _source_count=count_subquery(AssessmentSource, "assessment")
        )

    @admin.display(description="jurisdiction", ordering="instrument__jurisdiction__code")
    def jurisdiction_code(self, obj):
        return obj.instrument.jurisdiction.code

    @admin.display(description="sources", ordering="_source_count")
    def source_count(self, obj):
        return obj._source_count


# --- events --------------------------------------------------------------------------------
class EventJurisdictionInline(admin.TabularInline):
    model = EventJurisdiction
    extra = 1
    autocomplete_fields = ["jurisdiction"]
    fields = ["jurisdiction"]
    verbose_name = "jurisdiction involved"
    verbose_name_plural = "jurisdictions involved"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("jurisdiction")


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
class CitationAdmin(HistoryAdmin):
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
