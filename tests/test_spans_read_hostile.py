"""Hostile checks of the answers read from the spans (spans.read): after each kind of write, on
the small world, every cell read from the spans (both ways) equals the pure rules' answer, and
the API answers (compare full/compact, gaps) equal it too; bad parameters get a 400."""
import datetime

import pytest

from jurisdictions import coverage
from jurisdictions.models import Assessment, Instrument, BlocMembership, Criterion, Jurisdiction, StatusEvent
from spans import read
from tests import factories as f

pytestmark = pytest.mark.django_db

D = datetime.date.fromisoformat
DATES = [D(x) for x in ("0001-01-01", "1990-01-01", "2011-12-13", "2013-12-17", "2013-12-18",
                        "2020-01-31", "2020-02-01", "2024-02-06", "2024-10-15", "2024-10-16",
                        "2025-01-01", "2025-03-01", "2026-12-01", "2031-01-01", "9999-12-31")]


def I(slug):
    return Instrument.objects.get(slug=slug)


def J(code):
    return Jurisdiction.objects.get(code=code)


def decided(cell) -> tuple:
    def deciders(found):
        return [(d.slug, d.value, d.status, d.inherited, d.pinpoint, d.sources, d.basis,
                 d.verified_on, d.commencement_date, d.url) for d in found]
    return (cell.value, cell.approximate, cell.criterion, deciders(cell.instruments),
            deciders(cell.pending))


def assert_reads_equal_rules(dates=DATES):
    jurisdictions = list(Jurisdiction.objects.all())
    criteria = list(Criterion.objects.all())
    url = "/i/{}".format
    for as_of in dates:
        for scope in ("applicable", "own"):
            pure = coverage.compute(jurisdictions, criteria, as_of, scope, instrument_url=url)
            for full in (False, True):
                same = (lambda c: c) if full else decided
                spans = read.coverage_at(jurisdictions, criteria, as_of, scope,
                                         instrument_url=url, full=full)
                for jurisdiction, cells in pure.rows():
                    for slug, cell in cells.items():
                        got = spans.cell(jurisdiction, slug)
                        assert same(got) == same(cell), (as_of, scope, full, jurisdiction.code,
                                                         slug, got, cell)


def test_baseline(world):
    assert_reads_equal_rules()


def test_slug_renamed(world):
    i = I("us-federal")
    i.slug = "us-federal-renamed"
    i.save()
    assert_reads_equal_rules()


def test_assessment_deleted_and_changed(world):
    gone = I("us-federal").assessments.get(criterion__slug="possession")
    gone.citations.all().delete()
    gone.delete()
    a = I("de-stgb-184b").assessments.get(criterion__slug="production")
    a.value = "yes"
    a.save()
    assert_reads_equal_rules()


def test_same_day_step(world):
    f.event(I("us-oh-bill"), "passed_chamber", "2025-04-15")
    f.event(I("us-oh-bill"), "adopted", "2025-04-15")
    f.event(I("us-oh-bill"), "in_force", "2025-04-15", "on_or_before")
    assert_reads_equal_rules()


def test_on_or_before(world):
    f.event(I("us-oh-bill"), "adopted", "2026-01-01", "on_or_before")
    f.event(I("de-stgb-184b"), "repealed", "2026-06-01", "on_or_before")
    assert_reads_equal_rules()


def test_commencement_moved(world):
    a = I("us-ca-ab1831").assessments.get(criterion__slug="production")
    a.commencement_date = D("2030-01-01")
    a.save()
    a = I("us-ca-ab1831").assessments.get(criterion__slug="possession")
    a.commencement_date = D("1990-01-01")
    a.save()
    assert_reads_equal_rules()


def test_membership_ended(world):
    m = BlocMembership.objects.get(member=J("DE"))
    m.end_date = D("2020-01-01")
    m.save()
    assert_reads_equal_rules()


def test_not_researched(world):
    j = J("US")
    j.research_status = "not_researched"
    j.save()
    assert_reads_equal_rules()


def test_instrument_moved(world):
    i = I("us-federal")
    i.jurisdiction = J("KR")
    i.save()
    assert_reads_equal_rules()


def test_court_decision(world):
    i = I("us-federal")
    i.instrument_type = "court_decision"
    i.save()
    assert_reads_equal_rules()


def test_parent_changed(world):
    j = J("US-OH")
    j.parent = J("DE")
    j.save()
    assert_reads_equal_rules()


def test_jurisdiction_code_renamed(world):
    j = J("US-CA")
    j.code = "US-NY"
    j.save()
    assert_reads_equal_rules()


def test_step_deleted_and_moved(world):
    gone = I("us-federal").status_events.get()
    gone.citations.all().delete()
    gone.delete()
    e = I("kr-2024-amendment").status_events.get(status="in_force")
    e.instrument = I("us-oh-bill")
    e.save()
    assert_reads_equal_rules()


def test_instrument_deleted(world):
    i = I("us-federal")
    for a in i.assessments.all():
        a.citations.all().delete()
        a.delete()
    for e in i.status_events.all():
        e.citations.all().delete()
        e.delete()
    i.citations.all().delete()
    i.delete()
    assert_reads_equal_rules()


