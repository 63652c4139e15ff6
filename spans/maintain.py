"""Deriving the spans from the pure rules, and keeping them right on every write.

**Derivation.** The rules stay :mod:`jurisdictions.coverage`'s: an instrument's status, legal
force and approximation as of a day (``status_as_of``, ``choices.legal_force_for``,
``approximate_as_of``) and a cell's answer (``coverage.Tally``, which ``compute`` fills with
every candidate of a cell). Between two consecutive *breakpoints* nothing those rules read
changes, so applying them once per breakpoint and merging equal neighbours gives the whole
history. The breakpoints of an instrument are the dates of its steps and the day after a step
that an uncertain (``on_or_before``) step follows (see :func:`_breakpoints`); those of an
assessment add its commencement date. A cell's candidates are sorted into a tally once, on the
first day; on each later date where a candidate's rules change (status, approximation, the
status had its uncertain steps happened) or its assessment commences, only that candidate is
sorted again, and a change point is kept when the answer differs. A cell's history thus costs
one pass over its candidates plus its changes, not one evaluation of every candidate per
breakpoint (which was quadratic in the instruments that count for a jurisdiction: 380 s at the
medium scale; bench/FINDINGS.md §13). Cells with identical candidates (two states without law
of their own under the same federal law) share one derivation. Bloc memberships decide only the
bloc obligations shown beside a cell, which the spans do not store; research status is not
dated.

**Maintenance.** :mod:`spans.signals` calls :func:`mark` on every save and delete of the data
the rules read (instruments, status events, assessments, jurisdictions, memberships, criteria),
inside the write's transaction. Outside a :func:`batch` the affected spans are re-derived at
once; inside one (bulk loads, restores, the seed) they are collected and re-derived when the
outermost batch ends, still inside the caller's transaction. A jurisdiction's change re-derives
it and all its descendants. A write of an instrument, a status event or an assessment re-derives
only the cells that read it — the criteria its instrument is assessed for (an assessment: its
criterion), in the instrument's jurisdiction under both scopes and in its descendants under
``applicable`` (a federal instrument: every state) — and a status event only over the dates
its change can reach (:func:`step_window`): the fresh change points are joined to the stored
spans around that window, and only the rows that differ are deleted and inserted
(:func:`_apply`; issue 12, "an edit to a federal instrument updates every affected span within
1 s"). Stored spans that do not join the fresh ones are derived whole again. Loads that bypass
``save()`` (``bulk_create``, raw inserts) run in ``batch(everything=True)``: a full rebuild.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import itertools
import json
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import connection, models, transaction
from django.db.models import Q
from django.dispatch import Signal

from jurisdictions.choices import DatePrecision, Scope, legal_force_for
from jurisdictions.coverage import (
    RulesAt,
    Step,
    Tally,
    _ancestor_chains,
    _load_assessments,
    approximate_as_of,
    candidates,
    life_order_key,
    status_as_of,
)
from jurisdictions.models import Criterion, Instrument, Jurisdiction, StatusEvent

from .models import CoverageSpan, InstrumentStatusSpan

SCOPES = (Scope.APPLICABLE.value, Scope.OWN.value)

# Sent by :func:`refresh`, inside the write's transaction, after it rewrote the spans of cells
# that already had spans: ``cells`` is a list of :class:`Rewritten`. Receivers (the alerts
# outbox) decide what a change means; a full :func:`rebuild` sends nothing.
coverage_rewritten = Signal()
_ONE_DAY = datetime.timedelta(days=1)
# Jurisdictions derived per round of queries in a full rebuild.
_CHUNK = 400
# Rows sent per INSERT statement (executed for each) by :func:`insert`.
INSERT_BATCH = 5000


# --- instrument status spans ---------------------------------------------------------------
def status_spans_of(steps) -> list[tuple]:
    """``[(status, legal force, valid_from, valid_to, approximate), ...]`` for one instrument's
    steps (anything shaped like ``coverage.Step``), oldest first; ``valid_to`` None for the
    last. Nothing before the first step."""
    steps = sorted(steps, key=life_order_key)
    dates = sorted({s.date for s in steps})
    spans: list[list] = []
    for date in dates:
        status = status_as_of(steps, date)
        approximate = approximate_as_of(steps, date)
        if spans and spans[-1][0] == status and spans[-1][4] == approximate:
            continue
        if spans:
            spans[-1][3] = date
        spans.append([status, str(legal_force_for(status)), date, None, approximate])
    return [tuple(s) for s in spans]


_STATUS_FIELDS = ("instrument_id", "status", "legal_force", "valid_from", "valid_to", "approximate")


def status_span_values(instrument_ids: Iterable[int] | None) -> Iterator[tuple]:
    """The status spans of the instruments ``instrument_ids`` (None: every instrument), as the
    values of :data:`_STATUS_FIELDS`."""
    events = StatusEvent.objects.order_by()
    if instrument_ids is not None:
        events = events.filter(instrument_id__in=list(instrument_ids))
    steps = defaultdict(list)
    for instrument_id, date, status, precision, pk in events.values_list(
        "instrument_id", "date", "status", "date_precision", "pk"
    ):
        steps[instrument_id].append(Step(date, status, precision, pk))
    for instrument_id, life in steps.items():
        for span in status_spans_of(life):
            yield (instrument_id, *span)


def derive_status_spans(instrument_ids: Iterable[int] | None) -> list[InstrumentStatusSpan]:
    """Unsaved status spans of the instruments ``instrument_ids`` (None: every instrument)."""
    return [
        InstrumentStatusSpan(**dict(zip(_STATUS_FIELDS, values)))
        for values in status_span_values(instrument_ids)
    ]


def insert(model, fields: tuple[str, ...], rows: Iterable[tuple]) -> int:
    """Insert ``rows`` (the values of ``fields``, in that order) into ``model``'s table, one
    prepared statement sent with :data:`INSERT_BATCH` rows at a time; returns how many. What ``bulk_create``
    does without a model instance per row, which was two thirds of a full rebuild's time: a
    rebuild writes millions of spans at the large scale (bench/FINDINGS.md §13). Values are
    adapted as the fields' own ``get_db_prep_save`` would: dates and JSON by the database
    backend's operations."""
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(meta.db_table), ", ".join(quote(column.column) for column in columns),
        ", ".join(["%s"] * len(columns)),
    )
    adapters = []
    for column in columns:
        if isinstance(column, models.JSONField):
            adapters.append(functools.partial(connection.ops.adapt_json_value, encoder=None))
        elif isinstance(column, models.DateField):
            adapters.append(connection.ops.adapt_datefield_value)
        else:
            adapters.append(None)
    count, rows = 0, iter(rows)
    with connection.cursor() as cursor:
        while chunk := list(itertools.islice(rows, INSERT_BATCH)):
            cursor.executemany(sql, [
                tuple(value if adapt is None else adapt(value)
                      for adapt, value in zip(adapters, row))
                for row in chunk
            ])
            count += len(chunk)
    return count


