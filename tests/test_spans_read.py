"""Answers read from the spans (issue 12, "Reads from spans"): every answer reads its cells with
``spans.read.coverage_at`` — compare, the map and the jurisdiction page whole (``full=True``);
gaps, the home figures, the jurisdiction rows, the covers/lacks filters and the compact compare
only what the spans name — which must answer what the pure rules answer, on the real seed."""
import datetime
import logging

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jurisdictions import coverage
from jurisdictions.answers import gaps as gaps_answer
from jurisdictions.models import Criterion, Jurisdiction, StatusEvent
from spans import read
from spans.models import CoverageSpan

pytestmark = pytest.mark.django_db

D = datetime.date
COMPARE = "/api/v1/compare/"


def decided(cell) -> tuple:
    """Everything of a cell that the spans answer for (``spans.read``'s docstring)."""
    def deciders(found):
        return [
            (d.slug, d.value, d.status, d.inherited, d.pinpoint, d.sources, d.basis,
             d.verified_on, d.commencement_date, d.url)
            for d in found
        ]
    return (cell.value, cell.approximate, cell.criterion, deciders(cell.instruments),
            deciders(cell.pending))


def step_dates(every: int) -> list[datetime.date]:
    """Every ``every``-th date a step falls on in the seed, the day before each, and two dates
    outside every life (before the first step; long after the last)."""
    dates = sorted(set(StatusEvent.objects.values_list("date", flat=True)))[::every]
    return sorted({*dates, *(d - datetime.timedelta(days=1) for d in dates),
                   D(1950, 1, 1), D(2040, 1, 1)})


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("scope", ["applicable", "own"])
def test_every_cell_of_the_seed_read_from_the_spans_is_the_rules_answer(
    seeded, scope, full, caplog
):
    """Whole cells (``full``: every field, the deciders' included) or what the spans name."""
    jurisdictions = list(Jurisdiction.objects.all())
    criteria = list(Criterion.objects.all())
    url = "/i/{}".format
    same = (lambda cell: cell) if full else decided
    checked = 0
    with caplog.at_level(logging.WARNING, logger="spans.read"):
        for as_of in step_dates(every=16):
            pure = coverage.compute(jurisdictions, criteria, as_of, scope, instrument_url=url)
            spans = read.coverage_at(
                jurisdictions, criteria, as_of, scope, instrument_url=url, full=full
            )
            for jurisdiction, cells in pure.rows():
                for slug, cell in cells.items():
                    assert same(spans.cell(jurisdiction, slug)) == same(cell), (
                        as_of, scope, jurisdiction.code, slug,
                    )
                    checked += 1
    assert checked > 50_000
    assert caplog.text == "", "no cell may come from the fallback on a seed kept right"


@pytest.mark.parametrize("full,expected", [
    # the coverage spans, the deciding assessments, their statuses, four for the citations
    (False, 7),
    # the coverage spans, the hierarchy, the memberships, the assessments, the statuses, four
    # for the citations
    (True, 9),
])
def test_the_spans_read_a_fixed_number_of_queries(seeded, full, expected):
    criteria = list(Criterion.objects.all())
    counts = []
    for jurisdictions in (Jurisdiction.objects.filter(code="US-CA"), Jurisdiction.objects.all()):
        chosen = list(jurisdictions)
        with CaptureQueriesContext(connection) as queries:
            read.coverage_at(chosen, criteria, D(2025, 6, 1), "applicable", full=full)
        counts.append(len(queries))
    assert counts == [expected, expected]


@pytest.mark.parametrize("full", [False, True])
def test_a_cell_without_its_span_is_computed_by_the_rules_and_logged(seeded, caplog, full):
    criterion = Criterion.objects.get(slug="possession")
    korea = Jurisdiction.objects.get(code="KR")
    CoverageSpan.objects.filter(jurisdiction=korea, criterion=criterion).delete()
    with caplog.at_level(logging.WARNING, logger="spans.read"):
        found = read.coverage_at([korea], [criterion], D(2025, 6, 1), "applicable", full=full)
    pure = coverage.compute([korea], [criterion], D(2025, 6, 1), "applicable")
    assert found.cell("KR", "possession") == pure.cell("KR", "possession")
    assert found.cell("KR", "possession").value == "yes"
    assert "missing or stale for 1 jurisdiction" in caplog.text


def test_more_than_500_jurisdictions_are_selected_by_one_json_parameter(seeded):
    """Above ``coverage._MAX_IN`` ids a selection goes as one JSON parameter instead of reading
    every jurisdiction's rows: the answer for 600 jurisdictions (every one with law first) is
    their answer asked in two halves, computed and read from the spans."""
    with_law = set(coverage.law_assessments().values_list("instrument__jurisdiction", flat=True))
    jurisdictions = sorted(Jurisdiction.objects.all(), key=lambda j: (j.pk not in with_law, j.code))
    jurisdictions = jurisdictions[:coverage._MAX_IN + 100]
    criteria = list(Criterion.objects.filter(retired=False))
    as_of = D(2026, 12, 1)
    halves = [jurisdictions[:300], jurisdictions[300:]]
    with CaptureQueriesContext(connection) as queries:
        whole = coverage.compute(jurisdictions, criteria, as_of)
    assert any("json_each" in q["sql"] or "jsonb_array_elements_text" in q["sql"]
               for q in queries), "the ids go as one JSON parameter"
    named = read.coverage_at(jurisdictions, criteria, as_of, "applicable")
    yes = 0
    for half in halves:
        pure = coverage.compute(half, criteria, as_of)
        for jurisdiction, cells in pure.rows():
            for slug, cell in cells.items():
                assert whole.cell(jurisdiction, slug) == cell, (jurisdiction.code, slug)
                assert decided(named.cell(jurisdiction, slug)) == decided(cell)
                yes += cell.value == "yes"
    assert yes > 100


