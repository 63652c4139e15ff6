"""Alerts (issue 14): the outbox written with the change, the Atom feeds of each followable
thing, signed webhooks delivered by the django-tasks worker to a real local HTTP receiver."""

from __future__ import annotations

import datetime
import http.server
import json
import threading

import pytest
from django.db import transaction
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from alerts.models import Alert, AlertKind, Timing
from jurisdictions.models import Instrument, Jurisdiction, StatusEvent
from tests import factories as F
from tests.atom import assert_valid_atom

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
    """The bytes of the Atom feed served at ``path``."""
    response = client.get(path)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/atom+xml")
    return response.content


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


# --- the Atom feeds ------------------------------------------------------------------------------
def entries(client, path):
    """The entries of the feed at ``path``, which must be valid Atom."""
    return assert_valid_atom(feed(client, path)).findall(f"{ATOM}entry")


def titles(client, path):
    return [e.findtext(f"{ATOM}title") for e in entries(client, path)]


def test_each_followable_thing_has_a_valid_atom_feed(states, account, client):
    ana = account("ana", "editor")
    enact(ana, states["bill"], states["today"])
    criterion = reverse("alerts:criterion-feed", kwargs={"slug": AI})
    # A followed criterion within a selection: exactly one alert for the enacted bill.
    within_us = titles(client, criterion + "?within=US")
    assert len(within_us) == 1 and "California (US-CA)" in within_us[0]
    assert len(titles(client, criterion + "?within=US&scope=own")) == 1
    assert titles(client, criterion + "?jurisdictions=US-TX") == []
    assert titles(client, criterion + "?group=G20") == []  # subdivisions are no G20 members
    us = reverse("alerts:jurisdiction-feed", kwargs={"code": "us"})
    assert len(titles(client, us)) == 2  # California's cell and the bill's step
    assert titles(client, us + "?descendants=no") == []
    bill = titles(client, reverse("alerts:instrument-feed", kwargs={"slug": "ca-ab-1831"}))
    assert bill == ["California AB 1831: in force on " + states["today"].isoformat()]
    gaps = reverse("alerts:gaps-feed")
    assert len(titles(client, gaps + f"?criterion={AI}&within=US&scope=own")) == 1
    # An entry's id carries the alert's idempotency key.
    entry = entries(client, criterion + "?within=US")[0]
    key = Alert.objects.get(kind=AlertKind.COVERAGE_CHANGE, scope="applicable").key
    assert entry.findtext(f"{ATOM}id").endswith(str(key))


@pytest.mark.parametrize("path", [
    "/feeds/alerts/jurisdictions/US-TX/",
    f"/feeds/alerts/criteria/{AI}/?within=US",
    "/feeds/alerts/instruments/tx-penal-43-26/",
    f"/feeds/alerts/gaps/?criterion={AI}&within=US&scope=own",
])
def test_an_empty_feed_is_valid_atom(states, client, path):
    assert titles(client, path) == []


@pytest.mark.parametrize("path,field", [
    ("/feeds/alerts/criteria/ai_generated_explicit/?within=XX", "within"),
    ("/feeds/alerts/criteria/ai_generated_explicit/?scope=mine", "scope"),
    ("/feeds/alerts/criteria/ai_generated_explicit/?withn=US", "withn"),
    ("/feeds/alerts/criteria/ai_generated_explicit/?within=US&within=CA", "within"),
    ("/feeds/alerts/jurisdictions/US/?descendants=maybe", "descendants"),
    ("/feeds/alerts/gaps/", "criterion"),
    ("/feeds/alerts/gaps/?criterion=nope", "criterion"),
    ("/feeds/alerts/gaps/?criterion=ai_generated_explicit&bloc=G20", "bloc"),
    ("/feeds/alerts/instruments/ca-ab-1831/?as_of=2024-01-01", "as_of"),
    ("/feeds/alerts/criteria/ai_generated_explicit/?within=%00", "within"),
    ("/feeds/alerts/gaps/?criterion=%00", "criterion"),
    ("/feeds/alerts/jurisdictions/US/?scope=%00", "scope"),
])
def test_bad_feed_parameters_are_a_400_naming_them(states, client, path, field):
    response = client.get(path)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]


