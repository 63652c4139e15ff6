"""Effective coverage and gaps (jurisdictions/coverage.py; DOMAIN.md, "Effective coverage and
gaps — the core answer"), on small factory data."""

from __future__ import annotations

import datetime

import pytest

from jurisdictions import coverage
from jurisdictions.coverage import Step, approximate_as_of, compute, gaps, status_as_of
from jurisdictions.models import BlocMembership, Criterion, Instrument, Jurisdiction, StatusEvent
from tests import factories as f

pytestmark = pytest.mark.django_db

D = datetime.date.fromisoformat


def reviewed(code, **kw):
    return f.jurisdiction(code, research_status="reviewed", **kw)


def law(code, slug=None, events=(("in_force", "2020-01-01"),), values=None, **kw):
    """An instrument of ``code`` with status events ``(status, date[, precision])`` and
    assessments ``{criterion slug: value}`` (default: possession yes)."""
    instr = f.instrument(code, slug=slug, **kw)
    for status, date, *precision in events:
        f.event(instr, status, date, *precision)
    for slug_, value in (values or {"possession": "yes"}).items():
        f.assessment(instr, slug_, value)
    return instr


def member(bloc, country, start, end=None):
    return BlocMembership.objects.create(
        bloc=bloc, member=country, start_date=D(start), end_date=D(end) if end else None
    )


def cell(code, as_of, criterion="possession", scope="applicable"):
    jurisdiction = Jurisdiction.objects.get(code=code)
    return compute([jurisdiction], [f.criterion(criterion)], D(as_of), scope).cell(code, criterion)


def slugs(deciders):
    return [d.slug for d in deciders]


# --- rule 1: status as of D --------------------------------------------------------------
def test_status_is_that_of_the_latest_event_on_or_before_the_date():
    reviewed("KR")
    law("KR", "kr-act", events=[("introduced", "2024-01-10"), ("in_force", "2024-10-16")])
    assert cell("KR", "2024-10-15").value == "none"
    assert slugs(cell("KR", "2024-10-15").pending) == ["kr-act"]
    on_the_day = cell("KR", "2024-10-16")
    assert on_the_day.value == "yes"
    assert on_the_day.instruments[0].status == "in_force"
    assert on_the_day.pending == ()


def test_same_day_events_are_ordered_by_the_status_vocabulary_not_by_entry():
    reviewed("KR")
    instr = f.instrument("KR", slug="kr-same-day")
    # Entered in reverse: in_force first (lower pk), adopted second — in force at the day's end.
    f.event(instr, "in_force", "2024-10-16")
    f.event(instr, "adopted", "2024-10-16")
    f.assessment(instr, "possession", "yes")
    result = cell("KR", "2024-10-16")
    assert result.value == "yes"
    assert result.instruments[0].status == "in_force"
    assert result.pending == ()


def test_same_day_repeal_ends_the_instrument():
    reviewed("KR")
    law("KR", "kr-old", events=[("in_force", "2010-01-01"), ("repealed", "2024-10-16")])
    instr = f.instrument("KR", slug="kr-new")
    f.event(instr, "repealed", "2024-10-16")  # lower pk than the in_force below, same day
    f.event(instr, "in_force", "2024-10-16")
    f.assessment(instr, "possession", "partial")
    assert cell("KR", "2024-10-15").value == "yes"
    assert cell("KR", "2024-10-16").value == "none"


def test_pure_status_and_tie_break_by_pk():
    steps = [
        Step(D("2024-01-01"), "introduced", "day", 1),
        Step(D("2024-05-01"), "in_force", "day", 3),
        Step(D("2024-05-01"), "adopted", "day", 4),
        Step(D("2024-06-01"), "in_force", "day", 9),
        Step(D("2024-06-01"), "in_force", "day", 8),
    ]
    assert status_as_of(steps, D("2023-12-31")) is None
    assert status_as_of(steps, D("2024-01-01")) == "introduced"
    assert status_as_of(steps, D("2024-05-01")) == "in_force"
    # Same status, same date: the pk decides which step is last, the status is the same.
    assert status_as_of(steps, D("2024-06-01")) == "in_force"
    assert [s.pk for s in sorted(steps, key=coverage.life_order_key)] == [1, 4, 3, 8, 9]


