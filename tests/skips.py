"""No silent skips (issue 17): in CI (``CI=true``) a skipped test is a failure unless
ALLOWED_SKIPS lists it for the pass being run. A pytest plugin (loaded by tests/conftest.py),
with no Django in it so that tests/test_no_silent_skips.py can load it into a bare pytest run.
"""
from __future__ import annotations

import os

import pytest

# In CI (CI=true) a skipped test is a failure unless it is listed here: the tests that need a
# PostgreSQL server of their own, skipped in the SQLite pass and run in the PostgreSQL pass.
# Keys are node-id prefixes; values say in which pass the skip is expected.
SQLITE_PASS, POSTGRES_PASS = "sqlite", "postgresql"
ALLOWED_SKIPS = {
    "tests/test_alerts.py::test_a_worker_process_killed_mid_delivery_loses_nothing": SQLITE_PASS,
    "tests/test_concurrency.py::": SQLITE_PASS,
    "tests/test_deploy.py::test_healthz_reads_the_database_over_plain_http": SQLITE_PASS,
    "tests/test_deploy.py::test_plain_http_pages_are_redirected_to_https": SQLITE_PASS,
    "tests/test_deploy.py::test_behind_the_balancer_the_api_answers_with_production_headers":
        SQLITE_PASS,
    "tests/test_deploy.py::test_debug_is_off_an_unknown_url_shows_no_urlconf": SQLITE_PASS,
    "tests/test_deploy.py::test_static_files_are_collected_hashed_and_served_by_whitenoise":
        SQLITE_PASS,
    "tests/test_deploy.py::test_gunicorn_stops_gracefully": SQLITE_PASS,
    "tests/test_schemathesis.py::test_schemathesis_finds_nothing_in_any_operation": SQLITE_PASS,
    "tests/test_editorial_api.py::test_twenty_concurrent_writers_with_one_etag_land_exactly_one_write":
        SQLITE_PASS,
}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def current_pass() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return POSTGRES_PASS if url.startswith(("postgres://", "postgresql://")) else SQLITE_PASS


def skip_allowed(nodeid: str, database_pass: str) -> bool:
    return any(nodeid.startswith(prefix) and allowed == database_pass
               for prefix, allowed in ALLOWED_SKIPS.items())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if (report.skipped and not hasattr(report, "wasxfail") and in_ci()
            and not skip_allowed(item.nodeid, current_pass())):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = (
            f"CI=true: {item.nodeid} was skipped ({reason}) in the {current_pass()} pass, and "
            "tests/conftest.py ALLOWED_SKIPS does not list that skip. Make it run, or list it "
            "with the reason."
        )