@pytest.mark.parametrize("path", [
    "/feeds/alerts/jurisdictions/ZZ/", "/feeds/alerts/criteria/nope/",
    "/feeds/alerts/instruments/nope/", "/feeds/alerts/jurisdictions/%00/",
    "/feeds/alerts/criteria/%00/", "/feeds/alerts/instruments/a%00b/",
])
def test_unknown_keys_are_a_404(states, client, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("text", [
    "Act \ufffe of 2024",      # a noncharacter: the API stores it, XML cannot carry it
    "Act \x01 of 2024",        # a control character stored before the text policy
    "\u202bAct <b>&amp;</b> ]]> \u200f" + "x" * 170,  # bidi marks, markup, a long name: kept
])
def test_every_alert_feed_is_valid_atom_whatever_the_names_it_is_titled_with_hold(
        states, account, client, text):
    """The title of a jurisdiction's or an instrument's feed names it: a character XML cannot
    carry there is replaced (U+FFFD) as in the entries, never a 500 or a broken feed."""
    enact(account("ana", "editor"), states["bill"], states["today"])
    Jurisdiction.objects.filter(code="US-CA").update(name=text)
    Instrument.objects.filter(pk=states["bill"].pk).update(title=text, short_name=text)
    for path in ("/feeds/alerts/jurisdictions/US-CA/", "/feeds/alerts/instruments/ca-ab-1831/"):
        root = assert_valid_atom(feed(client, path))
        title = root.findtext(f"{ATOM}title")
        kept = text.replace("\ufffe", "\ufffd").replace("\x01", "\ufffd")
        assert kept in title, (path, title)


def follow_links(client, path):
    import html5lib

    response = client.get(path)
    assert response.status_code == 200
    tree = html5lib.parse(response.content, namespaceHTMLElements=False)
    links = [a.get("href") for a in tree.iter("a") if "follow-link" in (a.get("class") or "")]
    alternates = [link.get("href") for link in tree.iter("link")
                  if link.get("type") == "application/atom+xml"]
    assert links and links == alternates
    return links


def test_each_page_has_follow_links_that_lead_to_its_feeds(states, account, client):
    enact(account("ana", "editor"), states["bill"], states["today"])
    pages = {
        reverse("pages:jurisdiction", kwargs={"code": "US-CA"}): 2,
        reverse("pages:instrument", kwargs={"slug": "ca-ab-1831"}): 1,
        reverse("pages:gaps") + f"?criterion={AI}&within=US": 1,
        reverse("pages:compare") + f"?within=US&criterion={AI}": 1,
    }
    for page, count in pages.items():
        links = follow_links(client, page)
        assert len(links) == count, page
        for link in links:
            assert_valid_atom(feed(client, link))
    # The followed things are the page's: California's feed lists its cell and the bill's step.
    california = follow_links(client, reverse("pages:jurisdiction", kwargs={"code": "US-CA"}))
    assert len(titles(client, california[0])) == 2
    compare = follow_links(client, reverse("pages:compare") + f"?within=US&criterion={AI}")
    assert len(titles(client, compare[0])) == 1


# --- webhooks ------------------------------------------------------------------------------------
class Receiver:
    """A local HTTP receiver in a thread: answers 500 to the first ``fail`` requests, then 204;
    records every request as ``(headers, body)``, and its path in ``paths``."""

    def __init__(self, fail=0):
        self.fail, self.requests, self.paths = fail, [], []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                receiver.paths.append(self.path)
                code = 500 if len(receiver.requests) <= receiver.fail else 204
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def keys(self):
        return [headers["Idempotency-Key"] for headers, _ in self.requests]


@pytest.fixture(autouse=True)
def dns(monkeypatch):
    """A resolver for the tests' names, without a network: ``dns[name] = [addresses]`` (or a
    function called at each lookup that returns them); other names go to the real resolver.
    ``hooks.example`` is a public address."""
    import ipaddress
    import socket

    answers = {"hooks.example": [PUBLIC]}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        if host not in answers:
            return real(host, port, family, type, proto, flags)
        found = answers[host]() if callable(answers[host]) else answers[host]
        rows = []
        for address in found:
            if ipaddress.ip_address(address).version == 6:
                rows.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "",
                             (address, int(port or 0), 0, 0)))
            else:
                rows.append((socket.AF_INET, socket.SOCK_STREAM, 6, "",
                             (address, int(port or 0))))
        return rows

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


PUBLIC = "93.184.215.14"  # a public address: only ever resolved to, never connected to


@pytest.fixture
def receiver(settings):
    """``receiver(fail=0)``: a :class:`Receiver` on loopback, which webhooks may reach only with
    ``ALERTS_WEBHOOK_ALLOW_PRIVATE`` (set here; a test that wants the guard turns it off)."""
    settings.ALERTS_WEBHOOK_ALLOW_PRIVATE = True
    made = []

    def make(fail=0):
        made.append(Receiver(fail))
        return made[-1]

    yield make
    for one in made:
        one.close()


@pytest.fixture
def worker(monkeypatch, settings):
    """Run django-tasks' database worker (``manage.py db_worker``'s Worker) in batch mode in
    this process until no task is ready. Its connection check is left out: it would close
    the test's transaction."""
    from django_tasks_db.management.commands import db_worker

    settings.ALERTS_RETRY_BASE_SECONDS = 0
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)

    def run():
        db_worker.Worker(
            queue_names=["default"], interval=0, batch=True, backend_name="default",
            startup_delay=False, max_tasks=None, worker_id="test-worker",
            excluded_queue_names=[],
        ).run()

    return run


