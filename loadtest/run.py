"""Load and fault test (``make loadtest``): a mixed read load on gunicorn + PostgreSQL with the
seed data, and a PostgreSQL restart in the middle of it.

What it does, on loopback only, bounded in time (about 2 minutes with the defaults):

1. Creates a database of its own (``lt_loadtest``) on the local PostgreSQL, migrates it, loads the
   seed (``load_seed``) and collects static files into a temporary STATIC_ROOT.
2. Starts gunicorn with deploy/gunicorn.conf.py (DEBUG off, several sync workers, persistent
   health-checked connections: ``CONN_MAX_AGE=60``) on a free 127.0.0.1 port.
3. Runs ``--clients`` client threads for ``--duration`` seconds, each choosing requests from a
   weighted mix of API lists, details, timelines, compare, gaps, changes, CSV exports and the
   pages. Every answer is checked: a 200 must carry a body of its content type (JSON parses,
   CSV starts with its byte-order mark and header, HTML is a document); a 503 must carry a JSON
   body and ``Retry-After``.
4. At ``--restart-at`` seconds, restarts PostgreSQL with ``pg_ctlcluster … restart`` (fast
   shutdown: open sessions are terminated) and records when the database accepts connections
   again. gunicorn is not touched.
5. Prints and writes to ``loadtest/results.json``: requests, throughput, errors (in and outside
   the outage), latency p50/p90/p99/max of the answered requests and per endpoint, the outage
   (duration, what requests got during it, how fast they failed), the recovery time (the last
   failure's end after the database came back; 0 when the first request after it succeeded),
   and how many gunicorn workers were (re)booted.
6. Stops gunicorn and drops the database.

Exit status: 0 when the run meets the targets of issue 7 (no error outside the outage, every
failure during it a fast JSON 503, recovery within ``--recovery-target`` seconds), 1 otherwise,
2 when it could not run (no PostgreSQL).

Restarting PostgreSQL disrupts anything else using the local server for a few seconds: run it
deliberately, not from the test suite (``--no-restart`` skips the fault).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlencode

if __package__ in (None, ""):  # run as a script: python loadtest/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadtest import server as srv  # noqa: E402

HERE = Path(__file__).resolve().parent
# Sent with every request, as the TLS-terminating balancer would (SECURE_PROXY_SSL_HEADER=1):
# production settings stay on, HTTPS redirect included, without TLS on loopback.
HEADERS = {"X-Forwarded-Proto": "https", "Connection": "close"}


@dataclass
class Sample:
    """One request: which endpoint, when (seconds since the load started), how it went."""

    kind: str
    started: float
    seconds: float
    status: int  # 0: no HTTP answer (refused, reset, timed out)
    ok: bool
    problem: str = ""


# --- the mix ---------------------------------------------------------------------------------------

@dataclass
class Mix:
    """Weighted request kinds, each a function returning a path with its query."""

    entries: list[tuple[str, int, object]] = field(default_factory=list)

    def add(self, kind: str, weight: int, make) -> None:
        self.entries.append((kind, weight, make))

    def choose(self, rnd: random.Random) -> tuple[str, str]:
        kinds, weights, makers = zip(*self.entries)
        index = rnd.choices(range(len(kinds)), weights=weights)[0]
        return kinds[index], makers[index](rnd)


def fetch_json(base: str, path: str) -> dict:
    status, _, body = srv.get(base + path, timeout=30, headers=HEADERS)
    if status != 200:
        raise RuntimeError(f"{path}: {status} {body[:300]!r}")
    return json.loads(body)


def build_mix(base: str) -> Mix:
    """The request mix, with real keys read from the seeded server."""
    codes = [j["code"] for j in fetch_json(
        base, "/api/v1/jurisdictions/?research_status=reviewed&page_size=500")["results"]]
    slugs = [i["slug"] for i in fetch_json(base, "/api/v1/instruments/?page_size=500")["results"]]
    criteria = [c["slug"] for c in fetch_json(base, "/api/v1/criteria/")["results"]]
    try:
        events = [e["slug"] for e in fetch_json(base, "/api/v1/events/?page_size=500")["results"]]
    except RuntimeError as exc:  # reported, and the event details left out of the mix
        print(f"loadtest: no event details in the mix: {str(exc)[:200]}", file=sys.stderr)
        events = []
    if not (codes and slugs and criteria):
        raise RuntimeError("the seed is missing: no reviewed jurisdiction, instrument or criterion")
    dates = ["2020-06-30", "2023-01-01", "2024-12-31", ""]

    def q(path: str, **params) -> str:
        params = {k: v for k, v in params.items() if v not in ("", None)}
        return path + ("?" + urlencode(params, safe=",") if params else "")

    mix = Mix()
    # API collections and details.
    mix.add("api_list_jurisdictions", 6, lambda r: q(
        "/api/v1/jurisdictions/", research_status="reviewed", as_of=r.choice(dates)))
    mix.add("api_list_instruments", 6, lambda r: q(
        "/api/v1/instruments/", as_of=r.choice(dates), page=r.choice(["1", "2"])))
    mix.add("api_list_assessments", 4, lambda r: q(
        "/api/v1/assessments/", criterion=r.choice(criteria)))
    mix.add("api_list_status_events", 3, lambda r: "/api/v1/status-events/")
    mix.add("api_list_sources", 3, lambda r: q("/api/v1/sources/", search=r.choice(
        ["law", "europa", "act", ""])))
    mix.add("api_list_criteria", 2, lambda r: "/api/v1/criteria/")
    mix.add("api_detail_jurisdiction", 8, lambda r: q(
        f"/api/v1/jurisdictions/{r.choice(codes).lower()}/", as_of=r.choice(dates)))
    mix.add("api_detail_instrument", 8, lambda r: f"/api/v1/instruments/{r.choice(slugs)}/")
    mix.add("api_timeline", 3, lambda r: f"/api/v1/jurisdictions/{r.choice(codes)}/timeline/")
    if events:
        mix.add("api_detail_event", 2, lambda r: f"/api/v1/events/{r.choice(events)}/")
    # Analysis.
    mix.add("api_compare", 8, lambda r: q(
        "/api/v1/compare/", jurisdictions=",".join(r.sample(codes, min(5, len(codes)))),
        as_of=r.choice(dates)))
    mix.add("api_gaps", 8, lambda r: q(
        "/api/v1/gaps/", criterion=r.choice(criteria),
        **r.choice([{"bloc": "EU"}, {"within": "US", "scope": "own"}, {}]),
        as_of=r.choice(dates)))
    mix.add("api_changes", 2, lambda r: "/api/v1/changes/")
    # CSV exports.
    mix.add("csv_instruments", 3, lambda r: "/api/v1/instruments/?format=csv")
    mix.add("csv_compare", 2, lambda r: q(
        "/api/v1/compare/", jurisdictions=",".join(r.sample(codes, min(8, len(codes)))),
        format="csv"))
    mix.add("csv_gaps", 2, lambda r: q("/api/v1/gaps/", criterion=r.choice(criteria),
                                       bloc="EU", format="csv"))
    # Pages for people.
    mix.add("page_home", 4, lambda r: "/")
    mix.add("page_compare", 4, lambda r: q(
        "/compare/", jurisdictions=",".join(r.sample(codes, min(6, len(codes))))))
    mix.add("page_gaps", 4, lambda r: q("/gaps/", criterion=r.choice(criteria)))
    mix.add("page_map", 2, lambda r: q("/map/", criterion=r.choice(criteria)))
    mix.add("page_jurisdiction", 4, lambda r: f"/jurisdictions/{r.choice(codes).lower()}/")
    mix.add("page_instrument", 4, lambda r: f"/instruments/{r.choice(slugs)}/")
    return mix


# --- one request -------------------------------------------------------------------------------

def check_answer(status: int, headers, body: bytes) -> tuple[bool, str]:
    """(ok, problem): a 200 with a body of its type is ok; anything else is a problem, named."""
    ctype = headers.get("Content-Type", "") if headers is not None else ""
    if status == 200:
        if ctype.startswith("application/json"):
            try:
                json.loads(body)
            except ValueError:
                return False, "200 with a broken JSON body"
        elif ctype.startswith("text/csv"):
            if not body.startswith("\ufeff".encode()) or b"\n" not in body:
                return False, "200 with a broken CSV body"
        elif ctype.startswith("text/html"):
            if b"</html>" not in body.lower():
                return False, "200 with a truncated HTML page"
        else:
            return False, f"200 with content type {ctype!r}"
        return True, ""
    if status == 503:
        try:
            answer = json.loads(body)
        except ValueError:
            return False, "503 without a JSON body"
        if not ctype.startswith("application/json"):
            return False, "503 not typed application/json"
        if not headers.get("Retry-After"):
            return False, "503 without Retry-After"
        if answer.get("status") != 503:
            return False, "503 JSON without status"
        return False, "503 json"  # a well-formed outage answer, still a failed request
    return False, f"HTTP {status}"


def one_request(port: int, path: str, timeout: float) -> tuple[int, object, bytes, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=HEADERS)
        response = conn.getresponse()
        body = response.read()  # raises IncompleteRead on a stream cut short
        return response.status, response.headers, body, ""
    except (OSError, http.client.HTTPException) as exc:
        return 0, None, b"", f"no answer: {type(exc).__name__}"
    finally:
        conn.close()


def client_loop(port, mix, seed, start, stop_at, timeout, out: list[Sample]) -> None:
    rnd = random.Random(seed)
    while True:
        now = time.monotonic()
        if now >= stop_at:
            return
        kind, path = mix.choose(rnd)
        began = time.monotonic()
        status, headers, body, problem = one_request(port, path, timeout)
        ended = time.monotonic()
        if not problem:
            ok, problem = check_answer(status, headers, body)
        else:
            ok = False
        if problem and problem != "503 json":
            problem = f"{problem} [{path[:120]}]"
        out.append(Sample(kind, round(began - start, 4), round(ended - began, 4), status, ok,
                          problem))


# --- the fault ---------------------------------------------------------------------------------

def cluster_version() -> str:
    versions = sorted(os.listdir("/etc/postgresql"))
    if not versions:
        raise RuntimeError("no PostgreSQL cluster under /etc/postgresql")
    return versions[0]


def restart_postgres(database_url: str, start: float, record: dict) -> None:
    """Restart the local cluster; record (seconds since the load started) when the restart
    began, when pg_ctlcluster returned and when the database first accepted a connection."""
    record["restart_began"] = round(time.monotonic() - start, 3)
    result = subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", cluster_version(), "main", "restart"],
        capture_output=True, text=True, timeout=120,
    )
    record["restart_command_returned"] = round(time.monotonic() - start, 3)
    record["restart_exit_code"] = result.returncode
    record["restart_output"] = (result.stdout + result.stderr).strip()[-500:]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if srv.postgres_reachable(database_url) is None:
            record["database_back"] = round(time.monotonic() - start, 3)
            return
        time.sleep(0.05)
    record["database_back"] = None


# --- figures -----------------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def summarise(samples: list[Sample], duration: float, fault: dict, recovery_target: float,
              worker_boots: int, workers: int) -> dict:
    answered = [s for s in samples if s.ok]
    failures = [s for s in samples if not s.ok]
    latencies = [s.seconds for s in answered]
    result: dict = {
        "requests": len(samples),
        "ok": len(answered),
        "errors": len(failures),
        "throughput_rps": round(len(samples) / duration, 1),
        "latency_ms": {
            "p50": ms(percentile(latencies, 50)),
            "p90": ms(percentile(latencies, 90)),
            "p99": ms(percentile(latencies, 99)),
            "max": ms(max(latencies) if latencies else None),
            "mean": ms(statistics.fmean(latencies) if latencies else None),
        },
        "per_endpoint": {},
        "gunicorn": {"workers": workers, "worker_boots": worker_boots},
    }
    by_kind = defaultdict(list)
    for s in samples:
        by_kind[s.kind].append(s)
    for kind, items in sorted(by_kind.items()):
        good = [s.seconds for s in items if s.ok]
        result["per_endpoint"][kind] = {
            "requests": len(items),
            "errors": len(items) - len(good),
            "p50_ms": ms(percentile(good, 50)),
            "p99_ms": ms(percentile(good, 99)),
        }

    if not fault:
        result["errors_outside_outage"] = len(failures)
        result["error_examples"] = [s.problem for s in failures[:10]]
        result["targets_met"] = not failures
        return result

    began, back = fault["restart_began"], fault.get("database_back")
    fault = dict(fault)
    fault["outage_seconds"] = round(back - began, 3) if back is not None else None
    # A request belongs to the outage when it was in flight at any moment between the restart
    # and the database accepting connections again.
    in_outage = [s for s in samples
                 if back is not None and s.started <= back and s.started + s.seconds >= began]
    outage_failures = [s for s in in_outage if not s.ok]
    after = [s for s in samples if back is not None and s.started > back]
    failures_after = [s for s in after if not s.ok]
    # Recovery: how long after the database came back a request could still fail when sent.
    # Measured on the send time, not the answer time: under 32 clients a request waits seconds
    # in gunicorn's queue, and that wait is load, not recovery.
    recovery = 0.0
    if failures_after:
        recovery = max(s.started for s in failures_after) - back
    first_ok_after = min((s.started + s.seconds for s in after if s.ok), default=None)
    outside = [s for s in failures
               if back is None or s.started + s.seconds < began
               or s.started > back + recovery_target]
    failed_latency = [s.seconds for s in outage_failures]
    statuses = Counter(str(s.status) for s in outage_failures)
    not_json_503 = [s for s in outage_failures if s.problem != "503 json"]
    fault.update(
        requests_during_outage=len(in_outage),
        failed_during_outage=len(outage_failures),
        answered_during_outage=len(in_outage) - len(outage_failures),
        outage_statuses=dict(statuses),
        outage_failures_not_json_503=len(not_json_503),
        outage_failure_examples=sorted({s.problem for s in not_json_503})[:10],
        outage_failure_latency_ms={"p50": ms(percentile(failed_latency, 50)),
                                   "p99": ms(percentile(failed_latency, 99)),
                                   "max": ms(max(failed_latency) if failed_latency else None)},
        failures_after_database_back=len(failures_after),
        failures_after_database_back_detail=[
            {"kind": s.kind, "sent_at": s.started, "seconds": s.seconds, "status": s.status,
             "problem": s.problem} for s in failures_after[:10]],
        first_success_after_database_back_seconds=(
            round(first_ok_after - back, 3) if first_ok_after is not None else None),
        recovery_seconds=round(recovery, 3) if back is not None else None,
        recovery_target_seconds=recovery_target,
    )
    result["fault"] = fault
    result["errors_outside_outage"] = len(outside)
    result["error_examples"] = sorted({s.problem for s in outside})[:10]
    result["targets_met"] = (
        back is not None
        and not outside
        and not not_json_503
        and recovery <= recovery_target
        and worker_boots == workers
    )
    return result


def server_times(access_log: Path) -> dict[str, list[float]]:
    """Seconds gunicorn spent on each answer, by status, from its access log (the format of
    deploy/gunicorn.conf.py ends with the request time in microseconds)."""
    times: dict[str, list[float]] = defaultdict(list)
    try:
        lines = access_log.read_text(errors="replace").splitlines()
    except OSError:
        return times
    for line in lines:
        parts = line.rsplit(" ", 1)
        status = line.split('" ', 1)[-1].split(" ", 1)[0] if '" ' in line else ""
        if len(parts) == 2 and parts[1].isdigit() and status.isdigit():
            times[status].append(int(parts[1]) / 1e6)
    return times


def print_summary(result: dict) -> None:
    lat = result["latency_ms"]
    print(f"requests {result['requests']}  ok {result['ok']}  errors {result['errors']}  "
          f"({result['throughput_rps']} req/s)")
    print(f"latency of answered requests: p50 {lat['p50']} ms  p90 {lat['p90']} ms  "
          f"p99 {lat['p99']} ms  max {lat['max']} ms")
    print(f"{'endpoint':28} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p99 ms':>8}")
    for kind, e in result["per_endpoint"].items():
        print(f"{kind:28} {e['requests']:>8} {e['errors']:>6} {e['p50_ms']!s:>8} "
              f"{e['p99_ms']!s:>8}")
    fault = result.get("fault")
    if fault:
        print(f"PostgreSQL restart at {fault['restart_began']} s, accepting connections again "
              f"at {fault['database_back']} s (outage {fault['outage_seconds']} s)")
        lat = fault["outage_failure_latency_ms"]
        print(f"during the outage: {fault['requests_during_outage']} requests, "
              f"{fault['failed_during_outage']} failed {fault['outage_statuses']} "
              f"(not a JSON 503: {fault['outage_failures_not_json_503']}), failed in p50 "
              f"{lat['p50']} ms / max {lat['max']} ms")
        served = result.get("server_time_ms", {}).get("503")
        if served:
            print(f"the server answered its {served['answers']} 503s in p50 {served['p50']} ms, "
                  f"max {served['max']} ms of its own time (the rest of the clients' wait is "
                  f"the queue of 32 clients on {result['gunicorn']['workers']} workers)")
        print(f"recovery after the database came back: {fault['recovery_seconds']} s "
              f"({fault['failures_after_database_back']} requests sent after it failed; first "
              f"success {fault['first_success_after_database_back_seconds']} s after it; target "
              f"< {fault['recovery_target_seconds']} s), without restarting gunicorn")
        for detail in fault["failures_after_database_back_detail"]:
            print(f"  failed after the database was back: {detail}")
    print(f"errors outside the outage: {result['errors_outside_outage']}"
          + (f"  e.g. {result['error_examples'][:3]}" if result["error_examples"] else ""))
    g = result["gunicorn"]
    print(f"gunicorn workers: {g['workers']}, booted {g['worker_boots']} times "
          f"(more = a worker died or timed out)")
    print("targets met" if result["targets_met"] else "TARGETS NOT MET")


# --- main --------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (60)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (32)")
    parser.add_argument("--workers", type=int, default=5, help="gunicorn workers (5)")
    parser.add_argument("--restart-at", type=float, default=25,
                        help="seconds into the load to restart PostgreSQL (25)")
    parser.add_argument("--no-restart", action="store_true", help="no database restart")
    parser.add_argument("--timeout", type=float, default=30, help="client timeout, seconds")
    parser.add_argument("--recovery-target", type=float, default=10)
    parser.add_argument("--database", default="lt_loadtest")
    parser.add_argument("--output", default=str(HERE / "results.json"))
    parser.add_argument("--seed", type=int, default=7, help="random seed of the mix")
    args = parser.parse_args(argv)

    database_url = srv.postgres_url(args.database)
    reason = srv.postgres_reachable(database_url)
    if reason and shutil.which("pg_ctlcluster"):
        print(f"loadtest: starting the local PostgreSQL ({reason})")
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", cluster_version(), "main",
                        "start"], timeout=120, check=False)
        deadline = time.monotonic() + 30
        while reason and time.monotonic() < deadline:
            time.sleep(0.5)
            reason = srv.postgres_reachable(database_url)
    if reason:
        print(f"loadtest: PostgreSQL not reachable ({reason})", file=sys.stderr)
        return 2

    tmp = Path(tempfile.mkdtemp(prefix="lawtracker-loadtest-"))
    env = srv.production_env(
        database_url,
        STATIC_ROOT=str(tmp / "static"),
        SECURE_PROXY_SSL_HEADER="1",
        WEB_CONCURRENCY=str(args.workers),
        CONN_MAX_AGE="60",
        # Every client is 127.0.0.1: the per-address throttle would measure itself.
        API_ANON_RATE="100000000/minute",
        # The access log gives the server's own time per answer (the 503s' included).
        GUNICORN_ACCESS_LOG=str(tmp / "access.log"),
        GUNICORN_MAX_REQUESTS="0",  # no recycling: every boot after the first is a failure
        GUNICORN_TIMEOUT="30",
    )
    print(f"loadtest: preparing database {args.database} (migrate, load_seed, collectstatic)")
    t0 = time.monotonic()
    srv.create_database(database_url)
    server = None
    try:
        srv.manage(env, "migrate", "--noinput", timeout=600)
        srv.manage({**env, "DEBUG": "1"}, "load_seed", timeout=600)
        srv.manage(env, "collectstatic", "--noinput", timeout=300)
        print(f"loadtest: prepared in {time.monotonic() - t0:.0f} s; starting gunicorn "
              f"({args.workers} workers)")
        server = srv.start_gunicorn(env, tmp / "gunicorn.log")
        srv.wait_healthy(server, deadline_seconds=60)
        port = int(server.url.rsplit(":", 1)[1])
        mix = build_mix(server.url)
        # Warm every worker's imports and caches so that the figures measure steady state.
        for kind, _, make in mix.entries:
            srv.get(server.url + make(random.Random(0)), timeout=60, headers=HEADERS)

        print(f"loadtest: {args.clients} clients for {args.duration:.0f} s on {server.url}"
              + ("" if args.no_restart else f", PostgreSQL restart at {args.restart_at:.0f} s"))
        samples: list[Sample] = []
        start = time.monotonic()
        stop_at = start + args.duration
        threads = [
            threading.Thread(target=client_loop, daemon=True,
                             args=(port, mix, args.seed * 1000 + i, start, stop_at, args.timeout,
                                   samples))
            for i in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        fault: dict = {}
        if not args.no_restart:
            time.sleep(max(0.0, start + args.restart_at - time.monotonic()))
            restart_postgres(database_url, start, fault)
        for thread in threads:
            thread.join(timeout=max(1.0, stop_at - time.monotonic()) + args.timeout + 5)
        elapsed = time.monotonic() - start
        alive = server.process.poll() is None
        health = srv.get(server.url + "/healthz", timeout=10)[0] if alive else None
    finally:
        if server is not None:
            server.stop()
        try:
            srv.drop_database(database_url)
        except Exception as exc:  # leave it; the next run drops it first
            print(f"loadtest: could not drop {args.database}: {exc}", file=sys.stderr)

    boots = server.log().count("Booting worker with pid")
    result = summarise(samples, elapsed, fault, args.recovery_target, boots, args.workers)
    result["gunicorn"].update(master_alive_at_end=alive, healthz_at_end=health)
    served = server_times(tmp / "access.log")
    result["server_time_ms"] = {
        status: {"answers": len(values), "p50": ms(percentile(values, 50)),
                 "p99": ms(percentile(values, 99)), "max": ms(max(values))}
        for status, values in sorted(served.items())
    }
    result["targets_met"] = result["targets_met"] and alive and health == 200
    result["settings"] = {
        "clients": args.clients, "duration_s": args.duration, "workers": args.workers,
        "worker_class": "sync", "conn_max_age": 60, "restart_at_s": None if args.no_restart
        else args.restart_at, "cpu_cores": os.cpu_count(), "client": "Python threads, "
        "http.client, one connection per request, loopback",
        "mix": {kind: weight for kind, weight, _ in mix.entries},
    }
    result["ran_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    print_summary(result)
    print(f"loadtest: wrote {args.output}")
    return 0 if result["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
