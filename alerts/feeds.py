"""The Atom feeds of alerts, one per followable thing (issue 14), public, no account:
the conventions of ``/feeds/changes/`` (:mod:`jurisdictions.feeds`: Atom 1.0, ``tag:`` ids,
a 400 naming a bad parameter). Each entry is one alert, newest first; its id carries the
alert's idempotency key, the same as in the webhook deliveries."""

from __future__ import annotations

import json

from django.contrib.syndication.views import Feed
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from jurisdictions.feeds import TAG_START, PrintableAtom1Feed
from jurisdictions.models import Criterion, Instrument, Jurisdiction

from .models import Alert, AlertKind, TargetKind
from .outbox import _answer_words
from .targets import TargetError, read_target


class AlertsFeed(Feed):
    """Atom 1.0 feed of the latest ``limit`` alerts of one followable thing."""

    feed_type = PrintableAtom1Feed
    kind = TargetKind.JURISDICTION
    limit = 50

    def __call__(self, request, *args, **kwargs):
        key = next(iter(kwargs.values()), None)
        try:
            self.target = read_target(self.kind, key, request.GET)
        except TargetError as error:
            return HttpResponse(
                json.dumps({"errors": error.errors, "accepted_parameters": error.accepted}),
                status=400, content_type="application/json",
            )
        except (Jurisdiction.DoesNotExist, Criterion.DoesNotExist, Instrument.DoesNotExist):
            raise Http404(f"Unknown code or slug: {key}") from None
        return super().__call__(request, *args, **kwargs)

    def title(self):
        return f"lawtracker alerts: {self.target.title}"

    def subtitle(self):
        return ("Coverage changes (a value or a pending list, today or corrected in history) "
                "and legal steps; wording fixes are left out.")

    def link(self):
        return self.target.feed

    def feed_url(self):
        return self.target.feed

    def items(self):
        return list(self.target.alerts().select_related("jurisdiction", "criterion")
                    [: self.limit])

    def item_title(self, alert):
        return alert.title

    def item_description(self, alert):
        if alert.kind == AlertKind.COVERAGE_CHANGE:
            return format_html(
                "<p>{} ({}): {} → {}; days affected: {} to {}.</p>",
                alert.get_timing_display(), alert.scope, _answer_words(alert.before),
                _answer_words(alert.after), alert.changed_from or "always",
                alert.changed_to or "now on",
            )
        return format_html("<p>{}: {}.</p>", alert.get_step_change_display(), alert.title)

    def item_link(self, alert):
        if alert.kind == AlertKind.LEGAL_STEP and alert.instrument_id:
            return reverse("pages:instrument", kwargs={"slug": alert.instrument_slug})
        return reverse("pages:jurisdiction", kwargs={"code": alert.jurisdiction.code})

    def item_guid(self, alert):
        return f"tag:lawtracker,{TAG_START}:alert/{alert.key}"

    item_guid_is_permalink = False

    def item_author_name(self, alert):
        return "lawtracker"

    def item_pubdate(self, alert):
        return alert.created_at

    def item_updateddate(self, alert):
        return alert.created_at


class JurisdictionFeed(AlertsFeed):
    kind = TargetKind.JURISDICTION


class CriterionFeed(AlertsFeed):
    kind = TargetKind.CRITERION


class InstrumentFeed(AlertsFeed):
    kind = TargetKind.INSTRUMENT


class GapsFeed(AlertsFeed):
    kind = TargetKind.GAPS
