"""One meaning per selection parameter (issue 16): the API, the pages and their CSVs select the
same jurisdictions for the same parameters, the parameters narrow together (AND), groups of
countries select their members, and a 400 suggests the closest accepted name or code."""

from __future__ import annotations

import csv
import datetime
import io
import re
from html import escape as html_escape

import pytest
from django.urls import reverse

from jurisdictions.groups import groups

AS_OF = "2025-06-01"


def _csv_rows(response) -> list[dict]:
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def api_compare(client, params) -> list[str]:
    response = client.get(reverse("api:compare"), params)
    assert response.status_code == 200, response.content[:500]
    return [row["jurisdiction"]["code"] for row in response.json()["rows"]]


def api_compare_csv(client, params) -> list[str]:
    rows = _csv_rows(client.get(reverse("api:compare"), {**params, "format": "csv"}))
    return list(dict.fromkeys(row["jurisdiction"] for row in rows))


def page_compare(client, params) -> list[str]:
    response = client.get(reverse("pages:compare"), params)
    assert response.status_code == 200, response.content[:500]
    return re.findall(r'<tr data-code="([^"]+)">', response.content.decode())


def page_compare_csv(client, params) -> list[str]:
    rows = _csv_rows(client.get(reverse("pages:compare"), {**params, "format": "csv"}))
    return list(dict.fromkeys(row["jurisdiction"] for row in rows))


def api_gaps(client, params) -> set[str]:
    response = client.get(reverse("api:gaps"), params)
    assert response.status_code == 200, response.content[:500]
    return {j["code"] for members in response.json()["groups"].values() for j in members}


def page_gaps_csv(client, params) -> set[str]:
    rows = _csv_rows(client.get(reverse("pages:gaps"), {**params, "format": "csv"}))
    return {row["code"] for row in rows if row["group"] != "yes"}


# The combinations that disagreed before issue 16 (the API added the parameters up, the pages
# narrowed), and a few more; research=all so that the page does not drop not-researched rows.
COMBINATIONS = [
    {"bloc": "EU", "within": "US"},
    {"bloc": "EU"},
    {"within": "US"},
    {"within": "US", "kind": "subdivision"},
    {"bloc": "EU", "jurisdictions": "FR,US,DE,KR"},
    {"group": "G7"},
    {"group": "G20", "region": "europe"},
    {"bloc": "EU", "region": "northern-europe"},
    {"jurisdictions": "kr,gb,us-ca"},
]


@pytest.mark.parametrize("params", COMBINATIONS)
def test_api_json_page_and_both_csvs_select_the_same_jurisdictions(client, seeded, params):
    params = {**params, "research": "all", "as_of": AS_OF, "criterion": "possession"}
    api = api_compare(client, params)
    assert api_compare_csv(client, params) == api
    assert page_compare(client, params) == api
    assert page_compare_csv(client, params) == api
    gaps_params = {k: v for k, v in params.items() if k != "research"}
    assert api_gaps(client, gaps_params) == page_gaps_csv(client, gaps_params)


def test_selection_parameters_narrow_together(client, seeded):
    params = {"research": "all", "as_of": AS_OF, "criterion": "possession"}
    assert api_compare(client, {**params, "bloc": "EU", "within": "US"}) == []
    eu = api_compare(client, {**params, "bloc": "EU"})
    assert len(eu) == 27 and "DE" in eu and "GB" not in eu
    assert api_compare(client, {**params, "bloc": "EU", "jurisdictions": "FR,US,DE"}) == [
        "FR", "DE"
    ]
    states = api_compare(client, {**params, "within": "US", "kind": "subdivision"})
    assert "US" not in states and "US-CA" in states and all(c.startswith("US-") for c in states)


