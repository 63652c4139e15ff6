"""Filters for every collection of the API (and the pages), one ``FilterSet`` per model.

Conventions (DOMAIN.md, "The public contract"; STYLE.md, "API"):

- Relations are filtered by their public key: jurisdiction codes (any case: ``us-ca`` is
  ``US-CA``), instrument, criterion and event slugs, source URLs. An unknown key is an error
  naming the parameter, never an empty answer.
- Multi-valued filters take comma-separated values (``status=adopted,in_force``); values within
  one filter are OR-ed, except ``covers``, where every criterion must be covered.
- Date ranges are ``<name>_after`` / ``<name>_before`` pairs, both days included, dates in ISO
  8601 (``YYYY-MM-DD``); an impossible date (2024-02-30) is an error.
- ``as_of`` (default today, UTC) is the date for which status, legal force, bloc membership and
  coverage are answered.
- ``search`` ignores case and accents on every database: the query is folded with
  :func:`jurisdictions.models.fold_for_search`, like the ``search_text`` column it is matched
  against.
- ``ordering`` takes whitelisted names (``-`` for descending); the primary key is always appended
  so that the order is total and pages never repeat or skip a row. Text is ordered by code point
  (binary collation) and empty values last, so SQLite and PostgreSQL return the same order.

Every concrete field of a model is either filtered, covered by another filter (``covered_by``,
e.g. titles by ``search``) or listed in ``unfiltered`` with the reason; tests/test_filtersets.py
fails when a new model field is none of these.
"""

from __future__ import annotations

import datetime
import re

import django_filters as filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import connections, models
from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import Collate, Left, NullIf
from django_filters.constants import EMPTY_VALUES
from django_filters.fields import BaseCSVField, RangeField
from django_filters.widgets import DateRangeWidget

from . import text
from . import regions
from .choices import (
    AssessmentBasis,
    AssessmentValue,
    Body,
    Confidence,
    DatePrecision,
    EventKind,
    InstrumentType,
    JurisdictionKind,
    LegalForce,
    ResearchStatus,
    Scope,
    SourceKind,
    Status,
)
from .clock import today  # noqa: F401  (imported from here by older code)
from .models import (
    Assessment,
    Criterion,
    Event,
    Identifier,
    Instrument,
    InstrumentAmendment,
    Jurisdiction,
    Source,
    StatusEvent,
    fold_for_search,
)
from .suggest import code_hint, hint

ISO_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
ISO_DATETIME_RE = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?$"
)


def parse_iso_date(value: str) -> datetime.date:
    """Parse ``YYYY-MM-DD`` strictly (ISO 8601 calendar date, zero-padded).

    Raises ``ValidationError`` for another shape ("30/09/2024", "2024-9-30") or a date that does
    not exist ("2024-02-30").
    """
    value = str(value).strip()
    if not ISO_DATE_RE.match(value):
        raise ValidationError(
            "Enter a date as YYYY-MM-DD (ISO 8601), e.g. 2024-09-30; got %(value)r.",
            code="invalid",
            params={"value": value},
        )
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            "%(value)s is not a real date.", code="invalid", params={"value": value}
        ) from None


def parse_iso_datetime(value: str) -> datetime.datetime:
    """Parse an ISO 8601 date (midnight UTC) or date-time (UTC unless an offset is given).

    Returns an aware ``datetime``. Raises ``ValidationError`` for any other shape or an
    impossible date or time.
    """
    value = str(value).strip()
    if ISO_DATE_RE.match(value):
        day = parse_iso_date(value)
        return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.timezone.utc)
    if not ISO_DATETIME_RE.match(value):
        raise ValidationError(
            "Enter a date (YYYY-MM-DD) or a date-time (YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM]); "
            "got %(value)r.",
            code="invalid",
            params={"value": value},
        )
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            "%(value)s is not a real date-time.", code="invalid", params={"value": value}
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    try:
        parsed.astimezone(datetime.timezone.utc)  # what the database compares
    except OverflowError:
        raise ValidationError(
            "%(value)s is out of range in UTC.", code="invalid", params={"value": value}
        ) from None
    return parsed


def day_after(day: datetime.date) -> datetime.datetime:
    """The aware midnight UTC that ends ``day``: the bound of "on or before ``day``" for a
    date-time. The last day there is (9999-12-31) has none: its last microsecond stands in."""
    if day == datetime.date.max:
        return datetime.datetime.max.replace(tzinfo=datetime.timezone.utc)
    return datetime.datetime.combine(
        day + datetime.timedelta(days=1), datetime.time.min, tzinfo=datetime.timezone.utc
    )


def binary_text(path: str, using: str, expression=None):
    """``F(path)`` (or ``expression``) compared by code point: the same order on SQLite
    (BINARY) and PostgreSQL ("C"), whatever collation the database was created with."""
    expression = F(path) if expression is None else expression
    vendor = connections[using].vendor
    collation = {"sqlite": "BINARY", "postgresql": "C"}.get(vendor)
    return Collate(expression, collation) if collation else expression


def may_be_empty_text(model, path: str) -> bool:
    """Whether the text field at ``path`` (``jurisdiction__code``) of ``model`` may hold ``""``
    (a ``CharField``/``TextField`` with ``blank=True``). Raises ``FieldDoesNotExist`` for an
    unknown path."""
    field = None
    for part in path.split("__"):
        field = model._meta.get_field(part)
        if field.is_relation:
            model = field.related_model
    return isinstance(field, (models.CharField, models.TextField)) and field.blank


# --- form fields: strict parsing of one parameter -------------------------------------------
class IsoDateField(forms.DateField):
    """A ``YYYY-MM-DD`` date, nothing else (:func:`parse_iso_date`)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, datetime.date):
            return value
        return parse_iso_date(value)


class IsoDateTimeField(forms.Field):
    """An ISO 8601 date or date-time, as an aware datetime (:func:`parse_iso_datetime`)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        return parse_iso_datetime(value)


