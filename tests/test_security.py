"""Production settings, health, database outages, login and API throttling."""
import os
import subprocess
import sys

import pytest
from django.db.utils import OperationalError
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] == "ok"


def test_healthz_is_503_when_the_database_fails(client, monkeypatch):
    from django.db.backends.utils import CursorWrapper

    def broken(self, sql, params=None):
        raise OperationalError("connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "OperationalError"}


def test_a_database_outage_is_a_json_503_not_a_500(client, monkeypatch):
    from django.db.backends.utils import CursorWrapper

    def broken(self, sql, params=None):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(CursorWrapper, "execute", broken)
    client.raise_request_exception = False
    for url in ("/api/v1/jurisdictions/", "/api/v1/jurisdictions/kr/", "/api/v1/criteria/"):
        response = client.get(url)
        assert response.status_code == 503, url
        assert response["Retry-After"] == "5"
        assert response.json()["status"] == 503


def test_security_headers(client):
    response = client.get("/healthz")
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp


def _deploy_check(extra_env):
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECURE_SSL_REDIRECT"}}
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_documented_production_environment():
    result = _deploy_check(
        {
            "SECRET_KEY": "a-long-random-production-key-" + "x7Q2#kP9" * 6,
            "ALLOWED_HOSTS": "lawtracker.example.org",
        }
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_secret_key_is_required_when_debug_is_off():
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def _settings_debug(debug: str | None) -> str:
    """``settings.DEBUG`` as a fresh process reads it with ``DEBUG`` unset (None) or set."""
    env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    if debug is not None:
        env["DEBUG"] = debug
    result = subprocess.run(
        [sys.executable, "-c", "import django; from django.conf import settings; "
         "django.setup(); print(settings.DEBUG)"],
        env={**env, "DJANGO_SETTINGS_MODULE": "lawtracker.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(
    "debug, expected",
    [(None, "False"), ("0", "False"), ("", "False"), ("no", "False"), ("1", "True"),
     ("TRUE", "True"), ("yes", "True")],
)
def test_debug_is_off_unless_set(debug, expected):
    # Read in a process of its own, whatever DEBUG the test run has: the setting, not the
    # environment of this run, is under test (it passed vacuously when DEBUG was unset).
    assert _settings_debug(debug) == expected


def test_admin_login_is_locked_after_repeated_failures(client, django_user_model):
    django_user_model.objects.create_superuser("editor", "e@example.org", "right-password-123")
    url = reverse("admin:login")
    for _ in range(4):
        response = client.post(url, {"username": "editor", "password": "wrong"})
        assert response.status_code == 200  # the form says the password is wrong
    fifth = client.post(url, {"username": "editor", "password": "wrong"})
    assert fifth.status_code == 429  # AXES_FAILURE_LIMIT = 5: locked out
    locked = client.post(url, {"username": "editor", "password": "right-password-123"})
    assert locked.status_code == 429
    other = client.post(url, {"username": "nobody", "password": "x"})
    assert other.status_code == 200  # other usernames are not locked out


def test_anonymous_api_clients_are_throttled_with_retry_after(client, settings, monkeypatch):
    from rest_framework.throttling import AnonRateThrottle
    from django.core.cache import cache

    cache.clear()
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "3/minute"})
    statuses = [client.get("/api/v1/criteria/").status_code for _ in range(4)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3] == 429
    response = client.get("/api/v1/criteria/")
    assert int(response["Retry-After"]) > 0
    cache.clear()
