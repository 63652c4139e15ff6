"""Every writable API route × action × role, declared as a table (after NetBox's API view test
cases, netbox/utilities/testing/api.py), on the small world of tests/world.py.

For each cell: the status (401 anonymous, 403 without the permission, 2xx for editors and
reviewers, 409 where the contract refuses the action); on refusal nothing changed (the row, the
row count, the history); on success a history record naming the account, and on update the
version and the ETag bumped. Then the edges of the If-Match protocol on every database: 428
without it, 412 after the row moved on (the version bumped in the database before the write),
a delete racing an update, reviewer-only fields refused to editors, and an admin change form
posted without its version.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Callable

import pytest
from django.db.models import F as DbF
from django.forms.models import model_to_dict
from django.urls import reverse
from rest_framework.test import APIClient

from jurisdictions.models import (
    Assessment,
    Criterion,
    Event,
    Instrument,
    Jurisdiction,
    Source,
    StatusEvent,
)
from tests import factories as F
from tests.admin_forms import errors_of, form_data, url as admin_url


# --- the routes ----------------------------------------------------------------------------------
@dataclass
class Route:
    basename: str
    model: type
    lookup: str  # the URL keyword: code, slug or pk
    target: Callable[[], object]  # a fresh row that may be updated and deleted
    create: dict
    put: Callable[[object], dict]
    patch: dict
    refused: dict[str, int] = field(default_factory=dict)  # action -> status for every role

    def key(self, obj):
        return getattr(obj, self.lookup)

    def detail(self, obj) -> str:
        return reverse(f"api:{self.basename}-detail", kwargs={self.lookup: self.key(obj)})

    def list(self) -> str:
        return reverse(f"api:{self.basename}-list")


def _instrument():
    return F.instrument("KR", slug="kr-matrix-target", title="Target", cite=False)


def _event():
    return Event.objects.create(slug="matrix-event", date=datetime.date(2025, 1, 1),
                                date_precision="day", title="An event", kind="report")


ROUTES = [
    Route(
        "jurisdiction", Jurisdiction, "code",
        target=lambda: F.jurisdiction("TV", name="Tuvalu", kind="country",
                                      research_status="not_researched"),
        create={"code": "NR", "name": "Nauru", "kind": "country",
                "research_status": "not_researched"},
        put=lambda obj: {"code": obj.code, "name": "Tuvalu (renamed)", "kind": "country",
                         "research_status": "in_progress"},
        patch={"research_notes": "looked at the gazette"},
    ),
    Route(
        "instrument", Instrument, "slug", target=_instrument,
        create={"slug": "kr-matrix-new", "jurisdiction": "KR", "instrument_type": "bill",
                "title": "A new bill"},
        put=lambda obj: {"slug": obj.slug, "jurisdiction": "KR", "instrument_type": "statute",
                         "title": "Replaced title"},
        patch={"title": "Patched title"},
    ),
    Route(
        "status-event", StatusEvent, "pk",
        target=lambda: F.event(_instrument(), "introduced", "2024-01-10", cite=False),
        create={"instrument": "kr-act", "status": "in_committee", "date": "2020-03-01",
                "date_precision": "month", "description": "sent to committee"},
        put=lambda obj: {"instrument": obj.instrument.slug, "status": "introduced",
                         "date": "2024-01-11", "date_precision": "day",
                         "description": "tabled (corrected date)"},
        patch={"description": "tabled by the government"},
    ),
    Route(
        "criterion", Criterion, "slug",
        target=lambda: F.criterion("matrix_question", label="Matrix", position=30),
        create={"slug": "new_question", "label": "New question", "question": "Is it?",
                "position": 40},
        put=lambda obj: {"slug": obj.slug, "label": "Relabelled", "question": "Still?",
                         "position": 31, "retired": False},
        patch={"label": "Patched label"},
        # Criteria are never deleted, they are retired (DOMAIN.md: stable slugs).
        refused={"destroy": 409},
    ),
    Route(
        "assessment", Assessment, "pk",
        target=lambda: F.assessment(_instrument(), "production", "no", cite=False),
        create={"instrument": "kr-act", "criterion": "old_question", "value": "unclear",
                "basis": "text"},
        put=lambda obj: {"instrument": obj.instrument.slug, "criterion": "production",
                         "value": "partial", "pinpoint": "s. 2", "basis": "text"},
        patch={"value": "yes"},
    ),
    Route(
        "source", Source, "pk",
        target=lambda: F.source(url="https://example.org/matrix-target", title="Target"),
        create={"url": "https://example.org/matrix-new", "title": "New source",
                "kind": "news"},
        put=lambda obj: {"url": obj.url, "title": "Replaced", "kind": "official"},
        patch={"publisher": "The gazette"},
    ),
    Route(
        "event", Event, "slug", target=_event,
        create={"slug": "matrix-new-event", "date": "2025-03-01", "date_precision": "day",
                "title": "A new event", "kind": "report"},
        put=lambda obj: {"slug": obj.slug, "date": "2025-01-02", "date_precision": "day",
                         "title": "Replaced", "kind": "report"},
        patch={"title": "Patched event"},
    ),
]
ROUTE_IDS = [r.basename for r in ROUTES]
ACTIONS = ("create", "update", "partial_update", "destroy")
ROLES = ("anonymous", "no_permission", "editor", "reviewer")
SUCCESS = {"create": 201, "update": 200, "partial_update": 200, "destroy": 204}


def expected_status(route: Route, action: str, role: str) -> int:
    if role == "anonymous":
        return 401
    if role == "no_permission":
        return 403
    return route.refused.get(action, SUCCESS[action])


def test_the_matrix_covers_every_writable_route():
    from jurisdictions.api.views import ROUTES as API_ROUTES

    assert sorted(basename for _, _, basename in API_ROUTES) == sorted(ROUTE_IDS)


# --- helpers -------------------------------------------------------------------------------------
def client_for(role: str, account) -> APIClient:
    if role == "anonymous":
        client = APIClient()
        client.user = None
        return client
    return account(f"matrix-{role}", None if role == "no_permission" else role)


def state(route: Route, obj=None) -> tuple:
    """What a refused write must leave as it was: the row's fields, the rows, the history."""
    row = None
    if obj is not None:
        fresh = route.model.objects.filter(pk=obj.pk).first()
        row = model_to_dict(fresh) if fresh else None
    return (row, route.model.objects.count(), route.model.history.count())