class IsoDateRangeField(RangeField):
    """Two optional ISO dates, ``<name>_after`` and ``<name>_before``; compresses to
    ``slice(after, before)``. Raises when ``after`` is later than ``before``."""

    widget = DateRangeWidget

    def __init__(self, *args, **kwargs):
        super().__init__((IsoDateField(), IsoDateField()), *args, **kwargs)

    def compress(self, data_list):
        if not data_list or all(v is None for v in data_list):
            return None
        after, before = data_list
        if after and before and after > before:
            raise ValidationError("The _after date is later than the _before date.")
        return slice(after, before)


class StrictBooleanField(forms.Field):
    """``true``/``false`` (also ``1``/``0``, ``yes``/``no``), any case; anything else is an
    error (Django's NullBooleanField would silently read it as "no filter")."""

    TRUE = frozenset({"true", "1", "yes"})
    FALSE = frozenset({"false", "0", "no"})

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise ValidationError("Use true or false; got %(value)r.", params={"value": value})


class ListField(BaseCSVField):
    """Comma-separated values: items are stripped, empty items and repeats dropped, then each is
    validated by the concrete field class this is combined with (ChoiceField, CharField …).

    An empty list means "no filter", like an absent parameter. ``check_all`` sees the cleaned
    list and may validate it as a whole (one query for many keys).
    """

    def clean(self, value):
        if value is None:
            return None
        items: list[str] = []
        for raw in value:
            item = str(raw).strip()
            if item and item not in items:
                items.append(item)
        if not items:
            return None
        cleaned, errors = [], []
        for item in items:
            try:
                cleaned.append(super(BaseCSVField, self).clean(item))
            except ValidationError as exc:
                errors.append(self.item_error(item, exc))
        if errors:
            raise ValidationError(errors)
        return self.check_all(cleaned)

    def item_error(self, item: str, exc: ValidationError) -> ValidationError:
        choices = getattr(self, "choices", None)
        if choices:
            accepted = ", ".join(str(key) for key, _ in choices if key not in EMPTY_VALUES)
            return ValidationError(f"{item!r} is not one of: {accepted}.")
        return exc

    def check_all(self, values: list) -> list:
        return values


def _key_hint(model, key: str, value: str) -> str:
    """`` Did you mean 'GB'?`` for an unknown code or slug (``UK``), or ``''`` (one query, only
    when answering a 400)."""
    if key not in ("code", "slug"):
        return ""
    known = list(model._default_manager.values_list(key, flat=True))
    return code_hint(value, known) if key == "code" else hint(value, known)


class AccountFilter(filters.CharFilter):
    """An account (a verifier, a reviewer): by username for staff; for the public by a display
    name the organisation publishes (``settings.LAWTRACKER_PUBLIC_NAMES``), so that nobody can
    probe usernames of the people who work here (issue 18) — a username matches nothing."""

    def filter(self, qs, value):
        if value in EMPTY_VALUES:
            return qs
        from django.conf import settings

        from . import editorial

        request = getattr(self.parent, "request", None)
        if not editorial.sees_staff_names(getattr(request, "user", None)):
            published = {
                name: username
                for username, name in (getattr(settings, "LAWTRACKER_PUBLIC_NAMES", None)
                                       or {}).items()
            }
            if value not in published:
                return qs.none()
            value = published[value]
        return super().filter(qs, value)


class KeyListField(ListField, forms.CharField):
    """Comma-separated public keys of ``model`` (``key`` = ``code``/``slug``/``url``), checked to
    exist in one query; normalised to the stored case (codes upper, slugs lower)."""

    def __init__(self, *args, model=None, key="slug", upper=False, noun="key", **kwargs):
        self.model, self.key, self.upper, self.noun = model, key, upper, noun
        super().__init__(*args, **kwargs)

    def check_all(self, values):
        values = list(dict.fromkeys(v.upper() if self.upper else v.lower() for v in values))
        found = set(
            self.model._default_manager.filter(**{f"{self.key}__in": values}).values_list(
                self.key, flat=True
            )
        )
        missing = [v for v in values if v not in found]
        if missing:
            raise ValidationError(
                f"Unknown {self.noun}: {', '.join(missing)}."
                + _key_hint(self.model, self.key, missing[0])
            )
        return values