# --- coverage spans --------------------------------------------------------------------------
def _breakpoints(instruments, assessments) -> list[datetime.date]:
    """The dates on which a rule's input may change: every step's date, every commencement,
    and the day after a step followed by an uncertain (``on_or_before``) later one — on that
    step's own day the uncertain step, moved back to the answer's date, ties with it
    (``coverage.uncertain_steps_happened``), the day after it does not."""
    dates = set()
    for instrument in instruments:
        previous = None
        for step in instrument.steps:  # in life order (coverage._load_assessments)
            dates.add(step.date)
            if (
                previous is not None
                and step.date_precision == DatePrecision.ON_OR_BEFORE
                and previous.date < step.date
            ):
                dates.add(previous.date + _ONE_DAY)
            previous = step
    for assessment in assessments:
        if assessment.commencement_date is not None:
            dates.add(assessment.commencement_date)
    return sorted(dates)


def _key(tally: Tally, alternative: Tally | None) -> tuple:
    """What a span stores of a cell's answer: (value, approximate, deciding slugs, pending
    slugs)."""
    return (
        tally.value(),
        tally.approximate(alternative),
        tally.deciding_slugs(),
        tally.pending_slugs(),
    )


def _causes(date, involved) -> list[dict]:
    """The steps dated ``date`` (else the day before: an uncertain step) and the commencements
    on ``date`` of the ``involved`` assessments' instruments (those the cell showed at its
    previous change or shows now), in the order of the instruments' slugs."""
    involved = sorted(involved, key=lambda a: a.instrument.slug)
    causes = []
    for day in (date, date - _ONE_DAY):
        for assessment in involved:
            for step in assessment.instrument.steps:
                if step.date == day:
                    causes.append({
                        "instrument": assessment.instrument.slug, "status": step.status,
                        "date": step.date.isoformat(), "precision": step.date_precision,
                        "step": step.pk,
                    })
        if causes:
            break
    for assessment in involved:
        if assessment.commencement_date == date:
            causes.append({
                "instrument": assessment.instrument.slug, "commencement": date.isoformat(),
            })
    return causes


