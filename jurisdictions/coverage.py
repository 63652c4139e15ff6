"""Effective coverage and gaps — the core answer of lawtracker.

This module encodes DOMAIN.md, "Effective coverage and gaps — the core answer". For a
jurisdiction J, a criterion C and a date D (``as_of``, a ``datetime.date``):

1. **Status as of D.** An instrument's status as of D is the status of its latest status event
   dated on or before D; events on the same date are ordered by their place in the status
   vocabulary (``choices.STATUS_SEQUENCE``), then by primary key (adopted and in force on one
   day is in force at the end of it). The instrument *applies* at D when that status is
   ``in_force`` or ``partially_in_force`` and is *pending* when it is ``introduced``,
   ``in_committee``, ``passed_chamber`` or ``adopted``.
2. **Which law counts.** Under ``scope="applicable"`` (the default) every instrument applying at
   D in J or in one of J's ancestors (the ``parent`` chain: a country's law applies in its
   states; such deciders are marked ``inherited``). Instruments of blocs (kind
   ``supranational``, the EU) and of international organisations (kind ``international``, UN,
   COE) are never inherited: a directive binds member states to legislate, it is not national
   law. The applying instruments of the blocs J is a member of at D (``BlocMembership``, start
   and end days included) are listed as ``bloc_obligations``: shown, never counted. Under
   ``scope="own"`` only J's own instruments count ("has California legislated?").
   Instruments of a retired type (``court_decision``) never count: a court decision is not law
   here (DOMAIN.md, "What counts as law"); a court's reading reaches a cell only as the
   ``court_reading`` basis of the assessment of the provision it applied.
3. **The value.** The strongest assessment for C among the counted instruments, ranked
   ``yes`` > ``partial`` > ``unclear`` > ``no`` (``choices.VALUE_STRENGTH``); ``none`` when
   there is no applicable assessment. An assessment whose ``commencement_date`` is after D does
   not count yet (its instrument is listed in ``Cell.not_commenced``).
4. **Research status.** When J is ``not_researched`` the value is ``not_researched`` whatever
   was found ("nobody looked yet" is not "no law found"); what was found is still listed in
   ``considered``, ``pending`` and ``bloc_obligations``.
5. **Pending.** Instruments pending at D — J's own and, under ``applicable``, its ancestors'
   (never a bloc's) — whose assessment for C is ``yes``: "a proposal is pending".
6. **Approximate.** See :func:`approximate_as_of`: a step recorded only as ``on_or_before`` a
   date after D, while the step before it (in life order) is dated on or before D or there is
   none, may well have happened before D; the sources only say by when. A cell is approximate
   when one of J's candidate instruments for C has such a step *and* the answer would differ —
   in value or in the pending list — had every such step already happened by D
   (:func:`uncertain_steps_happened`). An uncertain date that cannot change the answer leaves
   it exact.

A **gap** for C at D is a researched jurisdiction (``in_progress`` or ``reviewed``) whose
effective value is not ``yes`` (:func:`gaps`).

Queries: :func:`compute` reads the database in a fixed number of queries whatever the number of
jurisdictions, criteria or instruments (the hierarchy, the memberships, the assessments with
their instruments, the status events, and for each of the two kinds of citations the links, then
the sources they name; without the citations when the caller shows no source), plus one query
for each of ``jurisdictions`` and ``criteria`` given as unevaluated querysets. Everything else is
pure Python over plain values.
"""

from __future__ import annotations

import datetime
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.db.models.expressions import RawSQL

from .choices import (
    APPLYING_STATUSES,
    BASIS_LABELS,
    PENDING_STATUSES,
    RETIRED_INSTRUMENT_TYPES,
    STATUS_LABELS,
    STATUS_SEQUENCE,
    VALUE_STRENGTH,
    AssessmentBasis,
    AssessmentValue,
    DatePrecision,
    EffectiveValue,
    JurisdictionKind,
    ResearchStatus,
    Scope,
    Status,
)
from .models import (
    Assessment,
    AssessmentSource,
    BlocMembership,
    Criterion,
    InstrumentSource,
    Jurisdiction,
    Source,
    StatusEvent,
)

# Kinds whose instruments are never inherited by, nor counted for, another jurisdiction.
NOT_INHERITED_KINDS = frozenset({JurisdictionKind.SUPRANATIONAL, JurisdictionKind.INTERNATIONAL})

# The values a gap can take, in the order the gaps answer lists them (DOMAIN.md, "gaps").
GAP_VALUES = (
    EffectiveValue.NONE.value,
    EffectiveValue.NO.value,
    EffectiveValue.UNCLEAR.value,
    EffectiveValue.PARTIAL.value,
    EffectiveValue.NOT_RESEARCHED.value,
)

# How deep one query follows the parent chain. ISO 3166-2 nests at most three levels
# (GB-GLG -> GB-SCT -> GB); a deeper chain costs one more query per extra four levels.
_ANCESTOR_LOOKUPS = (
    "parent",
    "parent__parent",
    "parent__parent__parent",
    "parent__parent__parent__parent",
)

# Up to this many jurisdiction ids are listed in an IN clause; above it they go as one JSON
# parameter (:func:`among`), which keeps one plan and one parameter whatever their number (an IN
# list of thousands nears SQLite's limit on query parameters). Instruments, assessments and
# citations are never listed by id, but selected by subqueries (see _load_assessments).
_MAX_IN = 500


