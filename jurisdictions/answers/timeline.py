"""Timeline: the dated steps of a jurisdiction's own instruments and the events involving it
(or one of its instruments), in date order.

Served by ``/api/v1/jurisdictions/{code}/timeline/`` (JSON and CSV) and the timeline of
``/jurisdictions/{code}/`` (which also shows, marked, what is dated after ``as_of``; its CSV is
the API's).

- :func:`build`: the :class:`Timeline`, five queries;
- :data:`COLUMNS`: the CSV, one line per item.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Q

from ..choices import STATUS_LABELS, STATUS_SEQUENCE, Body
from ..csvfile import Column
from ..models import Event, EventJurisdiction, Jurisdiction, Source, StatusEvent
from .base import Links, Place

BODY_LABELS = dict(Body.choices)


@dataclass(frozen=True)
class InstrumentBrief:
    slug: str
    short_name: str
    title: str
    instrument_type: str
    jurisdiction: str
    url: str | None

    @property
    def name(self) -> str:
        return self.short_name or self.title


@dataclass(frozen=True)
class EventBrief:
    slug: str
    title: str
    kind: str
    date: datetime.date
    date_precision: str
    url: str | None


@dataclass(frozen=True)
class SourceBrief:
    """A cited source; ``address`` is its own record's address on the channel."""

    url: str
    title: str
    publisher: str
    kind: str
    published_on: datetime.date | None
    published_precision: str
    accessed_on: datetime.date | None
    archived_url: str
    language: str
    address: str | None


@dataclass(frozen=True)
class Item:
    """One dated item: a step (``type`` ``status_event``: ``status``, ``body``, the
    instrument's name as ``title``) or an event (``type`` ``event``: ``kind``, its title)."""

    date: datetime.date
    date_precision: str
    type: str
    status: str | None
    body: str | None
    kind: str | None
    title: str
    description: str
    instrument: InstrumentBrief | None
    event: EventBrief | None
    sources: tuple[SourceBrief, ...]
    url: str | None

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.status, self.status))

    @property
    def body_label(self) -> str:
        return str(BODY_LABELS.get(self.body, self.body)) if self.body else ""

    @property
    def what(self) -> str:
        """What happened, in words: the step's status label, or the event's title."""
        return self.status_label if self.type == "status_event" else self.title


@dataclass(frozen=True)
class Timeline:
    """The answer: ``items`` dated on or before ``as_of``; ``later`` (only when asked for)
    the items dated after it. Same-day items: steps before events, steps in life order."""

    jurisdiction: Place
    as_of: datetime.date
    items: tuple[Item, ...]
    later: tuple[Item, ...] = ()

    @property
    def csv_name(self) -> str:
        return f"timeline-{self.jurisdiction.code}-{self.as_of.isoformat()}.csv"


def _source(source: Source, links: Links) -> SourceBrief:
    return SourceBrief(
        url=source.url, title=source.title, publisher=source.publisher, kind=source.kind,
        published_on=source.published_on, published_precision=source.published_precision,
        accessed_on=source.accessed_on, archived_url=source.archived_url,
        language=source.language, address=links.source(source.pk),
    )


def _instrument(instrument, links: Links) -> InstrumentBrief | None:
    if instrument is None:
        return None
    return InstrumentBrief(
        slug=instrument.slug, short_name=instrument.short_name, title=instrument.title,
        instrument_type=instrument.instrument_type, jurisdiction=instrument.jurisdiction.code,
        url=links.instrument(instrument.slug),
    )


def build(
    jurisdiction: Jurisdiction, as_of: datetime.date, links: Links, later: bool = False
) -> Timeline:
    """The timeline of ``jurisdiction`` as of ``as_of``; with ``later``, the items dated after
    ``as_of`` too (in :attr:`Timeline.later`). Four queries."""
    steps = (
        StatusEvent.objects.filter(instrument__jurisdiction=jurisdiction)
        .select_related("instrument__jurisdiction")
        .prefetch_related("sources")
    )
    involved = EventJurisdiction.objects.filter(jurisdiction=jurisdiction).values("event")
    events = (
        Event.objects.filter(Q(pk__in=involved) | Q(instrument__jurisdiction=jurisdiction))
        .select_related("instrument__jurisdiction")
        .prefetch_related("sources")
    )
    if not later:
        steps, events = steps.filter(date__lte=as_of), events.filter(date__lte=as_of)

    def cited(row) -> tuple[SourceBrief, ...]:
        return tuple(_source(s, links) for s in row.sources.all())

    ordered = []
    for step in steps:
        order = (step.date, 0, STATUS_SEQUENCE.get(step.status, 0), step.instrument.slug,
                 step.pk)
        ordered.append((order, Item(
            date=step.date, date_precision=step.date_precision, type="status_event",
            status=step.status, body=step.body or None, kind=None,
            title=step.instrument.short_name or step.instrument.title,
            description=step.description, instrument=_instrument(step.instrument, links),
            event=None, sources=cited(step), url=links.status_event(step.pk),
        )))
    for event in events:
        ordered.append(((event.date, 1, 0, event.slug, event.pk), Item(
            date=event.date, date_precision=event.date_precision, type="event", status=None,
            body=None, kind=event.kind, title=event.title, description=event.summary,
            instrument=_instrument(event.instrument, links),
            event=EventBrief(
                slug=event.slug, title=event.title, kind=event.kind, date=event.date,
                date_precision=event.date_precision, url=links.event(event.slug),
            ),
            sources=cited(event), url=links.event(event.slug),
        )))
    items = [item for _, item in sorted(ordered, key=lambda pair: pair[0])]
    return Timeline(
        jurisdiction=Place.of(jurisdiction, links),
        as_of=as_of,
        items=tuple(i for i in items if i.date <= as_of),
        later=tuple(i for i in items if i.date > as_of),
    )


COLUMNS = [
    Column("date"),
    Column("date_precision"),
    Column("type"),
    Column("status"),
    Column("body"),
    Column("kind"),
    Column("title"),
    Column("instrument", "instrument.slug"),
    Column("description"),
    Column("sources", "sources.url"),
    Column("url"),
]
