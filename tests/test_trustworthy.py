"""Issue 15, trustworthy answers: the ``agreed`` status, the body of a step, date and status
notes, the basis of an assessment, verification of steps, court decisions retired (refused for
new rows, never deciding coverage, migrated to court_ruling events), the research files' new
fields through build_fixtures and load_seed, the data lint, and answers that say how sure they
are (basis, verified_on, the methodology link)."""

from __future__ import annotations

import datetime
import io
import json
import textwrap

import pytest
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from jurisdictions import lint
from jurisdictions.choices import (
    OCD_CLASSIFICATION,
    PENDING_STATUSES,
    STATUS_SEQUENCE,
    Status,
    legal_force_for,
)
from jurisdictions.models import Assessment, Event, Instrument, Source, StatusEvent
from jurisdictions.seed import build_fixture_objects, write_fixture
from tests import factories as F

pytestmark = pytest.mark.django_db
D = datetime.date.fromisoformat


@pytest.fixture
def account(django_user_model):
    def make(username: str, role: str | None = None) -> APIClient:
        user = django_user_model.objects.create_user(username)
        if role:
            user.groups.add(Group.objects.get(name=role))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        client.user = user
        return client

    return make


def etag_of(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response["ETag"]


# --- 1. the domain ------------------------------------------------------------------------------
def test_agreed_is_pending_between_passed_chamber_and_adopted():
    assert Status.AGREED in PENDING_STATUSES
    assert STATUS_SEQUENCE["passed_chamber"] < STATUS_SEQUENCE["agreed"] < STATUS_SEQUENCE["adopted"]
    assert legal_force_for("agreed") == "NotInForce"
    assert OCD_CLASSIFICATION["agreed"] == "passage"


def test_an_agreed_proposal_is_pending_in_the_compare_answer(client):
    F.jurisdiction("EU", research_status="reviewed")
    F.criterion("possession")
    recast = F.instrument("EU", slug="eu-recast", instrument_type="proposal")
    F.event(recast, "introduced", "2024-02-06")
    F.event(recast, "passed_chamber", "2024-04-24")
    F.event(recast, "agreed", "2024-04-24")  # same day: agreed comes after the position
    F.assessment(recast, "possession", "yes", basis="text")
    body = client.get(
        reverse("api:compare"), {"jurisdictions": "EU", "criteria": "possession",
                                 "as_of": "2025-01-01"}
    ).json()
    cell = body["rows"][0]["cells"]["possession"]
    assert (cell["value"], [d["status"] for d in cell["pending"]]) == ("none", ["agreed"])
    row = client.get(reverse("api:instrument-detail", kwargs={"slug": "eu-recast"}),
                     {"as_of": "2025-01-01"}).json()
    assert (row["status"], row["legal_force"], row["pending"]) == ("agreed", "NotInForce", True)


def test_a_new_court_decision_is_refused_with_a_clear_message(account):
    F.jurisdiction("KR")
    ana = account("ana", "editor")
    response = ana.post(reverse("api:instrument-list"), {
        "slug": "kr-judgment", "jurisdiction": "KR", "instrument_type": "court_decision",
        "title": "Supreme Court judgment",
    }, format="json")
    assert response.status_code == 400
    message = response.json()["errors"]["instrument_type"][0]
    assert "retired" in message and "court_ruling" in message
    assert not Instrument.objects.filter(slug="kr-judgment").exists()


def test_an_existing_court_decision_can_still_be_edited_but_never_decides(account, client):
    F.jurisdiction("KR", research_status="reviewed")
    judgment = F.instrument("KR", slug="kr-judgment", instrument_type="court_decision")
    F.event(judgment, "in_force", "2020-01-01")
    F.assessment(judgment, "possession", "yes", basis="text")
    url = reverse("api:instrument-detail", kwargs={"slug": "kr-judgment"})
    ana = account("ana", "editor")
    response = ana.patch(url, {"title": "Judgment (kept)"}, format="json",
                         HTTP_IF_MATCH=etag_of(ana, url))
    assert response.status_code == 200, response.json()
    body = client.get(reverse("api:compare"), {"jurisdictions": "KR", "criteria": "possession",
                                              "as_of": "2025-01-01"}).json()
    cell = body["rows"][0]["cells"]["possession"]
    assert (cell["value"], cell["instruments"], cell["basis"]) == ("none", [], None)


def test_a_new_assessment_states_its_basis_and_ai_explicit_reads_the_text(account):
    act = F.instrument("KR", slug="kr-act")
    F.criterion("possession")
    F.criterion("ai_generated_explicit")
    ana = account("ana", "editor")
    url = reverse("api:assessment-list")
    response = ana.post(url, {"instrument": "kr-act", "criterion": "possession",
                              "value": "yes"}, format="json")
    assert response.status_code == 400
    assert "basis" in response.json()["errors"]
    response = ana.post(url, {"instrument": "kr-act", "criterion": "ai_generated_explicit",
                              "value": "yes", "basis": "court_reading"}, format="json")
    assert response.status_code == 400
    assert "reads the text" in response.json()["errors"]["basis"][0]
    response = ana.post(url, {"instrument": "kr-act", "criterion": "possession",
                              "value": "yes", "basis": "court_reading"}, format="json")
    assert response.status_code == 201, response.json()
    assert Assessment.objects.get(instrument=act, criterion__slug="possession").basis == (
        "court_reading"
    )


def test_only_reviewers_verify_a_step_and_the_step_shows_body_and_notes(account):
    act = F.instrument("KR", slug="kr-act")
    step = F.event(act, "adopted", "2024-10-16", body="unicameral")
    url = reverse("api:status-event-detail", kwargs={"pk": step.pk})
    ana, rita = account("ana", "editor"), account("rita", "reviewer")
    for change in ({"verified_on": "2026-12-01"}, {"verification_note": "p. 3"}):
        response = ana.patch(url, change, format="json", HTTP_IF_MATCH=etag_of(ana, url))
        assert response.status_code == 403
        assert "verify_assessment" in json.dumps(response.json())
    response = rita.patch(url, {"verified_on": "2026-12-01", "verification_note": "Gazette p. 3",
                                "date_note": ""}, format="json", HTTP_IF_MATCH=etag_of(rita, url))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["body"], body["verified_on"], body["verification_note"]) == (
        "unicameral", "2026-12-01", "Gazette p. 3",
    )
    assert "verified_by" not in body  # the API names no verifier of a step
    step.refresh_from_db()
    assert step.verified_by == rita.user
    assert step.history.first().verified_on == D("2026-12-01")