# --- the answer ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Decider:
    """One instrument's contribution to a cell.

    ``value`` is its assessment for the cell's criterion (``yes``/``partial``/``unclear``/
    ``no``); ``status`` its procedural status as of the date (None before its first event);
    ``inherited`` is True when the instrument belongs to an ancestor of the jurisdiction (federal
    law in a US state) or, for a bloc obligation, reaches it through an ancestor's membership.
    ``sources`` cite the assessment — or, when the assessment cites nothing, the instrument — as
    ``({"url", "title", "publisher", "kind"}, ...)`` in the order they were attached.
    ``commencement_date`` is the assessment's own commencement date (ISO date) or None.
    ``url`` is the instrument's address on the channel that asked (``compute``'s
    ``instrument_url``), or None.
    """

    instrument_id: int
    slug: str
    short_name: str
    title: str
    jurisdiction_code: str
    value: str
    status: str | None
    inherited: bool
    pinpoint: str
    sources: tuple[dict, ...]
    commencement_date: datetime.date | None = None
    basis: str = ""
    verified_on: datetime.date | None = None
    url: str | None = None

    @property
    def jurisdiction(self) -> str:
        """The code of the instrument's jurisdiction."""
        return self.jurisdiction_code

    @property
    def name(self) -> str:
        return self.short_name or self.title

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.status, "no status yet"))


@dataclass(frozen=True)
class Cell:
    """The effective value of one jurisdiction for one criterion at one date.

    - ``value``: one of ``choices.EffectiveValue`` (``yes``, ``partial``, ``unclear``, ``no``,
      ``none``, ``not_researched``).
    - ``approximate``: the answer rests on a step dated only ``on_or_before`` a later date
      (module docstring, rule 6).
    - ``instruments``: the deciders — counted instruments whose assessment equals ``value``
      (empty for ``none`` and ``not_researched``).
    - ``considered``: every counted instrument (applying, assessed for the criterion, assessment
      commenced), strongest first.
    - ``pending``: instruments pending at the date whose assessment is ``yes``.
    - ``bloc_obligations``: applying instruments of the blocs the jurisdiction belongs to at the
      date, with a commenced assessment for the criterion — shown, never counted.
    - ``not_commenced``: applying instruments whose assessment has a commencement date after
      the date — shown, not counted yet.
    - ``criterion``: the criterion's slug.
    """

    value: str
    approximate: bool
    instruments: tuple[Decider, ...]
    considered: tuple[Decider, ...]
    pending: tuple[Decider, ...]
    bloc_obligations: tuple[Decider, ...]
    not_commenced: tuple[Decider, ...] = ()
    criterion: str = ""

    @property
    def decided(self) -> bool:
        return self.decider is not None

    @property
    def basis_label(self) -> str:
        return str(BASIS_LABELS.get(self.basis or "", "basis not recorded"))

    @property
    def inherited_from(self) -> list[str]:
        """The codes of the ancestors whose law decides the value, sorted."""
        return sorted({d.jurisdiction for d in self.instruments if d.inherited})

    @property
    def source_urls(self) -> list[str]:
        """Every source of the deciding instruments, once, in order."""
        return list(dict.fromkeys(s["url"] for d in self.instruments for s in d.sources))

    @property
    def decider(self) -> Decider | None:
        """The deciding assessment's instrument: the first of ``instruments`` (own law before
        inherited law), or None when nothing decides the value."""
        return self.instruments[0] if self.instruments else None

    @property
    def basis(self) -> str | None:
        """What the deciding assessment rests on (``text``, ``court_reading``, …; ``""`` for a
        row loaded before the basis existed), or None when nothing decides the value."""
        return self.decider.basis if self.decider else None

    @property
    def verified_on(self) -> datetime.date | None:
        """When a second reader verified the deciding assessment, or None (never, or nothing
        decides the value)."""
        return self.decider.verified_on if self.decider else None

    @property
    def primary_source(self) -> dict | None:
        """The source to cite for the value: the first official, legislature or government
        source of the deciding instruments (own law first), else their first source; None when
        nothing decides the value or no source is recorded. A source dict has ``url``,
        ``title``, ``publisher``, ``kind`` and ``published_on`` (ISO 8601 or None)."""
        sources = [source for decider in self.instruments for source in decider.sources]
        for source in sources:
            if source["kind"] in PRIMARY_SOURCE_KINDS:
                return source
        return sources[0] if sources else None


# Sources that publish the law itself, preferred when a row names its source.
PRIMARY_SOURCE_KINDS = ("official", "legislature", "government")



