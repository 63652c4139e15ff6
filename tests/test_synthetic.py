"""``manage.py seed_synthetic``: the synthetic benchmark dataset (issue 6).

Runs at the ``tiny`` scale (40 instruments) on top of every ISO 3166-2 subdivision, which is
synced once for the module and rolled back at its end. Checks counts, validity (every instrument,
status event and assessment cites a source; dates follow their precision; steps in life order;
search text folded), history, determinism (two runs give the same rows) and that a second run
does nothing or refuses.
"""
from __future__ import annotations

import io
from collections import defaultdict

import pytest
from django.core.management import CommandError, call_command
from django.db import connections, transaction

from jurisdictions import synthetic
from jurisdictions.choices import STATUS_SEQUENCE, DatePrecision, ResearchStatus
from jurisdictions.models import (
    Assessment,
    AssessmentSource,
    Criterion,
    Instrument,
    InstrumentSource,
    Jurisdiction,
    Source,
    StatusEvent,
    StatusEventSource,
    fold_for_search,
)
from jurisdictions.reference import DEFAULT_CRITERIA
from jurisdictions.seed import sync_reference

from . import factories

TINY = synthetic.SCALES["tiny"]


@pytest.fixture(scope="module")
def _iso_reference(django_db_setup, django_db_blocker):
    """Every ISO 3166 jurisdiction and the default criteria, for the whole module."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            sync_reference(all_subdivisions=True)
            yield
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            for conn in connections.all():
                conn.close_if_unusable_or_obsolete()


@pytest.fixture
def iso_reference(_iso_reference, db):
    """Every ISO 3166 jurisdiction and the default criteria (no research data)."""
    return None


def seed(*args) -> str:
    out = io.StringIO()
    call_command("seed_synthetic", *args, stdout=out, verbosity=0)
    return out.getvalue()


class _Rollback(Exception):
    pass


def snapshot() -> dict[str, list[tuple]]:
    """Every synthetic row by natural keys, without primary keys or timestamps."""
    syn = synthetic.SLUG_PREFIX
    instrument_fields = [
        f.attname for f in Instrument._meta.concrete_fields
        if f.attname not in ("id", "created_at", "updated_at", "jurisdiction_id")
    ]
    source_fields = [
        f.attname for f in Source._meta.concrete_fields
        if f.attname not in ("id", "created_at", "updated_at")
    ]
    return {
        "instruments": list(
            Instrument.objects.filter(slug__startswith=syn)
            .order_by("slug").values_list("jurisdiction__code", *instrument_fields)
        ),
        "events": list(
            StatusEvent.objects.filter(instrument__slug__startswith=syn)
            .order_by("instrument__slug", "date", "status", "date_precision")
            .values_list("instrument__slug", "status", "date", "date_precision", "description")
        ),
        "assessments": list(
            Assessment.objects.filter(instrument__slug__startswith=syn)
            .order_by("instrument__slug", "criterion__slug")
            .values_list("instrument__slug", "criterion__slug", "value", "pinpoint", "note",
                         "commencement_date", "verified_on")
        ),
        "sources": list(
            Source.objects.filter(url__startswith=synthetic.URL_BASE)
            .order_by("url").values_list(*source_fields)
        ),
        "instrument_citations": list(
            InstrumentSource.objects.filter(instrument__slug__startswith=syn)
            .order_by("instrument__slug", "source__url")
            .values_list("instrument__slug", "source__url")
        ),
        "event_citations": list(
            StatusEventSource.objects.filter(status_event__instrument__slug__startswith=syn)
            .order_by("status_event__instrument__slug", "status_event__date",
                      "status_event__status", "source__url")
            .values_list("status_event__instrument__slug", "status_event__status",
                         "status_event__date", "source__url")
        ),
        "assessment_citations": list(
            AssessmentSource.objects.filter(assessment__instrument__slug__startswith=syn)
            .order_by("assessment__instrument__slug", "assessment__criterion__slug")
            .values_list("assessment__instrument__slug", "assessment__criterion__slug",
                         "source__url")
        ),
        "jurisdictions": list(
            Jurisdiction.objects.order_by("code").values_list(
                "code", "research_status", "last_reviewed_on", "research_notes"
            )
        ),
    }


def seeded_snapshot(*args) -> dict[str, list[tuple]]:
    """Seed inside a savepoint, take a snapshot, roll the seed back."""
    try:
        with transaction.atomic():
            seed(*args)
            result = snapshot()
            raise _Rollback
    except _Rollback:
        pass
    return result


def test_tiny_scale_counts(iso_reference):
    output = io.StringIO()
    call_command("seed_synthetic", "--scale", "tiny", stdout=output)
    instruments = Instrument.objects.filter(slug__startswith="syn-")
    assert instruments.count() == TINY == 40
    assert Assessment.objects.count() == TINY * len(DEFAULT_CRITERIA) == 360
    assert Source.objects.filter(url__startswith="https://example.org/syn/").count() == 2 * TINY
    assert InstrumentSource.objects.count() == 2 * TINY
    events = StatusEvent.objects.count()
    # Life paths have 1 to 7 steps, about 4 on average.
    assert 2 * TINY <= events <= 6 * TINY
    assert StatusEventSource.objects.count() == events
    assert AssessmentSource.objects.count() == 360
    assert "rows written (40 instruments), history included" in output.getvalue()


def test_every_row_cites_a_source_and_is_marked_synthetic(iso_reference):
    seed("--scale", "tiny")
    assert not Instrument.objects.filter(citations__isnull=True).exists()
    assert not StatusEvent.objects.filter(citations__isnull=True).exists()
    assert not Assessment.objects.filter(citations__isnull=True).exists()
    for instrument in Instrument.objects.all():
        assert instrument.slug.startswith("syn-")
        assert instrument.official_url.startswith("https://example.org/syn/")
        assert instrument.summary.startswith("[synthetic]")
        # bulk_create skips save(): the generator ran clean(), which folds the search text.
        assert instrument.search_text == fold_for_search(
            instrument.title, instrument.original_title, instrument.short_name,
            instrument.citation, instrument.summary,
        )
    for source in Source.objects.filter(url__contains="/syn/"):
        assert source.url.startswith("https://example.org/syn/")
        assert source.search_text == fold_for_search(source.title, source.publisher, source.url)


def test_dates_follow_precision_and_life_order(iso_reference):
    seed("--scale", "tiny")
    by_instrument = defaultdict(list)
    for event in StatusEvent.objects.order_by("pk"):
        if event.date_precision == DatePrecision.MONTH:
            assert event.date.day == 1
        if event.date_precision == DatePrecision.YEAR:
            assert (event.date.month, event.date.day) == (1, 1)
        by_instrument[event.instrument_id].append(event)
    precisions = set()
    for events in by_instrument.values():
        # Written in life order: sorting by the domain's life order changes nothing.
        assert sorted(events, key=StatusEvent.sort_key) == events
        precisions |= {e.date_precision for e in events}
    assert DatePrecision.DAY in precisions and len(precisions) >= 2
    first_statuses = {events[0].status for events in by_instrument.values()}
    assert first_statuses <= {"introduced", "in_force"}
    assert all(
        STATUS_SEQUENCE[e.status] >= 0 for events in by_instrument.values() for e in events
    )


def test_history_for_every_synthetic_row(iso_reference):
    seed("--scale", "tiny")
    assert Instrument.history.filter(slug__startswith="syn-").count() == TINY
    assert Assessment.history.count() == Assessment.objects.count()
    assert StatusEvent.history.count() == StatusEvent.objects.count()
    assert AssessmentSource.history.count() == AssessmentSource.objects.count()
    record = Instrument.history.filter(slug__startswith="syn-").first()
    assert record.history_type == "+"
    assert record.history_change_reason == synthetic.CHANGE_REASON


def test_research_statuses_mixed_and_real_research_untouched(iso_reference):
    kr = Jurisdiction.objects.get(code="KR")
    kr.research_status = ResearchStatus.IN_PROGRESS
    kr.research_notes = "Real research note."
    kr.save()
    seed("--scale", "tiny")
    kr.refresh_from_db()
    assert (kr.research_status, kr.research_notes) == ("in_progress", "Real research note.")
    touched = Jurisdiction.objects.filter(research_notes=synthetic.JURISDICTION_NOTE)
    statuses = set(touched.values_list("research_status", flat=True))
    assert statuses == {"reviewed", "in_progress"}
    assert not touched.filter(research_status="reviewed", last_reviewed_on__isnull=True).exists()
    assert Jurisdiction.objects.filter(research_status="not_researched").count() > 1000


def test_two_runs_give_identical_rows(iso_reference):
    first = seeded_snapshot("--scale", "tiny")
    second = seeded_snapshot("--scale", "tiny")
    assert len(first["instruments"]) == TINY
    assert first == second
    other_seed = seeded_snapshot("--scale", "tiny", "--seed", "7")
    assert other_seed["instruments"] != first["instruments"]


def test_second_run_at_same_size_writes_nothing(iso_reference):
    seed("--scale", "tiny")
    rows = Assessment.objects.count(), StatusEvent.objects.count(), Source.objects.count()
    output = seed("--scale", "tiny")
    assert "already loaded: 40 synthetic instruments; nothing written" in output
    assert (Assessment.objects.count(), StatusEvent.objects.count(), Source.objects.count()) == rows


def test_run_at_another_size_refuses(iso_reference):
    seed("--instruments", "10")
    with pytest.raises(CommandError, match="already holds 10 synthetic instruments, not 40"):
        seed("--scale", "tiny")
    assert Instrument.objects.count() == 10


def test_refuses_a_database_with_real_instruments(iso_reference):
    factories.instrument("KR", slug="kr-real-act")
    with pytest.raises(CommandError, match="holds real instruments"):
        seed("--instruments", "5")
    assert Instrument.objects.count() == 1
    seed("--instruments", "5", "--allow-real-data")
    assert Instrument.objects.filter(slug__startswith="syn-").count() == 5


def test_generator_alone_is_deterministic(iso_reference):
    rows = synthetic.jurisdiction_rows()
    criteria = {c.slug: c for c in Criterion.objects.all()}

    def plan(seed_value):
        generator = synthetic.Generator(rows, criteria, 25, seed_value)
        chunks = list(generator.chunks(size=10))
        return [
            (i.slug, i.title, i.jurisdiction_id, [(e.status, e.date, e.date_precision)
                                                   for e in c.events if e.instrument is i])
            for c in chunks for i in c.instruments
        ]

    assert plan(1) == plan(1)
    assert plan(1) != plan(2)
    assert len(plan(1)) == 25