class KeyField(forms.CharField):
    """One public key of ``model``, checked to exist; returns the model instance."""

    def __init__(self, *args, model=None, key="slug", upper=False, noun="key", **kwargs):
        self.model, self.key, self.upper, self.noun = model, key, upper, noun
        super().__init__(*args, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        if value in self.empty_values:
            return None
        value = value.strip()
        if self.key != "url":
            value = value.upper() if self.upper else value.lower()
        try:
            return self.model._default_manager.get(**{self.key: value})
        except self.model.DoesNotExist:
            raise ValidationError(
                f"Unknown {self.noun}: {value}." + _key_hint(self.model, self.key, value)
            ) from None


class BlocField(KeyField):
    """The code of a bloc that makes law (kind ``supranational``: EU). The UN and the Council of
    Europe are groups of countries: ``group=UN`` (issue 16: one meaning per parameter)."""

    def clean(self, value):
        jurisdiction = super().clean(value)
        if jurisdiction is not None and jurisdiction.kind != JurisdictionKind.SUPRANATIONAL:
            from .groups import groups

            if jurisdiction.code in groups():
                raise ValidationError(
                    f"{jurisdiction.code} is a group of countries, not a bloc that makes law: "
                    f"use group={jurisdiction.code}."
                )
            raise ValidationError(
                f"{jurisdiction.code} is not a bloc: use the code of a supranational bloc (EU)."
            )
        return jurisdiction


class GroupField(forms.CharField):
    """The code of a group of countries (:mod:`jurisdictions.groups`: UN, G7, G20, OECD, COE),
    any case; returns the ``Group``."""

    def clean(self, value):
        from .groups import groups

        value = super().clean(value)
        if value in self.empty_values:
            return None
        known = groups()
        if value.strip().upper() not in known:
            raise ValidationError(
                f"Unknown group: {value}; known: {', '.join(known)}." + hint(value, known)
            )
        return known[value.strip().upper()]


# --- filters ---------------------------------------------------------------------------------
class ChoicesFilter(filters.BaseInFilter, filters.ChoiceFilter):
    """One or more of the given choices, comma-separated (OR)."""

    base_field_class = ListField


class CharListFilter(filters.BaseInFilter, filters.CharFilter):
    """One or more exact strings, comma-separated (OR)."""

    base_field_class = ListField


class KeysFilter(filters.BaseInFilter, filters.CharFilter):
    """One or more public keys (codes or slugs), comma-separated (OR); unknown keys are errors.

    Takes ``model``, ``key``, ``upper`` and ``noun`` for the field. With ``method`` unset it
    filters ``field_name__in``.
    """

    base_field_class = KeyListField


class KeyFilter(filters.CharFilter):
    """One public key; the cleaned value is the model instance."""

    field_class = KeyField


class BlocFilter(filters.CharFilter):
    field_class = BlocField


class GroupFilter(filters.CharFilter):
    field_class = GroupField


class StrictBooleanFilter(filters.BooleanFilter):
    field_class = StrictBooleanField


class AsOfFilter(filters.DateFilter):
    """The date the answer is for (``YYYY-MM-DD``, default today); read by other filters, it
    filters nothing itself."""

    field_class = IsoDateField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "help_text",
            "The date the answer is for (ISO 8601, YYYY-MM-DD; default today, UTC): status, "
            "legal force, bloc membership and coverage are computed as of this date.",
        )
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        return qs


class IsoDateRangeFilter(filters.DateFromToRangeFilter):
    """``<name>_after`` / ``<name>_before`` (ISO dates, both days included).

    With ``datetimes=True`` the model field is a date-time (UTC): ``_before`` then includes the
    whole day.
    """

    field_class = IsoDateRangeField

    def __init__(self, *args, datetimes=False, **kwargs):
        self.datetimes = datetimes
        kwargs.setdefault(
            "help_text",
            "_after: on or after this ISO 8601 date (YYYY-MM-DD); _before: on or before it"
            + (" (UTC days)." if datetimes else "."),
        )
        super().__init__(*args, **kwargs)

    def bounds(self, value):
        after, before = value.start, value.stop
        if self.datetimes:
            utc = datetime.timezone.utc
            after = after and datetime.datetime.combine(after, datetime.time.min, tzinfo=utc)
            before = before and day_after(before)
        return after, before

    def filter(self, qs, value):
        if value in EMPTY_VALUES:
            return qs
        after, before = self.bounds(value)
        if after:
            qs = qs.filter(**{f"{self.field_name}__gte": after})
        if before:
            lookup = "lt" if self.datetimes else "lte"
            qs = qs.filter(**{f"{self.field_name}__{lookup}": before})
        return qs


class StepDateRangeFilter(IsoDateRangeFilter):
    """Instruments with a status event of one of ``statuses`` dated within the range (one event
    must satisfy both bounds)."""

    def __init__(self, *args, statuses=(), **kwargs):
        self.statuses = tuple(statuses)
        kwargs.setdefault(
            "help_text",
            f"Instruments with a step of status {' or '.join(self.statuses)} dated on or after "
            "_after and on or before _before (ISO 8601 dates; one step must satisfy both).",
        )
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value in EMPTY_VALUES:
            return qs
        return qs.with_step_between(self.statuses, value.start, value.stop)


class UpdatedSinceFilter(filters.CharFilter):
    """Rows changed at or after an ISO 8601 date (midnight UTC) or date-time."""

    field_class = IsoDateTimeField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("field_name", "updated_at")
        kwargs.setdefault("lookup_expr", "gte")
        kwargs.setdefault(
            "help_text",
            "Rows last changed at or after this ISO 8601 date (midnight UTC) or date-time "
            "(e.g. 2026-11-01 or 2026-11-01T12:00:00Z).",
        )
        super().__init__(*args, **kwargs)


class SearchFilter(filters.CharFilter):
    """Case- and accent-insensitive substring search over the ``search_text`` column."""

    def __init__(self, *args, help_text="", **kwargs):
        kwargs.setdefault("field_name", "search_text")
        super().__init__(*args, help_text=help_text, **kwargs)

    def filter(self, qs, value):
        folded = fold_for_search(value).strip() if value else ""
        if not folded:
            return qs
        return qs.filter(**{f"{self.field_name}__icontains": folded})


class StableOrderingFilter(filters.OrderingFilter):
    """Ordering by whitelisted names, always completed by the primary key (a total order).

    ``default``: the parameter names used when ``ordering`` is absent. ``text``: the model
    paths compared by code point (:func:`binary_text`). Empty values sort last in both
    directions, on every database.
    """

    base_field_class = ListField

    def __init__(self, *args, default=(), text=(), **kwargs):
        self.default, self.text = tuple(default), frozenset(text)
        kwargs.setdefault(
            "help_text",
            "Comma-separated names, '-' for descending. The primary key is always added last, "
            "so pages never repeat or skip rows.",
        )
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        params = list(value or []) or list(self.default)
        order = []
        for param in params:
            name = self.get_ordering_value(param)
            descending = name.startswith("-")
            path = name.lstrip("-")
            expression = F(path)
            if may_be_empty_text(qs.model, path):
                expression = NullIf(expression, Value(""))  # "" sorts with NULL: last
            if path in self.text:
                expression = binary_text(path, qs.db, expression)
            order.append(
                expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)
            )
        return qs.order_by(*order, "pk")