class Coverage:
    """Effective values of many jurisdictions for many criteria at one date (see
    :func:`compute`).

    Attributes: ``as_of`` (date), ``scope`` (``applicable`` or ``own``), ``criteria`` (list of
    Criterion, in the order given), ``jurisdictions`` (list of Jurisdiction, in the order given,
    duplicates dropped).
    """

    def __init__(self, as_of, scope, criteria, jurisdictions, cells):
        self.as_of: datetime.date = as_of
        self.scope: str = scope
        self.criteria: list[Criterion] = criteria
        self.jurisdictions: list[Jurisdiction] = jurisdictions
        self._cells: dict[tuple[int, str], Cell] = cells
        self._by_code = {j.code: j for j in jurisdictions}

    def __repr__(self):
        return (
            f"<Coverage as_of={self.as_of.isoformat()} scope={self.scope} "
            f"{len(self.jurisdictions)}x{len(self.criteria)}>"
        )

    def cell(self, jurisdiction: Jurisdiction | str, criterion_slug: str) -> Cell:
        """The cell of ``jurisdiction`` (a Jurisdiction or its code, any case) for the criterion
        ``criterion_slug``.

        Raises ``KeyError`` when the jurisdiction or the criterion was not computed.
        """
        if isinstance(jurisdiction, str):
            found = self._by_code.get(jurisdiction.strip().upper())
            if found is None:
                raise KeyError(jurisdiction)
            jurisdiction = found
        return self._cells[(jurisdiction.pk, criterion_slug)]

    def rows(self) -> list[tuple[Jurisdiction, dict[str, Cell]]]:
        """One row per jurisdiction: ``(jurisdiction, {criterion slug: Cell})``, both in the
        order given to :func:`compute`."""
        return [
            (j, {c.slug: self._cells[(j.pk, c.slug)] for c in self.criteria})
            for j in self.jurisdictions
        ]

    def column(self, criterion_slug: str) -> list[tuple[Jurisdiction, Cell]]:
        """Every jurisdiction's cell for one criterion: ``[(jurisdiction, Cell), ...]``.

        Raises ``KeyError`` when the criterion was not computed.
        """
        return [(j, self._cells[(j.pk, criterion_slug)]) for j in self.jurisdictions]


# --- point-in-time rules on a list of status events (pure) ---------------------------------
class StepLike(Protocol):
    """Anything shaped like a status event: a ``StatusEvent`` or a :class:`Step`."""

    date: datetime.date
    status: str
    date_precision: str
    pk: int | None


class Step(NamedTuple):
    """A status event as plain values."""

    date: datetime.date
    status: str
    date_precision: str
    pk: int | None


def life_order_key(step: StepLike) -> tuple:
    """Sort key of an instrument's life: date, then the step's place in the status vocabulary
    (``choices.STATUS_SEQUENCE``), then primary key."""
    return (step.date, STATUS_SEQUENCE.get(step.status, 0), step.pk or 0)


def step_as_of(steps: Iterable[StepLike], as_of: datetime.date) -> StepLike | None:
    """The latest step dated on or before ``as_of`` (ties broken by life order), or None when
    no step is that old."""
    current = None
    for step in sorted(steps, key=life_order_key):
        if step.date > as_of:
            break
        current = step
    return current


def status_as_of(steps: Iterable[StepLike], as_of: datetime.date) -> str | None:
    """The status of :func:`step_as_of`, or None when no step is that old."""
    step = step_as_of(steps, as_of)
    return step.status if step is not None else None


def approximate_as_of(steps: Iterable[StepLike], as_of: datetime.date) -> bool:
    """True when the status as of ``as_of`` may be wrong because a step is dated only
    ``on_or_before`` a later date.

    A step with precision ``on_or_before`` is stored at the date of the earliest source that
    reports it (DOMAIN.md): it happened on that date *or earlier*. When such a step is dated
    after ``as_of`` and the step before it in life order is dated on or before ``as_of`` (or it
    is the first step), nothing known rules out that it had already happened by ``as_of``.
    When the step before it is itself dated after ``as_of``, the order of the steps rules that
    out, and the answer is exact.
    """
    previous = None
    for step in sorted(steps, key=life_order_key):
        if (
            step.date_precision == DatePrecision.ON_OR_BEFORE
            and step.date > as_of
            and (previous is None or previous.date <= as_of)
        ):
            return True
        previous = step
    return False


def uncertain_steps_happened(steps: Iterable[StepLike], as_of: datetime.date) -> list[Step]:
    """The steps with every uncertain one (see :func:`approximate_as_of`) moved back to
    ``as_of``: the instrument's life had those steps happened by then."""
    ordered = sorted(steps, key=life_order_key)
    result, previous = [], None
    for step in ordered:
        uncertain = (
            step.date_precision == DatePrecision.ON_OR_BEFORE
            and step.date > as_of
            and (previous is None or previous.date <= as_of)
        )
        result.append(
            Step(as_of if uncertain else step.date, step.status, step.date_precision, step.pk)
        )
        previous = step
    return result


# --- loading (a fixed number of queries) ---------------------------------------------------
@dataclass
class _Instrument:
    id: int
    slug: str
    short_name: str
    title: str
    jurisdiction_id: int
    jurisdiction_code: str
    jurisdiction_kind: str
    steps: list[Step] = field(default_factory=list)
    sources: tuple[dict, ...] = ()


@dataclass
class _Assessment:
    id: int
    instrument: _Instrument
    criterion_id: int
    value: str
    pinpoint: str
    commencement_date: datetime.date | None
    basis: str = ""
    verified_on: datetime.date | None = None
    sources: tuple[dict, ...] = ()

    def counts_on(self, as_of: datetime.date) -> bool:
        return self.commencement_date is None or self.commencement_date <= as_of


def among(values: Iterable, integers: bool = False) -> RawSQL:
    """A subquery of ``values`` (strings, or with ``integers`` ids) passed as one JSON
    parameter, for ``field__in=among(...)``: one query plan and one parameter whatever their
    number."""
    data = json.dumps(sorted(values))
    if connection.vendor == "postgresql":
        cast = "::bigint" if integers else ""
        return RawSQL(f"SELECT jsonb_array_elements_text(%s::jsonb){cast}", (data,))
    return RawSQL("SELECT value FROM json_each(%s)", (data,))


def _limit(queryset, lookup: str, ids):
    """Filter ``queryset`` to ``lookup`` in ``ids``: an IN list up to :data:`_MAX_IN` ids, one
    JSON parameter above (:func:`among`)."""
    ids = list(ids)
    if len(ids) <= _MAX_IN:
        return queryset.filter(**{f"{lookup}__in": ids})
    return queryset.filter(**{f"{lookup}__in": among(ids, integers=True)})


