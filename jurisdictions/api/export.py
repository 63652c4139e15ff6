"""The streamed CSV of instruments (``/api/v1/instruments/?format=csv``), built per batch from
plain values by :mod:`.instrument_rows` in its CSV form (``flat``), never instance by instance
(bench/FINDINGS.md §1: 168x faster than serializing model instances, same bytes).

The columns are ``InstrumentViewSet.csv_columns()``; the escaping is :mod:`.renderers`'.
Queries: one for the criteria (the columns), one streamed query for the instruments, then four
per batch of ``renderers.CSV_BATCH`` instruments (steps, assessments, identifiers, sources' URLs).
"""

from __future__ import annotations

from . import renderers
from .instrument_rows import INSTRUMENT_FIELDS, instrument_rows
from .renderers import batched, csv_response, table


def csv_list(self, queryset):
    """``InstrumentViewSet.csv_list``: the streamed CSV of every instrument of ``queryset``
    (the filtered list), columns from ``self.csv_columns()``, from plain values per batch."""
    columns = self.csv_columns()
    as_of = self.as_of
    context = {"request": self.request}
    values = queryset.prefetch_related(None).values_list(*INSTRUMENT_FIELDS)

    def rows():
        for batch in batched(values.iterator(chunk_size=renderers.CSV_BATCH), renderers.CSV_BATCH):
            yield from table(instrument_rows(batch, as_of, context, flat=True), columns)

    return csv_response(self.csv_filename(), [c.header for c in columns], rows())

