#!/usr/bin/env python
"""``make bench SCALE=small|medium|large``: lawtracker side by side with the floor and Datasette.

For the scale and each database (SQLite always; PostgreSQL too when ``DATABASE_URL`` points at
one), and for each scenario (:data:`SCENARIOS`), it measures in one run:

- **lawtracker in-process**: the median of repeated requests through Django's test client, and
  the queries per request;
- **lawtracker over HTTP**: gunicorn (one sync worker) on a free loopback port, the median of
  repeated requests (a new connection each, the whole body read), and for the export the growth
  of the worker's peak resident memory (``VmHWM`` reset through ``/proc/PID/clear_refs``);
- **the floor**: one hand-written SQL query producing the same rows, serialised with the
  standard library (``bench/floor.py``), in-process;
- **Datasette** serving the same SQLite file over HTTP (its own venv, ``bench/.venv``), running
  the floor's SQL where the scenario is one query, and streaming the export as CSV.

Ratios: ``ratio_floor`` = lawtracker in-process / floor (both in-process);
``ratio_datasette`` = lawtracker over HTTP / Datasette (both over HTTP, same machine, same
data: the PostgreSQL row is compared with Datasette on the SQLite copy of the same data).

It prints the table and writes ``bench/results.json`` (rows of other scales and databases kept,
this run's replaced). Databases are made once per scale and kept: ``var/bench/<scale>.sqlite3``
and, on PostgreSQL, ``<database in DATABASE_URL>_<scale>`` (the database named in
``DATABASE_URL`` itself is never touched). Every loop is bounded in count and in time; HTTP goes
to 127.0.0.1 only.
"""
from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
VAR = ROOT / "var" / "bench"
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
DATASETTE = BENCH / ".venv" / "bin" / "datasette"
RESULTS = BENCH / "results.json"
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

import floor  # noqa: E402

AS_OF = "2026-06-30"
COVERS = "possession"
WITHIN = "US"
STATUSES = "adopted,in_force,partially_in_force"
DETAIL_CODE = "US-CA"
GAPS_CRITERION = "possession"
PAGE_SIZE = 50

# Per measurement: at most this many timed runs, and no new run once this many seconds passed
# (at least one timed run after the warm-up).
MAX_RUNS = int(os.environ.get("BENCH_MAX_RUNS", "7"))
BUDGET_S = float(os.environ.get("BENCH_BUDGET_S", "20"))
HTTP_TIMEOUT_S = 1800
# A first request slower than this is measured once, not repeated.
SLOW_MS = float(os.environ.get("BENCH_SLOW_S", "30")) * 1000
# A request projected (linearly, from the previous scale's result) to take longer than this is
# not made at all: the row says so.
SKIP_PROJECTED_S = float(os.environ.get("BENCH_SKIP_PROJECTED_S", "900"))

# scenario -> (targets as (ratio key, limit)), and whether peak memory counts.
TARGETS = {
    "list": [("ratio_datasette", 1.0), ("ratio_floor", 3.0)],
    "detail": [("ratio_datasette", 1.0), ("ratio_floor", 3.0)],
    "compare": [("ratio_floor", 3.0)],
    # Issue 12: read from the spans; the floor reads the same spans by index.
    "compare_compact": [("ratio_floor", 3.0)],
    "gaps": [("ratio_floor", 3.0)],
    "export": [("ratio_datasette", 1.0)],
    # Issue 12: coverage over time, read from the spans; the floor reads the same spans by index.
    "history": [("ratio_floor", 3.0)],
    "changes": [("ratio_floor", 3.0)],
    "fanout": [],  # a write: no floor; met when it takes <= 1 s (combine)
}
TARGET_TEXT = {
    "list": "<=1.0x Datasette, <=3x floor, queries same at page_size 50 and 200",
    "detail": "<=1.0x Datasette, <=3x floor",
    "compare": "<=3x floor",
    "compare_compact": "<=3x floor (spans), <=300 ms and <=5 MB at the large scale",
    "gaps": "<=3x floor (spans), <=100 ms at the large scale",
    "export": "<=1.0x Datasette, peak growth <100 MB",
    "history": "<=3x floor (spans of US and its states, streamed CSV)",
    "changes": "<=3x floor (countries whose value changed)",
    "fanout": "<=1 s (a US federal step saved: every state re-derived)",
}
# Coverage over time (issue 12).
HISTORY_WITHIN = "US"
CHANGES_FROM = "2020-01-01"
# BENCH_SCENARIOS=list,detail runs only those (to try a change quickly; make bench runs all).
SCENARIOS = [n for n in TARGETS
             if n in os.environ.get("BENCH_SCENARIOS", ",".join(TARGETS)).split(",")]


