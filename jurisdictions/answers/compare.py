"""Compare: the effective value of each chosen jurisdiction for each chosen criterion as of a
date (DOMAIN.md, "Effective coverage and gaps"), each cell naming the instruments that decide
it with their sources.

Served by ``/api/v1/compare/`` (JSON and CSV), ``/compare/`` (the matrix and its CSV), a
jurisdiction's coverage table on ``/jurisdictions/{code}/`` and the countries of ``/map/``.

- :class:`CompareParams`: the API's parameters (the pages read the same names through
  :mod:`jurisdictions.pages.params`); both give a :class:`Question`.
- :func:`build`: the :class:`Comparison`; ``compact=True`` reads it from the coverage spans
  (``spans.read``) for the API's compact shape (``shape=compact``), which names each cell's
  deciding and pending instruments and cites sources by key, without the bloc obligations and
  the assessments not yet commenced.
- :data:`LONG_COLUMNS` and :func:`wide_columns`: the CSV, one line per cell or one line per
  jurisdiction (``layout=wide``).
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from django import forms

from spans.read import coverage_at

from ..csvfile import Column
from ..filtersets import KeyListField
from ..models import Criterion, Jurisdiction
from ..selection import SELECTION_PARAMETERS
from .base import Cell, Links, Place, SelectionParams, primary_source_columns

LAYOUTS = ("long", "wide")
# The API's JSON shapes: ``full`` (every decider in full in every cell) or ``compact`` (cells
# name instruments by slug and sources by key, each described once per answer).
SHAPES = ("full", "compact")


def default_criteria() -> list[Criterion]:
    """Every criterion not retired, in the codebook's order."""
    return list(Criterion.objects.filter(retired=False))


@dataclass(frozen=True)
class Question:
    """What compare is asked: ``jurisdictions`` (in the order to show them), ``criteria`` (in
    order), the date and the scope (``applicable`` or ``own``)."""

    jurisdictions: Sequence[Jurisdiction]
    criteria: Sequence[Criterion]
    as_of: datetime.date
    scope: str


@dataclass(frozen=True)
class Row:
    """One jurisdiction and its cells, in the order of the criteria."""

    jurisdiction: Place
    cells: tuple[Cell, ...]

    def cell(self, criterion: str) -> Cell:
        return next(c for c in self.cells if c.criterion == criterion)


@dataclass(frozen=True)
class Comparison:
    """The answer: ``criteria`` are slugs in order; ``rows`` one per jurisdiction."""

    as_of: datetime.date
    scope: str
    criteria: tuple[str, ...]
    rows: tuple[Row, ...]

    @property
    def totals(self) -> Counter:
        """How many cells have each effective value."""
        return Counter(cell.value for row in self.rows for cell in row.cells)

    def csv_name(self, layout: str = "long") -> str:
        kind = "compare-wide" if layout == "wide" else "compare"
        return f"{kind}-{self.as_of.isoformat()}.csv"


def build(
    question: Question, links: Links, with_sources: bool = True, compact: bool = False
) -> Comparison:
    """The comparison for ``question``: effective values read from the spans
    (``spans.read.coverage_at``: the answer of :func:`coverage.compute`, in a fixed number of
    queries whatever the size), addresses from ``links``. With ``with_sources`` False the
    deciders cite nothing (a cheaper read, for answers that show only values). With
    ``compact`` only what the spans name is read: the same values, deciders and pending
    proposals, and no ``considered``, ``bloc_obligations`` or ``not_commenced`` (None)."""
    criteria = list(question.criteria)
    coverage = coverage_at(
        list(question.jurisdictions), criteria, question.as_of, question.scope,
        with_sources=with_sources, instrument_url=links.instrument, full=not compact,
    )
    rows = tuple(
        Row(
            jurisdiction=Place.of(jurisdiction, links),
            cells=tuple(cells[c.slug] for c in criteria),
        )
        for jurisdiction, cells in coverage.rows()
    )
    return Comparison(
        as_of=coverage.as_of, scope=coverage.scope, criteria=tuple(c.slug for c in criteria),
        rows=rows,
    )


# --- CSV --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Line:
    """One line of the long CSV: a cell with its row and the answer it belongs to."""

    answer: Comparison
    row: Row
    cell: Cell


