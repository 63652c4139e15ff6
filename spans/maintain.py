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
it and all its descendants (a federal instrument re-derives every state). Loads that bypass
``save()`` (``bulk_create``, raw inserts) run in ``batch(everything=True)``: a full rebuild.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import threading
from collections import defaultdict
from collections.abc import Iterable

from django.db import connection, transaction

from jurisdictions.choices import DatePrecision, Scope, legal_force_for
from jurisdictions.coverage import (
    _ancestor_chains,
    _cell,
    _load_assessments,
    approximate_as_of,
    Step,
    life_order_key,
    status_as_of,
    uncertain_steps_happened,
)
from jurisdictions.models import Criterion, Instrument, Jurisdiction, StatusEvent

from .models import CoverageSpan, InstrumentStatusSpan

SCOPES = (Scope.APPLICABLE.value, Scope.OWN.value)
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


class _RulesAt:
    """The three per-instrument rules ``coverage.compute`` gives ``_cell`` (status, whether it
    is approximate, the status had every uncertain step happened), at one date, memoised so
    that jurisdictions sharing instruments (a federal law in every state) compute them once."""

    def __init__(self, as_of: datetime.date):
        self.as_of = as_of
        self.statuses, self.approximations, self.alternatives = {}, {}, {}

    def status_of(self, instrument):
        if instrument.id not in self.statuses:
            self.statuses[instrument.id] = status_as_of(instrument.steps, self.as_of)
        return self.statuses[instrument.id]

    def approximate_of(self, instrument):
        if instrument.id not in self.approximations:
            self.approximations[instrument.id] = approximate_as_of(instrument.steps, self.as_of)
        return self.approximations[instrument.id]

    def alternative_status_of(self, instrument):
        if instrument.id not in self.alternatives:
            self.alternatives[instrument.id] = status_as_of(
                uncertain_steps_happened(instrument.steps, self.as_of), self.as_of
            )
        return self.alternatives[instrument.id]

    def signature(self, instrument) -> tuple:
        """Everything ``_cell`` reads of one instrument at this date."""
        return (
            self.status_of(instrument),
            self.approximate_of(instrument),
            self.alternative_status_of(instrument) if self.approximate_of(instrument) else None,
        )


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


def derive_coverage_spans(
    jurisdictions: list[Jurisdiction], criterion_ids: list[int]
) -> list[CoverageSpan]:
    """Unsaved coverage spans of every cell of ``jurisdictions`` × ``criterion_ids`` × both
    scopes, from the rules of :mod:`jurisdictions.coverage` (module docstring). Reads the
    database in a fixed number of queries (the hierarchy, the assessments, the steps)."""
    if not jurisdictions or not criterion_ids:
        return []
    own_ids = [j.pk for j in jurisdictions]
    chains = _ancestor_chains(own_ids)
    ancestor_ids = {a for chain in chains.values() for a in chain}
    by_cell = _load_assessments(set(own_ids) | ancestor_ids, criterion_ids, with_sources=False)
    by_holder = defaultdict(list)
    for (holder, _criterion), assessments in by_cell.items():
        by_holder[holder].extend(assessments)

    rules: dict[datetime.date, _RulesAt] = {}

    def rules_at(day):
        if day not in rules:
            rules[day] = _RulesAt(day)
        return rules[day]

    memo: dict[tuple, object] = {}
    rows = []
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
        for scope in SCOPES:
            law = [jurisdiction.pk, *chain] if scope == Scope.APPLICABLE else [jurisdiction.pk]
            for criterion_id in criterion_ids:
                candidates = [
                    (a.id, holder != jurisdiction.pk)
                    for holder in law for a in by_cell.get((holder, criterion_id), ())
                ]
                reads[(scope, criterion_id)] = {
                    a.instrument.id for holder in law for a in by_cell.get((holder, criterion_id), ())
                }
                inputs[(scope, criterion_id)] = (
                    jurisdiction.research_status, criterion_id, tuple(candidates)
                )
        commencing = defaultdict(set)
        for assessment in assessments:
            if assessment.commencement_date is not None:
                commencing[assessment.commencement_date].add(assessment.instrument.id)
        open_spans: dict[tuple, tuple] = {}  # cell -> (start, cell, causes)
        signatures: dict[int, tuple] = {}
        for date in [None, *_breakpoints(instruments.values(), assessments)]:
            at = rules_at(date or datetime.date.min)
            changed = set(commencing.get(date, ()))
            for instrument_id, instrument in instruments.items():
                signature = at.signature(instrument)
                if signatures.get(instrument_id) != signature:
                    changed.add(instrument_id)
                    signatures[instrument_id] = signature
            for slot, read in reads.items():
                current = open_spans.get(slot)
                if current is not None and not (read & changed):
                    continue
                scope, criterion_id = slot
                memo_key = (inputs[slot], at.as_of)
                cell = memo.get(memo_key)
                if cell is None:
                    law = (
                        [jurisdiction.pk, *chain] if scope == Scope.APPLICABLE
                        else [jurisdiction.pk]
                    )
                    cell = memo[memo_key] = _cell(
                        jurisdiction, criterion_id, at.as_of, law, [], by_cell, at.status_of,
                        at.approximate_of, at.alternative_status_of,
                    )
                if current is not None and _key(current[1]) == _key(cell):
                    continue
                if current is not None:
                    rows.append(_span(jurisdiction, slot, current, date))
                before = current[1] if current is not None else None
                causes = _causes(date, before, cell, instruments) if date else []
                open_spans[slot] = (date, cell, causes)
        for slot, current in open_spans.items():
            rows.append(_span(jurisdiction, slot, current, None))
    return rows


