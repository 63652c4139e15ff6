"""The Atom feed of changes to legal data: ``/feeds/changes/`` (Django's syndication framework).

One entry per recorded write (django-simple-history, the same rows as ``/api/v1/changes/``),
newest first, at most ``ChangesFeed.limit`` entries. Each entry names the change (created,
changed, deleted), the kind of row and its key (``kr-act-2024 possession``), who made it and
why, and links to the changed record: its public page where there is one (a jurisdiction, an
instrument — also for its status events, assessments, identifiers and citations), else its API
address; a deleted jurisdiction, instrument, source, criterion or event links to its history in
the admin. Entry ids are ``tag:`` URIs (RFC 4151) naming the history record, so a reader sees
each change once.
"""

from __future__ import annotations

import datetime

from django.contrib.syndication.views import Feed
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed

from . import editorial
from .api.analysis import CHANGE_TYPES, HISTORY, HISTORY_BY_NAME, history_rows

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


class ChangesFeed(Feed):
    """Atom 1.0 feed of the latest changes (``limit`` entries, newest first)."""

    feed_type = Atom1Feed
    title = "lawtracker: latest changes to the legal data"
    subtitle = (
        "Every recorded edit of jurisdictions, instruments, status events, assessments, sources, "
        "criteria and events, newest first."
    )
    limit = 50

    def link(self):
        return reverse("api:changes")

    def feed_url(self):
        return reverse("changes-feed")

    def items(self):
        """The latest ``limit`` history rows (``history_rows`` dicts, with their reason)."""
        until = timezone.now() + datetime.timedelta(seconds=1)
        return list(history_rows(list(HISTORY), None, until, [])[: self.limit])

    def item_title(self, row):
        change = CHANGE_TYPES.get(row["c_type"], row["c_type"]).capitalize()
        noun = row["c_model"].replace("_", " ")
        return f"{change} {noun}: {row['c_key']}"

    def item_description(self, row):
        who = (
            editorial.public_name(row["c_user"], "editor", show_names=False)
            or "an unrecorded user (a script or a data load)"
        )
        spec = HISTORY_BY_NAME[row["c_model"]]
        text = f"{CHANGE_TYPES.get(row['c_type'], row['c_type']).capitalize()} by {who}"
        if row["c_reason"]:
            text += f"; reason: {row['c_reason']}"
        return f"{text} ({spec.model._meta.verbose_name} {row['c_object']})."

    def item_link(self, row):
        return change_link(row["c_model"], row["c_key"], row["c_object"], row["c_type"])

    def item_guid(self, row):
        return f"tag:lawtracker,{TAG_START}:change/{row['c_model']}/{row['c_hid']}"

    item_guid_is_permalink = False

    def item_author_name(self, row):
        return editorial.public_name(row["c_user"], "editor", show_names=False) or "lawtracker"

    def item_pubdate(self, row):
        return row["c_date"]

    def item_updateddate(self, row):
        return row["c_date"]
