"""The public pages (issue 5) through the Django test client, on the real seed data.

Every page answers 200, parses as HTML without a single parse error (html5lib in strict mode,
the WHATWG parsing algorithm), has unique ids, references no other host except outbound source
links, and shows the answers of ``jurisdictions.coverage``; every CSV download parses; bad input
is a 400 page naming the parameter, an unknown code a 404.
"""

import csv
import datetime
import io
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import html5lib
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jurisdictions import coverage
from jurisdictions.choices import ResearchStatus
from jurisdictions.models import Criterion, Instrument, Jurisdiction
from jurisdictions.pages.citation import Citation, tex_escape
from jurisdictions.pages.export import cell_text
from jurisdictions.pages.params import today

pytestmark = pytest.mark.django_db

KOREA_LAW = "kr-sexual-crimes-punishment-act-art-14-2-amendment"
AI = "ai_generated_explicit"
SVG = "{http://www.w3.org/2000/svg}"  # html5lib puts inline SVG in its own namespace

PAGES = [
    "/",
    "/?as_of=2025-01-01",
    "/compare/",
    "/compare/?as_of=2024-01-01&criterion=ai_generated_explicit,possession",
    "/compare/?bloc=EU&research=all",
    "/compare/?region=eastern-asia&scope=own",
    "/compare/?within=US&kind=subdivision",
    "/gaps/",
    "/gaps/?criterion=possession&bloc=EU&as_of=2025-01-01",
    "/gaps/?within=US&scope=own",
    "/map/",
    "/map/?criterion=production&as_of=2024-01-01",
    "/jurisdictions/",
    "/jurisdictions/?q=korea&research=all&as_of=2025-01-01",
    "/jurisdictions/?group=G20&kind=country&criterion=possession",
    "/jurisdictions/KR/",
    "/jurisdictions/us-ca/?scope=own",
    "/jurisdictions/EU/",
    "/jurisdictions/DE/?as_of=2020-01-01",
    "/jurisdictions/AQ/",
    f"/instruments/{KOREA_LAW}/",
    f"/instruments/{KOREA_LAW}/?as_of=2024-01-01",
]