def test_pure_rules_accept_status_event_rows():
    reviewed("KR")
    instr = law(
        "KR", events=[("introduced", "2024-01-01"), ("in_force", "2024-06-01", "on_or_before")]
    )
    events = list(StatusEvent.objects.filter(instrument=instr))
    assert status_as_of(events, D("2024-03-01")) == "introduced"
    assert approximate_as_of(events, D("2024-03-01")) is True
    assert approximate_as_of(events, D("2024-06-01")) is False


# --- rule 2: inheritance, blocs, scope -----------------------------------------------------
def test_federal_law_is_inherited_by_a_state_and_marked():
    reviewed("US")
    reviewed("US-CA")
    law("US", "us-federal", values={"possession": "yes"})
    result = cell("US-CA", "2024-01-01")
    assert result.value == "yes"
    [decider] = result.instruments
    assert decider.slug == "us-federal"
    assert decider.jurisdiction_code == "US"
    assert decider.inherited is True
    assert result.considered == result.instruments
    own_law = cell("US", "2024-01-01").instruments[0]
    assert own_law.inherited is False


def test_a_state_with_only_federal_law_applicable_yes_own_none_with_its_pending_bill():
    reviewed("US")
    reviewed("US-CA")
    law("US", "us-federal")
    law("US", "us-federal-bill", events=[("introduced", "2024-03-01")])
    law("US-CA", "ab-1831", events=[("introduced", "2024-02-01")], short_name="AB 1831")

    applicable = cell("US-CA", "2024-06-01", scope="applicable")
    assert applicable.value == "yes"
    assert [(d.slug, d.inherited) for d in applicable.instruments] == [("us-federal", True)]
    # Own bill first, then the inherited one.
    assert [(d.slug, d.inherited) for d in applicable.pending] == [
        ("ab-1831", False),
        ("us-federal-bill", True),
    ]

    own = cell("US-CA", "2024-06-01", scope="own")
    assert own.value == "none"
    assert own.instruments == own.considered == ()
    [bill] = own.pending
    assert (bill.slug, bill.short_name, bill.status, bill.inherited) == (
        "ab-1831",
        "AB 1831",
        "introduced",
        False,
    )


def test_own_law_and_inherited_law_are_both_deciders_when_equal():
    reviewed("US")
    reviewed("US-TX")
    law("US", "us-federal", values={"possession": "partial"})
    law("US-TX", "tx-law", values={"possession": "partial"})
    law("US-TX", "tx-weak", values={"possession": "no"})
    result = cell("US-TX", "2024-01-01")
    assert result.value == "partial"
    assert [(d.slug, d.inherited) for d in result.instruments] == [
        ("tx-law", False),
        ("us-federal", True),
    ]
    assert slugs(result.considered) == ["tx-law", "us-federal", "tx-weak"]


def test_inheritance_follows_the_whole_parent_chain():
    reviewed("GB")
    reviewed("GB-SCT")
    reviewed("GB-GLG", parent=Jurisdiction.objects.get(code="GB-SCT"))
    law("GB", "gb-act", values={"possession": "partial"})
    law("GB-SCT", "sct-act", values={"possession": "yes"})
    result = cell("GB-GLG", "2024-01-01")
    assert result.value == "yes"
    assert [(d.slug, d.jurisdiction_code, d.inherited) for d in result.considered] == [
        ("sct-act", "GB-SCT", True),
        ("gb-act", "GB", True),
    ]


def test_chains_deeper_than_one_query_reaches_are_followed():
    # An artificial six-level chain (ISO nests three at most): US-CA -> US-NY -> US-TX ->
    # US-FL -> US-WA -> US.
    parent = reviewed("US")
    for code in ("US-WA", "US-FL", "US-TX", "US-NY", "US-CA"):
        parent = reviewed(code, parent=parent)
    law("US", "us-federal")
    result = cell("US-CA", "2024-01-01")
    assert result.value == "yes"
    assert result.instruments[0].jurisdiction_code == "US"


