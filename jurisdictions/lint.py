"""The data lint (issue 15): rows that break the rules for trustworthy answers.

The rules (DOMAIN.md, "Dates are facts too", "What counts as law", the codebook; also
``research/README.md``) are pure functions over plain rows, each returning :class:`Finding`
values that name the offending row; :func:`lint` reads the database in a fixed number of queries
and runs them all. ``manage.py data_report --check`` prints the findings and fails when there is
any; ``data_report`` shows their counts per rule.

Rules (slug: what it finds):

- ``on_or_before_on_compile_date``: a step dated ``on_or_before`` a research file's compile date
  (``Jurisdiction.research_compiled_on``): the date of the research is not a fact about the law.
- ``on_or_before_on_load_date``: a step dated ``on_or_before`` the day its row was created.
- ``on_or_before_without_note``: a step dated ``on_or_before`` without a ``date_note`` saying
  what was searched for its real date.
- ``adopted_law_not_in_force``: a law (``choices.ADOPTED_LAW_TYPES``) adopted more than two
  years ago with no ``in_force``/``partially_in_force`` step and no ``status_note``.
- ``steps_out_of_life_order``: a step dated after a step of a later phase of the instrument's
  life (bill stages < adopted < in force < ends: repealed, lapsed, …); steps within one phase may
  come in any order (a bill passes one chamber, then goes to the other's committee).
- ``duplicate_step_description``: two steps of one instrument with the same description.
- ``source_without_title_or_publisher``.
- ``retired_instrument_type``: an instrument of a retired type (``court_decision``) still present.
- ``assessment_without_basis``.
- ``ai_generated_explicit_not_text``: an ``ai_generated_explicit`` assessment whose basis is not
  ``text`` (that criterion reads the text alone).
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from .choices import (
    ADOPTED_LAW_TYPES,
    APPLYING_STATUSES,
    PENDING_STATUSES,
    RETIRED_INSTRUMENT_TYPES,
    TEXT_ONLY_CRITERION,
    AssessmentBasis,
    DatePrecision,
    Status,
)

RULES = {
    "on_or_before_on_compile_date": "on_or_before step dated on a research file's compile date",
    "on_or_before_on_load_date": "on_or_before step dated on the day its row was loaded",
    "on_or_before_without_note": "on_or_before step without a date_note (what was searched)",
    "adopted_law_not_in_force": "law adopted over two years ago, no in-force step, no status_note",
    "steps_out_of_life_order": "step dated after a step of a later phase of the instrument's life",
    "duplicate_step_description": "two steps of one instrument with the same description",
    "source_without_title_or_publisher": "source with no title or no publisher",
    "retired_instrument_type": "instrument of a retired type (court_decision) still present",
    "assessment_without_basis": "assessment without a basis",
    "ai_generated_explicit_not_text": "ai_generated_explicit assessed on a basis other than text",
}

# The phases of an instrument's life, for the order of its steps.
_BILL, _ADOPTED, _APPLYING, _ENDED = 0, 1, 2, 3


def _phase(status: str) -> int:
    if status == Status.ADOPTED:
        return _ADOPTED
    if status in PENDING_STATUSES:
        return _BILL
    if status in APPLYING_STATUSES:
        return _APPLYING
    return _ENDED


@dataclass(frozen=True)
class Finding:
    """One offending row: ``rule`` (a slug of :data:`RULES`), ``row`` (how to find it: the kind
    of row and its public key) and ``detail`` (what is wrong with it)."""

    rule: str
    row: str
    detail: str

    def line(self) -> str:
        return f"{self.rule}: {self.row} — {self.detail}"


@dataclass(frozen=True)
class StepRow:
    """A status event as the lint reads it. ``created_on`` is the date its row was created."""

    pk: int
    instrument: str  # the instrument's slug
    status: str
    date: datetime.date
    date_precision: str
    date_note: str = ""
    description: str = ""
    created_on: datetime.date | None = None

    @property
    def label(self) -> str:
        return f"step {self.instrument} {self.status} {self.date.isoformat()} ({self.date_precision})"


@dataclass(frozen=True)
class InstrumentRow:
    slug: str
    instrument_type: str
    status_note: str = ""


@dataclass(frozen=True)
class SourceRow:
    url: str
    title: str
    publisher: str


@dataclass(frozen=True)
class AssessmentRow:
    instrument: str  # slug
    criterion: str  # slug
    basis: str

    @property
    def label(self) -> str:
        return f"assessment {self.instrument} {self.criterion}"


# --- the rules (pure) ------------------------------------------------------------------------
def check_step_dates(
    steps: Iterable[StepRow], compile_dates: Iterable[datetime.date]
) -> list[Finding]:
    """The three rules of ``on_or_before`` steps: not on a compile date, not on the row's load
    date, and with a ``date_note``."""
    compiled = set(compile_dates)
    findings = []
    for step in steps:
        if step.date_precision != DatePrecision.ON_OR_BEFORE:
            continue
        if step.date in compiled:
            findings.append(Finding(
                "on_or_before_on_compile_date", step.label,
                f"{step.date.isoformat()} is the date a research file was compiled",
            ))
        if step.created_on is not None and step.date == step.created_on:
            findings.append(Finding(
                "on_or_before_on_load_date", step.label,
                f"{step.date.isoformat()} is the day the row was loaded",
            ))
        if not step.date_note.strip():
            findings.append(Finding(
                "on_or_before_without_note", step.label,
                "say in date_note what was searched for the real date",
            ))
    return findings


def two_years_before(today: datetime.date) -> datetime.date:
    """The same day two years earlier (28 February for 29 February)."""
    try:
        return today.replace(year=today.year - 2)
    except ValueError:
        return today.replace(year=today.year - 2, day=28)


def check_instrument_lives(
    instruments: Iterable[InstrumentRow],
    steps: Iterable[StepRow],
    today: datetime.date,
) -> list[Finding]:
    """Per instrument: a retired type, an adopted law never put in force, steps out of life
    order, two steps with one description."""
    by_instrument: dict[str, list[StepRow]] = defaultdict(list)
    for step in steps:
        by_instrument[step.instrument].append(step)
    limit = two_years_before(today)
    findings = []
    for instrument in instruments:
        own = sorted(by_instrument.get(instrument.slug, []), key=lambda s: (s.date, _phase(s.status), s.pk))
        row = f"instrument {instrument.slug}"
        if instrument.instrument_type in RETIRED_INSTRUMENT_TYPES:
            findings.append(Finding(
                "retired_instrument_type", row,
                f"type {instrument.instrument_type} is retired: record the judgment as a "
                "court_ruling event and the provision it read with basis court_reading",
            ))
        adopted = [s for s in own if s.status == Status.ADOPTED]
        if (
            instrument.instrument_type in ADOPTED_LAW_TYPES
            and adopted
            and adopted[0].date < limit
            and not any(s.status in APPLYING_STATUSES for s in own)
            and not instrument.status_note.strip()
        ):
            findings.append(Finding(
                "adopted_law_not_in_force", row,
                f"adopted {adopted[0].date.isoformat()}, no in_force step and no status_note",
            ))
        latest = None
        for step in own:
            if latest is not None and _phase(step.status) < _phase(latest.status):
                findings.append(Finding(
                    "steps_out_of_life_order", step.label,
                    f"dated after {latest.status} ({latest.date.isoformat()})",
                ))
            elif latest is None or _phase(step.status) >= _phase(latest.status):
                latest = step
        seen: dict[str, StepRow] = {}
        for step in own:
            key = " ".join(step.description.split()).casefold()
            if key in seen:
                what = f"{step.description[:80]!r}" if key else "neither has a description"
                findings.append(Finding(
                    "duplicate_step_description", step.label,
                    f"same description as {seen[key].status} {seen[key].date.isoformat()}: "
                    f"{what}",
                ))
            else:
                seen[key] = step
    return findings


def check_sources(sources: Iterable[SourceRow]) -> list[Finding]:
    """Every source has a title and a publisher."""
    findings = []
    for source in sources:
        missing = [name for name in ("title", "publisher") if not getattr(source, name).strip()]
        if missing:
            findings.append(Finding(
                "source_without_title_or_publisher", f"source {source.url}",
                "no " + " and no ".join(missing),
            ))
    return findings


def check_assessments(assessments: Iterable[AssessmentRow]) -> list[Finding]:
    """Every assessment has a basis; ``ai_generated_explicit`` rests on the text alone."""
    findings = []
    for assessment in assessments:
        if not assessment.basis:
            findings.append(Finding(
                "assessment_without_basis", assessment.label,
                "basis is one of " + ", ".join(AssessmentBasis.values),
            ))
        elif assessment.criterion == TEXT_ONLY_CRITERION and assessment.basis != AssessmentBasis.TEXT:
            findings.append(Finding(
                "ai_generated_explicit_not_text", assessment.label,
                f"basis {assessment.basis}: this criterion reads the text alone",
            ))
    return findings


def counts(findings: Iterable[Finding]) -> dict[str, int]:
    """{rule: number of findings} for every rule, zeros included, in the order of RULES."""
    found = Counter(f.rule for f in findings)
    return {rule: found.get(rule, 0) for rule in RULES}


# --- reading the database (five queries) ------------------------------------------------------
def lint(today: datetime.date | None = None) -> list[Finding]:
    """Every finding on the stored data, rule by rule, in a stable order. ``today`` (default:
    the current UTC date) dates the two-year rule."""
    from .clock import today as utc_today
    from .models import Assessment, Instrument, Jurisdiction, Source, StatusEvent

    today = today or utc_today()
    compile_dates = set(
        Jurisdiction.objects.filter(research_compiled_on__isnull=False)
        .order_by()
        .values_list("research_compiled_on", flat=True)
        .distinct()
    )
    steps = [
        StepRow(pk, slug, status, date, precision, note, description, created.date())
        for pk, slug, status, date, precision, note, description, created in StatusEvent.objects
        .order_by("instrument__slug", "date", "pk")
        .values_list(
            "pk", "instrument__slug", "status", "date", "date_precision", "date_note",
            "description", "created_at",
        )
    ]
    instruments = [
        InstrumentRow(*row)
        for row in Instrument.objects.order_by("slug").values_list(
            "slug", "instrument_type", "status_note"
        )
    ]
    sources = [SourceRow(*row) for row in Source.objects.order_by("url").values_list(
        "url", "title", "publisher"
    )]
    assessments = [
        AssessmentRow(*row)
        for row in Assessment.objects.order_by("instrument__slug", "criterion__slug").values_list(
            "instrument__slug", "criterion__slug", "basis"
        )
    ]
    return [
        *check_step_dates(steps, compile_dates),
        *check_instrument_lives(instruments, steps, today),
        *check_sources(sources),
        *check_assessments(assessments),
    ]
