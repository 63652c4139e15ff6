"""The seed data: reference sync, research fixture, idempotent loading, citations."""
import datetime
import io
import json

import pytest
from django.core.management import call_command

from jurisdictions.models import (
    Assessment,
    BlocMembership,
    Criterion,
    Event,
    Instrument,
    Jurisdiction,
    Source,
    StatusEvent,
)
from jurisdictions.seed import RESEARCH_FIXTURE, partial_date

pytestmark = pytest.mark.django_db

COUNTED = (Jurisdiction, Source, Instrument, StatusEvent, Assessment, Event, BlocMembership, Criterion)


def counts():
    return {model.__name__: model.objects.count() for model in COUNTED}


def test_every_instrument_status_event_and_assessment_cites_a_source(seeded):
    assert Instrument.objects.count() >= 150
    assert not Instrument.objects.filter(citations__isnull=True).exists()
    assert not StatusEvent.objects.filter(citations__isnull=True).exists()
    assert not Assessment.objects.filter(citations__isnull=True).exists()
    assert not Event.objects.filter(citations__isnull=True).exists()


def test_loading_twice_creates_no_duplicates_and_no_history(seeded):
    before = counts()
    history_before = Instrument.history.count()
    out = io.StringIO()
    call_command("load_seed", stdout=out)
    assert counts() == before
    assert Instrument.history.count() == history_before
    assert "0 created, 0 updated" in out.getvalue()
    assert "rows unchanged" in out.getvalue()


def test_every_fixture_row_is_loaded(seeded):
    objects = json.loads(RESEARCH_FIXTURE.read_text(encoding="utf-8"))
    by_model = {}
    for obj in objects:
        by_model[obj["model"]] = by_model.get(obj["model"], 0) + 1
    assert Instrument.objects.count() == by_model["jurisdictions.instrument"]
    assert StatusEvent.objects.count() == by_model["jurisdictions.statusevent"]
    assert Assessment.objects.count() == by_model["jurisdictions.assessment"]
    assert Event.objects.count() == by_model["jurisdictions.event"]


def test_korea_real_values(seeded):
    kr = Jurisdiction.objects.get(code="KR")
    assert kr.name == "Korea, Republic of"
    assert kr.common_name == "South Korea"
    assert kr.research_status == "reviewed"
    assert kr.last_reviewed_on == datetime.date(2026, 11, 29)
    amendment = Instrument.objects.get(
        jurisdiction=kr, short_name="Sexual Crimes Punishment Act, art. 14-2 amendment"
    )
    assert amendment.status_as_of(datetime.date(2024, 10, 1)) == "passed_chamber"
    assert amendment.status_as_of(datetime.date(2024, 10, 16)) == "in_force"
    assert amendment.legal_force_as_of(datetime.date(2024, 10, 16)) == "InForce"
    assert amendment.key_dates()["in_force"] == {"date": "2024-10-16", "precision": "day"}
    possession = amendment.assessments.get(criterion__slug="possession")
    assert possession.value == "yes"
    assert possession.pinpoint == "art. 14-2(4)"
    # no source of its own in the research: the instrument's sources are cited
    assert set(possession.sources.values_list("url", flat=True)) == set(
        amendment.sources.values_list("url", flat=True)
    )


def test_status_event_cites_its_own_sources_when_the_research_gives_them(seeded):
    amendment = Instrument.objects.get(short_name="Sexual Crimes Punishment Act, art. 14-2 amendment")
    passed = amendment.status_events.get(status="passed_chamber")
    assert passed.date == datetime.date(2024, 9, 26)
    assert "https://www.channelnewsasia.com/east-asia/south-korea-criminalise-watching-or-possessing-sexually-explicit-deepfakes-4639831" in set(
        passed.sources.values_list("url", flat=True)
    )


def test_eu_recast_and_directive(seeded):
    recast = Instrument.objects.get(jurisdiction__code="EU", short_name="Recast CSA Directive")
    assert recast.instrument_type == "proposal"
    assert recast.status_as_of(datetime.date(2024, 2, 6)) == "introduced"
    assert recast.status_as_of(datetime.date(2025, 6, 17)) == "passed_chamber"
    directive = Instrument.objects.get(jurisdiction__code="EU", short_name="CSA Directive (2011)")
    assert directive.identifiers.filter(scheme="celex", value="32011L0093").exists()
    in_force = directive.status_events.get(status="in_force")
    # in force on publication in the Official Journal (OJ L 335, 17.12.2011)
    assert (in_force.date, in_force.date_precision) == (datetime.date(2011, 12, 17), "day")
    deadline = Event.objects.get(instrument=directive, kind="transposition_deadline")
    assert deadline.date == datetime.date(2013, 12, 18)


