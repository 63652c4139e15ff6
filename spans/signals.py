"""Every save and delete of the data the coverage rules read marks the spans it touches
(:func:`spans.maintain.mark`), inside the write's transaction: admin, bulk actions, the API,
imports and the shell all write through ``save()``/``delete()``. Raw saves (``loaddata``,
``restore``) are left to the batch that wraps them (``batch(everything=True)``).

An instrument, status event or assessment moved to another instrument or jurisdiction marks
the old place too (read before the save).
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


def _jurisdiction_of(instrument_id):
    return (
        Instrument.objects.filter(pk=instrument_id).values_list("jurisdiction_id", flat=True).first()
    )


def _remember_old(sender, instance, raw=False, **kwargs):
    """Before a save of an existing row: where it was (its instrument and jurisdiction)."""
    if raw or instance.pk is None:
        return
    if sender is Instrument:
        old = sender.objects.filter(pk=instance.pk).values_list("jurisdiction_id", flat=True)
        instance._spans_old = {"jurisdictions": list(old), "instruments": []}
    else:
        old = list(sender.objects.filter(pk=instance.pk).values_list("instrument_id", flat=True))
        instance._spans_old = {
            "jurisdictions": [_jurisdiction_of(i) for i in old], "instruments": old,
        }


def _instrument_written(sender, instance, raw=False, **kwargs):
    if raw:
        return
    old = getattr(instance, "_spans_old", {"jurisdictions": [], "instruments": []})
    maintain.mark(
        jurisdictions=[instance.jurisdiction_id, *old["jurisdictions"]],
        instruments=[instance.pk],
    )


def _child_written(sender, instance, raw=False, **kwargs):
    """A status event or an assessment: its instrument's jurisdiction (and status spans)."""
    if raw:
        return
    old = getattr(instance, "_spans_old", {"jurisdictions": [], "instruments": []})
    instruments = [instance.instrument_id, *old["instruments"]]
    maintain.mark(
        jurisdictions=[_jurisdiction_of(instance.instrument_id), *old["jurisdictions"]],
        instruments=instruments if sender is StatusEvent else [],
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
        signal.connect(_child_written, sender=StatusEvent, dispatch_uid=f"spans_e_{name}")
        signal.connect(_child_written, sender=Assessment, dispatch_uid=f"spans_a_{name}")
        signal.connect(_jurisdiction_written, sender=Jurisdiction, dispatch_uid=f"spans_j_{name}")
        signal.connect(_membership_written, sender=BlocMembership, dispatch_uid=f"spans_m_{name}")
    post_save.connect(_criterion_written, sender=Criterion, dispatch_uid="spans_c_save")