@pytest.mark.parametrize("full,stale", [
    (False, {"deciding": ["no-such-instrument"]}),  # what only the spans name
    (True, {"value": "no"}),  # what the rule is checked by
])
def test_a_stale_span_is_not_served(seeded, caplog, full, stale):
    """A span left stale by a write that bypassed every hook must not give a cell without its
    decider, nor a value the rule does not give: the rules answer instead."""
    span = CoverageSpan.objects.filter(
        jurisdiction__code="KR", criterion__slug="possession", scope="own", valid_to=None,
    ).get()
    CoverageSpan.objects.filter(pk=span.pk).update(**stale)
    with caplog.at_level(logging.WARNING, logger="spans.read"):
        found = read.coverage_at(
            Jurisdiction.objects.filter(code="KR"), Criterion.objects.filter(slug="possession"),
            D(2026, 1, 1), "own", full=full,
        )
    cell = found.cell("KR", "possession")
    assert (cell.value, [d.slug for d in cell.instruments]) == ("yes", span.deciding)
    assert "stale" in caplog.text


def test_gaps_over_every_jurisdiction_is_the_rules_answer(seeded):
    """The whole gaps answer (every jurisdiction but the international organisations) read
    from the spans equals ``coverage.gaps`` for every criterion."""
    for criterion in Criterion.objects.all():
        for scope in ("applicable", "own"):
            question = gaps_answer.Question(criterion, D(2025, 6, 1), scope)
            found = gaps_answer.answer(question, instrument_url="/i/{}".format)
            pure = coverage.gaps(criterion, D(2025, 6, 1), scope, instrument_url="/i/{}".format)
            assert {k: v for k, v in found.items() if k != "cells"} == {
                k: v for k, v in pure.items() if k != "cells"
            }
            assert {code: decided(c) for code, c in found["cells"].items()} == {
                code: decided(c) for code, c in pure["cells"].items()
            }


# --- the compact compare --------------------------------------------------------------------
def test_the_compact_compare_names_what_the_full_answer_describes(seeded, client):
    query = {"group": "G20", "as_of": "2025-06-01"}
    full = client.get(COMPARE, query).json()
    compact = client.get(COMPARE, {**query, "shape": "compact"})
    assert compact.status_code == 200
    body = compact.json()
    assert body["criteria"] == full["criteria"]
    assert body["permalink"].endswith("&shape=compact")
    assert len(compact.content) * 4 < len(client.get(COMPARE, query).content)
    for row, full_row in zip(body["rows"], full["rows"], strict=True):
        assert row["jurisdiction"] == full_row["jurisdiction"]
        for slug, cell in row["cells"].items():
            whole = full_row["cells"][slug]
            for key in ("value", "approximate", "basis", "verified_on"):
                assert cell[key] == whole[key]
            assert cell["instruments"] == [d["slug"] for d in whole["instruments"]]
            assert cell["pending"] == [d["slug"] for d in whole["pending"]]
            for decider in (*whole["instruments"], *whole["pending"]):
                named = body["instruments"][decider["slug"]]
                assert named == {k: decider[k] for k in
                                 ("url", "short_name", "title", "jurisdiction", "status")}
            cited = [body["sources"][key] for key in cell["sources"]]
            expected = list({s["url"]: s for d in whole["instruments"] for s in d["sources"]}
                            .values())
            assert cited == expected
    # Every described instrument and source is named by some cell, once each.
    named = {s for r in body["rows"] for c in r["cells"].values()
             for s in (*c["instruments"], *c["pending"])}
    assert named == set(body["instruments"])
    keys = {k for r in body["rows"] for c in r["cells"].values() for k in c["sources"]}
    assert keys == set(body["sources"])
    assert len({s["url"] for s in body["sources"].values()}) == len(body["sources"])


def test_korea_in_the_compact_compare(seeded, client):
    body = client.get(COMPARE, {"jurisdictions": "KR", "criterion": "ai_generated_explicit",
                                "as_of": "2025-06-01", "shape": "compact"}).json()
    cell = body["rows"][0]["cells"]["ai_generated_explicit"]
    assert cell["value"] == "yes"
    assert cell["instruments"] == ["kr-sexual-crimes-punishment-act-art-14-2-amendment"]
    assert body["instruments"][cell["instruments"][0]]["status"] == "in_force"
    assert all(body["sources"][k]["url"].startswith("http") for k in cell["sources"])


def test_the_compact_compare_reads_a_fixed_number_of_queries(seeded, client):
    counts = []
    for selection in ({"kind": "supranational"}, {"kind": "country"},
                      {"kind": "country,subdivision"}):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(COMPARE, {**selection, "shape": "compact"})
        assert response.status_code == 200
        counts.append(len(queries))
    assert len(set(counts)) == 1, counts


def test_a_bad_shape_is_refused_naming_the_parameter(seeded, client):
    response = client.get(COMPARE, {"jurisdictions": "KR", "shape": "tiny"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"shape": ["'tiny' is not one of: full, compact."]}


def test_the_csv_is_the_same_whatever_the_shape(seeded, client):
    query = {"jurisdictions": "KR,GB,US-CA", "format": "csv", "as_of": "2025-06-01"}
    def body(response):
        assert response.status_code == 200
        return b"".join(response.streaming_content)

    assert body(client.get(COMPARE, query)) == body(
        client.get(COMPARE, {**query, "shape": "compact"})
    )
