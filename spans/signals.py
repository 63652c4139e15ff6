"""Every save and delete of the data the coverage rules read marks the spans it touches
(:func:`spans.maintain.mark`), inside the write's transaction: admin, bulk actions, the API,
imports and the shell all write through ``save()``/``delete()``. Raw saves (``loaddata``,
``restore``) are left to the batch that wraps them (``batch(everything=True)``).

Each write marks only the cells that read what it wrote: a status event or an instrument the
cells of the criteria its instrument is assessed for, an assessment its criterion's — in the
instrument's jurisdiction (both scopes) and below it (``applicable``). An instrument, status
event or assessment moved to another instrument, jurisdiction or criterion marks the old place
too (read before the save). A jurisdiction's own change (research status, parent, kind) marks
all its cells and its descendants'.
"""
from django.db.models.signals import post_delete, post_save, pre_save

from jurisdictions.models import (
    Assessment,
    BlocMembership,
    Criterion,
    Instrument,
    Jurisdiction,
    StatusEvent,
)

from . import maintain


def _place_of(instrument_id) -> tuple[int | None, set[int]]:
    """An instrument's jurisdiction and the criteria it is assessed for (one query): the cells
    that read it are those criteria's, in that jurisdiction and below it."""
    rows = list(
        Instrument.objects.filter(pk=instrument_id).order_by()
        .values_list("jurisdiction_id", "assessments__criterion_id")
    )
    return (rows[0][0] if rows else None), {c for _j, c in rows if c is not None}


def _cells(places) -> dict[int, tuple[set[int], tuple]]:
    """``{jurisdiction id: ({criterion id}, window)}`` (:func:`spans.maintain.refresh`) from
    ``(jurisdiction id, criteria, window)`` triples."""
    cells: dict[int, tuple[set[int], tuple]] = {}
    for jurisdiction_id, criteria, window in places:
        if jurisdiction_id is not None and criteria:
            known, known_window = cells.get(jurisdiction_id, (set(), None))
            cells[jurisdiction_id] = (known | criteria, maintain.widest(known_window, window))
    return cells


def _step(date, status, precision) -> tuple:
    return (StatusEvent._meta.get_field("date").to_python(date), str(status), str(precision))


def _step_place(instrument_id, event_pk, old, new) -> tuple:
    """The cells a step of ``instrument_id`` changed from ``old`` to ``new`` reads, and the
    window of dates it can have changed (:func:`spans.maintain.step_window`)."""
    jurisdiction_id, criteria = _place_of(instrument_id)
    others = StatusEvent.objects.filter(instrument_id=instrument_id).exclude(pk=event_pk)
    window = maintain.step_window(list(others.values_list("date", flat=True)), old, new)
    return (jurisdiction_id, criteria, window)


_NOTHING = {"places": [], "instruments": []}


def _remember_old(sender, instance, raw=False, **kwargs):
    """Before a save of an existing row: where it was (the cells that read it, its instrument)."""
    if raw or instance.pk is None:
        return
    if sender is Instrument:
        jurisdiction_id, criteria = _place_of(instance.pk)
        instance._spans_old = {
            "places": [(jurisdiction_id, criteria, maintain.WHOLE)], "instruments": [],
        }
    elif sender is Assessment:
        old = sender.objects.filter(pk=instance.pk).values_list(
            "instrument__jurisdiction_id", "criterion_id"
        )
        instance._spans_old = {
            "places": [(j, {c}, maintain.WHOLE) for j, c in old], "instruments": [],
        }
    else:
        instance._spans_old_step = list(sender.objects.filter(pk=instance.pk).values_list(
            "instrument_id", "date", "status", "date_precision"
        ))


def _instrument_written(sender, instance, raw=False, **kwargs):
    """An instrument: the cells of the criteria it is assessed for, where it is and where it
    was (its slug, type and place are what the rules read of it), and its status spans."""
    if raw:
        return
    old = instance.__dict__.pop("_spans_old", _NOTHING)
    _jurisdiction, criteria = _place_of(instance.pk)
    maintain.mark(
        cells=_cells([(instance.jurisdiction_id, criteria, maintain.WHOLE), *old["places"]]),
        instruments=[instance.pk],
    )


def _assessment_written(sender, instance, raw=False, **kwargs):
    """An assessment: its criterion's cells where its instrument is, and where it was."""
    if raw:
        return
    old = instance.__dict__.pop("_spans_old", _NOTHING)
    jurisdiction_id = _place_of(instance.instrument_id)[0]
    maintain.mark(cells=_cells([
        (jurisdiction_id, {instance.criterion_id}, maintain.WHOLE), *old["places"],
    ]))


def _step_written(sender, instance, raw=False, **kwargs):
    """A status event: the cells of every criterion its instrument is assessed for, over the
    dates the change can reach, and its instrument's status spans; where it was too."""
    if raw:
        return
    deleted = kwargs.get("signal") is post_delete
    here = _step(instance.date, instance.status, instance.date_precision)
    before = instance.__dict__.pop("_spans_old_step", [])
    places = []
    if deleted:
        places.append(_step_place(instance.instrument_id, instance.pk, here, None))
    elif before and before[0][0] == instance.instrument_id:
        old = _step(*before[0][1:])
        places.append(_step_place(instance.instrument_id, instance.pk, old, here))
    else:
        places.append(_step_place(instance.instrument_id, instance.pk, None, here))
        for instrument_id, *old in before:  # moved from another instrument
            places.append(_step_place(instrument_id, instance.pk, _step(*old), None))
    maintain.mark(
        cells=_cells(places),
        instruments=[instance.instrument_id, *(row[0] for row in before)],
    )


def _jurisdiction_written(sender, instance, raw=False, **kwargs):
    if raw:
        return
    if kwargs.get("signal") is post_delete:
        return  # its spans go with it (on_delete=CASCADE)
    maintain.mark(jurisdictions=[instance.pk])


def _membership_written(sender, instance, raw=False, **kwargs):
    # Memberships decide only the bloc obligations shown beside a cell, not what a span
    # stores; re-deriving the member keeps that true should the rules change.
    if raw:
        return
    maintain.mark(jurisdictions=[instance.member_id])


def _criterion_written(sender, instance, raw=False, created=False, **kwargs):
    if raw or not created:
        return  # a deleted criterion's spans go with it; a renamed one keeps its spans
    maintain.mark(criteria=[instance.pk])


def connect():
    for model in (Instrument, StatusEvent, Assessment):
        pre_save.connect(_remember_old, sender=model, dispatch_uid=f"spans_old_{model.__name__}")
    for signal in (post_save, post_delete):
        name = "save" if signal is post_save else "delete"
        signal.connect(_instrument_written, sender=Instrument, dispatch_uid=f"spans_i_{name}")
        signal.connect(_step_written, sender=StatusEvent, dispatch_uid=f"spans_e_{name}")
        signal.connect(_assessment_written, sender=Assessment, dispatch_uid=f"spans_a_{name}")
        signal.connect(_jurisdiction_written, sender=Jurisdiction, dispatch_uid=f"spans_j_{name}")
        signal.connect(_membership_written, sender=BlocMembership, dispatch_uid=f"spans_m_{name}")
    post_save.connect(_criterion_written, sender=Criterion, dispatch_uid="spans_c_save")
