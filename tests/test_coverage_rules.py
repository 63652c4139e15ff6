"""The coverage rules of DOMAIN.md ("Effective coverage and gaps") as a table.

Each row is one rule or one edge: a place, a criterion, a date and a scope → the expected cell
(value, approximate, the deciding instruments with their ``inherited`` mark, the pending ones,
the bloc obligations, the assessments not commenced yet). Every row runs twice: against the
rules in ``jurisdictions/coverage.py`` (``compute``) and through ``/api/v1/compare/``, the
answer a client is served. The expectations are written from DOMAIN.md, never computed.

The world (LAWS below) is fictional data shaped like the research: an EU directive, an EU
directive whose assessment commences later, an EU regulation whose entry into force is known
only ``on_or_before``; US federal law inherited by its states, one with an answer that commences
later; a not-researched state and a not-researched EU member; Croatia joining the EU on
2013-07-01 and the UK leaving it on 2020-01-31; an instrument with assessments but no steps.
"""
from __future__ import annotations

import datetime
from typing import NamedTuple

import pytest
from django.db import connections, transaction

from jurisdictions.coverage import compute
from jurisdictions.models import BlocMembership, Criterion, Jurisdiction
from tests import factories as F

CRITERIA = ("possession", "production", "distribution")

# code: research status (kinds follow the code's shape; EU is the bloc).
PLACES = {
    "EU": "reviewed", "US": "reviewed", "US-CA": "reviewed", "US-TX": "not_researched",
    "DE": "reviewed", "IT": "not_researched", "HR": "reviewed", "GB": "reviewed",
    "KR": "reviewed", "JP": "in_progress", "AU": "reviewed", "AU-NSW": "reviewed",
    "NZ": "reviewed",
}
# (bloc, member, first day, last day or None)
MEMBERSHIPS = [
    ("EU", "DE", "1958-01-01", None),
    ("EU", "IT", "1958-01-01", None),
    ("EU", "HR", "2013-07-01", None),
    ("EU", "GB", "1973-01-01", "2020-01-31"),
]
# slug: (place, type, [(status, date, precision)], {criterion: (value, commencement or None)})
LAWS = {
    "eu-dir": ("EU", "directive", [("in_force", "2012-01-01", "day")],
               {"possession": ("yes", None)}),
    "eu-dir-late": ("EU", "directive", [("in_force", "2012-01-01", "day")],
                    {"production": ("yes", "2026-01-01")}),
    "eu-reg-oob": ("EU", "regulation", [("introduced", "2024-01-01", "day"),
                                        ("in_force", "2025-06-01", "on_or_before")],
                   {"distribution": ("yes", None)}),
    "us-federal": ("US", "statute", [("introduced", "2003-01-07", "day"),
                                     ("adopted", "2003-04-30", "day"),
                                     ("in_force", "2003-04-30", "day")],
                   {"possession": ("yes", None), "production": ("partial", "2025-01-01")}),
    "us-ca-act": ("US-CA", "statute", [("in_force", "2024-01-01", "day")],
                  {"possession": ("partial", None), "production": ("no", None)}),
    "us-ca-bill": ("US-CA", "bill", [("introduced", "2025-02-01", "day")],
                   {"production": ("yes", None)}),
    "us-tx-act": ("US-TX", "statute", [("in_force", "2020-09-01", "day")],
                  {"possession": ("yes", None)}),
    "kr-act": ("KR", "statute", [("in_force", "2010-01-01", "day")],
               {"possession": ("unclear", None), "production": ("no", None)}),
    "kr-amendment": ("KR", "amendment", [("adopted", "2024-10-16", "day"),
                                         ("in_force", "2024-10-16", "day")],
                     {"possession": ("yes", None)}),
    "kr-bill": ("KR", "bill", [("introduced", "2025-05-01", "day")],
                {"possession": ("partial", None), "production": ("yes", None)}),
    "jp-unstepped": ("JP", "statute", [], {"possession": ("yes", None)}),
    "gb-act": ("GB", "statute", [("adopted", "1978-07-20", "day"),
                                 ("in_force", "1978-07-20", "day")],
               {"possession": ("yes", None)}),
    "au-act": ("AU", "statute", [("introduced", "2024-01-01", "day"),
                                 ("in_force", "2025-03-01", "on_or_before")],
               {"possession": ("yes", None)}),
    "nz-act": ("NZ", "statute", [("in_force", "2000-01-01", "day"),
                                 ("repealed", "2020-01-01", "day")],
               {"possession": ("yes", None)}),
}


