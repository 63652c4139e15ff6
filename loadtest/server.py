"""Start and stop a production-like lawtracker app server on loopback, for the deployment test
(tests/test_deploy.py) and the load test (loadtest/run.py).

Everything here is bounded: each wait has a deadline, each subprocess a timeout, and servers
bind to 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN_CONF = REPO / "deploy" / "gunicorn.conf.py"
DEFAULT_SERVER_URL = "postgres://postgres@127.0.0.1:5432/postgres"

# Variables the test run sets for itself (tests/testenv.py) that a production server must not
# inherit.
TEST_ONLY_VARIABLES = (
    "DEBUG",
    "STATIC_MANIFEST",
    "SECURE_SSL_REDIRECT",
    "API_ANON_RATE",
    "DJANGO_SETTINGS_MODULE",
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_url(name: str, server_url: str | None = None) -> str:
    """``server_url`` (a ``postgres://`` URL; default ``$DATABASE_URL`` when it is PostgreSQL,
    else the local server) with its database replaced by ``name``."""
    server_url = server_url or os.environ.get("DATABASE_URL") or ""
    if not server_url.startswith(("postgres://", "postgresql://")):
        server_url = DEFAULT_SERVER_URL
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def _connect(url: str):
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or None,
        dbname="postgres",
        autocommit=True,
        connect_timeout=5,
    )


def postgres_reachable(url: str) -> str | None:
    """None if the server of ``url`` answers, else the reason it does not."""
    try:
        with _connect(url):
            return None
    except Exception as exc:  # any failure is a reason, shown to whoever called
        return f"{type(exc).__name__}: {exc}".strip()


def on_postgres() -> bool:
    """True when ``$DATABASE_URL`` names PostgreSQL (the test run's PostgreSQL pass)."""
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


class PostgresUnusable(RuntimeError):
    """``DATABASE_URL`` names PostgreSQL but its server cannot be used."""


def require_postgres(url: str) -> None:
    """Raise :class:`PostgresUnusable` when the server of ``url`` does not answer.

    The PostgreSQL fixtures call this instead of skipping: when the run names PostgreSQL, a
    driver, login or network error must fail the tests that need it, not skip them quietly
    (issue 17). Runs that do not name PostgreSQL skip those tests before getting here."""
    reason = postgres_reachable(url)
    if reason:
        raise PostgresUnusable(f"DATABASE_URL names PostgreSQL but {url} cannot be used: {reason}")


def create_database(url: str) -> None:
    """Drop (if any) and create the database named in ``url``."""
    name = urlsplit(url).path.lstrip("/")
    with _connect(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with _connect(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def production_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a production app server: DEBUG off, a SECRET_KEY, loopback hosts,
    hashed static files; ``extra`` is added last."""
    env = {k: v for k, v in os.environ.items() if k not in TEST_ONLY_VARIABLES}
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY="loopback-test-only-" + "k3y-Nq8v" * 6,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        STATIC_MANIFEST="1",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``manage.py args`` in ``env``; raises ``CalledProcessError`` (with the output) on
    failure and ``TimeoutExpired`` after ``timeout`` seconds."""
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise subprocess.CalledProcessError(
            result.returncode, result.args, result.stdout, result.stderr
        )
    return result


@dataclass
class Server:
    """A running gunicorn: its process, base URL (``http://127.0.0.1:port``) and log file."""

    process: subprocess.Popen
    url: str
    log_path: Path

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM (gunicorn's graceful stop), then SIGKILL after ``timeout`` seconds; returns
        the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode


def start_gunicorn(env: dict[str, str], log_path: Path, port: int | None = None) -> Server:
    """gunicorn with deploy/gunicorn.conf.py on 127.0.0.1 (a free port unless given); the
    rest of its configuration comes from ``env`` (WEB_CONCURRENCY, GUNICORN_TIMEOUT, …)."""
    port = port or free_port()
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
    log = open(log_path, "wb")
    process = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "-c", str(GUNICORN_CONF)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    return Server(process=process, url=f"http://127.0.0.1:{port}", log_path=log_path)


def get(url: str, timeout: float = 10, headers: dict[str, str] | None = None):
    """``(status, headers, body bytes)`` of a GET; HTTP errors are answers, not exceptions.
    Raises ``OSError`` when nothing answers. Redirects are not followed."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def wait_healthy(server: Server, deadline_seconds: float = 60) -> dict:
    """Poll ``/healthz`` until it answers 200; returns its JSON. Raises ``RuntimeError`` with
    the server's log if gunicorn exits or the deadline passes."""
    deadline = time.monotonic() + deadline_seconds
    last = "no answer"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({server.process.returncode}):\n{server.log()}")
        try:
            status, _, body = get(server.url + "/healthz", timeout=5)
            if status == 200:
                return json.loads(body)
            last = f"{status} {body[:200]!r}"
        except OSError as exc:
            last = repr(exc)
        time.sleep(0.25)
    raise RuntimeError(f"/healthz not 200 within {deadline_seconds}s ({last}):\n{server.log()}")


@contextlib.contextmanager
def serving(
    database_url: str,
    env: dict[str, str],
    log_path: Path,
    setup: Callable[[dict[str, str]], object] | None = None,
    migrate_timeout: float = 600,
) -> Iterator[tuple[Server, object]]:
    """A fresh PostgreSQL database at ``database_url``, migrated, prepared by ``setup(env)``
    and served by gunicorn (``env`` from :func:`production_env`), healthy on ``/healthz``.

    Yields ``(server, what setup returned)``; afterwards stops gunicorn and drops the database,
    whatever happened. Raises what :func:`manage` and :func:`wait_healthy` raise."""
    create_database(database_url)
    server = None
    try:
        manage(env, "migrate", "--noinput", timeout=migrate_timeout)
        prepared = setup(env) if setup is not None else None
        server = start_gunicorn(env, log_path)
        wait_healthy(server, deadline_seconds=60)
        yield server, prepared
    finally:
        if server is not None:
            server.stop()
        drop_database(database_url)
