"""The Atom feed of changes to legal data: ``/feeds/changes/`` (Django's syndication framework).

It reads like news (issue 18): **one entry per edit** — the history rows (django-simple-history,
the same rows as ``/api/v1/changes/``) that one person wrote to one record and what hangs on it
(an instrument with its steps, answers and citations) within ``EDIT_SECONDS``, with one reason —
newest first, at most ``ChangesFeed.limit`` entries. The title says what happened in words
("Alaska HB 47: passed the Senate on 2026-02-27"); the summary lists each field's old → new
value and the sources cited or dropped; the entry links to the public page where there is one
(a jurisdiction, an instrument), else the API address; a deleted jurisdiction, instrument,
source, criterion or event links to its history in the admin. Nobody is named: the author is
"an editor" or a published display name (``editorial.public_name``).

The feed takes the parameters of ``/api/v1/changes/`` (``ChangesParams``: since, as_of, model,
change, jurisdiction with its subdivisions, instrument); an unknown or malformed one is a 400.
Entry ids are ``tag:`` URIs (RFC 4151) naming the edit's latest history record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.syndication.views import Feed
from django.http import HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import format_html, format_html_join

from . import editorial, text
from .answers.changes import CHANGE_TYPES, HISTORY_BY_NAME, ChangesParams, changes_window
from .choices import Body
from .models import BOOKKEEPING_COLUMNS, Criterion, Instrument

# Rows whose key starts with their instrument's slug: they link to the instrument's page.
UNDER_INSTRUMENT = {
    "identifier",
    "instrument_amendment",
    "status_event",
    "assessment",
    "instrument_source",
    "status_event_source",
    "assessment_source",
}
UNDER_EVENT = {"event", "event_jurisdiction", "event_source"}
TAG_START = "2024-01-01"  # the date in the tag: URIs (RFC 4151): any fixed date we owned the name


def _public(view: str, **kwargs) -> str | None:
    try:
        return reverse(view, kwargs=kwargs)
    except NoReverseMatch:
        return None


def change_link(model_name: str, key: str, object_id: int, change: str) -> str:
    """The path of the page to read for one change (see the module docstring)."""
    first = (key or "").split(" ")[0]
    link = None
    if change != "-" or model_name not in {"jurisdiction", "instrument", "source", "criterion",
                                           "event"}:
        if model_name == "jurisdiction":
            link = _public("pages:jurisdiction", code=key)
        elif model_name == "instrument":
            link = _public("pages:instrument", slug=key)
        elif model_name in UNDER_INSTRUMENT and first != "?":
            link = _public("pages:instrument", slug=first)
        elif model_name == "bloc_membership":
            # "<bloc> has member <member> from <date>": the member's page.
            parts = key.split(" ")
            if len(parts) > 3 and parts[3] != "?":
                link = _public("pages:jurisdiction", code=parts[3])
        elif model_name in UNDER_EVENT and first != "?":
            link = _public("api:event-detail", slug=first)
        elif model_name == "source":
            link = _public("api:source-detail", pk=object_id)
        elif model_name == "criterion":
            link = _public("api:criterion-detail", slug=key)
    if link is None:
        model = HISTORY_BY_NAME[model_name].model
        link = reverse(
            f"admin:{model._meta.app_label}_{model._meta.model_name}_history", args=[object_id]
        )
    return link


class PrintableAtom1Feed(Atom1Feed):
    """Atom 1.0 that holds whatever the history holds: every text of the feed (its title,
    which may name a jurisdiction or an instrument) and of each entry passes through
    :func:`text.printable` (a character XML cannot carry, stored before the text policy or in
    a reason, would otherwise make the whole feed fail)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*(text.printable(a) for a in args),
                         **{k: text.printable(v) for k, v in kwargs.items()})

    def add_item(self, *args, **kwargs):
        super().add_item(*(text.printable(a) for a in args),
                         **{k: text.printable(v) for k, v in kwargs.items()})