def subscribe(client, url, target):
    response = client.post(reverse("api:webhook-list"), {"url": url, "target": target},
                           format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_webhook_failing_twice_is_retried_and_delivered_once_signed(
        states, account, receiver, worker):
    from alerts.webhooks import verify

    hook = receiver(fail=2)
    newsroom = account("newsroom")
    created = subscribe(newsroom, hook.url, f"/feeds/alerts/criteria/{AI}/?within=US")
    assert created["target_kind"] == "criterion" and len(created["secret"]) == 64
    enact(account("ana", "editor"), states["bill"], states["today"])
    worker()
    assert len(hook.requests) == 3  # two failures, then the delivery
    assert len(set(hook.keys())) == 1  # one alert, one idempotency key on every attempt
    headers, body = hook.requests[-1]
    assert verify(created["secret"], headers["Lawtracker-Signature"], body)
    assert not verify("another secret", headers["Lawtracker-Signature"], body)
    assert not verify(created["secret"], headers["Lawtracker-Signature"], body + b" ")
    payload = json.loads(body)
    alert = Alert.objects.get(kind=AlertKind.COVERAGE_CHANGE, scope="applicable")
    assert headers["Idempotency-Key"] == payload["id"] == str(alert.key)
    assert headers["Lawtracker-Event"] == "coverage_change"
    assert payload["jurisdiction"] == {"code": "US-CA", "name": "California"}
    assert (payload["criterion"], payload["scope"], payload["timing"]) == (
        AI, "applicable", "current")
    assert payload["before"]["value"] == "none" and payload["after"]["value"] == "yes"
    log = newsroom.get(reverse("api:webhook-deliveries", kwargs={"pk": created["id"]}))
    assert log.status_code == 200
    [delivery] = log.json()["results"]
    assert (delivery["state"], delivery["attempts"]) == ("delivered", 3)
    assert [a["status_code"] for a in delivery["log"]] == [500, 500, 204]
    worker()  # nothing left to send
    assert len(hook.requests) == 3


def test_a_worker_killed_mid_delivery_loses_nothing_and_sends_nothing_twice(
        states, account, receiver, worker, monkeypatch, settings):
    """Killed after claiming one delivery but before sending it, and killed after sending
    another but before recording it: once the leases expire, both are sent, each with its
    own key; the receiver sees every alert, and no key it has already acknowledged is ever
    sent again except the one whose acknowledgement the dead worker never recorded."""
    import time_machine

    from alerts import tasks, webhooks

    hook = receiver()
    subscribe(account("ngo"), hook.url, "/feeds/alerts/jurisdictions/US/")
    enact(account("ana", "editor"), states["bill"], states["today"])
    real_post = webhooks.post
    calls = []

    def dying_post(*args, **kwargs):
        calls.append(args[2])
        if len(calls) == 1:
            raise SystemExit("killed before sending")
        if len(calls) == 2:
            real_post(*args, **kwargs)
            raise SystemExit("killed after sending, before recording")
        return real_post(*args, **kwargs)

    monkeypatch.setattr(webhooks, "post", dying_post)
    worker()  # two deliveries (the cell, the step): both workers "die"
    assert len(hook.requests) == 1
    monkeypatch.setattr(webhooks, "post", real_post)
    worker()  # a new worker: the leases have not expired, nothing is sent
    assert len(hook.requests) == 1
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
        seconds=settings.ALERTS_LEASE_SECONDS + 1)
    with time_machine.travel(later, tick=True):
        tasks.recover.enqueue()
        worker()
    expected = {str(k) for k in Alert.objects.filter(
        kind__in=["legal_step"]).values_list("key", flat=True)} | {
        str(k) for k in Alert.objects.filter(scope="applicable").values_list("key", flat=True)}
    assert set(hook.keys()) == expected  # nothing lost
    # The one delivery sent by the dying worker came again with the same key; no other twice.
    repeated = [k for k in hook.keys() if hook.keys().count(k) > 1]
    assert repeated == [str(calls[1])] * 2
    assert {d.state for d in tasks.Delivery.objects.all()} == {"delivered"}
    worker()
    assert len(hook.requests) == 3


def test_repeated_failures_disable_the_subscription_with_a_notice(
        states, account, receiver, worker, settings, mailoutbox,
        django_capture_on_commit_callbacks):
    settings.ALERTS_DISABLE_AFTER = 3
    hook = receiver(fail=100)
    ngo = account("ngo")
    ngo.user.email = "desk@ngo.example"
    ngo.user.save()
    created = subscribe(ngo, hook.url, "/feeds/alerts/instruments/ca-ab-1831/")
    enact(account("ana", "editor"), states["bill"], states["today"])
    with django_capture_on_commit_callbacks(execute=True):
        worker()
    assert len(hook.requests) == 3
    subscription = ngo.get(reverse("api:webhook-detail", kwargs={"pk": created["id"]})).json()
    assert subscription["active"] is False
    assert "3 consecutive failed attempts" in subscription["disabled_reason"]
    assert [m.to for m in mailoutbox] == [["desk@ngo.example"]]
    # Its owner fixes the receiver and turns it on again: the pending delivery goes out.
    hook.fail = 0
    url = reverse("api:webhook-detail", kwargs={"pk": created["id"]})
    assert ngo.patch(url, {"active": True}, format="json").json()["failures"] == 0
    from alerts import tasks
    tasks.recover.enqueue()
    worker()
    assert len(hook.requests) == 4


def test_the_test_ping_is_signed_and_logged(states, account, receiver, worker):
    from alerts.webhooks import verify

    hook = receiver()
    ngo = account("ngo")
    created = subscribe(ngo, hook.url, "/feeds/alerts/jurisdictions/US-CA/")
    response = ngo.post(reverse("api:webhook-ping", kwargs={"pk": created["id"]}))
    assert response.status_code == 202
    worker()
    [(headers, body)] = hook.requests
    assert headers["Lawtracker-Event"] == "ping"
    assert verify(created["secret"], headers["Lawtracker-Signature"], body)
    log = ngo.get(reverse("api:webhook-deliveries", kwargs={"pk": created["id"]})).json()
    assert log["results"][0]["event"] == "ping" and log["results"][0]["state"] == "delivered"


def test_subscriptions_are_private_and_need_an_account(states, account, client):
    ngo = account("ngo")
    created = subscribe(ngo, "https://hooks.example/x", "/feeds/alerts/jurisdictions/US/")
    other = account("other")
    url = reverse("api:webhook-detail", kwargs={"pk": created["id"]})
    assert other.get(url).status_code == 404
    assert other.get(reverse("api:webhook-list")).json()["count"] == 0
    assert client.get(reverse("api:webhook-list")).status_code in (401, 403)
    assert client.post(reverse("api:webhook-list"), {}).status_code in (401, 403)
    assert ngo.delete(url).status_code == 204


@pytest.mark.parametrize("data,field", [
    ({"url": "ftp://hooks.example/x", "target": "/feeds/alerts/jurisdictions/US/"}, "url"),
    ({"url": "not a url", "target": "/feeds/alerts/jurisdictions/US/"}, "url"),
    ({"url": "https://hooks.example/x", "target": "/feeds/changes/"}, "target"),
    ({"url": "https://hooks.example/x", "target": "/feeds/alerts/jurisdictions/ZZ/"}, "target"),
    ({"url": "https://hooks.example/x",
      "target": "/feeds/alerts/criteria/ai_generated_explicit/?within=XX"}, "target"),
    ({"url": "https://hooks.example/x", "target": "\x00"}, "target"),
    ({"url": "https://hooks.example/x"}, "target"),
    ({"url": ["a"], "target": {"b": 1}}, "url"),
    ({"url": "https://hooks.example/x", "target": "http://[/feeds/"}, "target"),
    ({"url": "https://hooks.example/\x01", "target": "/feeds/alerts/jurisdictions/US/"}, "url"),
    ({"url": "https://hooks.example/x", "target": "/feeds/alerts/jurisdictions/US/?x=\x7f"},
     "target"),
    ({"url": "https://hooks.example/x", "target": "/feeds/alerts/jurisdictions/US/",
      "secret": "mine"}, "secret"),
])
def test_bad_subscriptions_are_a_400_naming_the_field(states, account, data, field):
    response = account("ngo").post(reverse("api:webhook-list"), data, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]