# --- small helpers --------------------------------------------------------------------------
def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(fn, max_runs=MAX_RUNS, budget=BUDGET_S, first_ms=None) -> tuple[float, int]:
    """Median wall time of ``fn()`` in ms after one warm-up run; returns (median ms, runs).

    ``first_ms``: the time of a warm-up already made by the caller. A warm-up slower than
    :data:`SLOW_MS` is the measurement (one run): repeating a request of minutes would take
    the run past any reasonable bound.
    """
    if first_ms is None:
        t0 = time.perf_counter()
        fn()
        first_ms = (time.perf_counter() - t0) * 1000
    if first_ms > SLOW_MS:
        return first_ms, 1
    times = []
    started = time.perf_counter()
    while len(times) < max_runs and (not times or time.perf_counter() - started < budget):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), len(times)


def measure_pair(fa, fb, first_a_ms: float, max_runs=MAX_RUNS, budget=BUDGET_S):
    """Medians of ``fa()`` and ``fb()`` timed alternately (a, b, a, b, …), so that both see the
    same load on a shared machine; both are warmed up first (``fa`` by the caller, whose time
    is ``first_a_ms``). Returns ``(ms a, ms b, runs)``. When ``fa`` is slower than SLOW_MS, its
    warm-up is its measurement and ``fb`` is timed once right after."""
    fb()
    if first_a_ms > SLOW_MS:
        t0 = time.perf_counter()
        fb()
        return first_a_ms, (time.perf_counter() - t0) * 1000, 1
    times_a, times_b = [], []
    started = time.perf_counter()
    while len(times_a) < max_runs and (
            not times_a or time.perf_counter() - started < budget):
        for fn, times in ((fa, times_a), (fb, times_b)):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times_a), statistics.median(times_b), len(times_a)


def paths(ctx: dict) -> dict[str, str]:
    """The lawtracker request of each scenario."""
    return {
        "list": f"/api/v1/instruments/?status={STATUSES}&covers={COVERS}&within={WITHIN}"
                f"&as_of={AS_OF}&page_size={PAGE_SIZE}",
        "list_200": f"/api/v1/instruments/?status={STATUSES}&covers={COVERS}&within={WITHIN}"
                    f"&as_of={AS_OF}&page_size=200",
        "detail": f"/api/v1/jurisdictions/{DETAIL_CODE.lower()}/?as_of={AS_OF}",
        "compare": f"/api/v1/compare/?jurisdictions={','.join(ctx['countries'])}"
                   f"&criteria={','.join(ctx['criteria'])}&as_of={AS_OF}",
        "compare_compact": f"/api/v1/compare/?kind=country&criteria={','.join(ctx['criteria'])}"
                           f"&as_of={AS_OF}&shape=compact",
        "gaps": f"/api/v1/gaps/?criterion={GAPS_CRITERION}&kind=country&as_of={AS_OF}",
        "export": f"/api/v1/instruments/?format=csv&as_of={AS_OF}",
        "history": f"/api/v1/coverage-history/?within={HISTORY_WITHIN}&format=csv",
        "changes": f"/api/v1/coverage-changes/?from={CHANGES_FROM}&to={AS_OF}&kind=country"
                   f"&criterion={GAPS_CRITERION}&scope=applicable",
        "fanout": "",  # a write, measured in-process (worker)
    }


def floor_params(ctx: dict) -> dict[str, dict]:
    return {
        "list": {"within": WITHIN, "covers": COVERS, "as_of": AS_OF, "page_size": PAGE_SIZE},
        "detail": {"code": DETAIL_CODE, "as_of": AS_OF, "criteria": ctx["criteria"]},
        "compare": {"as_of": AS_OF, "criteria": ctx["criteria"]},
        "compare_compact": {"as_of": AS_OF, "criteria": ctx["criteria"]},
        "gaps": {"as_of": AS_OF, "criterion": GAPS_CRITERION},
        "export": {"as_of": AS_OF, "criterion_ids": ctx["criterion_ids"]},
        "history": {"within": HISTORY_WITHIN},
        "changes": {"criterion": GAPS_CRITERION, "date_from": CHANGES_FROM, "date_to": AS_OF},
        "fanout": {},
    }


