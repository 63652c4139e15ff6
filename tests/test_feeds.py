"""The Atom feed of changes, ``/feeds/changes/`` (issue 4): valid Atom, one entry per recorded
change, newest first, each linking to the changed record, bounded in length."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

from jurisdictions import editorial
from jurisdictions.feeds import ChangesFeed
from jurisdictions.models import Instrument, Source
from tests import factories as F

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


def read_feed(client):
    response = client.get(reverse("changes-feed"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    return root


def entries(root):
    result = []
    for entry in root.findall(f"{ATOM}entry"):
        links = entry.findall(f"{ATOM}link")
        result.append(
            {
                "title": entry.findtext(f"{ATOM}title"),
                "id": entry.findtext(f"{ATOM}id"),
                "updated": entry.findtext(f"{ATOM}updated"),
                "author": entry.findtext(f"{ATOM}author/{ATOM}name"),
                "summary": entry.findtext(f"{ATOM}summary"),
                "links": [(l.get("rel"), l.get("href")) for l in links],
            }
        )
    return result


def test_the_feed_is_atom_and_lists_the_latest_changes_newest_first(client, django_user_model):
    ana = django_user_model.objects.create_user("ana")
    act = F.instrument("KR", slug="kr-act", title="Old", cite=False)
    act.title = "New"
    editorial.stamp(act, ana, "Gazette of 2025-03-01")
    act.save()
    answer = F.assessment(act, "possession", cite=False)
    doomed = F.source(url="https://example.org/withdrawn")
    doomed_pk = doomed.pk
    editorial.stamp(doomed, ana, "duplicate")
    doomed.delete()

    root = read_feed(client)
    assert root.findtext(f"{ATOM}title") == ChangesFeed.title
    assert root.findtext(f"{ATOM}id")
    assert root.findtext(f"{ATOM}updated")
    self_links = [l.get("href") for l in root.findall(f"{ATOM}link") if l.get("rel") == "self"]
    assert self_links == ["http://testserver/feeds/changes/"]

    items = entries(root)
    # One entry per edit, titled in words (issue 18).
    assert [i["title"] for i in items[:5]] == [
        "Source https://example.org/withdrawn: deleted",
        "Source https://example.org/withdrawn: added",
        "KR New: possession: Yes",
        "Criterion possession: added",
        "KR New: title changed",
    ]
    deleted = items[0]
    assert deleted["links"] == [
        ("alternate", f"http://testserver/admin/jurisdictions/source/{doomed_pk}/history/")
    ]
    assert deleted["author"] == "an editor"  # no username for the public (issue 18)
    assert "Deleted by an editor; reason: duplicate" in deleted["summary"]

    changed = items[4]
    assert changed["links"] == [("alternate", "http://testserver/instruments/kr-act/")]
    assert "reason: Gazette of 2025-03-01" in changed["summary"]
    assert "title: “Old” → “New”" in changed["summary"]  # old → new values
    assert items[2]["links"] == [("alternate", "http://testserver/instruments/kr-act/")]
    jurisdiction = next(i for i in items if i["title"] == "Jurisdiction KR: added")
    assert jurisdiction["links"] == [("alternate", "http://testserver/jurisdictions/KR/")]
    assert answer.pk

    # Entry ids are unique tag: URIs; dates are RFC 3339 and never increase down the feed.
    ids = [i["id"] for i in items]
    assert len(set(ids)) == len(ids) and all(i.startswith("tag:lawtracker,") for i in ids)
    dates = [datetime.datetime.fromisoformat(i["updated"]) for i in items]
    assert dates == sorted(dates, reverse=True)
    assert root.findtext(f"{ATOM}updated") == items[0]["updated"]


def test_every_link_of_the_feed_answers(client, admin_client):
    act = F.instrument("KR", slug="kr-act")
    F.event(act, "introduced", "2024-01-10")
    F.assessment(act, "possession")
    for item in entries(read_feed(client)):
        (_rel, href), = item["links"]
        path = href.removeprefix("http://testserver")
        reader = admin_client if path.startswith("/admin/") else client
        assert reader.get(path).status_code == 200, (item["title"], path)


def test_the_feed_is_bounded_and_keeps_the_newest(client):
    for i in range(ChangesFeed.limit + 5):
        Source.objects.create(url=f"https://example.org/{i}")
    items = entries(read_feed(client))
    assert len(items) == ChangesFeed.limit
    assert items[0]["title"] == f"Source https://example.org/{ChangesFeed.limit + 4}: added"


def test_an_empty_feed_is_still_valid_atom(client):
    root = read_feed(client)
    assert entries(root) == []
    assert root.findtext(f"{ATOM}updated")
    assert Instrument.objects.count() == 0
