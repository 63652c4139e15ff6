"""The CSV export of instruments built from plain values, not through the nested JSON serializer.

``/api/v1/instruments/?format=csv`` writes the columns of ``InstrumentViewSet.csv_columns()``
for every filtered instrument. Serializing each instrument with ``InstrumentSerializer`` (model
instances for every step, assessment, identifier and citation) cost about 100 ms per row on the
benchmark machine; this module reads each batch of rows with one ``values_list`` query per
table and builds, per instrument, only the keys those columns read, in the serializer's shape
(bench/FINDINGS.md §1: 168x faster at the small scale, same bytes).

Nothing is decided twice: the status, its step and the ``on_or_before`` approximation come from
:mod:`jurisdictions.coverage` (``step_as_of``, ``approximate_as_of``), the key dates from
``Instrument.key_dates``, legal force from ``choices.legal_force_for``, URLs and ISO 8601 text
from the serializers' helpers, and the CSV escaping from :mod:`.renderers`. tests/test_export.py
checks the output against the serializer's, byte for byte.

Queries: one for the criteria (the columns), then per batch of ``views.CSV_BATCH`` instruments
one for the instruments and four for their steps, assessments, identifiers and source URLs.
"""

from __future__ import annotations

from collections import defaultdict

from ..choices import legal_force_for
from ..coverage import Step, approximate_as_of, life_order_key, step_as_of
from ..models import Assessment, Identifier, Instrument, InstrumentSource, StatusEvent
from .renderers import csv_response, table
from .serializers import api_url, iso

# The instrument columns read in the batch query, in the order the row dict takes them.
INSTRUMENT_FIELDS = (
    "pk",
    "slug",
    "jurisdiction__code",
    "instrument_type",
    "title",
    "original_title",
    "original_language",
    "short_name",
    "citation",
    "official_url",
    "confidence",
    "summary",
    "max_penalty",
    "notes",
    "updated_at",
)


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


def flat_rows(batch: list[tuple], as_of, context: dict) -> list[dict]:
    """One dict per instrument of ``batch`` (rows of :data:`INSTRUMENT_FIELDS`), holding the
    keys the instrument CSV columns read, in ``InstrumentSerializer``'s shape: ``as_of`` a
    ``datetime.date``; ``context`` carries the ``request`` for absolute URLs. Four queries."""
    ids = [row[0] for row in batch]
    steps: dict[int, list[Step]] = defaultdict(list)
    for instrument_id, date, status, precision, pk in (
        StatusEvent.objects.filter(instrument_id__in=ids)
        .order_by()
        .values_list("instrument_id", "date", "status", "date_precision", "pk")
    ):
        steps[instrument_id].append(Step(date, status, precision, pk))
    # Default orderings, as the serializer's prefetches have them: assessments by criterion
    # position, identifiers by scheme and value, sources (Source.Meta) by URL.
    assessments: dict[int, list[dict]] = defaultdict(list)
    for instrument_id, criterion, value in Assessment.objects.filter(
        instrument_id__in=ids
    ).values_list("instrument_id", "criterion__slug", "value"):
        assessments[instrument_id].append({"criterion": {"slug": criterion}, "value": value})
    identifiers: dict[int, list[dict]] = defaultdict(list)
    for instrument_id, scheme, value in Identifier.objects.filter(
        instrument_id__in=ids
    ).values_list("instrument_id", "scheme", "value"):
        identifiers[instrument_id].append({"scheme": scheme, "value": value})
    sources: dict[int, list[dict]] = defaultdict(list)
    for instrument_id, url in (
        InstrumentSource.objects.filter(instrument_id__in=ids)
        .order_by("source__url", "source_id")
        .values_list("instrument_id", "source__url")
    ):
        sources[instrument_id].append({"url": url})

    rows = []
    for (pk, slug, code, instrument_type, title, original_title, original_language,
         short_name, citation, official_url, confidence, summary, max_penalty, notes,
         updated_at) in batch:
        life = _Life(steps.get(pk, []))
        step = step_as_of(life.steps, as_of)
        status = step.status if step is not None else None
        rows.append({
            "slug": slug,
            "url": api_url(context, "instrument-detail", slug=slug),
            "jurisdiction": {"code": code},
            "instrument_type": instrument_type,
            "title": title,
            "original_title": original_title,
            "original_language": original_language,
            "short_name": short_name,
            "citation": citation,
            "official_url": official_url,
            "summary": summary,
            "max_penalty": max_penalty,
            "confidence": confidence,
            "notes": notes,
            "as_of": iso(as_of),
            "status": status,
            "status_date": iso(step.date) if step is not None else None,
            "status_date_precision": step.date_precision if step is not None else None,
            "status_approximate": approximate_as_of(life.steps, as_of),
            "legal_force": legal_force_for(status),
            "key_dates": life.key_dates(),
            "identifiers": identifiers.get(pk, []),
            "assessments": assessments.get(pk, []),
            "sources": sources.get(pk, []),
            "updated_at": iso(updated_at),
        })
    return rows


def csv_list(self, queryset):
    """``InstrumentViewSet.csv_list``: the streamed CSV of every instrument of ``queryset``
    (the filtered list), columns from ``self.csv_columns()``, from plain values per batch."""
    from .views import CSV_BATCH, batched  # views imports this module

    columns = self.csv_columns()
    as_of = self.as_of
    context = {"request": self.request}
    values = queryset.prefetch_related(None).values_list(*INSTRUMENT_FIELDS)

    def rows():
        for batch in batched(values.iterator(chunk_size=CSV_BATCH), CSV_BATCH):
            yield from table(flat_rows(batch, as_of, context), columns)

    return csv_response(self.csv_filename(), [c.header for c in columns], rows())

