"""A deterministic, world-sized synthetic dataset for performance work (issue 6).

Synthetic rows sit on top of the real reference data (every ISO 3166-1 country and ISO 3166-2
subdivision from pycountry, the EU, UN and COE, the default criteria) and are recognisable:

- instrument slugs start with ``syn-``; source URLs are ``https://example.org/syn/…``;
  identifiers start with ``SYN-``; summaries and notes say "[synthetic]";
- a jurisdiction whose research status the generator sets carries the research note
  :data:`JURISDICTION_NOTE` (only jurisdictions still ``not_researched`` with no notes are
  touched, so real research is never overwritten).

Nothing here is real law and none of it belongs in ``fixtures/``.

Shape, per instrument (averages): 4 status events in life order, one assessment for each of the
nine default criteria, two sources (one official, one secondary) and citations so that every
instrument, status event and assessment cites a source. Scales (:data:`SCALES`) are given as a
number of instruments: ``large`` is 100,000 instruments, ~400,000 status events, 900,000
assessments and 200,000 sources.

Determinism: the same seed, the same instrument count and the same reference data give the same
rows (every value comes from one ``random.Random(seed)`` and the jurisdictions in code order).
Only the timestamps (``created_at``, ``updated_at``, history dates) and primary keys may differ.

Loading is in bulk (``bulk_create`` in chunks) and bypasses ``save()``, so the generator calls
each model's ``clean()`` itself (it validates and fills ``search_text`` with
``fold_for_search``) and writes the historical rows in bulk, copying each new row into its
history table inside the database (:func:`_history_copy`; what ``bulk_create_with_history``
records, faster), so that every synthetic write has its history record, as the legal data rule
asks.
"""

from __future__ import annotations

import datetime
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from . import reference
from .choices import (
    STATUS_SEQUENCE,
    AssessmentValue,
    Confidence,
    DatePrecision,
    IdentifierScheme,
    InstrumentType,
    JurisdictionKind,
    ResearchStatus,
    SourceKind,
    Status,
)
from .models import (
    Assessment,
    AssessmentSource,
    Criterion,
    Identifier,
    Instrument,
    InstrumentAmendment,
    InstrumentSource,
    Jurisdiction,
    Source,
    StatusEvent,
    StatusEventSource,
)

from spans.maintain import rebuild as rebuild_spans  # noqa: E402  (issue 12)

SEED = 20261129
SLUG_PREFIX = "syn-"
URL_BASE = "https://example.org/syn/"
CHANGE_REASON = "synthetic data (manage.py seed_synthetic)"
JURISDICTION_NOTE = "[synthetic] research status set by manage.py seed_synthetic; not real research."

# Instruments per scale. The other tables follow from the per-instrument shape (module docstring).
SCALES = {"tiny": 40, "small": 1_000, "medium": 10_000, "large": 100_000}

# Instruments generated, then written, per chunk: bounds memory whatever the scale.
CHUNK = 1_000

# Dates of first steps fall in this window; later steps follow at intervals (future steps exist,
# as in real data: a commencement date set by the act itself).
FIRST_STEP_FROM = datetime.date(1998, 1, 1)
FIRST_STEP_TO = datetime.date(2026, 6, 30)
ACCESSED_ON = datetime.date(2026, 10, 1)

