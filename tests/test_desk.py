"""The editors' desk (issue 18): staff are not named in public answers, the change feed reads
like news and takes the same filters as ``/api/v1/changes/``."""
from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from rest_framework.test import APIClient

from jurisdictions import editorial
from jurisdictions.models import StatusEvent

from . import factories as F
from .atom import assert_valid_atom

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"
STAFF = ("zelda-editor-7731", "yusuf-reviewer-4410")


@pytest.fixture
def staffed(django_user_model):
    """An instrument written by an editor and an answer verified by a reviewer, each through
    the shared save (so the history names them)."""
    zelda = django_user_model.objects.create_user(STAFF[0], is_staff=True)
    zelda.groups.add(Group.objects.get(name="editor"))
    yusuf = django_user_model.objects.create_user(STAFF[1], is_staff=True)
    yusuf.groups.add(Group.objects.get(name="reviewer"))
    F.jurisdiction("US", name="United States")
    F.jurisdiction("US-AK", name="Alaska")
    bill = F.instrument("US-AK", slug="us-ak-hb-47", short_name="HB 47", title="A bill",
                        instrument_type="bill")
    bill.title = "An Act relating to AI-generated images"
    editorial.stamp(bill, zelda, "title from the bill text").save()
    answer = F.assessment(bill, "possession", "yes")
    editorial.mark_verified([answer], yusuf, on=datetime.date(2026, 3, 1))
    step = StatusEvent(instrument=bill, status="introduced", date=datetime.date(2026, 1, 20))
    editorial.stamp(step, zelda).save()
    return bill


ANONYMOUS_URLS = [
    ("api:instrument-list", {}, {}),
    ("api:instrument-detail", {"slug": "us-ak-hb-47"}, {}),
    ("api:assessment-list", {}, {}),
    ("api:assessment-list", {}, {"format": "csv"}),
    ("api:instrument-list", {}, {"format": "csv"}),
    ("api:status-event-list", {}, {}),
    ("api:changes", {}, {}),
    ("api:changes", {}, {"format": "csv"}),
    ("pages:instrument", {"slug": "us-ak-hb-47"}, {}),
    ("pages:jurisdiction", {"code": "US-AK"}, {}),
    ("pages:home", {}, {}),
    ("changes-feed", {}, {}),
]


@pytest.mark.parametrize("name, kwargs, params", ANONYMOUS_URLS)
def test_no_anonymous_response_names_a_staff_account(staffed, client, name, kwargs, params):
    response = client.get(reverse(name, kwargs=kwargs), params)
    assert response.status_code == 200, response.content[:500]
    body = b"".join(response.streaming_content) if response.streaming else response.content
    for username in STAFF:
        assert username.encode() not in body, (name, params)


def test_public_answers_say_a_reviewer_and_staff_see_the_name(staffed, client, settings):
    url = reverse("api:assessment-list")
    (row,) = client.get(url).json()["results"]
    assert (row["verified_by"], row["verified_on"]) == ("a reviewer", "2026-03-01")
    staff = APIClient()
    staff.force_login(get_user_model().objects.get(username=STAFF[0]))
    assert staff.get(url).json()["results"][0]["verified_by"] == STAFF[1]
    # An organisation may publish names it chooses.
    settings.LAWTRACKER_PUBLIC_NAMES = {STAFF[1]: "Dr Y. Reviewer"}
    assert client.get(url).json()["results"][0]["verified_by"] == "Dr Y. Reviewer"
    changes = client.get(reverse("api:changes"), {"model": "instrument"}).json()["results"]
    assert {c["user"] for c in changes} <= {"an editor", None}


# --- the change feed reads like news, filtered like /api/v1/changes/ ---------------------------
def feed_entries(client, params=None):
    response = client.get(reverse("changes-feed"), params or {})
    assert response.status_code == 200, response.content
    root = assert_valid_atom(response.content)
    return [
        {
            "title": entry.findtext(f"{ATOM}title"),
            "summary": entry.findtext(f"{ATOM}summary"),
            "link": entry.find(f"{ATOM}link").get("href"),
            "author": entry.findtext(f"{ATOM}author/{ATOM}name"),
        }
        for entry in root.findall(f"{ATOM}entry")
    ]