class Row(NamedTuple):
    rule: str
    place: str
    criterion: str
    as_of: str
    scope: str
    value: str
    approximate: bool = False
    decided_by: tuple = ()  # (slug, inherited)
    pending: tuple = ()  # (slug, inherited)
    bloc_obligations: tuple = ()  # slugs
    not_commenced: tuple = ()  # slugs


A, OWN = "applicable", "own"
ROWS = [
    # 1-2. The strongest applicable answer decides: yes > partial > unclear > no.
    Row("strongest answer wins", "KR", "possession", "2025-01-01", A, "yes",
        decided_by=(("kr-amendment", False),)),
    Row("before the amendment, the older act's unclear", "KR", "possession", "2024-10-15", A,
        "unclear", decided_by=(("kr-act", False),)),
    Row("an assessed no is no, not none", "KR", "production", "2025-01-01", A, "no",
        decided_by=(("kr-act", False),)),
    Row("no applicable assessment: none", "KR", "distribution", "2025-01-01", A, "none"),
    # 4. Pending: only proposals that would answer yes are listed.
    Row("a pending bill answering yes is listed", "KR", "production", "2025-06-01", A, "no",
        decided_by=(("kr-act", False),), pending=(("kr-bill", False),)),
    Row("a pending bill answering partial is not", "KR", "possession", "2025-06-01", A, "yes",
        decided_by=(("kr-amendment", False),)),
    # 1. Law of an ancestor applies in its subdivisions, marked inherited.
    Row("federal law is inherited", "US-CA", "possession", "2025-01-01", A, "yes",
        decided_by=(("us-federal", True),)),
    Row("scope=own counts the state's own law only", "US-CA", "possession", "2025-01-01", OWN,
        "partial", decided_by=(("us-ca-act", False),)),
    Row("scope=own before the state legislated", "US-CA", "possession", "2023-12-31", OWN,
        "none"),
    # Commencement date on inherited law: the federal answer counts from 2025-01-01.
    Row("inherited answer not commenced yet", "US-CA", "production", "2024-12-31", A, "no",
        decided_by=(("us-ca-act", False),), not_commenced=("us-federal",)),
    Row("inherited answer on its commencement day", "US-CA", "production", "2025-01-01", A,
        "partial", decided_by=(("us-federal", True),)),
    Row("a state's pending bill beside inherited law", "US-CA", "production", "2025-02-01", A,
        "partial", decided_by=(("us-federal", True),), pending=(("us-ca-bill", False),)),
    # 3. Not researched: the answer says so whatever was found (own or inherited law).
    Row("not researched, own and inherited law", "US-TX", "possession", "2025-01-01", A,
        "not_researched"),
    Row("not researched EU member: obligations still shown", "IT", "possession", "2025-01-01",
        A, "not_researched", bloc_obligations=("eu-dir",)),
    # Bloc law is an obligation of members, never inherited, never counted.
    Row("a directive is not national law", "DE", "possession", "2025-01-01", A, "none",
        bloc_obligations=("eu-dir",)),
    Row("scope=own shows the obligations too", "DE", "possession", "2025-01-01", OWN, "none",
        bloc_obligations=("eu-dir",)),
    Row("membership's first day", "HR", "possession", "2013-07-01", A, "none",
        bloc_obligations=("eu-dir",)),
    Row("the day before membership", "HR", "possession", "2013-06-30", A, "none"),
    Row("membership's last day (UK, 2020-01-31)", "GB", "possession", "2020-01-31", A, "yes",
        decided_by=(("gb-act", False),), bloc_obligations=("eu-dir",)),
    Row("the day after leaving", "GB", "possession", "2020-02-01", A, "yes",
        decided_by=(("gb-act", False),)),
    Row("a bloc obligation whose assessment commences later", "DE", "production",
        "2025-12-31", A, "none"),
    Row("a bloc obligation on its commencement day", "DE", "production", "2026-01-01", A,
        "none", bloc_obligations=("eu-dir-late",)),
    Row("bloc law dated on_or_before a later date: not yet an obligation, not approximate",
        "DE", "distribution", "2025-01-01", A, "none"),
    Row("bloc law on its on_or_before date", "DE", "distribution", "2025-06-01", A, "none",
        bloc_obligations=("eu-reg-oob",)),
    # Steps: no steps, same-day steps, repeal, on_or_before (approximate).
    Row("assessments but no steps: neither law nor pending", "JP", "possession", "2025-01-01",
        A, "none"),
    Row("adopted and in force the same day", "GB", "possession", "1978-07-20", A, "yes",
        decided_by=(("gb-act", False),)),
    Row("before the first step", "GB", "possession", "1978-07-19", A, "none"),
    Row("in force until repealed", "NZ", "possession", "2019-12-31", A, "yes",
        decided_by=(("nz-act", False),)),
    Row("repealed: no longer counts", "NZ", "possession", "2020-01-01", A, "none"),
    Row("in force only on_or_before a later date: approximate", "AU", "possession",
        "2024-12-01", A, "none", approximate=True, pending=(("au-act", False),)),
    Row("on the on_or_before date: exact", "AU", "possession", "2025-03-01", A, "yes",
        decided_by=(("au-act", False),)),
    Row("inherited on_or_before law: approximate too", "AU-NSW", "possession", "2024-12-01",
        A, "none", approximate=True, pending=(("au-act", True),)),
]