S = Status
# Life paths: (name, weight, steps, instrument types). Weighted so that the mean is ~4 steps.
PATHS: tuple[tuple[str, int, tuple[str, ...], tuple[str, ...]], ...] = (
    ("enacted", 30, (S.INTRODUCED, S.IN_COMMITTEE, S.PASSED_CHAMBER, S.ADOPTED, S.IN_FORCE),
     ("statute", "amendment", "statute")),
    ("bicameral", 10, (S.INTRODUCED, S.IN_COMMITTEE, S.PASSED_CHAMBER, S.IN_COMMITTEE,
                       S.PASSED_CHAMBER, S.ADOPTED, S.IN_FORCE), ("statute", "amendment")),
    ("commenced_in_parts", 8, (S.INTRODUCED, S.PASSED_CHAMBER, S.ADOPTED,
                               S.PARTIALLY_IN_FORCE, S.IN_FORCE), ("statute", "regulation")),
    ("repealed", 5, (S.INTRODUCED, S.PASSED_CHAMBER, S.ADOPTED, S.IN_FORCE, S.REPEALED),
     ("statute", "code_provision")),
    ("superseded", 4, (S.INTRODUCED, S.ADOPTED, S.IN_FORCE, S.SUPERSEDED),
     ("statute", "regulation")),
    ("struck_down", 2, (S.INTRODUCED, S.ADOPTED, S.IN_FORCE, S.STRUCK_DOWN), ("statute",)),
    ("in_committee", 14, (S.INTRODUCED, S.IN_COMMITTEE), ("bill",)),
    ("passed_one_chamber", 8, (S.INTRODUCED, S.IN_COMMITTEE, S.PASSED_CHAMBER), ("bill",)),
    ("adopted_not_in_force", 4, (S.INTRODUCED, S.PASSED_CHAMBER, S.ADOPTED),
     ("statute", "amendment")),
    ("lapsed", 12, (S.INTRODUCED, S.IN_COMMITTEE, S.LAPSED), ("bill",)),
    ("vetoed", 3, (S.INTRODUCED, S.PASSED_CHAMBER, S.VETOED), ("bill",)),
    ("withdrawn", 4, (S.INTRODUCED, S.WITHDRAWN), ("bill", "proposal")),
    # Court decisions are not instruments any more (issue 15): statutes took their place.
    ("in_force_only", 3, (S.IN_FORCE,), ("statute", "code_provision")),
)
del S

# Date precision of a step: mostly to the day, as sources usually give it.
PRECISIONS = (
    (DatePrecision.DAY, 78),
    (DatePrecision.MONTH, 12),
    (DatePrecision.YEAR, 5),
    (DatePrecision.ON_OR_BEFORE, 5),
)

# Research status mix (weights): (reviewed, in_progress, not_researched).
RESEARCH_MIX = {
    "country": (55, 20, 25),
    "us_state": (70, 15, 15),
    "subdivision": (8, 7, 85),
    "other": (100, 0, 0),  # EU, UN, COE
}

# Instruments land on jurisdictions in proportion to these weights.
WEIGHTS = {"EU": 200, "UN": 5, "COE": 5, "US": 100, "country": 20, "us_state": 25, "subdivision": 1}

SUBJECTS = (
    "Online Safety", "Child Protection", "Synthetic Media", "Digital Services",
    "Image-Based Abuse", "Artificial Intelligence", "Obscene Publications", "Cybercrime",
    "Children's Rights", "Criminal Justice", "Deepfake Imagery", "Sexual Offences",
)
TITLE_FORMS = {
    "statute": "{subject} Act {year}",
    "amendment": "{subject} (Amendment) Act {year}",
    "bill": "{subject} Bill {year}",
    "proposal": "Proposal for a Law on {subject} ({year})",
    "directive": "Directive on {subject} ({year})",
    "regulation": "Regulation on {subject} ({year})",
    "code_provision": "Criminal Code, {subject} provisions ({year})",
    "court_decision": "Judgment on {subject} ({year})",
    "treaty": "Convention on {subject} ({year})",
}
SHORT_FORMS = {
    "statute": "Act {n}", "amendment": "Amdt {n}", "bill": "Bill {n}", "proposal": "Prop {n}",
    "directive": "Dir {n}", "regulation": "Reg {n}", "code_provision": "Code s. {n}",
    "court_decision": "Case {n}", "treaty": "CETS {n}",
}
# Original-language titles, accented on purpose: search must fold them ("Loi relative a…").
ORIGINAL_TITLES = {
    "fr": "Loi relative à la protection des mineurs en ligne ({year})",
    "de": "Gesetz zur Änderung des Strafgesetzbuches – Schutz von Kindern ({year})",
    "es": "Ley orgánica de protección integral de la infancia ({year})",
    "pt": "Lei de proteção de crianças e adolescentes no ambiente digital ({year})",
    "it": "Legge sulla tutela dei minori e i contenuti sintetici ({year})",
    "pl": "Ustawa o zmianie ustawy – Kodeks karny ({year})",
    "ko": "아동·청소년의 성보호에 관한 법률 일부개정법률 ({year})",
    "ja": "児童ポルノ禁止法の一部を改正する法律 ({year})",
}
LANGUAGE_OF_COUNTRY = {
    "FR": "fr", "BE": "fr", "LU": "fr", "SN": "fr", "CI": "fr",
    "DE": "de", "AT": "de", "CH": "de",
    "ES": "es", "MX": "es", "AR": "es", "CO": "es", "CL": "es", "PE": "es",
    "PT": "pt", "BR": "pt", "IT": "it", "PL": "pl", "KR": "ko", "JP": "ja",
}
SECONDARY_PUBLISHERS = (
    ("Synthetic Child Safety Network", SourceKind.NGO),
    ("The Synthetic Courier", SourceKind.NEWS),
    ("Journal of Synthetic Law Review", SourceKind.ACADEMIC),
    ("Example Policy Institute", SourceKind.NGO),
    ("Example Daily", SourceKind.NEWS),
)
PRIMARY_KIND = {
    "bill": SourceKind.LEGISLATURE, "proposal": SourceKind.GOVERNMENT,
    "court_decision": SourceKind.COURT, "regulation": SourceKind.GOVERNMENT,
}
NOTES = (
    "The offence covers images 'whether or not made by electronic means'.",
    "Definition of 'child' extended to apparent minors.",
    "Commencement left to ministerial order.",
    "Platform duties apply only to designated services.",
    "Explicit reference to computer-generated imagery.",
)


