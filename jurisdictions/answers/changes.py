"""Changes: what was edited, newest first, from each model's history (django-simple-history):
one row per write, with its time, type (created ``+``, changed ``~``, deleted ``-``), the
account and the reason recorded.

Served by ``/api/v1/changes/`` (JSON, paginated, and CSV of every matching change) and
``/feeds/changes/`` (Atom, the same reading of the filters through :func:`changes_window`).

- :class:`ChangesParams`: the parameters;
- :func:`build`: the :class:`Changes` (lazy: the history rows are read as they are paginated or
  streamed), each row as a :class:`Change`;
- :data:`COLUMNS`: the CSV.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django import forms
from django.db.models import CharField, F, Q, QuerySet, Value
from django.db.models.functions import Cast, Coalesce, Concat

from ..clock import today
from ..csvfile import Column
from ..filtersets import IsoDateField, IsoDateTimeField, KeyListField, ListField, day_after
from ..models import (
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
)
from .base import Links, iso


class HistorySpec:
    """How one model's history table answers ``changes``: its public name, the expression of
    the changed row's key (on the historical row, joining live rows for parents' keys), and how
    a row is addressed (``route``: the :class:`~.base.Links` method and whether it takes the
    ``pk`` or the ``key``)."""

    def __init__(self, name, model, parts, route=None):
        self.name, self.model, self.parts, self.route = name, model, parts, route

    def key_expression(self):
        pieces = []
        for part in self.parts:
            if part.startswith("'"):
                pieces.append(Value(part.strip("'")))
            else:
                pieces.append(Coalesce(Cast(F(part), CharField()), Value("?")))
        if len(pieces) == 1:
            return pieces[0]
        return Concat(*pieces, output_field=CharField())

    def url(self, links: Links, key: str, object_id: int) -> str | None:
        """The changed row's address through ``links`` (None: the kind has no address)."""
        if not self.route:
            return None
        kind, by = self.route
        return getattr(links, kind)(object_id if by == "pk" else key)


HISTORY = (
    HistorySpec("jurisdiction", Jurisdiction, ["code"], ("jurisdiction", "key")),
    HistorySpec(
        "bloc_membership", BlocMembership,
        ["bloc__code", "' has member '", "member__code", "' from '", "start_date"],
    ),
    HistorySpec("source", Source, ["url"], ("source", "pk")),
    HistorySpec("instrument", Instrument, ["slug"], ("instrument", "key")),
    HistorySpec("identifier", Identifier, ["instrument__slug", "' '", "scheme", "':'", "value"]),
    HistorySpec(
        "instrument_amendment", InstrumentAmendment,
        ["amending__slug", "' amends '", "amended__slug"],
    ),
    HistorySpec(
        "status_event", StatusEvent, ["instrument__slug", "' '", "status", "' '", "date"],
        ("status_event", "pk"),
    ),
    HistorySpec("criterion", Criterion, ["slug"], ("criterion", "key")),
    HistorySpec(
        "assessment", Assessment, ["instrument__slug", "' '", "criterion__slug"],
        ("assessment", "pk"),
    ),
    HistorySpec("event", Event, ["slug"], ("event", "key")),
    HistorySpec(
        "event_jurisdiction", EventJurisdiction, ["event__slug", "' '", "jurisdiction__code"]
    ),
    HistorySpec(
        "instrument_source", InstrumentSource, ["instrument__slug", "' cites '", "source__url"]
    ),
    HistorySpec(
        "status_event_source", StatusEventSource,
        ["status_event__instrument__slug", "' '", "status_event__status", "' '",
         "status_event__date", "' cites '", "source__url"],
    ),
    HistorySpec(
        "assessment_source", AssessmentSource,
        ["assessment__instrument__slug", "' '", "assessment__criterion__slug", "' cites '",
         "source__url"],
    ),
    HistorySpec("event_source", EventSource, ["event__slug", "' cites '", "source__url"]),
)
HISTORY_BY_NAME = {spec.name: spec for spec in HISTORY}
CHANGE_TYPES = {"+": "created", "~": "changed", "-": "deleted"}
CHANGE_SYMBOLS = {name: symbol for symbol, name in CHANGE_TYPES.items()}
ROW_VALUES = ("c_model", "c_key", "c_object", "c_date", "c_type", "c_user", "c_hid", "c_reason")


def _events_of(ids, prefix=""):
    """Events (through ``prefix``) involving the jurisdictions ``ids`` or of their instruments."""
    involved = EventJurisdiction.objects.filter(jurisdiction__in=ids).values("event")
    return Q(**{f"{prefix}id__in" if prefix else "id__in": involved}) | Q(
        **{f"{prefix}instrument__jurisdiction__in": ids}
    )