def etag(client, path) -> str:
    response = APIClient().get(path)
    assert response.status_code == 200, response.content
    return response["ETag"]


def send(client, route: Route, action: str, obj, if_match: str | None):
    headers = {"HTTP_IF_MATCH": if_match} if if_match else {}
    headers["HTTP_X_CHANGE_REASON"] = "write matrix"
    if action == "create":
        return client.post(route.list(), route.create, format="json", **headers)
    if action == "update":
        return client.put(route.detail(obj), route.put(obj), format="json", **headers)
    if action == "partial_update":
        return client.patch(route.detail(obj), route.patch, format="json", **headers)
    return client.delete(route.detail(obj), **headers)


# --- the matrix ----------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_write_matrix(world, account, route, action, role):
    client = client_for(role, account)
    obj = None if action == "create" else route.target()
    tag = None if obj is None else etag(client, route.detail(obj))
    before = state(route, obj)
    version_before = None if obj is None else obj.version

    response = send(client, route, action, obj, tag)

    expected = expected_status(route, action, role)
    assert response.status_code == expected, (route.basename, action, role, response.content)
    if expected >= 400:
        assert state(route, obj) == before, "a refused write changed something"
        if expected == 401:
            assert response["WWW-Authenticate"] == "Token"
        return
    user = client.user
    if action == "create":
        created = (route.model.objects.latest("pk") if route.lookup == "pk" else
                   route.model.objects.get(**{route.lookup: response.json()[route.lookup]}))
        assert before[1] + 1 == route.model.objects.count()
        record = created.history.latest("history_id")
        assert (record.history_type, record.history_user) == ("+", user)
        assert response["ETag"] == etag(client, route.detail(created))
    elif action == "destroy":
        assert not route.model.objects.filter(pk=obj.pk).exists()
        record = route.model.history.filter(id=obj.pk).latest("history_id")
        assert (record.history_type, record.history_user) == ("-", user)
        assert record.history_change_reason == "write matrix"
    else:
        obj.refresh_from_db()
        assert obj.version == version_before + 1
        assert response["ETag"] != tag
        assert response["ETag"] == etag(client, route.detail(obj))
        record = obj.history.latest("history_id")
        assert (record.history_type, record.history_user, record.version) == (
            "~", user, obj.version)
        assert record.history_change_reason == "write matrix"
        sent = route.patch if action == "partial_update" else route.put(obj)
        body = response.json()
        for name, value in sent.items():
            if name in body and not isinstance(body[name], dict):
                assert body[name] == value, (name, body[name], value)


