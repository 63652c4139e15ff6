"""Coverage over time, materialised (issue 12): the spans, their upkeep on writes, the history
endpoints and pages — on the real seed data."""
import datetime

import pytest
from django.db.models import F
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from jurisdictions.choices import ResearchStatus, Scope
from jurisdictions.coverage import compute
from jurisdictions.models import Criterion, Instrument, Jurisdiction
from spans.check import differences
from spans import maintain
from alerts.models import Alert
from spans.models import CoverageSpan, InstrumentStatusSpan

from . import factories

pytestmark = pytest.mark.django_db

D = datetime.date
HISTORY = "/api/v1/coverage-history/"
CHANGES = "/api/v1/coverage-changes/"


def us_states():
    return list(Jurisdiction.objects.filter(parent__code="US").order_by("code"))


# --- the spans on the seed --------------------------------------------------------------------
def test_check_spans_finds_no_difference_after_the_seed_load(seeded, capsys):
    assert CoverageSpan.objects.exists() and InstrumentStatusSpan.objects.exists()
    call_command("check_spans", sample=60, seed=12)
    assert "no difference" in capsys.readouterr().out
    assert differences(codes=["US", "US-CA", "US-AL", "GB", "EU", "KR", "JP"]) == []


def test_check_spans_exits_non_zero_on_a_stale_span(seeded):
    span = CoverageSpan.objects.filter(
        jurisdiction__code="US-AL", criterion__slug="ai_generated_explicit", scope="own",
        value="yes",
    ).get()
    CoverageSpan.objects.filter(pk=span.pk).update(value="no")  # bypasses every hook
    found = differences(codes=["US-AL"])
    assert any("US-AL ai_generated_explicit own" in line for line in found), found
    assert any("stored, not derived" in line for line in found)
    with pytest.raises(CommandError, match="differ"):
        call_command("check_spans", stdout=open("/dev/null", "w"), stderr=open("/dev/null", "w"))