def _ancestor_chains(jurisdiction_ids: list[int]) -> dict[int, list[int]]:
    """{jurisdiction id: [parent id, grandparent id, ...]} — one query for chains of up to four
    levels (every ISO 3166-2 chain)."""
    chains: dict[int, list[int]] = {pk: [] for pk in jurisdiction_ids}
    # id to look up -> the jurisdictions whose chain continues from it
    todo: dict[int, list[int]] = {pk: [pk] for pk in jurisdiction_ids}
    while todo:
        rows = _limit(Jurisdiction.objects.order_by(), "pk", todo).values_list(
            "pk", *_ANCESTOR_LOOKUPS
        )
        next_todo: dict[int, list[int]] = defaultdict(list)
        for pk, *parents in rows:
            for owner in todo.get(pk, ()):
                chain = chains[owner]
                for parent in parents:
                    if parent is None or parent == owner or parent in chain:
                        break  # the top, or a cycle in bad data
                    chain.append(parent)
                else:
                    next_todo[chain[-1]].append(owner)  # deeper than one query reaches
        todo = next_todo
    return chains


def _memberships(member_ids: Iterable[int], as_of: datetime.date) -> dict[int, list[int]]:
    """{member id: [bloc id, ...]} for memberships covering ``as_of`` (both ends included)."""
    rows = (
        _limit(BlocMembership.objects.order_by("bloc__code"), "member_id", member_ids)
        .filter(start_date__lte=as_of)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=as_of))
        .values_list("member_id", "bloc_id")
    )
    blocs: dict[int, list[int]] = defaultdict(list)
    for member_id, bloc_id in rows:
        if bloc_id not in blocs[member_id]:
            blocs[member_id].append(bloc_id)
    return blocs


def _source_dict(url, title, publisher, kind, published_on=None) -> dict:
    return {"url": url, "title": title, "publisher": publisher, "kind": kind,
            "published_on": published_on.isoformat() if published_on else None}


def _citations(links, owner: str) -> dict[int, list[dict]]:
    """{owner id: [source dict, ...]} for the citation rows ``links`` (a queryset of a
    citation through-model), in the order they were attached — two queries.

    The links, then the sources they name, each read by its own index: joined in one query,
    SQLite with planner statistics (``ANALYZE``) scans the whole source table probing the
    links per source (bench/FINDINGS.md §3: 2.4 s instead of 0.05 s at the small scale).
    """
    pairs = list(links.order_by("pk").values_list(owner, "source_id"))
    sources = {
        pk: _source_dict(*source)
        for pk, *source in Source.objects.filter(pk__in=links.values("source_id"))
        .order_by()
        .values_list("pk", "url", "title", "publisher", "kind", "published_on")
    }
    cited: dict[int, list[dict]] = defaultdict(list)
    for owner_id, source_id in pairs:
        if source_id in sources:  # not unlinked and deleted between the two reads
            cited[owner_id].append(sources[source_id])
    return cited


def _read_assessments(
    selected, keep: Callable[[int], bool] | None = None
) -> tuple[dict[int, _Instrument], dict[int, _Assessment]]:
    """The assessments of the queryset ``selected`` with their instruments, in one query:
    ``({instrument id: _Instrument}, {assessment id: _Assessment})``, without steps or sources.
    ``keep`` (a jurisdiction id -> bool) drops the rows of other jurisdictions (``selected``
    may read more than needed: :func:`_limit`)."""
    rows = selected.order_by("pk").values_list(
        "pk",
        "criterion_id",
        "value",
        "pinpoint",
        "commencement_date",
        "basis",
        "verified_on",
        "instrument_id",
        "instrument__slug",
        "instrument__short_name",
        "instrument__title",
        "instrument__jurisdiction_id",
        "instrument__jurisdiction__code",
        "instrument__jurisdiction__kind",
    )
    instruments: dict[int, _Instrument] = {}
    assessments: dict[int, _Assessment] = {}
    for (
        pk,
        criterion_id,
        value,
        pinpoint,
        commencement,
        basis,
        verified_on,
        instrument_id,
        slug,
        short_name,
        title,
        jurisdiction_id,
        code,
        kind,
    ) in rows:
        if keep is not None and not keep(jurisdiction_id):
            continue
        instrument = instruments.get(instrument_id)
        if instrument is None:
            instrument = instruments[instrument_id] = _Instrument(
                instrument_id, slug, short_name, title, jurisdiction_id, code, kind
            )
        assessments[pk] = _Assessment(
            pk, instrument, criterion_id, value, pinpoint, commencement, basis, verified_on
        )
    return instruments, assessments


def _read_sources(
    selected, instruments: dict[int, _Instrument], assessments: dict[int, _Assessment]
) -> None:
    """Attach the citations of the assessments of ``selected`` (as read by
    :func:`_read_assessments`) — four queries. An instrument's own citations are read only where
    one of its assessments cites nothing, the one case a cell shows them (``_decider``).

    The citations are selected by subqueries of the assessments' query, so the database keeps
    to the selection with its indexes however many instruments it holds (bench/FINDINGS.md §4).
    """
    uncited = selected.exclude(
        Exists(AssessmentSource.objects.filter(assessment_id=OuterRef("pk")))
    )
    for citations, key, citing in (
        (AssessmentSource.objects.filter(assessment_id__in=selected.values("pk")),
         "assessment_id", assessments),
        (InstrumentSource.objects.filter(instrument_id__in=uncited.values("instrument_id")),
         "instrument_id", instruments),
    ):
        for pk, sources in _citations(citations, key).items():
            if pk in citing:
                citing[pk].sources = tuple(sources)


