"""Every filter of every collection, through HTTP, on the hand-made world
(tests/world.py); and every model field is filtered, covered by another filter or
listed as deliberately unfiltered."""

from __future__ import annotations

import pytest
from django.db import models
from django.urls import reverse

from jurisdictions import filtersets
from jurisdictions.api.views import ROUTES

pytestmark = pytest.mark.django_db

KEYS = {
    "jurisdiction-list": lambda r: r["code"],
    "instrument-list": lambda r: r["slug"],
    "status-event-list": lambda r: f"{r['instrument']['slug']} {r['status']}",
    "criterion-list": lambda r: r["slug"],
    "assessment-list": lambda r: f"{r['instrument']['slug']} {r['criterion']['slug']}",
    "source-list": lambda r: r["url"],
    "event-list": lambda r: r["slug"],
}
ALL = object()  # every row of the collection
NONE = set()
NEWS = "https://news.example.org/kr-deepfakes"
EURLEX = "https://eur-lex.europa.eu/eli/dir/2011/93/oj"

# (list, parameters, expected keys: a set, or a list when the order is the point)
CASES = [
    # --- jurisdictions
    ("jurisdiction-list", {"code": "kr,US-CA"}, {"KR", "US-CA"}),
    ("jurisdiction-list", {"kind": "subdivision"}, {"US-CA", "US-OH", "BR-SP"}),
    ("jurisdiction-list", {"kind": "supranational,international"}, {"EU", "UN"}),
    ("jurisdiction-list", {"parent": "us"}, {"US-CA", "US-OH"}),
    ("jurisdiction-list", {"within": "US"}, {"US", "US-CA", "US-OH"}),
    ("jurisdiction-list", {"bloc": "EU", "as_of": "2019-06-01"}, {"DE", "FR", "GB"}),
    ("jurisdiction-list", {"group": "G7"}, {"DE", "FR", "GB", "US"}),
    ("jurisdiction-list", {"group": "oecd", "as_of": "1995-06-01"}, {"DE", "FR", "GB", "US"}),
    ("jurisdiction-list", {"group": "OECD", "as_of": "1996-06-01"},
     {"DE", "FR", "GB", "US", "KR"}),
    ("jurisdiction-list", {"bloc": "eu", "as_of": "2020-02-01"}, {"DE", "FR"}),
    ("jurisdiction-list", {"region": "europe"}, {"DE", "FR", "GB"}),
    ("jurisdiction-list", {"region": "northern-america"}, {"US", "US-CA", "US-OH"}),
    ("jurisdiction-list", {"region": "south-america"}, {"BR", "BR-SP"}),
    ("jurisdiction-list", {"region": "eastern-asia,western-europe"}, {"KR", "DE", "FR"}),
    ("jurisdiction-list", {"research_status": "in_progress"}, {"US-OH"}),
    ("jurisdiction-list", {"research_status": "not_researched"}, {"UN", "FR", "BR", "BR-SP"}),
    ("jurisdiction-list", {"last_reviewed_before": "2025-12-31"}, {"KR"}),
    ("jurisdiction-list", {"last_reviewed_after": "2026-01-01"},
     {"EU", "DE", "GB", "US", "US-CA"}),
    ("jurisdiction-list", {"reviewed_by": "editor"}, set()),  # no username probing (issue 18)
    ("jurisdiction-list", {"subdivision_type": "State"}, {"US-CA", "US-OH", "BR-SP"}),
    ("jurisdiction-list", {"numeric_code": "410,826"}, {"KR", "GB"}),
    ("jurisdiction-list", {"covers": "possession", "as_of": "2026-01-01"},
     {"EU", "DE", "KR", "US", "US-CA", "US-OH"}),
    ("jurisdiction-list", {"covers": "possession", "as_of": "2026-01-01", "scope": "own"},
     {"EU", "DE", "KR", "US", "US-CA"}),
    ("jurisdiction-list", {"covers": "possession", "as_of": "2020-01-01"},
     {"EU", "US", "US-CA", "US-OH"}),
    ("jurisdiction-list", {"lacks": "possession", "as_of": "2026-01-01"}, {"GB"}),
    ("jurisdiction-list", {"lacks": "possession", "as_of": "2026-01-01", "scope": "own"},
     {"GB", "US-OH"}),
    ("jurisdiction-list", {"lacks": "POSSESSION", "as_of": "2024-10-15"}, {"GB", "KR"}),
    ("jurisdiction-list", {"search": "sao paulo"}, {"BR-SP"}),
    ("jurisdiction-list", {"search": "SÃO"}, {"BR-SP"}),
    ("jurisdiction-list", {"search": "korea"}, {"KR"}),
    ("jurisdiction-list", {"search": "united"}, {"GB", "UN", "US"}),
    ("jurisdiction-list", {"created_after": "2000-01-01"}, ALL),
    ("jurisdiction-list", {"created_before": "2000-01-01"}, NONE),
    ("jurisdiction-list", {"updated_since": "2000-01-01"}, ALL),
    ("jurisdiction-list", {"updated_since": "2999-01-01T00:00:00Z"}, NONE),
    ("jurisdiction-list", {"ordering": "-code"},
     ["US-OH", "US-CA", "US", "UN", "KR", "GB", "FR", "EU", "DE", "BR-SP", "BR"]),
    ("jurisdiction-list", {"ordering": "name"},
     ["BR", "US-CA", "EU", "FR", "DE", "KR", "US-OH", "BR-SP", "GB", "UN", "US"]),
    ("jurisdiction-list", {"ordering": "-last_reviewed_on,code", "kind": "country"},
     ["DE", "GB", "US", "KR", "BR", "FR"]),
    # --- instruments
    ("instrument-list", {"jurisdiction": "kr,EU"},
     {"eu-csa-directive", "eu-recast", "kr-act", "kr-2024-amendment"}),
    ("instrument-list", {"within": "us"},
     {"us-federal", "us-ca-ab1831", "us-ca-old-bill", "us-oh-bill"}),
    ("instrument-list", {"bloc": "EU", "as_of": "2026-01-01"}, {"de-stgb-184b"}),
    # enacted: the first adoption, or the first commencement where no adoption is recorded
    ("instrument-list", {"enacted_after": "2021-01-01"},
     {"kr-2024-amendment", "us-ca-ab1831", "de-stgb-184b"}),
    ("instrument-list", {"enacted_after": "2024-01-01", "enacted_before": "2025-12-31",
                         "kind": "subdivision"}, {"us-ca-ab1831"}),
    ("instrument-list", {"enacted_before": "2009-01-01"}, {"us-federal", "br-eca"}),
    ("instrument-list", {"date_precision": "year"}, {"br-eca"}),
    ("instrument-list", {"date_precision": "day", "enacted_before": "2011-12-31"},
     {"us-federal", "kr-act", "eu-csa-directive"}),
    ("instrument-list", {"kind": "supranational"}, {"eu-csa-directive", "eu-recast"}),
    ("instrument-list", {"group": "g7"},
     {"us-federal", "us-ca-ab1831", "us-ca-old-bill", "us-oh-bill", "de-stgb-184b"}),
    ("instrument-list", {"slug": "kr-act,BR-ECA"}, {"kr-act", "br-eca"}),
    ("instrument-list", {"instrument_type": "bill,proposal"},
     {"us-ca-old-bill", "us-oh-bill", "eu-recast"}),
    ("instrument-list", {"status": "in_force", "as_of": "2024-12-31"},
     {"eu-csa-directive", "kr-act", "kr-2024-amendment", "us-federal", "de-stgb-184b",
      "br-eca"}),
    ("instrument-list", {"status": "introduced,in_committee", "as_of": "2026-01-01"},
     {"eu-recast", "us-oh-bill"}),
    ("instrument-list", {"status": "vetoed"}, {"us-ca-old-bill"}),
    ("instrument-list", {"legal_force": "NotInForce", "as_of": "2026-01-01"},
     {"eu-recast", "us-oh-bill", "us-ca-old-bill"}),
    ("instrument-list", {"legal_force": "InForce", "as_of": "2024-06-01"},
     {"eu-csa-directive", "kr-act", "us-federal", "de-stgb-184b", "br-eca"}),
    ("instrument-list", {"legal_force": "PartiallyInForce"}, NONE),
    ("instrument-list", {"introduced_after": "2024-01-01"},
     {"eu-recast", "kr-2024-amendment", "us-ca-ab1831", "us-oh-bill"}),
    ("instrument-list", {"introduced_before": "2023-12-31"}, {"us-ca-old-bill"}),
    ("instrument-list", {"adopted_after": "2011-01-01", "adopted_before": "2012-01-01"},
     {"eu-csa-directive"}),
    ("instrument-list", {"adopted_after": "2024-01-01"}, {"kr-2024-amendment", "us-ca-ab1831"}),
    ("instrument-list", {"in_force_before": "2005-01-01"}, {"us-federal"}),
    ("instrument-list", {"in_force_after": "2024-06-01"}, {"kr-2024-amendment", "us-ca-ab1831"}),
    ("instrument-list", {"covers": "possession,production"},
     {"eu-csa-directive", "eu-recast", "us-federal", "us-ca-ab1831"}),
    ("instrument-list", {"original_language": "ko,de"},
     {"kr-act", "kr-2024-amendment", "de-stgb-184b"}),
    ("instrument-list", {"confidence": "low"}, {"us-ca-old-bill"}),
    ("instrument-list", {"identifier": "52024PC0060"}, {"eu-recast"}),
    ("instrument-list", {"source": NEWS}, {"kr-2024-amendment"}),
    ("instrument-list", {"amends": "kr-act"}, {"kr-2024-amendment"}),
    ("instrument-list", {"amended_by": "kr-2024-amendment"}, {"kr-act"}),
    ("instrument-list", {"search": "strafgesetzbuch"}, {"de-stgb-184b"}),
    ("instrument-list", {"search": "crianca"}, {"br-eca"}),
    ("instrument-list", {"search": "São Paulo"}, {"br-eca"}),
    ("instrument-list", {"search": "com(2024) 60"}, {"eu-recast"}),
    ("instrument-list", {"search": "AB 1831"}, {"us-ca-ab1831"}),
    ("instrument-list", {"search": "성폭력"}, {"kr-act"}),
    ("instrument-list", {"created_after": "2000-01-01"}, ALL),
    ("instrument-list", {"created_before": "2000-01-01"}, NONE),
    ("instrument-list", {"updated_since": "2000-01-01T00:00:00+02:00"}, ALL),
    ("instrument-list", {"ordering": "-slug", "jurisdiction": "KR,DE"},
     ["kr-act", "kr-2024-amendment", "de-stgb-184b"]),
    ("instrument-list", {"ordering": "jurisdiction,-title", "within": "US"},
     ["us-federal", "us-ca-old-bill", "us-ca-ab1831", "us-oh-bill"]),
    # --- status events
    ("status-event-list", {"instrument": "kr-act"}, {"kr-act adopted", "kr-act in_force"}),
    ("status-event-list", {"jurisdiction": "us-oh"},
     {"us-oh-bill introduced", "us-oh-bill in_committee"}),
    ("status-event-list", {"within": "US", "status": "introduced"},
     {"us-ca-ab1831 introduced", "us-ca-old-bill introduced", "us-oh-bill introduced"}),
    ("status-event-list", {"status": "vetoed"}, {"us-ca-old-bill vetoed"}),
    ("status-event-list", {"date_after": "2025-01-01"},
     {"us-ca-ab1831 in_force", "us-oh-bill introduced", "us-oh-bill in_committee"}),
    ("status-event-list", {"date_before": "2003-12-31"}, {"us-federal in_force"}),
    ("status-event-list", {"date_precision": "month"},
     {"kr-2024-amendment introduced", "us-ca-old-bill introduced", "us-oh-bill introduced"}),
    ("status-event-list", {"date_precision": "on_or_before"}, {"eu-csa-directive in_force"}),
    ("status-event-list", {"source": NEWS}, {"kr-2024-amendment adopted"}),
    ("status-event-list", {"body": "unicameral,council"}, {"kr-2024-amendment adopted"}),
    ("status-event-list", {"verified_after": "2026-10-01"}, {"kr-2024-amendment adopted"}),
    ("status-event-list", {"verified_before": "2026-10-01"}, NONE),
    ("status-event-list", {"created_after": "2000-01-01"}, ALL),
    ("status-event-list", {"created_before": "2000-01-01"}, NONE),
    ("status-event-list", {"updated_since": "2000-01-01"}, ALL),
    ("status-event-list", {"ordering": "-date", "instrument": "kr-2024-amendment"},
     ["kr-2024-amendment adopted", "kr-2024-amendment in_force",
      "kr-2024-amendment introduced"]),
    # --- criteria
    ("criterion-list", {"slug": "possession,PRODUCTION"}, {"possession", "production"}),
    ("criterion-list", {"retired": "true"}, {"old_question"}),
    ("criterion-list", {"retired": "False"}, {"possession", "production"}),
    ("criterion-list", {"search": "PRODUC"}, {"production"}),
    ("criterion-list", {"search": "old question"}, {"old_question"}),
    ("criterion-list", {"created_after": "2000-01-01"}, ALL),
    ("criterion-list", {"created_before": "2000-01-01"}, NONE),
    ("criterion-list", {"updated_since": "2000-01-01"}, ALL),
    ("criterion-list", {"ordering": "-position"}, ["old_question", "production", "possession"]),
    # --- assessments
    ("assessment-list", {"instrument": "kr-act"}, {"kr-act possession", "kr-act production"}),
    ("assessment-list", {"jurisdiction": "DE"},
     {"de-stgb-184b possession", "de-stgb-184b production"}),
    ("assessment-list", {"within": "US-CA"},
     {"us-ca-ab1831 possession", "us-ca-ab1831 production", "us-ca-old-bill production"}),
    ("assessment-list", {"criterion": "production", "jurisdiction": "EU"},
     {"eu-csa-directive production", "eu-recast production"}),
    ("assessment-list", {"value": "partial"},
     {"us-ca-old-bill production", "de-stgb-184b production"}),
    ("assessment-list", {"value": "no,unclear"}, {"kr-act possession"}),
    ("assessment-list", {"basis": "text"}, {"kr-2024-amendment possession"}),
    ("assessment-list", {"basis": "court_reading,commentary"}, NONE),
    ("assessment-list", {"commencement_after": "2024-01-01"}, {"us-ca-ab1831 production"}),
    ("assessment-list", {"commencement_before": "2025-12-31"}, {"us-ca-ab1831 production"}),
    ("assessment-list", {"verified_after": "2026-01-01"}, {"kr-2024-amendment possession"}),
    ("assessment-list", {"verified_before": "2025-01-01"}, NONE),
    # The public cannot probe usernames (issue 18): staff filter by them (tests/test_desk.py).
    ("assessment-list", {"verified_by": "editor"}, NONE),
    # Never verified: stale whatever today's date (fresh/stale by age: test_editorial_api.py).
    ("assessment-list", {"stale": "true", "instrument": "kr-act"},
     {"kr-act possession", "kr-act production"}),
    ("assessment-list", {"stale": "false", "instrument": "kr-act"}, NONE),
    ("assessment-list", {"source": NEWS}, {"kr-2024-amendment possession"}),
    ("assessment-list", {"created_after": "2000-01-01"}, ALL),
    ("assessment-list", {"created_before": "2000-01-01"}, NONE),
    ("assessment-list", {"updated_since": "2000-01-01"}, ALL),
    ("assessment-list", {"ordering": "value,instrument", "jurisdiction": "DE,KR"},
     ["kr-act possession", "de-stgb-184b production", "de-stgb-184b possession",
      "kr-2024-amendment possession", "kr-act production"]),
    ("assessment-list", {"ordering": "-verified_on,criterion", "instrument": "kr-act"},
     ["kr-act possession", "kr-act production"]),
    # --- sources
    ("source-list", {"url": EURLEX}, {EURLEX}),
    ("source-list", {"kind": "news"}, {NEWS}),
    ("source-list", {"published_after": "2024-01-01"}, {NEWS}),
    ("source-list", {"published_before": "2012-01-01"}, {EURLEX}),
    ("source-list", {"published_precision": "month", "kind": "news,official"}, {NEWS}),
    ("source-list", {"accessed_after": "2026-01-01"}, {EURLEX}),
    ("source-list", {"accessed_before": "2026-01-01"}, NONE),
    ("source-list", {"language": "ko"}, {NEWS}),
    ("source-list", {"archived": "true"}, {EURLEX}),
    ("source-list", {"archived": "0", "kind": "news"}, {NEWS}),
    ("source-list", {"instrument": "kr-2024-amendment", "kind": "news"}, {NEWS}),
    ("source-list", {"search": "EUR-LEX"}, {EURLEX}),
    ("source-list", {"search": "seoul"}, {NEWS}),
    ("source-list", {"created_after": "2000-01-01"}, ALL),
    ("source-list", {"created_before": "2000-01-01"}, NONE),
    ("source-list", {"updated_since": "2000-01-01"}, ALL),
    ("source-list", {"ordering": "-published_on", "language": "en,ko"}, [NEWS, EURLEX]),
    # --- events
    ("event-list", {"slug": "operation-cumberland"}, {"operation-cumberland"}),
    ("event-list", {"kind": "report,letter"}, {"kr-police-report"}),
    ("event-list", {"date_after": "2025-01-01"}, {"operation-cumberland"}),
    ("event-list", {"date_before": "2014-01-01"}, {"eu-transposition-deadline"}),
    ("event-list", {"date_precision": "month"}, {"kr-police-report"}),
    ("event-list", {"confidence": "medium"}, {"kr-police-report"}),
    ("event-list", {"instrument": "eu-csa-directive"}, {"eu-transposition-deadline"}),
    ("event-list", {"jurisdiction": "de"}, {"operation-cumberland"}),
    ("event-list", {"jurisdiction": "DE,EU"},
     {"operation-cumberland", "eu-transposition-deadline"}),
    ("event-list", {"within": "KR"}, {"kr-police-report"}),
    ("event-list", {"figure": "arrests"}, {"operation-cumberland"}),
    ("event-list", {"figure": "arrests,suspects"}, {"operation-cumberland"}),
    ("event-list", {"figure": "arrests,cases"}, NONE),
    ("event-list", {"source": EURLEX}, {"eu-transposition-deadline"}),
    ("event-list", {"search": "seoul"}, {"kr-police-report"}),
    ("event-list", {"search": "CUMBERLAND"}, {"operation-cumberland"}),
    ("event-list", {"created_after": "2000-01-01"}, ALL),
    ("event-list", {"created_before": "2000-01-01"}, NONE),
    ("event-list", {"updated_since": "2000-01-01"}, ALL),
    ("event-list", {"ordering": "-date"},
     ["operation-cumberland", "kr-police-report", "eu-transposition-deadline"]),
]