@dataclass
class JurisdictionRow:
    """What the generator needs of a jurisdiction: primary key, code, kind and parent code."""

    pk: int
    code: str
    kind: str
    parent_code: str | None


@dataclass
class Chunk:
    """Unsaved model instances for a run of instruments, linked to one another by object (the
    loader writes them parents first, so foreign keys resolve to the new primary keys)."""

    sources: list[Source] = field(default_factory=list)
    instruments: list[Instrument] = field(default_factory=list)
    identifiers: list[Identifier] = field(default_factory=list)
    amendments: list[InstrumentAmendment] = field(default_factory=list)
    instrument_sources: list[InstrumentSource] = field(default_factory=list)
    events: list[StatusEvent] = field(default_factory=list)
    event_sources: list[StatusEventSource] = field(default_factory=list)
    assessments: list[Assessment] = field(default_factory=list)
    assessment_sources: list[AssessmentSource] = field(default_factory=list)

    # Write order: every row after the rows it points to.
    ORDER = (
        "sources", "instruments", "identifiers", "amendments", "instrument_sources", "events",
        "event_sources", "assessments", "assessment_sources",
    )

    def groups(self):
        return [(name, getattr(self, name)) for name in self.ORDER]


def _country_of(row: JurisdictionRow) -> str:
    return row.code.split("-")[0]


def _weight(row: JurisdictionRow) -> int:
    if row.code in WEIGHTS:
        return WEIGHTS[row.code]
    if row.kind == JurisdictionKind.SUBDIVISION:
        return WEIGHTS["us_state"] if row.parent_code == "US" else WEIGHTS["subdivision"]
    if row.kind == JurisdictionKind.COUNTRY:
        return WEIGHTS["country"]
    return 1


def _mix(row: JurisdictionRow) -> tuple[int, int, int]:
    if row.kind == JurisdictionKind.COUNTRY:
        return RESEARCH_MIX["country"]
    if row.kind == JurisdictionKind.SUBDIVISION:
        return RESEARCH_MIX["us_state" if row.parent_code == "US" else "subdivision"]
    return RESEARCH_MIX["other"]


def _random_date(rng: random.Random, start: datetime.date, end: datetime.date) -> datetime.date:
    return start + datetime.timedelta(days=rng.randint(0, (end - start).days))


def _normalise(date: datetime.date, precision: str) -> datetime.date:
    """A month date is stored as the 1st of the month, a year date as 1 January (DOMAIN.md)."""
    if precision == DatePrecision.MONTH:
        return date.replace(day=1)
    if precision == DatePrecision.YEAR:
        return date.replace(month=1, day=1)
    return date