# --- no server-side request forgery through webhooks ---------------------------------------------
@pytest.mark.parametrize("url,why", [
    ("http://127.0.0.1:8000/hook", "127.0.0.1 is a loopback address"),
    ("http://10.0.0.1/", "10.0.0.1 is a private address"),
    ("http://192.168.1.1/", "is a private address"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[::1]/", "::1 is a loopback address"),
    ("http://[::ffff:127.0.0.1]/", "is a loopback address"),
    ("http://[fd12:3456::1]/", "is a private address"),
    ("http://[fe80::1]/", "link-local"),
    ("http://224.0.0.1/", "multicast"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://240.0.0.1/", "reserved"),
    ("http://[fec0::1]/", "fec0::1 is a reserved address"),  # site-local: Python calls it global
    ("http://[::ffff:0:7f00:1]/", "reserved"),
    ("https://hooks.example:0/", "Port 0"),
    ("http://\ufffd.example/", "Not a valid host name"),  # no IDNA form
    ("http://inside.example/", "inside.example resolves to a private address"),
    ("http://mixed.example/", "mixed.example resolves to a loopback address"),
    ("http://nowhere.invalid/", "does not resolve"),
    ("ftp://hooks.example/x", "http or https"),
    ("file:///etc/passwd", "Enter a valid URL"),  # the model field's own check comes first
    ("http://user:pw@hooks.example/", "user name or password"),
    ("https://user@hooks.example/", "user name or password"),
])
def test_webhooks_to_non_public_addresses_are_a_400_naming_url(states, account, dns, url, why):
    dns["inside.example"] = ["10.1.2.3"]
    dns["mixed.example"] = [PUBLIC, "127.0.0.1"]  # one bad answer is enough to refuse
    dns["nowhere.invalid"] = []
    ngo = account("ngo")
    response = ngo.post(reverse("api:webhook-list"), {
        "url": url, "target": "/feeds/alerts/jurisdictions/US/"}, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert list(errors) == ["url"]
    assert any(why in message for message in errors["url"]), errors
    # Changing a subscription's url meets the same guard, and leaves it as it was.
    created = subscribe(ngo, "https://hooks.example/x", "/feeds/alerts/jurisdictions/US/")
    detail = reverse("api:webhook-detail", kwargs={"pk": created["id"]})
    response = ngo.patch(detail, {"url": url}, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["url"]
    assert ngo.get(detail).json()["url"] == "https://hooks.example/x"


def test_allow_private_lets_loopback_and_private_receivers_through_but_not_metadata(
        states, account, settings):
    ngo = account("ngo")
    target = "/feeds/alerts/jurisdictions/US/"
    settings.ALERTS_WEBHOOK_ALLOW_PRIVATE = False
    assert ngo.post(reverse("api:webhook-list"), {"url": "http://127.0.0.1:9/", "target": target},
                    format="json").status_code == 400
    settings.ALERTS_WEBHOOK_ALLOW_PRIVATE = True
    subscribe(ngo, "http://127.0.0.1:9/", target)
    subscribe(ngo, "http://10.0.0.1/", target)
    subscribe(ngo, "http://[::1]:9/", target)
    for url in ("http://169.254.169.254/", "http://[fe80::1]/", "http://224.0.0.1/",
                "http://0.0.0.0/"):
        response = ngo.post(reverse("api:webhook-list"), {"url": url, "target": target},
                            format="json")
        assert response.status_code == 400 and list(response.json()["errors"]) == ["url"], url


def test_a_name_that_now_resolves_to_loopback_is_never_posted_to(
        states, account, receiver, worker, dns, settings):
    """DNS rebinding: registered while its name answered a public address, the subscription's
    name now answers loopback; every delivery attempt is refused before connecting, logged as
    a failed attempt, retried and given up as any other failure."""
    hook = receiver()
    settings.ALERTS_WEBHOOK_ALLOW_PRIVATE = False
    settings.ALERTS_MAX_ATTEMPTS = 3
    ngo = account("ngo")
    url = f"http://rebind.example:{hook.server.server_port}/hook"
    dns["rebind.example"] = [PUBLIC]
    created = subscribe(ngo, url, "/feeds/alerts/jurisdictions/US-CA/")
    dns["rebind.example"] = ["127.0.0.1"]
    assert ngo.post(reverse("api:webhook-ping", kwargs={"pk": created["id"]})).status_code == 202
    worker()
    assert hook.requests == []  # nothing reached the receiver on loopback
    log = ngo.get(reverse("api:webhook-deliveries", kwargs={"pk": created["id"]})).json()
    [delivery] = log["results"]
    assert (delivery["state"], delivery["attempts"]) == ("failed", 3)
    assert [(a["ok"], a["status_code"]) for a in delivery["log"]] == [(False, None)] * 3
    assert all("rebind.example resolves to a loopback address" in a["error"]
               for a in delivery["log"]), delivery["log"]
    assert ngo.get(reverse("api:webhook-detail", kwargs={"pk": created["id"]})
                   ).json()["failures"] == 3
    # Once the name answers loopback no more (and loopback is allowed), it is delivered.
    settings.ALERTS_WEBHOOK_ALLOW_PRIVATE = True
    assert ngo.post(reverse("api:webhook-ping", kwargs={"pk": created["id"]})).status_code == 202
    worker()
    assert len(hook.requests) == 1


def test_a_delivery_connects_to_the_address_it_checked(receiver, dns):
    """A name whose second answer differs from its first (DNS rebinding within one delivery)
    is resolved once: the check and the connection use the same answer."""
    from alerts import webhooks

    hook = receiver()  # loopback allowed; link-local never is
    lookups = []

    def flip():
        lookups.append(1)
        return ["127.0.0.1"] if len(lookups) == 1 else ["169.254.169.254"]

    dns["flip.example"] = flip
    status, error = webhooks.post(f"http://flip.example:{hook.server.server_port}/hook",
                                  "secret", "k", "ping", {"id": "k"})
    assert (status, error) == (204, "")
    assert len(hook.requests) == 1 and len(lookups) == 1
    # Asked again, the name answers link-local: refused, never connected.
    status, error = webhooks.post(f"http://flip.example:{hook.server.server_port}/hook",
                                  "secret", "k", "ping", {"id": "k"})
    assert status is None and "link-local" in error
    assert len(hook.requests) == 1


def test_a_receiver_named_in_unicode_is_sent_its_ascii_address(states, account, receiver,
                                                                 worker, dns):
    """An address with a host in Unicode or a path and query outside ASCII is registered as
    given, and each delivery goes to its ASCII form: the host in IDNA (the name the resolver
    looked up, in the Host header), the path and query percent-encoded. Sent as given, the
    request line could not be written and every attempt failed."""
    hook = receiver()
    port = hook.server.server_port
    dns["bücher.example"] = dns["xn--bcher-kva.example"] = ["127.0.0.1"]
    ngo = account("ngo")
    created = subscribe(ngo, f"http://bücher.example:{port}/café/\u200f?für=ü",
                        "/feeds/alerts/jurisdictions/US-CA/")
    assert created["url"] == f"http://bücher.example:{port}/café/\u200f?für=ü"
    assert ngo.post(reverse("api:webhook-ping", kwargs={"pk": created["id"]})).status_code == 202
    worker()
    log = ngo.get(reverse("api:webhook-deliveries", kwargs={"pk": created["id"]})).json()
    assert log["results"][0]["state"] == "delivered", log
    assert hook.paths == ["/caf%C3%A9/%E2%80%8F?f%C3%BCr=%C3%BC"]
    assert hook.requests[0][0]["Host"] == f"xn--bcher-kva.example:{port}"


@pytest.mark.parametrize("field,value,why", [
    ("url", "https://hooks.example/\x01", "control character"),
    ("target", "/feeds/alerts/jurisdictions/US/?scope=own\x01", "control character"),
    ("target", "/feeds/changes/", "Not an alert feed"),
    ("target", "/feeds/alerts/jurisdictions/ZZ/", "Unknown code or slug"),
])
def test_staff_cannot_store_in_the_admin_what_the_api_refuses(
        states, account, admin_client, field, value, why):
    from alerts.models import Subscription

    sub = Subscription.objects.create(user=account("ngo").user, url="https://hooks.example/x",
                                      target="/feeds/alerts/jurisdictions/US/",
                                      target_kind="jurisdiction")
    change = reverse("admin:alerts_subscription_change", args=[sub.pk])
    form = {"user": sub.user.pk, "url": sub.url, "target": sub.target,
            "target_kind": sub.target_kind, "active": "on"}
    response = admin_client.post(change, {**form, field: value})
    assert response.status_code == 200  # the form again, with its error
    assert why in response.content.decode()
    sub.refresh_from_db()
    assert (sub.url, sub.target) == ("https://hooks.example/x", "/feeds/alerts/jurisdictions/US/")
    # A target that names a feed is stored with the kind it names.
    response = admin_client.post(change, {**form, "target": f"/feeds/alerts/criteria/{AI}/"
                                          "?within=US&scope=applicable"})
    assert response.status_code == 302
    sub.refresh_from_db()
    assert (sub.target, sub.target_kind) == (
        f"/feeds/alerts/criteria/{AI}/?within=US&scope=applicable", "criterion")


def test_staff_cannot_point_a_subscription_at_a_private_address_in_the_admin(
        states, account, admin_client, settings):
    from alerts.models import Subscription

    settings.ALERTS_WEBHOOK_ALLOW_PRIVATE = False
    ngo = account("ngo")
    sub = Subscription.objects.create(user=ngo.user, url="https://hooks.example/x",
                                      target="/feeds/alerts/jurisdictions/US/",
                                      target_kind="jurisdiction")
    change = reverse("admin:alerts_subscription_change", args=[sub.pk])
    form = {"user": ngo.user.pk, "target": sub.target, "target_kind": sub.target_kind,
            "active": "on"}
    response = admin_client.post(change, {**form, "url": "http://169.254.169.254/"})
    assert response.status_code == 200  # the form again, with its error
    assert "link-local" in response.content.decode()
    sub.refresh_from_db()
    assert sub.url == "https://hooks.example/x"
    response = admin_client.post(change, {**form, "url": "https://hooks.example/y"})
    assert response.status_code == 302
    sub.refresh_from_db()
    assert sub.url == "https://hooks.example/y"


def test_the_schema_documents_which_receivers_are_refused(client):
    import yaml

    schema = yaml.safe_load(client.get(reverse("schema")).content)
    url = schema["components"]["schemas"]["Subscription"]["properties"]["url"]
    for words in ("loopback", "private", "link-local", "ALERTS_WEBHOOK_ALLOW_PRIVATE"):
        assert words in url["description"], words


def test_bad_list_parameters_are_a_400(states, account):
    ngo = account("ngo")
    for query in ({"page": "x"}, {"pagesize": "2"}, {"format": "csv"}):
        response = ngo.get(reverse("api:webhook-list"), query)
        assert response.status_code == 400, (query, response.content)


def test_the_delivery_log_costs_the_same_queries_for_one_and_many(
        states, account, receiver, worker, count_queries):
    hook = receiver()
    ngo = account("ngo")
    created = subscribe(ngo, hook.url, "/feeds/alerts/jurisdictions/US-CA/")
    url = reverse("api:webhook-deliveries", kwargs={"pk": created["id"]})
    ngo.post(reverse("api:webhook-ping", kwargs={"pk": created["id"]}))
    worker()
    one, _ = count_queries(ngo.get, url)
    for _ in range(4):
        ngo.post(reverse("api:webhook-ping", kwargs={"pk": created["id"]}))
    worker()
    many, response = count_queries(ngo.get, url)
    assert response.json()["count"] == 5
    assert one == many <= 8
    list_one, _ = count_queries(ngo.get, reverse("api:webhook-list"))
    subscribe(ngo, hook.url, "/feeds/alerts/jurisdictions/US/")
    list_two, _ = count_queries(ngo.get, reverse("api:webhook-list"))
    assert list_one == list_two <= 6


def test_the_schema_documents_the_payload_and_how_to_verify_it(client):
    import yaml

    schema = yaml.safe_load(client.get(reverse("schema")).content)
    create = schema["paths"]["/api/v1/webhooks/"]["post"]
    assert "hmac.compare_digest" in create["description"]
    assert "Idempotency-Key" in create["description"]
    receiver_op = create["callbacks"]["alert"]["{$request.body#/url}"]["post"]
    assert receiver_op["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/WebhookPayload")
    payload = schema["components"]["schemas"]["WebhookPayload"]["properties"]
    assert {"id", "type", "timing", "before", "after", "changed_from"} <= set(payload)
    assert {} not in schema["paths"]["/api/v1/webhooks/"]["get"].get("security", [])


def queued_tasks(task_path):
    return sorted(tuple(r.args_kwargs["args"]) for r in DBTaskResult.objects.filter(
        status="READY", task_path=task_path))


def test_alerts_recover_run_twice_queues_each_task_once(states, account, receiver, worker):
    """Run again and again (at each worker start, by its timer), ``alerts_recover`` queues only
    what no queued task covers; the worker then sends each delivery once."""
    import io

    from django.core.management import call_command

    from alerts.models import Delivery

    def recover():
        out = io.StringIO()
        call_command("alerts_recover", stdout=out)
        return out.getvalue()

    hook = receiver()
    ngo = account("ngo")
    created = subscribe(ngo, hook.url, "/feeds/alerts/jurisdictions/US/")
    enact(account("ana", "editor"), states["bill"], states["today"])
    by_the_write = queued_tasks("alerts.tasks.dispatch")
    assert by_the_write
    assert "fan-out not needed" in recover()  # the write's fan-out is queued already
    assert queued_tasks("alerts.tasks.dispatch") == by_the_write
    DBTaskResult.objects.all().delete()  # the queue is lost
    assert "fan-out queued" in recover()
    assert "fan-out not needed" in recover()
    assert queued_tasks("alerts.tasks.dispatch") == [()]
    from alerts.tasks import dispatch
    dispatch.call()  # the fan-out, outside the worker: pending deliveries and their tasks
    pending = sorted((pk,) for pk in Delivery.objects.values_list("pk", flat=True))
    assert len(pending) == 2 and queued_tasks("alerts.tasks.deliver") == pending
    assert recover().startswith("0 pending deliveries queued, 2 already queued")
    DBTaskResult.objects.filter(task_path="alerts.tasks.deliver").delete()
    assert recover().startswith("2 pending deliveries queued, 0 already queued")
    assert recover().startswith("0 pending deliveries queued, 2 already queued")
    assert queued_tasks("alerts.tasks.deliver") == pending
    # A delivery leased (by a worker that died) is not covered by a task that would run before
    # the lease expires: it is queued again, once, to run when the lease expires.
    leased = Delivery.objects.get(pk=pending[0][0])
    lease = leased.next_attempt_at + datetime.timedelta(hours=1)
    Delivery.objects.filter(pk=leased.pk).update(lease_until=lease)
    assert recover().startswith("1 pending deliveries queued, 1 already queued")
    assert recover().startswith("0 pending deliveries queued, 2 already queued")
    assert queued_tasks("alerts.tasks.deliver") == sorted(pending + [pending[0]])
    assert DBTaskResult.objects.get(task_path="alerts.tasks.deliver", status="READY",
                                    run_after=lease)
    Delivery.objects.filter(pk=leased.pk).update(lease_until=None)
    worker()
    assert len(hook.requests) == 2 and len(set(hook.keys())) == 2  # each delivery once
    assert set(Delivery.objects.values_list("state", flat=True)) == {"delivered"}
    assert recover().startswith("0 pending deliveries queued, 0 already queued")
    # Left: the task queued for the lease's end, which will find the delivery delivered.
    assert queued_tasks("alerts.tasks.deliver") == [pending[0]]
    assert ngo.get(reverse("api:webhook-detail", kwargs={"pk": created["id"]})).status_code == 200


# --- a real worker process, killed with SIGKILL mid-delivery (PostgreSQL) -----------------------
KILL_SETUP = """
import json
from django.contrib.auth.models import User
from alerts.models import Subscription
from tests import factories as F
F.jurisdiction("US", name="United States", research_status="reviewed")
F.jurisdiction("US-CA", name="California", research_status="reviewed")
bill = F.instrument("US-CA", slug="ca-ab-1831", instrument_type="bill", title="AB 1831")
F.assessment(bill, "ai_generated_explicit", "yes")
F.event(bill, "introduced", "2024-02-01")
user = User.objects.create_user("ngo-kill-test")
Subscription.objects.create(user=user, url="{url}", target="/feeds/alerts/jurisdictions/US/",
                            target_kind="jurisdiction")
from jurisdictions.clock import today
F.event(bill, "in_force", today())
"""
KILL_STATE = """
import json
from alerts.models import Alert, Delivery
followed = Alert.objects.filter(scope__in=["applicable", ""], jurisdiction__code="US-CA")
print(json.dumps({"alerts": sorted(str(a.key) for a in followed),
                  "states": sorted(d.state for d in Delivery.objects.all())}))
"""


def _on_postgres():
    from loadtest import server as srv

    return srv.on_postgres()


@pytest.mark.skipif(not _on_postgres(), reason="a worker process needs a database another "
                    "process can read: CI runs this in its PostgreSQL pass")
def test_a_worker_process_killed_mid_delivery_loses_nothing(tmp_path):
    """``manage.py db_worker`` is SIGKILLed while the receiver holds its request open; a new
    worker (after ``alerts_recover``) sends what it held once its lease expired, with the same
    Idempotency-Key, and everything else once."""
    import os
    import signal
    import subprocess
    import time

    from loadtest import server as srv

    url = srv.postgres_url(f"lt_alerts_kill_{os.getpid()}")
    srv.require_postgres(url)
    srv.create_database(url)
    hold = threading.Event()
    requests = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            requests.append((dict(self.headers), body))
            if len(requests) == 1:
                hold.wait(30)  # the worker dies while waiting for this answer
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = srv.production_env(url, ALERTS_LEASE_SECONDS="3", ALERTS_RETRY_BASE_SECONDS="0",
                             ALERTS_WEBHOOK_ALLOW_PRIVATE="1")  # the receiver is on loopback
    worker = lambda: subprocess.Popen(  # noqa: E731
        [srv.PYTHON, "manage.py", "db_worker", "--no-reload", "--interval", "0.2",
         "--no-startup-delay"], cwd=srv.REPO, env=env,
        stdout=open(tmp_path / "worker.log", "a"), stderr=subprocess.STDOUT)
    first = second = None
    try:
        srv.manage(env, "migrate", "--noinput")
        srv.manage(env, "shell", "-c",
                   KILL_SETUP.replace("{url}", f"http://127.0.0.1:{server.server_port}/"))
        first = worker()
        deadline = time.monotonic() + 60
        while not requests and time.monotonic() < deadline:
            time.sleep(0.1)
        assert requests, (tmp_path / "worker.log").read_text()
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        hold.set()
        srv.manage(env, "alerts_recover")
        second = worker()
        deadline = time.monotonic() + 60
        state = {}
        while time.monotonic() < deadline:
            out = srv.manage(env, "shell", "-c", KILL_STATE).stdout
            state = json.loads(out.strip().splitlines()[-1])
            if state["states"] and set(state["states"]) == {"delivered"}:
                break
            time.sleep(0.5)
        keys = [headers["Idempotency-Key"] for headers, _ in requests]
        assert set(state["states"]) == {"delivered"}, (tmp_path / "worker.log").read_text()
        assert len(state["states"]) == len(state["alerts"]) >= 2
        assert set(keys) == set(state["alerts"])  # nothing lost
        # Only the delivery the dead worker sent but never recorded came twice, same key.
        assert sorted(keys.count(k) for k in set(keys)) == [1] * (len(set(keys)) - 1) + [2]
        assert keys.count(keys[0]) == 2
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(10)
        server.shutdown()
        server.server_close()
        srv.drop_database(url)


# --- e-mail digests through a real SMTP server (aiosmtpd) ----------------------------------------
@pytest.fixture
def smtp(settings):
    """A real SMTP server on loopback (aiosmtpd); Django's SMTP backend pointed at it. Yields
    the list of received messages (``email.message.EmailMessage``)."""
    import email
    import email.policy
    import socket

    from aiosmtpd.controller import Controller

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            received.append((envelope.rcpt_tos, message))
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield received
    controller.stop()


def _link(message, start):
    import re

    text = message.get_body(("plain",)).get_content()
    return re.search(re.escape(start) + r"[^\s]+", text).group(0)


def test_a_digest_needs_double_opt_in_and_unsubscribes_in_one_request(
        states, account, client, smtp, django_capture_on_commit_callbacks, settings):
    from alerts.digests import send_digests

    settings.ALERTS_SITE_URL = "http://testserver"
    signup = reverse("api:alert-digests")
    target = f"/feeds/alerts/criteria/{AI}/?within=US"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(signup, {"email": "desk@news.example", "target": target,
                                         "frequency": "daily"}, content_type="application/json")
    assert response.status_code == 202
    [(to, confirmation)] = smtp
    assert to == ["desk@news.example"]
    assert confirmation.get_body(("html",)) is not None
    confirm = _link(confirmation, "http://testserver/feeds/alerts/confirm/")
    # Before the confirmation nothing is sent, whatever happens.
    enact(account("ana", "editor"), states["bill"], states["today"])
    assert send_digests("daily") == 0
    assert client.get(confirm).status_code == 200  # a page with a button: a GET changes nothing
    assert send_digests("daily") == 0
    assert client.post(confirm).status_code == 200
    # Confirmed: the digest holds the alerts from then on.
    other = F.instrument("US-TX", slug="tx-hb-2", instrument_type="bill", title="HB 2")
    F.assessment(other, AI, "yes")
    F.event(other, "introduced", states["today"])
    assert send_digests("daily") == 1
    to, digest = smtp[-1]
    assert to == ["desk@news.example"]
    assert "Texas (US-TX)" in digest.get_body(("plain",)).get_content()
    assert "Texas (US-TX)" in digest.get_body(("html",)).get_content()
    unsubscribe = "".join(str(digest["List-Unsubscribe"]).split()).strip("<>")
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert send_digests("daily") == 0  # nothing new
    # RFC 8058: one POST, no session, no CSRF token, unsubscribes.
    response = client.post(unsubscribe.replace("http://testserver", ""),
                           "List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    F.event(other, "in_force", states["today"])
    assert send_digests("daily") == 0
    assert "desk@news.example" not in client.get(reverse("pages:gaps") + f"?criterion={AI}"
                                                 ).content.decode()


def test_a_digest_mailed_again_after_a_crash_is_the_same_message(
        states, account, client, smtp, django_capture_on_commit_callbacks, settings):
    """A worker that dies after the mail server took a digest but before the subscription's
    cursor moved mails it again on the next run: the same Message-ID and text, so the reader's
    mail system sees a repeat of one message, not a second digest."""
    from alerts.digests import send_digests
    from alerts.models import EmailSubscription

    settings.ALERTS_SITE_URL = "https://lawtracker.example.org"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("api:alert-digests"), {
            "email": "desk@news.example", "target": f"/feeds/alerts/criteria/{AI}/?within=US",
            "frequency": "daily"}, content_type="application/json")
    subscription = EmailSubscription.objects.get()
    assert client.post(reverse("alerts:confirm", kwargs={"token": subscription.token})
                       ).status_code == 200
    enact(account("ana", "editor"), states["bill"], states["today"])
    cursor = EmailSubscription.objects.get().last_alert_id
    assert send_digests("daily") == 1
    EmailSubscription.objects.update(last_alert_id=cursor)  # the cursor never moved
    assert send_digests("daily") == 1
    first, again = smtp[-2][1], smtp[-1][1]
    alert = Alert.objects.get(kind=AlertKind.COVERAGE_CHANGE, scope="applicable")
    assert first["Message-ID"] == again["Message-ID"] == (
        f"<digest.{subscription.pk}.{alert.pk}-{alert.pk}@lawtracker.example.org>")
    assert first.get_body(("plain",)).get_content() == again.get_body(("plain",)).get_content()
    # A later digest, with a newer alert, is another message.
    other = F.instrument("US-TX", slug="tx-hb-3", instrument_type="bill", title="HB 3")
    F.assessment(other, AI, "yes")
    F.event(other, "introduced", states["today"])
    assert send_digests("daily") == 1
    assert smtp[-1][1]["Message-ID"] != first["Message-ID"]


def test_digest_sign_ups_are_rate_limited_and_checked(states, client, smtp, settings,
                                                     django_capture_on_commit_callbacks):
    from django.core.cache import cache

    cache.clear()
    signup = reverse("api:alert-digests")
    good = {"email": "a@b.example", "target": "/feeds/alerts/jurisdictions/US/"}
    for bad, field in [({**good, "email": "nope"}, "email"),
                       ({**good, "target": "/feeds/changes/"}, "target"),
                       ({**good, "frequency": "hourly"}, "frequency"),
                       ({**good, "email": "a\x00@b.example"}, "email")]:
        response = client.post(signup, bad, content_type="application/json")
        assert response.status_code == 400, response.content
        assert field in response.json()["errors"]
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            assert client.post(signup, good, content_type="application/json"
                               ).status_code == 202
    assert len(smtp) == settings.ALERTS_SIGNUPS_PER_ADDRESS  # per address, silently
    for _ in range(10):
        last = client.post(signup, {**good, "email": "c@d.example"},
                           content_type="application/json")
    assert last.status_code == 429  # per client
    cache.clear()


def test_staff_read_the_outbox_subscriptions_and_digests_in_the_admin(states, account,
                                                                       admin_client):
    from alerts.models import Delivery, EmailSubscription, Subscription

    enact(account("ana", "editor"), states["bill"], states["today"])
    ngo = account("ngo")
    sub = Subscription.objects.create(user=ngo.user, url="https://hooks.example/x",
                                      target="/feeds/alerts/jurisdictions/US/",
                                      target_kind="jurisdiction")
    EmailSubscription.objects.create(email="a@b.example", target=sub.target,
                                     target_kind="jurisdiction", frequency="daily")
    from alerts.tasks import dispatch
    dispatch.call()
    for model in (Alert, Subscription, Delivery, EmailSubscription):
        name = f"admin:alerts_{model._meta.model_name}"
        assert admin_client.get(reverse(name + "_changelist")).status_code == 200
        row = model.objects.first()
        assert admin_client.get(reverse(name + "_change", args=[row.pk])).status_code == 200


def test_a_feed_costs_the_same_queries_for_one_and_many_alerts(states, account, client,
                                                              count_queries):
    ana = account("ana", "editor")
    feed_path = reverse("alerts:jurisdiction-feed", kwargs={"code": "US"})
    enact(ana, states["bill"], states["today"])
    one, response = count_queries(client.get, feed_path)
    assert response.status_code == 200
    step = StatusEvent.objects.get(instrument=states["law"])
    for day in ("2019-01-01", "2018-01-01", "2017-01-01"):
        patch(ana, "status-event", {"pk": step.pk}, {"date": day})
    many, response = count_queries(client.get, feed_path)
    assert len(assert_valid_atom(response.content).findall(f"{ATOM}entry")) == 8
    assert one == many <= 8



def test_an_alert_title_always_fits_its_column():
    """A cell with a long pending list (or a long name) gives a title longer than the column;
    it is cut, so that PostgreSQL never refuses the write that caused the alert (found by CI's
    PostgreSQL pass: a write raised "value too long for type character varying(500)")."""
    from alerts.changes import CoverageChange
    from alerts.outbox import TITLE_LENGTH, coverage_title, fitted

    pending = [f"us-ca-bill-{n:04d}-a-long-slug-of-a-pending-proposal" for n in range(20)]
    change = CoverageChange(Timing.CURRENT, datetime.date(2026, 12, 4), None,
                            {"value": "none", "pending": []},
                            {"value": "none", "pending": pending})
    title = coverage_title("US-CA", "California", "ai_generated_explicit", "applicable", change)
    assert len(title) > TITLE_LENGTH
    cut = fitted(title)
    assert len(cut) == TITLE_LENGTH and cut.endswith("…") and cut.startswith(title[:100])
    assert fitted("short") == "short"