def test_the_us_states_answering_yes_rise_as_the_enactment_dates_say(seeded, client):
    """The panel, counted at the first of each year, equals the request-time computation."""
    response = client.get(
        HISTORY,
        {"within": "US", "criterion": "ai_generated_explicit", "scope": "own", "page_size": 500},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == len(body["results"])
    states = {j.code for j in us_states()}
    criterion = Criterion.objects.get(slug="ai_generated_explicit")

    def yes_on(day):
        return {
            r["jurisdiction"] for r in body["results"]
            if r["jurisdiction"] in states and r["value"] == "yes"
            and (r["valid_from"] is None or r["valid_from"] <= day.isoformat())
            and (r["valid_to"] is None or day.isoformat() < r["valid_to"])
        }

    counts = []
    for year in range(2018, 2027):
        day = D(year, 1, 1)
        coverage = compute(us_states(), [criterion], day, Scope.OWN, with_sources=False)
        expected = {j.code for j, cell in coverage.column(criterion.slug) if cell.value == "yes"}
        assert yes_on(day) == expected, day
        counts.append(len(expected))
    assert counts == sorted(counts), "the states answering yes only rise in the research"
    assert counts[-1] > counts[0] + 10
    # Alabama's HB 168 came into force on 1 October 2024 (research: us-al-hb-168-2024).
    assert "US-AL" not in yes_on(D(2024, 9, 30))
    assert "US-AL" in yes_on(D(2024, 10, 1))


def test_coverage_changes_names_the_date_and_the_step(seeded, client):
    response = client.get(CHANGES, {
        "from": "2024-09-30", "to": "2024-10-01", "within": "US",
        "criterion": "ai_generated_explicit", "scope": "own",
    })
    assert response.status_code == 200
    body = response.json()
    alabama = [r for r in body["results"] if r["jurisdiction"] == "US-AL"]
    assert len(alabama) == 1
    assert alabama[0]["value_to"] == "yes" and alabama[0]["value_from"] != "yes"
    (change,) = alabama[0]["changes"]
    assert change["date"] == "2024-10-01"
    assert {"instrument": "us-al-hb-168-2024", "status": "in_force"}.items() <= (
        change["caused_by"][0].items()
    )
    csv = client.get(CHANGES, {
        "from": "2024-09-30", "to": "2024-10-01", "within": "US",
        "criterion": "ai_generated_explicit", "scope": "own", "format": "csv",
    })
    text = b"".join(csv.streaming_content).decode("utf-8-sig")
    assert "US-AL,Alabama,ai_generated_explicit,own," in text
    assert "us-al-hb-168-2024:in_force" in text


def test_history_and_changes_read_their_spans_in_one_query_whatever_their_number(
    seeded, client
):
    """The panel reads only what a span's answer names (`spans.history.panel`): no row read
    later, so the query count of a page of the history and of the changes is the same for
    one country and for every state of the US."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count(path, params):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path, params)
        assert response.status_code == 200
        return len(queries), response.json()

    states = Jurisdiction.objects.within("US").order_by("code").values_list("code", flat=True)
    cells = {"criterion": "ai_generated_explicit", "scope": "own"}
    one = {"jurisdictions": "US-AL", **cells}
    many = {"jurisdictions": ",".join(states), **cells}
    dates = {"from": "2020-01-01", "to": "2026-06-30"}
    small, few = count(CHANGES, {**one, **dates})
    large, found = count(CHANGES, {**many, **dates})
    assert len(found["results"]) > 10 * len(few["results"]) > 0
    assert small == large
    small, page = count(HISTORY, {**one, "page_size": 2})
    large, full = count(HISTORY, {**many, "page_size": 100})
    assert len(full["results"]) == 100 and len(page["results"]) == 2
    assert small == large
    assert page["results"][0]["jurisdiction_name"] == "Alabama"


def test_coverage_history_csv_streams_every_span(seeded, client):
    response = client.get(HISTORY, {"within": "US", "criterion": "possession", "format": "csv"})
    assert response.status_code == 200 and response.streaming
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0].startswith("jurisdiction,jurisdiction_name,criterion,scope,valid_from")
    expected = CoverageSpan.objects.filter(
        jurisdiction__in=Jurisdiction.objects.within("US"), criterion__slug="possession"
    ).count()
    assert len(lines) - 1 == expected


@pytest.mark.parametrize(
    "path, params, name",
    [
        (CHANGES, {"to": "2024-01-01"}, "from"),
        (CHANGES, {"from": "2024-02-30"}, "from"),
        (CHANGES, {"from": "2025-01-01", "to": "2024-01-01"}, "from"),
        (CHANGES, {"from": "2024-01-01", "criterion": "nope"}, "criterion"),
        (HISTORY, {"jurisdicton": "KR"}, "jurisdicton"),
        (HISTORY, {"scope": "everywhere"}, "scope"),
        (HISTORY, {"kind": "planet"}, "kind"),
        (HISTORY, {"page_size": "0"}, "page_size"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(client, db, path, params, name):
    response = client.get(path, params)
    assert response.status_code == 400
    assert name in response.json()["errors"]


@pytest.mark.parametrize("path", [HISTORY, CHANGES])
def test_criteria_is_refused_with_a_hint_to_criterion(client, db, path):
    """The history endpoints name the criteria parameter as compare and gaps do."""
    response = client.get(path, {"from": "2024-01-01", "criteria": "possession"})
    assert response.status_code == 400
    assert response.json()["errors"]["criteria"] == ["Unknown parameter. Did you mean 'criterion'?"]
    assert "criterion" in response.json()["accepted_parameters"]


def test_the_history_endpoints_read_the_one_selection_form(seeded, client):
    """criterion takes several values; kind, within, group … narrow together as in compare."""
    body = client.get(HISTORY, {
        "kind": "subdivision", "within": "US", "criterion": "possession,ai_generated_explicit",
        "scope": "own", "page_size": 1000,
    }).json()
    assert body["count"] == len(body["results"]) > 0
    states = {j.code for j in us_states()}
    assert {r["jurisdiction"] for r in body["results"]} == states
    assert {r["criterion"] for r in body["results"]} == {"possession", "ai_generated_explicit"}
    assert "criterion=possession,ai_generated_explicit" in body["permalink"]
    assert "kind=subdivision" in body["permalink"]
    expected = CoverageSpan.objects.filter(
        jurisdiction__parent__code="US", scope="own",
        criterion__slug__in=["possession", "ai_generated_explicit"],
    ).count()
    assert body["count"] == expected
    changes = client.get(CHANGES, {
        "from": "2015-01-01", "to": "2026-01-01", "group": "G7", "criterion": "possession",
    }).json()
    assert changes["count"] > 0
    g7 = {"CA", "DE", "FR", "GB", "IT", "JP", "US"}
    assert {r["jurisdiction"] for r in changes["results"]} <= g7
    bad = client.get(HISTORY, {"kind": "planet"})
    assert bad.status_code == 400 and "Unknown kind: planet" in bad.json()["errors"]["kind"][0]


def test_the_schema_lists_the_history_endpoints(client, db):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    assert "/api/v1/coverage-history/" in schema["paths"]
    assert "/api/v1/coverage-changes/" in schema["paths"]


def test_pages_show_what_changed_and_the_chart(seeded, client):
    page = client.get(reverse("pages:what-changed"), {
        "from": "2024-09-30", "to": "2024-10-01", "within": "US",
        "criterion": "ai_generated_explicit", "scope": "own",
    })
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-code="US-AL"' in html and "us-al-hb-168-2024" in html
    gaps = client.get(reverse("pages:gaps"), {
        "criterion": "ai_generated_explicit", "within": "US", "scope": "own",
    }).content.decode()
    assert '<time datetime="2024-10-01">2024-10-01</time>' in gaps
    assert "/charts/yes-over-time.svg?within=US" in gaps
    svg = client.get(reverse("pages:yes-over-time"), {
        "criterion": "ai_generated_explicit", "within": "US", "scope": "own",
    })
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
    assert svg.content.lstrip().startswith(b"<?xml") and b"<svg" in svg.content
    assert client.get(reverse("pages:home")).status_code == 200
    assert client.get(reverse("pages:what-changed"), {"from": "2024-13-01"}).status_code == 400


# --- upkeep on writes ---------------------------------------------------------------------
def test_a_federal_step_re_derives_every_state(seeded):
    instrument = Instrument.objects.get(slug="us-18-usc-1466a")
    step = instrument.status_events.order_by("date").last()
    before = CoverageSpan.objects.filter(
        jurisdiction__code="US-CA", scope="applicable", valid_from=step.date
    ).count()
    step.date = step.date + datetime.timedelta(days=40)
    step.save()
    moved = CoverageSpan.objects.filter(
        jurisdiction__code="US-CA", scope="applicable", valid_from=step.date
    ).count()
    assert before and moved, "the state's spans follow the federal step"
    assert differences(codes=["US", "US-CA", "US-TX", "US-WY"]) == []


# A status event saved (its history row included) and the spans it changes re-derived, besides
# the INSERTs of new spans: the old step, the update and its history row, the instrument's place
# and criteria, its other steps, the hierarchy below it, its status spans, the coverage inputs,
# the stored spans the window touches and the DELETE of the stale ones.
FAN_OUT_QUERIES = 19
# The alerts outbox (issue 14) adds, in the same transaction: the step as it was, its instrument
# with its place, the places and criteria of the changed cells, the legal-step alert, the two
# fan-out tasks enqueued; plus one INSERT per batch of coverage alerts (one per changed cell).
ALERT_QUERIES = 7
CHECKED = ["US", "US-CA", "US-TX", "US-AL", "US-WY", "US-NY"]


def _federal_law():
    """A US federal law of the seed that decides the states' cells, its steps in life order."""
    instrument = Instrument.objects.get(slug="us-18-usc-1466a")
    return instrument, list(instrument.status_events.order_by("date", "pk"))


def _edit(kind, instrument, steps):
    from jurisdictions.models import StatusEvent

    if kind == "moved a day later":  # the benchmark's write
        steps[-1].date += datetime.timedelta(days=1)
        steps[-1].save()
    elif kind == "moved past the next step":
        steps[0].date = steps[1].date + datetime.timedelta(days=3)
        steps[0].save()
    elif kind == "moved back past the previous step":
        steps[-1].date = steps[0].date - datetime.timedelta(days=2)
        steps[-1].save()
    elif kind == "status changed":
        steps[-1].status = "repealed"
        steps[-1].save()
    elif kind == "made uncertain":
        steps[-1].date_precision = "on_or_before"
        steps[-1].save()
    elif kind == "deleted":
        steps[0].citations.all().delete()
        steps[0].delete()
    elif kind == "added":
        StatusEvent.objects.create(
            instrument=instrument, status="repealed",
            date=steps[-1].date + datetime.timedelta(days=365), date_precision="day",
        )
    elif kind == "moved to another instrument":
        other = Instrument.objects.filter(jurisdiction__code="US").exclude(pk=instrument.pk)
        steps[-1].instrument = other.filter(assessments__isnull=False).order_by("slug").first()
        steps[-1].date += datetime.timedelta(days=200)
        steps[-1].save()


def _spans_of(codes):
    return {
        repr(row) for row in CoverageSpan.objects.filter(jurisdiction__code__in=codes).values_list(
            "jurisdiction__code", "criterion__slug", "scope", "valid_from", "valid_to", "value",
            "approximate", "deciding", "pending", "caused_by",
        )
    }


@pytest.mark.parametrize("kind", [
    "moved a day later", "moved past the next step", "moved back past the previous step",
    "status changed", "made uncertain", "deleted", "added", "moved to another instrument",
])
def test_a_federal_step_re_derives_only_what_changed_and_the_spans_stay_right(seeded, kind):
    """The fan-out re-derives the cells of the step's criteria over the dates the step can
    change and keeps the stored spans elsewhere: afterwards the spans of the US and its states
    are the spans a whole derivation gives."""
    instrument, steps = _federal_law()
    assert len(steps) >= 2
    before = _spans_of(CHECKED)
    _edit(kind, instrument, steps)
    assert differences(codes=CHECKED, rules=False) == []
    after = _spans_of(CHECKED)
    assert before != after, "the edit changes some span (else this test proves nothing)"


def test_the_fan_out_writes_only_the_changed_spans_in_a_fixed_number_of_queries(seeded):
    """A federal step moved a day: a fixed number of queries however many states and spans
    there are (PostgreSQL adds two row locks), plus one INSERT per batch of new spans
    (``maintain.INSERT_BATCH`` rows, sent with the statement once); only the spans that differ
    are replaced."""
    import math

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    instrument, steps = _federal_law()
    states = CoverageSpan.objects.filter(jurisdiction__parent__code="US")
    stored = {pk: (start, end) for pk, start, end in states.values_list(
        "pk", "valid_from", "valid_to"
    )}
    everything = set(CoverageSpan.objects.values_list("pk", flat=True))
    alerts_before = Alert.objects.filter(kind="coverage_change").count()
    moved = steps[-1].date
    with CaptureQueriesContext(connection) as queries:
        steps[-1].date += datetime.timedelta(days=1)
        steps[-1].save()
    inserted = len(set(CoverageSpan.objects.values_list("pk", flat=True)) - everything)
    assert inserted
    batch = maintain.INSERT_BATCH
    alerts = Alert.objects.filter(kind="coverage_change").count() - alerts_before
    alert_columns = [f for f in Alert._meta.concrete_fields if not f.primary_key]
    alert_batch = connection.ops.bulk_batch_size(alert_columns, [None] * alerts)
    locks = 2 if connection.features.has_select_for_update else 0
    assert len(queries) == (FAN_OUT_QUERIES + locks + math.ceil(inserted / batch)
                            + ALERT_QUERIES + math.ceil(alerts / alert_batch)), (
        len(queries), inserted, batch, alerts,
    )
    assert differences(codes=CHECKED) == []
    replaced = set(stored) - set(states.values_list("pk", flat=True))

    # Only spans touching the days between the step's old and new date were replaced.
    def touches(start, end):
        return (start is None or start <= steps[-1].date) and (end is None or end >= moved)

    assert replaced and all(touches(*stored[pk]) for pk in replaced)
    assert len(replaced) < len(stored) / 5


def test_research_status_and_deletions_re_derive(seeded):
    place = factories.jurisdiction("AQ")  # a place with no law in the seed
    place.research_status = ResearchStatus.NOT_RESEARCHED
    place.save()
    criterion = factories.criterion("possession")
    law = factories.instrument("AQ")
    factories.event(law, "in_force", D(2020, 1, 1))
    factories.assessment(law, "possession", value="yes")
    spans = CoverageSpan.objects.filter(jurisdiction=place, criterion=criterion, scope="own")
    assert set(spans.values_list("value", flat=True)) == {"not_researched"}
    place.research_status = ResearchStatus.IN_PROGRESS
    place.save()
    ordered = spans.order_by(F("valid_from").asc(nulls_first=True))
    assert list(ordered.values_list("value", "valid_from")) == [
        ("none", None), ("yes", D(2020, 1, 1)),
    ]
    for assessment in law.assessments.all():
        assessment.citations.all().delete()
        assessment.delete()
    assert list(spans.values_list("value", flat=True)) == ["none"]
    assert differences(codes=["AQ"]) == []
