"""The Atom feed of changes, ``/feeds/changes/`` (issue 4): valid Atom, one entry per recorded
change, newest first, each linking to the changed record, bounded in length."""

from __future__ import annotations

import copy
import datetime

import pytest
from django.urls import reverse
from lxml import etree

from jurisdictions import editorial
from jurisdictions.feeds import ChangesFeed
from jurisdictions.models import Instrument, Source
from tests import factories as F
from tests.atom import InvalidAtom, assert_valid_atom, validate_atom

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


def read_feed(client, query=""):
    """The root of the served changes feed, which must be valid Atom."""
    response = client.get(reverse("changes-feed") + query)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    return assert_valid_atom(response.content)


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


# --- valid against the schema of RFC 4287 (issue 14) ----------------------------------------------
def test_markup_and_control_characters_leave_the_feed_valid(client, django_user_model):
    """Text that looks like markup is escaped, and a character XML cannot carry (here in a
    reason, which the text policy does not police) is left out, not served."""
    ana = django_user_model.objects.create_user("ana")
    act = F.instrument("KR", slug="kr-act", title="Act", cite=False)
    act.title = "Act <b>on</b> “A” & ]]> B"
    editorial.stamp(act, ana, "reason with \x01 a control character")
    act.save()
    (changed,) = [i for i in entries(read_feed(client)) if i["title"].endswith("title changed")]
    assert changed["title"] == "KR Act <b>on</b> “A” & ]]> B: title changed"
    assert "\x01" not in changed["summary"] and "a control character" in changed["summary"]


# The checks themselves: a served feed broken in one place is refused. The schema's refusals
# carry libxml2's words; the rules it leaves out fail in assert_valid_atom.
def _first(root, path):
    return root.find("/".join(f"{ATOM}{step}" for step in path.split("/")))


def _drop(root, path):
    element = _first(root, path)
    element.getparent().remove(element)


def _rename(element, name):
    element.tag = f"{ATOM}{name}"


def _set(element, name, value):
    element.set(name, value)


def _text(element, value):
    element.text = value


SCHEMA_BREAKS = {
    "an entry without id": (lambda r: _drop(r, "entry/id"),
                            "Element entry failed to validate content"),
    "a feed without title": (lambda r: _drop(r, "title"),
                             "Element feed failed to validate content"),
    "an updated that is no date": (lambda r: _text(_first(r, "entry/updated"), "yesterday"),
                                   "Type dateTime doesn't allow value 'yesterday'"),
    "a link without href": (lambda r: _first(r, "entry/link").attrib.pop("href"),
                            "Element link failed to validate attributes"),
    "an element Atom does not define": (lambda r: _rename(_first(r, "entry/summary"), "abstract"),
                                        "Element entry has extra content: abstract"),
    "a text construct of an unknown type": (
        lambda r: _set(_first(r, "entry/summary"), "type", "markdown"),
        "Invalid attribute type for element summary"),
}
RULE_BREAKS = {
    "a date without time zone": lambda r: _text(_first(r, "entry/updated"), "2026-01-01T00:00:00"),
    "no self link": lambda r: _set(
        next(l for l in r.findall(f"{ATOM}link") if l.get("rel") == "self"), "rel", "related"),
    "an entry without author": lambda r: _drop(r, "entry/author"),
    "two entries with one id": lambda r: _text(r.findall(f"{ATOM}entry")[1].find(f"{ATOM}id"),
                                               r.findtext(f"{ATOM}entry/{ATOM}id")),
    "an id that is no IRI": lambda r: _text(_first(r, "entry/id"), "change 42"),
    "an entry without alternate link": lambda r: _set(_first(r, "entry/link"), "rel", "related"),
    "an entry with two alternate links": lambda r: _first(r, "entry").append(
        copy.deepcopy(_first(r, "entry/link"))),
}


def served_feed(client):
    F.instrument("KR", slug="kr-act", cite=False)
    content = client.get(reverse("changes-feed")).content
    assert len(assert_valid_atom(content).findall(f"{ATOM}entry")) > 1  # served valid…
    return validate_atom(content)


@pytest.mark.parametrize("name", SCHEMA_BREAKS)
def test_the_schema_refuses_a_broken_feed(client, name):
    root = served_feed(client)
    breaks, words = SCHEMA_BREAKS[name]
    breaks(root)
    with pytest.raises(InvalidAtom) as refused:  # …and refused once broken
        validate_atom(etree.tostring(root))
    assert words in str(refused.value), str(refused.value)


@pytest.mark.parametrize("name", RULE_BREAKS)
def test_the_rules_the_schema_leaves_out_refuse_a_broken_feed(client, name):
    root = served_feed(client)
    RULE_BREAKS[name](root)
    content = etree.tostring(root)
    validate_atom(content)  # the schema lets it through…
    with pytest.raises(AssertionError):  # …the rules do not
        assert_valid_atom(content)


@pytest.mark.parametrize("query,status", [
    ("?as_of=9999-12-31", 200),  # the last day there is: no day after it to end the window
    ("?since=9999-12-31&as_of=9999-12-31", 200),
    ("?since=0001-01-01T00:00%2B14:00", 400),  # before the first day there is, in UTC
    ("?since=9999-12-31T23:59-14:00&as_of=9999-12-31", 400),  # after the last, in UTC
])
def test_the_edges_of_the_calendar_are_an_answer_not_a_500(client, query, status):
    F.instrument("KR", slug="kr-act", title="Act", cite=False)
    response = client.get(reverse("changes-feed") + query)
    assert response.status_code == status, response.content[:300]
    if status == 200:
        found = entries(assert_valid_atom(response.content))
        assert (found == []) == ("since=9999" in query)  # the act's creation, up to the last day
    else:
        assert list(response.json()["errors"]) == ["since"]
