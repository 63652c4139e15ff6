"""Every Atom feed the project serves is valid against the schema of RFC 4287 (issue 14), on the
hand-made world (tests/world.py), whose set-up writes history of every kind and alerts of both
kinds: the changes feed (``/feeds/changes/``) read with each of its parameters, and the alert
feed of every followable thing (``/feeds/alerts/…``). The checks are tests/atom.py's; the
feeds' contents are tested in tests/test_feeds.py and tests/test_alerts.py."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from alerts.models import Alert, AlertKind
from jurisdictions.models import Criterion, Instrument, Jurisdiction
from tests.atom import ATOM, assert_valid_atom

pytestmark = pytest.mark.django_db


def read(client, path):
    response = client.get(path)
    assert response.status_code == 200, (path, response.content)
    assert response["Content-Type"].startswith("application/atom+xml")
    root = assert_valid_atom(response.content)
    (self_link,) = [l.get("href") for l in root.findall(f"{ATOM}link") if l.get("rel") == "self"]
    # The feed's own address: the path and the same query (percent-encoded its way).
    served, asked = urlsplit(self_link), urlsplit(f"http://testserver{path}")
    assert served[:3] == asked[:3] and parse_qs(served.query) == parse_qs(asked.query)
    return root.findall(f"{ATOM}entry")


@pytest.mark.parametrize("query", [
    "",
    "?model=instrument,status_event,assessment,source,bloc_membership,event",
    "?change=created,deleted",
    "?jurisdiction=US",
    "?instrument=kr-act",
    "?since=2024-01-01T00:00:00Z&as_of=2030-01-01",
])
def test_the_changes_feed_is_valid_atom(world, client, query):
    assert read(client, reverse("changes-feed") + query)


def test_every_alert_feed_is_valid_atom(world, client):
    """The feed of every jurisdiction, criterion and instrument, and the gap list of every
    criterion, as a page's follow link names them: those with alerts of both kinds, and those
    without any."""
    assert {a.kind for a in Alert.objects.all()} == {AlertKind.COVERAGE_CHANGE,
                                                      AlertKind.LEGAL_STEP}
    paths = [
        *(reverse("alerts:jurisdiction-feed", kwargs={"code": code})
          for code in Jurisdiction.objects.order_by("code").values_list("code", flat=True)),
        *(reverse("alerts:criterion-feed", kwargs={"slug": slug})
          for slug in Criterion.objects.order_by("slug").values_list("slug", flat=True)),
        *(reverse("alerts:instrument-feed", kwargs={"slug": slug})
          for slug in Instrument.objects.order_by("slug").values_list("slug", flat=True)),
        *(reverse("alerts:gaps-feed") + f"?criterion={slug}&scope=own"
          for slug in Criterion.objects.order_by("slug").values_list("slug", flat=True)),
    ]
    counts = {path: len(read(client, path)) for path in paths}
    kinds = ("jurisdictions", "criteria", "instruments", "gaps")
    for kind in kinds:  # each kind of feed served with entries and empty
        served = [n for path, n in counts.items() if f"/{kind}/" in path]
        assert served and max(served) > 0, (kind, served)
    assert min(counts.values()) == 0
