"""One question, one answer (issue 16; STYLE.md, "One answer per question"): the API (JSON), the
page (HTML) and the CSV downloads render the same ``build()`` of :mod:`jurisdictions.answers`,
so the same parameters give the same rows everywhere — the jurisdictions, their values and the
instruments that decide them. Asked of the real seed, through HTTP.

Also: the answers import nothing from the API or the pages (URL building is passed in), and each
module of the read layer imports alone, without a cycle.
"""
from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jurisdictions.pages.display import VALUES

from .test_pages import parse

VALUES_SHOWN = [{"value": v, "symbol": d.symbol} for v, d in VALUES.items()]

AI = "ai_generated_explicit"
AS_OF = "2026-12-01"
INSTRUMENT_LINK = re.compile(r"/instruments/([a-z0-9_-]+)/")
ROOT = Path(__file__).resolve().parent.parent


def page(client, path: str, query: str):
    response = client.get(f"{path}?{query}")
    assert response.status_code == 200, response.content[:500]
    return parse(response)


def api(client, path: str, query: str) -> dict:
    response = client.get(f"{path}?{query}")
    assert response.status_code == 200, response.content[:500]
    return response.json()


def csv_of(client, path: str, query: str) -> tuple[bytes, list[dict]]:
    response = client.get(f"{path}?{query}&format=csv")
    assert response.status_code == 200, response.content[:500]
    body = (b"".join(response.streaming_content) if response.streaming
            else response.content)
    return body, list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def linked_slugs(element) -> list[str]:
    """The instrument slugs that ``element`` links to, in order."""
    return [INSTRUMENT_LINK.search(a.get("href")).group(1)
            for a in element.iter("a") if INSTRUMENT_LINK.search(a.get("href") or "")]


def listed(value: str) -> list[str]:
    return value.split("; ") if value else []


# --- compare --------------------------------------------------------------------------------------
@pytest.mark.parametrize("query", [
    f"group=G20&criterion={AI}&research=all&as_of={AS_OF}",
    f"group=G20&criterion={AI},possession&research=researched&scope=own&as_of=2024-01-01",
])
def test_compare_answers_the_same_in_the_api_the_page_and_the_csv(seeded, client, query):
    answer = api(client, "/api/v1/compare/", query)
    criteria = answer["criteria"]
    expected = {
        (row["jurisdiction"]["code"], slug): (cell["value"], [d["slug"] for d in cell["instruments"]])
        for row in answer["rows"] for slug, cell in row["cells"].items()
    }
    # Not trivial: many places, several values, deciding instruments named.
    assert len(answer["rows"]) >= 10
    assert len({value for value, _ in expected.values()}) >= 2
    assert any(slugs for _, slugs in expected.values())

    # The page: one row per jurisdiction, a cell per criterion listing its first deciders.
    tree = page(client, "/compare/", query)
    shown = {}
    for row in tree.iter("tr"):
        code = row.get("data-code")
        for td in row.findall("td"):
            if code and td.get("data-criterion"):
                more = re.search(r"\+(\d+) more", "".join(td.itertext()))
                shown[(code, td.get("data-criterion"))] = (
                    td.get("data-value"), linked_slugs(td), int(more.group(1)) if more else 0
                )
    assert set(shown) == set(expected)
    for key, (value, slugs) in expected.items():
        assert shown[key] == (value, slugs[:2], max(0, len(slugs) - 2)), key

    # The CSVs: the API's and the page's are one file, with the JSON's rows.
    api_csv, rows = csv_of(client, "/api/v1/compare/", query)
    page_csv, _ = csv_of(client, "/compare/", query)
    assert page_csv == api_csv
    assert {(r["jurisdiction"], r["criterion"]): (r["value"], listed(r["instruments"]))
            for r in rows} == expected
    assert [r["jurisdiction"] for r in rows[::len(criteria)]] == [
        row["jurisdiction"]["code"] for row in answer["rows"]
    ]
    # The wide layout says the same, one line per jurisdiction.
    wide_api, wide = csv_of(client, "/api/v1/compare/", f"{query}&layout=wide")
    assert csv_of(client, "/compare/", f"{query}&layout=wide")[0] == wide_api
    assert {(r["jurisdiction"], slug): (r[slug], listed(r[f"{slug}_instruments"]))
            for r in wide for slug in criteria} == expected
    # ...approximate flags included: a cell resting on an on_or_before step says so there too.
    assert {(r["jurisdiction"], slug): r[f"{slug}_approximate"]
            for r in wide for slug in criteria} == {
        (r["jurisdiction"], r["criterion"]): r["approximate"] for r in rows}