def fetch(client, name, params):
    response = client.get(reverse(f"api:{name}"), {**params, "page_size": 500})
    assert response.status_code == 200, response.content[:1000]
    return [KEYS[name](row) for row in response.json()["results"]]


@pytest.mark.parametrize(
    "name,params,expected", CASES, ids=[f"{n}:{p}" for n, p, _ in CASES]
)
def test_filter(client, world, name, params, expected):
    found = fetch(client, name, params)
    if expected is ALL:
        assert sorted(found) == sorted(fetch(client, name, {}))
        assert found
    elif isinstance(expected, list):
        assert found == expected
    else:
        assert set(found) == expected
        assert len(found) == len(set(found)), "a row was repeated"


FILTERSETS = {f"{basename}-list": viewset.filterset_class for _, viewset, basename in ROUTES}


@pytest.mark.parametrize("name", sorted(FILTERSETS))
def test_every_filter_has_a_test(name):
    tested = {param for n, params, _ in CASES if n == name for param in params}
    untested = set(FILTERSETS[name].parameter_names()) - tested
    assert not untested, f"{name}: no test for {sorted(untested)}"


def model_fields(model):
    """Concrete fields and forward many-to-many relations (not reverse relations)."""
    return [
        field
        for field in model._meta.get_fields()
        if (field.concrete or field.many_to_many) and not field.auto_created
        or isinstance(field, models.AutoField)
    ]