def parse(response):
    """The page as an ElementTree (no namespaces); fails on the first HTML parse error."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    try:
        return parser.parse(response.content.decode("utf-8"))
    except html5lib.html5parser.ParseError as exc:
        pytest.fail(f"{response.request['PATH_INFO']}: invalid HTML: {exc}")


def cell(tree, code: str, criterion: str):
    row = tree.find(f".//tr[@data-code='{code}']")
    assert row is not None, f"no row for {code}"
    found = row.find(f"td[@data-criterion='{criterion}']")
    assert found is not None, f"no {criterion} cell for {code}"
    return found


def text(element) -> str:
    return " ".join("".join(element.itertext()).split())


def csv_rows(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(body[1:])))


# --- every page ---------------------------------------------------------------------------------
@pytest.mark.parametrize("url", PAGES)
def test_page_is_valid_html_and_stays_on_this_host(seeded, client, url):
    response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/html")
    tree = parse(response)

    ids = [e.get("id") for e in tree.iter() if e.get("id")]
    assert len(ids) == len(set(ids)), f"duplicate ids: {[i for i in ids if ids.count(i) > 1]}"
    assert tree.find(".//main") is not None and tree.find(".//h1") is not None
    assert tree.get("lang") == "en"

    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        for attribute in ("src", "href", "action", "data", "poster", "srcset", "xlink:href"):
            value = element.get(attribute)
            if not value:
                continue
            parts = urlsplit(value.strip())
            if parts.scheme in ("", "http", "https") and parts.netloc in ("", "testserver"):
                continue
            # The only way off the site: a plain link to a source, marked as external.
            assert element.tag == "a" and "external" in (element.get("rel") or "").split(), (
                f"{url}: <{element.tag} {attribute}={value!r}> points to another host"
            )
            assert parts.scheme in ("http", "https")
    for style in tree.iter("style"):
        assert "url(" not in (style.text or "") or "url(#" in style.text
    for table in tree.iter("table"):
        for th in table.iter("th"):
            assert th.get("scope") in ("col", "row", "rowgroup", "colgroup"), (
                f"{url}: <th> without scope: {text(th)!r}"
            )


@pytest.mark.parametrize("url", ["/search/?q=korea", "/search/", "/search/?q=%C3%A9"])
def test_search_page_is_valid_html(seeded, client, url):
    test_page_is_valid_html_and_stays_on_this_host(seeded, client, url)


@pytest.mark.parametrize("url", PAGES)
def test_every_page_has_permalink_citation_csv_and_last_change(seeded, client, url):
    tree = parse(client.get(url))
    permalink = tree.find(".//a[@class='permalink']").get("href")
    query = parse_qs(urlsplit(permalink).query)
    assert "as_of" in query, permalink
    requested = parse_qs(urlsplit(url).query)
    for name, values in requested.items():
        assert name in query, f"{name} missing from the permalink {permalink}"
    if "as_of" in requested:
        assert query["as_of"] == requested["as_of"]

    as_of = query["as_of"][0]
    cites = [text(pre) for pre in tree.iter("pre") if "cite" in (pre.get("class") or "")]
    plain, bibtex = cites
    assert f"as of {as_of}" in plain and permalink in plain
    assert f"Retrieved {today().isoformat()}" in plain
    assert bibtex.startswith("@misc{") and "urldate = {" in bibtex and permalink in bibtex

    facts = text(tree.find(".//section[@class='about-page']"))
    assert "Data last changed" in facts and "never" not in facts.split("Data last changed")[1][:12]

    csv_links = [a.get("href") for a in tree.iter("a") if "csv-link" in (a.get("class") or "")]
    assert csv_links
    for href in csv_links:
        assert "format=csv" in href
        assert csv_rows(client.get(href)) is not None


def test_permalink_reproduces_the_matrix(seeded, client):
    first = client.get("/compare/?bloc=eu&criterion=possession&as_of=2024-06-30")
    tree = parse(first)
    permalink = tree.find(".//a[@class='permalink']").get("href")
    assert "bloc=EU" in permalink and "criterion=possession" in permalink
    second = client.get(urlsplit(permalink).path + "?" + urlsplit(permalink).query)
    rows = lambda t: [(r.get("data-code"), [c.get("data-value") for c in r.iter("td")])
                      for r in t.iter("tr") if r.get("data-code")]
    assert rows(parse(second)) == rows(tree) and rows(tree)


# --- real answers -------------------------------------------------------------------------------
def test_korea_cell_changes_with_as_of(seeded, client):
    before = parse(client.get(f"/compare/?jurisdictions=KR&criterion={AI}&as_of=2024-01-01"))
    after = parse(client.get(f"/compare/?jurisdictions=kr&criterion={AI}&as_of=2025-01-01"))
    assert cell(before, "KR", AI).get("data-value") != "yes"
    # the 2020 amendment was in force (from 2 June 2020) but names no means of making the image
    assert cell(before, "KR", AI).get("data-value") == "no"
    yes = cell(after, "KR", AI)
    assert yes.get("data-value") == "yes"
    assert "Yes" in text(yes)
    links = [a.get("href") for a in yes.iter("a")]
    assert f"/instruments/{KOREA_LAW}/" in links


def test_default_matrix_lists_researched_jurisdictions_and_says_so(seeded, client):
    tree = parse(client.get("/compare/"))
    codes = {r.get("data-code") for r in tree.iter("tr") if r.get("data-code")}
    researched = set(
        Jurisdiction.objects.researched().exclude(kind="international").values_list("code", flat=True)
    )
    assert codes == researched
    assert "whose research has started" in text(tree.find(".//p[@class='notice']"))
    everything = parse(client.get("/compare/?research=all&kind=country"))
    assert len([r for r in everything.iter("tr") if r.get("data-code")]) == (
        Jurisdiction.objects.countries().count()
    )
    assert cell(everything, "AQ", AI).get("data-value") == "not_researched"


def test_matrix_cells_match_coverage(seeded, client):
    as_of = datetime.date(2025, 1, 1)
    tree = parse(client.get("/compare/?as_of=2025-01-01"))
    criteria = list(Criterion.objects.filter(retired=False))
    jurisdictions = Jurisdiction.objects.researched().exclude(kind="international")
    expected = coverage.compute(jurisdictions, criteria, as_of)
    for jurisdiction, cells in expected.rows():
        for slug, answer in cells.items():
            shown = cell(tree, jurisdiction.code, slug)
            assert shown.get("data-value") == answer.value, (jurisdiction.code, slug)
            assert ("approximate" in text(shown)) == answer.approximate
            assert ("pending" in text(shown)) == bool(answer.pending)


def test_matrix_query_count_does_not_grow_with_rows(seeded, client):
    with CaptureQueriesContext(connection) as few:
        client.get("/compare/?research=all&kind=supranational")  # one row
    with CaptureQueriesContext(connection) as many:
        client.get("/compare/?research=all&kind=country,subdivision")  # every place
    assert len(many) == len(few) <= 15


def test_gaps_for_the_eu_lists_members_without_yes(seeded, client):
    as_of = datetime.date(2025, 6, 1)
    tree = parse(client.get(f"/gaps/?bloc=EU&criterion={AI}&as_of={as_of}"))
    members = list(Jurisdiction.objects.members_of("EU", as_of))
    answer = coverage.compute(members, Criterion.objects.filter(slug=AI), as_of)
    expected = {
        j.code
        for j, c in answer.column(AI)
        if c.value != "yes" and j.research_status != ResearchStatus.NOT_RESEARCHED
    }
    listed = set()
    for value in ("none", "no", "unclear", "partial"):
        group = tree.find(f".//section[@id='group-{value}']")
        listed |= {r.get("data-code") for r in group.iter("tr") if r.get("data-code")}
    assert expected and listed == expected
    assert "GB" not in listed  # the UK left on 2020-01-31
    assert text(tree.find(".//strong[@id='gap-total']")) == str(len(expected))
    not_researched = tree.find(".//section[@id='group-not_researched']")
    apart = {
        j.code for j in members if j.research_status == ResearchStatus.NOT_RESEARCHED
    }
    assert f"List the {len(apart)} jurisdiction" in text(not_researched)
    pending = {j.code for j, c in answer.column(AI) if c.pending and j.code in expected}
    flagged = {
        r.get("data-code")
        for r in tree.iter("tr")
        if r.get("data-code") in expected and "pending" in text(r)
    }
    assert flagged == pending


def test_home_headline_counts_researched_gaps(seeded, client):
    tree = parse(client.get("/?as_of=2025-01-01"))
    answer = coverage.gaps(AI, datetime.date(2025, 1, 1))
    gaps = sum(n for v, n in answer["counts"].items() if v != "not_researched")
    headline = text(tree.find(".//p[@id='headline']"))
    assert headline.startswith(f"{gaps} of the ")
    assert "as of 2025-01-01" in headline
    figures = tree.find(".//table[@id='figures']")
    labels = [text(th) for th in figures.iter("th") if th.get("scope") == "row"]
    assert "European Union member states" in labels and "Europe (countries)" in labels
    assert tree.find(".//ol[@class='changes']/li") is not None


def test_jurisdiction_page(seeded, client):
    tree = parse(client.get("/jurisdictions/kr/?as_of=2025-01-01"))
    assert "South Korea" in text(tree.find(".//h1"))
    row = tree.find(".//tr[@id='criterion-ai_generated_explicit']")
    assert row.find("td").get("data-value") == "yes"
    assert f"/instruments/{KOREA_LAW}/" in [a.get("href") for a in row.iter("a")]
    assert "Reviewed" in text(tree.find(".//dl"))
    assert tree.find(".//table[@id='timeline']") is not None
    assert tree.find(".//table[@id='sources']") is not None
    # A US state inherits federal law under "applicable", not under "own".
    state = parse(client.get("/jurisdictions/US-CA/"))
    assert "inherited from US" in text(state.find(".//section[@aria-labelledby='inherited-heading']"))
    own = parse(client.get("/jurisdictions/US-CA/?scope=own"))
    assert "inherited from US" not in text(own.find(".//table[@id='coverage']"))
    # A member state shows the EU directive as an obligation, not as its own law.
    germany = parse(client.get("/jurisdictions/DE/"))
    obligations = text(germany.find(".//section[@aria-labelledby='bloc-heading']"))
    eu_law = Instrument.objects.filter(jurisdiction__code="EU").applying(today())
    assert eu_law.exists()
    assert any((i.short_name or i.title) in obligations for i in eu_law)
    germany_table = text(germany.find(".//table[@id='coverage']"))
    assert "inherited from EU" not in germany_table


def test_instrument_page_and_json_ld(seeded, client):
    response = client.get(f"/instruments/{KOREA_LAW}/?as_of=2025-01-01")
    tree = parse(response)
    scripts = [s for s in tree.iter("script") if s.get("type") == "application/ld+json"]
    data = json.loads(scripts[0].text)
    instrument = Instrument.objects.get(slug=KOREA_LAW)
    assert data["@context"] == "https://schema.org" and data["@type"] == "Legislation"
    assert data["name"] == instrument.title
    assert data["legislationLegalForce"] == "https://schema.org/InForce"
    assert data["legislationDate"] == "2024-10-10"
    assert data["jurisdiction"]["identifier"] == "KR"
    assert data["url"] == f"http://testserver/instruments/{KOREA_LAW}/"
    assert data["legislationIdentifier"]
    before = parse(client.get(f"/instruments/{KOREA_LAW}/?as_of=2024-01-01"))
    assert text(before.find(".//dd[@id='legal-force']")) == "—"
    after_passage = parse(client.get(f"/instruments/{KOREA_LAW}/?as_of=2024-10-01"))
    assert text(after_passage.find(".//dd[@id='status']")).startswith("Passed a chamber")
    assert json.loads(
        [s for s in after_passage.iter("script") if s.get("type") == "application/ld+json"][0].text
    )["legislationLegalForce"] == "https://schema.org/NotInForce"

    history = tree.find(".//table[@id='status-history']")
    # each row's first date is the step's (a verification date may follow it)
    dates = [next(row.iter("time")).get("datetime") for row in history.iter("tr")
             if any(True for _ in row.iter("time"))]
    assert dates == sorted(dates)
    assert {"2024-09-26", "2024-10-10", "2024-10-16"} <= set(dates)
    assessments = tree.find(".//table[@id='assessments']")
    row = assessments.find(f".//tr[@data-criterion='{AI}']")
    assert "art. 14-2" in text(row)
    assert any("external" in (a.get("rel") or "") for a in tree.find(".//table[@id='sources']").iter("a"))


def test_date_precision_is_shown(seeded, client):
    # Any instrument with a step known only to the month or the year shows that precision.
    instrument = Instrument.objects.filter(status_events__date_precision__in=["month", "year"]).first()
    if instrument is None:
        pytest.skip("the seed has no step dated to the month or the year")
    tree = parse(client.get(f"/instruments/{instrument.slug}/"))
    history = text(tree.find(".//table[@id='status-history']"))
    assert "month known" in history or "year known" in history


def test_map_colours_countries_from_coverage(seeded, client):
    response = client.get(f"/map/?criterion={AI}&as_of=2025-01-01", HTTP_ACCEPT_ENCODING="identity")
    tree = parse(response)
    svg = tree.find(f".//{SVG}svg")
    assert svg is not None
    korea = [g for g in svg.iter(f"{SVG}g") if g.get("data-code") == "KR"][0]
    assert "v-yes" in korea.get("class")
    assert "South Korea: Yes" in text(korea.find(f"{SVG}title"))
    links = [
        a for a in svg.iter(f"{SVG}a")
        if a.find(f"{SVG}g") is not None and a.find(f"{SVG}g").get("data-code") == "KR"
    ]
    assert links and links[0].get("href").startswith("/jurisdictions/KR/")
    # The same answers as text, for people who cannot see the map.
    table = tree.find(".//section[@id='map-table']")
    assert "South Korea" in text(table)
    gzipped = client.get(f"/map/?criterion={AI}", HTTP_ACCEPT_ENCODING="gzip")
    assert gzipped["Content-Encoding"] == "gzip"


def test_static_stylesheet_is_served_locally(client):
    response = client.get("/static/pages/site.css")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"--v-yes" in body
    # No font, image or stylesheet from another host.
    assert not re.search(rb"url\(\s*['\"]?(https?:)?//", body)
    assert b"@import" not in body and b"@font-face" not in body


# --- CSV ------------------------------------------------------------------------------------------
def test_compare_csv_has_the_cells(seeded, client):
    rows = csv_rows(client.get(f"/compare/?jurisdictions=KR&criterion={AI}&as_of=2025-01-01&format=csv"))
    assert len(rows) == 1
    # The page's CSV is the compare answer's CSV (answers/compare.py), the API's columns.
    assert rows[0]["jurisdiction"] == "KR" and rows[0]["value"] == "yes"
    assert rows[0]["as_of"] == "2025-01-01"
    assert KOREA_LAW in rows[0]["instruments"]
    rows = csv_rows(client.get(f"/compare/?jurisdictions=KR&criterion={AI}&as_of=2024-01-01&format=csv"))
    assert rows[0]["value"] == "no"


def test_gaps_map_home_jurisdiction_instrument_csv(seeded, client):
    gaps = csv_rows(client.get(f"/gaps/?bloc=EU&criterion={AI}&format=csv"))
    api = client.get(f"/api/v1/gaps/?bloc=EU&criterion={AI}").json()
    # The listed jurisdictions (gaps and not researched); the covered ones are counted apart.
    assert {r["code"] for r in gaps} == {j["code"] for g in api["groups"].values() for j in g}
    assert len(gaps) + api["covered_count"] == Jurisdiction.objects.members_of(
        "EU", today()).count()
    assert {r["group"] for r in gaps} <= set(api["groups"])
    countries = csv_rows(client.get(f"/map/?criterion={AI}&format=csv"))
    assert len(countries) == Jurisdiction.objects.countries().count()
    home = csv_rows(client.get("/?format=csv"))
    assert home[0]["group"] == "All researched jurisdictions"
    for table in ("coverage", "instruments", "timeline", "sources"):
        assert csv_rows(client.get(f"/jurisdictions/KR/?format=csv&table={table}"))
    for table in ("status", "assessments", "sources"):
        assert csv_rows(client.get(f"/instruments/{KOREA_LAW}/?format=csv&table={table}"))


def test_csv_cells_cannot_run_as_formulas():
    assert cell_text("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert cell_text("-1") == "'-1"
    assert cell_text(["a", "b"]) == "a; b"
    assert cell_text(None) == "" and cell_text(True) == "true"
    assert cell_text(datetime.date(2024, 9, 1)) == "2024-09-01"


# --- citations -----------------------------------------------------------------------------------
def test_bibtex_escapes_tex():
    citation = Citation(
        title="Gaps: 100% & more_things #1",
        as_of=datetime.date(2025, 1, 1),
        retrieved=datetime.date(2025, 2, 3),
        last_changed=datetime.date(2025, 1, 30),
        url="http://example.test/gaps/?as_of=2025-01-01",
        key_hint="gaps",
    )
    bibtex = citation.bibtex()
    assert r"100\% \& more\_things \#1" in bibtex
    assert "urldate = {2025-02-03}" in bibtex and "year = {2025}" in bibtex
    assert "Data as of 2025-01-01; data last changed 2025-01-30; retrieved 2025-02-03" in bibtex
    assert citation.plain().startswith("lawtracker (2025). Gaps: 100% & more_things #1, as of 2025-01-01")
    assert tex_escape("a\\b") == r"a\textbackslash{}b"


# --- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url, parameter",
    [
        ("/compare/?as_of=2024-13-01", "as_of"),
        ("/compare/?as_of=yesterday", "as_of"),
        ("/compare/?as_of=20240101", "as_of"),
        ("/compare/?criterion=nonsense", "criterion"),
        ("/compare/?bloc=KR", "bloc"),
        ("/compare/?region=atlantis", "region"),
        ("/compare/?kind=planet", "kind"),
        ("/compare/?within=ZZ", "within"),
        ("/compare/?jurisdictions=KR,XX", "jurisdictions"),
        ("/compare/?jurisdicton=KR", "jurisdicton"),
        ("/compare/?research=some", "research"),
        ("/compare/?scope=mine", "scope"),
        ("/compare/?format=xml", "format"),
        ("/compare/?as_of=2024-01-01&as_of=2025-01-01", "as_of"),
        ("/gaps/?criterion=nonsense", "criterion"),
        ("/gaps/?as_of=0000-01-01", "as_of"),
        ("/map/?criterion=%00", "criterion"),
        ("/compare/?jurisdictions=K%00R", "jurisdictions"),
        ("/map/?page=2", "page"),
        ("/map/?a%00b=1", "a\ufffdb"),
        ("/?as_of=2025-02-30", "as_of"),
        ("/jurisdictions/KR/?as_of=x", "as_of"),
        ("/jurisdictions/KR/?table=everything&format=csv", "table"),
        (f"/instruments/{KOREA_LAW}/?scope=own", "scope"),
        (f"/instruments/{KOREA_LAW}/?as_of=2024-1-1", "as_of"),
    ],
)
def test_bad_parameters_get_a_400_page_naming_them(seeded, client, url, parameter):
    response = client.get(url)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    tree = parse(response)
    named = [tr.get("data-parameter") for tr in tree.iter("tr") if tr.get("data-parameter")]
    assert parameter in named


def test_several_bad_parameters_are_all_named(seeded, client):
    tree = parse(client.get("/compare/?as_of=x&criterion=y&bloc=z&foo=1"))
    named = {tr.get("data-parameter") for tr in tree.iter("tr") if tr.get("data-parameter")}
    assert named == {"as_of", "criterion", "bloc", "foo"}


@pytest.mark.parametrize(
    "url",
    [
        "/jurisdictions/XX/",
        "/jurisdictions/%3Cscript%3E/",
        "/jurisdictions/K%00R/",
        "/instruments/no-such-law/",
        "/instruments/a%00b/",
    ],
)
def test_unknown_codes_and_slugs_are_404(seeded, client, url):
    assert client.get(url).status_code == 404


def test_pages_only_read(seeded, client):
    assert client.post("/compare/").status_code == 405
    assert client.head("/gaps/").status_code == 200


# --- colour contrast (WCAG 2.x AA) -----------------------------------------------------------------
def _luminance(hex_colour: str) -> float:
    """Relative luminance, WCAG 2.x definition (sRGB)."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_value_colours_meet_wcag_aa_contrast():
    css = (Path(__file__).resolve().parent.parent / "jurisdictions/static/pages/site.css").read_text()
    variables = dict(re.findall(r"--([a-z_-]+):\s*(#[0-9a-fA-F]{6})", css))
    for name in ("v-yes", "v-partial", "v-unclear", "v-no", "v-none", "v-not_researched"):
        for ink in ("text", "link"):
            ratio = _contrast(variables[name], variables[ink])
            assert ratio >= 4.5, f"{ink} on {name}: {ratio:.2f}"
    for ink in ("text", "link", "link-visited", "muted"):
        assert _contrast(variables["bg"], variables[ink]) >= 4.5
        assert _contrast(variables["panel"], variables[ink]) >= 4.5
    assert _contrast(variables["accent"], "#ffffff") >= 4.5
