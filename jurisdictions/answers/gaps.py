"""Gaps: for one criterion, the researched jurisdictions whose effective value is not ``yes``,
grouped by value with counts; the jurisdictions nobody has researched listed apart
(DOMAIN.md: "A gap for C at D is a researched jurisdiction whose effective value is not yes").

Served by ``/api/v1/gaps/`` (JSON and CSV) and ``/gaps/`` (the page and its CSV).

- :class:`GapsParams`: the API's parameters (the pages read the same names through
  :mod:`jurisdictions.pages.params`); both give a :class:`Question`.
- :func:`build`: the :class:`Gaps`.
- :data:`COLUMNS`: the CSV, one line per listed jurisdiction.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from spans.read import coverage_at

from .. import coverage
from ..coverage import GAP_VALUES
from ..csvfile import Column
from ..filtersets import KeyField
from ..models import Criterion, Jurisdiction
from .base import Cell, Links, Place, SelectionParams, primary_source_columns


@dataclass(frozen=True)
class Question:
    """What gaps is asked: the criterion, the date, the scope, and the jurisdictions to look
    at (None: every jurisdiction except international organisations)."""

    criterion: Criterion
    as_of: datetime.date
    scope: str
    jurisdictions: Sequence[Jurisdiction] | None = None


@dataclass(frozen=True)
class Entry:
    """One jurisdiction and its cell for the criterion."""

    jurisdiction: Place
    cell: Cell

    @property
    def pending(self) -> bool:
        """A proposal that would answer yes is pending."""
        return bool(self.cell.pending)


@dataclass(frozen=True)
class Gaps:
    """The answer. ``groups`` holds every value of ``coverage.GAP_VALUES`` (``none``, ``no``,
    ``unclear``, ``partial``, ``not_researched``), each ordered by code, empty ones included;
    ``counts`` their sizes; ``covered`` the researched jurisdictions answering yes (not gaps);
    ``pending`` the codes of the listed jurisdictions with a pending proposal, sorted."""

    as_of: datetime.date
    scope: str
    criterion: str
    criterion_label: str
    counts: dict[str, int]
    groups: dict[str, tuple[Entry, ...]]
    covered: tuple[Entry, ...]
    pending: tuple[str, ...]

    @property
    def listed(self) -> list[tuple[str, Entry]]:
        """``(group, entry)`` for every listed jurisdiction, group by group."""
        return [(value, entry) for value, entries in self.groups.items() for entry in entries]

    @property
    def csv_name(self) -> str:
        return f"gaps-{self.criterion}-{self.as_of.isoformat()}.csv"


def answer(
    question: Question, instrument_url=None, with_sources: bool = True
) -> dict:
    """What :func:`coverage.gaps` answers for ``question``, its cells read from the spans
    (``spans.read.coverage_at``: a fixed number of queries); ``instrument_url`` gives each
    decider its address, ``with_sources`` False reads no citation (answers that count)."""
    jurisdictions = question.jurisdictions
    if jurisdictions is None:
        jurisdictions = coverage.gap_candidates()
    cells = coverage_at(
        jurisdictions, [question.criterion], question.as_of, question.scope,
        with_sources=with_sources, instrument_url=instrument_url,
    )
    return coverage.gaps_of(cells, question.criterion)


def build(question: Question, links: Links) -> Gaps:
    """The gaps for ``question`` (:func:`answer`), addresses from ``links``."""
    found = answer(question, links.instrument)
    slug = found["criterion"].slug

    def entries(jurisdictions) -> tuple[Entry, ...]:
        return tuple(Entry(Place.of(j, links), found["cells"][j.code]) for j in jurisdictions)

    groups = {value: entries(found["groups"][value]) for value in GAP_VALUES}
    listed = {e.jurisdiction.code for members in groups.values() for e in members}
    return Gaps(
        as_of=found["as_of"],
        scope=found["scope"],
        criterion=slug,
        criterion_label=found["criterion"].label,
        counts=found["counts"],
        groups=groups,
        covered=entries(found["covered"]),
        pending=tuple(sorted(code for code in found["pending"] if code in listed)),
    )


# --- CSV: one line per listed jurisdiction, ``(group, Entry)`` as in Gaps.listed -------------
def columns(answer: Gaps) -> list[Column]:
    return [
        Column("as_of", lambda line: answer.as_of.isoformat()),
        Column("scope", lambda line: answer.scope),
        Column("criterion", lambda line: answer.criterion),
        Column("group", lambda line: line[0]),
        *(Column(name, lambda line, name=name: getattr(line[1].jurisdiction, name))
          for name in ("code", "name", "kind", "research_status")),
        Column("approximate", lambda line: line[1].cell.approximate),
        Column("basis", lambda line: line[1].cell.basis or None),
        Column("verified_on", lambda line: line[1].cell.verified_on),
        Column("pending", lambda line: line[1].pending),
        Column("pending_instruments", lambda line: [d.slug for d in line[1].cell.pending]),
        Column("instruments", lambda line: [d.slug for d in line[1].cell.instruments]),
        *primary_source_columns(lambda line: line[1].cell),
    ]


# --- the API's parameters ---------------------------------------------------------------------
class GapsParams(SelectionParams):
    criterion = KeyField(model=Criterion, noun="criterion", required=True)

    def question(self) -> Question:
        """The cleaned parameters as a :class:`Question` (call after ``is_valid()``)."""
        data = self.cleaned_data
        return Question(data["criterion"], data["as_of"], data["scope"], self.selected())
