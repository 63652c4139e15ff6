"""Concurrent writers on PostgreSQL (issue 7): 20 clients update the same instrument through the
API with ``If-Match``. Exactly one write per version lands, the others get 412, the history holds
every landed write, and nothing is lost.

The writers are real concurrent clients of a real server: gunicorn (4 workers x 5 threads, so all
20 requests are in flight at once) on a PostgreSQL database of its own, each client a thread with
its own connection and the editor's token (``Authorization: Token``). The contract under test is
jurisdictions/api/writes.py: ``ETag: "<id>-<version>"`` on a GET, ``PATCH`` with ``If-Match``,
412 naming the current ETag when another writer got there first.

Skipped on SQLite: it serialises writers with a database-wide lock, so it cannot show that the
conditional UPDATE decides between simultaneous writers.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from collections import Counter
from urllib.parse import urlsplit

import pytest

from loadtest import server as srv

ON_POSTGRES = srv.on_postgres()
CLIENTS = 20
ROUNDS = 5  # lock-step rounds: all 20 writers hold the same ETag
WRITES_EACH = 3  # then free-for-all: each writer retries until 3 of its writes have landed
SLUG = "kr-concurrency-act"

pytestmark = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="concurrent writers need PostgreSQL (row-level conditional UPDATEs); SQLite "
    "serialises every write. CI runs this in its PostgreSQL pass.",
)

SETUP = f"""
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from jurisdictions.models import Instrument, Jurisdiction
kr = Jurisdiction.objects.create(code="KR", name="Korea, Republic of", kind="country",
                                 research_status="in_progress")
Instrument.objects.create(jurisdiction=kr, slug="{SLUG}", instrument_type="statute",
                          title="A statute edited by twenty people at once")
editor = User.objects.create_user("editor-concurrency", password="not-used-here-7Qx")
editor.groups.add(Group.objects.get(name="editor"))
print(Token.objects.create(user=editor).key)
"""


@pytest.fixture(scope="module")
def writable_api(tmp_path_factory):
    """gunicorn (DEBUG off, 4 x 5 threads) on a migrated PostgreSQL database holding one
    instrument; yields ``(server, token, database_url)``."""
    url = srv.postgres_url(f"lt_concurrency_{os.getpid()}")
    srv.require_postgres(url)  # raises, never skips, when PostgreSQL is named but unusable
    tmp = tmp_path_factory.mktemp("concurrency")
    env = srv.production_env(
        url,
        STATIC_ROOT=str(tmp / "static"),
        STATIC_MANIFEST="0",
        SECURE_SSL_REDIRECT="0",
        WEB_CONCURRENCY="4",
        GUNICORN_THREADS="5",
        GUNICORN_ACCESS_LOG="off",
    )

    def setup(env):  # the instrument and the editor's token
        return srv.manage(env, "shell", "-c", SETUP, timeout=120).stdout.strip().splitlines()[-1]

    with srv.serving(url, env, tmp / "gunicorn.log", setup) as (server, token):
        yield server, token, url


def call(method: str, url: str, token: str, body: dict | None = None,
         if_match: str | None = None) -> tuple[int, dict, dict]:
    """``(status, headers, JSON body)`` of one request with the editor's token."""
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if if_match is not None:
        headers["If-Match"] = if_match
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"{}")


def history(database_url: str) -> list[tuple[int, str, str]]:
    """``(version, notes, history_type)`` of every history record of the instrument, oldest
    first, read from the database itself."""
    import psycopg

    parts = urlsplit(database_url)
    with psycopg.connect(host=parts.hostname, port=parts.port or 5432,
                         user=parts.username or "postgres", password=parts.password or None,
                         dbname=parts.path.lstrip("/"), connect_timeout=5) as conn:
        return conn.execute(
            "SELECT version, notes, history_type FROM jurisdictions_historicalinstrument "
            "WHERE slug = %s ORDER BY history_id", [SLUG]
        ).fetchall()


def test_twenty_writers_one_version_one_winner(writable_api):
    server, token, database_url = writable_api
    url = f"{server.url}/api/v1/instruments/{SLUG}/"
    status, headers, first = call("GET", url, token)
    assert status == 200, first
    row_id = headers["ETag"].strip('"').rsplit("-", 1)[0]
    start_version = version_of(headers["ETag"])

    landed: list[tuple[int, str]] = []  # (version written, notes)
    refused: Counter = Counter()
    other: list = []
    lock = threading.Lock()

    # --- lock-step rounds: every writer read the same version --------------------------------
    for round_ in range(ROUNDS):
        _, headers, _ = call("GET", url, token)
        etag = headers["ETag"]
        barrier = threading.Barrier(CLIENTS)
        results: list[tuple[int, dict, dict, str]] = []

        def writer(n: int) -> None:
            notes = f"round {round_} writer {n}"
            barrier.wait(timeout=60)
            status, headers, body = call("PATCH", url, token, {"notes": notes}, if_match=etag)
            with lock:
                results.append((status, headers, body, notes))

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        statuses = Counter(status for status, *_ in results)
        assert statuses == {200: 1, 412: CLIENTS - 1}, (round_, statuses, results[:3])
        for status, headers, body, notes in results:
            if status == 200:
                version = version_of(headers["ETag"])
                assert version == version_of(etag) + 1
                assert body["notes"] == notes
                landed.append((version, notes))
            else:
                # The 412 names the version that won, so the loser can re-read it.
                assert body["current_etag"] == f'"{row_id}-{version_of(etag) + 1}"'
                refused[round_] += 1

    # --- free-for-all: each writer retries on 412 until WRITES_EACH of its writes landed ------
    def persistent_writer(n: int) -> None:
        done = attempts = 0
        while done < WRITES_EACH and attempts < 200:
            attempts += 1
            _, headers, _ = call("GET", url, token)
            notes = f"free writer {n} write {done}"
            status, headers, body = call("PATCH", url, token, {"notes": notes},
                                         if_match=headers["ETag"])
            with lock:
                if status == 200:
                    landed.append((version_of(headers["ETag"]), notes))
                    done += 1
                elif status == 412:
                    refused["free"] += 1
                else:
                    other.append((status, body))

    threads = [threading.Thread(target=persistent_writer, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not other, other[:5]
    assert refused["free"] > 0  # the writers did collide

    # --- nothing lost ------------------------------------------------------------------------
    expected_writes = ROUNDS + CLIENTS * WRITES_EACH
    assert len(landed) == expected_writes
    versions = sorted(v for v, _ in landed)
    # One write per version: every version from start+1 to the last, each exactly once.
    assert versions == list(range(start_version + 1, start_version + expected_writes + 1))
    _, headers, final = call("GET", url, token)
    assert version_of(headers["ETag"]) == versions[-1]
    assert final["notes"] == dict(landed)[versions[-1]]  # the last landed write is what is read

    records = history(database_url)
    changes = [(v, notes) for v, notes, kind in records if kind == "~"]
    assert sorted(changes) == sorted(landed)  # every landed write, once, with its text
    assert records[0][2] == "+" and len(records) == expected_writes + 1
    print(f"\nconcurrency: {len(landed)} writes landed (versions {versions[0]}-{versions[-1]}), "
          f"{sum(refused.values())} refused with 412 ({CLIENTS - 1} per lock-step round x "
          f"{ROUNDS}, {refused['free']} in the free-for-all), {len(records)} history records")


def version_of(etag: str) -> int:
    return int(etag.strip().strip('"').rsplit("-", 1)[1])

