"""The deployment of deploy/README.md: gunicorn with deploy/gunicorn.conf.py, DEBUG off, a fresh
migrated PostgreSQL database, static files collected into their own STATIC_ROOT and served by
whitenoise with hashed names; and the client-address rule behind load balancers.

The gunicorn tests need PostgreSQL (the one shared store of a deployment). They run against the
server of ``DATABASE_URL`` when it is PostgreSQL, in a database of their own that they create and
drop, and are skipped on SQLite runs (CI runs them in its PostgreSQL pass).
"""

from __future__ import annotations

import configparser
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.urls import reverse

from loadtest import server as srv

REPO = Path(__file__).resolve().parent.parent
ON_POSTGRES = srv.on_postgres()


def print_config(**env: str) -> dict[str, str]:
    """gunicorn's resolved settings for deploy/gunicorn.conf.py under ``env``."""
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", str(srv.GUNICORN_CONF), "--print-config"],
        cwd=REPO,
        env={**srv.production_env("sqlite:///unused.sqlite3"), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    settings = {}
    for line in result.stdout.splitlines():
        name, _, value = line.partition("=")
        settings[name.strip()] = value.strip()
    return settings


def test_gunicorn_configuration_comes_from_the_environment():
    config = print_config(
        GUNICORN_BIND="127.0.0.1:9123",
        WEB_CONCURRENCY="3",
        GUNICORN_THREADS="4",
        GUNICORN_TIMEOUT="45",
        GUNICORN_ACCESS_LOG="off",
        GUNICORN_MAX_REQUESTS="1000",
    )
    assert config["bind"] == "['127.0.0.1:9123']"
    assert config["workers"] == "3"
    assert config["threads"] == "4"
    assert config["worker_class"] == "gthread"
    assert config["timeout"] == "45"
    assert config["accesslog"] == "None"
    assert config["max_requests"] == "1000"
    assert config["max_requests_jitter"] == "100"
    assert config["wsgi_app"] == "lawtracker.wsgi:application"
    assert config["chdir"] == str(REPO)


def test_gunicorn_defaults_are_loopback_sync_workers_with_an_access_log():
    config = print_config(PORT="8042")
    assert config["bind"] == "['127.0.0.1:8042']"
    assert config["worker_class"] == "sync"
    assert 3 <= int(config["workers"]) <= 12  # 2 x cores + 1, capped
    assert config["accesslog"] == "-"
    assert config["timeout"] == "30"


def test_the_systemd_unit_runs_gunicorn_with_the_configuration():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read(REPO / "deploy" / "lawtracker.service")
    service = unit["Service"]
    assert "gunicorn -c deploy/gunicorn.conf.py" in service["ExecStart"]
    assert service["EnvironmentFile"].endswith("lawtracker.env")
    assert service["ExecReload"].startswith("/bin/kill -HUP")  # gunicorn: graceful reload
    assert service["User"] != "root"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    env_example = (REPO / "deploy" / "lawtracker.env.example").read_text()
    for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "CSRF_TRUSTED_ORIGINS",
                 "SECURE_PROXY_SSL_HEADER", "NUM_PROXIES", "STATIC_ROOT", "CONN_MAX_AGE"):
        assert re.search(rf"^#? ?{name}=", env_example, re.M), name


# --- gunicorn against PostgreSQL ----------------------------------------------------------------

@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """A migrated fresh PostgreSQL database, collectstatic into a temporary STATIC_ROOT, and
    gunicorn (2 workers, DEBUG off) serving it on a free loopback port."""
    if not ON_POSTGRES:
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://… (CI's PostgreSQL pass)")
    url = srv.postgres_url(f"lt_deploy_{os.getpid()}")
    srv.require_postgres(url)  # raises, never skips, when PostgreSQL is named but unusable
    tmp = tmp_path_factory.mktemp("deploy")
    env = srv.production_env(
        url,
        STATIC_ROOT=str(tmp / "static"),
        SECURE_PROXY_SSL_HEADER="1",
        WEB_CONCURRENCY="2",
        GUNICORN_TIMEOUT="30",
    )

    def setup(env):
        srv.manage(env, "collectstatic", "--noinput", timeout=300)

    with srv.serving(url, env, tmp / "gunicorn.log", setup, migrate_timeout=300) as (server, _):
        yield server, tmp


HTTPS = {"X-Forwarded-Proto": "https"}  # what the TLS-terminating balancer sends


def test_healthz_reads_the_database_over_plain_http(deployed):
    server, _ = deployed
    status, headers, body = srv.get(server.url + "/healthz")
    assert status == 200  # no HTTPS redirect: balancers probe over plain HTTP
    answer = json.loads(body)
    assert answer["status"] == "ok"
    assert answer["database"] == "ok"
    assert headers["Cache-Control"].startswith("max-age=0")