# --- gaps -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("scope", ["applicable", "own"])
def test_gaps_answer_the_same_in_the_api_the_page_and_the_csv(seeded, client, scope):
    query = f"within=US&criterion={AI}&scope={scope}&as_of={AS_OF}"
    answer = api(client, "/api/v1/gaps/", query)
    expected = {
        entry["code"]: (group, [d["slug"] for d in entry["instruments"]],
                        [d["slug"] for d in entry["pending_instruments"]])
        for group, entries in answer["groups"].items() for entry in entries
    }
    assert sum(answer["counts"].values()) == len(expected) > 0
    if scope == "own":  # states that have not legislated themselves are gaps
        assert sum(n for g, n in answer["counts"].items() if g != "not_researched") > 0

    # The page: one table per gap value (deciders and pending proposals linked), the
    # jurisdictions not researched in a list of their own, the covered ones counted apart.
    tree = page(client, "/gaps/", query)
    on_page = {}
    for section in tree.iter("section"):
        group = (section.get("id") or "").removeprefix("group-")
        for row in section.iter("tr"):
            if row.get("data-code"):
                deciders, _source, pending = row.findall("td")[1:4]
                on_page[row.get("data-code")] = (group, linked_slugs(deciders),
                                                 linked_slugs(pending))
    gaps = {code: v for code, v in expected.items() if v[0] != "not_researched"}
    assert on_page == gaps
    not_researched = tree.find(".//section[@id='group-not_researched']")
    codes = [s.text for s in not_researched.iter("span") if s.get("class") == "code"]
    assert codes == [c for c, v in expected.items() if v[0] == "not_researched"]
    covered = tree.find(".//section[@id='group-yes']")
    assert len([s for s in covered.iter("span") if s.get("class") == "code"]) == answer[
        "covered_count"]

    api_csv, rows = csv_of(client, "/api/v1/gaps/", query)
    assert csv_of(client, "/gaps/", query)[0] == api_csv
    assert {r["code"]: (r["group"], listed(r["instruments"]), listed(r["pending_instruments"]))
            for r in rows} == expected


# --- timeline -------------------------------------------------------------------------------------
@pytest.mark.parametrize("code,as_of", [("US-CA", "2024-12-31"), ("KR", AS_OF), ("EU", AS_OF)])
def test_a_timeline_is_the_same_in_the_api_the_page_and_the_csv(seeded, client, code, as_of):
    answer = api(client, f"/api/v1/jurisdictions/{code}/timeline/", f"as_of={as_of}")
    # The page writes a date to the precision known (2024-09 when only the month is).
    shown_date = {"year": 4, "month": 7}
    expected = [
        (item["date"][:shown_date.get(item["date_precision"], 10)],
         item["instrument"]["slug"] if item["instrument"] else "")
        for item in answer["items"]
    ]
    assert answer["count"] == len(expected) > 0

    # The page lists the same items in the same order, same-day steps before events (and,
    # marked "after", what is dated later).
    tree = page(client, f"/jurisdictions/{code}/", f"as_of={as_of}")
    table = tree.find(".//table[@id='timeline']")
    served = []
    for row in table.find("tbody").findall("tr"):
        date_cell, instrument = row.findall("td")
        if row.get("class") == "future":
            continue
        date = date_cell.find(".//time").get("datetime")
        served.append((date, (linked_slugs(instrument) or [""])[0]))
    assert served == expected
    assert all(d <= as_of for d, _ in served)

    api_csv, rows = csv_of(client, f"/api/v1/jurisdictions/{code}/timeline/", f"as_of={as_of}")
    _, page_rows = csv_of(client, f"/jurisdictions/{code}/", f"as_of={as_of}&table=timeline")
    # One set of columns; only the address differs by channel (a step has no page of its own).
    assert [{**r, "url": ""} for r in page_rows] == [{**r, "url": ""} for r in rows]
    assert all(r["url"].startswith("http://testserver/api/v1/") for r in rows)
    assert [(r["date"], r["instrument"]) for r in rows] == [
        (i["date"], i["instrument"]["slug"] if i["instrument"] else "") for i in answer["items"]
    ]


# --- changes --------------------------------------------------------------------------------------
def test_changes_are_the_same_in_the_json_and_the_csv(seeded, client):
    query = "since=2000-01-01&jurisdiction=KR&model=instrument,assessment&page_size=500"
    answer = api(client, "/api/v1/changes/", query)
    assert answer["count"] == len(answer["results"]) > 0
    _, rows = csv_of(client, "/api/v1/changes/", query)
    assert [(r["model"], r["key"], r["change_type"], r["url"], r["user"]) for r in rows] == [
        (c["model"], c["key"], c["change_type"], c["url"] or "", c["user"] or "")
        for c in answer["results"]
    ]
    assert {c["model"] for c in answer["results"]} == {"instrument", "assessment"}
    assert all(c["key"].startswith("kr-") for c in answer["results"])


# --- the home page's figures, the jurisdiction index, recent edits ------------------------------
def _numbers(row) -> list[int]:
    return [int("".join(td.itertext()).split()[0]) for td in row.findall("td")]


