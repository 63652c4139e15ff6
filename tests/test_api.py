"""The collections and analysis endpoints of /api/v1/, through HTTP, on the hand-made world
(tests/world.py)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jurisdictions.api.views import ROUTES
from jurisdictions.models import EventSource, Instrument

pytestmark = pytest.mark.django_db


def get(client, name, params=None, **kwargs):
    return client.get(reverse(f"api:{name}", kwargs=kwargs or None), params or {})


def ok(client, name, params=None, **kwargs):
    response = get(client, name, params, **kwargs)
    assert response.status_code == 200, response.content[:2000]
    return response.json()


def keys(data, key="code"):
    return [row[key] for row in data["results"]]


# --- collections: shapes and lookups ----------------------------------------------------------
LISTS = [
    ("jurisdiction-list", 11),
    ("instrument-list", 10),
    ("status-event-list", 19),
    ("criterion-list", 3),
    ("assessment-list", 16),
    ("source-list", 49),
    ("event-list", 3),
]


@pytest.mark.parametrize("name,count", LISTS)
def test_every_list_is_paginated_with_count_next_previous(client, world, name, count):
    data = ok(client, name, {"page_size": 2})
    assert set(data) == {"count", "next", "previous", "results"}
    assert data["count"] == count
    assert len(data["results"]) == 2
    assert data["previous"] is None
    assert "page=2" in data["next"] and "page_size=2" in data["next"]


def test_the_api_root_lists_collections_and_analysis(client, world):
    data = ok(client, "api-root")
    assert data["status-events"].endswith("/api/v1/status-events/")
    assert data["compare"].endswith("/api/v1/compare/")
    assert data["changes"].endswith("/api/v1/changes/")
    assert data["coverage-history"].endswith("/api/v1/coverage-history/")
    assert data["coverage-changes"].endswith("/api/v1/coverage-changes/")
    assert data["alert-digests"].endswith("/api/v1/alert-digests/")


@pytest.mark.parametrize("code", ["us-ca", "US-CA", "Us-Ca"])
def test_jurisdictions_are_addressed_by_code_in_any_case(client, world, code):
    data = ok(client, "jurisdiction-detail", code=code)
    assert data["code"] == "US-CA"
    assert data["name"] == "California"
    assert data["parent"]["code"] == "US"
    assert data["parent"]["url"].endswith("/api/v1/jurisdictions/US/")
    assert data["regions"] == {
        "region": "Americas",
        "subregion": "Northern America",
        "intermediate_region": None,
    }


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("jurisdiction-detail", {"code": "XX"}),
        ("jurisdiction-detail", {"code": "US-ZZ"}),
        ("jurisdiction-timeline", {"code": "ZZ"}),
        ("instrument-detail", {"slug": "no-such-law"}),
        ("criterion-detail", {"slug": "no_such_question"}),
        ("event-detail", {"slug": "no-such-event"}),
        ("status-event-detail", {"pk": 999999}),
        ("assessment-detail", {"pk": 999999}),
        ("source-detail", {"pk": 999999}),
    ],
)
def test_unknown_keys_in_a_path_are_404(client, world, name, kwargs):
    response = get(client, name, **kwargs)
    assert response.status_code == 404
    assert "detail" in response.json()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/sources/abc/",
        "/api/v1/sources/99999999999999999999999/",
        "/api/v1/status-events/-1/",
        "/api/v1/jurisdictions/K%20R/",
        "/api/v1/instruments/%00/",
        "/api/v1/jurisdictions/KR/timeline/extra/",
    ],
)
def test_malformed_keys_in_a_path_are_404_never_500(client, world, path):
    assert client.get(path).status_code == 404


def test_other_keys_are_case_insensitive_too(client, world):
    assert ok(client, "instrument-detail", slug="KR-ACT")["slug"] == "kr-act"
    assert ok(client, "criterion-detail", slug="POSSESSION")["slug"] == "possession"
    assert ok(client, "event-detail", slug="Operation-Cumberland")["slug"] == (
        "operation-cumberland"
    )


def test_ids_address_steps_assessments_and_sources(client, world):
    step = world.i["kr-2024-amendment"].status_events.get(status="adopted")
    data = ok(client, "status-event-detail", pk=step.pk)
    assert data["instrument"]["slug"] == "kr-2024-amendment"
    assert data["ocd_classification"] == "executive-signature"
    assert [s["url"] for s in data["sources"]][-1] == "https://news.example.org/kr-deepfakes"
    assessment = world.i["kr-2024-amendment"].assessments.get()
    data = ok(client, "assessment-detail", pk=assessment.pk)
    assert (data["criterion"]["slug"], data["value"], data["pinpoint"]) == (
        "possession", "yes", "art. 14-2"
    )
    assert data["verified_by"] == "a reviewer"  # no username for the public (issue 18)
    data = ok(client, "source-detail", pk=world.s["eurlex"].pk)
    assert data["url"] == "https://eur-lex.europa.eu/eli/dir/2011/93/oj"
    assert data["api_url"].endswith(f"/api/v1/sources/{world.s['eurlex'].pk}/")


def test_a_jurisdiction_row_shows_research_status_review_date_and_coverage(client, world):
    data = ok(client, "jurisdiction-detail", {"as_of": "2024-10-15"}, code="KR")
    assert data["research_status"] == "reviewed"
    assert data["last_reviewed_on"] == "2025-06-30"
    assert data["common_name"] == "South Korea"
    assert data["as_of"] == "2024-10-15"
    assert data["coverage"]["possession"] == {"value": "no", "approximate": False,
                                              "pending": True, "basis": None,
                                              "verified_on": None}
    assert data["coverage"]["production"]["value"] == "yes"
    assert "old_question" not in data["coverage"]  # retired criteria are not answered
    after = ok(client, "jurisdiction-detail", {"as_of": "2024-10-16"}, code="KR")
    # issue 15: the deciding assessment's basis and verification come with the value.
    assert after["coverage"]["possession"] == {"value": "yes", "approximate": False,
                                               "pending": False, "basis": "text",
                                               "verified_on": "2026-10-01"}


def test_jurisdiction_coverage_follows_scope(client, world):
    applicable = ok(client, "jurisdiction-detail", {"as_of": "2026-01-01"}, code="US-OH")
    own = ok(client, "jurisdiction-detail", {"as_of": "2026-01-01", "scope": "own"},
             code="US-OH")
    assert applicable["coverage"]["possession"]["value"] == "yes"  # federal law, inherited
    assert own["coverage"]["possession"] == {"value": "none", "approximate": False,
                                             "pending": True, "basis": None,
                                             "verified_on": None}
    not_researched = ok(client, "jurisdiction-detail", code="FR")
    assert not_researched["coverage"]["possession"]["value"] == "not_researched"


def test_bloc_memberships_carry_dates_and_membership_on_as_of(client, world):
    before = ok(client, "jurisdiction-detail", {"as_of": "2020-01-31"}, code="gb")
    after = ok(client, "jurisdiction-detail", {"as_of": "2020-02-01"}, code="gb")
    (membership,) = before["bloc_memberships"]
    assert membership["bloc"]["code"] == "EU"
    assert (membership["start_date"], membership["end_date"]) == ("1973-01-01", "2020-01-31")
    assert membership["member_on_as_of"] is True
    assert after["bloc_memberships"][0]["member_on_as_of"] is False


def test_an_instrument_row_shows_status_and_legal_force_as_of(client, world):
    def at(as_of):
        return ok(client, "instrument-detail", {"as_of": as_of}, slug="us-oh-bill")

    assert at("2025-02-28")["status"] is None
    assert at("2025-02-28")["legal_force"] is None
    assert (at("2025-03-15")["status"], at("2025-03-15")["status_date_precision"]) == (
        "introduced", "month"
    )
    assert at("2025-03-15")["legal_force"] == "NotInForce"
    assert at("2025-03-15")["pending"] is True
    assert at("2025-05-01")["status"] == "in_committee"
    law = ok(client, "instrument-detail", {"as_of": "2024-10-16"}, slug="kr-2024-amendment")
    assert (law["status"], law["legal_force"], law["applies"]) == ("in_force", "InForce", True)


def test_an_instrument_row_has_key_dates_identifiers_assessments_sources_and_links(
    client, world
):
    law = ok(client, "instrument-detail", slug="kr-2024-amendment")
    assert law["key_dates"] == {
        "introduced": {"date": "2024-08-01", "precision": "month"},
        "adopted": {"date": "2024-10-16", "precision": "day"},
        "in_force": {"date": "2024-10-16", "precision": "day"},
    }
    assert [s["status"] for s in law["status_events"]] == ["introduced", "adopted", "in_force"]
    assert law["status_events"][0]["date_precision"] == "month"
    assert law["assessments"][0]["criterion"]["slug"] == "possession"
    assert law["assessments"][0]["verified_on"] == "2026-10-01"
    assert "https://news.example.org/kr-deepfakes" in [s["url"] for s in law["sources"]]
    assert [a["slug"] for a in law["amends"]] == ["kr-act"]
    statute = ok(client, "instrument-detail", slug="kr-act")
    assert [a["slug"] for a in statute["amended_by"]] == ["kr-2024-amendment"]
    assert statute["original_title"] == "성폭력범죄의 처벌 등에 관한 특례법"
    recast = ok(client, "instrument-detail", slug="eu-recast")
    assert recast["identifiers"] == [
        {"scheme": "celex", "value": "52024PC0060"},
        {"scheme": "procedure", "value": "2024/0035(COD)"},
    ]


def test_a_status_resting_on_an_on_or_before_step_is_approximate(client, world):
    before = ok(client, "instrument-detail", {"as_of": "2013-06-01"}, slug="eu-csa-directive")
    assert (before["status"], before["status_approximate"]) == ("adopted", True)
    after = ok(client, "instrument-detail", {"as_of": "2014-01-01"}, slug="eu-csa-directive")
    assert (after["status"], after["status_approximate"]) == ("in_force", False)
    assert after["status_date_precision"] == "on_or_before"


def test_an_assessment_before_its_own_commencement_does_not_count(client, world):
    law = ok(client, "instrument-detail", {"as_of": "2024-12-31"}, slug="us-ca-ab1831")
    counts = {a["criterion"]["slug"]: a["counts_on_as_of"] for a in law["assessments"]}
    assert counts == {"possession": True, "production": False}


def test_an_event_row_has_figures_jurisdictions_and_sources(client, world):
    data = ok(client, "event-detail", slug="operation-cumberland")
    assert data["figures"] == {"arrests": 25, "suspects": 273}
    assert [j["code"] for j in data["jurisdictions"]] == ["DE", "EU"]
    assert data["instrument"] is None
    deadline = ok(client, "event-detail", slug="eu-transposition-deadline")
    assert deadline["instrument"]["slug"] == "eu-csa-directive"


# --- fixed query counts -----------------------------------------------------------------------
# Each list endpoint does the same number of queries for one row and for fifty (prefetching,
# no per-row queries), with filters on. The numbers are pinned: a change is deliberate.
QUERY_COUNTS = [
    # Jurisdictions: the page and its count, memberships, criteria, and coverage read from the
    # spans without sources (three queries: the spans, the deciding assessments, their
    # statuses; the rows show values, never sources).
    ("jurisdiction-list", {"kind": "country,subdivision", "as_of": "2026-01-01"}, 7),
    ("jurisdiction-list", {"search": "a", "research_status": "reviewed,in_progress"}, 7),
    # Instruments: the page's keys with the count (one query), its rows read as plain values,
    # and eleven queries that build them (api/instrument_rows.py); within= adds its levels.
    ("instrument-list", {"status": "in_force,introduced,in_committee", "as_of": "2026-01-01"},
     13),
    ("instrument-list", {"within": "US", "ordering": "-title"}, 17),
    ("status-event-list", {"date_after": "2000-01-01", "status": "in_force,introduced"}, 3),
    ("criterion-list", {"retired": "false", "ordering": "-position"}, 2),
    ("criterion-list", {"search": "o"}, 3),
    ("assessment-list", {"criterion": "possession,production", "value": "yes,partial"}, 4),
    ("source-list", {"kind": "official,news"}, 2),
    ("event-list", {"date_after": "2010-01-01", "jurisdiction": "EU,KR"}, 5),
]


@pytest.mark.parametrize("name,params,expected", QUERY_COUNTS)
def test_list_query_count_is_the_same_for_one_row_and_fifty(client, world, name, params,
                                                            expected):
    counts = []
    for page_size in (1, 50):
        with CaptureQueriesContext(connection) as queries:
            data = ok(client, name, {**params, "page_size": page_size})
        assert data["count"] >= 2, "the filters must leave several rows"
        counts.append(len(queries))
    assert counts == [expected, expected]


def test_instrument_pages_count_with_the_page_and_refuse_a_page_past_the_last(client, world):
    # The instrument list reads the count in the page's own query (Pagination.paginate_keys).
    everything = [r["slug"] for r in ok(client, "instrument-list", {"page_size": 500})["results"]]
    total = Instrument.objects.count()
    assert len(everything) == total >= 5
    pages = [ok(client, "instrument-list", {"page_size": 2, "page": n})
             for n in range(1, (total + 1) // 2 + 1)]
    assert {page["count"] for page in pages} == {total}
    assert [r["slug"] for page in pages for r in page["results"]] == everything
    assert pages[0]["previous"] is None and pages[-1]["next"] is None
    past = (total + 1) // 2 + 1
    response = get(client, "instrument-list", {"page_size": 2, "page": past})
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "page": [f"Page {past} is past the last page ({past - 1})."]
    }
    empty = ok(client, "instrument-list", {"jurisdiction": "KR", "as_of": "1900-01-01",
                                           "status": "in_force"})
    assert (empty["count"], empty["results"], empty["next"]) == (0, [], None)


def test_csv_exports_do_a_fixed_number_of_queries_per_batch(client, world, monkeypatch):
    # A fixed number for the export (the criteria, the instruments read in batches from one
    # cursor), and a fixed number per batch (steps, assessments, identifiers, sources' URLs).
    from jurisdictions.api import renderers

    counts = {}
    for batch in (500, 5, 3):  # 1, 2 and 4 batches of the 10 instruments
        monkeypatch.setattr(renderers, "CSV_BATCH", batch)
        with CaptureQueriesContext(connection) as queries:
            response = get(client, "instrument-list", {"format": "csv"})
            lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
        assert len(lines) == 1 + 10
        counts[-(-10 // batch)] = len(queries)
    per_batch = counts[2] - counts[1]
    assert 0 < per_batch <= 4, counts
    assert counts[4] == counts[1] + 3 * per_batch, counts
    assert counts[1] - per_batch <= 2, counts


# --- strict parameters ------------------------------------------------------------------------
def test_an_unknown_parameter_is_400_naming_it_and_listing_the_accepted_ones(client, world):
    response = get(client, "instrument-list", {"jurisdicton": "KR"})
    assert response.status_code == 400
    body = response.json()
    # The 400 suggests the closest accepted name (issue 16).
    assert body["errors"] == {"jurisdicton": ["Unknown parameter. Did you mean 'jurisdiction'?"]}
    assert "jurisdiction" in body["accepted_parameters"]
    assert {"as_of", "page", "page_size", "format", "ordering", "search"} <= set(
        body["accepted_parameters"]
    )


def test_detail_views_accept_only_their_own_parameters(client, world):
    response = get(client, "jurisdiction-detail", {"kind": "country"}, code="KR")
    assert response.status_code == 400
    assert response.json()["accepted_parameters"] == ["as_of", "format", "scope"]
    response = get(client, "criterion-detail", {"as_of": "2024-01-01"}, slug="possession")
    assert response.status_code == 400
    assert response.json()["accepted_parameters"] == ["format"]


def test_a_parameter_given_twice_is_400(client, world):
    response = client.get(reverse("api:instrument-list") + "?status=adopted&status=in_force")
    assert response.status_code == 400
    assert "comma-separated" in response.json()["errors"]["status"][0]


@pytest.mark.parametrize(
    "params,param",
    [
        ({"as_of": "2024-02-30"}, "as_of"),
        ({"as_of": "30/09/2024"}, "as_of"),
        ({"as_of": "2024-9-30"}, "as_of"),
        ({"status": "in_force,enacted"}, "status"),
        ({"jurisdiction": "KR,XX"}, "jurisdiction"),
        ({"covers": "possession,no_such"}, "covers"),
        ({"page": "0"}, "page"),
        ({"page": "two"}, "page"),
        ({"page": "9"}, "page"),
        ({"page_size": "-5"}, "page_size"),
        ({"page_size": "1.5"}, "page_size"),
        ({"ordering": "slug,price"}, "ordering"),
        ({"format": "xml"}, "format"),
        ({"introduced_after": "2024-01-02", "introduced_before": "2024-01-01"},
         "introduced_after"),
    ],
)
def test_malformed_values_are_400_naming_the_parameter(client, world, params, param):
    response = get(client, "instrument-list", params)
    assert response.status_code == 400
    body = response.json()
    assert param in body["errors"], body
    assert body["accepted_parameters"]


def test_page_size_is_capped(client, world, settings):
    data = ok(client, "status-event-list", {"page_size": "100000"})
    assert len(data["results"]) == 19  # every row: well under the cap of 500
    data = ok(client, "status-event-list", {"page_size": "5", "page": "4"})
    assert len(data["results"]) == 4 and data["next"] is None


def test_the_page_size_cap_applies(client, world, monkeypatch):
    from jurisdictions.api.pagination import Pagination

    monkeypatch.setattr(Pagination, "max_page_size", 4)
    data = ok(client, "status-event-list", {"page_size": "100"})
    assert len(data["results"]) == 4
    assert "page=2" in data["next"]


def test_pages_never_repeat_or_skip_rows(client, world):
    # Many instruments share a jurisdiction and a type: the primary key breaks the ties.
    seen = []
    for page in range(1, 11):
        data = ok(client, "instrument-list", {"ordering": "instrument_type", "page_size": 1,
                                              "page": page})
        seen += keys(data, "slug")
    assert sorted(seen) == sorted(Instrument.objects.values_list("slug", flat=True))
    assert len(set(seen)) == 10


def test_csv_on_a_detail_is_refused(client, world):
    response = get(client, "jurisdiction-detail", {"format": "csv"}, code="KR")
    assert response.status_code == 400
    assert "format" in response.json()["errors"]
    response = client.get(reverse("api:jurisdiction-detail", kwargs={"code": "KR"}),
                          HTTP_ACCEPT="text/csv")
    assert response.status_code == 406


def test_errors_are_json_even_when_csv_is_asked_for(client, world):
    response = get(client, "instrument-list", {"format": "csv", "status": "nope"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert "status" in response.json()["errors"]
    response = client.get(reverse("api:gaps"), HTTP_ACCEPT="text/csv")
    assert response.status_code == 400
    assert response.json()["errors"]["criterion"]


def test_anonymous_writes_are_not_allowed(client, world):
    response = client.post(reverse("api:jurisdiction-list"), {"code": "ZZ"})
    assert response.status_code == 401
    response = client.delete(reverse("api:instrument-detail", kwargs={"slug": "kr-act"}))
    assert response.status_code == 401
    assert Instrument.objects.filter(slug="kr-act").exists()


# --- timeline ---------------------------------------------------------------------------------
def test_a_timeline_lists_steps_and_events_in_date_order_with_precision(client, world):
    data = ok(client, "jurisdiction-timeline", {"as_of": "2026-01-01"}, code="kr")
    assert data["as_of"] == "2026-01-01"
    assert data["jurisdiction"]["code"] == "KR"
    rows = [(i["date"], i["date_precision"], i["type"], i["status"] or i["kind"])
            for i in data["items"]]
    assert rows == [
        ("2010-04-15", "day", "status_event", "adopted"),
        ("2010-04-15", "day", "status_event", "in_force"),
        ("2024-08-01", "month", "status_event", "introduced"),
        ("2024-09-01", "month", "event", "report"),
        ("2024-10-16", "day", "status_event", "adopted"),
        ("2024-10-16", "day", "status_event", "in_force"),
    ]
    assert data["count"] == 6
    assert data["items"][2]["instrument"]["slug"] == "kr-2024-amendment"
    assert data["permalink"].endswith("/api/v1/jurisdictions/KR/timeline/?as_of=2026-01-01")


def test_a_timeline_stops_at_as_of_and_includes_instrument_events(client, world):
    data = ok(client, "jurisdiction-timeline", {"as_of": "2024-09-30"}, code="KR")
    assert [i["date"] for i in data["items"]][-1] == "2024-09-01"
    eu = ok(client, "jurisdiction-timeline", {"as_of": "2014-01-01"}, code="EU")
    assert ("2013-12-18", "event", "transposition_deadline") in [
        (i["date"], i["type"], i["kind"]) for i in eu["items"]
    ]
    assert ("2013-12-18", "on_or_before") in [(i["date"], i["date_precision"])
                                              for i in eu["items"]]


def test_a_permalink_reproduces_the_answer(client, world):
    data = ok(client, "jurisdiction-timeline", {"as_of": "2024-09-30"}, code="KR")
    again = client.get(data["permalink"]).json()
    assert again == data


# --- compare ----------------------------------------------------------------------------------
def compare(client, **params):
    return ok(client, "compare", params)


def test_compare_answers_the_contract_shape(client, world):
    data = compare(client, jurisdictions="KR,gb,US-CA", criteria="possession,production",
                   as_of="2026-01-01")
    assert set(data) >= {"as_of", "criteria", "rows", "permalink", "scope"}
    assert data["as_of"] == "2026-01-01"
    assert data["criteria"] == ["possession", "production"]
    assert [r["jurisdiction"]["code"] for r in data["rows"]] == ["KR", "GB", "US-CA"]
    cell = data["rows"][0]["cells"]["possession"]
    assert set(cell) >= {"value", "approximate", "instruments", "pending", "bloc_obligations"}
    (decider,) = cell["instruments"]
    assert decider["slug"] == "kr-2024-amendment"
    assert decider["url"].endswith("/api/v1/instruments/kr-2024-amendment/")
    assert decider["inherited"] is False
    assert decider["value"] == "yes"
    citations = world.i["kr-2024-amendment"].assessments.get().citations.order_by("pk")
    assert [s["url"] for s in decider["sources"]] == [c.source.url for c in citations]


def test_compare_shows_korea_before_and_after_its_amendment(client, world):
    before = compare(client, jurisdictions="KR", criteria="possession", as_of="2024-10-15")
    after = compare(client, jurisdictions="KR", criteria="possession", as_of="2024-10-16")
    assert before["rows"][0]["cells"]["possession"]["value"] == "no"
    assert [p["slug"] for p in before["rows"][0]["cells"]["possession"]["pending"]] == [
        "kr-2024-amendment"
    ]
    assert after["rows"][0]["cells"]["possession"]["value"] == "yes"


def test_compare_marks_inherited_law_and_shows_bloc_obligations(client, world):
    data = compare(client, jurisdictions="US-CA,DE,EU", criteria="possession",
                   as_of="2024-06-01")
    ca, de, eu = (r["cells"]["possession"] for r in data["rows"])
    assert ca["value"] == "yes"
    assert [(d["slug"], d["inherited"], d["jurisdiction"]) for d in ca["instruments"]] == [
        ("us-federal", True, "US")
    ]
    assert [d["slug"] for d in de["bloc_obligations"]] == ["eu-csa-directive"]
    assert [d["slug"] for d in de["instruments"]] == ["de-stgb-184b"]
    assert de["pending"] == []  # the EU's recast is pending for the EU, not inherited
    assert [d["slug"] for d in eu["pending"]] == ["eu-recast"]


def test_compare_scope_own_shows_ohio_as_a_gap_with_its_pending_bill(client, world):
    data = compare(client, jurisdictions="US-OH", criteria="possession", as_of="2026-01-01",
                   scope="own")
    cell = data["rows"][0]["cells"]["possession"]
    assert (cell["value"], [p["slug"] for p in cell["pending"]]) == ("none", ["us-oh-bill"])
    assert data["scope"] == "own"


def test_compare_marks_answers_resting_on_an_on_or_before_step_as_approximate(client, world):
    data = compare(client, jurisdictions="EU", criteria="possession", as_of="2013-06-01")
    assert data["rows"][0]["cells"]["possession"]["approximate"] is True
    data = compare(client, jurisdictions="EU", criteria="possession", as_of="2014-06-01")
    assert data["rows"][0]["cells"]["possession"]["approximate"] is False


def test_compare_selection_parameters_narrow_together(client, world):
    # Issue 16: bloc and within narrow together (AND), as on the pages; they used to add up.
    data = compare(client, bloc="eu", within="US", criteria="possession", as_of="2019-06-01")
    assert data["rows"] == []
    assert "bloc=EU" in data["permalink"] and "within=US" in data["permalink"]
    data = compare(client, bloc="eu", criterion="possession", as_of="2019-06-01")
    assert [r["jurisdiction"]["code"] for r in data["rows"]] == ["DE", "FR", "GB"]
    data = compare(client, bloc="eu", jurisdictions="US,FR,KR,DE", criterion="possession",
                   as_of="2019-06-01")
    assert [r["jurisdiction"]["code"] for r in data["rows"]] == ["FR", "DE"]
    data = compare(client, within="US", kind="subdivision", criterion="possession")
    assert [r["jurisdiction"]["code"] for r in data["rows"]] == ["US-CA", "US-OH"]


def test_compare_defaults_to_every_current_criterion(client, world):
    data = compare(client, jurisdictions="KR")
    assert data["criteria"] == ["possession", "production"]


def test_compare_refuses_to_answer_for_the_whole_table(client, world):
    response = get(client, "compare", {"criteria": "possession"})
    assert response.status_code == 400
    assert "jurisdictions" in response.json()["errors"]


@pytest.mark.parametrize(
    "params,param",
    [
        ({"jurisdictions": "KR,XX"}, "jurisdictions"),
        ({"jurisdictions": "KR", "criteria": "possession,telepathy"}, "criteria"),
        ({"jurisdictions": "KR", "scope": "everything"}, "scope"),
        ({"jurisdictions": "KR", "as_of": "2023-02-29"}, "as_of"),
        ({"bloc": "KR"}, "bloc"),
        ({"within": "ZZ"}, "within"),
        ({"jurisdictions": "KR", "jurisdiction": "GB"}, "jurisdiction"),
    ],
)
def test_compare_names_the_bad_parameter(client, world, params, param):
    response = get(client, "compare", params)
    assert response.status_code == 400
    assert param in response.json()["errors"]


def test_compare_permalink_reproduces_the_answer(client, world):
    data = compare(client, jurisdictions="KR,US-CA", as_of="2024-10-16")
    assert "criterion=possession,production" in data["permalink"]
    assert client.get(data["permalink"]).json() == data


# --- gaps -------------------------------------------------------------------------------------
def gap_codes(data):
    return {value: [j["code"] for j in group] for value, group in data["groups"].items()}


def test_gaps_for_the_eu_bloc_lists_members_without_yes_and_unresearched_apart(client, world):
    data = ok(client, "gaps", {"criterion": "production", "bloc": "EU", "as_of": "2026-01-01"})
    assert data["criterion"] == "production"
    assert gap_codes(data) == {"none": [], "no": [], "unclear": [], "partial": ["DE"],
                               "not_researched": ["FR"]}
    assert data["counts"] == {"none": 0, "no": 0, "unclear": 0, "partial": 1,
                              "not_researched": 1}
    assert data["covered_count"] == 0
    before_brexit = ok(client, "gaps", {"criterion": "possession", "bloc": "EU",
                                        "as_of": "2019-06-01"})
    # Germany's section 184b applies from 2021; the UK was a member until 2020-01-31.
    assert gap_codes(before_brexit)["none"] == ["DE", "GB"]
    assert gap_codes(before_brexit)["not_researched"] == ["FR"]
    assert before_brexit["covered_count"] == 0


def test_gaps_scope_own_within_the_us_flags_pending_bills(client, world):
    data = ok(client, "gaps", {"criterion": "possession", "within": "US", "scope": "own",
                               "as_of": "2026-01-01"})
    assert gap_codes(data)["none"] == ["US-OH"]
    (ohio,) = data["groups"]["none"]
    assert ohio["pending"] is True
    assert [p["slug"] for p in ohio["pending_instruments"]] == ["us-oh-bill"]
    assert data["pending"] == ["US-OH"]
    applicable = ok(client, "gaps", {"criterion": "possession", "within": "US",
                                     "as_of": "2026-01-01"})
    assert gap_codes(applicable)["none"] == []


def test_gaps_without_a_selection_covers_every_place_but_organisations(client, world):
    data = ok(client, "gaps", {"criterion": "possession", "as_of": "2026-01-01"})
    listed = [code for group in gap_codes(data).values() for code in group]
    assert "UN" not in listed
    assert sorted(gap_codes(data)["not_researched"]) == ["BR", "BR-SP", "FR"]
    countries = ok(client, "gaps", {"criterion": "possession", "kind": "country",
                                    "as_of": "2026-01-01"})
    assert "BR-SP" not in gap_codes(countries)["not_researched"]


@pytest.mark.parametrize(
    "params,param",
    [
        ({}, "criterion"),
        ({"criterion": "telepathy"}, "criterion"),
        ({"criterion": "possession,production"}, "criterion"),
        ({"criterion": "possession", "bloc": "DE"}, "bloc"),
        ({"criterion": "possession", "kind": "planet"}, "kind"),
        ({"criterion": "possession", "as_of": "yesterday"}, "as_of"),
    ],
)
def test_gaps_names_the_bad_parameter(client, world, params, param):
    response = get(client, "gaps", params)
    assert response.status_code == 400
    assert param in response.json()["errors"]


def test_gaps_permalink_reproduces_the_answer(client, world):
    data = ok(client, "gaps", {"criterion": "possession", "bloc": "EU"})
    assert client.get(data["permalink"]).json() == data


# --- changes ----------------------------------------------------------------------------------
def test_changes_lists_edits_newest_first_with_keys_and_types(client, world):
    data = ok(client, "changes", {"page_size": 500})
    assert data["count"] == len(data["results"]) > 50
    dates = [c["date"] for c in data["results"]]
    assert dates == sorted(dates, reverse=True)
    instrument = next(c for c in data["results"] if c["model"] == "instrument"
                      and c["key"] == "kr-act")
    assert instrument["change"] == "+" and instrument["change_type"] == "created"
    assert instrument["url"].endswith("/api/v1/instruments/kr-act/")
    step = next(c for c in data["results"] if c["model"] == "status_event"
                and c["key"] == "kr-2024-amendment introduced 2024-08-01")
    assert step["url"].endswith(f"/api/v1/status-events/{step['object_id']}/")


def test_changes_records_edits_and_deletes_with_their_user(client, world):
    law = Instrument.objects.get(slug="kr-act")  # fresh: earlier tests' edits rolled back
    law.summary = "Edited."
    law._history_user = world.editor
    law.save()
    link = EventSource.objects.filter(event=world.e["operation-cumberland"]).first()
    link.delete()
    data = ok(client, "changes", {"page_size": 2})
    latest, edit = data["results"]
    assert (latest["model"], latest["change"], latest["url"]) == ("event_source", "-", None)
    assert latest["key"].startswith("operation-cumberland cites ")
    assert (edit["model"], edit["key"], edit["change_type"], edit["user"]) == (
        "instrument", "kr-act", "changed", "an editor"  # no username for the public
    )


def test_changes_filters_by_since_model_and_change(client, world):
    law = Instrument.objects.get(slug="kr-act")
    law.summary = "Edited again."
    law.save()
    data = ok(client, "changes", {"model": "instrument", "change": "changed"})
    assert [(c["model"], c["key"]) for c in data["results"]] == [("instrument", "kr-act")]
    since = data["results"][0]["date"]
    data = ok(client, "changes", {"since": since})
    assert [c["key"] for c in data["results"]] == ["kr-act"]
    assert data["since"] == since
    none = ok(client, "changes", {"as_of": "2020-01-01"})
    assert none["count"] == 0 and none["as_of"] == "2020-01-01"


@pytest.mark.parametrize(
    "params,param",
    [
        ({"since": "2024-02-30"}, "since"),
        ({"since": "last week"}, "since"),
        ({"since": "2030-01-01", "as_of": "2025-01-01"}, "since"),
        ({"model": "user"}, "model"),
        ({"change": "+"}, "change"),
        ({"page": "99"}, "page"),
    ],
)
def test_changes_names_the_bad_parameter(client, world, params, param):
    response = get(client, "changes", params)
    assert response.status_code == 400
    assert param in response.json()["errors"]


# --- the browsable API ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name,kwargs,params",
    [
        ("api-root", {}, {}),
        *[(f"{basename}-list", {}, {"page_size": 2}) for basename in (
            "jurisdiction", "instrument", "status-event", "criterion", "assessment", "source",
            "event")],
        ("jurisdiction-detail", {"code": "KR"}, {}),
        ("jurisdiction-timeline", {"code": "KR"}, {}),
        ("instrument-detail", {"slug": "kr-act"}, {}),
        ("compare", {}, {"jurisdictions": "KR"}),
        ("gaps", {}, {"criterion": "possession"}),
        ("changes", {}, {"page_size": 2}),
        ("instrument-list", {}, {"status": "nope"}),
    ],
)
def test_the_browsable_api_renders_every_view(client, world, name, kwargs, params):
    response = client.get(reverse(f"api:{name}", kwargs=kwargs or None), {**params,
                                                                           "format": "api"})
    assert response.status_code in (200, 400)
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "<html" in html


# --- the documented fields are the fields served ----------------------------------------------
@pytest.mark.parametrize("prefix,viewset,basename", ROUTES)
def test_rows_have_exactly_the_documented_fields(client, world, prefix, viewset, basename):
    data = ok(client, f"{basename}-list", {"page_size": 500})
    documented = list(viewset.serializer_class().fields)
    assert all(list(row) == documented for row in data["results"])


def test_nested_objects_have_exactly_the_documented_fields(client, world):
    from jurisdictions.api import serializers as s

    law = ok(client, "instrument-detail", slug="kr-2024-amendment")
    assert list(law["jurisdiction"]) == list(s.JurisdictionBriefSerializer().fields)
    assert list(law["status_events"][0]) == list(s.StepSerializer().fields)
    assert list(law["assessments"][0]) == list(s.InstrumentAssessmentSerializer().fields)
    assert list(law["assessments"][0]["criterion"]) == list(s.CriterionBriefSerializer().fields)
    assert list(law["sources"][0]) == list(s.SourceBriefSerializer().fields)
    assert list(law["amends"][0]) == list(s.InstrumentBriefSerializer().fields)
    recast = ok(client, "instrument-detail", slug="eu-recast")
    assert list(recast["identifiers"][0]) == list(s.IdentifierSerializer().fields)
    gb = ok(client, "jurisdiction-detail", code="GB")
    assert list(gb["bloc_memberships"][0]) == list(s.MembershipSerializer().fields)
    event = ok(client, "event-detail", slug="eu-transposition-deadline")
    assert list(event["instrument"]) == list(s.InstrumentBriefSerializer().fields)
