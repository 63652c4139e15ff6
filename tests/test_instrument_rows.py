"""The instrument rows built from plain values (api/instrument_rows.py) against the domain rules
and against reviewed golden answers (tests/golden/instrument-rows/, ``make golden``).

The data is built here with tests/factories.py: steps on the same date (life order), steps dated
only ``on_or_before``, an instrument with no steps, assessments with a commencement date and a
verifier, one source cited by several rows, sources with dates and archived URLs, amendment
links both ways across jurisdictions, identifiers in several schemes, unicode titles.

Expected values are written from DOMAIN.md, or are golden files reviewed as literal answers:
never computed with the functions the row builder calls.
"""

from __future__ import annotations

import csv
import datetime
import io
import json

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jurisdictions.api import renderers
from jurisdictions.models import (
    AssessmentSource,
    Identifier,
    Instrument,
    InstrumentAmendment,
    InstrumentSource,
    StatusEventSource,
)
from tests import factories as F
from tests import golden_answers as golden

pytestmark = pytest.mark.django_db

LIST = "/api/v1/instruments/"


def detail_url(slug):
    return reverse("api:instrument-detail", kwargs={"slug": slug})


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=False)


# --- the data ------------------------------------------------------------------------------------
D = datetime.date


@pytest.fixture
def rows_world(django_user_model):
    for code in ("KR", "GB", "US", "US-CA"):
        F.jurisdiction(code, name={"KR": "Korea, Republic of"}.get(code, code))
    for position, slug in enumerate(("possession", "production", "distribution")):
        F.criterion(slug, position=position)
    rita = django_user_model.objects.create_user("rita-reviewer")

    # Sources created out of URL order; one is cited by the instrument, a step and an assessment.
    src_z = F.source(url="https://z.example.org/gazette", title="Gazette", publisher="MOLEG",
                     published_on=D(2024, 6, 1), published_precision="month",
                     accessed_on=D(2026, 1, 2), archived_url="https://web.archive.org/x/z",
                     language="ko")
    src_a = F.source(url="https://a.example.org/bill", title="Bill page", kind="legislature")
    src_m = F.source(url="https://m.example.org/news", title="News", kind="news",
                     published_on=D(2024, 1, 1), published_precision="year")

    main = F.instrument("KR", slug="kr-main", cite=False,
                        title="아동·청소년의 성보호에 관한 법률 — “deepfake” Ünïcode",
                        original_title="아동·청소년의 성보호에 관한 법률", original_language="ko",
                        short_name="청소년성보호법", citation="Act No. 20000",
                        official_url="https://law.go.kr/x", summary="Sümmary", confidence="high")
    for src in (src_z, src_a, src_m):
        InstrumentSource.objects.create(instrument=main, source=src)
    F.event(main, "introduced", "2024-01-10", description="tabled")
    # Same date: created adopted first, passed_chamber second (higher pk): life order puts
    # passed_chamber first (status sequence), so the status on 2024-06-01 is adopted.
    adopted = F.event(main, "adopted", "2024-06-01", cite=False, description="enacted")
    StatusEventSource.objects.create(status_event=adopted, source=src_z)
    StatusEventSource.objects.create(status_event=adopted, source=src_a)
    F.event(main, "passed_chamber", "2024-06-01", description="plenary")
    F.event(main, "in_force", "2025-01-01", precision="on_or_before", description="")
    late = F.assessment(main, "possession", "yes", cite=False, pinpoint="s. 11(5)",
                        note="from 2025-06", commencement_date=D(2025, 6, 1))
    AssessmentSource.objects.create(assessment=late, source=src_z)
    AssessmentSource.objects.create(assessment=late, source=src_m)
    F.assessment(main, "production", "partial", verified_on=D(2026, 3, 4), verified_by=rita)
    F.assessment(main, "distribution", "unclear")
    for scheme, value in (("other", "b"), ("national", "20000"), ("other", "a"),
                          ("eli", "https://eli.example/kr/2024/1")):
        Identifier.objects.create(instrument=main, scheme=scheme, value=value)

    # Amendment links both ways, across jurisdictions (US sorts before US-CA).
    amenders = [F.instrument(code, slug=slug, title=f"Amender {slug}")
                for code, slug in (("US-CA", "aa-california"), ("US", "zz-federal"),
                                   ("GB", "mm-uk"), ("KR", "kr-b"))]
    amended = [F.instrument(code, slug=slug, title=f"Amended {slug}")
               for code, slug in (("US", "a-us"), ("GB", "z-gb"), ("KR", "kr-a"))]
    for other in amenders:
        InstrumentAmendment.objects.create(amending=other, amended=main)
    for other in amended:
        InstrumentAmendment.objects.create(amending=main, amended=other)

    # An instrument with no step at all, citing the same source as kr-main.
    bare = F.instrument("KR", slug="kr-none", cite=False, title="Ünstepped bill")
    InstrumentSource.objects.create(instrument=bare, source=src_a)
    # Every other instrument gets a cited step and a cited assessment, so that every kind of
    # citation query runs whatever the page size.
    for other in [*amenders, *amended]:
        F.event(other, "introduced", "2023-02-03")
        F.assessment(other, "possession", "no")
    return {"main": main, "bare": bare, "rita": rita, "src_z": src_z, "src_a": src_a,
            "src_m": src_m}