def test_assessment_moved_criterion(world):
    a = I("us-federal").assessments.get(criterion__slug="possession")
    a.criterion = Criterion.objects.get(slug="old_question")
    a.save()
    assert_reads_equal_rules()


def test_new_criterion(world):
    c = f.criterion("distribution", position=3)
    f.assessment(I("us-federal"), "distribution", "partial")
    assert_reads_equal_rules()


@pytest.mark.parametrize("when", ["0001-01-01", "9999-12-31"])
def test_steps_at_the_ends_of_the_calendar(world, when):
    f.event(I("us-oh-bill"), "adopted", when)
    f.event(I("us-oh-bill"), "in_force", when, "on_or_before")
    f.event(I("de-stgb-184b"), "repealed", when, "on_or_before")
    a = I("us-ca-ab1831").assessments.get(criterion__slug="possession")
    a.commencement_date = D(when)
    a.save()
    assert_reads_equal_rules()


def _api_cells(client, codes, as_of, shape):
    query = f"/api/v1/compare/?jurisdictions={','.join(codes)}&as_of={as_of}&shape={shape}"
    response = client.get(query)
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    return {(row["jurisdiction"]["code"], slug): cell
            for row in body["rows"] for slug, cell in row["cells"].items()}


@pytest.mark.parametrize("as_of", ["2024-01-01", "2026-12-01"])
def test_compare_of_more_than_500_jurisdictions_is_the_rules_answer(seeded, client, as_of):
    jurisdictions = list(Jurisdiction.objects.exclude(kind="international").order_by("code"))
    assert len(jurisdictions) > 520
    codes = [j.code for j in jurisdictions]
    criteria = [c for c in Criterion.objects.filter(retired=False)]
    pure = coverage.compute(jurisdictions, criteria, D(as_of))
    want = {(j.code, slug): (c.value, c.approximate, [d.slug for d in c.instruments],
                             [d.slug for d in c.pending])
            for j, row in pure.rows() for slug, c in row.items()}
    for shape in ("compact", "full"):
        got = _api_cells(client, codes, as_of, shape)
        def names(found):
            return [d if isinstance(d, str) else d["slug"] for d in found]
        got = {k: (c["value"], c["approximate"], names(c["instruments"]), names(c["pending"]))
               for k, c in got.items()}
        assert got == want, shape


def test_new_subdivision(world):
    f.jurisdiction("US-TX", name="Texas", research_status="in_progress",
                   subdivision_type="State")
    assert_reads_equal_rules()


def test_new_jurisdiction_then_law(world):
    f.jurisdiction("JP", name="Japan", research_status="reviewed")
    i = f.instrument("JP", slug="jp-act")
    f.event(i, "in_force", "2020-01-01", "on_or_before")
    f.assessment(i, "possession", "partial", commencement_date=D("2021-01-01"))
    assert_reads_equal_rules()


# --- defect: a step at either end of the calendar broke the write (OverflowError) -----------
@pytest.mark.parametrize("when", ["9999-12-31", "0001-01-01"])
def test_a_step_moved_to_either_end_of_the_calendar_is_kept_in_the_spans(world, when):
    """Moving us-federal's only step (same status and precision) to 9999-12-31 computed the
    window's end as the day after it, and to 0001-01-01 read the spans of the day before it:
    both raised OverflowError inside the write's save()."""
    step = I("us-federal").status_events.get()
    step.date = D(when)
    step.save()
    assert StatusEvent.objects.get(pk=step.pk).date == D(when)
    assert_reads_equal_rules()
    # Real values (the seed may share this module: only what the write decides is asserted):
    # the federal law decides possession in California and the US once it applies.
    possession = Criterion.objects.get(slug="possession")
    for code in ("US-CA", "US"):
        cell = read.coverage_at([J(code)], [possession], D("2026-12-01"),
                                "applicable").cell(code, "possession")
        assert ("us-federal" in [d.slug for d in cell.instruments]) is (when == "0001-01-01")


def test_a_step_added_after_one_dated_0001_01_01_is_kept_in_the_spans(world):
    """An instrument whose only step is dated 0001-01-01: its next step's window starts on that
    day, and the spans of the day before it were read: OverflowError."""
    act = f.instrument("US-OH", slug="us-oh-act")
    f.assessment(act, "possession", "yes")
    f.event(act, "introduced", "0001-01-01", "on_or_before")
    f.event(act, "in_force", "2026-06-01")
    assert_reads_equal_rules()
    possession = Criterion.objects.get(slug="possession")
    cell = read.coverage_at([J("US-OH")], [possession], D("2026-12-01"),
                            "applicable").cell("US-OH", "possession")
    assert cell.value == "yes" and cell.instruments[0].slug == "us-oh-act"
    cell = read.coverage_at([J("US-OH")], [possession], D("2026-05-31"),
                            "own").cell("US-OH", "possession")
    assert "us-oh-act" in [d.slug for d in cell.pending]
    assert "us-oh-act" not in [d.slug for d in cell.instruments]


