"""Deriving the spans from the pure rules, and keeping them right on every write.

**Derivation.** The rules stay :mod:`jurisdictions.coverage`'s: an instrument's status, legal
force and approximation as of a day (``status_as_of``, ``choices.legal_force_for``,
``approximate_as_of``) and a cell's answer (``coverage._cell``, the function ``compute`` calls
for every cell). Between two consecutive *breakpoints* nothing those rules read changes, so
evaluating them once per breakpoint and merging equal neighbours gives the whole history. The
breakpoints of a jurisdiction are the dates of every step of the instruments that can count for
it (its own and, under ``applicable``, its ancestors'), every assessment's commencement date,
and the day after a step that an uncertain (``on_or_before``) step follows (see
:func:`_breakpoints`). A cell is evaluated again at a breakpoint only when one of the instruments
it reads changed there (status, approximation, commencement), and cells with identical inputs
(two states without law of their own under the same federal law) share one evaluation. Bloc memberships decide only the bloc obligations shown beside
a cell, which the spans do not store; research status is not dated.

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
import json
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q
from django.dispatch import Signal

from jurisdictions.choices import DatePrecision, Scope, legal_force_for
from jurisdictions.coverage import (
    RulesAt,
    _ancestor_chains,
    _cell,
    _load_assessments,
    approximate_as_of,
    Step,
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


def derive_status_spans(instrument_ids: Iterable[int] | None) -> list[InstrumentStatusSpan]:
    """Unsaved status spans of the instruments ``instrument_ids`` (None: every instrument)."""
    events = StatusEvent.objects.order_by()
    if instrument_ids is not None:
        events = events.filter(instrument_id__in=list(instrument_ids))
    steps = defaultdict(list)
    for instrument_id, date, status, precision, pk in events.values_list(
        "instrument_id", "date", "status", "date_precision", "pk"
    ):
        steps[instrument_id].append(Step(date, status, precision, pk))
    rows = []
    for instrument_id, life in steps.items():
        for status, force, start, end, approximate in status_spans_of(life):
            rows.append(
                InstrumentStatusSpan(
                    instrument_id=instrument_id, status=status, legal_force=force,
                    valid_from=start, valid_to=end, approximate=approximate,
                )
            )
    return rows


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


def _key(cell) -> tuple:
    return (
        cell.value,
        cell.approximate,
        tuple(d.slug for d in cell.instruments),
        tuple(d.slug for d in cell.pending),
    )


def _causes(date, before, after, instruments) -> list[dict]:
    """The steps dated ``date`` (else the day before: an uncertain step) and the commencements
    on ``date`` of the instruments either cell mentions."""
    involved = {}
    for cell in (before, after):
        if cell is None:
            continue
        for decider in (*cell.considered, *cell.pending, *cell.not_commenced):
            involved.setdefault(decider.instrument_id, decider)
    causes = []
    for day in (date, date - _ONE_DAY):
        for instrument_id, decider in sorted(involved.items(), key=lambda i: i[1].slug):
            for step in instruments[instrument_id].steps:
                if step.date == day:
                    causes.append({
                        "instrument": decider.slug, "status": step.status,
                        "date": step.date.isoformat(), "precision": step.date_precision,
                        "step": step.pk,
                    })
        if causes:
            break
    for instrument_id, decider in sorted(involved.items(), key=lambda i: i[1].slug):
        if decider.commencement_date == date:
            causes.append({"instrument": decider.slug, "commencement": date.isoformat()})
    return causes


# A change point of one cell: from ``date`` on (None: since always) the cell answers
# (value, approximate, deciding slugs, pending slugs), for the causes given.
ChangePoint = tuple  # (date | None, value, approximate, deciding, pending, caused_by)
Slot = tuple  # (jurisdiction id, scope, criterion id)
# A window of dates (lo, hi), both included, None for no bound: the whole history.
WHOLE = (None, None)


def _instrument_breakpoints(instrument) -> list[datetime.date]:
    return _breakpoints([instrument], [])


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
    end), each list then starting with the cell's answer on the day before ``lo``, evaluated on
    the first day of the stored span holding that day (``starts``, by slot; the causes of the
    next change are read from that cell, as in a whole derivation) and dated with that day.
    ``(None, None)``: the whole history, starting with the answer since always (date None).
    A cell's change points do not depend on which other cells are derived with it. Reads the
    database in a fixed number of queries (the hierarchy, the assessments, the steps)."""
    if not jurisdictions or not criterion_ids:
        return {}
    lo, hi = window
    own_ids = [j.pk for j in jurisdictions]
    chains = _ancestor_chains(own_ids)
    ancestor_ids = {a for chain in chains.values() for a in chain}
    by_cell = _load_assessments(set(own_ids) | ancestor_ids, criterion_ids, with_sources=False)
    by_holder = defaultdict(list)
    for (holder, _criterion), assessments in by_cell.items():
        by_holder[holder].extend(assessments)

    rules: dict[datetime.date, RulesAt] = {}

    def rules_at(day):
        if day not in rules:
            rules[day] = RulesAt(day)
        return rules[day]

    # An instrument's rules (status, approximation, the status had its uncertain steps
    # happened) change only on its own breakpoints: on any other date it cannot have changed.
    moves: dict[int, list[datetime.date]] = {}
    memo: dict[tuple, object] = {}
    result: dict[Slot, list[ChangePoint]] = {}
    for jurisdiction in jurisdictions:
        chain = chains.get(jurisdiction.pk, [])
        assessments = [a for holder in (jurisdiction.pk, *chain) for a in by_holder[holder]]
        instruments = {a.instrument.id: a.instrument for a in assessments}
        # The instruments each cell reads (a superset: _cell itself leaves out what does not
        # count): a cell is evaluated again only on a date where one of them changed.
        reads: dict[tuple, set[int]] = {}
        # Everything _cell reads besides the date: two jurisdictions with the same inputs (two
        # states without law of their own under the same federal law) share one evaluation.
        inputs: dict[tuple, tuple] = {}
        wanted = None if slots is None else slots.get(jurisdiction.pk, set())
        for scope in SCOPES:
            law = [jurisdiction.pk, *chain] if scope == Scope.APPLICABLE else [jurisdiction.pk]
            for criterion_id in criterion_ids:
                if wanted is not None and (scope, criterion_id) not in wanted:
                    continue
                found = [
                    (holder, a) for holder in law for a in by_cell.get((holder, criterion_id), ())
                ]
                reads[(scope, criterion_id)] = {a.instrument.id for _holder, a in found}
                inputs[(scope, criterion_id)] = (
                    jurisdiction.research_status, criterion_id,
                    tuple((a.id, holder != jurisdiction.pk) for holder, a in found),
                )
        if not reads:
            continue
        moving = defaultdict(set)  # date -> instruments whose rules may change on it
        for instrument_id in instruments:
            if instrument_id not in moves:
                moves[instrument_id] = _instrument_breakpoints(instruments[instrument_id])
            for day in moves[instrument_id]:
                moving[day].add(instrument_id)
        commencing = defaultdict(set)
        for assessment in assessments:
            if assessment.commencement_date is not None:
                commencing[assessment.commencement_date].add(assessment.instrument.id)
        dates = sorted(set(moving) | set(commencing))
        dates = [
            None if lo is None else lo - _ONE_DAY,
            *(d for d in dates if (lo is None or lo <= d) and (hi is None or d <= hi)),
        ]
        points: dict[tuple, list] = {slot: [] for slot in reads}
        current: dict[tuple, object] = {}
        signatures: dict[int, tuple] = {}

        def evaluate(slot, at):
            scope, criterion_id = slot
            memo_key = (inputs[slot], at.as_of)
            if memo_key not in memo:
                law = [jurisdiction.pk, *chain] if scope == Scope.APPLICABLE else [jurisdiction.pk]
                memo[memo_key] = _cell(
                    jurisdiction, criterion_id, at.as_of, law, [], by_cell, at.status_of,
                    at.approximate_of, at.alternative_status_of,
                )
            return memo[memo_key]

        for index, date in enumerate(dates):
            at = rules_at(date or datetime.date.min)
            if index == 0:
                signatures = {i: at.signature(instruments[i]) for i in instruments}
                for slot in reads:
                    # The cell as of the start of its span (what a whole derivation compares
                    # the next answer with, and takes the causes from).
                    start = date if lo is None else (starts or {}).get(
                        (jurisdiction.pk, *slot), date
                    )
                    cell = current[slot] = evaluate(slot, rules_at(start or datetime.date.min))
                    points[slot].append((start, *_key(cell), []))
                continue
            changed = set(commencing.get(date, ()))
            for instrument_id in moving.get(date, ()):
                signature = at.signature(instruments[instrument_id])
                if signatures[instrument_id] != signature:
                    changed.add(instrument_id)
                    signatures[instrument_id] = signature
            for slot, read in reads.items():
                if not (read & changed):
                    continue
                before, cell = current[slot], evaluate(slot, at)
                if _key(before) == _key(cell):
                    continue
                current[slot] = cell
                points[slot].append((date, *_key(cell), _causes(date, before, cell, instruments)))
        for (scope, criterion_id), found in points.items():
            result[(jurisdiction.pk, scope, criterion_id)] = found
    return result