def sql_params(params: dict) -> dict:
    """Only the scalar parameters go to the database."""
    return {k: v for k, v in params.items() if isinstance(v, (str, int))}


def bench_env(url: str) -> dict:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": url, "DEBUG": "0", "SECRET_KEY": "bench-only-not-secret",
        "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost", "CONN_MAX_AGE": "60",
        "DJANGO_SETTINGS_MODULE": "lawtracker.settings", "LOG_LEVEL": "ERROR",
        # Plain HTTP on loopback, one client sending hundreds of requests: no redirect to
        # HTTPS, no anonymous throttle (production defaults of settings.py otherwise).
        "SECURE_SSL_REDIRECT": "0", "API_ANON_RATE": "1000000/minute",
        "PYTHONPATH": str(ROOT),
    })
    return env


# --- databases ------------------------------------------------------------------------------
def databases(scale: str) -> list[tuple[str, str]]:
    """``[(vendor, DATABASE_URL)]`` for this scale."""
    out = [("sqlite", f"sqlite:///{VAR / f'{scale}.sqlite3'}")]
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        parts = urllib.parse.urlsplit(url)
        name = parts.path.lstrip("/") or "lawtracker"
        out.append(("postgresql", urllib.parse.urlunsplit(
            parts._replace(path=f"/{name}_{scale}"))))
    return out


def manage(url: str, *args, check=True, timeout=7200) -> subprocess.CompletedProcess:
    env = bench_env(url)
    env["DEBUG"] = "1"
    return subprocess.run([str(PYTHON), "manage.py", *args], cwd=ROOT, env=env, check=check,
                          timeout=timeout, text=True, capture_output=True)


def prepare(vendor: str, url: str, scale: str) -> None:
    """Create the scale's database once (migrate, seed_synthetic); on every run migrate (new
    migrations), then on PostgreSQL VACUUM ANALYZE (what autovacuum does after a bulk load),
    on SQLite no statistics (what a fresh lawtracker SQLite file has)."""
    VAR.mkdir(parents=True, exist_ok=True)
    if vendor == "sqlite":
        path = VAR / f"{scale}.sqlite3"
        if not path.exists():
            tmp = path.with_suffix(".sqlite3.tmp")
            tmp.unlink(missing_ok=True)
            tmp_url = f"sqlite:///{tmp}"
            log(f"[{vendor}] creating {path.name}: migrate + seed_synthetic --scale {scale}")
            manage(tmp_url, "migrate", "--noinput", "-v0")
            seeded = manage(tmp_url, "seed_synthetic", "--scale", scale)
            (VAR / f"seed-{scale}-{vendor}.log").write_text(seeded.stdout)
            os.replace(tmp, path)
        manage(url, "migrate", "--noinput", "-v0")
        manage(url, "seed_synthetic", "--scale", scale)  # idempotent: checks the count
        manage(url, "rebuild_spans", "--if-empty")  # a database made before the spans
        import sqlite3
        # No planner statistics: lawtracker never runs ANALYZE on SQLite, and with them SQLite
        # picks a plan for coverage's citation query that is ~50x slower (bench/FINDINGS.md).
        with sqlite3.connect(path, timeout=120) as conn:
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone():
                conn.execute("DELETE FROM sqlite_stat1")
        return
    import psycopg  # the project's requirement

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            log(f"[{vendor}] creating {name}: migrate + seed_synthetic --scale {scale}")
            conn.execute(f'DROP DATABASE IF EXISTS "{name}_tmp"')
            conn.execute(f'CREATE DATABASE "{name}_tmp"')
            tmp_url = urllib.parse.urlunsplit(parts._replace(path=f"/{name}_tmp"))
            manage(tmp_url, "migrate", "--noinput", "-v0")
            seeded = manage(tmp_url, "seed_synthetic", "--scale", scale)
            (VAR / f"seed-{scale}-{vendor}.log").write_text(seeded.stdout)
            conn.execute(f'ALTER DATABASE "{name}_tmp" RENAME TO "{name}"')
    manage(url, "migrate", "--noinput", "-v0")
    manage(url, "seed_synthetic", "--scale", scale)
    manage(url, "rebuild_spans", "--if-empty")  # a database made before the spans
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