def _gaps_via_api(client, query):
    response = client.get("/api/v1/gaps/?" + query)
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    return {value: [(g["code"], g["approximate"], [d["slug"] for d in g["instruments"]],
                     [d["slug"] for d in g["pending_instruments"]]) for g in members]
            for value, members in body["groups"].items()}, body["covered_count"]


def _gaps_by_rules(criterion, as_of, scope, jurisdictions=None):
    found = coverage.gaps(criterion, D(as_of), scope, jurisdictions)
    groups = {value: [(j.code, found["cells"][j.code].approximate,
                       [d.slug for d in found["cells"][j.code].instruments],
                       [d.slug for d in found["cells"][j.code].pending]) for j in members]
              for value, members in found["groups"].items()}
    return groups, len(found["covered"])


@pytest.mark.parametrize("as_of", ["1950-01-01", "2024-06-01", "2026-12-01"])
@pytest.mark.parametrize("scope", ["applicable", "own"])
def test_gaps_of_the_seed_through_the_api_are_the_rules_answer(seeded, client, as_of, scope):
    for criterion in Criterion.objects.filter(retired=False)[:3]:
        assert _gaps_via_api(client, f"criterion={criterion.slug}&as_of={as_of}&scope={scope}") \
            == _gaps_by_rules(criterion, as_of, scope)


def test_bad_selection_of_more_than_500_codes_is_a_400_naming_it(seeded, client):
    codes = list(Jurisdiction.objects.values_list("code", flat=True))
    assert len(codes) > 500
    for query in (f"jurisdictions={','.join([*codes, 'XX'])}&shape=compact",
                  f"jurisdictions={','.join(codes)}&shape=tiny",
                  f"jurisdictions={','.join(codes)}&shape=compact&as_of=2024-02-30"):
        response = client.get("/api/v1/compare/?" + query)
        assert response.status_code == 400, query[-40:]
        assert set(response.json()["errors"]) & {"jurisdictions", "shape", "as_of"}


def test_compact_and_full_compare_after_writes_are_the_rules_answer(world, client):
    """Writes that change what cells read, then compare through the API in both shapes."""
    f.event(I("us-oh-bill"), "adopted", "2026-01-01", "on_or_before")
    f.event(I("us-oh-bill"), "in_force", "2026-01-01")
    j = J("US-CA")
    j.research_status = "not_researched"
    j.save()
    i = I("us-federal")
    i.slug = "us-federal-2"
    i.save()
    codes = ["US", "US-CA", "US-OH", "KR", "DE", "GB", "FR", "EU", "BR-SP"]
    jurisdictions = [J(code) for code in codes]
    criteria = list(Criterion.objects.filter(retired=False))
    for as_of in ("2025-12-31", "2026-01-01", "2026-12-01"):
        pure = coverage.compute(jurisdictions, criteria, D(as_of))
        want = {(jur.code, slug): (c.value, c.approximate, [d.slug for d in c.instruments],
                                   [d.slug for d in c.pending])
                for jur, row in pure.rows() for slug, c in row.items()}
        for shape in ("compact", "full"):
            got = _api_cells(client, codes, as_of, shape)
            names = (lambda found: [d if isinstance(d, str) else d["slug"] for d in found])
            got = {k: (c["value"], c["approximate"], names(c["instruments"]),
                       names(c["pending"])) for k, c in got.items()}
            assert got == want, (as_of, shape)
        assert want[("US-CA", "possession")][0] == "not_researched"
        assert "us-federal-2" in want[("US", "possession")][2]
    # (the seed may share this module: only what the writes decide is asserted)
    ohio = want[("US-OH", "possession")][2]
    assert ohio[0] == "us-oh-bill" and "us-federal-2" in ohio and "us-federal" not in ohio


# --- defect: /what-changed/ with `to` in the first year of the calendar was a 500 -------------
@pytest.mark.parametrize("to", ["0001-01-01", "0001-06-01"])
def test_what_changed_up_to_the_first_year_of_the_calendar(world, client, to):
    """Without ``from`` the page looks a year back from ``to``: before 0002-01-01 that year
    reached before 0001-01-01 (OverflowError, a 500). It starts on the first day instead."""
    act = f.instrument("KR", slug="kr-ancient-act")
    f.assessment(act, "possession", "yes")
    f.event(act, "in_force", "0001-03-01")
    response = client.get(f"/what-changed/?to={to}&scope=own&criterion=possession&format=csv")
    assert response.status_code == 200
    body = (b"".join(response.streaming_content) if response.streaming
            else response.content)
    lines = body.decode().splitlines()
    assert "lawtracker-what-changed-0001-01-01-" in response["Content-Disposition"]
    changed = [line for line in lines[1:] if line.startswith("KR,")]
    if to == "0001-01-01":
        assert changed == []
    else:
        assert len(changed) == 1 and ",none,yes,0001-03-01,none,yes,false,kr-ancient-act:in_force" in changed[0], lines
    page = client.get(f"/what-changed/?to={to}")
    assert page.status_code == 200
    assert f"What changed between 0001-01-01 and {to}" in page.content.decode()