def law_assessments():
    """Every assessment that can decide a cell: a court decision is not law, so an instrument
    of a retired type never decides one."""
    return Assessment.objects.exclude(instrument__instrument_type__in=RETIRED_INSTRUMENT_TYPES)


def _load_assessments(
    jurisdiction_ids: set[int], criterion_ids: list[int], with_sources: bool = True,
    with_steps: bool = True,
) -> dict[tuple[int, int], list[_Assessment]]:
    """{(jurisdiction id, criterion id): [assessment, ...]} with instruments, (``with_steps``)
    their status events and (``with_sources``) the citations — six queries, two without the
    citations, one fewer without the steps (:func:`_read_assessments`, :func:`_read_steps`,
    :func:`_read_sources`).

    The status events are selected by a subquery of the assessments' query, so the database
    keeps to the selection with its indexes however many instruments it holds
    (bench/FINDINGS.md §4).
    """
    selected = _selected_assessments(jurisdiction_ids, criterion_ids)
    instruments, assessments = _read_assessments(selected, jurisdiction_ids.__contains__)
    if with_steps:
        _read_steps(selected, instruments)

    if with_sources:
        _read_sources(selected, instruments, assessments)

    by_cell: dict[tuple[int, int], list[_Assessment]] = defaultdict(list)
    for assessment in assessments.values():
        by_cell[(assessment.instrument.jurisdiction_id, assessment.criterion_id)].append(
            assessment
        )
    return by_cell


def _selected_assessments(jurisdiction_ids: set[int], criterion_ids: list[int]):
    """The assessments of law of ``jurisdiction_ids`` for ``criterion_ids`` (a queryset; it
    may hold other jurisdictions' rows: :func:`_limit`)."""
    return _limit(
        law_assessments().order_by(), "instrument__jurisdiction_id", jurisdiction_ids
    ).filter(criterion_id__in=criterion_ids)


def _read_steps(selected, instruments: dict[int, _Instrument]) -> None:
    """The steps of the instruments of ``selected``, in life order — one query."""
    events = (
        StatusEvent.objects.filter(instrument_id__in=selected.values("instrument_id"))
        .order_by()
        .values_list("instrument_id", "date", "status", "date_precision", "pk")
    )
    for instrument_id, date, status, precision, pk in events:
        if instrument_id in instruments:
            instruments[instrument_id].steps.append(Step(date, status, precision, pk))
    for instrument in instruments.values():
        instrument.steps.sort(key=life_order_key)


class RulesAt:
    """The three per-instrument rules :func:`compute` gives ``_cell`` (status, whether it is
    approximate, the status had every uncertain step happened) at one date, from the
    instrument's steps, memoised so that jurisdictions sharing instruments (a federal law in
    every state) compute them once. ``spans.read`` gives ``_cell`` the same three read from the
    status spans instead."""

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


# --- the rules (pure) ----------------------------------------------------------------------
def _decider(
    assessment: _Assessment, status: str | None, inherited: bool, url_of=None
) -> Decider:
    instrument = assessment.instrument
    return Decider(
        instrument_id=instrument.id,
        slug=instrument.slug,
        short_name=instrument.short_name,
        title=instrument.title,
        jurisdiction_code=instrument.jurisdiction_code,
        value=assessment.value,
        status=status,
        inherited=inherited,
        pinpoint=assessment.pinpoint,
        sources=assessment.sources or instrument.sources,
        commencement_date=assessment.commencement_date,
        basis=assessment.basis,
        verified_on=assessment.verified_on,
        url=url_of(instrument.slug) if url_of is not None else None,
    )


def _by_place(decider: Decider) -> tuple:
    # J's own law before inherited law, then by jurisdiction and slug: a stable order on
    # every database.
    return (decider.inherited, decider.jurisdiction_code, decider.slug)


def _by_strength(decider: Decider) -> tuple:
    return (-VALUE_STRENGTH.get(decider.value, 0), *_by_place(decider))


_PENDING, _NOT_COMMENCED = object(), object()


class _Entry(NamedTuple):
    """A candidate as a :class:`Tally` holds it: a :class:`Decider` is made of it only when
    one is shown."""

    place: tuple  # _by_place's key: (inherited, jurisdiction code, slug)
    assessment: _Assessment
    status: str | None
    inherited: bool