# --- in-process worker (a child process per database: Django is configured once) ----------
def context() -> dict:
    """What the scenarios' requests name, read from the database (Django set up): every
    country, every criterion not retired, the instruments' count."""
    from jurisdictions.models import Criterion, Instrument, Jurisdiction

    return {
        "countries": list(Jurisdiction.objects.filter(kind="country").order_by("code")
                          .values_list("code", flat=True)),
        "criteria": list(Criterion.objects.filter(retired=False).values_list("slug", flat=True)),
        "criterion_ids": list(Criterion.objects.filter(retired=False)
                              .values_list("pk", "slug")),
        "instrument_count": Instrument.objects.count(),
    }


def worker(url: str, vendor: str, out_path: str, skip_json: str = "{}") -> None:
    skip = json.loads(skip_json)
    os.environ.update(bench_env(url))
    import tracemalloc

    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    ctx = context()
    client = Client()
    urls = paths(ctx)
    params = floor_params(ctx)
    result = {"ctx": ctx, "scenarios": {}}

    def get(path):
        response = client.get(path)
        if response.streaming:
            body = b"".join(response.streaming_content)
        else:
            body = response.content
        return response.status_code, body

    def queries(path) -> int:
        with CaptureQueriesContext(connection) as captured:
            get(path)
        return len(captured)

    connection.ensure_connection()
    for name in SCENARIOS:
        log(f"[{vendor}] in-process: {name}")
        row: dict = {"notes": []}
        if name == "fanout":
            row.update(fanout())
            result["scenarios"][name] = row
            continue
        raw = connection.connection
        fn = getattr(floor, f"{name}_floor")
        p = {**params[name]}

        def run_floor():
            try:
                return fn(raw, vendor, p)
            finally:
                if vendor == "postgresql":
                    raw.rollback()  # end the read transaction psycopg opened

        try:
            _, facts = run_floor()
        except Exception as exc:  # a floor query that fails is reported, not fatal
            row["notes"].append(f"floor failed: {exc!r}"[:300])
            facts = None
        status = None
        if name in skip:
            row["notes"].append(skip[name])
        else:
            # The warm-up is also the run whose queries are counted.
            t0 = time.perf_counter()
            with CaptureQueriesContext(connection) as captured:
                status, body = get(urls[name])
            first_ms = (time.perf_counter() - t0) * 1000
            if status != 200:
                row["notes"].append(f"lawtracker answered HTTP {status}: {body[:200]!r}")
            else:
                row["queries"] = len(captured)
                row["bytes"] = len(body)
                if facts is not None:
                    row["lawtracker_ms"], row["floor_ms"], row["runs"] = measure_pair(
                        lambda: get(urls[name]), run_floor, first_ms)
                else:
                    row["lawtracker_ms"], row["runs"] = measure(lambda: get(urls[name]),
                                                                first_ms=first_ms)
                if row["runs"] == 1:
                    row["notes"].append(f"one run ({first_ms / 1000:.0f} s)")
                if name == "list":
                    row["queries_page_200"] = queries(urls["list_200"])
                if name == "export" and first_ms < SLOW_MS:
                    tracemalloc.start()
                    get(urls[name])
                    row["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
                    tracemalloc.stop()
        if "floor_ms" not in row and facts is not None:
            row["floor_ms"], row["floor_runs"] = measure(run_floor)
        row["status"] = status
        if status == 200 and facts is not None:
            row["notes"] += check(name, body, facts)
        result["scenarios"][name] = row
    Path(out_path).write_text(json.dumps(result, default=str))


def fanout() -> dict:
    """Save one step of the US federal instrument with the most steps, its date moved a day
    later, then back (two writes each time): the median time of one save, which re-derives the
    coverage spans of the US and every US state in the same transaction. Then checks the spans
    of the US and two states against a whole derivation."""
    import datetime as dt

    from django.db import connection
    from django.db.models import Count
    from django.test.utils import CaptureQueriesContext

    from jurisdictions.models import Instrument, Jurisdiction
    from spans.check import differences

    instrument = (Instrument.objects.filter(jurisdiction__code="US")
                  .annotate(n=Count("status_events")).order_by("-n", "pk").first())
    if instrument is None:
        return {"notes": ["no US federal instrument"], "status": None}
    step = instrument.status_events.order_by("date", "pk").last()
    original = step.date

    def move(days):
        step.date = original + dt.timedelta(days=days)
        step.save()

    times = []
    with CaptureQueriesContext(connection) as captured:
        move(1)
    queries = len(captured)
    move(0)
    for _ in range(MAX_RUNS):
        for days in (1, 0):
            t0 = time.perf_counter()
            move(days)
            times.append((time.perf_counter() - t0) * 1000)
    states = Jurisdiction.objects.filter(parent__code="US").count()
    codes = ["US", *Jurisdiction.objects.filter(parent__code="US").order_by("code")
             .values_list("code", flat=True)[:2]]
    # The stored spans against a whole derivation (what a write must keep): checking every
    # span against `compute` as well (`rules=True`) costs one computation per span boundary,
    # over half an hour for the US at the large scale; the tests hold the derivation to the
    # rules.
    found = differences(codes=codes, rules=False)
    notes = [f"{instrument.slug}: 1 + {states} jurisdictions re-derived per save",
             "spans checked: " + ("no difference" if not found else found[0][:150])]
    return {"lawtracker_ms": statistics.median(times), "runs": len(times), "queries": queries,
            "notes": notes, "status": None}


def check(name: str, body: bytes, facts: dict) -> list[str]:
    """Compare the floor's answer with lawtracker's: the same rows, the same values."""
    try:
        if name == "history":
            import csv
            import io
            lines = sum(1 for _ in csv.reader(io.StringIO(body.decode("utf-8-sig")))) - 1
            return [f"{lines} spans"] if lines == facts["count"] else [
                f"span count differs: lawtracker {lines}, floor {facts['count']}"]
        if name == "export":
            import csv
            import io
            lines = sum(1 for _ in csv.reader(io.StringIO(body.decode("utf-8-sig")))) - 1
            same = lines == facts["count"]
            return [] if same else [f"row count differs: lawtracker {lines}, floor "
                                    f"{facts['count']}"]
        data = json.loads(body)
        if name == "list":
            slugs = [r["slug"] for r in data["results"]]
            if data["count"] != facts["count"] or slugs != facts["slugs"]:
                return [f"page differs: lawtracker count {data['count']}, floor {facts['count']}; "
                        f"same slugs: {slugs == facts['slugs']}"]
            return [f"{data['count']} matching instruments"]
        if name == "detail":
            values = {k: v["value"] for k, v in data["coverage"].items()}
            diff = [k for k in values if values[k] != facts["values"].get(k)]
            return [f"coverage values differ for {diff}"] if diff else []
        if name in ("compare", "compare_compact"):
            values = {(r["jurisdiction"]["code"], slug): cell["value"]
                      for r in data["rows"] for slug, cell in r["cells"].items()}
            diff = sum(1 for k, v in values.items() if facts["values"].get(k) != v)
            return [f"{diff} of {len(values)} cells differ from the floor"] if diff else [
                f"{len(values)} cells, all equal to the floor's"]
        if name == "changes":
            same = data["count"] == facts["count"]
            return [f"{data['count']} cells changed" + ("" if same else
                                                         f" vs floor {facts['count']}")]
        if name == "gaps":
            same = data["counts"] == facts["counts"]
            return [f"counts {data['counts']}" + ("" if same else f" vs floor {facts['counts']}")]
    except Exception as exc:
        return [f"check failed: {exc!r}"[:200]]
    return []


# --- HTTP ---------------------------------------------------------------------------------
def http_get(port: int, path: str) -> tuple[int, int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT_S)
    try:
        conn.request("GET", path, headers={"Host": "127.0.0.1"})
        response = conn.getresponse()
        size = 0
        while chunk := response.read(1 << 16):
            size += len(chunk)
        return response.status, size
    finally:
        conn.close()


def wait_ready(port: int, path: str, proc, limit_s=90) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            status, _ = http_get(port, path)
            if status < 500:
                return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def stop(proc) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def proc_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


class Datasette:
    """Datasette serving the SQLite file on a free loopback port, and its request for each
    scenario: the floor's SQL for list, detail, compare and gaps; the floor's export query as
    streamed CSV, or the instruments table streamed when a query cannot stream."""

    def __init__(self, path: Path, ctx: dict):
        self.requests: dict[str, str] = {}
        self.notes: dict[str, str] = {}
        self.proc = None
        if not DATASETTE.exists():
            self.notes = {n: "Datasette not installed (bench/.venv)" for n in SCENARIOS}
            return
        self.port = free_port()
        self.logfile = open(VAR / "datasette.log", "a")
        self.proc = subprocess.Popen(
            [str(DATASETTE), "serve", "-i", str(path), "-h", "127.0.0.1", "-p", str(self.port),
             "--setting", "sql_time_limit_ms", str(HTTP_TIMEOUT_S * 1000),
             "--setting", "max_returned_rows", "1000000",
             "--setting", "max_csv_mb", "0",
             "--setting", "num_sql_threads", "1"],
            stdout=self.logfile, stderr=subprocess.STDOUT,
        )
        if not wait_ready(self.port, "/-/versions.json", self.proc):
            self.notes = {n: "Datasette did not start (see var/bench/datasette.log)"
                          for n in SCENARIOS}
            self.close()
            return
        db = path.stem
        params = floor_params(ctx)

        def query(sql: str, p: dict, fmt="json", extra=()) -> str:
            q = [("sql", sql), *[(k, str(v)) for k, v in sql_params(p).items()], *extra]
            if fmt == "json":
                q.append(("_shape", "array"))
            return f"/{db}.{fmt}?" + urllib.parse.urlencode(q)

        json_cols = [("_json", c) for c in ("events", "identifiers", "assessments", "sources",
                                            "memberships")]
        self.requests = {
            "list": query(floor.list_sql("sqlite"), params["list"], extra=json_cols),
            "detail": query(floor.detail_sql("sqlite"), params["detail"], extra=json_cols),
            "compare": query(floor.compare_sql("sqlite"), params["compare"], extra=json_cols),
            "compare_compact": query(floor.compare_compact_sql("sqlite"),
                                     params["compare_compact"]),
            "gaps": query(floor.gaps_spans_sql("sqlite"), params["gaps"]),
            "export": query(floor.export_sql("sqlite", ctx["criterion_ids"]), params["export"],
                            fmt="csv", extra=[("_stream", "on")]),
        }
        # Can Datasette stream the export query whole? (A query's CSV may stop at
        # max_returned_rows; tables always stream.) Count its lines once.
        lines = self.lines(self.requests["export"])
        if lines is not None and lines - 1 >= ctx["instrument_count"]:
            self.notes["export"] = "Datasette: the floor's export query, streamed as CSV"
        else:
            self.requests["export"] = (f"/{db}/jurisdictions_instrument.csv?_stream=on"
                                       f"&_size=max&_labels=on")
            self.notes["export"] = (f"Datasette: the instruments table streamed with labels "
                                    f"(the query's CSV gave {lines} lines)")

    def lines(self, path: str) -> int | None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT_S)
        try:
            conn.request("GET", path, headers={"Host": "127.0.0.1"})
            response = conn.getresponse()
            if response.status != 200:
                return None
            count = 0
            while chunk := response.read(1 << 16):
                count += chunk.count(b"\n")
            return count
        finally:
            conn.close()

    def get(self, name: str) -> tuple[int, int]:
        return http_get(self.port, self.requests[name])

    def close(self):
        if self.proc is not None:
            stop(self.proc)
            self.logfile.close()
            self.proc = None


