"""Alerts (issue 14): the outbox written with the change, the Atom feeds of each followable
thing, signed webhooks delivered by the django-tasks worker to a real local HTTP receiver."""

from __future__ import annotations

import datetime
import http.server
import json
import threading
import xml.etree.ElementTree as ET

import pytest
from django.db import transaction
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from alerts.models import Alert, AlertKind, Timing
from jurisdictions.models import StatusEvent
from tests import factories as F

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
AI = "ai_generated_explicit"


@pytest.fixture
def states(today):
    """The US and two reviewed states: California with a bill answering yes, introduced (so
    pending), Texas with a statute in force since 2020-06-01 answering yes."""
    F.jurisdiction("US", name="United States", research_status="reviewed")
    F.criterion(AI)
    ca = F.jurisdiction("US-CA", name="California", research_status="reviewed")
    tx = F.jurisdiction("US-TX", name="Texas", research_status="reviewed")
    bill = F.instrument("US-CA", slug="ca-ab-1831", instrument_type="bill", title="AB 1831",
                        short_name="AB 1831")
    F.assessment(bill, AI, "yes")
    F.event(bill, "introduced", "2024-02-01")
    law = F.instrument("US-TX", slug="tx-penal-43-26", title="Penal Code s. 43.26")
    F.assessment(law, AI, "yes")
    F.event(law, "in_force", "2020-06-01")
    Alert.objects.all().delete()  # the set-up's own
    DBTaskResult.objects.all().delete()
    return {"ca": ca, "tx": tx, "bill": bill, "law": law, "today": today}


def enact(editor, bill, day):
    response = editor.post(reverse("api:status-event-list"), {
        "instrument": bill.slug, "status": "in_force", "date": day.isoformat(),
        "date_precision": "day", "description": "Signed and in force.",
    }, format="json")
    assert response.status_code == 201, response.content
    return response


def patch(editor, name, key, data):
    url = reverse(f"api:{name}-detail", kwargs=key)
    response = editor.patch(url, data, format="json", HTTP_IF_MATCH=editor.get(url)["ETag"])
    assert response.status_code == 200, response.content
    return response


def feed(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/atom+xml")
    return ET.fromstring(response.content)


# --- the outbox ----------------------------------------------------------------------------------
def test_enacting_a_bill_writes_one_alert_per_changed_cell_and_one_legal_step(states, account):
    ana = account("ana", "editor")
    enact(ana, states["bill"], states["today"])
    coverage = Alert.objects.filter(kind=AlertKind.COVERAGE_CHANGE).order_by("scope")
    assert [(a.jurisdiction.code, a.criterion.slug, a.scope, a.timing) for a in coverage] == [
        ("US-CA", AI, "applicable", Timing.CURRENT), ("US-CA", AI, "own", Timing.CURRENT),
    ]
    alert = coverage[0]
    assert alert.before == {"value": "none", "pending": ["ca-ab-1831"]}
    assert alert.after == {"value": "yes", "pending": []}
    assert alert.changed_from == states["today"] and alert.changed_to is None
    assert "California (US-CA)" in alert.title and "no law found" in alert.title
    step = Alert.objects.get(kind=AlertKind.LEGAL_STEP)
    assert (step.instrument_slug, step.step_change, step.timing) == (
        "ca-ab-1831", "added", Timing.CURRENT)
    assert step.after["status"] == "in_force"
    # Each alert has its own idempotency key, and the fan-out task was enqueued with them.
    assert len({a.key for a in Alert.objects.all()}) == 3
    assert DBTaskResult.objects.filter(task_path="alerts.tasks.dispatch").exists()


def test_a_write_that_rolls_back_leaves_no_alert(states):
    tasks = DBTaskResult.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        F.event(states["bill"], "in_force", states["today"])
        assert Alert.objects.count() == 3  # written inside the write's transaction
        raise RuntimeError("the write fails after the save")
    assert not Alert.objects.exists()
    assert DBTaskResult.objects.count() == tasks


def test_wording_fixes_are_no_alert(states, account):
    ana = account("ana", "editor")
    patch(ana, "instrument", {"slug": states["law"].slug}, {"title": "Penal Code § 43.26"})
    step = StatusEvent.objects.get(instrument=states["law"])
    patch(ana, "status-event", {"pk": step.pk}, {"description": "Took effect (typo fixed)."})
    assert not Alert.objects.exists()


def test_a_retroactive_correction_is_reported_as_such(states, account):
    ana = account("ana", "editor")
    step = StatusEvent.objects.get(instrument=states["law"])
    patch(ana, "status-event", {"pk": step.pk}, {"date": "2019-01-01"})
    coverage = Alert.objects.filter(kind=AlertKind.COVERAGE_CHANGE, scope="applicable").get()
    assert coverage.jurisdiction.code == "US-TX"
    assert coverage.timing == Timing.RETROACTIVE
    assert (coverage.changed_from, coverage.changed_to) == (
        datetime.date(2019, 1, 1), datetime.date(2020, 6, 1))
    assert (coverage.before["value"], coverage.after["value"]) == ("none", "yes")
    assert "corrected history" in coverage.title
    step_alert = Alert.objects.get(kind=AlertKind.LEGAL_STEP)
    assert (step_alert.step_change, step_alert.timing) == ("corrected", Timing.RETROACTIVE)
    assert step_alert.before["date"] == "2020-06-01" and step_alert.after["date"] == "2019-01-01"


def test_a_step_dated_ahead_is_a_scheduled_change(states, account):
    ana = account("ana", "editor")
    enact(ana, states["bill"], states["today"] + datetime.timedelta(days=30))
    coverage = Alert.objects.filter(kind=AlertKind.COVERAGE_CHANGE, scope="applicable").get()
    assert coverage.timing == Timing.SCHEDULED
    assert Alert.objects.get(kind=AlertKind.LEGAL_STEP).timing == Timing.SCHEDULED