# --- If-Match on every route, every database -----------------------------------------------------
@pytest.mark.parametrize("action", ("update", "partial_update", "destroy"))
@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_without_if_match_428_and_nothing_changes(world, account, route, action):
    client = account("ed", "editor")
    obj = route.target()
    before = state(route, obj)
    response = send(client, route, action, obj, None)
    assert response.status_code == 428, response.content
    assert "If-Match" in response.json()["errors"]
    assert state(route, obj) == before


@pytest.mark.parametrize("action", ("update", "partial_update", "destroy"))
@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_a_stale_version_is_412_and_nothing_changes(world, account, route, action):
    """The row moves on in the database (another writer) after the client read its ETag."""
    client = account("ed", "editor")
    obj = route.target()
    tag = etag(client, route.detail(obj))
    route.model.objects.filter(pk=obj.pk).update(version=DbF("version") + 1)
    before = state(route, obj)
    response = send(client, route, action, obj, tag)
    assert response.status_code == 412, response.content
    current = etag(client, route.detail(obj))
    assert current != tag
    assert current in str(response.json())  # the body names the current ETag
    assert state(route, obj) == before


def test_a_delete_racing_an_update_loses_and_deletes_nothing(world, account):
    ana, ben = account("ana", "editor"), account("ben", "editor")
    route = next(r for r in ROUTES if r.basename == "instrument")
    obj = route.target()
    tag = etag(ana, route.detail(obj))
    assert ana.patch(route.detail(obj), {"title": "Ana's title"}, format="json",
                     HTTP_IF_MATCH=tag).status_code == 200
    # Ben deletes the version he saw: Ana's edit came first, so his delete is refused.
    response = ben.delete(route.detail(obj), HTTP_IF_MATCH=tag)
    assert response.status_code == 412, response.content
    obj.refresh_from_db()
    assert (obj.title, obj.version) == ("Ana's title", 2)
    # The other way round: the delete lands first, the update finds nothing.
    fresh = etag(ben, route.detail(obj))
    assert ben.delete(route.detail(obj), HTTP_IF_MATCH=fresh).status_code == 204
    response = ana.patch(route.detail(obj), {"title": "Too late"}, format="json",
                         HTTP_IF_MATCH=fresh)
    assert response.status_code == 404
    assert not Instrument.objects.filter(pk=obj.pk).exists()


# --- reviewer-only fields ------------------------------------------------------------------------
REVIEWER_FIELDS = [
    ("assessment", {"verified_on": "2026-11-30"}, "verified_by"),
    ("jurisdiction", {"last_reviewed_on": "2026-11-30"}, "reviewed_by"),
]


@pytest.mark.parametrize("basename, body, by", REVIEWER_FIELDS, ids=["verified_on",
                                                                    "last_reviewed_on"])
def test_reviewer_only_fields_are_refused_to_editors(world, account, basename, body, by):
    route = next(r for r in ROUTES if r.basename == basename)
    editor, reviewer = account("ed", "editor"), account("rev", "reviewer")
    obj = route.target()
    before = state(route, obj)
    response = editor.patch(route.detail(obj), body, format="json",
                            HTTP_IF_MATCH=etag(editor, route.detail(obj)))
    assert response.status_code == 403, response.content
    assert state(route, obj) == before
    response = reviewer.patch(route.detail(obj), body, format="json",
                              HTTP_IF_MATCH=etag(reviewer, route.detail(obj)))
    assert response.status_code == 200, response.content
    obj.refresh_from_db()
    name = next(iter(body))
    assert getattr(obj, name).isoformat() == body[name]
    assert getattr(obj, by) == reviewer.user
    # And on create: an editor cannot create a row already verified.
    if basename == "assessment":
        response = editor.post(route.list(), {**route.create, **body}, format="json")
        assert response.status_code == 403, response.content
        assert not Assessment.objects.filter(criterion__slug="old_question",
                                             instrument__slug="kr-act").exists()


# --- the admin: a change form posted without its version -----------------------------------------
def test_an_admin_form_without_its_version_saves_nothing(world, client, member):
    client.force_login(member("editor", "ana"))
    obj = _instrument()
    page = client.get(admin_url(Instrument, "change", obj.pk))
    assert page.status_code == 200
    data = form_data(page)
    data.pop("base_version")
    data["title"] = "Saved without a version"
    response = client.post(admin_url(Instrument, "change", obj.pk), data)
    assert response.status_code == 200  # the form again, with the error
    assert "does not say which version" in errors_of(response)
    obj.refresh_from_db()
    assert (obj.title, obj.version) == ("Target", 1)
    assert obj.history.count() == 1