# --- the FilterSets --------------------------------------------------------------------------
class TextPolicyForm(forms.Form):
    """A filter form that applies the text policy (:mod:`jurisdictions.text`) to the raw query
    before any field cleans it: a field's clean may look its keys up in the database, where
    PostgreSQL refuses NUL with an error. A parameter holding a control character is left out
    of the cleaning and gets the policy's error instead."""

    def full_clean(self):
        refused = {}
        for key in list(self.data.keys()) if self.data is not None else []:
            values = self.data.getlist(key) if hasattr(self.data, "getlist") else \
                [self.data.get(key)]
            error = text.check_value(values)
            if error:
                refused[key] = error
        if refused:
            self.data = self.data.copy()
            for key in refused:
                self.data.pop(key, None)
        super().full_clean()
        for key, error in refused.items():
            name = key if key in self.fields else re.sub(r"_(after|before|min|max)$", "", key)
            self.add_error(name if name in self.fields else None, f"{key}: {error}"
                           if name != key else error)


class LawtrackerFilterSet(filters.FilterSet):
    """Base: strict parameters, the ``as_of`` date and the field-coverage declarations.

    ``covered_by``: {model field: the filter that answers for it}. ``unfiltered``: {model
    field: why it has no filter}; ``internal``: bookkeeping columns of any model (id, version).
    """

    covered_by: dict[str, str] = {}
    unfiltered: dict[str, str] = {}
    # Bookkeeping columns every model may have, never a filter.
    internal = {
        "id": "internal key",
        "version": "edit counter against lost updates (optimistic locking)",
    }

    def get_form_class(self):
        form_class = super().get_form_class()
        return type(form_class.__name__, (TextPolicyForm, form_class), {})

    @property
    def as_of(self) -> datetime.date:
        """The validated ``as_of`` parameter, or today."""
        cleaned = getattr(self.form, "cleaned_data", {}) or {}
        return cleaned.get("as_of") or today()

    @classmethod
    def parameter_names(cls) -> list[str]:
        """The query parameters this FilterSet reads, range filters expanded to their
        ``_after``/``_before`` pair."""
        names = []
        for name, filter_ in cls.base_filters.items():
            suffixes = getattr(filter_.field_class.widget, "suffixes", None)
            if suffixes:
                names += [f"{name}_{suffix}" if suffix else name for suffix in suffixes]
            else:
                names.append(name)
        return names

    def parameter_errors(self) -> dict[str, list[str]]:
        """Form errors keyed by query parameter (a range's error names ``x_after`` or
        ``x_before``, whichever is wrong)."""
        result: dict[str, list[str]] = {}
        for name, messages in self.form.errors.items():
            filter_ = self.filters.get(name)
            field = self.form.fields.get(name)
            suffixes = getattr(getattr(field, "widget", None), "suffixes", None)
            if filter_ is None or not suffixes:
                result[name] = list(messages)
                continue
            found = False
            for suffix, subfield in zip(suffixes, field.fields):
                param = f"{name}_{suffix}"
                raw = self.data.get(param)
                if raw in EMPTY_VALUES:
                    continue
                error = text.check_value(raw)
                if error:
                    result[param] = [error]
                    found = True
                    continue
                try:
                    subfield.clean(raw)
                except ValidationError as exc:
                    result[param] = list(exc.messages)
                    found = True
            if not found:
                result[f"{name}_{suffixes[0]}"] = [
                    m.replace("The _after", f"{name}_after").replace(
                        "the _before", f"{name}_before"
                    )
                    for m in messages
                ]
        return result

    @staticmethod
    def noop(queryset, name, value):
        return queryset


def _within_ids(code_or_jurisdiction):
    code = getattr(code_or_jurisdiction, "code", code_or_jurisdiction)
    return Jurisdiction.objects.within(code).values("pk")


# How a jurisdiction is named in a parameter: its code, any case, stored upper.
_JURISDICTION_KEY = {
    "model": Jurisdiction, "key": "code", "upper": True, "noun": "jurisdiction code",
}


def _jurisdiction_codes(**kwargs) -> KeysFilter:
    """A filter on one or more jurisdiction codes (comma-separated); ``kwargs`` go to
    :class:`KeysFilter` (``field_name`` or ``method``, ``help_text``)."""
    return KeysFilter(**_JURISDICTION_KEY, **kwargs)


def _jurisdiction_code(filter_class: type[KeyFilter] = KeyFilter, **kwargs) -> KeyFilter:
    """A filter on one jurisdiction code, cleaned to the ``Jurisdiction`` (an unknown code is
    a ``ValidationError`` naming it). ``filter_class``: :class:`KeyFilter` or a subclass such
    as :class:`BlocFilter`; ``kwargs`` go to it (``method``, ``help_text``)."""
    return filter_class(**_JURISDICTION_KEY, **kwargs)


def _cited_source(cited_by: str) -> KeyFilter:
    """The ``source`` filter: one source URL, cleaned to the ``Source`` (an unknown URL is a
    ``ValidationError``), applied by the FilterSet's ``filter_source`` method. ``cited_by``
    names the row in the help text ("the step")."""
    return KeyFilter(
        model=Source, key="url", noun="source URL", method="filter_source",
        help_text=f"The URL of a source {cited_by} cites.",
    )


def _region_q(slugs: list[str]) -> Q:
    """Jurisdictions in the M49 groups ``slugs``: countries by code, subdivisions by their
    country's code prefix (the queryset is annotated with ``_country_code``)."""
    countries = sorted({c for slug in slugs for c in regions.countries_in(slug)})
    return Q(code__in=countries) | Q(
        kind=JurisdictionKind.SUBDIVISION, _country_code__in=countries
    )