def test_a_bloc_directive_is_a_bloc_obligation_never_counted():
    eu = reviewed("EU")
    de = reviewed("DE")
    member(eu, de, "1958-01-01")
    law("EU", "directive-2011-93", instrument_type="directive", values={"possession": "yes"})

    result = cell("DE", "2024-01-01")
    assert result.value == "none"
    assert result.instruments == result.considered == ()
    [obligation] = result.bloc_obligations
    assert (obligation.slug, obligation.jurisdiction_code, obligation.value) == (
        "directive-2011-93",
        "EU",
        "yes",
    )
    assert obligation.inherited is False
    # The EU's own answer counts its own instruments.
    assert cell("EU", "2024-01-01").value == "yes"


def test_a_bloc_directive_reaches_a_subdivision_through_its_country_under_applicable_only():
    eu = reviewed("EU")
    de = reviewed("DE")
    reviewed("DE-BY")
    member(eu, de, "1958-01-01")
    law("EU", "directive-2011-93", instrument_type="directive")
    applicable = cell("DE-BY", "2024-01-01")
    assert applicable.value == "none"
    assert [(d.slug, d.inherited) for d in applicable.bloc_obligations] == [
        ("directive-2011-93", True)
    ]
    assert cell("DE-BY", "2024-01-01", scope="own").bloc_obligations == ()
    # A member's own scope still shows its own memberships.
    assert slugs(cell("DE", "2024-01-01", scope="own").bloc_obligations) == ["directive-2011-93"]


def test_bloc_proposals_are_neither_pending_nor_obligations_for_members():
    eu = reviewed("EU")
    de = reviewed("DE")
    member(eu, de, "1958-01-01")
    law("EU", "eu-recast", instrument_type="proposal", events=[("introduced", "2024-02-06")])
    assert slugs(cell("EU", "2025-01-01").pending) == ["eu-recast"]
    result = cell("DE", "2025-01-01")
    assert result.pending == ()
    assert result.bloc_obligations == ()


def test_the_uk_is_bound_by_eu_law_until_it_left_on_2020_01_31():
    eu = reviewed("EU")
    gb = reviewed("GB")
    member(eu, gb, "1973-01-01", "2020-01-31")
    law(
        "EU", "directive-2011-93", instrument_type="directive", events=[("in_force", "2011-12-17")]
    )
    assert slugs(cell("GB", "2019-06-01").bloc_obligations) == ["directive-2011-93"]
    assert slugs(cell("GB", "2020-01-31").bloc_obligations) == ["directive-2011-93"]  # last day
    assert cell("GB", "2020-02-01").bloc_obligations == ()
    assert cell("GB", "2021-01-01").bloc_obligations == ()
    assert cell("GB", "2019-06-01").value == "none"


def test_a_bloc_obligation_must_apply_at_the_date():
    eu = reviewed("EU")
    de = reviewed("DE")
    member(eu, de, "1958-01-01")
    law(
        "EU",
        "directive",
        instrument_type="directive",
        events=[("adopted", "2011-12-13"), ("in_force", "2011-12-17")],
    )
    assert cell("DE", "2011-12-14").bloc_obligations == ()
    assert slugs(cell("DE", "2011-12-17").bloc_obligations) == ["directive"]


def test_international_treaties_are_not_inherited_nor_counted():
    un = reviewed("UN", kind="international")
    kr = reviewed("KR")
    law("UN", "un-optional-protocol", instrument_type="treaty")
    result = cell("KR", "2024-01-01")
    assert (result.value, result.considered, result.bloc_obligations) == ("none", (), ())
    # Membership in the organisation shows its treaties beside the answer, still uncounted.
    member(un, kr, "1991-09-17")
    result = cell("KR", "2024-01-01")
    assert result.value == "none"
    assert slugs(result.bloc_obligations) == ["un-optional-protocol"]
    assert cell("UN", "2024-01-01").value == "yes"