# --- edits: history rows grouped, titled and diffed ----------------------------------------------
EDIT_SECONDS = 10  # the rows of one save (a form with its inlines, an API write) land together
LINK_MODELS = {"instrument_source", "status_event_source", "assessment_source", "event_source"}
FEED_PARAMETERS = ("since", "as_of", "model", "change", "jurisdiction", "instrument")

# How a step reads in a sentence; ``{body}`` is the body that took it.
STEP_PHRASES = {
    "introduced": "introduced",
    "in_committee": "in committee",
    "passed_chamber": "passed {body}",
    "agreed": "agreed",
    "adopted": "adopted",
    "partially_in_force": "partially in force",
    "in_force": "in force",
    "vetoed": "vetoed",
    "withdrawn": "withdrawn",
    "lapsed": "lapsed",
    "repealed": "repealed",
    "struck_down": "struck down",
    "superseded": "superseded",
}
BODY_NAMES = {
    Body.LOWER_HOUSE: "the lower house",
    Body.UPPER_HOUSE: "the upper house",
    Body.UNICAMERAL: "the legislature",
    Body.EUROPEAN_PARLIAMENT: "the European Parliament",
    Body.COUNCIL: "the Council",
    Body.EXECUTIVE: "the executive",
    Body.COURT: "a court",
}
# The United States and its states call their chambers the House and the Senate (Nebraska's
# single chamber is the Legislature).
US_BODY_NAMES = {Body.LOWER_HOUSE: "the House", Body.UPPER_HOUSE: "the Senate"}


def dated(day, precision: str) -> str:
    """A date as precise as its source: ``2026-02-27``, ``2026-02`` or ``2026``."""
    if day is None:
        return "an unknown date"
    text = day.isoformat()
    return text[:4] if precision == "year" else text[:7] if precision == "month" else text


def step_phrase(record, jurisdiction_code: str = "") -> str:
    """``passed the Senate on 2026-02-27``: a status step (live or historical row) in words."""
    body = record.body or ""
    names = {**BODY_NAMES, **(US_BODY_NAMES if jurisdiction_code.startswith("US") else {})}
    body_name = names.get(body, "")
    phrase = STEP_PHRASES.get(record.status, record.status.replace("_", " "))
    if "{body}" in phrase:
        phrase = phrase.format(body=body_name or "a chamber")
    elif body_name and body not in (Body.EXECUTIVE, Body.OTHER):
        phrase += f" by {body_name}"
    qualifier = "on or before " if record.date_precision == "on_or_before" else "on "
    return f"{phrase} {qualifier}{dated(record.date, record.date_precision)}"


@dataclass
class Edit:
    """One entry of the feed: what one person changed in one go."""

    rows: list = field(default_factory=list)  # history_rows dicts, newest first
    title: str = ""
    lines: list = field(default_factory=list)  # "title: “old” → “new”", "cites https://…"

    @property
    def head(self) -> dict:
        return self.rows[0]


def _root(row) -> tuple[str, str]:
    first = (row["c_key"] or "").split(" ")[0]
    if row["c_model"] in UNDER_INSTRUMENT:
        return ("instrument", first)
    if row["c_model"] in UNDER_EVENT:
        return ("event", first)
    return (row["c_model"], row["c_key"])


def group_edits(rows) -> list[Edit]:
    """Fold history rows (newest first) into edits: consecutive rows of one root record, one
    user and one reason within ``EDIT_SECONDS`` of each other."""
    result: list[Edit] = []
    for row in rows:
        current = result[-1] if result else None
        if current is not None:
            last = current.rows[-1]
            if (
                _root(last) == _root(row)
                and last["c_user"] == row["c_user"]
                and (last["c_reason"] or "") == (row["c_reason"] or "")
                and (last["c_date"] - row["c_date"]).total_seconds() <= EDIT_SECONDS
            ):
                current.rows.append(row)
                continue
        result.append(Edit(rows=[row]))
    return result