class JurisdictionFilterSet(LawtrackerFilterSet):
    as_of = AsOfFilter()
    scope = filters.ChoiceFilter(
        choices=Scope.choices,
        method="noop",
        help_text="Which law counts for covers/lacks and the coverage columns: applicable "
        "(default: inherited law included) or own (the jurisdiction's own instruments only).",
    )
    code = _jurisdiction_codes(field_name="code", help_text="Jurisdiction codes (KR, US-CA).")
    kind = ChoicesFilter(choices=JurisdictionKind.choices)
    parent = _jurisdiction_codes(
        field_name="parent__code", help_text="Subdivisions of these jurisdictions (direct)."
    )
    within = _jurisdiction_code(
        method="filter_within",
        help_text="A jurisdiction code: that jurisdiction and all its descendants.",
    )
    bloc = _jurisdiction_code(
        BlocFilter, method="filter_bloc",
        help_text="Members of this bloc on as_of (EU: the UK until 2020-01-31).",
    )
    group = GroupFilter(
        method="filter_group",
        help_text="Members on as_of of a group of countries (UN, G7, G20, OECD, COE; from the "
        "country_converter library); nothing is inherited from a group.",
    )
    region = ChoicesFilter(
        choices=regions.region_choices(),
        method="filter_region",
        help_text="UN M49 regions, sub-regions or intermediate regions (slugs, e.g. europe, "
        "eastern-asia, sub-saharan-africa); subdivisions lie in their country's regions. "
        "Accepted values: " + ", ".join(slug for slug, _ in regions.region_choices()) + ".",
    )
    research_status = ChoicesFilter(choices=ResearchStatus.choices)
    last_reviewed = IsoDateRangeFilter(field_name="last_reviewed_on")
    reviewed_by = AccountFilter(
        field_name="reviewed_by__username",
        help_text="The last reviewer: a username (staff) or a published display name.",
    )
    subdivision_type = CharListFilter(
        field_name="subdivision_type", help_text="ISO 3166-2 subdivision types (State, Province)."
    )
    numeric_code = CharListFilter(
        field_name="numeric_code", help_text="ISO 3166-1 numeric codes (410)."
    )
    covers = KeyFilter(
        model=Criterion,
        noun="criterion",
        method="filter_covers",
        help_text="A criterion slug: jurisdictions whose effective value is yes on as_of.",
    )
    lacks = KeyFilter(
        model=Criterion,
        noun="criterion",
        method="filter_lacks",
        help_text="A criterion slug: researched jurisdictions whose effective value is not yes "
        "on as_of (the gaps).",
    )
    search = SearchFilter(help_text="Code and names; case and accents ignored.")
    created = IsoDateRangeFilter(field_name="created_at", datetimes=True)
    updated_since = UpdatedSinceFilter()
    ordering = StableOrderingFilter(
        fields=(
            ("code", "code"),
            ("name", "name"),
            ("kind", "kind"),
            ("research_status", "research_status"),
            ("last_reviewed_on", "last_reviewed_on"),
            ("updated_at", "updated_at"),
        ),
        default=("code",),
        text=("code", "name"),
    )

    covered_by = {
        "name": "search",
        "official_name": "search",
        "common_name": "search",
        "search_text": "search",
        "last_reviewed_on": "last_reviewed",
        "created_at": "created",
        "updated_at": "updated_since",
    }
    unfiltered = {
        "id": "internal key: jurisdictions are addressed by code",
        "research_notes": "free-text notes, shown on the row",
        "research_compiled_on": "the research file's compile date, shown on the row",
    }

    class Meta:
        model = Jurisdiction
        fields: list[str] = []

    def filter_within(self, queryset, name, value):
        return queryset.filter(pk__in=_within_ids(value))

    def filter_bloc(self, queryset, name, value):
        members = Jurisdiction.objects.members_of(value, self.as_of)
        return queryset.filter(pk__in=members.values("pk"))

    def filter_group(self, queryset, name, value):
        return queryset.filter(code__in=value.member_codes(self.as_of))

    def filter_region(self, queryset, name, value):
        return queryset.annotate(_country_code=Left("code", 2)).filter(_region_q(value))

    def _coverage_column(self, queryset, criterion):
        from spans.read import coverage_at

        scope = self.form.cleaned_data.get("scope") or Scope.APPLICABLE
        coverage = coverage_at(
            queryset.researched().order_by(), [criterion], self.as_of, scope, with_sources=False
        )
        return coverage.column(criterion.slug)

    def filter_covers(self, queryset, name, value):
        column = self._coverage_column(queryset, value)
        return queryset.filter(pk__in=[j.pk for j, cell in column if cell.value == "yes"])

    def filter_lacks(self, queryset, name, value):
        column = self._coverage_column(queryset, value)
        return queryset.filter(pk__in=[j.pk for j, cell in column if cell.value != "yes"])