def test_research_status_reviewed_only_where_the_research_says(seeded):
    dc = Jurisdiction.objects.get(code="US-DC")
    assert dc.research_status == "reviewed"
    assert "code.dccouncil.gov" in dc.research_notes
    assert Jurisdiction.objects.get(code="PT").research_status == "reviewed"
    # a country no research file covers stays not researched, without a review date
    antarctica = Jurisdiction.objects.get(code="AQ")
    assert (antarctica.research_status, antarctica.last_reviewed_on) == ("not_researched", None)
    # every EU member state and every US state has been researched
    today = datetime.date(2026, 11, 29)
    assert not Jurisdiction.objects.members_of("EU", today).filter(research_status="not_researched")
    states = Jurisdiction.objects.filter(parent__code="US", subdivision_type__in=["State", "District"])
    assert states.count() == 51
    assert not states.filter(research_status="not_researched").exists()
    # every state's existing law has been read (Massachusetts's c. 272 last, in issue 15); a place
    # whose existing law could not be read stays in progress, and says why
    assert not states.exclude(research_status="reviewed").exists()
    in_progress = Jurisdiction.objects.filter(research_status="in_progress")
    assert in_progress.exists()
    assert all(j.research_notes for j in in_progress)


def test_confidence_and_notes_are_kept(seeded):
    recast = Instrument.objects.get(jurisdiction__code="EU", short_name="Recast CSA Directive")
    assert recast.confidence == "high"
    assert Instrument.objects.exclude(notes="").count() >= 50


def test_operation_cumberland_event(seeded):
    event = Event.objects.get(title__startswith="Europol announces Operation Cumberland")
    assert event.date == datetime.date(2025, 2, 28)
    assert event.kind == "enforcement_operation"
    assert event.figures["arrests"] == 25
    assert event.figures["countries"] == 19
    assert set(event.jurisdictions.values_list("code", flat=True)) == {"EU", "DK", "GB"}


def test_reference_jurisdictions_from_iso(seeded):
    assert Jurisdiction.objects.filter(kind="country").count() == 249
    ca = Jurisdiction.objects.get(code="US-CA")
    assert ca.parent.code == "US" and ca.kind == "subdivision" and ca.name == "California"
    assert Jurisdiction.objects.filter(parent__code="US", subdivision_type="State").count() == 50
    assert Jurisdiction.objects.get(code="US-DC").parent.code == "US"
    assert Jurisdiction.objects.get(code="JP-31").parent.code == "JP"
    assert Jurisdiction.objects.get(code="GB-SCT").parent.code == "GB"
    assert {j.code for j in Jurisdiction.objects.filter(kind="international")} == {"UN", "COE"}


def test_eu_memberships(seeded):
    eu_members_today = Jurisdiction.objects.members_of("EU", datetime.date(2026, 11, 29))
    assert eu_members_today.count() == 27
    assert not eu_members_today.filter(code="GB").exists()
    assert Jurisdiction.objects.members_of("EU", datetime.date(2020, 1, 31)).filter(code="GB").exists()
    assert not Jurisdiction.objects.members_of("EU", datetime.date(2020, 2, 1)).filter(code="GB").exists()
    assert Jurisdiction.objects.members_of("EU", datetime.date(2013, 6, 30)).count() == 27
    assert Jurisdiction.objects.members_of("EU", datetime.date(2013, 7, 1)).count() == 28
    uk = BlocMembership.objects.get(member__code="GB")
    assert (uk.start_date, uk.end_date) == (datetime.date(1973, 1, 1), datetime.date(2020, 1, 31))


def test_criteria_are_the_default_set(seeded):
    assert list(Criterion.objects.values_list("slug", flat=True)) == [
        "ai_generated_explicit",
        "wholly_synthetic",
        "altered_real_child",
        "non_photorealistic",
        "possession",
        "production",
        "distribution",
        "ai_tools_or_models",
        "platform_duties",
    ]


def test_sync_is_idempotent_and_reports_changes(db):
    out = io.StringIO()
    call_command("sync_jurisdictions", stdout=out)
    assert "0 updated" in out.getvalue()
    created = Jurisdiction.objects.count()
    assert created > 249 + 50
    # an edited name is put back, and reported as changed
    Jurisdiction.objects.filter(code="US-CA").update(name="Califrnia")
    out = io.StringIO()
    call_command("sync_jurisdictions", stdout=out)
    assert "0 created, 1 updated" in out.getvalue()
    assert "changed: US-CA (name)" in out.getvalue()
    assert Jurisdiction.objects.get(code="US-CA").name == "California"
    assert Jurisdiction.objects.count() == created
    # history recorded the repair
    assert Jurisdiction.objects.get(code="US-CA").history.first().history_change_reason == "ISO 3166 sync"


def test_sync_unknown_extra_code_is_a_clear_error(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="XX-99 is not an ISO 3166-2 code"):
        call_command("sync_jurisdictions", extra="XX-99", stdout=io.StringIO())


def test_seed_history_records_exist(seeded):
    instrument = Instrument.objects.get(short_name="Recast CSA Directive")
    record = instrument.history.first()
    assert record.history_type == "+"
    assert record.history_change_reason == "seed data load"


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("2024-11", ("2024-11-01", "month")),
        (2025, ("2025-01-01", "year")),
        ("2017", ("2017-01-01", "year")),
        ("unknown", (None, "day")),
        (None, (None, "day")),
        (datetime.date(2024, 2, 6), ("2024-02-06", "day")),
    ],
)
def test_partial_dates(raw, expected):
    assert partial_date(raw) == expected


def test_partial_date_rejects_garbage():
    with pytest.raises(ValueError):
        partial_date("Sept 2024")


def test_source_precision_kept(seeded):
    source = Source.objects.filter(published_precision="month").first()
    assert source is not None and source.published_on.day == 1
