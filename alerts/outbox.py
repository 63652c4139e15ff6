"""Writing alerts to the outbox, in the transaction of the write that caused them (issue 14).

- **Coverage changes**: :data:`spans.maintain.coverage_rewritten` names the cells whose spans a
  write replaced, with their spans before and after; each cell whose answer (value or pending
  list) differs on some day (:func:`alerts.changes.coverage_change`) is one alert. Spans are
  re-derived on every write path (admin, API, imports, shell) inside its transaction, so the
  alert commits or rolls back with the write. Full rebuilds (seed loads, restores) send none.
- **Legal steps**: a status event added, removed, or corrected in what it says happened (status,
  date, precision, body) is one alert; a change of its description or notes alone is wording.

Each alert enqueues the fan-out task (:func:`alerts.tasks.dispatch`) through the database
task backend, whose row commits with the alert: nothing is sent for a write that rolled back.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save, pre_save

from jurisdictions.clock import today
from jurisdictions.feeds import dated, step_phrase
from jurisdictions.models import Criterion, Instrument, Jurisdiction, StatusEvent
from spans.maintain import coverage_rewritten

from .changes import coverage_change
from .models import Alert, AlertKind, StepChange, Timing

VALUE_WORDS = {"none": "no law found", "not_researched": "not researched"}
STEP_FIELDS = ("status", "date", "date_precision", "body")


def _answer_words(answer: dict) -> str:
    if not answer:
        return "no answer"
    words = VALUE_WORDS.get(answer["value"], answer["value"])
    if answer.get("pending"):
        words += f" (pending: {', '.join(answer['pending'])})"
    return words


TITLE_LENGTH = Alert._meta.get_field("title").max_length


def fitted(title: str) -> str:
    """``title`` within the column (a long pending list or name would not fit): cut, with an
    ellipsis, so that the write that caused the alert never fails on its length."""
    return title if len(title) <= TITLE_LENGTH else title[:TITLE_LENGTH - 1] + "…"


def coverage_title(code, name, slug, scope, change) -> str:
    """``California (US-CA), ai_generated_explicit, applicable law: no law found → yes as of
    today``."""
    head = f"{name} ({code}), {slug}, {scope} law: "
    move = f"{_answer_words(change.before)} → {_answer_words(change.after)}"
    if change.timing == Timing.CURRENT:
        return head + move + " as of today"
    since = change.changed_from.isoformat() if change.changed_from else "always"
    until = f" until {change.changed_to.isoformat()}" if change.changed_to else ""
    label = "corrected history" if change.timing == Timing.RETROACTIVE else "scheduled"
    return head + f"{label}: from {since}{until}, " + move


def _coverage_rewritten(sender, cells, **kwargs):
    day = today()
    found = [(cell, coverage_change(cell.before, cell.after, day)) for cell in cells]
    found = [(cell, change) for cell, change in found if change is not None]
    if not found:
        return
    places = Jurisdiction.objects.in_bulk({cell.jurisdiction_id for cell, _ in found})
    criteria = Criterion.objects.in_bulk({cell.criterion_id for cell, _ in found})
    alerts = []
    for cell, change in found:
        place, criterion = places[cell.jurisdiction_id], criteria[cell.criterion_id]
        alerts.append(Alert(
            kind=AlertKind.COVERAGE_CHANGE, jurisdiction=place, criterion=criterion,
            scope=cell.scope, timing=change.timing, changed_from=change.changed_from,
            changed_to=change.changed_to, before=change.before, after=change.after,
            value_changed=change.before.get("value") != change.after.get("value"),
            title=fitted(coverage_title(place.code, place.name, criterion.slug, cell.scope,
                                        change)),
        ))
    _queue(alerts)


def _step_state(event) -> dict:
    return {
        "status": event.status, "date": event.date.isoformat() if event.date else None,
        "precision": event.date_precision, "body": event.body or "",
    }


def _remember_step(sender, instance, raw=False, **kwargs):
    if raw or instance.pk is None:
        return
    old = sender.objects.filter(pk=instance.pk).values(*STEP_FIELDS, "instrument_id").first()
    instance._alerts_old = old


def _step_written(sender, instance, raw=False, created=False, **kwargs):
    """A step added, corrected (what happened, when, by which body) or removed."""
    if raw:
        return
    removed = kwargs.get("signal") is post_delete
    old = instance.__dict__.pop("_alerts_old", None)
    state = _step_state(instance)
    if removed:
        change, before, after = StepChange.REMOVED, state, {}
    elif created or old is None or old["instrument_id"] != instance.instrument_id:
        change, before, after = StepChange.ADDED, {}, state
    else:
        before = _step_state(StatusEvent(**{k: old[k] for k in STEP_FIELDS}))
        if before == state:
            return  # wording: description, notes, sources
        change, after = StepChange.CORRECTED, state
    instrument = Instrument.objects.select_related("jurisdiction").get(pk=instance.instrument_id)
    place = instrument.jurisdiction
    if change == StepChange.ADDED:
        timing = Timing.SCHEDULED if instance.date and instance.date > today() else Timing.CURRENT
    else:
        timing = Timing.RETROACTIVE
    name = instrument.short_name or instrument.title
    phrase = f"{step_phrase(instance, place.code)}"
    title = {
        StepChange.ADDED: f"{place.name} {name}: {phrase}",
        StepChange.CORRECTED: f"{place.name} {name}: step corrected, now {phrase}",
        StepChange.REMOVED: f"{place.name} {name}: step removed ({phrase})",
    }[change]
    _queue([Alert(
        kind=AlertKind.LEGAL_STEP, jurisdiction=place, instrument=instrument,
        instrument_slug=instrument.slug, timing=timing, step_change=change,
        changed_from=instance.date, before=before, after=after, title=fitted(title),
    )])


def _queue(alerts: list[Alert]) -> None:
    """Write the alerts and enqueue their fan-out, in the caller's transaction."""
    from .tasks import dispatch

    Alert.objects.bulk_create(alerts)
    dispatch.enqueue()


def connect():
    coverage_rewritten.connect(_coverage_rewritten, dispatch_uid="alerts_coverage")
    pre_save.connect(_remember_step, sender=StatusEvent, dispatch_uid="alerts_step_old")
    post_save.connect(_step_written, sender=StatusEvent, dispatch_uid="alerts_step_save")
    post_delete.connect(_step_written, sender=StatusEvent, dispatch_uid="alerts_step_delete")