# A change point of one cell: from ``date`` on (None: since always) the cell answers
# (value, approximate, deciding slugs, pending slugs), for the causes given.
ChangePoint = tuple  # (date | None, value, approximate, deciding, pending, caused_by)
Slot = tuple  # (jurisdiction id, scope, criterion id)
# A window of dates (lo, hi), both included, None for no bound: the whole history.
WHOLE = (None, None)


class _Rules:
    """The per-instrument rules (:class:`coverage.RulesAt`) by date, and the dates on which
    each instrument's rules change, memoised across the cells of one derivation."""

    def __init__(self, window: tuple = WHOLE):
        self.window = window
        self.by_day: dict[datetime.date, RulesAt] = {}
        self.moves: dict[int, list[datetime.date]] = {}
        self.inherited: dict[tuple, Tally] = {}
        # date -> the instruments with a step on it (of every instrument whose changes were read)
        self.steps_on: dict[datetime.date, set[int]] = defaultdict(set)

    def at(self, day) -> RulesAt:
        if day not in self.by_day:
            self.by_day[day] = RulesAt(day)
        return self.by_day[day]

    def within(self, day) -> bool:
        lo, hi = self.window
        return (lo is None or lo <= day) and (hi is None or day <= hi)

    def changes(self, instrument) -> list[datetime.date]:
        """The breakpoints (:func:`_breakpoints`) in the window on which what the cell rule
        reads of the instrument differs from the day before: it is the same on every other
        date."""
        if instrument.id not in self.moves:
            found, last = [], self.at(datetime.date.min).signature(instrument)
            for day in _breakpoints([instrument], []):
                signature = self.at(day).signature(instrument)
                if signature != last:
                    if self.within(day):
                        found.append(day)
                    last = signature
            self.moves[instrument.id] = found
            for step in instrument.steps:
                self.steps_on[step.date].add(instrument.id)
        return self.moves[instrument.id]

    def filled(self, found, research_status, day) -> Tally:
        """A tally of the candidates ``found`` by the rules on ``day``. The inherited ones
        (a federal law's, the same in every state) are sorted once per derivation and copied."""
        inherited = [c for c in found if c[1]]
        if not inherited:
            return _filled(found, research_status, self.at(day), day)
        key = (tuple(a.id for a, _inherited in inherited), day)
        if key not in self.inherited:
            self.inherited[key] = _filled(inherited, research_status, self.at(day), day)
        tally = self.inherited[key].copy(research_status)
        return _filled([c for c in found if not c[1]], research_status, self.at(day), day, tally)


def _filled(found, research_status, at, day, tally: Tally | None = None) -> Tally:
    """``tally`` (else a new one) with the candidates ``found`` sorted by the rules ``at`` on
    ``day``."""
    tally = Tally(research_status) if tally is None else tally
    for assessment, inherited in found:
        instrument = assessment.instrument
        tally.put(
            assessment, inherited, at.status_of(instrument), at.approximate_of(instrument),
            assessment.counts_on(day),
        )
    return tally


def _alternative(tally: Tally, at: RulesAt) -> Tally | None:
    """``tally`` had its uncertain steps happened (None when no status is uncertain)."""
    if not tally.uncertain:
        return None
    return tally.had_uncertain_steps_happened(at.alternative_status_of, at.as_of)