def _records(edits: list[Edit]) -> dict[tuple[str, int], tuple]:
    """``{(model name, history id): (record, previous record or None)}`` for the non-link rows
    of ``edits``: one query per kind of row (the whole history of the rows concerned)."""
    wanted: dict[str, set[int]] = {}
    for edit in edits:
        for row in edit.rows:
            if row["c_model"] not in LINK_MODELS:
                wanted.setdefault(row["c_model"], set()).add(row["c_object"])
    found = {}
    for name, object_ids in wanted.items():
        model = HISTORY_BY_NAME[name].model
        previous = {}
        for record in model.history.filter(id__in=object_ids).order_by(
            "history_date", "history_id"
        ):
            found[(name, record.history_id)] = (record, previous.get(record.id))
            previous[record.id] = record
    return found


def _field_lines(model, record, before) -> list[str]:
    """``label: “old” → “new”`` for each field ``record`` changed against ``before`` (every
    field it set, when it created the row)."""
    names = [
        f.name for f in model._meta.concrete_fields
        if f.attname not in BOOKKEEPING_COLUMNS and f.name != "instrument"
    ]
    lines = []
    for name in names:
        old = getattr(before, f"{name}_id" if model._meta.get_field(name).is_relation else name,
                      None) if before is not None else None
        new = getattr(record, f"{name}_id" if model._meta.get_field(name).is_relation else name)
        if old == new or (before is None and new in (None, "", [], {})):
            continue
        label = model._meta.get_field(name).verbose_name
        lines.append(f"{label}: “{_public_value(model, name, old)}” → "
                     f"“{_public_value(model, name, new)}”")
    return lines


def _public_value(model, name: str, value) -> str:
    """A value for the public: an account (a verifier, a reviewer) is never named (issue 18)."""
    related = model._meta.get_field(name).related_model
    if value is not None and related is get_user_model():
        account = related._default_manager.filter(pk=value).first()
        return editorial.public_name(
            account.get_username() if account else "?", "reviewer", show_names=False
        )
    return editorial.display_value(model, name, value)


def describe(edits: list[Edit]) -> list[Edit]:
    """Give each edit its title and lines (a fixed number of queries per kind of row)."""
    records = _records(edits)
    slugs = {_root(e.head)[1] for e in edits if _root(e.head)[0] == "instrument"}
    instruments = {
        i.slug: i for i in Instrument.objects.filter(slug__in=slugs).select_related("jurisdiction")
    }
    criteria = dict(Criterion.objects.values_list("pk", "label"))
    for edit in edits:
        kind, key = _root(edit.head)
        instrument = instruments.get(key) if kind == "instrument" else None
        code = instrument.jurisdiction.code if instrument else ""
        if instrument:
            name = f"{instrument.jurisdiction.name} {instrument.short_name or instrument.title}"
        else:
            noun = HISTORY_BY_NAME[kind].model._meta.verbose_name if kind in HISTORY_BY_NAME \
                else kind
            name = f"{str(noun).capitalize()} {key}"
        phrases, lines = [], []
        for row in reversed(edit.rows):  # oldest first: the order the editor made them
            model_name, change = row["c_model"], row["c_type"]
            if model_name in LINK_MODELS:
                url = (row["c_key"] or "").split(" cites ")[-1]
                lines.append(("cites " if change != "-" else "no longer cites ") + url)
                continue
            model = HISTORY_BY_NAME[model_name].model
            record, before = records.get((model_name, row["c_hid"]), (None, None))
            if record is None:
                continue
            if change == "-":
                lines.append(f"deleted the {model._meta.verbose_name}")
            else:
                changed = _field_lines(model, record, before if change == "~" else None)
                if change == "~" and not changed:
                    continue
                lines += changed
            if model_name == "status_event":
                step = step_phrase(record, code)
                phrases.append(step if change == "+" else
                               f"removed the step “{step}”" if change == "-" else
                               f"corrected the step “{step}”")
            elif model_name == "assessment":
                label = criteria.get(record.criterion_id, "a criterion")
                phrases.append(f"{label}: {record.get_value_display()}" if change != "-" else
                               f"removed the answer on {label}")
            elif model_name != kind:  # an identifier, an amendment link: say which
                phrases.append(f"{model._meta.verbose_name} {CHANGE_TYPES[change]}")
            elif change == "+":
                phrases.append("added")
            elif change == "-":
                phrases.append("deleted")
            else:
                labels = [line.split(":")[0] for line in
                          _field_lines(model, record, before)] or ["saved"]
                phrases.append(f"{', '.join(labels)} changed")
        if not phrases:
            phrases.append("sources changed" if lines else "saved without a change")
        edit.title = f"{name}: {'; '.join(dict.fromkeys(phrases))}"
        edit.lines = lines
    return edits


