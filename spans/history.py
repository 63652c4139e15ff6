"""Coverage over time, read from the spans: the panel, what changed between two dates, and how
many jurisdictions answer ``yes`` over time (DOMAIN.md, "Coverage over time").

Plain data in, plain data out: the API views and the pages only render what these return. The
jurisdictions are chosen by the caller (the selection parameters); here they are primary keys,
or None for "every jurisdiction but the international organisations".
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db.models import F, Q, QuerySet

from jurisdictions.answers.base import iso
from jurisdictions.choices import EffectiveValue, JurisdictionKind

from .models import CoverageSpan

# The CSV columns of the panel, in order (one line per span).
PANEL_COLUMNS = (
    "jurisdiction", "jurisdiction_name", "criterion", "scope", "valid_from", "valid_to", "value",
    "approximate", "deciding", "pending", "caused_by",
)


# The keys of a cause in one order on every database (PostgreSQL's jsonb keeps none).
CAUSE_KEYS = ("instrument", "status", "date", "precision", "step", "commencement")


def ordered_causes(causes) -> list[dict]:
    """The stored causes of a span with their keys in :data:`CAUSE_KEYS` order."""
    return [{k: c[k] for k in (*CAUSE_KEYS, *sorted(set(c) - set(CAUSE_KEYS))) if k in c}
            for c in causes]


# The span fields a panel row or a change reads.
PANEL_FIELDS = (
    "jurisdiction", "criterion", "scope", "value", "approximate", "valid_from", "valid_to",
    "deciding", "pending", "caused_by",
)


def panel(
    jurisdiction_ids: Iterable[int] | None,
    criterion_ids: Iterable[int],
    scopes: Iterable[str],
) -> QuerySet:
    """The spans of the chosen cells, ordered by jurisdiction code, criterion slug, scope and
    start (a span open at the start first), with jurisdiction and criterion joined."""
    spans = CoverageSpan.objects.filter(
        criterion_id__in=list(criterion_ids), scope__in=list(scopes)
    )
    if jurisdiction_ids is None:
        spans = spans.exclude(jurisdiction__kind=JurisdictionKind.INTERNATIONAL)
    else:
        spans = spans.filter(jurisdiction_id__in=list(jurisdiction_ids))
    # An open start (null) first on every database: PostgreSQL sorts nulls last by default.
    # Of the joined rows only what a span's answer names (not the jurisdiction's research notes
    # or search text): building the model rows was most of the changes' time at the large scale.
    return spans.select_related("jurisdiction", "criterion").only(
        *PANEL_FIELDS, "jurisdiction__code", "jurisdiction__name", "criterion__slug"
    ).order_by(
        "jurisdiction__code", "criterion__slug", "scope", F("valid_from").asc(nulls_first=True),
        "pk",
    )


def panel_row(span: CoverageSpan) -> dict:
    """One span as plain values (dates in ISO 8601; null ``valid_from``: since always, null
    ``valid_to``: still)."""
    return {
        "jurisdiction": span.jurisdiction.code,
        "jurisdiction_name": span.jurisdiction.name,
        "criterion": span.criterion.slug,
        "scope": span.scope,
        "valid_from": iso(span.valid_from),
        "valid_to": iso(span.valid_to),
        "value": span.value,
        "approximate": span.approximate,
        "deciding": list(span.deciding),
        "pending": list(span.pending),
        "caused_by": ordered_causes(span.caused_by),
    }


def panel_lines(spans: QuerySet) -> Iterator[list]:
    """CSV lines of :data:`PANEL_COLUMNS`, read as plain values in chunks (flat memory on any
    size; no model instance per row)."""
    rows = spans.values_list(
        "jurisdiction__code", "jurisdiction__name", "criterion__slug", "scope", "valid_from",
        "valid_to", "value", "approximate", "deciding", "pending", "caused_by",
    )
    for *head, caused_by in rows.iterator(chunk_size=2000):
        yield [*head, [f"{c['instrument']}:{c.get('status', 'commencement')}" for c in caused_by]]


def _holds_on(span: CoverageSpan, day: datetime.date) -> bool:
    return (span.valid_from is None or span.valid_from <= day) and (
        span.valid_to is None or day < span.valid_to
    )


@dataclass
class CellChange:
    """One cell whose value on ``date_from`` differs from its value on ``date_to``, with every
    change of value in between (``changes``: ``{"date", "from", "to", "approximate",
    "deciding", "pending", "caused_by"}``, oldest first)."""

    jurisdiction: str
    jurisdiction_name: str
    criterion: str
    scope: str
    value_from: str
    value_to: str
    changes: list[dict] = field(default_factory=list)


def changes_between(
    jurisdiction_ids: Iterable[int] | None,
    criterion_ids: Iterable[int],
    scopes: Iterable[str],
    date_from: datetime.date,
    date_to: datetime.date,
) -> list[CellChange]:
    """The cells whose effective value differs between ``date_from`` and ``date_to``
    (``date_from`` ≤ ``date_to``), ordered by jurisdiction code, criterion and scope. Reads the
    spans that hold at some day of ``[date_from, date_to]``: one query."""
    spans = panel(jurisdiction_ids, criterion_ids, scopes).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gt=date_from),
        Q(valid_from__isnull=True) | Q(valid_from__lte=date_to),
    )
    result: list[CellChange] = []
    cell_key, cell_spans = None, []

    def close():
        if not cell_spans:
            return
        first = next(s for s in cell_spans if _holds_on(s, date_from))
        last = next(s for s in cell_spans if _holds_on(s, date_to))
        if first.value == last.value:
            return
        change = CellChange(
            first.jurisdiction.code, first.jurisdiction.name, first.criterion.slug, first.scope,
            first.value, last.value,
        )
        for before, after in zip(cell_spans, cell_spans[1:]):
            if before.value != after.value:
                change.changes.append({
                    "date": after.valid_from.isoformat(),
                    "from": before.value,
                    "to": after.value,
                    "approximate": after.approximate,
                    "deciding": list(after.deciding),
                    "pending": list(after.pending),
                    "caused_by": ordered_causes(after.caused_by),
                })
        result.append(change)

    for span in spans:
        key = (span.jurisdiction_id, span.criterion_id, span.scope)
        if key != cell_key:
            close()
            cell_key, cell_spans = key, []
        cell_spans.append(span)
    close()
    return result


def yes_over_time(
    jurisdiction_ids: Iterable[int] | None, criterion_id: int, scope: str
) -> list[tuple[datetime.date | None, int]]:
    """How many of the chosen jurisdictions answer ``yes`` for the criterion, from each date on:
    ``[(date, count), ...]`` oldest first, the first date None ("before any step") — a step
    function with one point per change of the count. One query."""
    spans = panel(jurisdiction_ids, [criterion_id], [scope]).filter(
        value=EffectiveValue.YES
    ).values_list("valid_from", "valid_to")
    delta: dict[datetime.date | None, int] = {}
    for start, end in spans:
        delta[start] = delta.get(start, 0) + 1
        if end is not None:
            delta[end] = delta.get(end, 0) - 1
    points, count = [], delta.pop(None, 0)
    points.append((None, count))
    for day in sorted(delta):
        if delta[day] == 0:
            continue
        count += delta[day]
        points.append((day, count))
    return points


def count_on(points: list[tuple[datetime.date | None, int]], day: datetime.date) -> int:
    """The count of :func:`yes_over_time` on ``day``."""
    count = 0
    for start, value in points:
        if start is None or start <= day:
            count = value
    return count
