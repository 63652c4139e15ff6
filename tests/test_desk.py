"""The editors' desk (issue 18): staff are not named in public answers, the change feed reads
like news and takes the same filters as ``/api/v1/changes/``."""
from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from rest_framework.test import APIClient

from jurisdictions import editorial
from jurisdictions.models import StatusEvent

from . import factories as F

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
