"""No silent skips (issue 17): in CI a skip that tests/skips.py does not allow fails the run, and
a PostgreSQL pass whose server cannot be used fails instead of skipping."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loadtest import server as srv

REPO = Path(__file__).resolve().parent.parent
SKIPPING = """
import pytest

def test_skipped_for_no_reason():
    pytest.skip("the data this needs is missing")

def test_runs():
    assert True
"""


@pytest.fixture
def bare_run(pytester, monkeypatch):
    """``bare_run(ci)``: pytest on SKIPPING with only the skip rule loaded."""
    pytester.makepyfile(SKIPPING)
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)

    def run(ci: str | None):
        if ci is None:
            monkeypatch.delenv("CI", raising=False)
        else:
            monkeypatch.setenv("CI", ci)
        return pytester.runpytest_subprocess("-p", "tests.skips", "-p", "no:django",
                                             "-p", "no:cacheprovider")

    return run


def test_outside_ci_a_skip_is_a_skip(bare_run):
    bare_run(None).assert_outcomes(passed=1, skipped=1)


def test_in_ci_an_unlisted_skip_fails_and_says_why(bare_run):
    result = bare_run("true")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*was skipped*the data this needs is missing*ALLOWED_SKIPS*"])


def test_in_ci_the_listed_postgresql_tests_may_skip_in_the_sqlite_pass():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_concurrency.py", "-q", "-p",
         "no:cacheprovider"],
        cwd=REPO, env={**env, "CI": "true"}, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "skipped" in result.stdout and "failed" not in result.stdout


def test_a_postgresql_pass_without_a_usable_server_fails_instead_of_skipping():
    # Port 9 (discard) on loopback: nothing speaks PostgreSQL there.
    url = "postgres://postgres@127.0.0.1:9/lt_unreachable"
    with pytest.raises(srv.PostgresUnusable, match="cannot be used"):
        srv.require_postgres(url)
    env = {**os.environ, "CI": "true", "DATABASE_URL": url}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_concurrency.py", "-q", "-p",
         "no:cacheprovider"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode != 0, result.stdout[-3000:]
    assert " skipped" not in result.stdout.splitlines()[-1], result.stdout[-3000:]