def test_court_decisions_become_court_ruling_events_with_history():
    from importlib import import_module

    migration = import_module("jurisdictions.migrations.0006_court_decisions_to_events")
    F.jurisdiction("CA")
    judgment = F.instrument("CA", slug="ca-r-v-sharpe", instrument_type="court_decision",
                            title="R v Sharpe", short_name="R v Sharpe", summary="Read s. 163.1.")
    F.event(judgment, "in_force", "2001-01-26", cite=False)
    F.event(judgment, "adopted", "2001-01-26")
    F.instrument("CA", slug="ca-undated", instrument_type="court_decision")  # no step: no event

    migration.court_decisions_to_events(django_apps, None)
    migration.court_decisions_to_events(django_apps, None)  # again: nothing more

    event = Event.objects.get()
    assert (event.slug, event.kind, event.date, event.title) == (
        "court-ruling-ca-r-v-sharpe", "court_ruling", D("2001-01-26"), "R v Sharpe"
    )
    assert [j.code for j in event.jurisdictions.all()] == ["CA"]
    cited = set(event.sources.values_list("url", flat=True))
    expected = set(judgment.sources.values_list("url", flat=True)) | set(
        judgment.status_events.get(status="adopted").sources.values_list("url", flat=True)
    )
    assert cited == expected and len(cited) == 2
    assert event.history.count() == 1  # its "created" record
    assert Instrument.objects.filter(slug="ca-r-v-sharpe").exists()  # kept, retired


