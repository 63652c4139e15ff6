"""Instruments as API rows, built from plain values: the one builder of an instrument's JSON
(list pages, detail, write answers) and of its CSV line.

Building model instances for every step, assessment, identifier and citation of a page and then
serializing them cost about 10 ms per instrument (a page of 50 holds ~2,000 nested objects:
bench/FINDINGS.md §1-2). Here each table is read once per batch with ``values_list`` and the
dicts are written directly, in the shape ``serializers.InstrumentSerializer`` documents (its
declared fields describe this output for the OpenAPI schema; tests/test_api.py keeps both in
step).

Nothing is decided twice: the status as of a date, its step and the ``on_or_before``
approximation come from :mod:`jurisdictions.coverage` (``step_as_of``, ``approximate_as_of``),
the key dates from ``Instrument.key_dates``, legal force from ``choices.legal_force_for``, URLs
and ISO 8601 text from the serializers' helpers.

Queries per batch, whatever its size: the steps, the assessments, the identifiers, two for each
kind of citation (the links, then the sources they name: bench/FINDINGS.md §3) and two for the
amendment links — eleven; the CSV form (``flat``) reads only what its columns show: the steps,
the assessments' values, the identifiers and the sources' URLs — four.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence

from ..choices import APPLYING_STATUSES, OCD_CLASSIFICATION, PENDING_STATUSES, legal_force_for
from ..coverage import Step, approximate_as_of, life_order_key, step_as_of
from ..models import (
    Assessment,
    AssessmentSource,
    Identifier,
    Instrument,
    InstrumentAmendment,
    InstrumentSource,
    Source,
    StatusEvent,
    StatusEventSource,
)
from .links import api_url, iso, staff_name

# The instrument columns a batch is read with, in the order instrument_rows unpacks them.
INSTRUMENT_FIELDS = (
    "pk",
    "slug",
    "jurisdiction__code",
    "jurisdiction__name",
    "jurisdiction__kind",
    *Instrument.DESCRIPTIVE_FIELDS,
    "created_at",
    "updated_at",
)

BRIEF_FIELDS = ("slug", "short_name", "title", "instrument_type", "jurisdiction__code")


class _Life:
    """An instrument's steps as plain :class:`coverage.Step` values, in life order, with the
    model's own key-date rules (``Instrument.first_event`` and ``Instrument.key_dates`` read
    only ``self._events()``): the rules stay written once, in models.py."""

    first_event = Instrument.first_event
    key_dates = Instrument.key_dates

    def __init__(self, steps: list[Step]):
        self.steps = sorted(steps, key=life_order_key)

    def _events(self) -> list[Step]:
        return self.steps


def _cited(links, owner: str, context: dict) -> dict[int, list[dict]]:
    """``{owner id: [source brief, …]}`` for the citation rows ``links`` (a queryset of a
    citation through-model), each list ordered by source URL (``Source.Meta.ordering``, as the
    related managers give them) — two queries: the links, then the sources they name, each read
    by its own index."""
    pairs = list(links.order_by().values_list(owner, "source_id"))
    if not pairs:
        return {}
    sources = {}  # in URL order, compared as the database compares them (its collation)
    for pk, *values in (
        Source.objects.filter(pk__in=links.values("source_id")).order_by("url").values_list(
            "pk", *Source.CITATION_FIELDS
        )
    ):
        brief = dict(zip(Source.CITATION_FIELDS, values))
        brief["published_on"] = iso(brief["published_on"])
        brief["accessed_on"] = iso(brief["accessed_on"])
        brief["api_url"] = api_url(context, "source-detail", pk=pk)
        sources[pk] = brief
    rank = {pk: position for position, pk in enumerate(sources)}
    ranked: dict[int, list[int]] = defaultdict(list)
    for owner_id, source_id in pairs:
        if source_id in sources:  # not unlinked and deleted between the two reads
            ranked[owner_id].append(rank[source_id])
    order = list(sources.values())
    return {owner_id: [order[r] for r in sorted(ranks)] for owner_id, ranks in ranked.items()}


def _amendment_briefs(links, other: str, owner: str, context: dict) -> dict[int, list[dict]]:
    """``{owner id: [instrument brief of the other end, …]}`` ordered as ``Instrument.Meta``
    (jurisdiction code, slug) — one query."""
    fields = [f"{other}__{name}" for name in BRIEF_FIELDS]
    briefs: dict[int, list[dict]] = defaultdict(list)
    for owner_id, slug, short_name, title, instrument_type, code in links.order_by(
        f"{other}__jurisdiction__code", f"{other}__slug"
    ).values_list(owner, *fields):
        briefs[owner_id].append({
            "slug": slug,
            "short_name": short_name,
            "title": title,
            "instrument_type": instrument_type,
            "jurisdiction": code,
            "url": api_url(context, "instrument-detail", slug=slug),
        })
    return briefs


def _assessments(ids: list[int], as_of: datetime.date, context: dict,
                 into: dict[int, list[dict]]) -> None:
    """Append each assessment of the instruments ``ids`` to ``into[instrument id]``, with its
    criterion brief and cited sources, in ``Assessment.Meta`` order — three queries."""
    cited = _cited(
        AssessmentSource.objects.filter(assessment__instrument_id__in=ids), "assessment_id",
        context,
    )
    for (instrument_id, pk, slug, label, value, pinpoint, note, commencement, basis,
         verified_on, verifier, verification_note) in Assessment.objects.filter(
            instrument_id__in=ids
    ).values_list(
            "instrument_id", "pk", "criterion__slug", "criterion__label", "value", "pinpoint",
            "note", "commencement_date", "basis", "verified_on", "verified_by__username",
            "verification_note",
    ):
        into[instrument_id].append({
            "criterion": {
                "slug": slug,
                "label": label,
                "url": api_url(context, "criterion-detail", slug=slug),
            },
            "value": value,
            "pinpoint": pinpoint,
            "note": note,
            "commencement_date": iso(commencement),
            "counts_on_as_of": commencement is None or commencement <= as_of,
            "basis": basis,
            "verified_on": iso(verified_on),
            "verified_by": staff_name(context, verifier, "reviewer"),
            "verification_note": verification_note,
            "sources": cited.get(pk, []),
            "url": api_url(context, "assessment-detail", pk=pk),
        })


def instrument_rows(
    batch: Sequence[tuple], as_of: datetime.date, context: dict, flat: bool = False
) -> list[dict]:
    """One dict per instrument of ``batch`` (rows of :data:`INSTRUMENT_FIELDS`, in order), in
    ``InstrumentSerializer``'s shape, as of ``as_of`` (a ``datetime.date``).

    ``context`` carries the ``request`` (absolute URLs; relative without one) and is where the
    URL prefixes are cached. ``flat``: what a CSV line reads — the status history and the
    amendment links are left empty, each assessment holds its criterion's slug and its value,
    each source its URL (four queries instead of eleven)."""
    ids = [row[0] for row in batch]
    if not ids:
        return []

    steps: dict[int, list[Step]] = defaultdict(list)
    # What a step shows besides its date and status (not read for a CSV line).
    shown = ("description", "body", "date_note", "verified_on", "verification_note")
    details: dict[int, dict] = {}
    for instrument_id, date, status, precision, pk, *detail in (
        StatusEvent.objects.filter(instrument_id__in=ids)
        .order_by()
        .values_list("instrument_id", "date", "status", "date_precision", "pk",
                     *(() if flat else shown))
    ):
        steps[instrument_id].append(Step(date, status, precision, pk))
        if detail:
            details[pk] = dict(zip(shown, detail))
    identifiers: dict[int, list[dict]] = defaultdict(list)
    for instrument_id, scheme, value in Identifier.objects.filter(
        instrument_id__in=ids
    ).values_list("instrument_id", "scheme", "value"):
        identifiers[instrument_id].append({"scheme": scheme, "value": value})
    assessments: dict[int, list[dict]] = defaultdict(list)
    if flat:
        # A CSV line reads each assessment's criterion and value, and the sources' URLs.
        for instrument_id, slug, value in Assessment.objects.filter(
            instrument_id__in=ids
        ).values_list("instrument_id", "criterion__slug", "value"):
            assessments[instrument_id].append({"criterion": {"slug": slug}, "value": value})
        instrument_sources: dict[int, list[dict]] = defaultdict(list)
        for instrument_id, url in (
            InstrumentSource.objects.filter(instrument_id__in=ids)
            .order_by("source__url", "source_id")
            .values_list("instrument_id", "source__url")
        ):
            instrument_sources[instrument_id].append({"url": url})
        step_sources = amends = amended_by = {}
    else:
        _assessments(ids, as_of, context, assessments)
        instrument_sources = _cited(
            InstrumentSource.objects.filter(instrument_id__in=ids), "instrument_id", context
        )
        step_sources = _cited(
            StatusEventSource.objects.filter(status_event__instrument_id__in=ids),
            "status_event_id", context,
        )
        amends = _amendment_briefs(
            InstrumentAmendment.objects.filter(amending_id__in=ids), "amended", "amending_id",
            context,
        )
        amended_by = _amendment_briefs(
            InstrumentAmendment.objects.filter(amended_id__in=ids), "amending", "amended_id",
            context,
        )

    rows = []
    for pk, slug, code, name, kind, *descriptive, created_at, updated_at in batch:
        life = _Life(steps.get(pk, []))
        step = step_as_of(life.steps, as_of)
        status = step.status if step is not None else None
        rows.append({
            "slug": slug,
            "url": api_url(context, "instrument-detail", slug=slug),
            "jurisdiction": {
                "code": code,
                "name": name,
                "kind": kind,
                "url": api_url(context, "jurisdiction-detail", code=code),
            },
            **dict(zip(Instrument.DESCRIPTIVE_FIELDS, descriptive)),
            "as_of": iso(as_of),
            "status": status,
            "status_date": iso(step.date) if step is not None else None,
            "status_date_precision": step.date_precision if step is not None else None,
            "status_approximate": approximate_as_of(life.steps, as_of),
            "legal_force": legal_force_for(status),
            "pending": status in PENDING_STATUSES,
            "applies": status in APPLYING_STATUSES,
            "key_dates": life.key_dates(),
            "identifiers": identifiers.get(pk, []),
            "status_events": [] if flat else [
                {
                    "status": s.status,
                    "date": iso(s.date),
                    "date_precision": s.date_precision,
                    "date_note": details[s.pk]["date_note"],
                    "body": details[s.pk]["body"],
                    "description": details[s.pk]["description"],
                    "ocd_classification": OCD_CLASSIFICATION.get(s.status, ""),
                    "verified_on": iso(details[s.pk]["verified_on"]),
                    "verification_note": details[s.pk]["verification_note"],
                    "sources": step_sources.get(s.pk, []),
                    "url": api_url(context, "status-event-detail", pk=s.pk),
                }
                for s in life.steps
            ],
            "assessments": assessments.get(pk, []),
            "sources": instrument_sources.get(pk, []),
            "amends": amends.get(pk, []),
            "amended_by": amended_by.get(pk, []),
            "created_at": iso(created_at),
            "updated_at": iso(updated_at),
        })
    return rows


def rows_of(
    instruments: Iterable, as_of: datetime.date, context: dict, flat: bool = False
) -> list[dict]:
    """:func:`instrument_rows` for model instances or primary keys (a detail, a write's
    answer), in the order given — one query more than :func:`instrument_rows`."""
    ids = [getattr(obj, "pk", obj) for obj in instruments]
    found = {
        row[0]: row
        for row in Instrument.objects.filter(pk__in=ids).order_by().values_list(
            *INSTRUMENT_FIELDS
        )
    }
    return instrument_rows([found[pk] for pk in ids if pk in found], as_of, context, flat)