def test_group_selects_its_members_and_nothing_is_inherited(client, seeded):
    params = {"research": "all", "as_of": AS_OF, "criterion": "possession"}
    g20 = api_compare(client, {**params, "group": "g20"})
    # The 19 countries and the EU, never the EU's other members nor any subdivision.
    assert len(g20) == 20
    assert {"AR", "US", "KR", "DE", "FR", "IT", "EU", "ZA"} <= set(g20)
    assert "NL" not in g20 and not any("-" in code for code in g20)
    assert api_compare(client, {**params, "group": "G7"}) == [
        "CA", "DE", "FR", "GB", "IT", "JP", "US"
    ]
    assert page_compare(client, {**params, "group": "G7"}) == [
        "CA", "DE", "FR", "GB", "IT", "JP", "US"
    ]


def test_dated_group_memberships_follow_as_of():
    oecd = groups()["OECD"]
    assert "KR" in oecd.member_codes(datetime.date(1996, 12, 31))
    assert "KR" not in oecd.member_codes(datetime.date(1995, 12, 31))
    un = groups()["UN"]
    assert len(un.member_codes(datetime.date(2026, 1, 1))) == 193
    assert "DE" not in un.member_codes(datetime.date(1972, 6, 1))


def test_compare_takes_criterion_with_criteria_as_an_alias(client, seeded):
    base = {"jurisdictions": "KR,GB", "as_of": AS_OF}
    new = client.get(reverse("api:compare"), {**base, "criterion": "possession,production"})
    old = client.get(reverse("api:compare"), {**base, "criteria": "possession,production"})
    assert new.status_code == old.status_code == 200
    assert new.json()["rows"] == old.json()["rows"]
    assert new.json()["criteria"] == ["possession", "production"]
    assert "criterion=possession,production" in new.json()["permalink"]
    both = client.get(reverse("api:compare"), {**base, "criterion": "possession",
                                               "criteria": "production"})
    assert both.status_code == 400 and "criteria" in both.json()["errors"]


@pytest.mark.parametrize(
    "url,params,name,suggestion",
    [
        ("api:compare", {"jurisdictions": "KR", "criterio": "possession"}, "criterio",
         "criterion"),
        ("api:gaps", {"criteria": "possession"}, "criteria", "criterion"),
        ("api:compare", {"jurisdictions": "KR,UK"}, "jurisdictions", "GB"),
        ("api:compare", {"within": "Germany"}, "within", "DE"),
        ("api:gaps", {"criterion": "posession"}, "criterion", "possession"),
        ("api:gaps", {"criterion": "possession", "bloc": "UN"}, "bloc", "group=UN"),
        ("api:gaps", {"criterion": "possession", "group": "G21"}, "group", "G20"),
        ("api:gaps", {"criterion": "possession", "region": "eastern-asai"}, "region",
         "eastern-asia"),
        ("pages:compare", {"criteria": "possession"}, "criteria", "criterion"),
        ("pages:gaps", {"criterion": "possession", "jurisdictions": "UK"}, "jurisdictions",
         "GB"),
        ("api:jurisdiction-list", {"code": "UK"}, "code", "GB"),
    ],
)
def test_a_400_suggests_the_closest_accepted_name_or_code(client, seeded, url, params, name,
                                                          suggestion):
    response = client.get(reverse(url), params)
    assert response.status_code == 400
    body = response.content.decode()
    if url.startswith("api:"):
        message = " ".join(response.json()["errors"][name])
    else:
        message = body
    assert suggestion in message, message
    assert name in body


def test_collections_take_group_and_refuse_a_group_as_a_bloc(client, seeded):
    response = client.get(reverse("api:jurisdiction-list"), {"group": "G7", "page_size": 50})
    assert response.status_code == 200
    assert [j["code"] for j in response.json()["results"]] == [
        "CA", "DE", "FR", "GB", "IT", "JP", "US"
    ]
    response = client.get(reverse("api:instrument-list"), {"group": "g7", "format": "csv"})
    codes = {row["jurisdiction"] for row in _csv_rows(response)}
    assert codes and all(code.split("-")[0] in {"CA", "DE", "FR", "GB", "IT", "JP", "US"}
                         for code in codes)
    for url in ("api:jurisdiction-list", "api:instrument-list"):
        response = client.get(reverse(url), {"bloc": "UN"})
        assert response.status_code == 400
        assert "group=UN" in " ".join(response.json()["errors"]["bloc"])