class InstrumentFilterSet(LawtrackerFilterSet):
    as_of = AsOfFilter()
    jurisdiction = _jurisdiction_codes(
        field_name="jurisdiction__code", help_text="Jurisdiction codes (KR, GB, US-CA)."
    )
    within = _jurisdiction_code(
        method="filter_within",
        help_text="A jurisdiction code: instruments of it and of all its descendants "
        "(within=US: federal and state law).",
    )
    bloc = _jurisdiction_code(
        BlocFilter, method="filter_bloc",
        help_text="Instruments of the bloc's members on as_of and of their subdivisions (not "
        "the bloc's own instruments: use jurisdiction=EU for those).",
    )
    group = GroupFilter(
        method="filter_group",
        help_text="Instruments of the members on as_of of a group of countries (UN, G7, G20, "
        "OECD, COE) and of their subdivisions.",
    )
    slug = KeysFilter(model=Instrument, noun="instrument slug", field_name="slug")
    instrument_type = ChoicesFilter(choices=InstrumentType.choices)
    status = ChoicesFilter(
        choices=Status.choices,
        method="filter_status",
        help_text="Procedural status on as_of (the status of the latest step dated on or "
        "before it).",
    )
    legal_force = ChoicesFilter(
        choices=LegalForce.choices,
        method="filter_legal_force",
        help_text="schema.org LegalForceStatus on as_of; NotInForce excludes instruments with "
        "no step yet on that date.",
    )
    introduced = StepDateRangeFilter(statuses=(Status.INTRODUCED,))
    adopted = StepDateRangeFilter(statuses=(Status.ADOPTED,))
    in_force = StepDateRangeFilter(statuses=(Status.PARTIALLY_IN_FORCE, Status.IN_FORCE))
    enacted = IsoDateRangeFilter(
        method="filter_enacted",
        help_text="Instruments enacted on or after enacted_after and on or before "
        "enacted_before (ISO 8601 dates): the date of the first adoption step or, where no "
        "adoption is recorded, of the first commencement.",
    )
    date_precision = ChoicesFilter(
        choices=DatePrecision.choices,
        method="filter_date_precision",
        help_text="How precisely the enacted date (see enacted_after) is known: day, month, "
        "year or on_or_before.",
    )
    kind = ChoicesFilter(
        choices=JurisdictionKind.choices,
        field_name="jurisdiction__kind",
        help_text="Instruments of jurisdictions of these kinds (country, subdivision, "
        "supranational, international).",
    )
    covers = KeysFilter(
        model=Criterion,
        noun="criterion",
        method="filter_covers",
        help_text="Criterion slugs: instruments assessed yes on every one of them.",
    )
    original_language = CharListFilter(
        field_name="original_language", help_text="ISO 639-1 codes of the original title (ko, de)."
    )
    confidence = ChoicesFilter(choices=Confidence.choices)
    identifier = filters.CharFilter(
        method="filter_identifier",
        help_text="An identifier in any scheme (CELEX 32011L0093, an ELI URI, an OCD bill id).",
    )
    source = _cited_source("the instrument")
    amends = KeysFilter(
        model=Instrument, noun="instrument slug", method="filter_amends",
        help_text="Instruments that amend one of these (slugs).",
    )
    amended_by = KeysFilter(
        model=Instrument, noun="instrument slug", method="filter_amended_by",
        help_text="Instruments amended by one of these (slugs).",
    )
    search = SearchFilter(
        help_text="Title, original title, short name, citation and summary; case and accents "
        "ignored."
    )
    created = IsoDateRangeFilter(field_name="created_at", datetimes=True)
    updated_since = UpdatedSinceFilter()
    ordering = StableOrderingFilter(
        fields=(
            ("jurisdiction__code", "jurisdiction"),
            ("slug", "slug"),
            ("title", "title"),
            ("short_name", "short_name"),
            ("instrument_type", "instrument_type"),
            ("created_at", "created_at"),
            ("updated_at", "updated_at"),
        ),
        default=("jurisdiction", "slug"),
        text=("jurisdiction__code", "slug", "title", "short_name"),
    )

    covered_by = {
        "title": "search",
        "original_title": "search",
        "short_name": "search",
        "citation": "search",
        "summary": "search",
        "search_text": "search",
        "sources": "source",
        "created_at": "created",
        "updated_at": "updated_since",
    }
    unfiltered = {
        "id": "internal key: instruments are addressed by slug",
        "official_url": "a link shown on the row; find instruments by search or identifier",
        "max_penalty": "free text, shown on the row",
        "notes": "free text, shown on the row",
        "status_note": "free text (why an adopted law has no in-force step), shown on the row",
    }

    class Meta:
        model = Instrument
        fields: list[str] = []

    def filter_within(self, queryset, name, value):
        return queryset.filter(jurisdiction__in=_within_ids(value))

    def filter_bloc(self, queryset, name, value):
        return self._of_members(
            queryset, Jurisdiction.objects.members_of(value, self.as_of).values("pk")
        )

    def filter_enacted(self, queryset, name, value):
        queryset = queryset.with_enacted()
        if value.start:
            queryset = queryset.filter(enacted_on__gte=value.start)
        if value.stop:
            queryset = queryset.filter(enacted_on__lte=value.stop)
        return queryset

    def filter_date_precision(self, queryset, name, value):
        return queryset.with_enacted().filter(enacted_precision__in=value)

    def filter_group(self, queryset, name, value):
        return self._of_members(
            queryset,
            Jurisdiction.objects.filter(code__in=value.member_codes(self.as_of)).values("pk"),
        )

    @staticmethod
    def _of_members(queryset, members):
        """Instruments of ``members`` (a pk subquery) and of their subdivisions."""
        return queryset.filter(
            Q(jurisdiction__in=members)
            | Q(jurisdiction__parent__in=members)
            | Q(jurisdiction__parent__parent__in=members)
            | Q(jurisdiction__parent__parent__parent__in=members)
        )

    def filter_status(self, queryset, name, value):
        return queryset.status_in(value, self.as_of)

    def filter_legal_force(self, queryset, name, value):
        statuses = set()
        for force in value:
            if force == LegalForce.IN_FORCE:
                statuses.add(Status.IN_FORCE)
            elif force == LegalForce.PARTIALLY_IN_FORCE:
                statuses.add(Status.PARTIALLY_IN_FORCE)
            else:
                statuses |= set(Status.values) - {Status.IN_FORCE, Status.PARTIALLY_IN_FORCE}
        return queryset.status_in(sorted(statuses), self.as_of)

    def filter_covers(self, queryset, name, value):
        for slug in value:
            queryset = queryset.filter(
                Exists(
                    Assessment.objects.filter(
                        instrument=OuterRef("pk"), criterion__slug=slug, value=AssessmentValue.YES
                    )
                )
            )
        return queryset

    def filter_identifier(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            pk__in=Identifier.objects.filter(value=value).values("instrument")
        )

    def filter_source(self, queryset, name, value):
        return queryset.filter(pk__in=value.instrument_citations.values("instrument"))

    def filter_amends(self, queryset, name, value):
        links = InstrumentAmendment.objects.filter(amended__slug__in=value)
        return queryset.filter(pk__in=links.values("amending"))

    def filter_amended_by(self, queryset, name, value):
        links = InstrumentAmendment.objects.filter(amending__slug__in=value)
        return queryset.filter(pk__in=links.values("amended"))


