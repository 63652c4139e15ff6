"""Effective values as of a date, read from the coverage spans (issue 12, "Reads from spans").

:func:`coverage_at` answers what ``coverage.compute`` answers — the value of each cell, whether
it is approximate, the instruments that decide it and the proposals pending — without
recomputing any instrument's life: each cell is the one span that holds on the date (an indexed
read), and the deciding and pending instruments it names are read with their assessments,
their status on the date (``InstrumentStatusSpan``) and, when asked, their sources.

The spans store what decides a cell and what is pending, not the instruments considered below
the value, the bloc obligations or the assessments not yet commenced: in the cells returned
here ``considered``, ``bloc_obligations`` and ``not_commenced`` are None ("not read"), and an
answer that shows them (compare, the jurisdiction page) computes its cells with
``coverage.compute``. ``tests/test_spans_read.py`` holds every cell of the seed to the pure
computation, on every date a step or a commencement falls on.

The spans are kept right on every write (:mod:`spans.maintain`) and ``check_spans`` compares
them with the rules. Should a cell have no span on the date, or a span name an instrument whose
assessment is gone, the jurisdictions concerned are computed by the rules instead, and a
warning is logged: a stale table never gives a wrong cell.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterable

from django.db.models import Q

from jurisdictions.coverage import (
    _MAX_IN,
    Cell,
    Coverage,
    _decider,
    _limit,
    _read_assessments,
    _read_sources,
    checked_question,
    compute,
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


def coverage_at(
    jurisdictions: Iterable[Jurisdiction],
    criteria: Iterable[Criterion],
    as_of: datetime.date,
    scope: str,
    with_sources: bool = True,
    instrument_url: Callable[[str], str | None] | None = None,
) -> Coverage:
    """The cells of ``jurisdictions`` × ``criteria`` on ``as_of`` under ``scope``, read from
    the spans (module docstring); arguments and errors as ``coverage.compute``'s. Reads the
    database in a fixed number of queries: the spans, the deciding assessments, their statuses
    and, ``with_sources``, four for the citations (plus one for each of ``jurisdictions`` and
    ``criteria`` given as unevaluated querysets)."""
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
    found = [
        row
        for row in spans.values_list(
            "jurisdiction_id", "criterion_id", "value", "approximate", "deciding", "pending"
        )
        if row[0] in by_pk
    ]

    # The assessments of every instrument a cell names, for that cell's criterion.
    named = {slug for row in found for slug in (*row[4], *row[5])}
    selected = _limit(law_assessments().order_by(), "instrument__slug", named).filter(
        criterion_id__in=list(slug_of)
    )
    instruments, assessments = _read_assessments(selected)
    if len(named) > _MAX_IN:  # read for every instrument: keep the named ones
        assessments = {k: a for k, a in assessments.items() if a.instrument.slug in named}
    statuses = dict(
        InstrumentStatusSpan.objects.filter(
            holding_on(as_of), instrument_id__in=selected.values("instrument_id")
        )
        .order_by()
        .values_list("instrument_id", "status")
    )
    if with_sources:
        _read_sources(selected, instruments, assessments)
    by_key = {(a.instrument.slug, a.criterion_id): a for a in assessments.values()}

    cells: dict[tuple[int, str], Cell] = {}
    stale: set[int] = set()
    for jurisdiction_id, criterion_id, value, approximate, deciding, pending in found:

        def deciders(slugs):
            chosen = [by_key.get((slug, criterion_id)) for slug in slugs]
            if None in chosen:
                return None
            return tuple(
                _decider(
                    a, statuses.get(a.instrument.id),
                    a.instrument.jurisdiction_id != jurisdiction_id, instrument_url,
                )
                for a in chosen
            )

        instruments_, pending_ = deciders(deciding), deciders(pending)
        if instruments_ is None or pending_ is None:
            stale.add(jurisdiction_id)
            continue
        slug = slug_of[criterion_id]
        cells[(jurisdiction_id, slug)] = Cell(
            value=value, approximate=approximate, instruments=instruments_, considered=None,
            pending=pending_, bloc_obligations=None, not_commenced=None, criterion=slug,
        )

    stale |= {
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
