"""When the legal data last changed, what was edited recently, and what happened in law
recently — three different questions (issue 15: a data load is never news).

Every model of the app keeps a history (django-simple-history): one row per write, with its
time (``history_date``, UTC) and type (``+`` created, ``~`` changed, ``-`` deleted). Deletions
leave a history row too, so the history tables, not ``updated_at``, say when the data last
changed. *Legal developments* are read from the dates of the steps and events themselves: when
a law was adopted, not when someone typed it in.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.apps import apps
from django.db.models import Max
from django.urls import reverse

from ..answers.changes import HISTORY_BY_NAME, changes_window
from ..clock import today
from ..models import Criterion, Event, Instrument, Jurisdiction, StatusEvent

# The legal data: the law, its steps and answers, the events and the sources they cite. Not the
# reference data (ISO jurisdictions and their research status, bloc memberships, criteria).
LEGAL_DATA_MODELS = frozenset({
    "instrument", "identifier", "instrumentamendment", "statusevent", "assessment", "event",
    "eventjurisdiction", "source", "instrumentsource", "statuseventsource", "assessmentsource",
    "eventsource",
})

ACTIONS = {"+": "added", "~": "changed", "-": "removed"}


def _history_models() -> list:
    return [
        model
        for model in apps.get_app_config("jurisdictions").get_models()
        if model.__name__.startswith("Historical")
        and model.__name__.removeprefix("Historical").lower() in LEGAL_DATA_MODELS
    ]


def data_last_changed() -> datetime.datetime | None:
    """The time (aware, UTC) of the latest write to the legal data (:data:`LEGAL_DATA_MODELS`),
    or None when nothing was ever written. One query (a UNION over their history tables)."""
    querysets = [m.objects.order_by().values_list("history_date") for m in _history_models()]
    if not querysets:
        return None
    first, *rest = querysets
    latest = first.union(*rest).order_by("-history_date")[:1]
    row = next(iter(latest), None)
    return row[0] if row else None


def research_compiled_on() -> datetime.date | None:
    """The latest compile date of the research files the data was built from (their
    ``about.compiled_on``), or None. One query."""
    return Jurisdiction.objects.aggregate(latest=Max("research_compiled_on"))["latest"]


@dataclass(frozen=True)
class Development:
    """One thing that happened in law, dated by when it happened: ``date`` and its
    ``precision``, ``what`` (a status step's label or an event's kind), ``text``, ``url``."""

    date: datetime.date
    precision: str
    what: str
    text: str
    url: str


def legal_developments(as_of: datetime.date, limit: int = 15) -> list[Development]:
    """The ``limit`` latest status steps and events dated on or before ``as_of``, latest first
    (ties: steps before events, then by key). Two queries."""
    steps = (
        StatusEvent.objects.filter(date__lte=as_of)
        .select_related("instrument__jurisdiction")
        .order_by("-date", "-pk")[:limit]
    )
    events = Event.objects.filter(date__lte=as_of).order_by("-date", "-pk")[:limit]
    found = [
        (step.date, 1, step.pk, Development(
            step.date, step.date_precision, step.get_status_display(),
            f"{step.instrument.short_name or step.instrument.title} "
            f"({step.instrument.jurisdiction.code})"
            + (f" — {step.get_body_display()}" if step.body else ""),
            reverse("pages:instrument", args=[step.instrument.slug]),
        ))
        for step in steps
    ] + [
        (event.date, 0, event.pk, Development(
            event.date, event.date_precision, event.get_kind_display(), event.title, ""
        ))
        for event in events
    ]
    found.sort(key=lambda item: item[:3], reverse=True)
    return [item[3] for item in found[:limit]]


@dataclass(frozen=True)
class Change:
    """One recent edit, for people: ``when`` (aware datetime), ``action`` (added, changed,
    removed), ``what`` (the kind of record), ``text`` (which record), ``url`` (its page, or
    "")."""

    when: datetime.datetime
    action: str
    what: str
    text: str
    url: str


# The kinds of record the home page's "Recent edits" lists (names of the changes answer).
RECENT_KINDS = ("jurisdiction", "instrument", "status_event", "assessment", "event")
_RECENT_VALUES = {
    "jurisdiction": ("history_id", "code", "name", "research_status"),
    "instrument": ("history_id", "slug", "short_name", "title", "jurisdiction_id"),
    "status_event": ("history_id", "instrument_id", "status", "date"),
    "assessment": ("history_id", "instrument_id", "criterion_id", "value"),
    "event": ("history_id", "slug", "title"),
}


def recent_changes(limit: int = 15) -> list[Change]:
    """The ``limit`` latest edits to jurisdictions, instruments, status steps, assessments and
    events, newest first: the rows of the changes answer (``/api/v1/changes/``, one reading of
    the history tables, in its order), each told in words from the history row itself (what the
    record said after that edit). A fixed number of queries: the answer's page, one per kind
    of record in it, then three lookups."""
    _, rows = changes_window({"as_of": today(), "model": list(RECENT_KINDS)})
    rows = list(rows[:limit])
    wanted: dict[str, list[int]] = {}
    for row in rows:
        wanted.setdefault(row["c_model"], []).append(row["c_hid"])
    said = {
        (kind, values["history_id"]): values
        for kind, ids in wanted.items()
        for values in HISTORY_BY_NAME[kind].model.history.filter(history_id__in=ids).values(
            *_RECENT_VALUES[kind]
        )
    }
    tagged = [(row, said[(row["c_model"], row["c_hid"])]) for row in rows]

    instrument_ids = {v["instrument_id"] for r, v in tagged
                      if r["c_model"] in ("status_event", "assessment")}
    jurisdiction_ids = {v["jurisdiction_id"] for r, v in tagged if r["c_model"] == "instrument"}
    instruments = {
        i.pk: i
        for i in Instrument.objects.filter(pk__in=instrument_ids).select_related("jurisdiction")
    } if instrument_ids else {}
    codes = dict(
        Jurisdiction.objects.filter(pk__in=jurisdiction_ids).values_list("pk", "code")
    ) if jurisdiction_ids else {}
    criteria = dict(Criterion.objects.values_list("pk", "label")) if any(
        r["c_model"] == "assessment" for r, _ in tagged) else {}

    changes = []
    for row, said_then in tagged:
        kind, action, when = row["c_model"], ACTIONS.get(row["c_type"], "changed"), row["c_date"]
        if kind == "jurisdiction":
            changes.append(Change(
                when, action, "Jurisdiction",
                f"{said_then['name']} ({said_then['code']}), research "
                f"{said_then['research_status'].replace('_', ' ')}",
                reverse("pages:jurisdiction", args=[said_then["code"]]),
            ))
        elif kind == "instrument":
            code = codes.get(said_then["jurisdiction_id"], "")
            changes.append(Change(
                when, action, "Law or proposal",
                f"{said_then['short_name'] or said_then['title']}" + (f" ({code})" if code else ""),
                reverse("pages:instrument", args=[said_then["slug"]]) if action != "removed" else "",
            ))
        elif kind == "event":
            changes.append(Change(when, action, "Event", said_then["title"], ""))
        else:
            instrument = instruments.get(said_then["instrument_id"])
            name = (
                f"{instrument.short_name or instrument.title} ({instrument.jurisdiction.code})"
                if instrument
                else "a removed instrument"
            )
            url = reverse("pages:instrument", args=[instrument.slug]) if instrument else ""
            if kind == "status_event":
                text = (f"{name}: {said_then['status'].replace('_', ' ')} on "
                        f"{said_then['date'].isoformat()}")
                changes.append(Change(when, action, "Status step", text, url))
            else:
                label = criteria.get(said_then["criterion_id"], "a criterion")
                text = f"{name}: {label} — {said_then['value']}"
                changes.append(Change(when, action, "Assessment", text, url))
    return changes