def _series(found, research_status, window, start, rules: _Rules) -> list[ChangePoint]:
    """The change points of one cell whose candidates are ``found`` (``coverage.candidates``)
    over ``window``, starting with its answer on ``start`` (:func:`change_points`).

    The candidates are sorted once (a :class:`coverage.Tally`, and a second one by the
    statuses had the uncertain steps happened, from the first date a status is uncertain);
    on each date where an instrument's rules change (:meth:`_Rules.changes`) or an assessment
    commences, only those candidates are sorted again."""
    lo, _hi = window
    first = datetime.date.min if lo is None else lo - _ONE_DAY
    moving = defaultdict(list)  # date -> the candidates to sort again on it
    for assessment, inherited in found:
        days = rules.changes(assessment.instrument)
        for day in days:
            moving[day].append((assessment, inherited))
        commencing = assessment.commencement_date
        if commencing is not None and commencing not in days and rules.within(commencing):
            moving[commencing].append((assessment, inherited))
    at = rules.at(first)
    tally = rules.filled(found, research_status, first)
    alternative = _alternative(tally, at)
    key = _key(tally, alternative)
    points = [(start, *key, [])]
    # Whether the cell showed each candidate at its previous change (the causes of a change
    # read the instruments shown then or now), for the candidates sorted again since; before
    # the first change, on ``start`` (read then, for the candidates it involves).
    shown_at_change: dict[int, bool] = {}
    since_start = start is not None and start != first
    inherited_of = {a.id: inherited for a, inherited in found}
    by_instrument = None  # instrument id -> its candidate (read at the first change)
    for day in sorted(moving):
        at = rules.at(day)
        for assessment, inherited in moving[day]:
            instrument = assessment.instrument
            shown_at_change.setdefault(assessment.id, tally.mentions(assessment.id))
            commenced = assessment.counts_on(day)
            tally.put(
                assessment, inherited, at.status_of(instrument), at.approximate_of(instrument),
                commenced,
            )
            if alternative is not None:
                alternative.put(
                    assessment, inherited, at.alternative_status_of(instrument), False,
                    commenced,
                )
        if tally.uncertain and alternative is None:
            alternative = _alternative(tally, at)
        answer = _key(tally, alternative)
        if answer == key:
            continue
        if by_instrument is None:
            by_instrument = {a.instrument.id: a for a, _inherited in found}
        near = (
            *(by_instrument[i] for step_day in (day, day - _ONE_DAY)
              for i in rules.steps_on.get(step_day, ()) if i in by_instrument),
            *(a for a, _inherited in moving[day]),
        )
        if since_start:
            before = {
                a.id: _filled([(a, inherited_of[a.id])], research_status, rules.at(start),
                              start).mentions(a.id)
                for a in near
            }
        else:
            before = {a.id: shown_at_change.get(a.id, tally.mentions(a.id)) for a in near}
        involved = {a.id: a for a in near if before[a.id] or tally.mentions(a.id)}
        points.append((day, *answer, _causes(day, involved.values())))
        key, shown_at_change, since_start = answer, {}, False
    return points


def change_points(
    jurisdictions: list[Jurisdiction],
    criterion_ids: list[int],
    slots: dict[int, set[tuple[str, int]]] | None = None,
    window: tuple = WHOLE,
    starts: dict[Slot, datetime.date | None] | None = None,
) -> dict[Slot, list[ChangePoint]]:
    """The change points of every cell of ``jurisdictions`` × ``criterion_ids`` × both scopes
    (with ``slots``, ``{jurisdiction id: {(scope, criterion id)}}``, only those cells), oldest
    first, from the rules of :mod:`jurisdictions.coverage` (module docstring).

    ``window`` ``(lo, hi)``: only the change points dated in ``[lo, hi]`` (``hi`` None: to the
    end), each list then starting with the cell's answer on the day before ``lo``, dated with
    the first day of the stored span holding that day (``starts``, by slot; the causes of the
    next change read what the cell showed on that first day, as in a whole derivation).
    ``(None, None)``: the whole history, starting with the answer since always (date None).
    A cell's change points do not depend on which other cells are derived with it, and cells
    with the same candidates (two states without law of their own under the same federal law)
    share one derivation. Reads the database in a fixed number of queries (the hierarchy, the
    assessments, the steps)."""
    if not jurisdictions or not criterion_ids:
        return {}
    lo, _hi = window
    own_ids = [j.pk for j in jurisdictions]
    chains = _ancestor_chains(own_ids)
    ancestor_ids = {a for chain in chains.values() for a in chain}
    by_cell = _load_assessments(set(own_ids) | ancestor_ids, criterion_ids, with_sources=False)
    rules = _Rules(window)
    shared: dict[tuple, list[ChangePoint]] = {}
    result: dict[Slot, list[ChangePoint]] = {}
    for jurisdiction in jurisdictions:
        chain = chains.get(jurisdiction.pk, [])
        wanted = None if slots is None else slots.get(jurisdiction.pk, set())
        for scope in SCOPES:
            law = [jurisdiction.pk, *chain] if scope == Scope.APPLICABLE else [jurisdiction.pk]
            for criterion_id in criterion_ids:
                if wanted is not None and (scope, criterion_id) not in wanted:
                    continue
                slot = (jurisdiction.pk, scope, criterion_id)
                found = candidates(jurisdiction.pk, criterion_id, law, by_cell)
                start = None if lo is None else (starts or {}).get(slot, lo - _ONE_DAY)
                inputs = (
                    jurisdiction.research_status, start,
                    tuple((a.id, inherited) for a, inherited in found),
                )
                if inputs not in shared:
                    shared[inputs] = _series(
                        found, jurisdiction.research_status, window, start, rules
                    )
                result[slot] = shared[inputs]
    return result


