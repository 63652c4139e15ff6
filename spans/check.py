"""Do the stored spans say what the rules say? (``manage.py check_spans``)

Two comparisons, each naming every difference:

1. **Stale rows.** The stored spans of the chosen jurisdictions and instruments against a fresh
   derivation (:mod:`spans.maintain`): catches a write path that did not re-derive.
2. **The rules themselves.** For each stored coverage span, the answer of
   ``coverage.compute`` (the request-time computation) on its first and last day, and the
   status of each status span on its first and last day from ``Instrument.objects.with_status``
   (the SQL form of the status rule): catches a derivation that is not the rules'.
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict

from jurisdictions.coverage import compute
from jurisdictions.models import Criterion, Instrument, Jurisdiction

from .maintain import SCOPES, derive_coverage_spans, derive_status_spans
from .models import CoverageSpan, InstrumentStatusSpan

_ONE_DAY = datetime.timedelta(days=1)


def _coverage_row(span) -> tuple:
    return (
        span.jurisdiction_id, span.criterion_id, span.scope, span.value, span.approximate,
        span.valid_from, span.valid_to, list(span.deciding), list(span.pending),
    )


def _status_row(span) -> tuple:
    return (
        span.instrument_id, str(span.status), str(span.legal_force), span.valid_from, span.valid_to,
        span.approximate,
    )


def differences(
    sample: int | None = None, seed: int = 0, limit: int = 50, codes: list[str] | None = None,
    rules: bool = True,
) -> list[str]:
    """Differences between the stored spans and the rules, as lines of text (at most ``limit``
    lines besides a count). ``sample``: check that many jurisdictions, drawn with ``seed``
    (and the instruments of those jurisdictions), instead of all; ``codes``: check these
    jurisdictions (and their instruments); ``rules=False``: only the first comparison (stale
    rows), the one a write path that forgot the spans fails."""
    jurisdictions = list(Jurisdiction.objects.order_by("pk"))
    if codes is not None:
        jurisdictions = [j for j in jurisdictions if j.code in set(codes)]
        sample = len(jurisdictions)
    elif sample is not None and sample < len(jurisdictions):
        jurisdictions = sorted(random.Random(seed).sample(jurisdictions, sample), key=lambda j: j.pk)
    chosen = {j.pk for j in jurisdictions}
    codes = {j.pk: j.code for j in jurisdictions}
    criteria = list(Criterion.objects.order_by("pk"))
    slugs = {c.pk: c.slug for c in criteria}
    instrument_ids = list(
        Instrument.objects.filter(jurisdiction_id__in=chosen).values_list("pk", flat=True)
    ) if sample is not None or codes is not None else None
    found: list[str] = []

    # 1. stale rows
    stored = {
        repr(_coverage_row(s)) for s in CoverageSpan.objects.filter(jurisdiction_id__in=chosen)
    }
    fresh = {repr(_coverage_row(s)) for s in derive_coverage_spans(jurisdictions, list(slugs))}
    for row in sorted(stored ^ fresh):
        where = "stored, not derived" if row in stored else "derived, not stored"
        found.append(f"coverage span {where}: {row}")
    status_query = InstrumentStatusSpan.objects.all()
    if instrument_ids is not None:
        status_query = status_query.filter(instrument_id__in=instrument_ids)
    stored_status = {repr(_status_row(s)) for s in status_query}
    fresh_status = {repr(_status_row(s)) for s in derive_status_spans(instrument_ids)}
    for row in sorted(stored_status ^ fresh_status):
        where = "stored, not derived" if row in stored_status else "derived, not stored"
        found.append(f"status span {where}: {row}")

    if not rules:
        return found[:limit]

    # 2. the rules: each coverage span on its first and last day
    to_check: dict[tuple[datetime.date, str], set[int]] = defaultdict(set)
    spans = list(CoverageSpan.objects.filter(jurisdiction_id__in=chosen))
    for span in spans:
        for day in (span.valid_from, span.valid_to - _ONE_DAY if span.valid_to else None):
            if day is not None:
                to_check[(day, span.scope)].add(span.jurisdiction_id)
    for scope in SCOPES:
        to_check[(datetime.date.today(), scope)] |= chosen
    by_cell = defaultdict(list)
    for span in spans:
        by_cell[(span.jurisdiction_id, span.criterion_id, span.scope)].append(span)
    by_pk = {j.pk: j for j in jurisdictions}
    for (day, scope), ids in sorted(to_check.items()):
        coverage = compute([by_pk[i] for i in sorted(ids)], criteria, day, scope, with_sources=False)
        for jurisdiction_id in sorted(ids):
            for criterion in criteria:
                cell = coverage.cell(by_pk[jurisdiction_id], criterion.slug)
                span = _span_on(by_cell[(jurisdiction_id, criterion.pk, scope)], day)
                expected = (
                    cell.value, cell.approximate, [d.slug for d in cell.instruments],
                    [d.slug for d in cell.pending],
                )
                got = None if span is None else (
                    span.value, span.approximate, span.deciding, span.pending
                )
                if got != expected:
                    found.append(
                        f"{codes[jurisdiction_id]} {slugs[criterion.pk]} {scope} on "
                        f"{day.isoformat()}: spans say {got}, the rules say {expected}"
                    )

    # ... and each status span on its first and last day (the SQL form of the status rule)
    status_days: dict[datetime.date, set[int]] = defaultdict(set)
    status_spans = list(status_query)
    for span in status_spans:
        status_days[span.valid_from].add(span.instrument_id)
        if span.valid_to:
            status_days[span.valid_to - _ONE_DAY].add(span.instrument_id)
    by_instrument = defaultdict(list)
    for span in status_spans:
        by_instrument[span.instrument_id].append(span)
    for day, ids in sorted(status_days.items()):
        for pk, slug, status in (
            Instrument.objects.filter(pk__in=ids).with_status(day)
            .values_list("pk", "slug", "status_at")
        ):
            span = _span_on(by_instrument[pk], day)
            got = span.status if span else None
            if got != status:
                found.append(
                    f"instrument {slug} on {day.isoformat()}: status span says {got}, "
                    f"the status rule says {status}"
                )
    if len(found) > limit:
        found = [*found[:limit], f"... and {len(found) - limit} more differences"]
    return found


def _span_on(spans, day):
    for span in spans:
        if (span.valid_from is None or span.valid_from <= day) and (
            span.valid_to is None or day < span.valid_to
        ):
            return span
    return None