# --- rule 3: ranking and commencement ------------------------------------------------------
@pytest.mark.parametrize(
    "values, expected",
    [
        (["no"], "no"),
        (["no", "unclear"], "unclear"),
        (["unclear", "no", "partial"], "partial"),
        (["partial", "yes", "no", "unclear"], "yes"),
        ([], "none"),
    ],
)
def test_the_strongest_assessment_wins(values, expected):
    reviewed("JP")
    for i, value in enumerate(values):
        law("JP", f"jp-{i}", values={"possession": value})
    result = cell("JP", "2024-01-01")
    assert result.value == expected
    assert all(d.value == expected for d in result.instruments)
    assert len(result.instruments) == (1 if values else 0)
    strengths = [coverage.VALUE_STRENGTH[d.value] for d in result.considered]
    assert strengths == sorted(strengths, reverse=True)
    assert len(result.considered) == len(values)


def test_an_assessment_counts_only_for_its_own_criterion():
    reviewed("JP")
    law("JP", "jp-act", values={"possession": "yes", "production": "no"})
    result = compute(
        [Jurisdiction.objects.get(code="JP")],
        [f.criterion("possession"), f.criterion("production"), f.criterion("platform_duties")],
        D("2024-01-01"),
    )
    assert result.cell("JP", "possession").value == "yes"
    assert result.cell("JP", "production").value == "no"
    assert result.cell("JP", "platform_duties").value == "none"


def test_an_instrument_not_yet_or_no_longer_in_force_does_not_count():
    reviewed("JP")
    law("JP", "jp-repealed", events=[("in_force", "2000-01-01"), ("repealed", "2015-01-01")])
    law(
        "JP",
        "jp-future",
        events=[("adopted", "2024-01-01"), ("in_force", "2025-01-01")],
        values={"possession": "no"},
    )
    assert cell("JP", "2010-01-01").value == "yes"
    assert cell("JP", "2020-01-01").value == "none"
    assert cell("JP", "2025-01-01").value == "no"


def test_partially_in_force_applies():
    reviewed("JP")
    law("JP", "jp-partial", events=[("partially_in_force", "2024-01-01")])
    result = cell("JP", "2024-01-01")
    assert result.value == "yes"
    assert result.instruments[0].status == "partially_in_force"


def test_an_assessment_counts_from_its_commencement_date():
    reviewed("KR")
    instr = f.instrument("KR", slug="kr-youth")
    f.event(instr, "partially_in_force", "2024-10-16")
    f.event(instr, "in_force", "2025-04-17")
    f.assessment(instr, "possession", "yes", commencement_date=D("2025-04-17"))
    before = cell("KR", "2025-01-01")
    assert before.value == "none"
    assert before.considered == ()
    [waiting] = before.not_commenced
    assert (waiting.slug, waiting.commencement_date) == ("kr-youth", D("2025-04-17"))
    after = cell("KR", "2025-04-17")
    assert after.value == "yes"
    assert after.not_commenced == ()


# --- rule 4: not researched ----------------------------------------------------------------
def test_not_researched_whatever_was_found_but_the_findings_are_listed():
    f.jurisdiction("BR")  # research_status defaults to not_researched
    law("BR", "br-eca")
    law("BR", "br-bill", events=[("introduced", "2024-05-01")])
    result = cell("BR", "2024-06-01")
    assert result.value == "not_researched"
    assert result.instruments == ()
    assert slugs(result.considered) == ["br-eca"]
    assert slugs(result.pending) == ["br-bill"]


def test_in_progress_research_gives_the_value():
    f.jurisdiction("BR", research_status="in_progress")
    law("BR", "br-eca")
    assert cell("BR", "2024-06-01").value == "yes"


# --- rule 5: pending -----------------------------------------------------------------------
@pytest.mark.parametrize("status", ["introduced", "in_committee", "passed_chamber", "adopted"])
def test_pending_statuses_with_a_yes_are_listed(status):
    reviewed("FR")
    law("FR", "fr-bill", events=[(status, "2024-01-01")])
    result = cell("FR", "2024-06-01")
    assert result.value == "none"
    assert [(d.slug, d.status, d.value) for d in result.pending] == [("fr-bill", status, "yes")]