def _span_values(slot: Slot, points: list[ChangePoint], end=None) -> Iterator[tuple]:
    """The spans of one cell from its change points, the last one ending on ``end``, as the
    values of :data:`_FIELDS`."""
    jurisdiction_id, scope, criterion_id = slot
    for i, (start, value, approximate, deciding, pending, causes) in enumerate(points):
        yield (
            jurisdiction_id, scope, criterion_id, start,
            points[i + 1][0] if i + 1 < len(points) else end,
            value, approximate, list(deciding), list(pending), causes,
        )


def coverage_span_values(
    jurisdictions: list[Jurisdiction],
    criterion_ids: list[int],
    slots: dict[int, set[tuple[str, int]]] | None = None,
) -> Iterator[tuple]:
    """The coverage spans of every cell of ``jurisdictions`` × ``criterion_ids`` × both scopes
    (with ``slots``, only those cells), their whole history (:func:`change_points`), as the
    values of :data:`_FIELDS`."""
    for slot, points in change_points(jurisdictions, criterion_ids, slots).items():
        yield from _span_values(slot, points)


def derive_coverage_spans(
    jurisdictions: list[Jurisdiction],
    criterion_ids: list[int],
    slots: dict[int, set[tuple[str, int]]] | None = None,
) -> list[CoverageSpan]:
    """Unsaved coverage spans (:func:`coverage_span_values`)."""
    return [
        CoverageSpan(**dict(zip(_FIELDS, values)))
        for values in coverage_span_values(jurisdictions, criterion_ids, slots)
    ]


# --- which dates a write can change --------------------------------------------------------
def step_window(others, old, new) -> tuple:
    """The dates on which the rules' answers about an instrument (its status, approximation and
    the status had its uncertain steps happened, hence every cell reading it, and the causes
    its steps give) can differ after one of its steps changed from ``old`` to ``new``
    (``(date, status, precision)``; None when the step was created or deleted), its other steps
    being dated ``others``: ``(lo, hi)``, the answers before ``lo`` and after ``hi`` being the
    same as before the write (``lo`` None: since always, ``hi`` None: still).

    The status as of D reads the steps dated on or before D in life order, the approximation
    the first step after D and the date of the one before it; a step moved without changing
    its status or precision and without passing another step changes neither order, so only
    the days from its earlier to the day after its later date (the day-after breakpoint,
    :func:`_breakpoints`, and the causes, which read the day before) can differ. Otherwise the
    answers can differ from the other step before it (exclusive of ties) to the other step
    after it."""
    dates = [step[0] for step in (old, new) if step is not None]
    first, last = min(dates), max(dates)
    if (
        old is not None and new is not None and old[1:] == new[1:]
        and not any(first <= day <= last for day in others)
    ):
        lo, hi = first, (None if last == datetime.date.max else last + _ONE_DAY)
    else:
        lo = max((day for day in others if day < first), default=None)
        hi = min((day for day in others if day > last), default=None)
    # A window is joined to the spans of the day before it: from the first day of the
    # calendar there is none, so it reaches since always (no OverflowError on the write).
    return (None if lo == datetime.date.min else lo, hi)


def widest(a: tuple, b: tuple) -> tuple:
    """The smallest window holding both windows."""
    if a is None:
        return b
    return (
        None if a[0] is None or b[0] is None else min(a[0], b[0]),
        None if a[1] is None or b[1] is None else max(a[1], b[1]),
    )


# --- writing ---------------------------------------------------------------------------------
def descendants(ids: Iterable[int]) -> dict[int, set[int]]:
    """``{jurisdiction id: the ids it stands for}``: ``ids`` and every jurisdiction below them,
    each with the ids of ``ids`` it is (below) — one query per level of the hierarchy."""
    found = {pk: {pk} for pk in ids}
    frontier = set(found)
    while frontier:
        rows = list(
            Jurisdiction.objects.filter(parent_id__in=frontier).order_by()
            .values_list("pk", "parent_id")
        )
        frontier = set()
        for pk, parent_id in rows:
            roots = found[parent_id] - found.get(pk, set())
            if roots:
                found.setdefault(pk, set()).update(roots)
                frontier.add(pk)
    return found


