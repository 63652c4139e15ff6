"""Effective coverage on the real seed (fixtures/research.json): values a researcher can check
against the sources. A module of its own: ``seeded`` keeps the seed loaded until the module
ends, and tests/test_coverage.py builds its own small worlds in an empty database."""
from __future__ import annotations

import datetime

from jurisdictions.coverage import compute
from jurisdictions.models import Criterion, Jurisdiction

D = datetime.date.fromisoformat


def slugs(deciders):
    return [d.slug for d in deciders]


KR_DEEPFAKE_AMENDMENT = "kr-sexual-crimes-punishment-act-art-14-2-amendment"


def seed_cell(code, slug, as_of):
    return compute(
        Jurisdiction.objects.filter(code=code), Criterion.objects.filter(slug=slug), D(as_of)
    ).cell(code, slug)


def test_seed_korea_names_ai_material_once_its_2024_amendment_is_in_force(seeded):
    assert seed_cell("KR", "ai_generated_explicit", "2024-01-01").value != "yes"
    assert seed_cell("KR", "ai_generated_explicit", "2024-10-15").value != "yes"
    result = seed_cell("KR", "ai_generated_explicit", "2025-01-01")
    assert result.value == "yes"
    decider = next(d for d in result.instruments if d.slug == KR_DEEPFAKE_AMENDMENT)
    assert (decider.status, decider.inherited, decider.jurisdiction_code) == (
        "in_force",
        False,
        "KR",
    )
    assert decider.sources and all(s["url"].startswith("http") for s in decider.sources)
    assert seed_cell("KR", "ai_generated_explicit", "2024-10-16").value == "yes"


def test_seed_eu_recast_is_pending_for_the_eu_and_not_inherited_by_germany(seeded):
    eu = seed_cell("EU", "ai_generated_explicit", "2025-01-01")
    assert "eu-recast-csa-directive" in slugs(eu.pending)
    de = seed_cell("DE", "ai_generated_explicit", "2025-01-01")
    assert "eu-recast-csa-directive" not in slugs(de.pending)
    assert all(d.jurisdiction_code == "DE" for d in de.considered + de.pending)
    assert "eu-csa-directive-2011" in slugs(de.bloc_obligations)


def test_seed_the_2011_directive_binds_the_uk_until_brexit(seeded):
    assert "eu-csa-directive-2011" in slugs(
        seed_cell("GB", "possession", "2019-06-01").bloc_obligations
    )
    assert seed_cell("GB", "possession", "2021-01-01").bloc_obligations == ()


def test_seed_whole_table_in_a_fixed_number_of_queries(seeded, count_queries):
    one, _ = count_queries(compute, Jurisdiction.objects.filter(code="KR"),
                           Criterion.objects.all(), D("2025-06-01"))
    whole, result = count_queries(compute, Jurisdiction.objects.all(), Criterion.objects.all(),
                                  D("2025-06-01"))
    assert one == whole <= 10
    assert len(result.rows()) == Jurisdiction.objects.count()
    assert result.cell("KR", "possession").value == "yes"