# --- domain values -------------------------------------------------------------------------------
def get_detail(client, slug, **params):
    response = client.get(detail_url(slug), params)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize(
    "as_of, status, status_date, precision, approximate, force",
    [
        ("2024-01-09", None, None, None, False, None),
        ("2024-01-10", "introduced", "2024-01-10", "day", False, "NotInForce"),
        # the on_or_before step follows a step dated after as_of: exact
        ("2024-05-31", "introduced", "2024-01-10", "day", False, "NotInForce"),
        # passed_chamber and adopted on the same day: adopted is later in life order
        ("2024-06-01", "adopted", "2024-06-01", "day", True, "NotInForce"),
        ("2024-12-31", "adopted", "2024-06-01", "day", True, "NotInForce"),
        ("2025-01-01", "in_force", "2025-01-01", "on_or_before", False, "InForce"),
    ],
)
def test_status_as_of_follows_life_order_and_on_or_before(
    client, rows_world, as_of, status, status_date, precision, approximate, force
):
    row = get_detail(client, "kr-main", as_of=as_of)
    assert row["as_of"] == as_of
    assert row["status"] == status
    assert row["status_date"] == status_date
    assert row["status_date_precision"] == precision
    assert row["status_approximate"] is approximate
    assert row["legal_force"] == force
    assert row["pending"] is (status in ("introduced", "in_committee", "passed_chamber",
                                         "adopted"))
    assert row["applies"] is (status == "in_force")
    assert [(e["status"], e["date"], e["date_precision"], e["description"])
            for e in row["status_events"]] == [
        ("introduced", "2024-01-10", "day", "tabled"),
        ("passed_chamber", "2024-06-01", "day", "plenary"),
        ("adopted", "2024-06-01", "day", "enacted"),
        ("in_force", "2025-01-01", "on_or_before", ""),
    ]
    assert row["key_dates"] == {
        "introduced": {"date": "2024-01-10", "precision": "day"},
        "adopted": {"date": "2024-06-01", "precision": "day"},
        "in_force": {"date": "2025-01-01", "precision": "on_or_before"},
    }


def test_an_instrument_without_steps(client, rows_world):
    row = get_detail(client, "kr-none", as_of="2026-01-01")
    assert (row["status"], row["status_date"], row["status_date_precision"]) == (None,) * 3
    assert row["status_approximate"] is False
    assert row["legal_force"] is None
    assert row["pending"] is False and row["applies"] is False
    assert row["key_dates"] == {"introduced": None, "adopted": None, "in_force": None}
    assert row["status_events"] == [] and row["assessments"] == []
    assert row["identifiers"] == [] and row["amends"] == [] and row["amended_by"] == []
    assert [s["url"] for s in row["sources"]] == ["https://a.example.org/bill"]
    assert row["title"] == "Ünstepped bill"