class Generator:
    """Builds the synthetic rows, chunk by chunk, from one seeded random stream.

    ``jurisdictions``: every jurisdiction that may hold instruments (:class:`JurisdictionRow`,
    in code order); ``criteria``: ``{slug: Criterion}`` for the default criteria;
    ``instruments``: how many instruments in all. Reads no database.
    """

    def __init__(self, jurisdictions: list[JurisdictionRow], criteria: dict[str, Criterion],
                 instruments: int, seed: int = SEED):
        self.rng = random.Random(seed)
        self.jurisdictions = jurisdictions
        self.criteria = [criteria[spec.slug] for spec in reference.DEFAULT_CRITERIA]
        self.total = instruments
        self._cum_weights = []
        running = 0
        for row in jurisdictions:
            running += _weight(row)
            self._cum_weights.append(running)
        self._path_weights = [w for _, w, _, _ in PATHS]
        self._precisions = [p for p, _ in PRECISIONS]
        self._precision_weights = [w for _, w in PRECISIONS]
        # The latest statute of each jurisdiction: what the next amendment there amends.
        self._amendable: dict[int, Instrument] = {}

    def research_statuses(self) -> list[tuple[int, str, datetime.date | None]]:
        """``[(jurisdiction pk, research status, last reviewed on)]`` for every jurisdiction,
        drawn from :data:`RESEARCH_MIX` (the loader applies them only where nobody has)."""
        rng = random.Random(self.rng.random())
        out = []
        for row in self.jurisdictions:
            status = rng.choices(
                (ResearchStatus.REVIEWED, ResearchStatus.IN_PROGRESS,
                 ResearchStatus.NOT_RESEARCHED),
                weights=_mix(row),
            )[0]
            reviewed = (
                _random_date(rng, datetime.date(2024, 1, 1), datetime.date(2026, 9, 30))
                if status == ResearchStatus.REVIEWED else None
            )
            out.append((row.pk, str(status), reviewed))
        return out

    def chunks(self, size: int = CHUNK) -> Iterator[Chunk]:
        """Yield :class:`Chunk` objects of up to ``size`` instruments until ``instruments``."""
        for start in range(0, self.total, size):
            chunk = Chunk()
            for n in range(start, min(start + size, self.total)):
                self._instrument(n, chunk)
            yield chunk

    # --- one instrument and everything hanging from it --------------------------------------
    def _instrument(self, n: int, chunk: Chunk) -> None:
        rng = self.rng
        where = rng.choices(self.jurisdictions, cum_weights=self._cum_weights)[0]
        _name, _w, steps, types = rng.choices(PATHS, weights=self._path_weights)[0]
        if where.kind == JurisdictionKind.INTERNATIONAL:
            instrument_type = InstrumentType.TREATY
        elif where.kind == JurisdictionKind.SUPRANATIONAL:
            instrument_type = (
                InstrumentType.PROPOSAL if types[0] in ("bill", "proposal")
                else rng.choice((InstrumentType.DIRECTIVE, InstrumentType.REGULATION))
            )
        else:
            instrument_type = rng.choice(types)

        dates = self._dates(steps)
        year = dates[0][0].year
        number = rng.randint(1, 4999)
        subject = rng.choice(SUBJECTS)
        language = LANGUAGE_OF_COUNTRY.get(_country_of(where), "en")
        slug = f"{SLUG_PREFIX}{where.code.lower()}-{n:06d}"
        original = (
            ORIGINAL_TITLES[language].format(year=year)
            if language != "en" and rng.random() < 0.8 else ""
        )
        instrument = Instrument(
            jurisdiction_id=where.pk,
            slug=slug,
            instrument_type=instrument_type,
            title=TITLE_FORMS[instrument_type].format(subject=subject, year=year),
            original_title=original,
            original_language=language if original else "",
            short_name=SHORT_FORMS[instrument_type].format(n=number),
            citation=f"SYN {where.code} {year}/{number}",
            official_url=f"{URL_BASE}{where.code.lower()}/{slug}",
            summary=(
                f"[synthetic] A {instrument_type.replace('_', ' ')} on {subject.lower()} in "
                f"{where.code}, generated for performance testing; not real law."
            ),
            max_penalty=(
                f"{rng.randint(1, 15)} years' imprisonment"
                if instrument_type in ("statute", "amendment", "code_provision") else ""
            ),
            confidence=rng.choice(Confidence.values),
            notes="[synthetic] Generated by manage.py seed_synthetic.",
        )
        instrument.clean()
        chunk.instruments.append(instrument)

        official = Source(
            url=f"{URL_BASE}{where.code.lower()}/{slug}/official",
            title=f"{instrument.title} (official text)",
            publisher=f"Synthetic publisher of {where.code}",
            kind=PRIMARY_KIND.get(instrument_type, SourceKind.OFFICIAL),
            published_on=dates[0][0],
            published_precision=DatePrecision.DAY,
            accessed_on=ACCESSED_ON - datetime.timedelta(days=rng.randint(0, 400)),
            archived_url=(
                f"{URL_BASE}archive/{slug}/official" if rng.random() < 0.3 else ""
            ),
            language=language,
        )
        publisher, kind = rng.choice(SECONDARY_PUBLISHERS)
        reported = max(d for d, _ in dates)
        secondary_precision = rng.choice((DatePrecision.DAY, DatePrecision.DAY, DatePrecision.MONTH))
        secondary = Source(
            url=f"{URL_BASE}{where.code.lower()}/{slug}/report",
            title=f"What the {instrument.short_name} changes",
            publisher=publisher,
            kind=kind,
            published_on=_normalise(reported, secondary_precision),
            published_precision=secondary_precision,
            accessed_on=ACCESSED_ON - datetime.timedelta(days=rng.randint(0, 400)),
            language="en",
        )
        for source in (official, secondary):
            source.clean()
            chunk.sources.append(source)
            chunk.instrument_sources.append(InstrumentSource(instrument=instrument, source=source))

        if rng.random() < 0.5:
            chunk.identifiers.append(
                Identifier(instrument=instrument, scheme=IdentifierScheme.NATIONAL,
                           value=f"SYN-{where.code}-{year}-{n:06d}")
            )
        if instrument_type == InstrumentType.AMENDMENT and where.pk in self._amendable:
            chunk.amendments.append(
                InstrumentAmendment(amending=instrument, amended=self._amendable[where.pk])
            )
        if instrument_type in (InstrumentType.STATUTE, InstrumentType.CODE_PROVISION):
            self._amendable[where.pk] = instrument

        in_force_on = None
        for (date, precision), status in zip(dates, steps):
            event = StatusEvent(
                instrument=instrument, status=status, date=date, date_precision=precision,
                description=f"[synthetic] {status.replace('_', ' ')}" if rng.random() < 0.5 else "",
            )
            event.clean()
            chunk.events.append(event)
            # A step known only "on or before" a date is reported by the secondary source.
            cited = secondary if precision == DatePrecision.ON_OR_BEFORE else official
            chunk.event_sources.append(StatusEventSource(status_event=event, source=cited))
            if status in (Status.IN_FORCE, Status.PARTIALLY_IN_FORCE) and in_force_on is None:
                in_force_on = date

        strength = rng.random()  # some laws answer yes to most criteria, some to few
        for criterion in self.criteria:
            draw = rng.random()
            if draw < strength * 0.7:
                value = AssessmentValue.YES
            elif draw < strength * 0.7 + 0.12:
                value = AssessmentValue.PARTIAL
            elif draw < strength * 0.7 + 0.22:
                value = AssessmentValue.UNCLEAR
            else:
                value = AssessmentValue.NO
            commencement = (
                in_force_on + datetime.timedelta(days=rng.randint(180, 720))
                if in_force_on and rng.random() < 0.04 else None
            )
            assessment = Assessment(
                instrument=instrument,
                criterion=criterion,
                value=value,
                pinpoint=f"s. {rng.randint(1, 300)}({rng.randint(1, 9)})",
                note=rng.choice(NOTES) if rng.random() < 0.3 else "",
                commencement_date=commencement,
                verified_on=(
                    _random_date(rng, datetime.date(2022, 1, 1), datetime.date(2026, 10, 31))
                    if rng.random() < 0.75 else None
                ),
            )
            chunk.assessments.append(assessment)
            cited = official if rng.random() < 0.6 else secondary
            chunk.assessment_sources.append(AssessmentSource(assessment=assessment, source=cited))

    def _dates(self, steps: tuple[str, ...]) -> list[tuple[datetime.date, str]]:
        """Dates and precisions for the steps of one life, in life order: each step on or after
        the one before, a same-day step only when it comes later in the vocabulary (adopted and
        in force on one day), and no two steps sharing status, date and precision."""
        rng = self.rng
        # Recent years weigh more (the max of two draws): most such laws are recent.
        first = max(_random_date(rng, FIRST_STEP_FROM, FIRST_STEP_TO) for _ in range(2))
        out: list[tuple[datetime.date, str]] = []
        previous: tuple[datetime.date, str] | None = None
        taken = set()
        raw = first
        for i, status in enumerate(steps):
            if i:
                same_day_ok = STATUS_SEQUENCE[status] > STATUS_SEQUENCE[steps[i - 1]]
                gap = 0 if same_day_ok and rng.random() < 0.1 else rng.randint(7, 240)
                raw = raw + datetime.timedelta(days=gap)
            precision = rng.choices(self._precisions, weights=self._precision_weights)[0]
            date = _normalise(raw, precision)
            if previous is not None:
                earlier = date < previous[0] or (
                    date == previous[0]
                    and STATUS_SEQUENCE[status] <= STATUS_SEQUENCE[steps[i - 1]]
                )
                if earlier:
                    # Rounding down to the month or year would move the step before the one
                    # it follows: keep it to the day.
                    precision, date = DatePrecision.DAY, raw
            if (status, date, precision) in taken:
                precision, date = DatePrecision.DAY, raw
            taken.add((status, date, precision))
            out.append((date, str(precision)))
            previous = (date, status)
        return out