class StatusEventFilterSet(LawtrackerFilterSet):
    instrument = KeysFilter(model=Instrument, noun="instrument slug", field_name="instrument__slug")
    jurisdiction = _jurisdiction_codes(field_name="instrument__jurisdiction__code")
    within = _jurisdiction_code(
        method="filter_within",
        help_text="A jurisdiction code: steps of its instruments and its descendants'.",
    )
    status = ChoicesFilter(choices=Status.choices)
    date = IsoDateRangeFilter(field_name="date")
    date_precision = ChoicesFilter(choices=DatePrecision.choices)
    body = ChoicesFilter(choices=Body.choices, help_text="The body that took the step.")
    verified = IsoDateRangeFilter(field_name="verified_on")
    source = _cited_source("the step")
    created = IsoDateRangeFilter(field_name="created_at", datetimes=True)
    updated_since = UpdatedSinceFilter()
    ordering = StableOrderingFilter(
        fields=(
            ("date", "date"),
            ("instrument__slug", "instrument"),
            ("status", "status"),
            ("updated_at", "updated_at"),
        ),
        default=("date", "instrument"),
        text=("instrument__slug", "status"),
    )

    covered_by = {
        "verified_on": "verified",
        "sources": "source",
        "created_at": "created",
        "updated_at": "updated_since",
    }
    unfiltered = {
        "id": "internal key",
        "description": "free text describing the step, shown on the row",
        "date_note": "free text (what was searched for the date), shown on the row",
        "verification_note": "free text, shown on the row",
        "correction_note": "a reviewer's request to editors, in the admin only",
        "verified_by": "the verifier account, shown to staff in the admin only",
    }

    class Meta:
        model = StatusEvent
        fields: list[str] = []

    def filter_within(self, queryset, name, value):
        return queryset.filter(instrument__jurisdiction__in=_within_ids(value))

    def filter_source(self, queryset, name, value):
        return queryset.filter(pk__in=value.status_event_citations.values("status_event"))


class CriterionFilterSet(LawtrackerFilterSet):
    slug = KeysFilter(model=Criterion, noun="criterion", field_name="slug")
    retired = StrictBooleanFilter(
        field_name="retired", help_text="true: retired criteria only; false: current ones."
    )
    search = filters.CharFilter(
        method="filter_search", help_text="Slug, label and question; case and accents ignored."
    )
    created = IsoDateRangeFilter(field_name="created_at", datetimes=True)
    updated_since = UpdatedSinceFilter()
    ordering = StableOrderingFilter(
        fields=(("position", "position"), ("slug", "slug"), ("label", "label")),
        default=("position", "slug"),
        text=("slug", "label"),
    )

    covered_by = {
        "label": "search",
        "question": "search",
        "position": "ordering",
        "created_at": "created",
        "updated_at": "updated_since",
    }
    unfiltered = {"id": "internal key: criteria are addressed by slug"}

    class Meta:
        model = Criterion
        fields: list[str] = []

    def filter_search(self, queryset, name, value):
        # Criteria have no search_text column: the table is a handful of rows, so they are
        # folded here, in one query, the same way on every database.
        folded = fold_for_search(value).strip()
        if not folded:
            return queryset
        matching = [
            pk
            for pk, slug, label, question in Criterion.objects.values_list(
                "pk", "slug", "label", "question"
            )
            if folded in fold_for_search(slug.replace("_", " "), slug, label, question)
        ]
        return queryset.filter(pk__in=matching)


class AssessmentFilterSet(LawtrackerFilterSet):
    instrument = KeysFilter(model=Instrument, noun="instrument slug", field_name="instrument__slug")
    jurisdiction = _jurisdiction_codes(field_name="instrument__jurisdiction__code")
    within = _jurisdiction_code(
        method="filter_within",
        help_text="A jurisdiction code: assessments of its instruments and its descendants'.",
    )
    criterion = KeysFilter(model=Criterion, noun="criterion", field_name="criterion__slug")
    value = ChoicesFilter(choices=AssessmentValue.choices)
    basis = ChoicesFilter(
        choices=AssessmentBasis.choices, help_text="What the value rests on (the codebook)."
    )
    commencement = IsoDateRangeFilter(field_name="commencement_date")
    verified = IsoDateRangeFilter(field_name="verified_on")
    verified_by = AccountFilter(
        field_name="verified_by__username",
        help_text="The verifier: a username (staff) or a published display name.",
    )
    stale = StrictBooleanFilter(
        method="filter_stale",
        help_text="true: answers never verified, or verified more than LAWTRACKER_STALE_DAYS "
        "(default 365) days before today (UTC); false: verified since.",
    )
    source = _cited_source("the assessment")
    created = IsoDateRangeFilter(field_name="created_at", datetimes=True)
    updated_since = UpdatedSinceFilter()
    ordering = StableOrderingFilter(
        fields=(
            ("instrument__slug", "instrument"),
            ("criterion__position", "criterion"),
            ("value", "value"),
            ("verified_on", "verified_on"),
            ("updated_at", "updated_at"),
        ),
        default=("instrument", "criterion"),
        text=("instrument__slug", "value"),
    )

    covered_by = {
        "commencement_date": "commencement",
        "verified_on": "verified",
        "sources": "source",
        "created_at": "created",
        "updated_at": "updated_since",
    }
    unfiltered = {
        "id": "internal key",
        "pinpoint": "free text (the section), shown on the row",
        "note": "free text, shown on the row",
        "verification_note": "free text, shown on the row",
        "correction_note": "a reviewer's request to editors, in the admin only",
    }

    class Meta:
        model = Assessment
        fields: list[str] = []

    def filter_within(self, queryset, name, value):
        return queryset.filter(instrument__jurisdiction__in=_within_ids(value))

    def filter_source(self, queryset, name, value):
        return queryset.filter(pk__in=value.assessment_citations.values("assessment"))

    def filter_stale(self, queryset, name, value):
        from .editorial import stale_days

        days, now = stale_days(), today()
        if value:
            return queryset.stale(days, now)
        return queryset.filter(verified_on__gte=now - datetime.timedelta(days=days))