def lawtracker_http(url: str, urls: dict[str, str], ok: set[str],
                    ds: Datasette | None) -> dict[str, dict]:
    """Each scenario over HTTP, requests to lawtracker (gunicorn) and to Datasette alternating
    so that both see the same load; the export's peak memory growth of the gunicorn worker."""
    port = free_port()
    logfile = open(VAR / "gunicorn.log", "a")
    proc = subprocess.Popen(
        [str(GUNICORN), "lawtracker.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--timeout", str(HTTP_TIMEOUT_S), "--log-level", "warning"],
        cwd=ROOT, env=bench_env(url), stdout=logfile, stderr=subprocess.STDOUT,
    )
    out: dict[str, dict] = {}
    try:
        started = wait_ready(port, "/api/v1/", proc)
        for name in SCENARIOS:
            row: dict = {"notes": [ds.notes[name]] if ds and name in ds.notes else []}
            out[name] = row
            has_ds = bool(ds and name in ds.requests)
            if name not in ok or not started:
                if not started:
                    row["notes"].append("gunicorn did not start (see var/bench/gunicorn.log)")
                if has_ds:
                    row["datasette_ms"], row["datasette_runs"] = measure(lambda: ds.get(name))
                continue
            log(f"  http: {name}")
            workers = children(proc.pid)
            pid = workers[0] if workers else None
            before = proc_kb(pid, "VmRSS") if pid else 0
            if pid:
                try:
                    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM
                except OSError:
                    pass
            # The first request is the warm-up, and the one whose peak memory is read.
            t0 = time.perf_counter()
            status, _ = http_get(port, urls[name])
            first_ms = (time.perf_counter() - t0) * 1000
            if pid and name == "export":
                row["peak_mb"] = (proc_kb(pid, "VmHWM") - before) / 1024
            if status != 200:
                row["notes"].append(f"over HTTP lawtracker answered {status}")
                continue
            if has_ds:
                row["http_ms"], row["datasette_ms"], row["http_runs"] = measure_pair(
                    lambda: http_get(port, urls[name]), lambda: ds.get(name), first_ms)
                row["datasette_runs"] = row["http_runs"]
            else:
                row["http_ms"], row["http_runs"] = measure(lambda: http_get(port, urls[name]),
                                                           first_ms=first_ms)
    finally:
        stop(proc)
        logfile.close()
    return out


