"""Spreadsheet import and export (django-import-export) for instruments, status events,
assessments and sources — the files NGO staff already keep (issue 4).

Columns are the model's fields, with relations by their public key, never a primary key:
``jurisdiction`` (code, any case), ``instrument`` (slug), ``criterion`` (slug), ``verified_by``
(username), ``sources`` (source URLs separated by ``;`` or new lines). A row is found by its
natural key — an instrument by ``slug``; a status event by ``instrument``, ``status``, ``date``,
``date_precision``; an assessment by ``instrument`` and ``criterion``; a source by ``url`` — and
is created when there is none. Dates are ISO 8601 (``2024-09-01``) or spreadsheet dates.

The rules:
- **All or nothing.** An import runs in one transaction; one invalid row (a failed model
  validation, an unknown key, a stale version) rolls every row back. Errors name the row
  (data rows counted from 1, the header excluded — spreadsheet line = row + 1) and the column.
- **Same validation as the admin**: ``full_clean()`` (field checks, ``clean()``, constraints).
- **History**: rows are written with ``save()``, so each imported row gets a history record
  naming the importer and, as its reason, the file. Unchanged rows are skipped (no record).
- **No lost updates**: exports carry each row's ``version``. Importing a row whose ``version``
  cell is filled but older than the stored one is refused (someone edited the row since the
  export); leave the cell empty to overwrite deliberately.
- **Only reviewers set verification**: an importer without ``jurisdictions.verify_assessment``
  cannot change ``verified_on``/``verified_by``/``verification_note`` of an assessment or a step.
- **Safe exports**: a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return is prefixed with ``'`` (OWASP "CSV Injection", the rule of the API's CSV too), in CSV and
  XLSX, and so is one starting with ``'``; on import exactly that quote is taken off again, so a
  file round-trips, a leading ``'`` of real text included ("'-' marks a dash"). (The library's own
  ``IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT``, on in settings, only strips a leading ``=``.)
"""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from import_export import fields, resources, widgets

from . import editorial, text
from .csvfile import FORMULA_STARTS
from .models import (
    Assessment,
    AssessmentSource,
    Criterion,
    Instrument,
    InstrumentSource,
    Jurisdiction,
    Source,
    StatusEvent,
    StatusEventSource,
)

ISO_DATE = "%Y-%m-%d"
URL_SEPARATORS = re.compile(r"[;\n\r]+")


# What the export's guard prefixes with ``'``: a formula start, or a ``'`` itself — so that every
# exported cell starting with ``'`` carries the guard, and import takes off exactly that.
GUARDED_STARTS = (*FORMULA_STARTS, "'")