# --- finding things -------------------------------------------------------------------------
def test_jurisdiction_index_groups_by_region_and_kind_with_headline_values(client, seeded):
    response = client.get(reverse("pages:jurisdictions"), {"as_of": AS_OF})
    assert response.status_code == 200
    html = response.content.decode()
    codes = re.findall(r'<tr data-code="([^"]+)">', html)
    assert "KR" in codes and "EU" in codes
    assert "<h2 id=\"region-1\">Africa</h2>" in html or "Americas" in html
    page_csv = _csv_rows(client.get(reverse("pages:jurisdictions"),
                                    {"as_of": AS_OF, "format": "csv"}))
    assert sorted(row["code"] for row in page_csv) == sorted(codes)
    korea = next(row for row in page_csv if row["code"] == "KR")
    assert korea["region"] == "Asia" and korea["subregion"] == "Eastern Asia"
    # The headline value is the gaps answer's for the same question and date.
    gaps = client.get(reverse("api:gaps"), {"criterion": korea["criterion"], "as_of": AS_OF,
                                            "jurisdictions": "KR"}).json()
    value = next(v for v, members in gaps["groups"].items() if members) if any(
        gaps["groups"].values()) else "yes"
    assert korea["value"] == value
    # The selection parameters narrow it like every page.
    g7 = _csv_rows(client.get(reverse("pages:jurisdictions"),
                              {"group": "G7", "research": "all", "format": "csv"}))
    assert sorted(row["code"] for row in g7) == ["CA", "DE", "FR", "GB", "IT", "JP", "US"]


@pytest.mark.parametrize(
    "q,jurisdiction,instrument_text",
    [
        ("cote d'ivoire", "CI", None),
        ("CÔTE D'IV", "CI", None),
        ("us-ca", "US-CA", None),
        ("korea", "KR", None),
        ("1466A", None, "1466A"),
    ],
)
def test_search_finds_jurisdictions_and_instruments(client, seeded, q, jurisdiction,
                                                    instrument_text):
    response = client.get(reverse("pages:search"), {"q": q})
    assert response.status_code == 200
    html = response.content.decode()
    if jurisdiction:
        found = html.split('id="jurisdiction-results"')[1].split("</ul>")[0]
        assert f'<span class="code">{jurisdiction}</span>' in found
    if instrument_text:
        found = html.split('id="instrument-results"')[1].split("</ul>")[0]
        assert instrument_text in found


def test_every_page_has_the_search_box(client, seeded):
    for url in ("/", "/compare/", "/gaps/", "/jurisdictions/", "/methodology/",
                "/jurisdictions/KR/"):
        html = client.get(url).content.decode()
        assert 'role="search"' in html and 'action="/search/"' in html, url


# --- citable rows ---------------------------------------------------------------------------
def test_compare_and_gaps_rows_name_their_primary_source(client, seeded):
    params = {"jurisdictions": "KR", "criterion": "ai_generated_explicit", "as_of": AS_OF}
    api = _csv_rows(client.get(reverse("api:compare"), {**params, "format": "csv"}))
    page = _csv_rows(client.get(reverse("pages:compare"), {**params, "format": "csv"}))
    assert api[0]["instruments"] and api[0]["source_url"].startswith("http")
    for name in ("source_title", "source_publisher", "source_url", "source_published_on"):
        assert api[0][name] == page[0][name], name
    body = client.get(reverse("api:compare"), params).json()
    sources = [s for d in body["rows"][0]["cells"]["ai_generated_explicit"]["instruments"]
               for s in d["sources"]]
    assert api[0]["source_url"] in [s["url"] for s in sources]
    assert all("published_on" in s for s in sources)
    # Gaps: every row decided by an instrument names a source, in both CSVs and on the page.
    gap = {"criterion": "ai_generated_explicit", "bloc": "EU", "as_of": AS_OF}
    api_gaps = _csv_rows(client.get(reverse("api:gaps"), {**gap, "format": "csv"}))
    page_gaps = {row["code"]: row for row in _csv_rows(
        client.get(reverse("pages:gaps"), {**gap, "format": "csv"}))}
    decided = [row for row in api_gaps if row["instruments"]]
    assert decided
    for row in decided:
        assert row["source_url"].startswith("http"), row["code"]
        assert page_gaps[row["code"]]["source_url"] == row["source_url"]
    html = client.get(reverse("pages:gaps"), gap).content.decode()
    assert html_escape(decided[0]["source_url"]) in html