# Which historical rows concern the jurisdictions ``ids`` (``changes?jurisdiction=``). Rows
# under an instrument follow it through the live instrument; sources and criteria belong to no
# jurisdiction.
JURISDICTION_OF = {
    "jurisdiction": lambda ids: Q(id__in=ids),
    "bloc_membership": lambda ids: Q(member__in=ids) | Q(bloc__in=ids),
    "instrument": lambda ids: Q(jurisdiction__in=ids),
    "identifier": lambda ids: Q(instrument__jurisdiction__in=ids),
    "instrument_amendment": lambda ids: Q(amending__jurisdiction__in=ids)
    | Q(amended__jurisdiction__in=ids),
    "status_event": lambda ids: Q(instrument__jurisdiction__in=ids),
    "assessment": lambda ids: Q(instrument__jurisdiction__in=ids),
    "event": lambda ids: _events_of(ids),
    "event_jurisdiction": lambda ids: Q(jurisdiction__in=ids),
    "instrument_source": lambda ids: Q(instrument__jurisdiction__in=ids),
    "status_event_source": lambda ids: Q(status_event__instrument__jurisdiction__in=ids),
    "assessment_source": lambda ids: Q(assessment__instrument__jurisdiction__in=ids),
    "event_source": lambda ids: _events_of(ids, "event__"),
}


# Which historical rows concern the instruments ``ids`` (``changes?instrument=``).
INSTRUMENT_OF = {
    "instrument": lambda ids: Q(id__in=ids),
    "identifier": lambda ids: Q(instrument__in=ids),
    "instrument_amendment": lambda ids: Q(amending__in=ids) | Q(amended__in=ids),
    "status_event": lambda ids: Q(instrument__in=ids),
    "assessment": lambda ids: Q(instrument__in=ids),
    "event": lambda ids: Q(instrument__in=ids),
    "instrument_source": lambda ids: Q(instrument__in=ids),
    "status_event_source": lambda ids: Q(status_event__instrument__in=ids),
    "assessment_source": lambda ids: Q(assessment__instrument__in=ids),
    "event_source": lambda ids: Q(event__instrument__in=ids),
}


def _history_columns(spec, rows):
    return rows.annotate(
        c_model=Value(spec.name, output_field=CharField()),
        c_key=spec.key_expression(),
        c_object=F("id"),
        c_date=F("history_date"),
        c_type=F("history_type"),
        c_user=F("history_user__username"),
        c_hid=F("history_id"),
        c_reason=F("history_change_reason"),
    ).values(*ROW_VALUES)


def history_rows(specs, since, until, types, jurisdictions=None, instruments=None):
    """One ``UNION ALL`` over the history tables of ``specs``: ``(model, key, object id, date,
    change symbol, username, history id, reason)`` rows changed in [since, until), newest
    first; with ``jurisdictions`` (a list of ``Jurisdiction`` ids), only rows concerning them
    (``JURISDICTION_OF``); with ``instruments`` (``Instrument`` ids), only rows concerning
    them (``INSTRUMENT_OF``)."""
    parts = []
    for spec in specs:
        rows = spec.model.history.model.objects.order_by().filter(history_date__lt=until)
        if since:
            rows = rows.filter(history_date__gte=since)
        if types:
            rows = rows.filter(history_type__in=types)
        if jurisdictions is not None:
            if spec.name not in JURISDICTION_OF:
                continue
            rows = rows.filter(JURISDICTION_OF[spec.name](jurisdictions))
        if instruments is not None:
            if spec.name not in INSTRUMENT_OF:
                continue
            rows = rows.filter(INSTRUMENT_OF[spec.name](instruments))
        parts.append(_history_columns(spec, rows))
    if not parts:  # only kinds of rows that belong to no jurisdiction were asked for
        spec = HISTORY[0]
        parts.append(_history_columns(spec, spec.model.history.model.objects.none()))
    union = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return union.order_by("-c_date", "c_model", "-c_hid")