_FIELDS = (
    "jurisdiction_id", "scope", "criterion_id", "valid_from", "valid_to", "value", "approximate",
    "deciding", "pending", "caused_by",
)


def _row(values) -> tuple:
    """A span's columns (:data:`_FIELDS`) as a comparable tuple (JSON in one key order)."""
    *head, deciding, pending, caused_by = values
    return (*head, tuple(deciding), tuple(pending), json.dumps(caused_by, sort_keys=True))


class _Plan:
    """The cells to re-derive: per jurisdiction, its ``(scope, criterion id)`` slots and the
    window of dates that can have changed (:func:`step_window`; ``WHOLE`` for all)."""

    def __init__(self):
        self.slots: dict[int, set[tuple[str, int]]] = defaultdict(set)
        self.windows: dict[int, tuple] = {}

    def add(self, jurisdiction_id, slots, window=WHOLE):
        if slots:
            self.slots[jurisdiction_id] |= set(slots)
            self.windows[jurisdiction_id] = widest(self.windows.get(jurisdiction_id), window)

    def groups(self):
        """``(window, [jurisdiction id, ...])`` in chunks of at most :data:`_CHUNK`."""
        by_window = defaultdict(list)
        for pk in sorted(self.slots):
            by_window[self.windows[pk]].append(pk)
        for window, ids in by_window.items():
            for start in range(0, len(ids), _CHUNK):
                yield window, ids[start:start + _CHUNK]


def _apply(plan: _Plan) -> list[Rewritten]:
    """Re-derive the planned cells and write only the spans that differ: per chunk one query
    reads the stored spans the window touches, one deletes the stale ones, and the new ones
    are inserted in batches of 1,000. A windowed cell keeps its stored spans outside the
    window; one whose stored spans do not join the fresh ones (stale data) is derived whole
    instead (two more queries). Returns the cells rewritten (:func:`_write`)."""
    rewritten = []
    for window, ids in plan.groups():
        slots = {pk: plan.slots[pk] for pk in ids}
        criteria = sorted({c for wanted in slots.values() for _s, c in wanted})
        chosen = list(Jurisdiction.objects.filter(pk__in=ids).order_by("pk"))
        stored = _stored(ids, criteria, slots, window)
        fresh, whole = _fresh(chosen, criteria, slots, window, stored)
        rewritten += _write(stored, fresh)
        if whole:
            slots = {pk: slots[pk] for pk in sorted(whole)}
            stored = _stored(list(slots), criteria, slots, WHOLE)
            chosen = [j for j in chosen if j.pk in whole]
            rewritten += _write(stored, _fresh(chosen, criteria, slots, WHOLE, stored)[0])
    return rewritten


def _stored(ids, criteria, slots, window) -> dict[Slot, list[tuple]]:
    """The stored spans of the planned cells that hold some day of ``window`` or end on its
    first day, as ``(pk, row)`` (:func:`_row`), by slot, oldest first."""
    lo, hi = window
    spans = CoverageSpan.objects.filter(jurisdiction_id__in=ids, criterion_id__in=criteria)
    if lo is not None:
        spans = spans.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=lo))
    if hi is not None:
        spans = spans.filter(Q(valid_from__isnull=True) | Q(valid_from__lte=hi))
    stored = defaultdict(list)
    for pk, *values in spans.order_by().values_list("pk", *_FIELDS):
        if (values[1], values[2]) in slots[values[0]]:
            stored[(values[0], values[1], values[2])].append((pk, _row(values)))
    for rows in stored.values():
        rows.sort(key=lambda pair: (pair[1][3] is not None, pair[1][3]))
    return stored


@dataclass(frozen=True)
class Rewritten:
    """One cell whose stored spans were replaced: its spans over the same dates before and
    after, as ``(valid_from, valid_to, value, pending slugs)``, oldest first."""

    jurisdiction_id: int
    scope: str
    criterion_id: int
    before: tuple
    after: tuple


def _write(stored, fresh) -> list[Rewritten]:
    """Replace, for each cell of ``fresh``, the stored rows that differ from its fresh spans.
    Returns the cells that had stored rows and were rewritten."""
    stale, new, rewritten = [], [], []
    for slot, spans in fresh.items():
        wanted = {_row(values): values for values in spans}
        before = stored.get(slot, ())
        count = len(stale)
        for pk, row in before:
            if wanted.pop(row, None) is None:
                stale.append(pk)
        if before and (wanted or len(stale) > count):
            rewritten.append(Rewritten(
                *slot,
                before=tuple((row[3], row[4], row[5], row[8]) for _pk, row in before),
                after=tuple((v[3], v[4], v[5], tuple(v[8])) for v in spans),
            ))
        new.extend(wanted.values())
    for start in range(0, len(stale), 500):
        CoverageSpan.objects.filter(pk__in=stale[start:start + 500]).delete()
    insert(CoverageSpan, _FIELDS, new)
    return rewritten


