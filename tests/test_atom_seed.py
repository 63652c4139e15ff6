"""The Atom feeds on the real seed (issue 14): its latest edits, and the alert feeds of the
followable things of its pages, valid against the schema of RFC 4287 (tests/atom.py). The
hand-made world's feeds are in tests/test_atom.py."""

from __future__ import annotations

import pytest
from django.urls import reverse

from alerts.models import Alert
from jurisdictions.feeds import ChangesFeed
from jurisdictions.models import Instrument
from tests import factories as F
from tests.atom import ATOM, assert_valid_atom

pytestmark = pytest.mark.django_db


def entries(client, path):
    response = client.get(path)
    assert response.status_code == 200, (path, response.content)
    return assert_valid_atom(response.content).findall(f"{ATOM}entry")


def test_the_changes_feed_of_the_seed_is_valid_atom(seeded, client):
    assert len(entries(client, reverse("changes-feed"))) == ChangesFeed.limit
    assert entries(client, reverse("changes-feed") + "?jurisdiction=US&model=status_event")


def test_the_alert_feeds_of_a_seed_edit_are_valid_atom(seeded, client, today):
    """A repeal recorded today on a real instrument that answers yes: the feeds of its
    jurisdiction and of itself carry the legal step (and the coverage changes, if the repeal
    moved a cell), in the seed's words; those of its criteria and gap lists are valid too."""
    instrument = (Instrument.objects.filter(assessments__value="yes", jurisdiction__parent=None)
                  .order_by("slug").select_related("jurisdiction").first())
    criteria = sorted({a.criterion.slug for a in instrument.assessments.all()})
    F.event(instrument, "repealed", today)
    assert Alert.objects.exists()
    code = instrument.jurisdiction.code
    assert entries(client, reverse("alerts:jurisdiction-feed", kwargs={"code": code}))
    assert entries(client, reverse("alerts:instrument-feed", kwargs={"slug": instrument.slug}))
    paths = [
        *(reverse("alerts:criterion-feed", kwargs={"slug": slug}) + f"?jurisdictions={code}"
          for slug in criteria),
        *(reverse("alerts:gaps-feed") + f"?criterion={slug}" for slug in criteria),
    ]
    for path in paths:
        entries(client, path)