# --- the run --------------------------------------------------------------------------------
def load_average() -> float:
    return os.getloadavg()[0]


def run(scale: str, only: list[str] | None) -> list[dict]:
    rows = []
    dbs = databases(scale)
    if only:
        dbs = [(v, u) for v, u in dbs if v in only]
    for vendor, url in dbs:
        prepare(vendor, url, scale)
    sqlite_path = VAR / f"{scale}.sqlite3"
    ds: Datasette | None = None
    try:
        for vendor, url in dbs:
            out_path = VAR / f"inprocess-{scale}-{vendor}.json"
            log(f"[{vendor}] {scale}: in-process measurements")
            skip = projected_skips(scale, vendor)
            subprocess.run([str(PYTHON), str(Path(__file__)), "--worker", url, vendor,
                            str(out_path), json.dumps(skip)], cwd=ROOT, env=bench_env(url),
                           check=True, timeout=4 * 3600)
            inproc = json.loads(out_path.read_text())
            ctx = inproc["ctx"]
            if ds is None:
                log(f"[datasette] {scale}: starting on {sqlite_path.name}")
                ds = Datasette(sqlite_path, ctx)
            ok = {n for n, r in inproc["scenarios"].items() if r.get("status") == 200}
            log(f"[{vendor}] {scale}: over HTTP (gunicorn, alternating with Datasette)")
            http = lawtracker_http(url, paths(ctx), ok, ds)
            for name in SCENARIOS:
                rows.append(combine(name, scale, vendor, inproc["scenarios"][name],
                                    http.get(name, {})))
    finally:
        if ds is not None:
            ds.close()
    return rows