def _fresh(chosen, criteria, slots, window, stored) -> tuple[dict, set[int]]:
    """The spans each planned cell should have in place of its ``stored`` rows
    (:func:`_stored`): from the rules over ``window``, joined to the stored spans holding the
    day before it and its last day. Also the jurisdictions whose stored spans do not join the
    fresh ones (to derive whole)."""
    lo, hi = window
    if window == WHOLE:
        points = change_points(chosen, criteria, slots)
        return {slot: list(_span_values(slot, found)) for slot, found in points.items()}, set()

    def holding(rows, day):
        found = [row for _pk, row in rows if row[3] is None or row[3] <= day]
        return found[-1] if found and (found[-1][4] is None or day < found[-1][4]) else None

    first = {}
    if lo is not None:
        for slot, rows in stored.items():
            row = holding(rows, lo - _ONE_DAY)
            if row is not None:
                first[slot] = row
    points = change_points(
        chosen, criteria, slots, window, {slot: row[3] for slot, row in first.items()}
    )
    fresh, whole = {}, set()
    for slot, found in points.items():
        if lo is not None:
            row = first.get(slot)
            if row is None or _answer(row) != found[0][1:5]:
                whole.add(slot[0])
                continue
            found = [(row[3], *_answer(row), json.loads(row[9])), *found[1:]]
        end = None
        if hi is not None:
            row = holding(stored.get(slot, ()), hi)
            if row is None or _answer(row) != found[-1][1:5]:
                whole.add(slot[0])
                continue
            end = row[4]
        fresh[slot] = list(_span_values(slot, found, end))
    return fresh, whole


def _answer(row: tuple) -> tuple:
    """(value, approximate, deciding, pending) of a stored row (:func:`_row`)."""
    return (row[5], row[6], row[7], row[8])


def refresh(
    jurisdiction_ids: Iterable[int] = (),
    instrument_ids: Iterable[int] = (),
    criterion_ids: Iterable[int] = (),
    cells: dict[int, tuple[set[int], tuple]] | None = None,
) -> None:
    """Re-derive, in one transaction: the status spans of ``instrument_ids``; every cell of
    ``jurisdiction_ids`` and their descendants; every jurisdiction's cells of ``criterion_ids``
    (a new criterion); and ``cells``, ``{jurisdiction id: ({criterion id}, window)}``: the
    cells of those criteria that read the jurisdiction's instruments — its own under both
    scopes, its descendants' under ``applicable`` — over that window of dates
    (:func:`step_window`). Only the spans that differ are written."""
    instrument_ids = set(instrument_ids)
    criterion_ids = set(criterion_ids)
    cells = {j: c for j, c in (cells or {}).items() if c[0]}
    below = descendants(set(jurisdiction_ids) | set(cells))
    whole = {pk for pk, roots in below.items() if roots & set(jurisdiction_ids)}
    with transaction.atomic():
        # Concurrent writers touching one jurisdiction take turns here (PostgreSQL): the second
        # reads and replaces the spans only after the first committed, so neither leaves the
        # other's rows behind (a DELETE does not see rows committed after it started). FOR NO
        # KEY UPDATE does not block the inserts that merely reference these rows.
        _lock(Jurisdiction, below)
        _lock(Instrument, instrument_ids)
        if instrument_ids:
            InstrumentStatusSpan.objects.filter(instrument_id__in=instrument_ids).delete()
            insert(InstrumentStatusSpan, _STATUS_FIELDS, status_span_values(instrument_ids))
        plan = _Plan()
        every = all_criterion_ids() if whole or criterion_ids else []
        for pk in whole:
            plan.add(pk, {(scope, c) for scope in SCOPES for c in every})
        for pk, roots in below.items():
            if pk in whole:
                continue
            for root in roots & set(cells):
                criteria, window = cells[root]
                scopes = SCOPES if root == pk else (Scope.APPLICABLE.value,)
                plan.add(pk, {(scope, c) for scope in scopes for c in criteria}, window)
        if criterion_ids:
            others = Jurisdiction.objects.exclude(pk__in=whole).values_list("pk", flat=True)
            for pk in others:
                plan.add(pk, {(scope, c) for scope in SCOPES for c in criterion_ids})
        rewritten = _apply(plan)
        if rewritten:
            coverage_rewritten.send(sender=CoverageSpan, cells=rewritten)


