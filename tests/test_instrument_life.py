"""The SQL forms of the status-as-of rule (``InstrumentQuerySet.with_status``, and
``status_in``, which reads the status spans) against the pure rule
(:func:`jurisdictions.coverage.status_as_of`), on every instrument of the real seed and of a
synthetic world with ties on one date, on every step date and the day before it (issue 16: a
rule is written once and its SQL form is tested against it)."""

from __future__ import annotations

import datetime
from collections import defaultdict

import pytest

from jurisdictions.choices import APPLYING_STATUSES, PENDING_STATUSES, Status
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
    filters = {"any": set(Status.values), "applying": APPLYING_STATUSES,
               "pending": PENDING_STATUSES}
    for day in days:
        pure = {}
        for pk, sql in Instrument.objects.with_status(day).values_list("pk", "status_at"):
            pure[pk] = status_as_of(steps.get(pk, []), day)
            if sql != pure[pk]:
                wrong.append((pk, day, sql, pure[pk]))
        for name, statuses in filters.items():
            spans = set(Instrument.objects.status_in(statuses, day).values_list("pk", flat=True))
            expected = {pk for pk, status in pure.items() if status in statuses}
            wrong.extend((pk, day, name, "status_in") for pk in spans ^ expected)
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
    mine = Instrument.objects.filter(slug__in=["kr-ties", "kr-repealed"])
    for status, slugs in [("in_force", ["kr-ties"]), ("adopted", []), ("repealed", [])]:
        assert list(mine.status_in([status], datetime.date(2024, 3, 1))
                    .values_list("slug", flat=True)) == slugs
    assert list(mine.status_in(["repealed"], datetime.date(2025, 1, 1))
                .values_list("slug", flat=True)) == ["kr-repealed"]


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
