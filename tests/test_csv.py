"""CSV output (format=csv or Accept: text/csv) of every list and analysis endpoint: UTF-8 with a
byte-order mark, flat columns, formula injection neutralised, every filtered row streamed."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from jurisdictions.api import renderers, views
from jurisdictions.models import Event, Instrument, Source
from tests import factories as f

pytestmark = pytest.mark.django_db

LISTS = [f"{basename}-list" for _, _, basename in views.ROUTES]


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def read_csv(response) -> list[dict]:
    assert response.status_code == 200, body_of(response)[:500]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    raw = body_of(response)
    assert raw.startswith("\ufeff".encode())  # the BOM, so that spreadsheets read UTF-8
    text = raw.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def csv_get(client, name, params=None, accept=False, **kwargs):
    url = reverse(f"api:{name}", kwargs=kwargs or None)
    if accept:
        return client.get(url, params or {}, HTTP_ACCEPT="text/csv")
    return client.get(url, {**(params or {}), "format": "csv"})


@pytest.mark.parametrize("name", LISTS)
def test_every_list_exports_every_filtered_row_not_one_page(client, world, name):
    everything = client.get(reverse(f"api:{name}"), {"page_size": 500}).json()
    response = csv_get(client, name, {"page_size": 2, "page": 1})
    assert response.streaming
    rows = read_csv(response)
    assert len(rows) == everything["count"] > 2
    assert response["Content-Disposition"].startswith('attachment; filename="')


@pytest.mark.parametrize("name", LISTS)
def test_accept_text_csv_works_like_format_csv(client, world, name):
    assert read_csv(csv_get(client, name, accept=True)) == read_csv(csv_get(client, name))


def test_batches_neither_repeat_nor_skip_rows(client, world, monkeypatch):
    monkeypatch.setattr(renderers, "CSV_BATCH", 3)
    rows = read_csv(csv_get(client, "source-list", {"ordering": "-url"}))
    urls = [r["url"] for r in rows]
    assert urls == sorted(Source.objects.values_list("url", flat=True), reverse=True)


def test_a_csv_round_trips_the_json_values(client, world):
    rows = read_csv(csv_get(client, "instrument-list", {"jurisdiction": "KR",
                                                        "as_of": "2024-10-16"}))
    assert [r["slug"] for r in rows] == ["kr-2024-amendment", "kr-act"]
    amendment, act = rows
    assert act["original_title"] == "성폭력범죄의 처벌 등에 관한 특례법"
    assert (amendment["status"], amendment["legal_force"], amendment["as_of"]) == (
        "in_force", "InForce", "2024-10-16"
    )
    assert (amendment["introduced"], amendment["introduced_precision"]) == ("2024-08-01", "month")
    assert (amendment["assessment.possession"], amendment["assessment.production"]) == ("yes", "")
    assert act["assessment.possession"] == "no"
    assert amendment["status_approximate"] == "false"
    assert "https://news.example.org/kr-deepfakes" in amendment["sources"].split("; ")
    assert amendment["url"].endswith("/api/v1/instruments/kr-2024-amendment/")  # no ?format=csv
    jurisdictions = read_csv(csv_get(client, "jurisdiction-list",
                                     {"code": "KR,GB,BR-SP", "as_of": "2019-06-01"}))
    by_code = {r["code"]: r for r in jurisdictions}
    assert by_code["BR-SP"]["name"] == "São Paulo"
    assert by_code["GB"]["blocs_on_as_of"] == "EU"
    assert by_code["KR"]["coverage.possession"] == "no"
    assert by_code["KR"]["coverage.production"] == "yes"
    assert by_code["BR-SP"]["coverage.possession"] == "not_researched"
    assert by_code["BR-SP"]["intermediate_region"] == "South America"


def test_other_lists_have_flat_columns(client, world):
    (event,) = read_csv(csv_get(client, "event-list", {"slug": "operation-cumberland"}))
    assert event["figures"] == "arrests=25; suspects=273"
    assert event["jurisdictions"] == "DE; EU"
    (step,) = read_csv(csv_get(client, "status-event-list", {"instrument": "us-oh-bill",
                                                            "status": "introduced"}))
    assert (step["jurisdiction"], step["date"], step["date_precision"]) == (
        "US-OH", "2025-03-01", "month"
    )
    (assessment,) = read_csv(csv_get(client, "assessment-list", {"verified_after": "2026-01-01"}))
    assert (assessment["criterion"], assessment["pinpoint"], assessment["verified_by"]) == (
        "possession", "art. 14-2", "a reviewer"  # no username for the public (issue 18)
    )
    criteria = read_csv(csv_get(client, "criterion-list"))
    assert [(c["slug"], c["retired"]) for c in criteria] == [
        ("possession", "false"), ("production", "false"), ("old_question", "true")
    ]


DANGEROUS = ["=HYPERLINK(\"http://evil.example\")", "+1+2", "-3+4", "@SUM(A1)", "\tcmd",
             "\rcmd"]


def test_cells_that_would_start_a_formula_are_neutralised(client, world):
    for i, text in enumerate(DANGEROUS):
        # Written past validation: a tab or carriage return may no longer start a single line
        # of text (jurisdictions/text.py), but a stored one must still come out neutralised.
        f.source(f"https://example.org/formula/{i}")
        Source.objects.filter(url=f"https://example.org/formula/{i}").update(
            title=text, publisher=text)
    Instrument.objects.filter(slug="kr-act").update(summary="=1+1", notes="@cmd")
    Event.objects.filter(slug="kr-police-report").update(title="-2+3")
    sources = {r["url"]: r for r in read_csv(csv_get(client, "source-list",
                                                      {"search": "example.org/formula"}))}
    assert len(sources) == len(DANGEROUS)
    for i, text in enumerate(DANGEROUS):
        row = sources[f"https://example.org/formula/{i}"]
        assert row["title"] == "'" + text
        assert row["publisher"] == "'" + text
    (act,) = read_csv(csv_get(client, "instrument-list", {"slug": "kr-act"}))
    assert (act["summary"], act["notes"]) == ("'=1+1", "'@cmd")
    (report,) = read_csv(csv_get(client, "event-list", {"slug": "kr-police-report"}))
    assert report["title"] == "'-2+3"
    # Values that merely contain those characters are left alone.
    assert act["slug"] == "kr-act" and "'" not in act["url"]


def test_the_renderer_neutralises_every_dangerous_start():
    for text in DANGEROUS:
        assert renderers.cell_text(text) == "'" + text
    assert renderers.cell_text(["=a", "b"]) == "'=a; b"
    assert renderers.cell_text(None) == ""
    assert renderers.cell_text(True) == "true"
    assert renderers.cell_text("a=b") == "a=b"
    lines = list(renderers.csv_lines(["h"], [["x,y\n\"z\""]]))
    assert list(csv.reader(io.StringIO("".join(lines).lstrip("\ufeff")))) == [
        ["h"], ["x,y\n\"z\""]
    ]


def test_compare_as_csv_has_one_line_per_jurisdiction_and_criterion(client, world):
    rows = read_csv(csv_get(client, "compare", {"jurisdictions": "KR,US-CA",
                                                 "as_of": "2024-10-16"}))
    assert [(r["jurisdiction"], r["criterion"], r["value"]) for r in rows] == [
        ("KR", "possession", "yes"), ("KR", "production", "yes"),
        ("US-CA", "possession", "yes"), ("US-CA", "production", "yes"),
    ]
    ca = rows[2]
    assert (ca["instruments"], ca["inherited_from"], ca["as_of"]) == ("us-federal", "US",
                                                                     "2024-10-16")
    assert rows[0]["sources"].startswith("https://")
    accepted = read_csv(csv_get(client, "compare", {"jurisdictions": "KR,US-CA",
                                                     "as_of": "2024-10-16"}, accept=True))
    assert accepted == rows


def test_gaps_timeline_and_changes_as_csv(client, world):
    gaps = read_csv(csv_get(client, "gaps", {"criterion": "possession", "within": "US",
                                              "scope": "own", "as_of": "2026-01-01"}))
    assert [(r["group"], r["code"], r["pending"], r["pending_instruments"]) for r in gaps] == [
        ("none", "US-OH", "true", "us-oh-bill")
    ]
    timeline = read_csv(csv_get(client, "jurisdiction-timeline", {"as_of": "2026-01-01"},
                                code="KR"))
    assert [(r["date"], r["type"]) for r in timeline][:3] == [
        ("2010-04-15", "status_event"), ("2010-04-15", "status_event"),
        ("2024-08-01", "status_event"),
    ]
    changes = read_csv(csv_get(client, "changes", {"model": "criterion", "page_size": 1}))
    assert sorted(r["key"] for r in changes) == ["old_question", "possession", "production"]
    assert {r["change_type"] for r in changes} == {"created"}