class SourceFilterSet(LawtrackerFilterSet):
    url = filters.CharFilter(field_name="url", help_text="The exact URL of the source.")
    kind = ChoicesFilter(choices=SourceKind.choices)
    published = IsoDateRangeFilter(field_name="published_on")
    published_precision = ChoicesFilter(choices=DatePrecision.choices)
    accessed = IsoDateRangeFilter(field_name="accessed_on")
    language = CharListFilter(field_name="language", help_text="ISO 639-1 codes (en, ko).")
    archived = StrictBooleanFilter(
        method="filter_archived", help_text="true: sources with an archived copy; false: without."
    )
    instrument = KeysFilter(
        model=Instrument, noun="instrument slug", method="filter_instrument",
        help_text="Sources cited by these instruments (slugs), directly.",
    )
    search = SearchFilter(help_text="Title, publisher and URL; case and accents ignored.")
    created = IsoDateRangeFilter(field_name="created_at", datetimes=True)
    updated_since = UpdatedSinceFilter()
    ordering = StableOrderingFilter(
        fields=(
            ("url", "url"),
            ("title", "title"),
            ("publisher", "publisher"),
            ("published_on", "published_on"),
            ("accessed_on", "accessed_on"),
            ("updated_at", "updated_at"),
        ),
        default=("url",),
        text=("url", "title", "publisher"),
    )

    covered_by = {
        "title": "search",
        "publisher": "search",
        "search_text": "search",
        "published_on": "published",
        "accessed_on": "accessed",
        "archived_url": "archived",
        "created_at": "created",
        "updated_at": "updated_since",
    }
    unfiltered = {"id": "internal key"}

    class Meta:
        model = Source
        fields: list[str] = []

    def filter_archived(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.exclude(archived_url="") if value else queryset.filter(archived_url="")

    def filter_instrument(self, queryset, name, value):
        return queryset.filter(
            pk__in=Instrument.sources.through.objects.filter(instrument__slug__in=value).values(
                "source"
            )
        )


class EventFilterSet(LawtrackerFilterSet):
    slug = KeysFilter(model=Event, noun="event slug", field_name="slug")
    kind = ChoicesFilter(choices=EventKind.choices)
    date = IsoDateRangeFilter(field_name="date")
    date_precision = ChoicesFilter(choices=DatePrecision.choices)
    confidence = ChoicesFilter(choices=Confidence.choices)
    instrument = KeysFilter(model=Instrument, noun="instrument slug", field_name="instrument__slug")
    jurisdiction = _jurisdiction_codes(
        method="filter_jurisdiction", help_text="Events involving these jurisdictions."
    )
    within = _jurisdiction_code(
        method="filter_within",
        help_text="A jurisdiction code: events involving it or one of its descendants.",
    )
    figure = CharListFilter(
        method="filter_figure",
        help_text="Names of figures the event must all report (arrests, devices_seized).",
    )
    source = _cited_source("the event")
    search = SearchFilter(help_text="Title and summary; case and accents ignored.")
    created = IsoDateRangeFilter(field_name="created_at", datetimes=True)
    updated_since = UpdatedSinceFilter()
    ordering = StableOrderingFilter(
        fields=(
            ("date", "date"),
            ("slug", "slug"),
            ("title", "title"),
            ("kind", "kind"),
            ("updated_at", "updated_at"),
        ),
        default=("date", "slug"),
        text=("slug", "title", "kind"),
    )

    covered_by = {
        "title": "search",
        "summary": "search",
        "search_text": "search",
        "figures": "figure",
        "jurisdictions": "jurisdiction",
        "sources": "source",
        "created_at": "created",
        "updated_at": "updated_since",
    }
    unfiltered = {
        "id": "internal key: events are addressed by slug",
        "notes": "free text, shown on the row",
    }

    class Meta:
        model = Event
        fields: list[str] = []

    def filter_jurisdiction(self, queryset, name, value):
        links = Event.jurisdictions.through.objects.filter(jurisdiction__code__in=value)
        return queryset.filter(pk__in=links.values("event"))

    def filter_within(self, queryset, name, value):
        links = Event.jurisdictions.through.objects.filter(jurisdiction__in=_within_ids(value))
        return queryset.filter(pk__in=links.values("event"))

    def filter_figure(self, queryset, name, value):
        return queryset.filter(figures__has_keys=list(value))

    def filter_source(self, queryset, name, value):
        return queryset.filter(pk__in=value.event_citations.values("event"))


FILTERSETS = (
    JurisdictionFilterSet,
    InstrumentFilterSet,
    StatusEventFilterSet,
    CriterionFilterSet,
    AssessmentFilterSet,
    SourceFilterSet,
    EventFilterSet,
)
