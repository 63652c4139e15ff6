"""Small factory functions for tests: each makes one valid row, overridable by keyword."""
from __future__ import annotations

import datetime
import itertools

from jurisdictions.choices import JurisdictionKind, ResearchStatus
from jurisdictions.models import (
    Assessment,
    AssessmentSource,
    Criterion,
    Event,
    EventJurisdiction,
    EventSource,
    Identifier,
    Instrument,
    InstrumentAmendment,
    InstrumentSource,
    Jurisdiction,
    Source,
    StatusEvent,
    StatusEventSource,
)

_seq = itertools.count(1)


def jurisdiction(code="KR", name=None, kind=None, parent=None, **kw) -> Jurisdiction:
    """Get or create a jurisdiction by code (kind guessed from the code's shape)."""
    if kind is None:
        kind = (
            JurisdictionKind.SUBDIVISION
            if "-" in code
            else JurisdictionKind.SUPRANATIONAL
            if code == "EU"
            else JurisdictionKind.COUNTRY
        )
    if kind == JurisdictionKind.SUBDIVISION and parent is None:
        parent = jurisdiction(code.split("-")[0])
    if kw.get("research_status") == ResearchStatus.REVIEWED:
        kw.setdefault("last_reviewed_on", datetime.date(2026, 11, 29))
    obj, _ = Jurisdiction.objects.get_or_create(
        code=code, defaults={"name": name or code, "kind": kind, "parent": parent, **kw}
    )
    return obj


def source(url=None, **kw) -> Source:
    kw.setdefault("title", "A source")
    kw.setdefault("kind", "official")
    return Source.objects.create(url=url or f"https://example.org/source/{next(_seq)}", **kw)


def criterion(slug="possession", **kw) -> Criterion:
    obj, _ = Criterion.objects.get_or_create(
        slug=slug, defaults={"label": kw.pop("label", slug), "question": "?", **kw}
    )
    return obj


def instrument(jurisdiction_code="KR", slug=None, cite=True, **kw) -> Instrument:
    kw.setdefault("instrument_type", "statute")
    kw.setdefault("title", "An act")
    obj = Instrument.objects.create(
        jurisdiction=jurisdiction(jurisdiction_code),
        slug=slug or f"{jurisdiction_code.lower()}-act-{next(_seq)}",
        **kw,
    )
    if cite:
        InstrumentSource.objects.create(instrument=obj, source=source())
    return obj


def event(instr, status, date, precision="day", cite=True, **kw) -> StatusEvent:
    if isinstance(date, str):
        date = datetime.date.fromisoformat(date)
    obj = StatusEvent.objects.create(
        instrument=instr, status=status, date=date, date_precision=precision, **kw
    )
    if cite:
        StatusEventSource.objects.create(status_event=obj, source=source())
    return obj


def assessment(instr, slug="possession", value="yes", cite=True, **kw) -> Assessment:
    obj = Assessment.objects.create(instrument=instr, criterion=criterion(slug), value=value, **kw)
    if cite:
        AssessmentSource.objects.create(assessment=obj, source=source())
    return obj


def add_editorial_data():
    from django.contrib.auth import get_user_model

    from jurisdictions import editorial

    """Rows the seed does not have: verification and review by named accounts, an event with
    figures, identifiers, an amendment link, a deleted row, edits with reasons."""
    User = get_user_model()
    rita = User.objects.create_user("rita", first_name="Rita", email="rita@example.org")
    ana = User.objects.create_user("ana")
    kr = jurisdiction("KR")
    kr.research_status, kr.last_reviewed_on = "reviewed", datetime.date(2026, 1, 2)
    kr.reviewed_by = rita
    editorial.stamp(kr, rita, "reviewed").save()
    old = instrument("KR", slug="zz-old-act", title="Old act")
    new = instrument("KR", slug="zz-new-act", title="New act", summary="São Paulo ünïcode")
    InstrumentAmendment.objects.create(amending=new, amended=old)
    Identifier.objects.create(instrument=new, scheme="national", value="No. 20459")
    answer = assessment(new, "possession", "partial", pinpoint="s. 1")
    answer.verified_on, answer.verified_by = datetime.date(2026, 1, 3), rita
    editorial.stamp(answer, ana, "checked").save()
    event = Event.objects.create(
        slug="zz-operation", date=datetime.date(2025, 2, 1), date_precision="month",
        title="Operation", kind="enforcement_operation", figures={"arrests": 25, "rate": 0.5},
    )
    EventJurisdiction.objects.create(event=event, jurisdiction=kr)
    EventSource.objects.create(event=event, source=source())
    gone = source(url="https://example.org/gone")
    editorial.stamp(gone, ana, "duplicate").delete()
