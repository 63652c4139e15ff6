"""What a rewrite of a cell's spans means to a follower (issue 14): pure, no database.

A cell's answer on a day is its value and its pending instruments (the approximate flag and the
deciding instruments are not alerts: a second law that also answers ``yes`` changes nothing a
follower acts on). :func:`coverage_change` compares the spans before and after a write, day by
day, and says whether the answer changed today (``current``), only on past days (``retroactive``:
an edit corrected history, e.g. a commencement date moved) or only on future days
(``scheduled``).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from .models import Timing

Span = tuple  # (valid_from | None, valid_to | None, value, pending slugs)
_ONE_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class CoverageChange:
    """``changed_from``/``changed_to``: the first day whose answer differs and the day after
    the last (None: since always / still); ``before``/``after``: the answer on today (current)
    or on the first day that differs, as ``{"value", "pending"}``."""

    timing: str
    changed_from: datetime.date | None
    changed_to: datetime.date | None
    before: dict
    after: dict


def answer_on(spans: tuple[Span, ...], day: datetime.date | None) -> dict | None:
    """The answer of ``spans`` on ``day`` (None: the day before every dated span), or None
    when no span holds it."""
    for valid_from, valid_to, value, pending in spans:
        starts = valid_from is None or (day is not None and valid_from <= day)
        if starts and (valid_to is None or (day is not None and day < valid_to)):
            return {"value": value, "pending": list(pending)}
    return None


def coverage_change(
    before: tuple[Span, ...], after: tuple[Span, ...], today: datetime.date
) -> CoverageChange | None:
    """The change between two versions of one cell's spans over the same dates, or None when
    its answer is the same on every day (a wording fix, a second deciding law)."""
    points = sorted({d for spans in (before, after) for s in spans for d in s[:2] if d})
    # Each piece [start, end) between consecutive points reads one answer in each version.
    pieces = list(zip([None, *points], [*points, None]))
    differing = []
    for start, end in pieces:
        day = start if start is not None else (end - _ONE_DAY if end is not None else today)
        if answer_on(before, day) != answer_on(after, day):
            differing.append((start, end, day))
    if not differing:
        return None
    first, last = differing[0], differing[-1]
    if answer_on(before, today) != answer_on(after, today):
        timing, day = Timing.CURRENT, today
    elif first[1] is not None and first[1] <= today:
        timing, day = Timing.RETROACTIVE, first[2]
    else:
        timing, day = Timing.SCHEDULED, first[2]
    return CoverageChange(
        timing=str(timing), changed_from=first[0], changed_to=last[1],
        before=answer_on(before, day) or {}, after=answer_on(after, day) or {},
    )
