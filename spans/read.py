"""Effective values as of a date, read from the spans (issue 12, "Reads from spans").

:func:`coverage_at` answers what ``coverage.compute`` answers without recomputing any
instrument's life from its steps. Each cell starts from the coverage span that holds on the
date (an indexed read): its value, whether it is approximate, the instruments that decide it
and the proposals pending. Then, by what the caller shows:

- ``full=False`` (gaps, the home figures, the jurisdiction rows, the covers/lacks filters, the
  compact compare): only the instruments the span names are read, with their assessments,
  their status on the date (``InstrumentStatusSpan``) and, when asked, their sources. The
  cells' ``considered``, ``bloc_obligations`` and ``not_commenced`` are None ("not read").
- ``full=True`` (compare, the map, the jurisdiction page): every assessment that can count is
  read as ``compute`` reads it, but each instrument's status comes from its status span, not
  its steps, and the cell is built by the same rule (``coverage._cell``); the coverage span
  gives whether it is approximate (that needs the steps), after its value is found equal to
  the rule's.

``tests/test_spans_read.py`` holds every cell of the seed, both ways, to the pure computation on
many dates; the goldens hold every answer built on it byte for byte.

The spans are kept right on every write (:mod:`spans.maintain`) and ``check_spans`` compares
them with the rules. Should a cell have no span on the date, or a span disagree with what it
names, the jurisdictions concerned are computed by the rules instead and a warning is logged: a
stale table never gives a wrong cell.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
from collections.abc import Callable, Iterable

from django.db.models import Q

from jurisdictions.coverage import (
    Cell,
    Coverage,
    _decider,
    _limit,
    _read_assessments,
    _read_sources,
    among,
    checked_question,
    compute,
    evaluate,
    law_assessments,
)
from jurisdictions.models import Criterion, Jurisdiction

from .models import CoverageSpan, InstrumentStatusSpan

logger = logging.getLogger(__name__)


def holding_on(as_of: datetime.date) -> Q:
    """The spans (coverage or status) that hold on ``as_of``: ``[valid_from, valid_to)``, a
    null start meaning since always and a null end still."""
    return (Q(valid_from__isnull=True) | Q(valid_from__lte=as_of)) & (
        Q(valid_to__isnull=True) | Q(valid_to__gt=as_of)
    )


def statuses_on(as_of: datetime.date, selected) -> dict[int, str]:
    """{instrument id: status on ``as_of``} for the instruments of the assessments
    ``selected`` that have a step by then — one query on the status spans."""
    return dict(
        InstrumentStatusSpan.objects.filter(
            holding_on(as_of), instrument_id__in=selected.values("instrument_id")
        )
        .order_by()
        .values_list("instrument_id", "status")
    )


class StatusSpanRules:
    """The rules ``coverage._cell`` reads of an instrument on one date (``coverage.RulesAt``),
    from the status spans: its status; never approximate (the coverage span says whether a
    cell is), so the status had its uncertain steps happened is never asked."""

    def __init__(self, as_of: datetime.date, selected):
        self.statuses = statuses_on(as_of, selected)

    def status_of(self, instrument) -> str | None:
        return self.statuses.get(instrument.id)

    def approximate_of(self, instrument) -> bool:
        return False

    def alternative_status_of(self, instrument) -> str | None:
        return self.status_of(instrument)


def coverage_at(
    jurisdictions: Iterable[Jurisdiction],
    criteria: Iterable[Criterion],
    as_of: datetime.date,
    scope: str,
    with_sources: bool = True,
    instrument_url: Callable[[str], str | None] | None = None,
    full: bool = False,
) -> Coverage:
    """The cells of ``jurisdictions`` × ``criteria`` on ``as_of`` under ``scope``, read from
    the spans (module docstring); arguments and errors as ``coverage.compute``'s. Reads the
    database in a fixed number of queries: the coverage spans, then (``full=False``) the
    deciding assessments and their statuses, or (``full=True``) the hierarchy, the memberships,
    the assessments and the statuses; with ``with_sources``, four for the citations (plus one
    for each of ``jurisdictions`` and ``criteria`` given as unevaluated querysets)."""
    as_of, scope, jurisdiction_list, criterion_list = checked_question(
        jurisdictions, criteria, as_of, scope
    )
    if not jurisdiction_list or not criterion_list:
        return Coverage(as_of, scope, criterion_list, jurisdiction_list, {})
    by_pk = {j.pk: j for j in jurisdiction_list}
    slug_of = {c.pk: c.slug for c in criterion_list}

    spans = _limit(
        CoverageSpan.objects.order_by(), "jurisdiction_id", by_pk
    ).filter(holding_on(as_of), criterion_id__in=list(slug_of), scope=scope)
    # The whole cell is the rule's under full: its span is read for the approximate flag and
    # checked by its value (decoding every span's instruments would cost a tenth of compare).
    columns = ("value", "approximate") if full else ("value", "approximate", "deciding", "pending")
    found = {
        (jurisdiction_id, slug_of[criterion_id]): tuple(span)
        for jurisdiction_id, criterion_id, *span
        in spans.values_list("jurisdiction_id", "criterion_id", *columns)
        if jurisdiction_id in by_pk
    }
    read = _full_cells if full else _decided_cells
    cells = read(found, jurisdiction_list, criterion_list, as_of, scope, with_sources,
                 instrument_url)

    stale = {
        j.pk for j in jurisdiction_list
        if any((j.pk, c.slug) not in cells for c in criterion_list)
    }
    if stale:
        logger.warning(
            "coverage spans missing or stale for %d jurisdiction(s) on %s (%s): computed by the "
            "rules; run manage.py check_spans", len(stale), as_of, scope,
        )
        fallback = compute(
            [by_pk[pk] for pk in sorted(stale)], criterion_list, as_of, scope,
            with_sources=with_sources, instrument_url=instrument_url,
        )
        for jurisdiction, row in fallback.rows():
            for slug, cell in row.items():
                cells[(jurisdiction.pk, slug)] = cell
    return Coverage(as_of, scope, criterion_list, jurisdiction_list, cells)


def _decided_cells(found, jurisdictions, criteria, as_of, scope, with_sources,
                   instrument_url) -> dict[tuple[int, str], Cell]:
    """The cells of ``found`` (the spans, by cell), with only the instruments they name."""
    criterion_ids = {c.slug: c.pk for c in criteria}
    named = {slug for span in found.values() for slug in (*span[2], *span[3])}
    selected = law_assessments().order_by().filter(
        instrument__slug__in=among(named), criterion_id__in=list(criterion_ids.values())
    )
    instruments, assessments = _read_assessments(selected)
    statuses = statuses_on(as_of, selected)
    if with_sources:
        _read_sources(selected, instruments, assessments)
    by_key = {(a.instrument.slug, a.criterion_id): a for a in assessments.values()}

    cells: dict[tuple[int, str], Cell] = {}
    for (jurisdiction_id, slug), (value, approximate, deciding, pending) in found.items():
        chosen = [by_key.get((s, criterion_ids[slug])) for s in (*deciding, *pending)]
        if None in chosen:  # a span naming an instrument not assessed: stale
            continue
        deciders = tuple(
            _decider(a, statuses.get(a.instrument.id),
                     a.instrument.jurisdiction_id != jurisdiction_id, instrument_url)
            for a in chosen
        )
        cells[(jurisdiction_id, slug)] = Cell(
            value=value, approximate=approximate, instruments=deciders[:len(deciding)],
            considered=None, pending=deciders[len(deciding):], bloc_obligations=None,
            not_commenced=None, criterion=slug,
        )
    return cells


def _full_cells(found, jurisdictions, criteria, as_of, scope, with_sources,
                instrument_url) -> dict[tuple[int, str], Cell]:
    """The cells of ``jurisdictions`` × ``criteria`` by the rule, statuses from the status
    spans, each made approximate as its span (``found``: value, approximate) says — where the
    span's value is the rule's."""
    cells = evaluate(
        jurisdictions, criteria, as_of, scope, lambda selected: StatusSpanRules(as_of, selected),
        with_sources=with_sources, instrument_url=instrument_url, with_steps=False,
    )
    agreed = {}
    for key, cell in cells.items():
        span = found.get(key)
        if span is None:
            continue
        value, approximate = span
        if cell.value != value:
            continue  # stale
        agreed[key] = dataclasses.replace(cell, approximate=True) if approximate else cell
    return agreed