def test_assessments_sources_identifiers_and_links(client, rows_world):
    row = get_detail(client, "kr-main", as_of="2025-05-31")
    base = "http://testserver/api/v1/"
    assert row["title"] == "아동·청소년의 성보호에 관한 법률 — “deepfake” Ünïcode"
    assert row["jurisdiction"] == {"code": "KR", "name": "Korea, Republic of", "kind": "country",
                                   "url": base + "jurisdictions/KR/"}
    # criteria by position: possession, production, distribution
    got = [(a["criterion"]["slug"], a["value"], a["commencement_date"], a["counts_on_as_of"],
            a["verified_on"], a["verified_by"]) for a in row["assessments"]]
    assert got == [
        ("possession", "yes", "2025-06-01", False, None, None),
        ("production", "partial", None, True, "2026-03-04", "a reviewer"),
        ("distribution", "unclear", None, True, None, None),
    ]
    assert [s["url"] for s in row["assessments"][0]["sources"]] == [
        "https://m.example.org/news", "https://z.example.org/gazette"]
    assert get_detail(client, "kr-main", as_of="2025-06-01")["assessments"][0][
        "counts_on_as_of"] is True
    # identifiers by scheme, then value
    assert row["identifiers"] == [
        {"scheme": "eli", "value": "https://eli.example/kr/2024/1"},
        {"scheme": "national", "value": "20000"},
        {"scheme": "other", "value": "a"},
        {"scheme": "other", "value": "b"},
    ]
    # sources by URL, with every citation field
    z = rows_world["src_z"]
    assert [s["url"] for s in row["sources"]] == [
        "https://a.example.org/bill", "https://m.example.org/news",
        "https://z.example.org/gazette"]
    assert row["sources"][2] == {
        "url": "https://z.example.org/gazette", "title": "Gazette", "publisher": "MOLEG",
        "kind": "official", "published_on": "2024-06-01", "published_precision": "month",
        "accessed_on": "2026-01-02", "archived_url": "https://web.archive.org/x/z",
        "language": "ko", "api_url": f"{base}sources/{z.pk}/"}
    assert row["sources"][1]["published_precision"] == "year"
    adopted = row["status_events"][2]
    assert adopted["status"] == "adopted"
    assert adopted["ocd_classification"] == "executive-signature"
    assert [s["url"] for s in adopted["sources"]] == [
        "https://a.example.org/bill", "https://z.example.org/gazette"]
    # amendment links: by the other end's jurisdiction code, then slug
    assert [(i["jurisdiction"], i["slug"]) for i in row["amended_by"]] == [
        ("GB", "mm-uk"), ("KR", "kr-b"), ("US", "zz-federal"), ("US-CA", "aa-california")]
    assert [(i["jurisdiction"], i["slug"]) for i in row["amends"]] == [
        ("GB", "z-gb"), ("KR", "kr-a"), ("US", "a-us")]
    assert row["amends"][0] == {"slug": "z-gb", "short_name": "", "title": "Amended z-gb",
                                "instrument_type": "statute", "jurisdiction": "GB",
                                "url": base + "instruments/z-gb/"}
    other = get_detail(client, "a-us")
    assert [i["slug"] for i in other["amended_by"]] == ["kr-main"]
    assert other["amends"] == []


# --- golden answers (reviewed literal values) ---------------------------------------------------
@pytest.mark.golden
@pytest.mark.parametrize("as_of", ["2024-01-09", "2024-06-01", "2025-01-01", "2025-06-01"])
def test_detail_and_list_are_the_golden_answers(request, client, rows_world, as_of):
    for slug in ("kr-main", "kr-none", "a-us", "mm-uk"):
        response = client.get(detail_url(slug), {"as_of": as_of})
        assert response.status_code == 200
        golden.compare_with_golden(request, "instrument-rows", f"{slug}-{as_of}", "json",
                                   golden.render_json(response))
    response = client.get(LIST, {"as_of": as_of, "page_size": 50})
    assert response.status_code == 200
    # default order: jurisdiction code, then slug
    assert [r["slug"] for r in response.json()["results"]] == [
        "mm-uk", "z-gb", "kr-a", "kr-b", "kr-main", "kr-none", "a-us", "zz-federal",
        "aa-california"]
    golden.compare_with_golden(request, "instrument-rows", f"list-{as_of}", "json",
                               golden.render_json(response))


