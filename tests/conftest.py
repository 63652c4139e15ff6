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
