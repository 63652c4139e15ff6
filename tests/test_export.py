"""The instruments CSV built from plain values (jurisdictions/api/export.py) writes the same bytes
as the CSV built through InstrumentSerializer, on the real seed data, for several filters and
dates; and its query count does not grow with the number of rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jurisdictions.api import export, views

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
    monkeypatch.setattr(views.InstrumentViewSet, "csv_list", csv_list)
    response = client.get(reverse("api:instrument-list"), {**params, "format": "csv"})
    assert response.status_code == 200, response.content[:500]
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("params", FILTERS, ids=lambda p: "&".join(f"{k}={v}" for k, v in
                                                                     p.items()) or "all")
def test_flat_export_equals_the_serializers_byte_for_byte(client, seeded, monkeypatch, params):
    slow = export_bytes(client, monkeypatch, views.CollectionViewSet.csv_list, params)
    fast = export_bytes(client, monkeypatch, export.csv_list, params)
    assert fast == slow
    lines = fast.decode("utf-8-sig").splitlines()
    assert len(lines) > 1 or params.get("as_of") == "2000-01-01"


def test_batches_neither_repeat_nor_skip_rows(client, seeded, monkeypatch):
    monkeypatch.setattr(views, "CSV_BATCH", 7)
    small = export_bytes(client, monkeypatch, export.csv_list, {})
    monkeypatch.setattr(views, "CSV_BATCH", 500)
    whole = export_bytes(client, monkeypatch, export.csv_list, {})
    assert small == whole
    slugs = [line.split(",")[0] for line in whole.decode("utf-8-sig").splitlines()[1:]]
    assert len(slugs) == len(set(slugs)) > 7


def test_queries_per_batch_are_fixed(client, seeded, monkeypatch):
    def queries(batch):
        monkeypatch.setattr(views, "CSV_BATCH", batch)
        with CaptureQueriesContext(connection) as captured:
            export_bytes(client, monkeypatch, export.csv_list, {})
        return len(captured)

    total = len(export_bytes(client, monkeypatch, export.csv_list, {}).splitlines()) - 1
    one_batch = queries(total + 1)
    two_batches = queries((total + 1) // 2)
    assert two_batches - one_batch == 4  # steps, assessments, identifiers, sources


def test_the_instruments_csv_is_served_by_the_fast_export():
    from jurisdictions.api import export, views

    assert views.InstrumentViewSet.csv_list is export.csv_list