class Tally:
    """The candidates of one cell as the rule sorts them (rules 3 and 4 of the module
    docstring), kept as they change. :func:`_cell` puts every candidate once; the derivation of
    the spans (``spans.maintain``) puts again only the candidates whose instrument or
    commencement changed on a date, so that a cell's whole history costs one pass over its
    candidates plus its changes (issue 12). The rule is written here and nowhere else.
    ``url_of`` gives each decider's address from its instrument's slug."""

    __slots__ = (
        "not_researched", "url_of", "groups", "uncertain", "_where", "_sorted", "_deciders",
        "_value",
    )

    def __init__(self, research_status: str, url_of=None):
        self.not_researched = research_status == ResearchStatus.NOT_RESEARCHED
        self.url_of = url_of
        # Counted (by assessment value), pending (assessed yes) and not yet commenced
        # candidates, by assessment id.
        self.groups: dict[object, dict[int, _Entry]] = {_PENDING: {}, _NOT_COMMENCED: {}}
        # The candidates whose status is uncertain: (assessment, inherited) by assessment id.
        self.uncertain: dict[int, tuple[_Assessment, bool]] = {}
        self._where: dict[int, object] = {}  # assessment id -> the group it is in
        self._sorted: dict[object, tuple[_Entry, ...]] = {}
        self._deciders: dict[object, tuple[Decider, ...]] = {}
        self._value: str | None = None

    def put(
        self, assessment: _Assessment, inherited: bool, status: str | None, uncertain: bool,
        commenced: bool,
    ) -> None:
        """Sort one candidate (again): its instrument's status and whether that status is
        uncertain on the date, and whether its assessment has commenced by then."""
        key, value = assessment.id, assessment.value
        if uncertain:
            self.uncertain[key] = (assessment, inherited)
        elif self.uncertain:
            self.uncertain.pop(key, None)
        if self._where:
            where = self._where.pop(key, None)
            if where is not None:
                del self.groups[where][key]
                self._changed(where)
        if status in APPLYING_STATUSES:
            where = value if commenced else _NOT_COMMENCED
        elif status in PENDING_STATUSES and value == AssessmentValue.YES:
            where = _PENDING
        else:
            return
        instrument = assessment.instrument
        self.groups.setdefault(where, {})[key] = _Entry(
            (inherited, instrument.jurisdiction_code, instrument.slug), assessment, status,
            inherited,
        )
        self._where[key] = where
        self._changed(where)

    def copy(self, research_status: str | None = None) -> Tally:
        """The same candidates sorted the same way, for a cell of ``research_status`` (None:
        this one's): a state's cell starts from its federal candidates' tally."""
        other = Tally.__new__(Tally)
        other.not_researched = self.not_researched if research_status is None else (
            research_status == ResearchStatus.NOT_RESEARCHED
        )
        other.url_of = self.url_of
        other.groups = {where: dict(group) for where, group in self.groups.items()}
        other.uncertain, other._where = dict(self.uncertain), dict(self._where)
        other._sorted, other._deciders = dict(self._sorted), dict(self._deciders)
        other._value = self._value if research_status is None else None
        return other

    def had_uncertain_steps_happened(self, alternative_status_of, as_of) -> Tally:
        """The same candidates, those whose status is uncertain sorted by
        ``alternative_status_of`` (the status had their uncertain steps happened by ``as_of``;
        any other candidate's is its status)."""
        other = self.copy()
        for assessment, inherited in self.uncertain.values():
            other.put(
                assessment, inherited, alternative_status_of(assessment.instrument), False,
                assessment.counts_on(as_of),
            )
        return other

    def _changed(self, where) -> None:
        self._sorted.pop(where, None)
        self._deciders.pop(where, None)
        if where is not _PENDING and where is not _NOT_COMMENCED:
            self._value = None

    def mentions(self, key: int) -> bool:
        """Whether the cell shows the assessment ``key`` (counted, pending or not commenced)."""
        return key in self._where

    def _entries(self, where) -> tuple[_Entry, ...]:
        """A group's candidates in the order of :func:`_by_place`."""
        found = self._sorted.get(where)
        if found is None:
            group = self.groups.get(where)
            found = self._sorted[where] = tuple(sorted(group.values())) if group else ()
        return found

    def _shown(self, where) -> tuple[Decider, ...]:
        found = self._deciders.get(where)
        if found is None:
            found = self._deciders[where] = tuple(
                _decider(e.assessment, e.status, e.inherited, self.url_of)
                for e in self._entries(where)
            )
        return found

    def value(self) -> str:
        if self._value is None:
            strongest = max(
                (where for where, group in self.groups.items()
                 if group and where is not _PENDING and where is not _NOT_COMMENCED),
                key=lambda value: VALUE_STRENGTH.get(value, 0), default=None,
            )
            if self.not_researched:
                self._value = EffectiveValue.NOT_RESEARCHED.value
            else:
                self._value = EffectiveValue.NONE.value if strongest is None else str(strongest)
        return self._value

    def deciding_slugs(self) -> tuple[str, ...]:
        """The slugs of the counted instruments whose assessment is the cell's value."""
        value = self.value()
        return tuple(e.place[2] for e in self._entries(value)) if self.groups.get(value) else ()

    def pending_slugs(self) -> tuple[str, ...]:
        return tuple(e.place[2] for e in self._entries(_PENDING))

    def approximate(self, alternative: Tally | None) -> bool:
        """Rule 6: some candidate's status is uncertain and, had its uncertain steps happened
        (``alternative``, the same candidates sorted by those statuses; None when not asked),
        the value or the pending instruments would differ."""
        if not self.uncertain or alternative is None:
            return bool(self.uncertain)
        return (
            alternative.value() != self.value()
            or alternative.pending_slugs() != self.pending_slugs()
        )

    def cell(self, alternative, bloc_obligations, criterion_slug) -> Cell:
        value = self.value()
        # Counted candidates strongest first (``_by_strength``): each value's group is in
        # ``_by_place`` order already.
        ranked = sorted(
            (where for where, group in self.groups.items()
             if group and where is not _PENDING and where is not _NOT_COMMENCED),
            key=lambda where: -VALUE_STRENGTH.get(where, 0),
        )
        considered = tuple(d for where in ranked for d in self._shown(where))
        if len({VALUE_STRENGTH.get(where, 0) for where in ranked}) < len(ranked):
            considered = tuple(sorted(considered, key=_by_strength))
        return Cell(
            value=value,
            approximate=self.approximate(alternative),
            instruments=() if self.not_researched or not self.groups.get(value)
            else self._shown(value),
            considered=considered,
            pending=self._shown(_PENDING),
            bloc_obligations=tuple(sorted(bloc_obligations, key=_by_place)) if bloc_obligations
            else (),
            not_commenced=self._shown(_NOT_COMMENCED),
            criterion=criterion_slug,
        )