def _spans(slot: Slot, points: list[ChangePoint], end=None) -> list[CoverageSpan]:
    """The spans of one cell from its change points, the last one ending on ``end``."""
    jurisdiction_id, scope, criterion_id = slot
    return [
        CoverageSpan(
            jurisdiction_id=jurisdiction_id, criterion_id=criterion_id, scope=scope,
            value=value, approximate=approximate, valid_from=start,
            valid_to=points[i + 1][0] if i + 1 < len(points) else end,
            deciding=list(deciding), pending=list(pending), caused_by=causes,
        )
        for i, (start, value, approximate, deciding, pending, causes) in enumerate(points)
    ]


def derive_coverage_spans(
    jurisdictions: list[Jurisdiction],
    criterion_ids: list[int],
    slots: dict[int, set[tuple[str, int]]] | None = None,
) -> list[CoverageSpan]:
    """Unsaved coverage spans of every cell of ``jurisdictions`` × ``criterion_ids`` × both
    scopes (with ``slots``, only those cells), their whole history (:func:`change_points`)."""
    return [
        span
        for slot, points in change_points(jurisdictions, criterion_ids, slots).items()
        for span in _spans(slot, points)
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


def _span_row(span: CoverageSpan) -> tuple:
    return _row([getattr(span, name) for name in _FIELDS])


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
        wanted = {_span_row(span): span for span in spans}
        before = stored.get(slot, ())
        count = len(stale)
        for pk, row in before:
            if wanted.pop(row, None) is None:
                stale.append(pk)
        if before and (wanted or len(stale) > count):
            rewritten.append(Rewritten(
                *slot,
                before=tuple((row[3], row[4], row[5], row[8]) for _pk, row in before),
                after=tuple((s.valid_from, s.valid_to, s.value, tuple(s.pending)) for s in spans),
            ))
        new.extend(wanted.values())
    for start in range(0, len(stale), 500):
        CoverageSpan.objects.filter(pk__in=stale[start:start + 500]).delete()
    CoverageSpan.objects.bulk_create(new, 1000)
    return rewritten


def _fresh(chosen, criteria, slots, window, stored) -> tuple[dict, set[int]]:
    """The spans each planned cell should have in place of its ``stored`` rows
    (:func:`_stored`): from the rules over ``window``, joined to the stored spans holding the
    day before it and its last day. Also the jurisdictions whose stored spans do not join the
    fresh ones (to derive whole)."""
    lo, hi = window
    if window == WHOLE:
        points = change_points(chosen, criteria, slots)
        return {slot: _spans(slot, found) for slot, found in points.items()}, set()

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
        fresh[slot] = _spans(slot, found, end)
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
            InstrumentStatusSpan.objects.bulk_create(derive_status_spans(instrument_ids), 1000)
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
        InstrumentStatusSpan.objects.bulk_create(derive_status_spans(None), 1000)
        jurisdictions = list(Jurisdiction.objects.order_by("pk"))
        criteria = all_criterion_ids()
        for start in range(0, len(jurisdictions), _CHUNK):
            CoverageSpan.objects.bulk_create(
                derive_coverage_spans(jurisdictions[start:start + _CHUNK], criteria), 1000
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
