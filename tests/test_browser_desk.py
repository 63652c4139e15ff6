"""The editors' desk in a real browser (issue 18), as an editor and a reviewer would use it:

- an editor records a Senate vote with a new source on the instrument's admin page, then sees
  it on the public page and in the change feed with old → new values;
- a second account, a reviewer, verifies an assessment from the review queue;
- the editor imports a template with one bad row and sees the row and the column named.

Headless Chromium through Playwright, as ``tests/test_browser.py`` drives it.
"""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from jurisdictions import editorial
from jurisdictions.models import Assessment, Source, StatusEvent

from . import factories as F
from .test_browser import DESKTOP, Visit, _shot, chromium  # noqa: F401 (a fixture)

pytestmark = pytest.mark.browser
PASSWORD = "desk-test-password-1"


@pytest.fixture
def desk(live_server, transactional_db):
    """A bill of Alaska with one step, an answer entered by the editor, and two accounts."""
    call_command("create_roles", verbosity=0, stdout=io.StringIO())
    from django.contrib.auth.models import Group

    User = get_user_model()
    zelda = User.objects.create_user("zelda", password=PASSWORD, is_staff=True)
    zelda.groups.add(Group.objects.get(name="editor"))
    yusuf = User.objects.create_user("yusuf", password=PASSWORD, is_staff=True)
    yusuf.groups.add(Group.objects.get(name="reviewer"))
    F.jurisdiction("US", name="United States")
    F.jurisdiction("US-AK", name="Alaska")
    bill = F.instrument("US-AK", slug="us-ak-hb-47", short_name="HB 47", instrument_type="bill",
                        title="An Act relating to AI-generated images")
    F.event(bill, "introduced", "2026-01-20")
    answer = Assessment(instrument=bill, criterion=F.criterion("possession"), value="yes",
                        basis="text", pinpoint="sec. 2")
    editorial.stamp(answer, zelda, "from the bill text").save()
    return live_server.url


def login(visit, username):
    page = visit.page
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")


def test_an_editor_and_a_reviewer_at_the_desk(chromium, desk):  # noqa: F811
    bill_id = StatusEvent.objects.get().instrument_id

    def editor_records_a_vote(browser):
        visit = Visit(browser, desk)
        page = visit.page
        login(visit, "zelda")
        assert page.locator("#start-here").is_visible()
        with page.expect_navigation():
            page.click("#start-here >> text=Instruments")
        with page.expect_navigation():
            page.click("text=HB 47")
        row = "status_events-1"
        page.select_option(f"#id_{row}-status", "passed_chamber")
        page.fill(f"#id_{row}-date", "2026-02-27")
        page.select_option(f"#id_{row}-date_precision", "day")
        page.select_option(f"#id_{row}-body", "upper_house")
        page.fill(f"#id_{row}-description", "Senate vote 18-2")
        page.fill(f"#id_{row}-source_url", "https://www.akleg.gov/hb47/senate-journal")
        page.fill(f"#id_{row}-source_title", "Senate Journal, 2026-02-27")
        page.fill(f"#id_{row}-source_publisher", "Alaska State Legislature")
        page.fill("#id_change_reason", "Senate journal")
        # The page fits a 1280 px screen: nothing wider than the viewport.
        width = page.evaluate("document.documentElement.scrollWidth")
        overflow = page.evaluate(
            "Array.from(document.querySelectorAll('.inline-group')).map("
            "g => g.scrollWidth - g.clientWidth)"
        )
        _shot(page, "desk-instrument", full=True)
        with page.expect_navigation():
            page.click("input[name=_continue]")
        assert page.locator(".messagelist .success").is_visible(), page.locator(
            ".errornote, .errorlist").all_inner_texts()
        assert "Senate Journal, 2026-02-27" in page.locator("#status_events-group").inner_text()

        public = page.goto("/instruments/us-ak-hb-47/")
        assert public.status == 200
        text = page.locator("body").inner_text()
        assert "2026-02-27" in text and "zelda" not in text

        feed = page.goto("/feeds/changes/?instrument=us-ak-hb-47").text()
        assert "Alaska HB 47: passed the Senate on 2026-02-27" in feed
        assert "status: “—” → “Passed a chamber”" in feed
        assert "zelda" not in feed

        # An import of the template with one bad row names the row and the column.
        page.goto("/admin/jurisdictions/statusevent/import/")
        template = page.request.get("/admin/jurisdictions/statusevent/import-template.csv")
        rows = list(csv.DictReader(io.StringIO(template.text())))
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerow({**rows[0], "status": "in_committee", "date": "2026-02-01",
                         "sources": ""})
        writer.writerow({**rows[0], "status": "in_force", "date": "2026-13-01", "sources": ""})
        page.set_input_files("input[type=file]", files=[{
            "name": "steps.csv", "mimeType": "text/csv", "buffer": out.getvalue().encode(),
        }])
        page.select_option("select[name=format]", label="csv")
        with page.expect_navigation():
            page.click("form[enctype='multipart/form-data'] input[type=submit]")
        errors = page.locator("#import-errors").inner_text()
        _shot(page, "desk-import-errors", full=True)
        visit.close()
        return width, errors, overflow

    width, errors, overflow = chromium.run(editor_records_a_vote, chromium.browser)
    assert overflow == [0] * len(overflow), f"inline tables wider than their box: {overflow}"
    assert width <= DESKTOP["width"], f"the instrument page is {width} px wide"
    assert "row 2 (line 3), column date" in errors, errors
    step = StatusEvent.objects.get(instrument_id=bill_id, status="passed_chamber")
    assert (step.date, step.body) == (datetime.date(2026, 2, 27), "upper_house")
    assert [s.url for s in step.sources.all()] == ["https://www.akleg.gov/hb47/senate-journal"]
    assert Source.objects.get(url="https://www.akleg.gov/hb47/senate-journal").publisher == (
        "Alaska State Legislature")
    assert not StatusEvent.objects.filter(status__in=["in_committee", "in_force"]).exists()

    def reviewer_verifies(browser):
        visit = Visit(browser, desk)
        page = visit.page
        login(visit, "yusuf")
        with page.expect_navigation():
            page.click("#start-here >> text=Review queue")
        with page.expect_navigation():
            page.click("#content-main a:has-text('possession')")
        page.fill("#review-note", "sec. 2, line 4")
        with page.expect_navigation():
            page.click("#review button[value=verify]")
        message = page.locator(".messagelist").inner_text()
        visit.close()
        return message

    message = chromium.run(reviewer_verifies, chromium.browser)
    assert "Verified on" in message, message
    answer = Assessment.objects.get()
    assert (answer.verified_by.username, answer.verification_note) == ("yusuf", "sec. 2, line 4")