class ChangesFeed(Feed):
    """Atom 1.0 feed of the latest edits (``limit`` entries, newest first), filtered like
    ``/api/v1/changes/``."""

    feed_type = PrintableAtom1Feed
    title = "lawtracker: latest changes to the legal data"
    subtitle = (
        "Every edit of jurisdictions, instruments, status steps, assessments, sources, criteria "
        "and events, newest first, with the old and new values."
    )
    limit = 50

    def __call__(self, request, *args, **kwargs):
        errors = {name: ["Unknown parameter."] for name in request.GET
                  if name not in FEED_PARAMETERS}
        form = ChangesParams(request.GET)
        if not errors and not form.is_valid():
            errors = {name: list(messages) for name, messages in form.errors.items()}
        if errors:
            # Never silently ignored (issue 18): the same answer as /api/v1/changes/.
            return HttpResponse(
                json.dumps({"errors": errors, "accepted_parameters": list(FEED_PARAMETERS)}),
                status=400, content_type="application/json",
            )
        self.params = form.cleaned_data
        self.query = request.GET.urlencode()
        return super().__call__(request, *args, **kwargs)

    def link(self):
        return reverse("api:changes") + (f"?{self.query}" if self.query else "")

    def feed_url(self):
        return reverse("changes-feed") + (f"?{self.query}" if self.query else "")

    def items(self):
        """The latest ``limit`` edits (:class:`Edit`)."""
        _, rows = changes_window(self.params)
        # Link rows fold into their edit: read enough rows for ``limit`` edits, then drop the
        # last edit, which may be cut.
        fetched = list(rows[: self.limit * 8])
        edits = group_edits(fetched)
        if len(fetched) == self.limit * 8 and len(edits) > 1:
            edits = edits[:-1]
        return describe(edits[: self.limit])

    def item_title(self, edit):
        return edit.title

    def item_description(self, edit):
        row = edit.head
        who = (
            editorial.public_name(row["c_user"], "editor", show_names=False)
            or "an unrecorded user (a script or a data load)"
        )
        text = f"{CHANGE_TYPES.get(row['c_type'], row['c_type']).capitalize()} by {who}"
        if row["c_reason"]:
            text += f"; reason: {row['c_reason']}"
        return format_html(
            "<p>{}.</p><ul>{}</ul>", text,
            format_html_join("", "<li>{}</li>", ((line,) for line in edit.lines)),
        )

    def item_link(self, edit):
        kind, key = _root(edit.head)
        row = next((r for r in edit.rows if r["c_model"] == kind), edit.head)
        return change_link(row["c_model"], row["c_key"], row["c_object"], row["c_type"])

    def item_guid(self, edit):
        row = edit.head
        return f"tag:lawtracker,{TAG_START}:change/{row['c_model']}/{row['c_hid']}"

    item_guid_is_permalink = False

    def item_author_name(self, edit):
        return editorial.public_name(edit.head["c_user"], "editor", show_names=False) or (
            "lawtracker"
        )

    def item_pubdate(self, edit):
        return edit.head["c_date"]

    def item_updateddate(self, edit):
        return edit.head["c_date"]
