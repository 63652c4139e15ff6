"""The instruments CSV (``format=csv``) says what the JSON list of the same request says: on the
real seed data, for several filters and dates, each CSV row is read back with the csv module
and compared cell by cell with the JSON row, through literal rules written here (a code for the
jurisdiction, ``true``/``false``, an empty cell for null, ``scheme:value`` identifiers, one
column per criterion) — never with the view's own columns. Batches neither repeat nor skip
rows, and the query count grows by a fixed number per batch, never per row. The whole CSV of
fixed requests is also compared with golden files (tests/test_golden_seed.py)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import csv
import io

from jurisdictions.api import renderers

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


def export_bytes(client, params) -> bytes:
    response = client.get(reverse("api:instrument-list"), {**params, "format": "csv"})
    assert response.status_code == 200, response.content[:500]
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return b"".join(response.streaming_content)


def cell(value) -> str:
    """A JSON scalar as the CSV writes it."""
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    return str(value)


@pytest.mark.parametrize("params", FILTERS, ids=lambda p: "&".join(f"{k}={v}" for k, v in
                                                                     p.items()) or "all")
def test_the_csv_says_what_the_json_list_says(client, seeded, params):
    response = client.get(reverse("api:instrument-list"), {**params, "page_size": 500})
    assert response.status_code == 200
    page = response.json()
    assert page["next"] is None  # the seed fits one page: the whole list is compared
    text = export_bytes(client, params).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [r["slug"] for r in rows] == [r["slug"] for r in page["results"]]
    assert len(rows) == page["count"]
    assert page["count"] > 0 or params.get("as_of") == "2000-01-01"
    for row, item in zip(rows, page["results"]):
        for name in ("slug", "instrument_type", "title", "original_title", "short_name",
                     "citation", "official_url", "as_of", "status", "status_date",
                     "status_date_precision", "status_approximate", "legal_force", "url"):
            assert row[name] == cell(item[name]).replace("\r\n", "\n"), (item["slug"], name)
        assert row["jurisdiction"] == item["jurisdiction"]["code"]
        for step in ("introduced", "adopted", "in_force"):
            date = (item["key_dates"].get(step) or {})
            assert row[step] == cell(date.get("date")), (item["slug"], step)
            assert row[f"{step}_precision"] == cell(date.get("precision"))
        identifiers = row["identifiers"].split("; ") if row["identifiers"] else []
        assert identifiers == [f"{i['scheme']}:{i['value']}" for i in item["identifiers"]]
        for answer in item["assessments"]:
            assert row[f"assessment.{answer['criterion']['slug']}"] == answer["value"]
        assert set(row["sources"].split("; ") if row["sources"] else []) == {
            s["url"] for s in item["sources"]}


def test_batches_neither_repeat_nor_skip_rows(client, seeded, monkeypatch):
    monkeypatch.setattr(renderers, "CSV_BATCH", 7)
    small = export_bytes(client, {})
    monkeypatch.setattr(renderers, "CSV_BATCH", 500)
    whole = export_bytes(client, {})
    assert small == whole
    slugs = [line.split(",")[0] for line in whole.decode("utf-8-sig").splitlines()[1:]]
    assert len(slugs) == len(set(slugs)) > 7


def test_queries_per_batch_are_fixed(client, seeded, monkeypatch):
    def queries(batch):
        monkeypatch.setattr(renderers, "CSV_BATCH", batch)
        with CaptureQueriesContext(connection) as captured:
            export_bytes(client, {})
        return len(captured)

    total = len(export_bytes(client, {}).splitlines()) - 1
    one_batch = queries(total + 1)
    two_batches = queries(-(-total // 2))
    size = -(-total // 4)
    several = queries(size)
    per_batch = two_batches - one_batch
    assert 0 < per_batch <= 4  # steps, assessments, identifiers, source URLs
    assert several == one_batch + (-(-total // size) - 1) * per_batch