@pytest.mark.parametrize("status", ["vetoed", "withdrawn", "lapsed", "superseded"])
def test_ended_bills_are_not_pending(status):
    reviewed("FR")
    law("FR", "fr-bill", events=[("introduced", "2024-01-01"), (status, "2024-03-01")])
    assert cell("FR", "2024-06-01").pending == ()
    assert slugs(cell("FR", "2024-02-01").pending) == ["fr-bill"]


def test_only_pending_bills_that_would_answer_yes_are_listed():
    reviewed("FR")
    law(
        "FR",
        "fr-partial-bill",
        events=[("introduced", "2024-01-01")],
        values={"possession": "partial"},
    )
    law(
        "FR",
        "fr-bill",
        events=[("introduced", "2024-01-01")],
        values={"possession": "yes", "production": "no"},
    )
    assert slugs(cell("FR", "2024-06-01").pending) == ["fr-bill"]
    assert cell("FR", "2024-06-01", criterion="production").pending == ()


# --- rule 6: approximate -------------------------------------------------------------------
def test_an_on_or_before_step_after_the_date_makes_the_cell_approximate():
    reviewed("IT")
    law(
        "IT",
        "it-act",
        events=[("introduced", "2024-01-15"), ("in_force", "2024-06-01", "on_or_before")],
    )
    # After the introduction, before the reported date: it may already have been in force.
    between = cell("IT", "2024-03-01")
    assert (between.value, between.approximate) == ("none", True)
    assert slugs(between.pending) == ["it-act"]
    # Before the introduction the in-force step cannot have happened yet: exact.
    assert cell("IT", "2024-01-01").approximate is False
    # From the reported date on, it counts and the answer is exact.
    on = cell("IT", "2024-06-01")
    assert (on.value, on.approximate) == ("yes", False)


def test_an_on_or_before_first_step_is_approximate_before_its_date():
    reviewed("IT")
    law("IT", "it-act", events=[("in_force", "2024-06-01", "on_or_before")])
    assert cell("IT", "2000-01-01").approximate is True
    assert cell("IT", "2024-06-02").approximate is False


def test_day_month_and_year_precision_are_never_approximate():
    reviewed("IT")
    law("IT", "it-a", events=[("in_force", "2024-06-01", "month")])
    law("IT", "it-b", events=[("in_force", "2024-01-01", "year")])
    law("IT", "it-c", events=[("in_force", "2024-06-15", "day")])
    assert cell("IT", "2024-03-01").approximate is False


def test_approximate_only_from_instruments_assessed_for_the_criterion_and_in_scope():
    reviewed("US")
    reviewed("US-NY")
    law("US", "us-law", events=[("in_force", "2024-06-01", "on_or_before")])
    law(
        "US-NY",
        "ny-law",
        events=[("in_force", "2024-06-01", "on_or_before")],
        values={"production": "yes"},
    )
    assert cell("US-NY", "2024-01-01", criterion="possession").approximate is True
    assert cell("US-NY", "2024-01-01", criterion="possession", scope="own").approximate is False
    assert cell("US-NY", "2024-01-01", criterion="production", scope="own").approximate is True


def test_an_uncertain_step_that_cannot_change_the_answer_leaves_it_exact():
    reviewed("IT")
    law("IT", "it-old", events=[("in_force", "2010-01-01")])  # already yes
    law("IT", "it-new", events=[("introduced", "2023-01-01"), ("in_force", "2024-06-01", "on_or_before")])
    # it-new is pending (yes) at 2024-03-01 and may already be in force: the value is yes
    # either way, but the pending list would lose it, so the answer is approximate
    assert cell("IT", "2024-03-01").approximate is True
    # an uncertain repeal of a weaker law cannot move a yes decided by another law: exact
    reviewed("NL")
    law("NL", "nl-strong", events=[("in_force", "2010-01-01")])
    law(
        "NL",
        "nl-weak",
        events=[("in_force", "2010-01-01"), ("repealed", "2024-06-01", "on_or_before")],
        values={"possession": "no"},
    )
    exact = cell("NL", "2024-03-01")
    assert (exact.value, exact.approximate) == ("yes", False)
    assert approximate_as_of(Instrument.objects.get(slug="nl-weak").status_events.all(), D("2024-03-01"))