@pytest.mark.parametrize(
    "params, slugs",
    [
        # code points, descending: Hangul > "Ü" > "Amender …" > "Amended …"
        ({"ordering": "-title"}, ["kr-main", "kr-none", "zz-federal", "mm-uk", "kr-b",
                                  "aa-california", "z-gb", "kr-a", "a-us"]),
        ({"ordering": "jurisdiction,-slug"}, ["z-gb", "mm-uk", "kr-none", "kr-main", "kr-b",
                                              "kr-a", "zz-federal", "a-us", "aa-california"]),
        ({"jurisdiction": "KR", "page_size": 2, "page": 2}, ["kr-main", "kr-none"]),
        ({"within": "US", "page_size": 1, "page": 3}, ["aa-california"]),
        ({"status": "adopted", "as_of": "2024-12-31"}, ["kr-main"]),
        ({"search": "unstepped"}, ["kr-none"]),
    ],
)
def test_ordering_filters_and_pages(client, rows_world, params, slugs):
    response = client.get(LIST, params)
    assert response.status_code == 200, response.content
    assert [r["slug"] for r in response.json()["results"]] == slugs


ORDERINGS = ["", "-title", "short_name", "-short_name", "instrument_type,-slug", "-jurisdiction",
             "-created_at", "updated_at,title"]


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_every_page_of_every_ordering_is_a_slice_of_the_whole_list(client, rows_world, ordering):
    """Paging (page_size 1, 2 and 4) neither repeats nor loses a row, and each page is the
    same slice of the whole ordered list, row for row."""
    main = rows_world["main"]
    main.short_name = ""
    main.save()
    params = {"ordering": ordering} if ordering else {}
    whole = client.get(LIST, {**params, "page_size": 500}).json()["results"]
    assert len(whole) == 9
    for size in (1, 2, 4):
        got = []
        for number in range(1, -(-9 // size) + 1):
            response = client.get(LIST, {**params, "page_size": size, "page": number})
            assert response.status_code == 200, response.content
            got += response.json()["results"]
        assert got == whole, size


def test_browsable_list_and_detail(client, rows_world):
    response = client.get(LIST, {"format": "api", "page_size": 1, "page": 5})
    assert response.status_code == 200
    assert "청소년성보호법" in response.content.decode()  # page 5 of 9 is kr-main
    response = client.get(detail_url("KR-MAIN"), {"format": "api"})
    assert response.status_code == 200
    assert "a reviewer" in response.content.decode()
    assert "rita-reviewer" not in response.content.decode()


@pytest.mark.parametrize(
    "params, slugs",
    [
        ({"status": "passed_chamber", "as_of": "2024-06-01"}, []),
        ({"status": "adopted", "as_of": "2024-06-01"}, ["kr-main"]),
        ({"legal_force": "InForce", "as_of": "2025-01-01"}, ["kr-main"]),
        ({"status": "introduced", "jurisdiction": "KR", "as_of": "2024-05-31"},
         ["kr-a", "kr-b", "kr-main"]),
    ],
)
def test_status_filters_agree_with_the_rows(client, rows_world, params, slugs):
    rows = client.get(LIST, params).json()["results"]
    assert [r["slug"] for r in rows] == slugs
    for row in rows:
        if "status" in params:
            assert row["status"] == params["status"]


def test_same_status_same_date_two_precisions(client, rows_world):
    """A step known to the day and the same step reported on_or_before that same date: both are
    kept, in id order; the status and its precision are the later one's (life order)."""
    other = Instrument.objects.get(slug="a-us")
    F.event(other, "in_force", "2024-03-01", precision="on_or_before")
    F.event(other, "in_force", "2024-03-01", precision="day")
    row = get_detail(client, "a-us", as_of="2024-03-01")
    assert [(e["status"], e["date_precision"]) for e in row["status_events"]] == [
        ("introduced", "day"), ("in_force", "on_or_before"), ("in_force", "day")]
    assert (row["status"], row["status_date_precision"]) == ("in_force", "day")
    assert row["key_dates"]["in_force"] == {"date": "2024-03-01", "precision": "on_or_before"}
    assert row["status_approximate"] is False
    # the day before: the on_or_before step may already have happened
    row = get_detail(client, "a-us", as_of="2024-02-29")
    assert (row["status"], row["status_approximate"]) == ("introduced", True)


def test_list_query_count_does_not_grow_with_the_page(client, rows_world):
    counts = {}
    for size in (1, 50):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(LIST, {"page_size": size})
        assert response.status_code == 200
        assert len(response.json()["results"]) == min(size, 9)
        counts[size] = len(captured.captured_queries)
    assert counts[1] == counts[50] <= 13, counts
    with CaptureQueriesContext(connection) as captured:
        client.get(LIST, {"page_size": 1, "page": 5})  # kr-main: every kind of row
    assert len(captured.captured_queries) == counts[1]


# --- CSV -----------------------------------------------------------------------------------------
def csv_of(client, params) -> str:
    response = client.get(LIST, {**params, "format": "csv"})
    assert response.status_code == 200, response.content
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return text


@pytest.mark.golden
@pytest.mark.parametrize(
    "name, params",
    [("all", {}), ("jurisdiction-KR", {"jurisdiction": "KR"}), ("within-US", {"within": "US"}),
     ("adopted-2024-06-01", {"status": "adopted", "as_of": "2024-06-01"}),
     ("as-of-2025-01-01", {"as_of": "2025-01-01"}), ("ordering-title", {"ordering": "-title"})],
)
def test_csv_is_the_golden_answer(request, client, rows_world, name, params):
    # The golden files were written on 2026-12-04; an answer without as_of is as of today.
    with time_machine.travel(datetime.datetime(2026, 12, 4, 12, tzinfo=datetime.timezone.utc)):
        response = client.get(LIST, {**params, "format": "csv"})
    assert response.status_code == 200, response.content
    golden.compare_with_golden(request, "instrument-rows", f"csv-{name}", "csv",
                               golden.render_csv(response))


def test_csv_query_count_does_not_grow_with_the_rows(client, rows_world):
    counts = []
    for more in (0, 25):
        for n in range(more):
            extra = F.instrument("GB", slug=f"gb-extra-{n}")
            F.event(extra, "introduced", "2024-01-01")
            F.assessment(extra, "production", "yes")
            Identifier.objects.create(instrument=extra, scheme="national", value=str(n))
        with CaptureQueriesContext(connection) as captured:
            text = csv_of(client, {})
        assert len(text.splitlines()) == 1 + 9 + more
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1] <= 8, counts


def test_csv_cells(client, rows_world):
    rows = list(csv.DictReader(io.StringIO(
        csv_of(client, {"jurisdiction": "KR", "as_of": "2024-06-01"}).lstrip("\ufeff"))))
    main = next(r for r in rows if r["slug"] == "kr-main")
    assert (main["status"], main["status_date"], main["status_date_precision"],
            main["status_approximate"], main["legal_force"]) == (
        "adopted", "2024-06-01", "day", "true", "NotInForce")
    assert main["in_force"] == "2025-01-01" and main["in_force_precision"] == "on_or_before"
    assert main["sources"] == ("https://a.example.org/bill; https://m.example.org/news; "
                               "https://z.example.org/gazette")
    assert main["identifiers"] == ("eli:https://eli.example/kr/2024/1; national:20000; "
                                   "other:a; other:b")
    assert (main["assessment.possession"], main["assessment.production"],
            main["assessment.distribution"]) == ("yes", "partial", "unclear")
    assert main["title"] == "아동·청소년의 성보호에 관한 법률 — “deepfake” Ünïcode"
    bare = next(r for r in rows if r["slug"] == "kr-none")
    assert (bare["status"], bare["status_approximate"], bare["legal_force"]) == (
        "", "false", "")


# --- write answers -------------------------------------------------------------------------------
@pytest.fixture
def editor(account):
    return account("ana-editor", "editor")


def test_patch_and_put_answers_show_the_new_values(rows_world, editor):
    url = detail_url("kr-main")
    tag = editor.get(url)["ETag"]
    response = editor.patch(url, {"title": "Nouveau titre — ü", "summary": "new"},
                            format="json", HTTP_IF_MATCH=tag, HTTP_X_CHANGE_REASON="test")
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["title"] == "Nouveau titre — ü" and answer["summary"] == "new"
    fresh = editor.get(url)
    assert dumps(answer) == dumps(fresh.json())
    # sources replaced by the write: the answer shows the new list, by URL
    response = editor.patch(url, {"sources": ["https://z.example.org/gazette",
                                              "https://a.example.org/bill"]},
                            format="json", HTTP_IF_MATCH=fresh["ETag"])
    assert response.status_code == 200, response.content
    assert [s["url"] for s in response.json()["sources"]] == [
        "https://a.example.org/bill", "https://z.example.org/gazette"]


def test_put_answer(rows_world, editor):
    url = detail_url("kr-none")
    tag = editor.get(url)["ETag"]
    body = {"slug": "kr-none", "jurisdiction": "KR", "instrument_type": "bill",
            "title": "Replaced — ö", "short_name": "SB 1", "sources": [
                "https://z.example.org/gazette", "https://m.example.org/news"]}
    response = editor.put(url, body, format="json", HTTP_IF_MATCH=tag)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["title"], answer["short_name"], answer["instrument_type"]) == (
        "Replaced — ö", "SB 1", "bill")
    assert [s["url"] for s in answer["sources"]] == [
        "https://m.example.org/news", "https://z.example.org/gazette"]
    assert dumps(answer) == dumps(editor.get(url).json())


