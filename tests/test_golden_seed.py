"""Golden answers of the real seed (fixtures/research.json); see tests/golden_answers.py.

Regenerate after an intended change with ``make golden`` and review the diff of tests/golden/.
"""
import pytest
from django.test import Client

from jurisdictions.models import Assessment
from tests.golden_answers import (
    cases_of,
    check_world,
    compare_with_golden,
    fetch,
    frozen_clock,
    openapi_validator,
    render_json,
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


def test_the_seed_answers_as_golden(request, seeded, client, openapi):
    check_world(request, client, openapi, "seed")


def test_a_changed_seed_value_fails_the_golden_with_a_readable_diff(request, seeded, client):
    # One cell of the seed changes: the golden comparison names the file and shows the value.
    case = next(c for c in cases_of("seed") if c[0] == "compare-2026-12-01")
    assessment = Assessment.objects.filter(
        instrument__jurisdiction__code="KR", criterion__slug="ai_generated_explicit",
    ).order_by("pk").first()
    old = assessment.value
    assessment.value = "unclear" if old != "unclear" else "no"
    assessment.save()
    response = fetch(client, case[2], case[3], "json")
    with pytest.raises(pytest.fail.Exception) as failure:
        compare_with_golden(request, "seed", case[0], "json", render_json(response),
                            may_update=False)
    message = str(failure.value)
    assert "golden/seed/compare-2026-12-01.json" in message
    # The diff shows the demoted value beside the law it belongs to.
    assert f'+       "value": "{assessment.value}",' in message
    assert f'"pinpoint": "{assessment.pinpoint}"' in message