def _lock(model, ids) -> None:
    if ids and connection.features.has_select_for_update:
        list(
            model.objects.select_for_update(no_key=True).filter(pk__in=sorted(ids))
            .order_by("pk").values_list("pk", flat=True)
        )


def all_criterion_ids() -> list[int]:
    return list(Criterion.objects.order_by("pk").values_list("pk", flat=True))


def rebuild(progress=None) -> dict:
    """Delete and re-derive every span, in one transaction. Returns the row counts
    ``{"status_spans": n, "coverage_spans": n}``."""
    with transaction.atomic():
        InstrumentStatusSpan.objects.all().delete()
        CoverageSpan.objects.all().delete()
        insert(InstrumentStatusSpan, _STATUS_FIELDS, status_span_values(None))
        jurisdictions = list(Jurisdiction.objects.order_by("pk"))
        criteria = all_criterion_ids()
        for start in range(0, len(jurisdictions), _CHUNK):
            insert(
                CoverageSpan, _FIELDS,
                coverage_span_values(jurisdictions[start:start + _CHUNK], criteria),
            )
            if progress:
                progress(min(start + _CHUNK, len(jurisdictions)), len(jurisdictions))
    return {
        "status_spans": InstrumentStatusSpan.objects.count(),
        "coverage_spans": CoverageSpan.objects.count(),
    }


# --- marking what a write touched ----------------------------------------------------------
_state = threading.local()


def _pending() -> dict | None:
    return getattr(_state, "pending", None)


def _merge_cells(into: dict, cells: dict) -> None:
    for jurisdiction_id, (criteria, window) in cells.items():
        if jurisdiction_id and criteria:
            known, known_window = into.get(jurisdiction_id, (set(), None))
            into[jurisdiction_id] = (known | set(criteria), widest(known_window, window))


def mark(
    jurisdictions: Iterable[int] = (),
    instruments: Iterable[int] = (),
    criteria: Iterable[int] = (),
    everything: bool = False,
    cells: dict[int, tuple[set[int], tuple]] | None = None,
) -> None:
    """Record that a write changed what the spans of these rows rest on: re-derived now, or at
    the end of the current :func:`batch`. ``jurisdictions``: every cell of these and of their
    descendants; ``instruments``: their status spans; ``criteria``: every jurisdiction's cells
    of these; ``cells``: see :func:`refresh`."""
    merged: dict = {}
    _merge_cells(merged, cells or {})
    pending = _pending()
    if pending is None:
        if everything:
            rebuild()
        else:
            refresh(
                [j for j in jurisdictions if j], [i for i in instruments if i],
                [c for c in criteria if c], merged,
            )
        return
    pending["everything"] |= everything
    pending["jurisdictions"].update(j for j in jurisdictions if j)
    pending["instruments"].update(i for i in instruments if i)
    pending["criteria"].update(c for c in criteria if c)
    _merge_cells(pending["cells"], merged)


@contextlib.contextmanager
def batch(everything: bool = False):
    """Collect the spans to re-derive during the block and re-derive them once at its end
    (nested batches end with the outermost). ``everything=True``: rebuild every span at the end
    (for loads that bypass ``save()``). Use it inside the caller's transaction so that the
    spans commit with the data; on an exception nothing is derived."""
    outer = _pending() is None
    if outer:
        _state.pending = {
            "everything": False, "jurisdictions": set(), "instruments": set(), "criteria": set(),
            "cells": {},
        }
    _state.pending["everything"] |= everything
    try:
        yield
        if outer:
            pending = _state.pending
            _state.pending = None
            if pending["everything"]:
                rebuild()
            else:
                refresh(
                    pending["jurisdictions"], pending["instruments"], pending["criteria"],
                    pending["cells"],
                )
    finally:
        if outer:
            _state.pending = None


def batched(function):
    """Decorator: run ``function`` inside :func:`batch`."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with batch():
            return function(*args, **kwargs)

    return wrapper


def batched_rebuild(function):
    """Decorator: run ``function`` inside ``batch(everything=True)`` (it bulk-creates rows)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with batch(everything=True):
            return function(*args, **kwargs)

    return wrapper