def test_pure_approximate_rule():
    oob = "on_or_before"
    steps = [
        Step(D("2024-01-01"), "introduced", "day", 1),
        Step(D("2024-05-01"), "adopted", oob, 2),
        Step(D("2024-09-01"), "in_force", oob, 3),
    ]
    assert approximate_as_of(steps, D("2023-12-31")) is False  # before the first known step
    assert approximate_as_of(steps, D("2024-02-01")) is True  # adoption may have happened
    assert approximate_as_of(steps, D("2024-06-01")) is True  # commencement may have happened
    assert approximate_as_of(steps, D("2024-09-01")) is False
    assert approximate_as_of([], D("2024-09-01")) is False


# --- sources and interface -----------------------------------------------------------------
def test_deciders_cite_the_assessment_else_the_instrument():
    reviewed("NL")
    cited = f.instrument("NL", slug="nl-cited")  # cites its own source too
    f.event(cited, "in_force", "2020-01-01")
    assessment = f.assessment(cited, "possession", "yes", cite=False, pinpoint="art. 252")
    src = f.source(
        "https://example.org/nl-assessment",
        title="Memorie",
        publisher="Tweede Kamer",
        kind="legislature",
    )
    assessment.sources.add(src)
    uncited = f.instrument("NL", slug="nl-uncited", cite=False)
    f.event(uncited, "in_force", "2020-01-01")
    f.assessment(uncited, "possession", "yes", cite=False)
    uncited.sources.add(
        f.source(
            "https://example.org/nl-act", title="Wetboek", publisher="Overheid", kind="official"
        )
    )

    result = cell("NL", "2024-01-01")
    by_slug = {d.slug: d for d in result.instruments}
    assert by_slug["nl-cited"].pinpoint == "art. 252"
    assert by_slug["nl-cited"].sources == (
        {
            "url": "https://example.org/nl-assessment",
            "title": "Memorie",
            "publisher": "Tweede Kamer",
            "kind": "legislature",
            "published_on": None,
        },
    )
    assert by_slug["nl-uncited"].sources == (
        {
            "url": "https://example.org/nl-act",
            "title": "Wetboek",
            "publisher": "Overheid",
            "kind": "official",
            "published_on": None,
        },
    )
    assert by_slug["nl-cited"].title == "An act"
    assert by_slug["nl-cited"].instrument_id == cited.pk


def test_rows_keep_the_order_given_and_cells_are_found_by_code_in_any_case():
    for code in ("KR", "GB", "US"):
        reviewed(code)
    reviewed("US-CA")
    law("KR", "kr-act")
    order = [Jurisdiction.objects.get(code=c) for c in ("US-CA", "KR", "GB", "KR")]
    criteria = [f.criterion("production"), f.criterion("possession")]
    result = compute(order, criteria, D("2024-01-01"))
    assert [j.code for j in result.jurisdictions] == ["US-CA", "KR", "GB"]  # duplicate dropped
    assert [c.slug for c in result.criteria] == ["production", "possession"]
    rows = result.rows()
    assert [(j.code, list(cells)) for j, cells in rows] == [
        ("US-CA", ["production", "possession"]),
        ("KR", ["production", "possession"]),
        ("GB", ["production", "possession"]),
    ]
    assert rows[1][1]["possession"].value == "yes"
    assert result.cell("kr", "possession") is rows[1][1]["possession"]
    assert result.cell(order[1], "possession").value == "yes"
    with pytest.raises(KeyError):
        result.cell("JP", "possession")
    with pytest.raises(KeyError):
        result.cell("KR", "distribution")
    assert result.as_of == D("2024-01-01") and result.scope == "applicable"