def escape_cell(value):
    """A cell safe to open in a spreadsheet: ``None`` is empty, text that a spreadsheet would
    read as a formula (or that starts with ``'``, which a spreadsheet would hide) gets a leading
    ``'``, and any character XML cannot carry (XLSX) is replaced (:func:`text.printable`); other
    values are returned as they are."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = text.printable(value)
        if value.startswith(GUARDED_STARTS):
            return "'" + value
    return value


def unescape_cell(value):
    """The exact inverse of :func:`escape_cell` on text: take off the ``'`` it adds (before a
    formula start or another ``'``); a leading ``'`` before anything else is real text, kept."""
    if isinstance(value, str) and len(value) > 1 and value[0] == "'" and value[1:].startswith(
        GUARDED_STARTS
    ):
        return value[1:]
    return value


class KeyWidget(widgets.ForeignKeyWidget):
    """A relation by its public key (a code, slug, URL or username). An unknown key is a
    validation error naming the column, not a crash."""

    def __init__(self, model, field, column: str, noun: str, upper=False, lower=False):
        super().__init__(model, field)
        self.column, self.noun, self.upper, self.lower = column, noun, upper, lower

    def clean(self, value, row=None, **kwargs):
        if value in (None, ""):
            return None
        key = str(value).strip()
        key = key.upper() if self.upper else key.lower() if self.lower else key
        found = self.get_queryset(key, row).filter(**{self.field: key}).first()
        if found is None:
            raise ValidationError({self.column: f"No {self.noun} {key!r}."})
        return found


def date_field(name: str) -> fields.Field:
    return fields.Field(attribute=name, column_name=name, widget=widgets.DateWidget(ISO_DATE))


def cited_urls(instance) -> str:
    """The URLs ``instance`` cites, sorted, separated by ``; `` — in an import's preview, those
    it will cite (issue 18: the preview showed an empty column for rows that then imported
    with sources)."""
    wanted = getattr(instance, "_import_sources", None)
    if wanted is None:
        wanted = instance.sources.all() if instance.pk is not None else []
    return "; ".join(sorted(s.url for s in wanted))


class SourcesField(fields.Field):
    """The ``sources`` column: read by the resource itself (``import_instance``); its value in
    the preview and in exports is :func:`cited_urls`."""

    def export(self, instance, **kwargs):
        return cited_urls(instance) if hasattr(type(instance), "sources") else ""


class LegalDataResource(resources.ModelResource):
    """Base of the resources here: the rules of the module docstring.

    Subclasses list their columns in ``Meta.fields`` and, when rows cite sources, name the
    citation model in ``citation_model`` (its foreign key to the row is ``citing_field``).
    """

    citation_model = None
    sources = SourcesField(column_name="sources", attribute=None)
    version = fields.Field(attribute="version", column_name="version", readonly=True)

    class Meta:
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True
        use_transactions = True

    # --- import ------------------------------------------------------------------------
    def import_data(self, dataset, *args, **kwargs):
        """Import ``dataset`` all or nothing (a validation error rolls every row back)."""
        kwargs["rollback_on_validation_errors"] = True
        return super().import_data(dataset, *args, **kwargs)

    def before_import_row(self, row, **kwargs):
        """Undo the export's formula guard and strip each cell; refuse any cell breaking the
        text policy (:mod:`jurisdictions.text`) before a key in it is looked up. Raises
        ``ValidationError`` naming each such column."""
        errors = {}
        for key, value in list(row.items()):
            row[key] = unescape_cell(value)
            if isinstance(row[key], str):
                row[key] = row[key].strip()
                error = text.check_value(row[key], self.multiline(key))
                if error:
                    errors[key] = error
        if errors:
            raise ValidationError(errors)

    def multiline(self, column: str) -> bool:
        """Whether ``column`` may span lines: a ``TextField``'s, or ``sources`` (one URL a
        line)."""
        if column == "sources":
            return True
        field = self.fields.get(column)
        attribute = getattr(field, "attribute", None) or column
        try:
            return text.is_multiline(self._meta.model._meta.get_field(attribute))
        except FieldDoesNotExist:
            return False

    def _check_import_id_fields(self, headers):
        # The library refuses a file missing a key column as a whole, with a traceback on the
        # page; get_or_init_instance names the missing column on each row instead.
        return None

    def get_or_init_instance(self, instance_loader, row):
        # The key columns are read before anything else: name each bad one (the library would
        # report the first as an error of the whole row).
        errors = {}
        for field in self.get_import_id_fields():
            resource_field = self.fields[field]
            try:
                resource_field.clean(row)
            except ValidationError as exc:
                errors = exc.update_error_dict(errors)
            except (ValueError, KeyError) as exc:
                errors.setdefault(resource_field.column_name, []).append(
                    str(exc) if not isinstance(exc, KeyError) else "This column is missing."
                )
        if errors:
            raise ValidationError(errors)
        return super().get_or_init_instance(instance_loader, row)

    def after_init_instance(self, instance, new, row, **kwargs):
        # The version the spreadsheet was exported at, checked before anything is written.
        given = row.get("version")
        if new or given in (None, ""):
            return
        try:
            based_on = int(str(given).strip().split(".")[0])
        except ValueError:
            raise ValidationError({"version": f"{given!r} is not a version number."})
        if based_on != instance.version:
            changes = editorial.changes_since(type(instance), instance.pk, based_on, limit=3)
            who = ", ".join(sorted({c.user or "unknown" for c in changes})) or "someone"
            raise ValidationError(
                {
                    "version": (
                        f"This row was changed by {who} since the file was exported (the file "
                        f"has version {based_on}, the record is at version {instance.version}). "
                        "Export again, or empty the version cell to overwrite it."
                    )
                }
            )

    def import_instance(self, instance, row, **kwargs):
        """Set the row's values on ``instance``, collecting every column's error (the
        library stops at the first unknown key). Raises ``ValidationError`` keyed by column."""
        errors = {}
        for field in self.get_import_fields():
            try:
                self.import_field(field, instance, row, **kwargs)
            except ValidationError as exc:
                errors = exc.update_error_dict(errors)
            except ValueError as exc:
                errors.setdefault(field.column_name, []).append(str(exc))
        if self.citation_model is not None and "sources" in row:
            try:
                instance._import_sources = self.parse_sources(row.get("sources"), row, kwargs)
            except ValidationError as exc:
                errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def parse_sources(self, cell, row=None, kwargs=None) -> list[Source]:
        """The sources named in a ``sources`` cell (URLs separated by ``;`` or new lines), in
        order. One URL not recorded yet is created when the row gives its ``source_title``
        (and optionally ``source_publisher``) — saved with history, rolled back with a refused
        import. Raises ``ValidationError`` naming ``sources`` for any other unknown URL."""
        urls = [u.strip() for u in URL_SEPARATORS.split(str(cell or "")) if u.strip()]
        found = {s.url: s for s in Source.objects.filter(url__in=urls)}
        unknown = [u for u in urls if u not in found]
        title = str((row or {}).get("source_title") or "").strip()
        if len(unknown) == 1 and title:
            source = Source(url=unknown[0], title=title,
                            publisher=str((row or {}).get("source_publisher") or "").strip())
            try:
                source.full_clean()
            except ValidationError as exc:
                raise ValidationError({
                    ("sources" if name == "url" else f"source_{name}"): messages
                    for name, messages in exc.message_dict.items()
                })
            kwargs = kwargs or {}
            editorial.stamp(source, kwargs.get("user"), self.reason(kwargs)).save()
            found[source.url] = source
            unknown = []
        if unknown:
            raise ValidationError(
                {
                    "sources": UNKNOWN_SOURCES + ", ".join(unknown)
                    + ". Add them under Sources (or import the sources file) first, or give "
                    "one new URL per row with source_title and source_publisher columns."
                }
            )
        return list(dict.fromkeys(found[u] for u in urls))

    def cited(self, instance) -> list[Source]:
        if instance.pk is None or self.citation_model is None:
            return []
        return [
            c.source
            for c in self.citation_model.objects.filter(
                **{self.citation_model.citing_field: instance}
            ).select_related("source")
        ]

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if not super().skip_row(instance, original, row, import_validation_errors):
            return False
        wanted = getattr(instance, "_import_sources", None)
        return wanted is None or {s.pk for s in wanted} == {s.pk for s in self.cited(instance)}

    def before_save_instance(self, instance, row, **kwargs):
        editorial.stamp(instance, kwargs.get("user"), self.reason(kwargs))

    def after_save_instance(self, instance, row, **kwargs):
        wanted = getattr(instance, "_import_sources", None)
        if wanted is None:
            return
        field = self.citation_model.citing_field
        current = {
            c.source_id: c
            for c in self.citation_model.objects.filter(**{field: instance})
        }
        user, reason = kwargs.get("user"), self.reason(kwargs)
        for source in wanted:
            if source.pk not in current:
                citation = self.citation_model(**{field: instance, "source": source})
                editorial.stamp(citation, user, reason).save()
        keep = {s.pk for s in wanted}
        for source_id, citation in current.items():
            if source_id not in keep:
                editorial.stamp(citation, user, reason).delete()

    @staticmethod
    def reason(kwargs) -> str:
        """The history reason of an imported row: the editor's reason (the import form's
        field), then the file it came from."""
        name = kwargs.get("file_name")
        where = f"import from {name}" if name else "spreadsheet import"
        given = (kwargs.get("change_reason") or "").strip()
        return f"{given} ({where})" if given else where

    # --- export ------------------------------------------------------------------------
    def dehydrate_sources(self, instance) -> str:
        if self.citation_model is None:
            return ""
        return cited_urls(instance)

    def filter_export(self, queryset, **kwargs):
        if self.citation_model is not None:
            queryset = queryset.prefetch_related("sources")
        return queryset

    def export(self, queryset=None, **kwargs):
        """The rows as a ``tablib.Dataset``, every text cell escaped (:func:`escape_cell`)."""
        dataset = super().export(queryset, **kwargs)
        rows = [[escape_cell(cell) for cell in row] for row in dataset]
        headers = dataset.headers
        dataset.wipe()
        dataset.headers = headers
        for row in rows:
            dataset.append(row)
        return dataset


class SourceResource(LegalDataResource):
    published_on = date_field("published_on")
    accessed_on = date_field("accessed_on")

    class Meta:
        model = Source
        import_id_fields = ["url"]
        fields = [*Source.CITATION_FIELDS, "version"]
        export_order = fields


class InstrumentResource(LegalDataResource):
    citation_model = InstrumentSource
    jurisdiction = fields.Field(
        attribute="jurisdiction",
        column_name="jurisdiction",
        widget=KeyWidget(Jurisdiction, "code", "jurisdiction", "jurisdiction with code",
                         upper=True),
    )

    class Meta:
        model = Instrument
        import_id_fields = ["slug"]
        fields = [
            "slug",
            "jurisdiction",
            *Instrument.DESCRIPTIVE_FIELDS,
            "sources",
            "version",
        ]
        export_order = fields

    def filter_export(self, queryset, **kwargs):
        return super().filter_export(queryset, **kwargs).select_related("jurisdiction")


def instrument_field() -> fields.Field:
    return fields.Field(
        attribute="instrument",
        column_name="instrument",
        widget=KeyWidget(Instrument, "slug", "instrument", "instrument with slug", lower=True),
    )


def verifier_field() -> fields.Field:
    return fields.Field(
        attribute="verified_by",
        column_name="verified_by",
        widget=KeyWidget(get_user_model(), "username", "verified_by", "user named"),
    )


class VerifiedResource(LegalDataResource):
    """Rows a second reader verifies (assessments, status steps): only reviewers
    (``jurisdictions.verify_assessment``) change ``verified_on``, ``verified_by`` or
    ``verification_note``; a reviewer who sets a date without naming a verifier is the
    verifier."""

    def import_instance(self, instance, row, **kwargs):
        def verification():
            return (instance.verified_on, instance.verified_by_id, instance.verification_note)

        before = verification()
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        user = kwargs.get("user")
        changed = verification() != before
        if changed and user is not None and not user.has_perm("jurisdictions.verify_assessment"):
            errors.setdefault("verified_on", []).append(
                "Only reviewers may set verified_on, verified_by and verification_note; leave "
                "those columns as exported (or remove them from the file)."
            )
        elif changed and instance.verified_on and instance.verified_by_id is None and user:
            instance.verified_by = user
        if errors:
            raise ValidationError(errors)


class StatusEventResource(VerifiedResource):
    citation_model = StatusEventSource
    instrument = instrument_field()
    date = date_field("date")
    verified_on = date_field("verified_on")
    verified_by = verifier_field()

    class Meta:
        model = StatusEvent
        import_id_fields = ["instrument", "status", "date", "date_precision"]
        fields = ["instrument", "status", "date", "date_precision", "date_note", "body",
                  "description", "verified_on", "verified_by", "verification_note", "sources",
                  "version"]
        export_order = fields

    def filter_export(self, queryset, **kwargs):
        return super().filter_export(queryset, **kwargs).select_related(
            "instrument", "verified_by"
        )


class AssessmentResource(VerifiedResource):
    citation_model = AssessmentSource
    instrument = instrument_field()
    criterion = fields.Field(
        attribute="criterion",
        column_name="criterion",
        widget=KeyWidget(Criterion, "slug", "criterion", "criterion with slug", lower=True),
    )
    commencement_date = date_field("commencement_date")
    verified_on = date_field("verified_on")
    verified_by = verifier_field()

    class Meta:
        model = Assessment
        import_id_fields = ["instrument", "criterion"]
        fields = [
            "instrument",
            "criterion",
            "value",
            "basis",
            "pinpoint",
            "note",
            "commencement_date",
            "verified_on",
            "verified_by",
            "verification_note",
            "sources",
            "version",
        ]
        export_order = fields

    def filter_export(self, queryset, **kwargs):
        return super().filter_export(queryset, **kwargs).select_related(
            "instrument", "criterion", "verified_by"
        )


UNKNOWN_SOURCES = "Unknown source URL(s): "


def describe_errors(result) -> list[str]:
    """Each error of an import ``result`` as one line naming the row and the column:
    ``row 2 (line 3), column jurisdiction: No jurisdiction with code 'XX'.``; first, when rows
    name sources not recorded yet, one line listing them all."""
    missing = []
    for invalid in result.invalid_rows:
        for message in invalid.error_dict.get("sources", []):
            if message.startswith(UNKNOWN_SOURCES):
                listed = message[len(UNKNOWN_SOURCES):].split(". Add them")[0]
                missing += [url.strip() for url in listed.split(", ")]
    lines = []
    if missing:
        lines.append("Sources not recorded yet (add them under Sources, import the sources "
                      "file, or give source_title and source_publisher columns): "
                      + ", ".join(dict.fromkeys(missing)))
    for invalid in result.invalid_rows:
        for column, messages in invalid.error_dict.items():
            where = "the row" if column == NON_FIELD_ERRORS else f"column {column}"
            for message in messages:
                lines.append(
                    f"row {invalid.number} (line {invalid.number + 1}), {where}: {message}"
                )
    for number, errors in result.row_errors():
        for error in errors:
            lines.append(f"row {number} (line {number + 1}): {error.error}")
    for error in result.base_errors:
        lines.append(f"the file: {error.error}")
    return lines


# --- the import form: a reason for the history (issue 18) --------------------------------------
from django import forms as _forms  # noqa: E402  (kept beside the forms that use it)
from import_export.forms import ConfirmImportForm, ImportForm  # noqa: E402


class ReasonImportForm(ImportForm):
    change_reason = _forms.CharField(
        label="Reason for this import", required=False, max_length=editorial.REASON_MAX_LENGTH,
        help_text="Kept in every imported row's history (e.g. “Senate journal of 2026-02-27”).",
    )


class ReasonConfirmImportForm(ConfirmImportForm):
    change_reason = _forms.CharField(required=False, widget=_forms.HiddenInput,
                                     max_length=editorial.REASON_MAX_LENGTH)


# --- templates that teach (issue 18) --------------------------------------------------------------
# One example row per importable model: what a filled-in row looks like.
EXAMPLES = {
    Instrument: {
        "slug": "us-ak-hb-47", "jurisdiction": "US-AK", "instrument_type": "bill",
        "title": "An Act relating to AI-generated child sexual abuse material",
        "short_name": "HB 47", "official_url": "https://www.akleg.gov/basis/Bill/Detail/34?Root=HB47",
        "sources": "https://www.akleg.gov/basis/Bill/Detail/34?Root=HB47",
    },
    StatusEvent: {
        "instrument": "us-ak-hb-47", "status": "passed_chamber", "date": "2026-02-27",
        "date_precision": "day", "body": "upper_house", "description": "Senate vote 18-2",
        "sources": "https://www.akleg.gov/basis/Bill/Detail/34?Root=HB47",
    },
    Assessment: {
        "instrument": "us-ak-hb-47", "criterion": "possession", "value": "yes",
        "basis": "text", "pinpoint": "sec. 2", "note": "Rule: the act is an offence.",
        "sources": "https://www.akleg.gov/basis/Bill/Detail/34?Root=HB47",
    },
    Source: {
        "url": "https://www.akleg.gov/basis/Bill/Detail/34?Root=HB47",
        "title": "HB 47 — bill history", "publisher": "Alaska State Legislature",
        "kind": "legislature", "published_on": "2026-01-20", "accessed_on": "2026-03-01",
    },
}
KEY_FORMATS = {
    "jurisdiction": "a jurisdiction code (ISO 3166: KR, US-CA, EU)",
    "instrument": "an instrument's slug (as in its page's address)",
    "criterion": "a criterion's slug (possession, production, …)",
    "verified_by": "a reviewer's username (reviewers only)",
    "sources": "source URLs separated by ; (each recorded already, or one new URL with "
               "source_title and source_publisher columns)",
    "version": "leave empty for new rows; keep the exported number when editing",
}


def column_formats(resource_class) -> list[tuple[str, str]]:
    """``[(column, format in words)]`` for the columns of ``resource_class``: keys, ISO dates,
    the allowed values of a choice, lengths of text."""
    model = resource_class._meta.model
    result = []
    for column in resource_class._meta.fields:
        if column in KEY_FORMATS:
            result.append((column, KEY_FORMATS[column]))
            continue
        field = model._meta.get_field(column)
        if field.choices:
            text = "one of: " + ", ".join(str(value) for value, _ in field.flatchoices)
        elif field.get_internal_type() == "DateField":
            text = "a date, YYYY-MM-DD"
        elif field.get_internal_type() == "URLField":
            text = "an http(s) URL"
        elif getattr(field, "max_length", None):
            text = f"text, at most {field.max_length} characters"
        else:
            text = "text"
        required = not (field.blank or field.null or field.has_default())
        result.append((column, text + (" (required)" if required else "")))
    return result


def template_dataset(resource_class):
    """A ``tablib.Dataset``: the resource's columns and one example row (:data:`EXAMPLES`)."""
    import tablib

    model = resource_class._meta.model
    headers = list(resource_class._meta.fields)
    example = EXAMPLES.get(model, {})
    return tablib.Dataset([example.get(name, "") for name in headers], headers=headers,
                          title="template")
