"""Shared fixtures: one hand-made world, the real seed, one set of accounts, one clock.

``world``: the small hand-made world of tests/world.py, built once per test module inside a
transaction rolled back when the module ends (each test runs in its own savepoint).

``seeded``: the real seed data (ISO reference jurisdictions, criteria, ``fixtures/research.json``)
loaded once per test module inside a transaction that is rolled back when the module ends; each
test still runs in its own savepoint. Use it in modules that assert real values.
"""
import pytest
import time_machine
from django.core.management import call_command
from django.contrib.auth.models import Group
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from jurisdictions.roles import sync_roles
from tests.world import build_world


# The CI rule on skips (tests/skips.py) and pytester, which tests that rule.
pytest_plugins = ["tests.skips", "pytester"]


def pytest_addoption(parser):
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/ from the served answers (the tests marked golden); review the diff",
    )


@pytest.fixture(scope="module")
def _seeded_module(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            call_command("load_seed", verbosity=0, stdout=open("/dev/null", "w"))
            yield
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            for conn in connections.all():
                conn.close_if_unusable_or_obsolete()


@pytest.fixture
def seeded(_seeded_module, db):
    """The real seed data, for one test (read it; writes are rolled back after the test)."""
    return None


@pytest.fixture(scope="module")
def _world_module(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            for conn in connections.all():
                conn.close_if_unusable_or_obsolete()


@pytest.fixture
def world(_world_module, db):
    """The hand-made world (tests/world.py); read it, writes roll back."""
    return _world_module


# --- order independence -------------------------------------------------------------------------
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """A transactional test ends by flushing the database, and with it the groups that migration
    0004 created; pytest-django runs such tests last, but in random order (pytest-random-order)
    the next test would find no ``editor`` group. Once every fixture of the test is torn down
    (the flush included), recreate the groups the way an operator does (``create_roles``)."""
    yield
    marker = item.get_closest_marker("django_db")
    if ({"transactional_db", "live_server"} & set(getattr(item, "fixturenames", ()))
            or (marker is not None and marker.kwargs.get("transaction"))):
        from pytest_django.plugin import blocking_manager_key

        with item.config.stash[blocking_manager_key].unblock():
            sync_roles()


# --- one clock ----------------------------------------------------------------------------------
@pytest.fixture
def today():
    """Today as the project reads it (``jurisdictions.filtersets.today``: the date in UTC). The
    clock is set to noon UTC of that day for the test and keeps ticking (history records still
    get distinct times), so a test never sees midnight pass. Tests that need another day travel
    with ``time_machine.travel``."""
    from jurisdictions.filtersets import today as project_today

    noon = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    with time_machine.travel(noon, tick=True):
        yield project_today()


# --- query counts -------------------------------------------------------------------------------
# The contract (STYLE.md, "Queries") is "the same number for 1 and N rows, under a bound": tests
# compare two sizes and assert a bound, not an exact count that any harmless change breaks.
@pytest.fixture
def count_queries():
    """``count_queries(fn, *args, **kwargs)`` → ``(number of queries, fn's result)``."""

    def count(fn, *args, **kwargs):
        with CaptureQueriesContext(connection) as captured:
            result = fn(*args, **kwargs)
        return len(captured), result

    return count


# --- accounts: one way to make a user in a role ------------------------------------------------
# Roles are the groups of jurisdictions/roles.py (migration 0004 creates them): ``editor`` and
# ``reviewer``; None is an account without any permission.


@pytest.fixture
def member(django_user_model):
    """``member(role, username=None, staff=True)``: an account in the group ``role`` (None: no
    group), staff (may log in to the admin) unless ``staff=False``."""

    def make(role: str | None, username: str | None = None, staff: bool = True):
        user = django_user_model.objects.create_user(
            username or role or "nobody", password="pw-not-used", is_staff=staff
        )
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def account(member):
    """``account(username, role=None)``: an API client logged in by token as a new user in
    ``role``; the user is ``client.user``."""

    def make(username: str, role: str | None = None) -> APIClient:
        user = member(role, username, staff=False)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        client.user = user
        return client

    return make


@pytest.fixture
def editor(client, member):
    """A staff editor, logged in on ``client`` (the admin)."""
    user = member("editor", "ana")
    client.force_login(user)
    return user


# Issue 12: after every test of these write paths (admin, API, import, restore, bulk delete),
# the stored coverage spans must still say what the rules say.
SPANS_CHECKED_MODULES = {
    "test_admin", "test_api", "test_import_export", "test_dump", "test_editorial_admin",
    "test_editorial_api",
}


@pytest.fixture(autouse=True)
def _spans_still_right(request):
    yield
    module = request.node.module.__name__.rsplit(".", 1)[-1]
    if module not in SPANS_CHECKED_MODULES:
        return
    if not {"db", "transactional_db"} & set(request.fixturenames):
        return
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        return
    from spans.check import differences

    # Stale rows are what a write path that forgot the spans leaves (the rules themselves are
    # compared in test_spans.py and by check_spans in CI). The seed holds hundreds of
    # jurisdictions: a sample keeps the check short there.
    sample = 25 if "seeded" in request.fixturenames else None
    found = differences(sample=sample, rules=False)
    assert not found, "the coverage spans differ from the rules:\n" + "\n".join(found)
