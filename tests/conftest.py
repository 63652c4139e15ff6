"""Shared fixtures.

``seeded``: the real seed data (ISO reference jurisdictions, criteria, ``fixtures/research.json``)
loaded once per test module inside a transaction that is rolled back when the module ends; each
test still runs in its own savepoint. Use it in modules that assert real values.
"""
import pytest
from django.core.management import call_command
from django.db import connections, transaction


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