@pytest.fixture
def senate_vote(staffed, django_user_model):
    """An editor records, through the API, that the Alaska Senate passed HB 47, citing a new
    source: one step and one citation, written in one request."""
    zelda = django_user_model.objects.get(username=STAFF[0])
    F.source(url="https://akleg.gov/hb47-senate", title="Senate journal")
    api = APIClient()
    api.force_authenticate(zelda)
    response = api.post(reverse("api:status-event-list"), {
        "instrument": "us-ak-hb-47", "status": "passed_chamber", "date": "2026-02-27",
        "body": "upper_house", "sources": ["https://akleg.gov/hb47-senate"],
    }, format="json", HTTP_X_CHANGE_REASON="Senate journal of 2026-02-27")
    assert response.status_code == 201, response.content
    F.jurisdiction("DE", name="Germany")
    F.instrument("DE", slug="de-act", short_name="StGB")
    return response.json()


def test_one_edit_is_one_entry_titled_in_words_with_old_and_new_values(senate_vote, client):
    latest = feed_entries(client)[0]
    assert latest["title"] != "Alaska HB 47: passed the Senate on 2026-02-27"  # DE came later
    (vote,) = [e for e in feed_entries(client, {"instrument": "us-ak-hb-47"})
               if "Senate" in e["title"]]
    assert vote["title"] == "Alaska HB 47: passed the Senate on 2026-02-27"
    assert vote["link"] == "http://testserver/instruments/us-ak-hb-47/"
    assert vote["author"] == "an editor"
    for line in ("status: “—” → “Passed a chamber”", "date: “—” → “2026-02-27”",
                 "body: “—” → “Upper house”", "cites https://akleg.gov/hb47-senate",
                 "reason: Senate journal of 2026-02-27"):
        assert line in vote["summary"], line
    assert STAFF[0] not in vote["summary"]
    renamed = feed_entries(client, {"instrument": "us-ak-hb-47", "model": "instrument"})
    assert renamed[0]["title"] == "Alaska HB 47: title changed"
    assert "title: “A bill” → “An Act relating to AI-generated images”" in renamed[0]["summary"]


@pytest.mark.parametrize("params, keys", [
    ({"jurisdiction": "US"}, {"us-ak-hb-47", "US", "US-AK"}),  # with its subdivisions
    ({"jurisdiction": "de"}, {"de-act", "DE"}),
    ({"instrument": "de-act"}, {"de-act"}),
    ({"instrument": "us-ak-hb-47", "model": "status_event"}, {"us-ak-hb-47"}),
    ({"jurisdiction": "US", "change": "changed", "model": "instrument"}, {"us-ak-hb-47"}),
])
def test_the_feed_and_the_api_take_the_same_filters(senate_vote, client, params, keys):
    rows = client.get(reverse("api:changes"), {**params, "page_size": 500}).json()["results"]
    assert {r["key"].split(" ")[0] for r in rows} == keys
    roots = {e["link"].rstrip("/").split("/")[-1] for e in feed_entries(client, params)}
    assert roots <= keys | {k.lower() for k in keys} and roots


@pytest.mark.parametrize("params, name", [
    ({"jurisdction": "US"}, "jurisdction"),
    ({"jurisdiction": "XX"}, "jurisdiction"),
    ({"instrument": "no-such-act"}, "instrument"),
    ({"model": "spaceship"}, "model"),
    ({"change": "renamed"}, "change"),
])
def test_an_unknown_filter_is_a_400_on_both(senate_vote, client, params, name):
    for url in (reverse("changes-feed"), reverse("api:changes")):
        response = client.get(url, params)
        assert response.status_code == 400, (url, params)
        assert name in response.json()["errors"], (url, response.json())