def long_lines(answer: Comparison):
    return (Line(answer, row, cell) for row in answer.rows for cell in row.cells)


# One line per jurisdiction and criterion (long format: one value per cell).
LONG_COLUMNS = [
    Column("as_of", lambda line: line.answer.as_of.isoformat()),
    Column("scope", "answer.scope"),
    Column("jurisdiction", "row.jurisdiction.code"),
    Column("jurisdiction_name", "row.jurisdiction.name"),
    Column("research_status", "row.jurisdiction.research_status"),
    Column("criterion", "cell.criterion"),
    Column("value", "cell.value"),
    Column("approximate", "cell.approximate"),
    Column("basis", lambda line: line.cell.basis or None),
    Column("verified_on", lambda line: line.cell.verified_on),
    Column("instruments", "cell.instruments.slug"),
    Column("inherited_from", lambda line: line.cell.inherited_from),
    Column("pinpoints", "cell.instruments.pinpoint"),
    Column("sources", lambda line: line.cell.source_urls),
    Column("pending", "cell.pending.slug"),
    Column("bloc_obligations", "cell.bloc_obligations.slug"),
    *primary_source_columns(lambda line: line.cell),
]


def wide_columns(answer: Comparison) -> list[Column]:
    """``layout=wide``: one line per :class:`Row`; for each criterion its value, whether it is
    approximate, its deciding instruments and its primary source's address."""
    columns = [
        Column("as_of", lambda r: answer.as_of.isoformat()),
        Column("scope", lambda r: answer.scope),
        Column("jurisdiction", "jurisdiction.code"),
        Column("jurisdiction_name", "jurisdiction.name"),
        Column("research_status", "jurisdiction.research_status"),
    ]
    for i, slug in enumerate(answer.criteria):
        columns += [
            Column(slug, lambda r, i=i: r.cells[i].value),
            Column(f"{slug}_approximate", lambda r, i=i: r.cells[i].approximate),
            Column(f"{slug}_instruments", lambda r, i=i: [d.slug for d in r.cells[i].instruments]),
            Column(f"{slug}_source_url",
                   lambda r, i=i: (r.cells[i].primary_source or {}).get("url")),
        ]
    return columns


def csv_table(answer: Comparison, layout: str = "long") -> tuple[list[Column], object]:
    """The columns and the lines (lazy) of the CSV in ``layout`` (``long`` or ``wide``)."""
    if layout == "wide":
        return wide_columns(answer), answer.rows
    return LONG_COLUMNS, long_lines(answer)


# --- the API's parameters ---------------------------------------------------------------------
class CompareParams(SelectionParams):
    criterion = KeyListField(model=Criterion, noun="criterion", required=False)
    layout = forms.ChoiceField(
        choices=[(v, v) for v in LAYOUTS], required=False,
        error_messages={"invalid_choice": "%(value)r is not one of: long, wide."},
    )
    shape = forms.ChoiceField(
        choices=[(v, v) for v in SHAPES], required=False,
        error_messages={"invalid_choice": "%(value)r is not one of: full, compact."},
    )
    criteria = KeyListField(
        model=Criterion, noun="criterion", required=False,
        help_text="The former name of criterion, still accepted so that old links keep working.",
    )

    def clean(self):
        cleaned = super().clean()
        if self.data.get("criterion") and self.data.get("criteria"):
            self.add_error(
                "criteria", "criteria is the former name of criterion: give one of them."
            )
        elif cleaned.get("criteria"):
            cleaned["criterion"] = cleaned["criteria"]
        if not self.selection.narrowed and not any(
            self.has_error(name) for name in SELECTION_PARAMETERS
        ):
            self.add_error(
                "jurisdictions",
                "Required: give jurisdictions (codes, comma-separated), a bloc, a group, within, "
                "a region or a kind. compare does not answer for the whole table.",
            )
        return cleaned

    def question(self) -> Question:
        """The cleaned parameters as a :class:`Question` (call after ``is_valid()``)."""
        data = self.cleaned_data
        if data.get("criterion"):
            by_slug = {c.slug: c for c in Criterion.objects.filter(slug__in=data["criterion"])}
            criteria = [by_slug[s] for s in data["criterion"]]
        else:
            criteria = default_criteria()
        return Question(self.selected(), criteria, data["as_of"], data["scope"])