def projected_skips(scale: str, vendor: str) -> dict[str, str]:
    """Scenarios whose lawtracker request, projected linearly (x10 per scale) from the largest
    smaller scale measured in results.json, would take longer than SKIP_PROJECTED_S, or that a
    smaller scale already skipped: {scenario: note}."""
    order = ["small", "medium", "large"]
    smaller = order[: order.index(scale)] if scale in order else []
    if not smaller or not RESULTS.exists():
        return {}
    rows = json.loads(RESULTS.read_text())
    skips = {}
    for name in SCENARIOS:
        for previous in reversed(smaller):
            row = next((r for r in rows if r.get("scale") == previous
                        and r.get("database") == vendor and r.get("scenario") == name), None)
            if row is None:
                continue
            ms = row.get("lawtracker_ms")
            factor = 10 ** (order.index(scale) - order.index(previous))
            if ms is None and "not run" in (row.get("note") or ""):
                skips[name] = f"not run: skipped at {previous} already (projected too long)"
            elif ms and ms * factor / 1000 > SKIP_PROJECTED_S:
                skips[name] = (
                    f"not run: {ms / 1000:.0f} s at {previous} projects to "
                    f"{ms * factor / 1000:.0f} s here (linear), over the "
                    f"{SKIP_PROJECTED_S:.0f} s bound"
                )
            break
    return skips


def ratio(a, b):
    return round(a / b, 2) if a and b else None


