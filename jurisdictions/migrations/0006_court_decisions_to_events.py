"""Issue 15: a court decision is not law here. Each instrument of the retired type
``court_decision`` is also recorded as an event of kind ``court_ruling`` — dated by its earliest
step, in its jurisdiction, citing the instrument's and its steps' sources — with a history
record for every row written.

The instrument itself is kept (nothing of the legal data is deleted): its type is retired, it
never decides coverage, and the data lint names it until the research replaces it with the
assessments of the provision the court applied (basis ``court_reading``). An instrument with no
dated step gets no event (the lint names it too). Running it again adds nothing; reversing it
leaves the events, which are data.
"""

from django.db import migrations
from django.utils import timezone

REASON = "issue 15: court decision recorded as a court_ruling event"


def _create(apps, model_name, **fields):
    """Create a row and its 'created' history record (migrations do not fire history signals)."""
    model = apps.get_model("jurisdictions", model_name)
    historical = apps.get_model("jurisdictions", f"Historical{model_name}")
    row = model.objects.create(**fields)
    if historical.objects.filter(id=row.pk).exists():
        return row  # run with the live models, whose signals wrote the record already
    historical.objects.create(
        **{f.attname: getattr(row, f.attname) for f in model._meta.concrete_fields},
        history_date=timezone.now(),
        history_type="+",
        history_change_reason=REASON,
    )
    return row


def court_decisions_to_events(apps, schema_editor):
    from jurisdictions.models import fold_for_search

    Instrument = apps.get_model("jurisdictions", "Instrument")
    Event = apps.get_model("jurisdictions", "Event")
    StatusEvent = apps.get_model("jurisdictions", "StatusEvent")
    InstrumentSource = apps.get_model("jurisdictions", "InstrumentSource")
    StatusEventSource = apps.get_model("jurisdictions", "StatusEventSource")
    for instrument in Instrument.objects.filter(instrument_type="court_decision").order_by("pk"):
        slug = f"court-ruling-{instrument.slug}"[:160]
        first = StatusEvent.objects.filter(instrument=instrument).order_by("date", "pk").first()
        if first is None or Event.objects.filter(slug=slug).exists():
            continue
        title = (instrument.short_name or instrument.title)[:500]
        event = _create(
            apps,
            "Event",
            slug=slug,
            date=first.date,
            date_precision=first.date_precision,
            title=title,
            kind="court_ruling",
            summary=instrument.summary,
            notes=(
                f"Recorded until issue 15 as the instrument {instrument.slug} (a court decision), "
                "which is kept, retired and excluded from coverage."
            ),
            figures={},
            confidence=instrument.confidence,
            instrument=None,
            search_text=fold_for_search(title, instrument.summary),
        )
        _create(apps, "EventJurisdiction", event=event, jurisdiction_id=instrument.jurisdiction_id)
        source_ids = list(
            InstrumentSource.objects.filter(instrument=instrument)
            .order_by("pk")
            .values_list("source_id", flat=True)
        ) + list(
            StatusEventSource.objects.filter(status_event__instrument=instrument)
            .order_by("pk")
            .values_list("source_id", flat=True)
        )
        for source_id in dict.fromkeys(source_ids):
            _create(apps, "EventSource", event=event, source_id=source_id)


class Migration(migrations.Migration):
    dependencies = [("jurisdictions", "0005_trustworthy_answers")]

    operations = [migrations.RunPython(court_decisions_to_events, migrations.RunPython.noop)]