@pytest.mark.parametrize("as_of", [AS_OF, "2024-01-01"])
def test_each_home_figure_is_the_gaps_answer_of_its_link(seeded, client, as_of):
    """Every row of the home page's headline table links to a gap list; the row's counts are
    that gap list's answer (the API's), value by value."""
    tree = page(client, "/", f"criterion={AI}&as_of={as_of}")
    header = [" ".join("".join(th.itertext()).split())
              for th in tree.find(".//table[@id='figures']/thead/tr").findall("th")]
    values = [label.split(" ", 1)[0] for label in header[4:-1]]  # the gap values' symbols
    rows = [row for row in tree.find(".//table[@id='figures']").iter("tr") if row.find("th/a") is not None]
    assert len(rows) >= 10  # all, countries, both scopes, blocs, regions
    symbols = {v["symbol"]: v["value"] for v in VALUES_SHOWN}
    for row in rows:
        link = row.find("th/a").get("href")
        query = link.split("?", 1)[1]
        answer = api(client, "/api/v1/gaps/", query.replace("&amp;", "&"))
        researched, yes, gaps, *by_value, pending = _numbers(row)
        counts = {k: n for k, n in answer["counts"].items() if k != "not_researched"}
        entries = [e for k, group in answer["groups"].items() if k != "not_researched"
                   for e in group]
        label = "".join(row.find("th/a").itertext())
        assert yes == answer["covered_count"], label
        assert gaps == sum(counts.values()), label
        assert researched == yes + gaps, label
        assert by_value == [counts.get(symbols[s], 0) for s in values], label
        assert pending == sum(1 for e in entries if e["pending_instruments"]), label


def test_the_jurisdiction_index_shows_the_compare_answer(seeded, client):
    query = f"group=G20&criterion={AI}&research=all&as_of={AS_OF}"
    answer = api(client, "/api/v1/compare/", query)
    expected = {row["jurisdiction"]["code"]: row["cells"][AI]["value"] for row in answer["rows"]}
    tree = page(client, "/jurisdictions/", query)
    shown = {}
    for row in tree.iter("tr"):
        if row.get("data-code"):
            swatch = row.find(".//span[@class]")
            value = next((c.removeprefix("v-") for c in (swatch.get("class") or "").split()
                          if c.startswith("v-")), None) if swatch is not None else None
            shown[row.get("data-code")] = value
    assert shown == expected
    assert len(set(expected.values())) >= 2
    _, rows = csv_of(client, "/jurisdictions/", query)
    assert {r["code"]: r["value"] for r in rows} == expected


def test_recent_edits_on_the_home_page_are_the_changes_answer(seeded, client):
    """The home page's "Recent edits" are the first rows of ``/api/v1/changes/`` for the same
    kinds of record, in the same order."""
    tree = page(client, "/", f"as_of={AS_OF}")
    section = next(s for s in tree.iter("section") if s.get("aria-labelledby") == "changes-heading")
    shown = [(li.find("time").get("datetime"), li.find("span").text) for li in section.iter("li")]
    assert len(shown) == 15
    answer = api(client, "/api/v1/changes/",
                 "model=jurisdiction,instrument,status_event,assessment,event&page_size=15")
    kinds = {"jurisdiction": "Jurisdiction", "instrument": "Law or proposal",
             "status_event": "Status step", "assessment": "Assessment", "event": "Event"}
    actions = {"created": "added", "changed": "changed", "deleted": "removed"}
    expected = [(c["date"], f"{kinds[c['model']]} {actions[c['change_type']]}")
                for c in answer["results"]]
    assert [(when[:19], what) for when, what in shown] == [(d[:19], w) for d, w in expected]


# --- layering -------------------------------------------------------------------------------------
ANSWERS = sorted(p.stem for p in (ROOT / "jurisdictions" / "answers").glob("*.py"))


def test_the_answers_import_nothing_from_the_api_or_the_pages():
    for name in ANSWERS:
        source = (ROOT / "jurisdictions" / "answers" / f"{name}.py").read_text()
        imports = [line for line in source.splitlines() if re.match(r"\s*(from|import) ", line)]
        assert not [line for line in imports if re.search(r"\b(api|pages)\b", line)], name


@pytest.mark.parametrize("name", ANSWERS)
def test_each_answer_module_imports_alone(name):
    module = "jurisdictions.answers" + ("" if name == "__init__" else f".{name}")
    code = (
        "import os, sys, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', "
        "'lawtracker.settings'); django.setup(); import importlib; "
        f"importlib.import_module({module!r}); "
        "print(sorted(m for m in sys.modules if m.startswith(('jurisdictions.api', "
        "'jurisdictions.pages'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, env={"DEBUG": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    # Importing an answer loads no module of the API or the pages.
    assert done.stdout.strip() == "[]", done.stdout