def combine(name, scale, vendor, inproc, http) -> dict:
    notes = list(inproc.get("notes", [])) + list(http.get("notes", []))
    row = {
        "scenario": name,
        "scale": scale,
        "database": vendor,
        "lawtracker_ms": round(inproc["lawtracker_ms"], 1) if "lawtracker_ms" in inproc else None,
        "lawtracker_http_ms": round(http["http_ms"], 1) if "http_ms" in http else None,
        "floor_ms": round(inproc["floor_ms"], 1) if "floor_ms" in inproc else None,
        "datasette_ms": round(http["datasette_ms"], 1) if "datasette_ms" in http else None,
        "queries": inproc.get("queries"),
        "peak_mb": round(http["peak_mb"], 1) if "peak_mb" in http else None,
        "target": TARGET_TEXT[name],
    }
    row["ratio_floor"] = ratio(row["lawtracker_ms"], row["floor_ms"])
    row["ratio_datasette"] = ratio(row["lawtracker_http_ms"], row["datasette_ms"])
    met = row["lawtracker_ms"] is not None
    if name == "fanout":
        met = met and row["lawtracker_ms"] <= 1000
    for key, limit in TARGETS[name]:
        met = met and row[key] is not None and row[key] <= limit
    if name == "list":
        row["queries_page_200"] = inproc.get("queries_page_200")
        met = met and row["queries"] == row["queries_page_200"]
    if name == "export":
        row["tracemalloc_peak_mb"] = round(inproc.get("tracemalloc_peak_mb") or 0, 1) or None
        met = met and row["peak_mb"] is not None and row["peak_mb"] < 100
    row["met"] = bool(met)
    row["runs"] = {"lawtracker": inproc.get("runs"), "http": http.get("http_runs"),
                   "floor": inproc.get("floor_runs") or inproc.get("runs"),
                   "datasette": http.get("datasette_runs")}
    row["note"] = "; ".join(notes)
    row["load_average"] = round(load_average(), 2)
    row["measured_at"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return row


def fmt(value, unit="") -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.1f}{unit}" if value < 1000 else f"{value:,.0f}{unit}"
    return f"{value}{unit}"


def table(rows: list[dict]) -> str:
    header = ["scenario", "scale", "database", "lawtracker ms", "http ms", "floor ms",
              "Datasette ms", "x floor", "x Datasette", "queries", "peak MB", "target", "met"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        lines.append("| " + " | ".join([
            r["scenario"], r["scale"], r["database"], fmt(r["lawtracker_ms"]),
            fmt(r["lawtracker_http_ms"]), fmt(r["floor_ms"]), fmt(r["datasette_ms"]),
            fmt(r["ratio_floor"]), fmt(r["ratio_datasette"]),
            fmt(r["queries"]) + (f"/{r['queries_page_200']}" if r.get("queries_page_200")
                                 is not None else ""),
            fmt(r["peak_mb"]), r["target"], fmt(r["met"]),
        ]) + " |")
    return "\n".join(lines)


def save(rows: list[dict]) -> list[dict]:
    kept = []
    if RESULTS.exists():
        try:
            kept = json.loads(RESULTS.read_text())
        except ValueError:
            kept = []
    done = {(r["scale"], r["database"], r["scenario"]) for r in rows}
    merged = [r for r in kept
              if (r.get("scale"), r.get("database"), r.get("scenario")) not in done] + rows
    order = {"small": 0, "medium": 1, "large": 2}
    merged.sort(key=lambda r: (order.get(r["scale"], 9), r["database"],
                               list(TARGETS).index(r["scenario"])))
    RESULTS.write_text(json.dumps(merged, indent=1) + "\n")
    return merged


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=["small", "medium", "large"], default="small")
    parser.add_argument("--database", action="append", choices=["sqlite", "postgresql"],
                        help="Only these databases (default: SQLite, and PostgreSQL when "
                             "DATABASE_URL points at one).")
    parser.add_argument("--worker", nargs=4, metavar=("URL", "VENDOR", "OUT", "SKIP"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(*args.worker)
        return 0
    if not shutil.which(str(GUNICORN)):
        log("gunicorn is missing from .venv: run make install")
        return 2
    started = time.monotonic()
    rows = run(args.scale, args.database)
    merged = save(rows)
    print(table(rows))
    print(f"\n{len(rows)} rows, {sum(r['met'] for r in rows)} targets met, "
          f"{time.monotonic() - started:.0f} s; load average {load_average():.2f}; "
          f"all results: {RESULTS.relative_to(ROOT)} ({len(merged)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