def candidates(
    jurisdiction_id: int, criterion_id: int, law: list[int], by_cell
) -> list[tuple[_Assessment, bool]]:
    """``(assessment, inherited)`` of every assessment that can count in a cell: those of
    ``law`` (the jurisdiction first, then its ancestors), less a bloc's or an international
    body's instruments reached through an ancestor (rule 2)."""
    found = []
    for holder in law:
        inherited = holder != jurisdiction_id
        for assessment in by_cell.get((holder, criterion_id), ()):
            if inherited and assessment.instrument.jurisdiction_kind in NOT_INHERITED_KINDS:
                continue
            found.append((assessment, inherited))
    return found


def _cell(
    jurisdiction: Jurisdiction,
    criterion_id: int,
    as_of: datetime.date,
    law: list[int],
    blocs: list[tuple[int, bool]],
    by_cell: dict[tuple[int, int], list[_Assessment]],
    status_of,
    approximate_of,
    alternative_status_of=None,
    criterion_slug: str = "",
    url_of=None,
) -> Cell:
    """One cell. ``law``: the jurisdiction ids whose instruments count, J first; ``blocs``:
    ``(bloc id, reached through an ancestor)`` pairs.

    When a candidate instrument has an uncertain step (``approximate_of``), its candidates are
    sorted a second time with ``alternative_status_of`` — the statuses had every uncertain
    step already happened by the date — and the cell is marked approximate only when that
    changes the value or the pending list: an uncertain date that cannot change the answer does
    not make it approximate (:meth:`Tally.approximate`). ``criterion_slug`` names the cell's
    criterion; ``url_of`` gives each decider's address from its instrument's slug.
    """
    found = candidates(jurisdiction.pk, criterion_id, law, by_cell)
    tally = Tally(jurisdiction.research_status, url_of)
    for assessment, inherited in found:
        instrument = assessment.instrument
        tally.put(
            assessment, inherited, status_of(instrument), approximate_of(instrument),
            assessment.counts_on(as_of),
        )
    alternative = None
    if tally.uncertain and alternative_status_of is not None:
        alternative = tally.had_uncertain_steps_happened(alternative_status_of, as_of)

    bloc_obligations = []
    for bloc_id, via_ancestor in blocs:
        for assessment in by_cell.get((bloc_id, criterion_id), ()):
            status = status_of(assessment.instrument)
            if status in APPLYING_STATUSES and assessment.counts_on(as_of):
                bloc_obligations.append(_decider(assessment, status, via_ancestor, url_of))
    return tally.cell(alternative, bloc_obligations, criterion_slug)


def _check_as_of(as_of) -> datetime.date:
    if isinstance(as_of, datetime.datetime):
        return as_of.date()
    if not isinstance(as_of, datetime.date):
        raise TypeError(f"as_of must be a datetime.date, not {type(as_of).__name__}")
    return as_of


def _check_scope(scope) -> str:
    if scope not in Scope.values:
        raise ValueError(f"scope must be one of {', '.join(Scope.values)}, not {scope!r}")
    return str(scope)


def _unique(objects) -> list:
    seen, result = set(), []
    for obj in objects:
        if obj.pk not in seen:
            seen.add(obj.pk)
            result.append(obj)
    return result


def evaluate(
    jurisdiction_list: list[Jurisdiction],
    criterion_list: list[Criterion],
    as_of: datetime.date,
    scope: str,
    rules_for: Callable,
    with_sources: bool = True,
    instrument_url: Callable[[str], str | None] | None = None,
    with_steps: bool = True,
) -> dict[tuple[int, str], Cell]:
    """The cells ``{(jurisdiction id, criterion slug): Cell}`` of the checked lists (the body of
    :func:`compute`). ``rules_for(selected)`` gives the per-instrument rules at ``as_of``
    (:class:`RulesAt`, or ``spans.read``'s from the status spans) for the assessments of the
    queryset ``selected``; ``with_steps`` False reads no step (rules that do not need them)."""
    own_ids = [j.pk for j in jurisdiction_list]
    chains = _ancestor_chains(own_ids)
    ancestor_ids = {a for chain in chains.values() for a in chain}
    member_of = _memberships(set(own_ids) | ancestor_ids, as_of)
    bloc_ids = {b for blocs in member_of.values() for b in blocs}
    holder_ids = set(own_ids) | ancestor_ids | bloc_ids
    criterion_ids = [c.pk for c in criterion_list]
    by_cell = _load_assessments(holder_ids, criterion_ids, with_sources, with_steps)
    rules = rules_for(_selected_assessments(holder_ids, criterion_ids))

    cells: dict[tuple[int, str], Cell] = {}
    for jurisdiction in jurisdiction_list:
        ancestors = chains.get(jurisdiction.pk, []) if scope == Scope.APPLICABLE else []
        law = [jurisdiction.pk, *ancestors]
        blocs: list[tuple[int, bool]] = []
        for holder in law:
            for bloc_id in member_of.get(holder, ()):
                if bloc_id not in {b for b, _ in blocs}:
                    blocs.append((bloc_id, holder != jurisdiction.pk))
        for criterion in criterion_list:
            cells[(jurisdiction.pk, criterion.slug)] = _cell(
                jurisdiction, criterion.pk, as_of, law, blocs, by_cell, rules.status_of,
                rules.approximate_of, rules.alternative_status_of, criterion.slug,
                instrument_url,
            )
    return cells