def changes_window(data: dict) -> tuple[datetime.datetime, list]:
    """``until`` (the aware midnight UTC after ``as_of``) and the matching history rows
    (:func:`history_rows`, a query set) for the cleaned :class:`ChangesParams` ``data``: the one
    reading of the filters that ``/api/v1/changes/`` and ``/feeds/changes/`` share. A
    jurisdiction takes its subdivisions (and theirs) with it."""
    as_of, since = data["as_of"], data.get("since")
    until = day_after(as_of)
    specs = [HISTORY_BY_NAME[n] for n in data.get("model") or []] or list(HISTORY)
    types = [CHANGE_SYMBOLS[c] for c in data.get("change") or []]
    codes = data.get("jurisdiction") or None
    ids = (
        list(Jurisdiction.objects.filter(
            Q(code__in=codes) | Q(parent__code__in=codes) | Q(parent__parent__code__in=codes)
        ).values_list("pk", flat=True))
        if codes else None
    )
    slugs = data.get("instrument") or None
    instruments = (
        list(Instrument.objects.filter(slug__in=slugs).values_list("pk", flat=True))
        if slugs else None
    )
    return until, history_rows(specs, since, until, types, ids, instruments)


class ChoiceListField(ListField, forms.ChoiceField):
    """Comma-separated choices."""


class ChangesParams(forms.Form):
    since = IsoDateTimeField(required=False)
    as_of = IsoDateField(required=False)
    model = ChoiceListField(choices=[], required=False)
    change = ChoiceListField(
        choices=[("created", "created"), ("changed", "changed"), ("deleted", "deleted")],
        required=False,
    )
    jurisdiction = KeyListField(
        model=Jurisdiction, key="code", upper=True, noun="jurisdiction code", required=False,
        help_text="Only changes to these jurisdictions' data (comma-separated codes), their subdivisions' "
        "included: themselves, their memberships, instruments and what hangs on them, events "
        "involving them.",
    )
    instrument = KeyListField(
        model=Instrument, key="slug", noun="instrument slug", required=False,
        help_text="Only changes to these instruments (comma-separated slugs) and what hangs on "
        "them: identifiers, amendment links, steps, assessments, citations, events.",
    )
    page = forms.CharField(required=False)
    page_size = forms.CharField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [(spec.name, spec.name) for spec in HISTORY]

    def clean(self):
        cleaned = super().clean()
        cleaned["as_of"] = cleaned.get("as_of") or today()
        since = cleaned.get("since")
        if since and since.date() > cleaned["as_of"]:
            self.add_error("since", "since is later than as_of.")
        return cleaned


@dataclass(frozen=True)
class Change:
    """One recorded write: the kind of row (``model``, a :data:`HISTORY` name), its key and
    id, the change (``+``/``~``/``-``, and in words), when (aware, UTC), who as the channel
    names them, the reason recorded, and the row's address (None once deleted)."""

    model: str
    key: str
    object_id: int
    change: str
    change_type: str
    date: datetime.datetime
    user: str | None
    reason: str | None
    url: str | None


@dataclass(frozen=True)
class Changes:
    """The answer: the window (``since``, None: the beginning; ``until``, the midnight UTC
    after ``as_of``) and the matching history rows (``rows``, a lazy query set of
    :func:`history_rows`' values, newest first). :meth:`entries` turns rows into
    :class:`Change` values: the caller paginates or streams ``rows`` first."""

    as_of: datetime.date
    since: datetime.datetime | None
    until: datetime.datetime
    rows: QuerySet
    links: Links

    def entry(self, row: dict) -> Change:
        spec = HISTORY_BY_NAME[row["c_model"]]
        return Change(
            model=row["c_model"],
            key=row["c_key"],
            object_id=row["c_object"],
            change=row["c_type"],
            change_type=CHANGE_TYPES.get(row["c_type"], row["c_type"]),
            date=row["c_date"],
            user=self.links.account(row["c_user"], "editor"),
            reason=row["c_reason"],
            url=(spec.url(self.links, row["c_key"], row["c_object"])
                 if row["c_type"] != "-" else None),
        )

    def entries(self, rows: Iterable[dict] | None = None) -> Iterator[Change]:
        """:class:`Change` values of ``rows`` (default: every matching row, streamed)."""
        return (self.entry(row) for row in (self.rows.iterator() if rows is None else rows))

    @property
    def csv_name(self) -> str:
        return f"changes-{self.as_of.isoformat()}.csv"


def build(data: dict, links: Links) -> Changes:
    """The changes for the cleaned :class:`ChangesParams` ``data``."""
    until, rows = changes_window(data)
    return Changes(data["as_of"], data.get("since"), until, rows, links)


# The +/~/- symbols are left out: a cell starting with + or - would be quoted against formula
# injection, change_type says the same in words.
COLUMNS = [
    Column("date", lambda change: iso(change.date)),
    *(Column(name) for name in ("change_type", "model", "key", "object_id", "user", "reason",
                                "url")),
]