def test_post_answer(rows_world, editor):
    response = editor.post(LIST, {"slug": "kr-new", "jurisdiction": "kr",
                                  "instrument_type": "bill", "title": "Nëw bill",
                                  "sources": ["https://m.example.org/news"]}, format="json")
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["slug"] == "kr-new" and answer["title"] == "Nëw bill"
    assert answer["status"] is None and answer["status_events"] == []
    assert [s["url"] for s in answer["sources"]] == ["https://m.example.org/news"]
    assert response["Location"] == answer["url"] == "http://testserver/api/v1/instruments/kr-new/"
    assert dumps(answer) == dumps(editor.get(detail_url("kr-new")).json())


def test_options_head_and_accept_csv(client, rows_world, editor):
    assert client.options(LIST).status_code == 200
    assert editor.options(detail_url("kr-main")).status_code == 200
    assert client.head(detail_url("kr-main")).status_code == 200
    response = client.get(LIST, {"jurisdiction": "KR"}, HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8")
    assert [line.split(",")[0] for line in text.lstrip("\ufeff").splitlines()[1:]] == [
        "kr-a", "kr-b", "kr-main", "kr-none"]


# --- found while testing: empty text sorted first (the ordering filter since a371691) -----------
def test_empty_short_names_sort_last_in_both_directions(client, rows_world):
    Instrument.objects.exclude(slug__in=["kr-a", "kr-b"]).update(short_name="")
    Instrument.objects.filter(slug="kr-a").update(short_name="ZZ 9")
    Instrument.objects.filter(slug="kr-b").update(short_name="AB 1")
    for ordering, first_two in (("short_name", ["kr-b", "kr-a"]),
                                ("-short_name", ["kr-a", "kr-b"])):
        rows = client.get(LIST, {"ordering": ordering}).json()["results"]
        assert [r["slug"] for r in rows][:2] == first_two, ordering


def test_csv_in_small_batches_and_formula_cells(client, rows_world, monkeypatch):
    """Batches of two rows (five batches for nine instruments) give the same bytes as one batch;
    cells that start like a formula are neutralised with a quote."""
    Instrument.objects.filter(slug="kr-b").update(title="=HYPERLINK(\"http://x\")",
                                                 summary="@SUM(1)\nline two, \"quoted\"")
    Identifier.objects.create(instrument=Instrument.objects.get(slug="kr-b"), scheme="other",
                              value="-5")
    whole = csv_of(client, {"as_of": "2024-06-01"})
    monkeypatch.setattr(renderers, "CSV_BATCH", 2)
    text = csv_of(client, {"as_of": "2024-06-01"})
    assert text == whole
    assert len(text.lstrip("\ufeff").splitlines()) > 9
    row = next(r for r in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
               if r["slug"] == "kr-b")
    assert row["title"] == "'=HYPERLINK(\"http://x\")"
    assert row["summary"] == "'@SUM(1)\nline two, \"quoted\""
    assert row["identifiers"] == "other:-5"