def checked_question(jurisdictions, criteria, as_of, scope) -> tuple:
    """``(as_of, scope, jurisdictions, criteria)`` as :func:`compute` reads its arguments:
    the date cut to a date, the scope checked, both lists in order without duplicates."""
    return _check_as_of(as_of), _check_scope(scope), _unique(jurisdictions), _unique(criteria)


def compute(
    jurisdictions: Iterable[Jurisdiction],
    criteria: Iterable[Criterion],
    as_of: datetime.date,
    scope: str = Scope.APPLICABLE,
    with_sources: bool = True,
    instrument_url: Callable[[str], str | None] | None = None,
) -> Coverage:
    """Effective coverage of ``jurisdictions`` for ``criteria`` as of ``as_of`` (module
    docstring for the rules).

    ``jurisdictions`` and ``criteria`` are iterables or querysets of Jurisdiction and
    Criterion; their order is kept and duplicates are dropped. ``as_of`` is a
    ``datetime.date`` (a ``datetime`` is cut to its date); ``scope`` is ``"applicable"`` or
    ``"own"`` (``choices.Scope``).

    ``with_sources=False`` leaves every decider's ``sources`` empty, for callers that show
    values only (the jurisdiction rows, the ``covers``/``lacks`` filters): four queries fewer.
    ``instrument_url`` gives each decider's ``url`` from its instrument's slug (a channel's
    address; ``answers.Links.instrument``); without it the deciders have none.

    Reads the database in eight queries whatever the sizes (module docstring). Raises
    ``TypeError`` when ``as_of`` is not a date and ``ValueError`` for an unknown scope.
    """
    as_of, scope, jurisdiction_list, criterion_list = checked_question(
        jurisdictions, criteria, as_of, scope
    )
    if not jurisdiction_list or not criterion_list:
        return Coverage(as_of, scope, criterion_list, jurisdiction_list, {})

    cells = evaluate(
        jurisdiction_list, criterion_list, as_of, scope, lambda selected: RulesAt(as_of),
        with_sources=with_sources, instrument_url=instrument_url,
    )
    return Coverage(as_of, scope, criterion_list, jurisdiction_list, cells)


def gaps(
    criterion: Criterion | str,
    as_of: datetime.date,
    scope: str = Scope.APPLICABLE,
    jurisdictions: Iterable[Jurisdiction] | None = None,
    instrument_url: Callable[[str], str | None] | None = None,
) -> dict:
    """The jurisdictions that lack coverage for ``criterion`` as of ``as_of``, grouped by
    effective value.

    ``criterion`` is a Criterion or its slug; ``jurisdictions`` an iterable or queryset of
    Jurisdiction, by default every jurisdiction except international organisations (UN, COE:
    their treaties are not the law of a place). Returns::

        {"as_of": date, "criterion": Criterion, "scope": str,
         "counts": {value: n}, "groups": {value: [Jurisdiction, ...]},
         "covered": [Jurisdiction, ...],          # researched and yes: not gaps
         "pending": {code, ...},                  # jurisdictions with a pending yes
         "cells": {code: Cell}}                   # every jurisdiction's cell, for citing

    ``counts`` and ``groups`` always hold every value of ``GAP_VALUES`` (``none``, ``no``,
    ``unclear``, ``partial``, ``not_researched``), zeros included; groups are ordered by code.
    A gap is a researched jurisdiction (``in_progress`` or ``reviewed``) whose value is not
    ``yes``; ``not_researched`` jurisdictions are listed apart under ``not_researched``.

    ``instrument_url`` gives each decider its address (:func:`compute`).

    Raises ``Criterion.DoesNotExist`` for an unknown slug, and what :func:`compute` raises.
    """
    if isinstance(criterion, str):
        criterion = Criterion.objects.get(slug=criterion)
    if jurisdictions is None:
        jurisdictions = gap_candidates()
    coverage = compute(jurisdictions, [criterion], as_of, scope, instrument_url=instrument_url)
    return gaps_of(coverage, criterion)


def gap_candidates():
    """The jurisdictions a gaps answer looks at by default: every one but the international
    organisations (UN, COE: their treaties are not the law of a place)."""
    return Jurisdiction.objects.exclude(kind=JurisdictionKind.INTERNATIONAL)


def gaps_of(coverage: Coverage, criterion: Criterion) -> dict:
    """The answer of :func:`gaps` from the cells of ``criterion`` in ``coverage`` (computed
    here, or read from the spans: ``spans.read``)."""
    groups: dict[str, list[Jurisdiction]] = {value: [] for value in GAP_VALUES}
    covered, pending, cells = [], set(), {}
    for jurisdiction, cell in sorted(coverage.column(criterion.slug), key=lambda r: r[0].code):
        cells[jurisdiction.code] = cell
        if cell.pending:
            pending.add(jurisdiction.code)
        if cell.value == EffectiveValue.YES:
            covered.append(jurisdiction)
        else:
            groups[cell.value].append(jurisdiction)
    return {
        "as_of": coverage.as_of,
        "criterion": criterion,
        "scope": coverage.scope,
        "counts": {value: len(members) for value, members in groups.items()},
        "groups": groups,
        "covered": covered,
        "pending": pending,
        "cells": cells,
    }