def test_plain_http_pages_are_redirected_to_https(deployed):
    server, _ = deployed
    status, headers, _ = srv.get(server.url + "/api/v1/criteria/")
    assert status == 301
    assert headers["Location"] == server.url.replace("http://", "https://") + "/api/v1/criteria/"


def test_behind_the_balancer_the_api_answers_with_production_headers(deployed):
    server, _ = deployed
    status, headers, body = srv.get(server.url + "/api/v1/criteria/", headers=HTTPS)
    assert status == 200
    assert json.loads(body) == {"count": 0, "next": None, "previous": None, "results": []}
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"


def test_debug_is_off_an_unknown_url_shows_no_urlconf(deployed):
    server, _ = deployed
    status, _, body = srv.get(server.url + "/no-such-page/", headers=HTTPS)
    assert status == 404
    assert b"URLconf" not in body and b"urlpatterns" not in body


def test_static_files_are_collected_hashed_and_served_by_whitenoise(deployed):
    server, tmp = deployed
    manifest = json.loads((tmp / "static" / "staticfiles.json").read_text())["paths"]
    original = "admin/css/base.css"
    hashed = manifest[original]
    assert hashed != original and re.fullmatch(r"admin/css/base\.[0-9a-f]{12}\.css", hashed)
    status, headers, body = srv.get(f"{server.url}/static/{hashed}", headers=HTTPS)
    assert status == 200
    assert headers["Content-Type"].startswith("text/css")
    # whitenoise: hashed names never change, so they are cached for ten years.
    assert "max-age=315360000" in headers["Cache-Control"]
    assert body == (tmp / "static" / hashed).read_bytes()
    _, _, page = srv.get(server.url + "/admin/login/", headers=HTTPS)
    assert f"/static/{hashed}".encode() in page  # pages link the hashed name


def test_gunicorn_stops_gracefully(deployed):
    server, _ = deployed
    assert server.stop() == 0
    assert "Shutting down: Master" in server.log()
    assert "Traceback" not in server.log()


# --- client addresses behind proxies ------------------------------------------------------------

@pytest.fixture
def _proxies(settings):
    def use(count: int):
        settings.NUM_PROXIES = count
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": count}

    cache.clear()
    yield use
    cache.clear()


def _throttled_statuses(client, forwarded_for: list[str]) -> list[int]:
    return [
        client.get("/api/v1/criteria/", HTTP_X_FORWARDED_FOR=xff).status_code
        for xff in forwarded_for
    ]


@pytest.mark.django_db
def test_a_client_cannot_escape_the_api_throttle_with_x_forwarded_for(client, _proxies,
                                                                      monkeypatch):
    from rest_framework.throttling import AnonRateThrottle

    _proxies(0)  # the default: no proxy header is trusted
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "2/minute"})
    assert _throttled_statuses(client, ["1.1.1.1", "2.2.2.2", "3.3.3.3"]) == [200, 200, 429]


@pytest.mark.django_db
def test_behind_one_proxy_each_client_has_its_own_throttle(client, _proxies, monkeypatch):
    from rest_framework.throttling import AnonRateThrottle

    _proxies(1)
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "2/minute"})
    # The proxy appends the address it saw; a forged left part changes nothing.
    statuses = _throttled_statuses(
        client, ["198.51.100.7", "forged, 198.51.100.7", "203.0.113.9", "x, 198.51.100.7"]
    )
    assert statuses == [200, 200, 200, 429]


@pytest.mark.django_db
def test_behind_a_proxy_a_login_lockout_is_per_client_address(client, _proxies,
                                                              django_user_model):
    _proxies(1)
    django_user_model.objects.create_superuser("editor", "e@example.org", "right-password-123")
    url = reverse("admin:login")
    attacker = {"HTTP_X_FORWARDED_FOR": "forged, 203.0.113.66"}
    for _ in range(5):
        client.post(url, {"username": "editor", "password": "wrong"}, **attacker)
    locked = client.post(url, {"username": "editor", "password": "right-password-123"},
                         **attacker)
    assert locked.status_code == 429
    # The editor, through the same proxy from another address, still logs in.
    editor = client.post(url, {"username": "editor", "password": "right-password-123"},
                         HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert editor.status_code == 302


def test_client_ip_takes_the_address_the_trusted_proxy_saw(settings):
    from django.test import RequestFactory

    from lawtracker.auth import client_ip

    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 10.0.0.5, 192.0.2.1",
                                   REMOTE_ADDR="127.0.0.1")
    settings.NUM_PROXIES = 0
    assert client_ip(request) == "127.0.0.1"
    settings.NUM_PROXIES = 1
    assert client_ip(request) == "192.0.2.1"
    settings.NUM_PROXIES = 2
    assert client_ip(request) == "10.0.0.5"
    settings.NUM_PROXIES = 5  # fewer addresses than proxies: the left-most
    assert client_ip(request) == "6.6.6.6"