# --- 2. the seed --------------------------------------------------------------------------------
RESEARCH = """\
about:
  compiled_on: '2026-11-29'
jurisdictions:
- code: KR
  name: Korea
  kind: country
  research_status: reviewed
  instruments:
  - title: Sexual Violence Punishment Act
    short_name: SVPA
    instrument_type: statute
    status_note: Commencement is in the act's addenda.
    status_events:
    - status: adopted
      date: '2024-10-16'
      body: unicameral
      what: The National Assembly passed it.
      source_urls: [https://example.org/gazette]
      verified: {on: '2026-12-01', by: research-review, note: 'Gazette no. 1, p. 3'}
    - status: in_force
      date: '2025-01-01'
      date_precision: on_or_before
      date_note: Searched the gazette and the law portal for the commencement date.
      what: In force by this date.
    assessments:
      possession:
        value: 'yes'
        basis: court_reading
        source_urls: [https://example.org/judgment]
        verified: {on: '2026-12-02', by: research-review, note: para. 12}
      ai_generated_explicit:
        value: 'no'
        basis: text
    sources:
    - url: https://example.org/act
      publisher: Ministry
      title: The act
      kind: official
"""


def _research(tmp_path, text=RESEARCH, name="eastern_asia.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_build_and_load_carry_the_new_fields_and_create_the_verifier(tmp_path):
    F.jurisdiction("KR")
    F.criterion("possession")
    F.criterion("ai_generated_explicit")
    fixture = write_fixture(build_fixture_objects([_research(tmp_path)]), tmp_path / "f.json")
    out = io.StringIO()
    call_command("load_seed", fixture=str(fixture), skip_reference=True, stdout=out)

    reviewer = get_user_model().objects.get(username="research-review")
    assert (reviewer.is_staff, reviewer.has_usable_password()) == (False, False)
    act = Instrument.objects.get(slug="kr-svpa")
    assert act.status_note == "Commencement is in the act's addenda."
    adopted, in_force = act.status_events.order_by("date")
    assert (adopted.body, adopted.verified_on, adopted.verified_by, adopted.verification_note) == (
        "unicameral", D("2026-12-01"), reviewer, "Gazette no. 1, p. 3"
    )
    assert in_force.date_note.startswith("Searched the gazette")
    possession = act.assessments.get(criterion__slug="possession")
    assert (possession.basis, possession.verified_on, possession.verified_by) == (
        "court_reading", D("2026-12-02"), reviewer
    )
    # The assessment's own source is cited besides the instrument's.
    assert list(possession.sources.order_by("url").values_list("url", flat=True)) == [
        "https://example.org/act", "https://example.org/judgment",
    ]
    assert act.jurisdiction.__class__.objects.get(code="KR").research_compiled_on == D("2026-11-29")

    again = io.StringIO()
    call_command("load_seed", fixture=str(fixture), skip_reference=True, stdout=again)
    assert get_user_model().objects.filter(username="research-review").count() == 1
    assert again.getvalue().splitlines()[1:] == ["  15 rows unchanged"]


def test_a_load_retires_the_seed_rows_the_research_no_longer_holds(tmp_path, django_user_model):
    """The research re-dates a step and drops an assessment: loading it again into the same
    database leaves one in-force step (not the old and the new), removes the dropped assessment
    with a history record, and keeps what an editor touched, naming it."""
    F.jurisdiction("KR")
    F.criterion("possession")
    F.criterion("ai_generated_explicit")
    first = write_fixture(build_fixture_objects([_research(tmp_path)]), tmp_path / "f.json")
    call_command("load_seed", fixture=str(first), skip_reference=True, stdout=io.StringIO())
    act = Instrument.objects.get(slug="kr-svpa")
    old_step = act.status_events.get(status="in_force")

    moved = RESEARCH.replace(
        "      date: '2025-01-01'\n      date_precision: on_or_before\n"
        "      date_note: Searched the gazette and the law portal for the commencement date.\n",
        "      date: '2024-12-20'\n",
    )
    dropped = moved.replace(
        "      ai_generated_explicit:\n        value: 'no'\n        basis: text\n", "")
    assert dropped.count("2024-12-20") == 1 and "ai_generated_explicit" not in dropped
    second = write_fixture(build_fixture_objects([_research(tmp_path, dropped)]),
                           tmp_path / "g.json")
    out = io.StringIO()
    call_command("load_seed", fixture=str(second), skip_reference=True, stdout=out)

    steps = list(act.status_events.order_by("date").values_list("status", "date", "date_precision"))
    assert steps == [("adopted", D("2024-10-16"), "day"), ("in_force", D("2024-12-20"), "day")]
    assert list(act.assessments.values_list("criterion__slug", flat=True)) == ["possession"]
    gone = StatusEvent.history.get(id=old_step.pk, history_type="-")
    assert gone.history_change_reason == "seed data load: no longer in the research"
    report = out.getvalue()
    assert "jurisdictions.statusevent: 1 created, 0 updated, 1 removed" in report
    assert "jurisdictions.assessment: 0 created, 0 updated, 1 removed" in report

    # An editor's change makes a row theirs: the research dropping it does not remove it.
    editor = django_user_model.objects.create_user("editor")
    step = act.status_events.get(status="in_force")
    step.description = "In force on the day set by the addenda."
    step._history_user = editor
    step.save()
    out = io.StringIO()
    call_command("load_seed", fixture=str(first), skip_reference=True, stdout=out)
    assert act.status_events.filter(status="in_force").count() == 2
    assert "kept, no longer in the research but edited since: jurisdictions.statusevent" in (
        out.getvalue())


@pytest.mark.parametrize(
    "old, new, named",
    [
        ("body: unicameral", "body: senate", "step 1: body 'senate'"),
        ("basis: court_reading", "basis: blog", "assessment possession: basis 'blog'"),
        ("instrument_type: statute", "instrument_type: court_decision", "is retired"),
        ("status: in_force", "status: enacted", "step 2: status 'enacted'"),
        ("verified: {on: '2026-12-01', by: research-review, note: 'Gazette no. 1, p. 3'}",
         "verified: yes", "step 1: verified must be"),
    ],
)
def test_build_fixtures_names_the_file_and_row_of_a_bad_value(tmp_path, old, new, named):
    assert old in RESEARCH
    path = _research(tmp_path, RESEARCH.replace(old, new, 1))
    with pytest.raises(CommandError) as caught:
        call_command("build_fixtures", str(path), output=str(tmp_path / "f.json"))
    assert "eastern_asia.yaml: KR, instrument 1 (SVPA)" in str(caught.value)
    assert named in str(caught.value)


def test_load_seed_names_the_row_it_cannot_load(tmp_path):
    F.jurisdiction("KR")  # no criterion "possession": the assessment points nowhere
    fixture = write_fixture(build_fixture_objects([_research(tmp_path)]), tmp_path / "f.json")
    with pytest.raises(CommandError) as caught:
        call_command("load_seed", fixture=str(fixture), skip_reference=True, stdout=io.StringIO())
    assert "f.json: jurisdictions.assessment [['kr-svpa'], ['possession']]" in str(caught.value)
    assert not Instrument.objects.exists()


# --- 3. the data lint (pure, row by row) --------------------------------------------------------
def step(status, date, precision="day", note="", description=None, pk=None, created=None,
         instrument="x-act"):
    return lint.StepRow(pk or hash((status, date)) % 10_000, instrument, status, D(date),
                        precision, note, description if description is not None else status,
                        D(created) if created else None)


def rules(findings):
    return [(f.rule, f.row) for f in findings]


def test_lint_on_or_before_steps():
    compiled = [D("2026-11-29")]
    assert rules(lint.check_step_dates([step("in_force", "2026-11-29", "on_or_before",
                                             note="searched")], compiled)) == [
        ("on_or_before_on_compile_date", "step x-act in_force 2026-11-29 (on_or_before)")
    ]
    assert rules(lint.check_step_dates(
        [step("in_force", "2026-12-03", "on_or_before", note="searched", created="2026-12-03")],
        compiled,
    )) == [("on_or_before_on_load_date", "step x-act in_force 2026-12-03 (on_or_before)")]
    assert rules(lint.check_step_dates([step("adopted", "2020-05-01", "on_or_before")], compiled)) == [
        ("on_or_before_without_note", "step x-act adopted 2020-05-01 (on_or_before)")
    ]
    # A step known to the day may fall on any date.
    assert lint.check_step_dates([step("adopted", "2026-11-29", created="2026-11-29")], compiled) == []
    assert lint.check_step_dates(
        [step("adopted", "2020-05-01", "on_or_before", note="searched the gazette")], compiled
    ) == []


def test_lint_adopted_law_needs_an_in_force_step_or_a_note():
    today = D("2026-12-04")
    steps = [step("adopted", "2013-08-05")]
    law = lint.InstrumentRow("x-act", "code_provision")
    assert rules(lint.check_instrument_lives([law], steps, today)) == [
        ("adopted_law_not_in_force", "instrument x-act")
    ]
    noted = lint.InstrumentRow("x-act", "code_provision", "Commenced with the code; date unknown.")
    assert lint.check_instrument_lives([noted], steps, today) == []
    assert lint.check_instrument_lives(
        [law], [*steps, step("in_force", "2013-08-06")], today
    ) == []
    # Adopted less than two years ago, or a bill: not yet a finding.
    assert lint.check_instrument_lives([law], [step("adopted", "2024-12-05")], today) == []
    bill = lint.InstrumentRow("x-act", "bill")
    assert lint.check_instrument_lives([bill], steps, today) == []


def test_lint_life_order_and_repeated_descriptions():
    today = D("2026-12-04")
    law = lint.InstrumentRow("x-act", "statute")
    in_order = [step("introduced", "2024-01-01"), step("passed_chamber", "2024-03-01"),
                step("in_committee", "2024-04-01"), step("adopted", "2024-05-01"),
                step("in_force", "2024-05-01"), step("repealed", "2026-01-01")]
    assert lint.check_instrument_lives([law], in_order, today) == []
    late = [step("in_force", "1997-03-01"), step("introduced", "2023-09-01")]
    assert rules(lint.check_instrument_lives([law], late, today)) == [
        ("steps_out_of_life_order", "step x-act introduced 2023-09-01 (day)")
    ]
    same = [step("introduced", "2024-01-01", description=""),
            step("adopted", "2024-05-01", description=" "),
            step("in_force", "2024-06-01", description="In force.")]
    found = lint.check_instrument_lives([law], same, today)
    assert rules(found) == [("duplicate_step_description", "step x-act adopted 2024-05-01 (day)")]
    assert "neither has a description" in found[0].detail


def test_lint_sources_retired_types_and_bases():
    assert rules(lint.check_sources([
        lint.SourceRow("https://a.example", "Title", "Publisher"),
        lint.SourceRow("https://b.example", "", "Publisher"),
        lint.SourceRow("https://c.example", "Title", " "),
    ])) == [
        ("source_without_title_or_publisher", "source https://b.example"),
        ("source_without_title_or_publisher", "source https://c.example"),
    ]
    judgment = lint.InstrumentRow("x-judgment", "court_decision")
    assert rules(lint.check_instrument_lives([judgment], [], D("2026-12-04"))) == [
        ("retired_instrument_type", "instrument x-judgment")
    ]
    assert rules(lint.check_assessments([
        lint.AssessmentRow("x-act", "possession", ""),
        lint.AssessmentRow("x-act", "wholly_synthetic", "court_reading"),
        lint.AssessmentRow("x-act", "ai_generated_explicit", "commentary"),
        lint.AssessmentRow("y-act", "ai_generated_explicit", "text"),
    ])) == [
        ("assessment_without_basis", "assessment x-act possession"),
        ("ai_generated_explicit_not_text", "assessment x-act ai_generated_explicit"),
    ]


def test_data_report_check_fails_naming_each_row_and_passes_on_clean_data():
    F.jurisdiction("KR", research_compiled_on=D("2026-11-29"))
    act = F.instrument("KR", slug="kr-act")
    F.event(act, "adopted", "2010-04-15", description="Passed.")
    F.event(act, "in_force", "2026-11-29", "on_or_before", description="In force.",
            date_note="searched")
    answer = F.assessment(act, "possession", "yes")
    Source.objects.update(publisher="A publisher")
    out = io.StringIO()
    with pytest.raises(CommandError, match="data lint: 2 offending rows"):
        call_command("data_report", check=True, stdout=out)
    assert out.getvalue().splitlines() == [
        "on_or_before_on_compile_date: step kr-act in_force 2026-11-29 (on_or_before) — "
        "2026-11-29 is the date a research file was compiled",
        "assessment_without_basis: assessment kr-act possession — basis is one of text, "
        "court_reading, official_guidance, commentary",
    ]
    summary = io.StringIO()
    call_command("data_report", stdout=summary)
    assert "- data lint (data_report --check): 2 offending rows" in summary.getvalue()

    StatusEvent.objects.filter(status="in_force").update(date=D("2010-04-15"))
    answer.basis = "text"
    answer.save()
    out = io.StringIO()
    call_command("data_report", check=True, stdout=out)
    assert out.getvalue() == "data lint: no offending rows\n"


# --- 4. answers say how sure they are -----------------------------------------------------------
@pytest.fixture
def verified_world():
    F.jurisdiction("KR", research_status="reviewed")
    act = F.instrument("KR", slug="kr-act", short_name="Act")
    F.event(act, "in_force", "2010-04-15")
    F.assessment(act, "possession", "yes", basis="text", verified_on=D("2026-12-01"),
                 verified_by=get_user_model().objects.create_user("rita"))
    F.assessment(act, "production", "partial", basis="court_reading")
    return act


def test_compare_and_gaps_cells_show_basis_and_verification(client, verified_world):
    body = client.get(reverse("api:compare"), {"jurisdictions": "KR",
                                              "criteria": "possession,production"}).json()
    cells = body["rows"][0]["cells"]
    assert (cells["possession"]["basis"], cells["possession"]["verified_on"]) == (
        "text", "2026-12-01")
    assert (cells["production"]["basis"], cells["production"]["verified_on"]) == (
        "court_reading", None)
    assert cells["possession"]["instruments"][0]["basis"] == "text"
    assert "rita" not in json.dumps(body)  # no account is named in an answer
    assert body["methodology"] == "http://testserver/methodology/"

    csv = client.get(reverse("api:compare"), {"jurisdictions": "KR", "criteria": "possession",
                                             "format": "csv"})
    csv = b"".join(csv.streaming_content).decode("utf-8-sig")
    header, line = csv.splitlines()[:2]
    columns = header.split(",")
    values = dict(zip(columns, line.split(",")))
    assert (values["basis"], values["verified_on"]) == ("text", "2026-12-01")

    gaps = client.get(reverse("api:gaps"), {"criterion": "production",
                                           "jurisdictions": "KR"}).json()
    entry = gaps["groups"]["partial"][0]
    assert (entry["code"], entry["basis"], entry["verified_on"]) == ("KR", "court_reading", None)
    assert gaps["methodology"] == "http://testserver/methodology/"


def test_the_api_root_and_schema_link_the_methodology(client):
    assert client.get("/api/v1/").json()["methodology"] == "http://testserver/methodology/"
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/methodology/" in schema


def test_the_methodology_page_explains_the_codebook_and_is_linked_everywhere(client):
    F.criterion("ai_generated_explicit", label="Names AI or computer generation")
    F.criterion("wholly_synthetic", label="Children who do not exist")
    response = client.get("/methodology/")
    assert response.status_code == 200
    page = response.content.decode()
    for needle in ("ai_generated_explicit", "wholly_synthetic", "on_or_before", "court_reading",
                   "Not researched", "verified", "Cite", "agreed"):
        assert needle in page, needle
    assert client.get("/methodology/", {"x": "1"}).status_code == 400
    assert client.get("/methodology/", {"format": "csv"}).status_code == 400
    for path in ("/", "/compare/", "/gaps/", "/map/", "/methodology/"):
        assert 'href="/methodology/"' in client.get(path).content.decode(), path


def test_pages_show_basis_verification_body_and_notes(client, verified_world):
    step = verified_world.status_events.get()
    step.body, step.date_note = "unicameral", "Searched the gazette."
    step.verified_on, step.verification_note = D("2026-12-02"), "Gazette p. 3"
    step.save()
    page = client.get("/jurisdictions/kr/").content.decode()
    assert "Text of the provision" in page and "verified <time" in page
    assert "Court’s reading" in page or "Court&#x27;s reading" in page
    assert "not yet verified" in page
    assert "Unicameral legislature" in page  # the timeline names the body
    instrument = client.get("/instruments/kr-act/").content.decode()
    for needle in ("Unicameral legislature", "Searched the gazette.", "Gazette p. 3",
                   "Text of the provision"):
        assert needle in instrument, needle
    csv = client.get("/jurisdictions/kr/", {"format": "csv"}).content.decode("utf-8-sig")
    header, *lines = csv.splitlines()
    rows = [dict(zip(header.split(","), line.split(","))) for line in lines]
    possession = next(r for r in rows if r["criterion"] == "possession")
    assert (possession["basis"], possession["verified_on"]) == ("text", "2026-12-01")
    gaps = client.get("/gaps/", {"criterion": "production", "jurisdictions": "KR"})
    assert "Court" in gaps.content.decode() and "reading" in gaps.content.decode()


def test_home_separates_legal_developments_from_recent_edits(client):
    F.jurisdiction("KR", research_status="reviewed", research_compiled_on=D("2026-11-29"))
    act = F.instrument("KR", slug="kr-act", short_name="Old Act")
    F.event(act, "adopted", "1999-05-01", body="unicameral")
    F.event(act, "in_force", "2099-01-01")  # not yet happened: not a development
    page = client.get("/").content.decode()
    developments = page.split('id="developments-heading"')[1].split('id="changes-heading"')[0]
    assert "1999-05-01" in developments and "Old Act (KR)" in developments
    assert "2099" not in developments
    edits = page.split('id="changes-heading"')[1]
    assert "Recent edits" in edits and "Old Act" in edits
    # The citation gives the last change to the legal data and the research compile date.
    assert "(research compiled 2026-11-29)" in page


def test_data_last_changed_reads_the_legal_data_only(client):
    from jurisdictions.pages.changes import data_last_changed

    F.jurisdiction("KR")
    assert data_last_changed() is None  # a jurisdiction is reference data
    act = F.instrument("KR", slug="kr-act", cite=False)
    assert data_last_changed() == act.history.get().history_date


def test_in_the_admin_only_reviewers_edit_a_steps_verification(client, django_user_model):
    from tests.test_admin import url

    act = F.instrument("KR", slug="kr-act")
    step = F.event(act, "adopted", "2024-10-16")
    for role, editable in (("editor", False), ("reviewer", True)):
        user = django_user_model.objects.create_user(role, is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        client.force_login(user)
        form = client.get(url(StatusEvent, "change", step.pk)).context["adminform"].form
        assert ("verified_on" in form.fields, "verification_note" in form.fields) == (
            editable, editable), role
        assert "body" in form.fields and "date_note" in form.fields
        inline = client.get(url(Instrument, "change", act.pk)).context["inline_admin_formsets"]
        step_form = next(f for f in inline if f.formset.model is StatusEvent).formset.forms[0]
        # Verifying happens on the step's own page, with its note (issue 18): the instrument's
        # inline only shows the date, to everyone.
        assert "verified_on" not in step_form.fields, role


def test_the_jurisdiction_answer_shows_basis_and_verification(client, verified_world):
    body = client.get(reverse("api:jurisdiction-detail", kwargs={"code": "kr"})).json()
    assert body["coverage"]["possession"] == {
        "value": "yes", "approximate": False, "pending": False, "basis": "text",
        "verified_on": "2026-12-01",
    }
    assert body["coverage"]["production"]["basis"] == "court_reading"


def test_the_database_refuses_an_unknown_basis_or_body():
    from django.db import IntegrityError, transaction

    act = F.instrument("KR", slug="kr-act")
    step = F.event(act, "adopted", "2024-10-16")
    answer = F.assessment(act, "possession", "yes", basis="text")
    with pytest.raises(IntegrityError), transaction.atomic():
        Assessment.objects.filter(pk=answer.pk).update(basis="blog")
    with pytest.raises(IntegrityError), transaction.atomic():
        StatusEvent.objects.filter(pk=step.pk).update(body="senate")
