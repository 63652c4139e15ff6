"""Small factory functions for tests: each makes one valid row, overridable by keyword."""
from __future__ import annotations

import datetime
import itertools

from jurisdictions.choices import JurisdictionKind, ResearchStatus
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