# --- the instrument page is the desk ---------------------------------------------------------
@pytest.fixture
def admin_pages(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def test_a_step_and_its_new_source_are_recorded_in_one_go(staffed, client, admin_pages):
    from tests.test_admin import errors_of, form_data, url

    from jurisdictions.models import Instrument, Source, StatusEventSource

    F.source(url="https://akleg.gov/known", title="Known page")
    zelda = get_user_model().objects.get(username=STAFF[0])
    client.force_login(zelda)
    page = url(Instrument, "change", staffed.pk)
    data = form_data(client.get(page))
    n = int(data["status_events-TOTAL_FORMS"]) - 1  # the empty extra row
    data.update({
        f"status_events-{n}-status": "passed_chamber",
        f"status_events-{n}-date": "2026-02-27",
        f"status_events-{n}-date_precision": "day",
        f"status_events-{n}-body": "upper_house",
        f"status_events-{n}-description": "Senate vote 18-2",
        f"status_events-{n}-source_url": "https://akleg.gov/hb47/senate-journal",
        f"status_events-{n}-source_title": "Senate Journal, 2026-02-27",
        f"status_events-{n}-source_publisher": "Alaska State Legislature",
        "change_reason": "Senate journal",
    })
    a = int(data["assessments-TOTAL_FORMS"]) - 1
    data.update({
        f"assessments-{a}-criterion": F.criterion("production").pk,
        f"assessments-{a}-value": "yes",
        f"assessments-{a}-basis": "text",
        f"assessments-{a}-pinpoint": "sec. 2",
        f"assessments-{a}-source_url": "https://akleg.gov/known",  # found by URL
    })
    response = client.post(page, data)
    assert response.status_code == 302, errors_of(response)
    step = StatusEvent.objects.get(instrument=staffed, status="passed_chamber")
    source = Source.objects.get(url="https://akleg.gov/hb47/senate-journal")
    assert (source.title, source.publisher, source.kind) == (
        "Senate Journal, 2026-02-27", "Alaska State Legislature", "legislature")
    assert list(step.sources.all()) == [source]
    assert source.history.get().history_user == zelda
    assert StatusEventSource.history.get(status_event_id=step.pk).history_change_reason == (
        "Senate journal")
    answer = staffed.assessments.get(criterion__slug="production")
    assert [s.url for s in answer.sources.all()] == ["https://akleg.gov/known"]
    assert Source.objects.filter(url="https://akleg.gov/known").count() == 1

    # A new URL without a title is refused, naming the field; nothing is written.
    data = form_data(client.get(page))
    n = int(data["status_events-TOTAL_FORMS"]) - 1
    data.update({f"status_events-{n}-status": "in_force", f"status_events-{n}-date": "2026-07-01",
                 f"status_events-{n}-date_precision": "day",
                 f"status_events-{n}-source_url": "https://akleg.gov/new"})
    response = client.post(page, data)
    assert response.status_code == 200
    assert "A new source needs its title" in errors_of(response)
    assert not StatusEvent.objects.filter(status="in_force").exists()

    # The derived key dates read as text, never as markup.
    body = client.get(page).content.decode()
    assert "&lt;br&gt;" not in body


# --- the review queue ------------------------------------------------------------------------
def test_review_queue_verify_and_needs_correction(staffed, client, admin_pages, django_user_model):
    from jurisdictions.models import Assessment

    yusuf = django_user_model.objects.get(username=STAFF[1])
    zelda = django_user_model.objects.get(username=STAFF[0])
    step = staffed.status_events.get()  # entered by zelda, never verified
    client.force_login(yusuf)
    index = client.get(reverse("admin:index")).content.decode()
    assert "Start here" in index and 'id="count-to-verify">1<' in index
    assert "instrumentamendment" not in index  # link tables are off the index
    queue = client.get(reverse("review-queue")).content.decode()
    assert "Alaska (US-AK)" in queue and "Introduced 2026-01-20" in queue
    review = reverse("admin:jurisdictions_statusevent_review", args=[step.pk])
    page = reverse("admin:jurisdictions_statusevent_change", args=[step.pk])
    assert "Needs correction" in client.get(page).content.decode()

    response = client.post(review, {"action": "verify", "note": "Journal p. 3"})
    assert response.status_code == 302
    step.refresh_from_db()
    assert (step.verified_on, step.verified_by, step.verification_note) == (
        editorial.today(), yusuf, "Journal p. 3")

    # A reviewer who entered a fact cannot verify it.
    zelda.groups.add(Group.objects.get(name="reviewer"))
    answer = Assessment.objects.get(instrument=staffed)
    answer.note = "changed by zelda"
    editorial.stamp(answer, zelda).save()
    client.force_login(zelda)
    client.post(reverse("admin:jurisdictions_assessment_review", args=[answer.pk]),
                {"action": "verify"})
    answer.refresh_from_db()
    assert answer.verified_by == yusuf  # unchanged: zelda was refused

    # Needs correction: a reason, into the editors' queue; verification withdrawn.
    client.force_login(yusuf)
    client.post(reverse("admin:jurisdictions_assessment_review", args=[answer.pk]),
                {"action": "correct", "note": "s. 2 says possession only with intent"})
    answer.refresh_from_db()
    assert (answer.verified_on, answer.correction_note) == (
        None, "s. 2 says possession only with intent")
    client.force_login(zelda)
    queue = client.get(reverse("review-queue")).content.decode()
    assert "Needs correction: s. 2 says possession only with intent" in queue
    # Anonymous never sees the request.
    assert "possession only with intent" not in APIClient().get(
        reverse("api:assessment-list")).content.decode()


# --- imports that teach ------------------------------------------------------------------------
def test_import_templates_and_errors_by_row_and_column(staffed, client, admin_pages):
    import csv as csvmodule
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile

    zelda = get_user_model().objects.get(username=STAFF[0])
    client.force_login(zelda)
    page = reverse("admin:jurisdictions_statusevent_import")
    body = client.get(page).content.decode()
    assert "Columns and their formats" in body and "a date, YYYY-MM-DD" in body
    template = client.get(reverse("admin:jurisdictions_statusevent_import_template",
                                  args=["csv"]))
    rows = list(csvmodule.DictReader(io.StringIO(template.content.decode())))
    assert rows[0]["status"] == "passed_chamber" and rows[0]["date"] == "2026-02-27"
    xlsx = client.get(reverse("admin:jurisdictions_statusevent_import_template", args=["xlsx"]))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"

    F.source(url="https://www.akleg.gov/basis/Bill/Detail/34?Root=HB47", title="Bill history")
    out = io.StringIO()
    writer = csvmodule.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerow({**rows[0], "instrument": "us-ak-hb-47"})
    writer.writerow({**rows[0], "status": "in_force", "date": "2026-31-12"})  # the bad row
    upload = SimpleUploadedFile("steps.csv", out.getvalue().encode(), content_type="text/csv")
    response = client.post(page, {"import_file": upload, "format": "0"})
    text = response.content.decode()
    assert 'id="import-errors"' in text, text[:3000]
    assert "row 2 (line 3), column date" in text
    assert not StatusEvent.objects.filter(status__in=["passed_chamber", "in_force"]).exists()


def test_an_import_creates_a_new_source_from_its_columns_with_the_reason(staffed, client,
                                                                        admin_pages):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile

    from jurisdictions.models import Source

    zelda = get_user_model().objects.get(username=STAFF[0])
    client.force_login(zelda)
    page = reverse("admin:jurisdictions_statusevent_import")
    text = ("instrument,status,date,date_precision,body,sources,source_title,source_publisher\n"
            "us-ak-hb-47,passed_chamber,2026-02-27,day,upper_house,https://akleg.gov/sj,"
            "Senate Journal,Alaska State Legislature\n")
    upload = SimpleUploadedFile("steps.csv", text.encode(), content_type="text/csv")
    response = client.post(page, {"import_file": upload, "format": "0",
                                  "change_reason": "Senate journal"})
    assert "confirm_form" in response.context, response.content.decode()[:2000]
    preview = response.content.decode()
    assert "https://akleg.gov/sj" in preview  # the preview shows the sources to be cited
    assert not Source.objects.filter(url="https://akleg.gov/sj").exists()  # dry run
    form = response.context["confirm_form"]
    data = {name: form.initial.get(name, "") for name in form.fields}
    assert data["change_reason"] == "Senate journal"
    response = client.post(reverse("admin:jurisdictions_statusevent_process_import"), data)
    assert response.status_code == 302
    step = StatusEvent.objects.get(status="passed_chamber")
    source = Source.objects.get(url="https://akleg.gov/sj")
    assert (source.title, source.publisher) == ("Senate Journal", "Alaska State Legislature")
    assert [s.url for s in step.sources.all()] == ["https://akleg.gov/sj"]
    assert step.history.get().history_change_reason == (
        "Senate journal (import from steps.csv)")


def test_the_api_refuses_to_let_a_reviewer_verify_what_they_wrote(staffed, django_user_model):
    yusuf = django_user_model.objects.get(username=STAFF[1])
    api = APIClient()
    api.force_authenticate(yusuf)
    url = reverse("api:status-event-detail", kwargs={"pk": staffed.status_events.get().pk})
    tag = api.get(url)["ETag"]
    response = api.patch(url, {"description": "typo fixed"}, format="json", HTTP_IF_MATCH=tag)
    assert response.status_code == 200
    response = api.patch(url, {"verified_on": "2026-03-02"}, format="json",
                         HTTP_IF_MATCH=response["ETag"])
    assert response.status_code == 403
    assert "second reader" in response.json()["detail"]


def test_the_public_cannot_probe_usernames_with_filters(staffed, client, settings):
    url = reverse("api:assessment-list")
    assert client.get(url, {"verified_by": STAFF[1]}).json()["results"] == []
    staff = APIClient()
    staff.force_login(get_user_model().objects.get(username=STAFF[0]))
    assert len(staff.get(url, {"verified_by": STAFF[1]}).json()["results"]) == 1
    settings.LAWTRACKER_PUBLIC_NAMES = {STAFF[1]: "Dr Y. Reviewer"}
    assert len(client.get(url, {"verified_by": "Dr Y. Reviewer"}).json()["results"]) == 1