def test_querysets_are_accepted_and_bad_arguments_are_refused():
    reviewed("KR")
    law("KR", "kr-act")
    result = compute(Jurisdiction.objects.all(), Criterion.objects.all(), D("2024-01-01"))
    assert result.cell("KR", "possession").value == "yes"
    assert compute(
        Jurisdiction.objects.all(), Criterion.objects.all(), datetime.datetime(2024, 1, 1, 12)
    ).as_of == D("2024-01-01")
    with pytest.raises(ValueError, match="scope"):
        compute(Jurisdiction.objects.all(), Criterion.objects.all(), D("2024-01-01"), scope="mine")
    with pytest.raises(TypeError, match="as_of"):
        compute(Jurisdiction.objects.all(), Criterion.objects.all(), "2024-01-01")
    empty = compute([], Criterion.objects.all(), D("2024-01-01"))
    assert empty.rows() == []


# --- gaps ----------------------------------------------------------------------------------
def _gap_world():
    eu = reviewed("EU")
    for code in ("KR", "GB", "JP", "FR", "DE", "US"):
        reviewed(code)
    f.jurisdiction("IT", research_status="in_progress")
    f.jurisdiction("BR")  # not researched, though it has a law
    f.jurisdiction("UN", kind="international")
    member(eu, Jurisdiction.objects.get(code="DE"), "1958-01-01")
    law("EU", "eu-directive", instrument_type="directive")
    law("KR", "kr-act", values={"possession": "yes"})
    law("GB", "gb-act", values={"possession": "partial"})
    law("FR", "fr-act", values={"possession": "no"})
    law("DE", "de-act", values={"possession": "unclear"})
    law("BR", "br-act", values={"possession": "yes"})
    law("US", "us-bill", events=[("introduced", "2024-01-01")])
    law("UN", "un-treaty", instrument_type="treaty")


def test_gaps_group_researched_jurisdictions_that_are_not_yes():
    _gap_world()
    answer = gaps("possession", D("2024-06-01"))
    assert answer["as_of"] == D("2024-06-01")
    assert answer["criterion"].slug == "possession"
    assert {k: [j.code for j in v] for k, v in answer["groups"].items()} == {
        "none": ["IT", "JP", "US"],
        "no": ["FR"],
        "unclear": ["DE"],
        "partial": ["GB"],
        "not_researched": ["BR"],
    }
    assert answer["counts"] == {
        "none": 3,
        "no": 1,
        "unclear": 1,
        "partial": 1,
        "not_researched": 1,
    }
    assert [j.code for j in answer["covered"]] == ["EU", "KR"]  # UN left out by default
    assert answer["pending"] == {"US"}
    assert answer["cells"]["GB"].instruments[0].slug == "gb-act"
    assert "UN" not in answer["cells"]


def test_gaps_count_every_value_even_at_zero_and_take_a_subset():
    _gap_world()
    subset = Jurisdiction.objects.filter(code__in=["KR", "FR"])
    answer = gaps(f.criterion("possession"), D("2024-06-01"), jurisdictions=subset)
    assert answer["counts"] == {
        "none": 0,
        "no": 1,
        "unclear": 0,
        "partial": 0,
        "not_researched": 0,
    }
    assert list(answer["groups"]) == ["none", "no", "unclear", "partial", "not_researched"]
    assert answer["pending"] == set()


def test_gaps_under_own_scope_count_a_state_covered_only_by_federal_law():
    reviewed("US")
    reviewed("US-CA")
    reviewed("US-TX")
    law("US", "us-federal")
    law("US-TX", "tx-law")
    law("US-CA", "ab-1831", events=[("introduced", "2024-02-01")])
    states = Jurisdiction.objects.filter(code__in=["US-CA", "US-TX"])
    applicable = gaps("possession", D("2024-06-01"), jurisdictions=states)
    assert sum(applicable["counts"].values()) == 0
    own = gaps("possession", D("2024-06-01"), scope="own", jurisdictions=states)
    assert [j.code for j in own["groups"]["none"]] == ["US-CA"]
    assert own["pending"] == {"US-CA"}
    assert [j.code for j in own["covered"]] == ["US-TX"]


def test_gaps_refuse_an_unknown_criterion():
    with pytest.raises(Criterion.DoesNotExist):
        gaps("no-such-criterion", D("2024-06-01"))


# --- rule 7: a fixed number of queries -----------------------------------------------------
COUNTRIES = ["KR", "JP", "FR", "IT", "ES", "SE", "NL", "BE", "AT", "PL", "IE", "DK"]
STATES = ["US-CA", "US-TX", "US-NY", "US-FL", "US-WA", "US-IA", "US-VA", "US-GA"]


