"""The data-quality report: command and admin page, on the real seed."""
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from jurisdictions.models import Assessment, Instrument, StatusEvent
from jurisdictions.quality import build_report

pytestmark = pytest.mark.django_db


def test_report_counts_match_the_database(seeded):
    report = build_report()
    summary = report["summary"]
    assert summary["instruments"] == Instrument.objects.count()
    assert summary["status_events_on_or_before"] == StatusEvent.objects.filter(
        date_precision="on_or_before"
    ).count()
    # a step counts as verified only once a second reader has (DOMAIN.md, "Verification")
    unverified = StatusEvent.objects.filter(verified_on=None)
    assert summary["status_events_never_verified"] == unverified.count()
    assert 0 < unverified.count() < StatusEvent.objects.count()
    listed = {(r["instrument"], r["status"], r["date"])
              for r in report["status_events_never_verified"]}
    # the PROTECT Act's day of enactment is a fact; its in-force day rests on no source yet
    assert ("us-protect-act", "in_force", "2003-04-30") in listed
    assert all(e.verified_on is None for e in StatusEvent.objects.filter(
        instrument__slug="us-protect-act", status="in_force"))
    # stale: never verified, or verified longer ago than LAWTRACKER_STALE_DAYS
    assert summary["assessments_stale"] == Assessment.objects.filter(verified_on=None).count()
    assert 0 < summary["assessments_stale"] < Assessment.objects.count()
    eu = report["research_status_by_bloc"]["EU"]
    # Belgium's new Penal Code (Book II arts. 170-176) was read in issue 15: every member reviewed
    assert (eu["total"], eu["reviewed"], eu["not_researched"]) == (27, 27, 0)
    us = report["research_status_us_states"]
    assert (us["total"], us["reviewed"]) == (51, 51)  # Massachusetts's c. 272 read in issue 15
    # an instrument citing only news is listed; one citing EUR-Lex is not
    listed = {row["instrument"] for row in report["instruments_without_primary_source"]}
    assert "eu-csa-directive-2011" not in listed
    # the same step on two dates is a possible conflict; two chambers' votes are not
    conflicts = {row["instrument"]: row["reasons"] for row in report["possible_conflicts"]}
    assert "the step 'in_force' is recorded on more than one date" in conflicts["at-stgb-207a-at"]
    c291 = Instrument.objects.get(slug="ca-bill-c-291-csaem-terminology")
    assert set(c291.status_events.filter(status="passed_chamber").values_list("body", flat=True)) == {
        "lower_house", "upper_house"}
    assert "ca-bill-c-291-csaem-terminology" not in conflicts


def test_verifying_an_assessment_takes_it_out_of_the_stale_count(seeded, today):
    before = build_report()["summary"]["assessments_stale"]
    unverified = Assessment.objects.filter(verified_on=None).first()
    Assessment.objects.filter(pk=unverified.pk).update(verified_on=today)
    assert build_report()["summary"]["assessments_stale"] == before - 1


def test_command_prints_the_summary_and_json(seeded):
    out = io.StringIO()
    call_command("data_report", stdout=out)
    text = out.getvalue()
    assert "EU members: 27 (27 reviewed, 0 in progress, 0 not researched)" in text
    assert "Research status by UN M49 region" in text
    steps = StatusEvent.objects
    assert (f"- status events: {steps.count()}, of which "
            f"{steps.filter(date_precision='on_or_before').count()} dated only on_or_before, "
            f"{steps.filter(verified_on=None).count()} never verified") in text
    out = io.StringIO()
    call_command("data_report", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert set(data) >= {"summary", "research_status_by_bloc", "possible_conflicts"}


def test_command_rejects_a_bad_date(db):
    with pytest.raises(CommandError, match="--as-of"):
        call_command("data_report", "--as-of", "2024-02-30", stdout=io.StringIO())


def test_admin_page_for_staff_only(seeded, client, django_user_model):
    url = "/admin/data-report/"
    assert client.get(url).status_code == 302  # to the login page
    staff = django_user_model.objects.create_user("plain", password="x", is_staff=True)
    client.force_login(staff)
    assert client.get(url).status_code == 403
    admin_user = django_user_model.objects.create_superuser("boss", "b@example.org", "x")
    client.force_login(admin_user)
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Data quality report" in html
    assert "Possible conflicts between sources" in html
    unverified = StatusEvent.objects.filter(verified_on=None).count()
    assert f"Status events no second reader has verified ({unverified})" in html
    assert client.get(url + "?as_of=not-a-date").status_code == 200
    # The admin's index links to it for those who may read it, and only for them.
    assert f'href="{url}"' in client.get("/admin/").content.decode()
    client.force_login(staff)
    assert f'href="{url}"' not in client.get("/admin/").content.decode()


def _extent_on_page(client, path: str) -> tuple[int, int]:
    import re

    html = client.get(path).content.decode()
    match = re.search(r"(\d+) of (\d+) UN member states researched", html)
    assert match, f"{path} does not say how much of the world is researched"
    return int(match.group(1)), int(match.group(2))


def test_research_extent_per_group_in_the_report_and_on_the_pages(seeded, client):
    """Issue 13: the report gives the research status per group; the home page, the map and the
    gap pages say how many of the 193 UN member states are researched, counting the same way."""
    from jurisdictions.models import Jurisdiction

    groups = build_report()["research_status_by_group"]
    assert set(groups) == {"UN", "G7", "G20", "OECD", "COE"}
    assert groups["UN"]["total"] == 193
    assert (groups["G7"]["total"], groups["G7"]["reviewed"]) == (7, 7)
    assert groups["G20"]["total"] == 20  # 19 countries and the EU
    researched = groups["UN"]["reviewed"] + groups["UN"]["in_progress"]
    pages = ("/", "/map/", "/gaps/?criterion=ai_generated_explicit")
    for path in pages:
        assert _extent_on_page(client, path) == (researched, 193)
    out = io.StringIO()
    call_command("data_report", stdout=out)
    assert f"UN: {groups['UN']['reviewed']}/193 reviewed" in out.getvalue()

    germany = Jurisdiction.objects.get(code="DE")
    germany.research_status = "not_researched"
    germany.save()
    holy_see = Jurisdiction.objects.get(code="VA")  # an observer state, not a UN member
    holy_see.research_status = "in_progress"
    holy_see.save()
    assert build_report()["research_status_by_group"]["UN"]["not_researched"] == (
        groups["UN"]["not_researched"] + 1
    )
    for path in pages:
        assert _extent_on_page(client, path) == (researched - 1, 193)