def build():
    for position, slug in enumerate(CRITERIA):
        F.criterion(slug, position=position)
    for code in sorted(PLACES, key=lambda c: c.count("-")):  # countries before subdivisions
        F.jurisdiction(code, name=code, research_status=PLACES[code])
    for bloc, member, start, end in MEMBERSHIPS:
        BlocMembership.objects.create(
            bloc=Jurisdiction.objects.get(code=bloc), member=Jurisdiction.objects.get(code=member),
            start_date=start, end_date=end, source=F.source())
    for slug, (place, kind, steps, answers) in LAWS.items():
        law = F.instrument(place, slug=slug, instrument_type=kind, title=slug)
        for status, date, precision in steps:
            F.event(law, status, date, precision=precision)
        for criterion, (value, commencement) in answers.items():
            F.assessment(law, criterion, value, commencement_date=(
                datetime.date.fromisoformat(commencement) if commencement else None))


@pytest.fixture(scope="module")
def _rules_world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            build()
            yield
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            for conn in connections.all():
                conn.close_if_unusable_or_obsolete()


@pytest.fixture
def rules_world(_rules_world, db):
    return None


def expected(row: Row) -> dict:
    return {
        "value": row.value,
        "approximate": row.approximate,
        "decided_by": list(row.decided_by),
        "pending": list(row.pending),
        "bloc_obligations": list(row.bloc_obligations),
        "not_commenced": list(row.not_commenced),
    }


@pytest.mark.parametrize("row", ROWS, ids=[r.rule for r in ROWS])
def test_the_rule_in_the_coverage_module(rules_world, row):
    coverage = compute(Jurisdiction.objects.filter(code=row.place),
                       Criterion.objects.filter(slug=row.criterion),
                       datetime.date.fromisoformat(row.as_of), scope=row.scope)
    cell = coverage.cell(row.place, row.criterion)
    assert {
        "value": cell.value,
        "approximate": cell.approximate,
        "decided_by": [(d.slug, d.inherited) for d in cell.instruments],
        "pending": [(d.slug, d.inherited) for d in cell.pending],
        "bloc_obligations": [d.slug for d in cell.bloc_obligations],
        "not_commenced": [d.slug for d in cell.not_commenced],
    } == expected(row)


@pytest.mark.parametrize("row", ROWS, ids=[r.rule for r in ROWS])
def test_the_rule_in_the_served_answer(rules_world, client, row):
    response = client.get("/api/v1/compare/", {
        "jurisdictions": row.place, "criteria": row.criterion, "as_of": row.as_of,
        "scope": row.scope})
    assert response.status_code == 200, response.content
    body = response.json()
    assert [r["jurisdiction"]["code"] for r in body["rows"]] == [row.place]
    cell = body["rows"][0]["cells"][row.criterion]
    assert {
        "value": cell["value"],
        "approximate": cell["approximate"],
        "decided_by": [(d["slug"], d["inherited"]) for d in cell["instruments"]],
        "pending": [(d["slug"], d["inherited"]) for d in cell["pending"]],
        "bloc_obligations": [d["slug"] for d in cell["bloc_obligations"]],
        "not_commenced": [d["slug"] for d in cell["not_commenced"]],
    } == expected(row)


def test_every_value_and_scope_has_a_row():
    assert {r.value for r in ROWS} == {"yes", "partial", "unclear", "no", "none",
                                       "not_researched"}
    assert {r.scope for r in ROWS} == {A, OWN}
    assert any(r.approximate for r in ROWS) and any(not r.approximate for r in ROWS)