def _world(size):
    eu = reviewed("EU")
    law(
        "EU",
        "eu-directive",
        instrument_type="directive",
        values={"possession": "yes", "production": "yes"},
    )
    reviewed("US")
    law("US", "us-federal", values={"possession": "yes", "production": "partial"})
    law("US", "us-bill", events=[("introduced", "2024-01-01")])
    for code in COUNTRIES[:size]:
        country = reviewed(code)
        member(eu, country, "1995-01-01")
        law(
            code,
            events=[("introduced", "2019-01-01"), ("in_force", "2020-01-01")],
            values={"possession": "partial", "production": "yes"},
        )
        law(
            code,
            events=[("introduced", "2024-01-01", "on_or_before")],
            values={"possession": "yes"},
        )
    for code in STATES[:size]:
        reviewed(code)
        law(code, values={"possession": "unclear", "production": "no"})
    return COUNTRIES[:size] + STATES[:size]


def test_compute_runs_the_same_queries_for_one_place_and_many(count_queries):
    codes = _world(8)
    jurisdictions = list(Jurisdiction.objects.filter(code__in=codes))
    criteria = list(Criterion.objects.all())
    one, _ = count_queries(compute, jurisdictions[:1], criteria, D("2023-06-01"))
    many, result = count_queries(compute, jurisdictions, criteria, D("2023-06-01"))
    # hierarchy, memberships, assessments, status events, then links and sources for each of
    # the two kinds of citations
    assert one == many <= 8
    rows = result.rows()
    assert len(rows) == 16
    assert all(cells["possession"].value == "partial" for j, cells in rows if "-" not in j.code)
    assert all(cells["possession"].value == "yes" for j, cells in rows if "-" in j.code)
    assert all(cells["possession"].approximate for j, cells in rows if "-" not in j.code)


def test_compute_without_sources_gives_the_same_answers_in_four_queries(count_queries):
    codes = _world(8)
    jurisdictions = list(Jurisdiction.objects.filter(code__in=codes))
    criteria = list(Criterion.objects.all())
    full = compute(jurisdictions, criteria, D("2023-06-01"))
    one, _ = count_queries(compute, jurisdictions[:1], criteria, D("2023-06-01"),
                           with_sources=False)
    many, bare = count_queries(compute, jurisdictions, criteria, D("2023-06-01"),
                               with_sources=False)
    assert one == many <= 4  # hierarchy, memberships, assessments, status events

    def answer(cell):
        return (cell.value, cell.approximate, slugs(cell.instruments), slugs(cell.considered),
                slugs(cell.pending), slugs(cell.bloc_obligations), slugs(cell.not_commenced))

    for (j, cells), (bare_j, bare_cells) in zip(full.rows(), bare.rows(), strict=True):
        assert j == bare_j
        for slug, cell in cells.items():
            assert answer(bare_cells[slug]) == answer(cell)
            assert all(d.sources == () for d in bare_cells[slug].considered)
    assert any(d.sources for _, cells in full.rows() for cell in cells.values()
               for d in cell.considered)


def test_compute_and_gaps_from_querysets_run_the_same_queries_for_one_place_and_many(
    count_queries
):
    codes = _world(8)
    counts = {}
    for selected in (codes[:1], codes):
        # +1 query each for evaluating the jurisdictions and the criteria.
        counts[("compute", len(selected))], _ = count_queries(
            compute, Jurisdiction.objects.filter(code__in=selected), Criterion.objects.all(),
            D("2024-06-01"))
        # the criterion, the jurisdictions, then compute
        counts[("gaps", len(selected))], answer = count_queries(
            gaps, "possession", D("2024-06-01"),
            jurisdictions=Jurisdiction.objects.filter(code__in=selected))
    assert counts[("compute", 1)] == counts[("compute", 16)] <= 10, counts
    assert counts[("gaps", 1)] == counts[("gaps", 16)] <= 10, counts
    assert answer["counts"]["partial"] == 8
    assert len(answer["covered"]) == 8
