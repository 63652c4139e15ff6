"""API writes for editors (issue 4): who may write, validation with the model's rules, history
naming the writer, ETag / If-Match against lost updates (also under 20 concurrent writers on
PostgreSQL), deletes refused by PROTECT, verification by reviewers, the stale filter, the changes
feed filtered by jurisdiction."""

from __future__ import annotations

import datetime
import io
import threading

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection, connections
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from jurisdictions.models import (
    Assessment,
    Criterion,
    Instrument,
    InstrumentSource,
    Source,
    StatusEvent,
)
from tests import factories as F

pytestmark = pytest.mark.django_db


@pytest.fixture
def act():
    F.jurisdiction("KR", name="Korea, Republic of")
    F.criterion("possession")
    F.source(url="https://example.org/gazette")
    return F.instrument("KR", slug="kr-act", title="Old title", cite=False)


def detail(name, **kwargs):
    return reverse(f"api:{name}-detail", kwargs=kwargs)


def etag_of(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response["ETag"]


def state():
    """Everything a refused write must leave as it was."""
    return (
        list(Instrument.objects.values_list("slug", "title", "version")),
        Instrument.history.count(),
        Source.objects.count(),
        Assessment.objects.count(),
    )


NEW_INSTRUMENT = {
    "slug": "kr-new-act",
    "jurisdiction": "kr",
    "instrument_type": "bill",
    "title": "A new bill",
    "sources": ["https://example.org/gazette"],
}


# --- who may write ----------------------------------------------------------------------------
def test_anonymous_writes_are_refused_and_change_nothing(act):
    before = state()
    anonymous = APIClient()
    url = detail("instrument", slug="kr-act")
    # No credentials: 401 naming the scheme to use (RFC 9110 section 11.6.1).
    for response in (
        anonymous.post(reverse("api:instrument-list"), NEW_INSTRUMENT, format="json"),
        anonymous.patch(url, {"title": "x"}, format="json", HTTP_IF_MATCH='"1-1"'),
        anonymous.delete(url, HTTP_IF_MATCH=f'"{act.pk}-1"'),
    ):
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
        assert response.json() == {"detail": "Authentication credentials were not provided."}
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = forged.post(reverse("api:instrument-list"), NEW_INSTRUMENT, format="json")
    assert (response.status_code, response.json()) == (401, {"detail": "Invalid token."})
    assert state() == before
    assert anonymous.get(url).status_code == 200, "reading stays public"


@pytest.mark.parametrize("role", [None, "read_only_staff"])
def test_accounts_without_the_model_permission_are_refused(act, account, role):
    client = account("reader", role)
    before = state()
    response = client.post(reverse("api:instrument-list"), NEW_INSTRUMENT, format="json")
    assert response.status_code == 403
    url = detail("instrument", slug="kr-act")
    response = client.patch(url, {"title": "x"}, format="json", HTTP_IF_MATCH=etag_of(client, url))
    assert response.status_code == 403
    assert state() == before


def test_an_editor_creates_a_row_recorded_in_history_with_the_editor(act, account):
    ana = account("ana", "editor")
    response = ana.post(reverse("api:instrument-list"), NEW_INSTRUMENT, format="json",
                        HTTP_X_CHANGE_REASON="tabled on 2024-09-01")
    assert response.status_code == 201, response.json()
    body = response.json()
    created = Instrument.objects.get(slug="kr-new-act")
    assert response["ETag"] == f'"{created.pk}-1"'
    assert response["Location"] == body["url"] == "http://testserver/api/v1/instruments/kr-new-act/"
    assert (body["jurisdiction"]["code"], body["title"]) == ("KR", "A new bill")
    assert [s["url"] for s in body["sources"]] == ["https://example.org/gazette"]

    record = Instrument.history.get(id=created.pk)
    assert (record.history_type, record.history_user, record.history_change_reason) == (
        "+", ana.user, "tabled on 2024-09-01",
    )
    citation = InstrumentSource.history.get(instrument_id=created.pk)
    assert citation.history_user == ana.user


def test_session_authentication_writes_too(act, client, django_user_model):
    user = django_user_model.objects.create_user("ses")
    user.groups.add(Group.objects.get(name="editor"))
    client.force_login(user)
    url = detail("instrument", slug="kr-act")
    response = client.patch(url, {"title": "By session"}, content_type="application/json",
                            HTTP_IF_MATCH=client.get(url)["ETag"])
    assert response.status_code == 200, response.json()
    assert Instrument.history.filter(id=act.pk).latest("history_date").history_user == user


# --- ETag and If-Match --------------------------------------------------------------------------
def test_detail_responses_carry_an_etag_of_the_row_version(act, account):
    anonymous = APIClient()
    url = detail("instrument", slug="kr-act")
    assert anonymous.get(url)["ETag"] == f'"{act.pk}-1"'
    assert "ETag" not in anonymous.get(reverse("api:instrument-list"))
    source = Source.objects.get(url="https://example.org/gazette")
    assert anonymous.get(detail("source", pk=source.pk))["ETag"] == f'"{source.pk}-1"'


def test_if_match_is_required_and_checked(act, account):
    ana = account("ana", "editor")
    url = detail("instrument", slug="kr-act")
    before = state()
    for headers in ({}, {"HTTP_IF_MATCH": "*"}):
        response = ana.patch(url, {"title": "x"}, format="json", **headers)
        assert response.status_code == 428, headers
        assert "If-Match" in response.json()["errors"]
        assert response.json()["current_etag"] == f'"{act.pk}-1"'
    # A malformed or a weak tag is the client's mistake: 400 saying why (issue 18).
    for header, why in (("no quotes", "is not an entity tag"),
                        (f'W/"{act.pk}-1"', "is a weak entity tag")):
        response = ana.patch(url, {"title": "x"}, format="json", HTTP_IF_MATCH=header)
        assert response.status_code == 400, header
        assert why in response.json()["errors"]["If-Match"][0]
        assert f'"{act.pk}-1"' in response.json()["errors"]["If-Match"][0]
    assert ana.delete(url, HTTP_IF_MATCH=f'W/"{act.pk}-1"').status_code == 400
    assert ana.delete(url).status_code == 428
    assert state() == before

    response = ana.patch(url, {"title": "New title"}, format="json",
                         HTTP_IF_MATCH=f'"x", "{act.pk}-1"')
    assert response.status_code == 200, response.json()
    assert response["ETag"] == f'"{act.pk}-2"'
    assert response.json()["title"] == "New title"


def test_a_write_that_changes_nothing_keeps_the_version_and_writes_no_history(act, account):
    ana = account("ana", "editor")
    url = detail("instrument", slug="kr-act")
    tag = etag_of(ana, url)
    records = Instrument.history.filter(id=act.pk).count()
    body = {"title": act.title, "summary": act.summary, "sources": []}
    for _ in range(2):
        response = ana.patch(url, body, format="json", HTTP_IF_MATCH=tag,
                             HTTP_X_CHANGE_REASON="same again")
        assert response.status_code == 200, response.json()
        assert response["ETag"] == tag
    act.refresh_from_db()
    assert act.version == 1
    assert Instrument.history.filter(id=act.pk).count() == records
    # A real change still counts.
    response = ana.patch(url, {"title": "Changed"}, format="json", HTTP_IF_MATCH=tag)
    assert response["ETag"] == f'"{act.pk}-2"'
    assert Instrument.history.filter(id=act.pk).count() == records + 1


def test_a_save_that_changes_nothing_is_skipped_on_every_path(act, account):
    """The check lives in ``TrackedModel.save``: a script, an import or a command saving an
    unchanged row keeps its version and history too."""
    from jurisdictions import editorial

    records = Instrument.history.filter(id=act.pk).count()
    again = Instrument.objects.get(pk=act.pk)
    editorial.stamp(again, None, "nothing to say").save()
    again.title = again.title  # assigning the same value is no change
    again.save(update_fields=["title"])
    assert Instrument.objects.get(pk=act.pk).version == 1
    assert Instrument.history.filter(id=act.pk).count() == records
    again.title = "Other"
    again.save()
    assert Instrument.objects.get(pk=act.pk).version == 2


def test_the_second_of_two_editors_is_refused_with_412(act, account):
    ana, ben = account("ana", "editor"), account("ben", "editor")
    url = detail("instrument", slug="kr-act")
    tag = etag_of(ana, url)
    assert etag_of(ben, url) == tag

    first = ben.patch(url, {"summary": "Ben's summary"}, format="json", HTTP_IF_MATCH=tag,
                      HTTP_X_CHANGE_REASON="new source")
    assert first.status_code == 200
    second = ana.patch(url, {"title": "Ana's title"}, format="json", HTTP_IF_MATCH=tag)
    assert second.status_code == 412
    body = second.json()
    assert body["current_etag"] == first["ETag"] == f'"{act.pk}-2"'
    assert body["changes_since"] == [
        body["changes_since"][0]
    ] and "by ben (reason: new source): summary: “—” → “Ben's summary”" in body["changes_since"][0]

    act.refresh_from_db()
    assert (act.title, act.summary, act.version) == ("Old title", "Ben's summary", 2)
    assert not Instrument.history.filter(id=act.pk, history_user=ana.user).exists()
    # Ana reloads and succeeds.
    again = ana.patch(url, {"title": "Ana's title"}, format="json", HTTP_IF_MATCH=first["ETag"])
    assert again.status_code == 200


def test_delete_also_needs_the_current_version(account):
    ana = account("ana", "editor")
    source = F.source()
    url = detail("source", pk=source.pk)
    assert ana.delete(url, HTTP_IF_MATCH=f'"{source.pk}-7"').status_code == 412
    response = ana.delete(url, HTTP_IF_MATCH=etag_of(ana, url), HTTP_X_CHANGE_REASON="duplicate")
    assert response.status_code == 204
    assert not Source.objects.filter(pk=source.pk).exists()
    record = Source.history.get(id=source.pk, history_type="-")
    assert (record.history_user, record.history_change_reason, record.version) == (
        ana.user, "duplicate", 2,
    )


# --- validation ---------------------------------------------------------------------------------
def test_writes_are_validated_with_the_model_rules_and_name_the_field(act, account):
    ana = account("ana", "editor")
    steps = reverse("api:status-event-list")
    before = StatusEvent.objects.count()

    def errors(response):
        assert response.status_code == 400, response.content
        return response.json()["errors"]

    bad_month = {"instrument": "KR-ACT", "status": "introduced", "date": "2024-09-15",
                 "date_precision": "month"}
    assert errors(ana.post(steps, bad_month, format="json")) == {
        "date": ["A date known only to the month is stored as the first day of that month."]
    }
    assert "instrument" in errors(ana.post(steps, {**bad_month, "instrument": "nope",
                                                   "date": "2024-09-01"}, format="json"))
    assert errors(ana.post(steps, {**bad_month, "date": "2024-09-01", "colour": "red"},
                           format="json")) == {"colour": ["Unknown or read-only field."]}
    assert "sources" in errors(ana.post(steps, {**bad_month, "date": "2024-09-01",
                                                "sources": ["https://nowhere.example"]},
                                        format="json"))
    assert StatusEvent.objects.count() == before

    good = ana.post(steps, {**bad_month, "date": "2024-09-01"}, format="json")
    assert good.status_code == 201, good.json()
    assert "non_field_errors" in errors(ana.post(steps, {**bad_month, "date": "2024-09-01"},
                                                 format="json")), "the same step twice"

    url = detail("instrument", slug="kr-act")
    response = ana.patch(url, {"slug": "renamed"}, format="json",
                         HTTP_IF_MATCH=etag_of(ana, url))
    assert errors(response) == {"slug": ["slug is a public key and cannot change."]}
    response = ana.patch(url, {"official_url": "javascript:alert(1)"}, format="json",
                         HTTP_IF_MATCH=etag_of(ana, url))
    assert "official_url" in errors(response)
    response = ana.put(url, {"title": "Only a title"}, format="json",
                       HTTP_IF_MATCH=etag_of(ana, url))
    assert {"slug", "jurisdiction", "instrument_type"} <= set(errors(response))
    assert Instrument.objects.get(slug="kr-act").title == "Old title"


def test_jurisdiction_codes_are_checked_against_iso(account):
    ana = account("ana", "editor")
    response = ana.post(reverse("api:jurisdiction-list"),
                        {"code": "xx", "name": "Nowhere", "kind": "country"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"code": ["XX is not an ISO 3166 code for a country."]}


def test_deletes_refused_by_protect_are_409_and_change_nothing(act, account):
    ana = account("ana", "editor")
    F.event(act, "introduced", "2024-01-10")
    url = detail("instrument", slug="kr-act")
    response = ana.delete(url, HTTP_IF_MATCH=etag_of(ana, url))
    assert response.status_code == 409
    assert "status event: introduced 2024-01-10" in response.json()["errors"]["non_field_errors"][0]
    assert Instrument.objects.filter(pk=act.pk).exists()
    assert not Instrument.history.filter(history_type="-").exists()
    act.refresh_from_db()
    assert act.version == 1, "the refused delete left the version as it was"

    criterion = Criterion.objects.get(slug="possession")
    url = detail("criterion", slug="possession")
    response = ana.delete(url, HTTP_IF_MATCH=etag_of(ana, url))
    assert response.status_code == 409
    assert "retired" in response.json()["errors"]["non_field_errors"][0]
    assert Criterion.objects.filter(pk=criterion.pk).exists()


# --- verification -------------------------------------------------------------------------------
def test_only_reviewers_mark_answers_verified(act, account, today):
    answer = F.assessment(act, "possession", cite=False)
    url = detail("assessment", pk=answer.pk)
    ana, rita = account("ana", "editor"), account("rita", "reviewer")
    response = ana.patch(url, {"verified_on": today.isoformat()}, format="json",
                         HTTP_IF_MATCH=etag_of(ana, url))
    assert response.status_code == 403
    answer.refresh_from_db()
    assert answer.verified_on is None

    response = rita.patch(url, {"verified_on": today.isoformat()}, format="json",
                          HTTP_IF_MATCH=etag_of(rita, url))
    assert response.status_code == 200, response.json()
    assert (response.json()["verified_on"], response.json()["verified_by"]) == (
        today.isoformat(), "rita",
    )
    # An editor may still edit the answer's other fields.
    response = ana.patch(url, {"pinpoint": "s. 2"}, format="json",
                         HTTP_IF_MATCH=response["ETag"])
    assert response.status_code == 200
    answer.refresh_from_db()
    assert (answer.pinpoint, answer.verified_by, answer.version) == ("s. 2", rita.user, 3)


def test_stale_filter_of_the_assessments(act, settings, today):
    settings.LAWTRACKER_STALE_DAYS = 365
    other = F.instrument("KR", slug="kr-other", cite=False)
    fresh = F.assessment(act, "possession", verified_on=today - datetime.timedelta(days=30))
    old = F.assessment(act, "production", verified_on=today - datetime.timedelta(days=366))
    never = F.assessment(other, "possession")
    client = APIClient()

    def ids(params):
        response = client.get(reverse("api:assessment-list"), params)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids({"stale": "true"}) == {old.pk, never.pk}
    assert ids({"stale": "false"}) == {fresh.pk}
    response = client.get(reverse("api:assessment-list"), {"stale": "maybe"})
    assert response.status_code == 400 and "stale" in response.json()["errors"]
    settings.LAWTRACKER_STALE_DAYS = 20
    assert ids({"stale": "true"}) == {fresh.pk, old.pk, never.pk}


# --- the changes feed -------------------------------------------------------------------------
def test_changes_filter_by_jurisdiction_and_show_the_reason(act, account):
    F.jurisdiction("DE", name="Germany")
    german = F.instrument("DE", slug="de-act", cite=False)
    ana = account("ana", "editor")
    url = detail("instrument", slug="kr-act")
    ana.patch(url, {"title": "New"}, format="json", HTTP_IF_MATCH=etag_of(ana, url),
              HTTP_X_CHANGE_REASON="gazette")
    response = APIClient().get(reverse("api:changes"), {"jurisdiction": "kr", "page_size": 100})
    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert rows[0] == {
        **rows[0], "model": "instrument", "key": "kr-act", "change_type": "changed",
        "user": "an editor", "reason": "gazette",  # no username for the public (issue 18)
    }
    staff = ana.get(reverse("api:changes"), {"jurisdiction": "kr", "page_size": 100}).json()
    assert staff["results"][0]["user"] == "ana"  # staff see who
    assert {(r["model"], r["key"]) for r in rows} == {
        ("instrument", "kr-act"), ("jurisdiction", "KR"),
    }
    step = F.event(german, "introduced", "2024-01-10", cite=False)
    F.jurisdiction("EU")
    response = APIClient().get(reverse("api:changes"), {"jurisdiction": "de,EU"})
    assert {(r["model"], r["key"]) for r in response.json()["results"]} == {
        ("jurisdiction", "DE"), ("jurisdiction", "EU"), ("instrument", "de-act"),
        ("status_event", f"de-act introduced {step.date.isoformat()}"),
    }
    response = APIClient().get(reverse("api:changes"), {"jurisdiction": "ZZ"})
    assert response.status_code == 400 and "jurisdiction" in response.json()["errors"]
    response = APIClient().get(reverse("api:changes"),
                               {"jurisdiction": "KR", "model": "source"})
    assert response.json()["count"] == 0


# --- concurrency --------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_writers_with_one_etag_land_exactly_one_write(django_user_model):
    """Twenty threads PATCH the same row with the same If-Match at once: exactly one write
    lands, the others get 412; no update is lost or doubled. Needs real concurrency:
    PostgreSQL (SQLite serialises writers with a database lock)."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    # A transactional test starts from a flushed database: the groups that migration 0004
    # created are gone (post_migrate brings back only permissions). Recreate them the way an
    # operator would.
    call_command("create_roles", stdout=io.StringIO())
    F.jurisdiction("KR")
    act = F.instrument("KR", slug="kr-act", title="Start", cite=False)
    user = django_user_model.objects.create_user("ana")
    user.groups.add(Group.objects.get(name="editor"))
    token = Token.objects.create(user=user).key
    url = detail("instrument", slug="kr-act")
    tag = f'"{act.pk}-1"'
    barrier = threading.Barrier(20)
    statuses: list[int] = []

    def write(n):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        try:
            barrier.wait()
            response = client.patch(url, {"title": f"Writer {n}"}, format="json",
                                    HTTP_IF_MATCH=tag)
            statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] + [412] * 19
    act.refresh_from_db()
    assert act.version == 2 and act.title.startswith("Writer ")
    assert Instrument.history.filter(id=act.pk, history_type="~").count() == 1


def test_the_browsable_api_offers_editors_the_write_forms(act, client, django_user_model):
    user = django_user_model.objects.create_user("ses")
    user.groups.add(Group.objects.get(name="editor"))
    client.force_login(user)
    for url in (reverse("api:instrument-list"), detail("instrument", slug="kr-act")):
        response = client.get(url, {"format": "api"})
        assert response.status_code == 200, url
        assert b"PATCH" in response.content or b"POST" in response.content
    response = client.options(detail("instrument", slug="kr-act"))
    assert response.status_code == 200
    assert "PUT" in response.json()["actions"]
    assert "jurisdiction" in response.json()["actions"]["PUT"]