# --- loading ----------------------------------------------------------------------------------
@dataclass
class LoadReport:
    """What a load wrote and how long each part took (seconds, wall clock).

    ``rows``: {table label: rows written}; ``seconds``: {"reference", "generate", "rows",
    "history", "research_status", "total"}.
    """

    instruments: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    skipped: bool = False

    def lines(self) -> list[str]:
        if self.skipped:
            return [f"already loaded: {self.instruments} synthetic instruments; nothing written"]
        total = sum(self.rows.values())
        out = [f"{total:,} rows written ({self.instruments:,} instruments), history included"]
        out += [f"  {name}: {count:,}" for name, count in self.rows.items()]
        out.append("  seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in self.seconds.items()))
        return out


def synthetic_instruments():
    """The synthetic instruments (slug prefix ``syn-``)."""
    return Instrument.objects.filter(slug__startswith=SLUG_PREFIX)


def jurisdiction_rows() -> list[JurisdictionRow]:
    """Every jurisdiction, in code order, as :class:`JurisdictionRow`."""
    return [
        JurisdictionRow(pk, code, kind, parent_code)
        for pk, code, kind, parent_code in Jurisdiction.objects.order_by("code").values_list(
            "pk", "code", "kind", "parent__code"
        )
    ]


def _bulk(model, objs, history: bool, when, report: LoadReport, label: str) -> None:
    if not objs:
        return
    batch = 900 if connection.vendor != "sqlite" else None  # SQLite: Django's own limit
    started = time.perf_counter()
    model.objects.bulk_create(objs, batch_size=batch)
    report.seconds["rows"] += time.perf_counter() - started
    report.rows[label] = report.rows.get(label, 0) + len(objs)
    if history:
        if objs[0].pk is None:
            raise RuntimeError(f"{connection.vendor} did not return primary keys from bulk_create")
        started = time.perf_counter()
        _history_copy(model, objs, when)
        report.seconds["history"] += time.perf_counter() - started
        key = f"{label} (history)"
        report.rows[key] = report.rows.get(key, 0) + len(objs)


def _history_copy(model, objs, when) -> None:
    """Write the "+" historical record of each of ``objs`` (just created) in one statement per
    chunk: ``INSERT INTO <history> SELECT <columns> FROM <table> WHERE id BETWEEN …``.

    Copying the stored row inside the database records exactly what was written (as
    ``bulk_create_with_history`` does, without building a Python object per record, which cost
    more than writing the rows themselves). Falls back to simple_history's
    ``bulk_history_create`` when the new keys are not one contiguous range.
    """
    history_model = model.history.model
    columns = [
        f.column for f in history_model._meta.concrete_fields if not f.name.startswith("history_")
    ]
    low, high = min(o.pk for o in objs), max(o.pk for o in objs)
    if high - low + 1 != len(objs):
        model.history.bulk_history_create(
            objs, batch_size=900, default_change_reason=CHANGE_REASON, default_date=when
        )
        return
    qn = connection.ops.quote_name
    column_list = ", ".join(qn(c) for c in columns)
    sql = (
        f"INSERT INTO {qn(history_model._meta.db_table)} ({column_list}, "
        f"{qn('history_date')}, {qn('history_change_reason')}, {qn('history_type')}, "
        f"{qn('history_user_id')}) "
        f"SELECT {column_list}, %s, %s, %s, NULL FROM {qn(model._meta.db_table)} "
        f"WHERE {qn(model._meta.pk.column)} BETWEEN %s AND %s ORDER BY {qn(model._meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [connection.ops.adapt_datetimefield_value(when), CHANGE_REASON, "+", low, high]
        )
        if cursor.rowcount not in (-1, len(objs)):
            raise RuntimeError(f"history of {model.__name__}: {cursor.rowcount} rows, "
                               f"expected {len(objs)}")


def load(instruments: int, seed: int = SEED, history: bool = True, progress=None) -> LoadReport:
    """Write the synthetic dataset of ``instruments`` instruments on top of the reference data.

    The caller has synced the reference data (``seed.sync_reference(all_subdivisions=True)``)
    and checked that no synthetic rows exist. Runs in one transaction: an interrupted load leaves
    nothing behind. ``history=False`` skips the historical rows (only to measure their cost: a
    real load keeps them). ``progress``: an optional callable taking a line of text.

    Returns a :class:`LoadReport`. Raises ``KeyError`` when a default criterion is missing.
    """
    report = LoadReport(instruments)
    report.seconds = {"generate": 0.0, "rows": 0.0, "history": 0.0, "research_status": 0.0}
    when = timezone.now()
    rows = jurisdiction_rows()
    criteria = {c.slug: c for c in Criterion.objects.all()}
    generator = Generator(rows, criteria, instruments, seed)
    started_all = time.perf_counter()
    with transaction.atomic():
        started = time.perf_counter()
        _apply_research_statuses(generator.research_statuses(), history, when, report)
        report.seconds["research_status"] = time.perf_counter() - started
        done = 0
        chunks = generator.chunks()
        while True:
            started = time.perf_counter()
            chunk = next(chunks, None)
            report.seconds["generate"] += time.perf_counter() - started
            if chunk is None:
                break
            for name, objs in chunk.groups():
                _bulk(type(objs[0]) if objs else None, objs, history, when, report, name)
            done += len(chunk.instruments)
            if progress:
                progress(f"{done:,}/{instruments:,} instruments "
                         f"({time.perf_counter() - started_all:.0f} s)")
        # bulk_create sends no signals: the coverage spans are derived here, in the same
        # transaction (issue 12).
        started = time.perf_counter()
        rebuild_spans()
        report.seconds["spans"] = time.perf_counter() - started
    report.seconds["total"] = time.perf_counter() - started_all
    return report


def _apply_research_statuses(statuses, history: bool, when, report: LoadReport) -> None:
    """Give untouched jurisdictions (not researched, no notes) their synthetic research status."""
    wanted = {pk: (status, reviewed) for pk, status, reviewed in statuses
              if status != ResearchStatus.NOT_RESEARCHED}
    changed = []
    untouched = Jurisdiction.objects.filter(
        research_status=ResearchStatus.NOT_RESEARCHED, research_notes=""
    ).order_by("code")
    for jurisdiction in untouched:
        if jurisdiction.pk not in wanted:
            continue
        jurisdiction.research_status, jurisdiction.last_reviewed_on = wanted[jurisdiction.pk]
        jurisdiction.research_notes = JURISDICTION_NOTE
        jurisdiction.updated_at = when
        jurisdiction.clean()
        changed.append(jurisdiction)
    fields = ["research_status", "last_reviewed_on", "research_notes", "updated_at"]
    Jurisdiction.objects.bulk_update(changed, fields, batch_size=500)
    report.rows["jurisdictions (research status)"] = len(changed)
    if history and changed:
        Jurisdiction.history.bulk_history_create(
            changed, update=True, default_change_reason=CHANGE_REASON, default_date=when
        )
        report.rows["jurisdictions (research status) (history)"] = len(changed)
