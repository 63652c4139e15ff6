"""The SQL form of the status-as-of rule (``InstrumentQuerySet.with_status``) against the pure
rule (:func:`jurisdictions.coverage.status_as_of`), on every instrument of the real seed and of a
synthetic world with ties on one date, on every step date and the day before it (issue 16: a
rule is written once and its SQL form is tested against it)."""

from __future__ import annotations

import datetime
from collections import defaultdict

import pytest

from jurisdictions.coverage import Step, status_as_of
from jurisdictions.models import Instrument, StatusEvent
from tests import factories as F


def _disagreements() -> list[tuple]:
    steps = defaultdict(list)
    for pk, instrument, date, status, precision in StatusEvent.objects.values_list(
        "pk", "instrument_id", "date", "status", "date_precision"
    ):
        steps[instrument].append(Step(date, status, precision, pk))
    days = sorted(
        {s.date for ss in steps.values() for s in ss}
        | {s.date - datetime.timedelta(days=1) for ss in steps.values() for s in ss}
    )
    assert days, "no status event to compare"
    wrong = []
    for day in days:
        for pk, sql in Instrument.objects.with_status(day).values_list("pk", "status_at"):
            pure = status_as_of(steps.get(pk, []), day)
            if sql != pure:
                wrong.append((pk, day, sql, pure))
    return wrong


def test_sql_status_as_of_agrees_with_the_pure_rule_on_the_seed(seeded):
    assert _disagreements() == []


@pytest.mark.django_db
def test_sql_status_as_of_agrees_with_the_pure_rule_on_ties():
    bill = F.instrument("KR", slug="kr-ties", instrument_type="bill")
    # Several steps on one day, entered out of life order: the vocabulary's order decides.
    F.event(bill, "in_force", "2024-03-01")
    F.event(bill, "adopted", "2024-03-01")
    F.event(bill, "introduced", "2024-01-01", precision="month")
    F.event(bill, "passed_chamber", "2024-03-01")
    other = F.instrument("KR", slug="kr-repealed", instrument_type="statute")
    F.event(other, "repealed", "2025-01-01")
    F.event(other, "in_force", "2025-01-01")
    assert _disagreements() == []
    assert Instrument.objects.with_status(datetime.date(2024, 3, 1)).get(
        slug="kr-ties"
    ).status_at == "in_force"


def test_sql_enacted_date_agrees_with_the_model_on_the_seed(seeded):
    annotated = {
        pk: (on, precision)
        for pk, on, precision in Instrument.objects.with_enacted().values_list(
            "pk", "enacted_on", "enacted_precision"
        )
    }
    assert any(on for on, _ in annotated.values())
    for instrument in Instrument.objects.prefetch_related("status_events"):
        step = instrument.enacted()
        expected = (step.date, step.date_precision) if step else (None, None)
        assert annotated[instrument.pk] == expected, instrument.slug