@pytest.mark.parametrize("filterset", filtersets.FILTERSETS, ids=lambda f: f.__name__)
def test_every_model_field_has_a_filter(filterset):
    model = filterset._meta.model
    filters_ = set(filterset.base_filters)
    missing = []
    for field in model_fields(model):
        name = field.name
        if name in filters_ or name in filterset.unfiltered or name in filterset.internal:
            continue
        if filterset.covered_by.get(name) in filters_:
            continue
        if isinstance(field, (models.DateField, models.DateTimeField)) and any(
            f"{name}_{s}" in filterset.parameter_names() for s in ("after", "before")
        ):
            continue
        missing.append(name)
    assert not missing, (
        f"{model.__name__}: fields without a filter: {missing}. Add a filter, map the field in "
        "covered_by, or explain in unfiltered why it has none."
    )


@pytest.mark.parametrize("filterset", filtersets.FILTERSETS, ids=lambda f: f.__name__)
def test_field_coverage_declarations_name_real_fields_and_filters(filterset):
    names = {field.name for field in model_fields(filterset._meta.model)}
    assert set(filterset.covered_by) <= names
    assert set(filterset.unfiltered) <= names
    assert set(filterset.covered_by.values()) <= set(filterset.base_filters)
    assert all(reason.strip() for reason in filterset.unfiltered.values())


def test_a_new_model_field_without_a_filter_fails_the_check():
    class Probe(filtersets.SourceFilterSet):
        covered_by = {k: v for k, v in filtersets.SourceFilterSet.covered_by.items()
                      if k != "publisher"}

    with pytest.raises(AssertionError, match="publisher"):
        test_every_model_field_has_a_filter(Probe)
