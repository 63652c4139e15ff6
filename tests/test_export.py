"""The instruments CSV (jurisdictions/api/export.py) is the CSV form of the rows that
jurisdictions/api/instrument_rows.py builds: on the real seed data, for several filters and
dates, its bytes are the CSV columns applied to the JSON list of the same request (the CSV form
skips queries the JSON needs, and must not say anything else); batches neither repeat nor skip
rows; and its query count grows by a fixed number per batch, never per row."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jurisdictions.api import export, renderers, views
from jurisdictions.api.renderers import csv_lines, table

pytestmark = pytest.mark.django_db

FILTERS = [
    {},
    {"as_of": "2024-10-15"},
    {"as_of": "2000-01-01"},
    {"status": "in_force,partially_in_force", "covers": "possession"},
    {"within": "US", "as_of": "2023-06-30"},
    {"jurisdiction": "kr", "as_of": "2025-01-01"},
    {"legal_force": "NotInForce"},
]


def export_bytes(client, monkeypatch, csv_list, params) -> bytes:
    if csv_list is not None:
        monkeypatch.setattr(views.InstrumentViewSet, "csv_list", csv_list)
    response = client.get(reverse("api:instrument-list"), {**params, "format": "csv"})
    assert response.status_code == 200, response.content[:500]
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("params", FILTERS, ids=lambda p: "&".join(f"{k}={v}" for k, v in
                                                                     p.items()) or "all")
def test_the_csv_says_what_the_json_list_says_byte_for_byte(client, seeded, params):
    response = client.get(reverse("api:instrument-list"), {**params, "page_size": 500})
    assert response.status_code == 200
    page = response.json()
    assert page["next"] is None  # the seed fits one page: the whole list is compared
    columns = views.InstrumentViewSet().csv_columns()
    expected = "".join(csv_lines([c.header for c in columns], table(page["results"], columns)))

    streamed = export_bytes(client, None, None, params)
    assert streamed.decode("utf-8") == expected
    lines = streamed.decode("utf-8-sig").splitlines()
    assert len(lines) == page["count"] + 1
    assert page["count"] > 0 or params.get("as_of") == "2000-01-01"


def test_batches_neither_repeat_nor_skip_rows(client, seeded, monkeypatch):
    monkeypatch.setattr(renderers, "CSV_BATCH", 7)
    small = export_bytes(client, monkeypatch, export.csv_list, {})
    monkeypatch.setattr(renderers, "CSV_BATCH", 500)
    whole = export_bytes(client, monkeypatch, export.csv_list, {})
    assert small == whole
    slugs = [line.split(",")[0] for line in whole.decode("utf-8-sig").splitlines()[1:]]
    assert len(slugs) == len(set(slugs)) > 7


def test_queries_per_batch_are_fixed(client, seeded, monkeypatch):
    def queries(batch):
        monkeypatch.setattr(renderers, "CSV_BATCH", batch)
        with CaptureQueriesContext(connection) as captured:
            export_bytes(client, monkeypatch, export.csv_list, {})
        return len(captured)

    total = len(export_bytes(client, monkeypatch, export.csv_list, {}).splitlines()) - 1
    one_batch = queries(total + 1)
    two_batches = queries((total + 1) // 2)
    assert two_batches - one_batch == 4  # steps, assessments, identifiers, source URLs


def test_the_instruments_csv_is_served_by_the_fast_export():
    assert views.InstrumentViewSet.csv_list is export.csv_list