def _span(jurisdiction, slot, current, end) -> CoverageSpan:
    scope, criterion_id = slot
    start, cell, causes = current
    return CoverageSpan(
        jurisdiction_id=jurisdiction.pk, criterion_id=criterion_id, scope=scope,
        value=cell.value, approximate=cell.approximate, valid_from=start, valid_to=end,
        deciding=[d.slug for d in cell.instruments], pending=[d.slug for d in cell.pending],
        caused_by=causes,
    )


# --- writing ---------------------------------------------------------------------------------
def descendants_and_self(ids: Iterable[int]) -> set[int]:
    """``ids`` and every jurisdiction below them (one query per level of the hierarchy)."""
    found = set(ids)
    frontier = set(found)
    while frontier:
        frontier = set(
            Jurisdiction.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)
        ) - found
        found |= frontier
    return found


def refresh(
    jurisdiction_ids: Iterable[int] = (),
    instrument_ids: Iterable[int] = (),
    criterion_ids: Iterable[int] = (),
) -> None:
    """Re-derive, in one transaction: the status spans of ``instrument_ids``; the coverage
    spans of ``jurisdiction_ids`` and their descendants for every criterion; and every
    jurisdiction's spans for ``criterion_ids`` (a new criterion)."""
    instrument_ids = set(instrument_ids)
    jurisdiction_ids = descendants_and_self(jurisdiction_ids) if jurisdiction_ids else set()
    criterion_ids = set(criterion_ids)
    with transaction.atomic():
        # Concurrent writers touching one jurisdiction take turns here (PostgreSQL): the second
        # reads and replaces the spans only after the first committed, so neither leaves the
        # other's rows behind (a DELETE does not see rows committed after it started). FOR NO
        # KEY UPDATE does not block the inserts that merely reference these rows.
        _lock(Jurisdiction, jurisdiction_ids)
        _lock(Instrument, instrument_ids)
        if instrument_ids:
            InstrumentStatusSpan.objects.filter(instrument_id__in=instrument_ids).delete()
            InstrumentStatusSpan.objects.bulk_create(derive_status_spans(instrument_ids), 1000)
        if jurisdiction_ids:
            chosen = list(Jurisdiction.objects.filter(pk__in=jurisdiction_ids).order_by("pk"))
            CoverageSpan.objects.filter(jurisdiction_id__in=jurisdiction_ids).delete()
            for start in range(0, len(chosen), _CHUNK):
                CoverageSpan.objects.bulk_create(
                    derive_coverage_spans(chosen[start:start + _CHUNK], all_criterion_ids()),
                    1000,
                )
        if criterion_ids:
            CoverageSpan.objects.filter(criterion_id__in=criterion_ids).exclude(
                jurisdiction_id__in=jurisdiction_ids
            ).delete()
            others = list(
                Jurisdiction.objects.exclude(pk__in=jurisdiction_ids).order_by("pk")
            )
            for start in range(0, len(others), _CHUNK):
                CoverageSpan.objects.bulk_create(
                    derive_coverage_spans(others[start:start + _CHUNK], sorted(criterion_ids)),
                    1000,
                )


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


def mark(
    jurisdictions: Iterable[int] = (),
    instruments: Iterable[int] = (),
    criteria: Iterable[int] = (),
    everything: bool = False,
) -> None:
    """Record that a write changed what the spans of these rows rest on: re-derived now, or at
    the end of the current :func:`batch`."""
    pending = _pending()
    if pending is None:
        if everything:
            rebuild()
        else:
            refresh(
                [j for j in jurisdictions if j], [i for i in instruments if i],
                [c for c in criteria if c],
            )
        return
    pending["everything"] |= everything
    pending["jurisdictions"].update(j for j in jurisdictions if j)
    pending["instruments"].update(i for i in instruments if i)
    pending["criteria"].update(c for c in criteria if c)


@contextlib.contextmanager
def batch(everything: bool = False):
    """Collect the spans to re-derive during the block and re-derive them once at its end
    (nested batches end with the outermost). ``everything=True``: rebuild every span at the end
    (for loads that bypass ``save()``). Use it inside the caller's transaction so that the
    spans commit with the data; on an exception nothing is derived."""
    outer = _pending() is None
    if outer:
        _state.pending = {
            "everything": False, "jurisdictions": set(), "instruments": set(), "criteria": set()
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
                refresh(pending["jurisdictions"], pending["instruments"], pending["criteria"])
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