def test_compare_csv_has_a_wide_layout(client, seeded):
    params = {"jurisdictions": "KR,GB", "criterion": "possession,ai_generated_explicit",
              "as_of": AS_OF, "format": "csv"}
    long = _csv_rows(client.get(reverse("api:compare"), params))
    # One wide layout: the page's CSV is the API's (answers/compare.py).
    for url in ("api:compare", "pages:compare"):
        wide = _csv_rows(client.get(reverse(url), {**params, "layout": "wide"}))
        assert [row["jurisdiction"] for row in wide] == ["KR", "GB"]
        for row in long:
            line = next(w for w in wide if w["jurisdiction"] == row["jurisdiction"])
            assert line[row["criterion"]] == row["value"]
    bad = client.get(reverse("api:compare"), {**params, "layout": "tall"})
    assert bad.status_code == 400 and "layout" in bad.json()["errors"]


def test_home_page_counts_subdivisions_under_both_scopes(client, seeded):
    rows = {row["group"]: row for row in _csv_rows(client.get("/", {"format": "csv",
                                                                    "as_of": AS_OF}))}
    applies = rows["States, provinces and other subdivisions: covered by the law that applies"]
    own = rows["States, provinces and other subdivisions: has legislated itself"]
    assert applies["scope"] == own["scope"] == "applicable"  # the page's scope, as asked
    assert applies["researched"] == own["researched"]
    # Federal law covers every researched US state; not every state has legislated itself.
    assert int(own["gaps"]) > int(applies["gaps"])
    gaps = client.get(reverse("api:gaps"), {"criterion": "ai_generated_explicit", "as_of": AS_OF,
                                            "kind": "subdivision", "scope": "own"}).json()
    assert int(own["gaps"]) == sum(len(members) for value, members in gaps["groups"].items()
                                   if value != "not_researched")


def test_map_takes_the_selection_parameters(client, seeded):
    rows = _csv_rows(client.get(reverse("pages:map"), {"group": "G7", "format": "csv",
                                                       "as_of": AS_OF}))
    # The map's CSV is the compare answer's CSV of its countries.
    assert [row["jurisdiction"] for row in rows] == ["CA", "DE", "FR", "GB", "IT", "JP", "US"]
    api = api_compare(client, {"group": "G7", "kind": "country", "research": "all",
                               "as_of": AS_OF})
    assert [row["jurisdiction"] for row in rows] == api
    html = client.get(reverse("pages:map"), {"bloc": "EU", "region": "western-europe"})
    assert html.status_code == 200
    assert client.get(reverse("pages:map"), {"bloc": "UN"}).status_code == 400


def test_map_has_a_europe_inset_and_a_pattern_for_every_value(client, seeded):
    html = client.get(reverse("pages:map"), {"as_of": AS_OF}).content.decode()
    assert 'class="worldmap europemap"' in html and 'viewBox="1100 110 480 370"' in html
    for value in ("partial", "unclear", "no", "none"):
        assert html.count(f'id="map-pat-{value}"') == 1
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    # Every European country of the world map is drawn again in the inset.
    world, europe = html.split('class="worldmap europemap"')
    europe = europe.split("</svg>")[0]
    assert 'data-code="MT"' in world and 'data-code="MT"' in europe
    assert 'data-code="KR"' in world and 'data-code="KR"' not in europe
