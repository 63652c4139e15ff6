"""Golden answers of the small hand-made world (tests/world.py); see tests/golden_answers.py.

Regenerate after an intended change with ``make golden`` and review the diff of tests/golden/.
"""
import pytest
from django.test import Client
from django.urls import get_resolver

from tests.golden_answers import (
    NOT_GOLDEN,
    cases_of,
    check_world,
    frozen_clock,
    named_urls,
    openapi_validator,
)


pytestmark = pytest.mark.golden


@pytest.fixture(scope="module", autouse=True)
def _frozen():
    with frozen_clock():
        yield


@pytest.fixture(scope="module")
def openapi(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        return openapi_validator(Client())


def test_the_small_world_answers_as_golden(request, world, client, openapi):
    check_world(request, client, openapi, "world")


def test_every_endpoint_and_page_has_a_golden(world):
    named = {name for name in named_urls(get_resolver().url_patterns)
             if not name.startswith("admin:")}
    covered = {url_name for _, url_name, _, _, _ in cases_of("world")}
    missing = named - covered - set(NOT_GOLDEN)
    assert not missing, f"named URLs without a golden case (add one to cases_of): {sorted(missing)}"
    assert not (set(NOT_GOLDEN) - named), "NOT_GOLDEN lists URLs that no longer exist"


def test_an_answer_outside_the_schema_fails_validation(openapi):
    with pytest.raises(AssertionError, match="does not match the OpenAPI schema"):
        openapi.validate("/api/v1/compare/", {"as_of": "2024-01-01", "rows": "not a list"})
    with pytest.raises(AssertionError, match="does not match the OpenAPI schema"):
        openapi.validate("/api/v1/jurisdictions/KR/", {"code": 7})
