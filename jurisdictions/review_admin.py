"""The review queue (``/admin/review/``, issue 18): what reviewers should check and what editors
should correct, grouped by jurisdiction, each fact one click from its page and its sources.

- **To verify** (reviewers, ``jurisdictions.verify_assessment``): assessments and status steps
  never verified or verified longer ago than ``settings.LAWTRACKER_STALE_DAYS`` days.
- **To correct** (editors, ``change_assessment``/``change_statusevent``): facts a reviewer marked
  "Needs correction", with the reason.

:func:`queue_counts` gives the numbers the admin index shows.
"""
from __future__ import annotations

import datetime
from itertools import groupby

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import render

from . import editorial
from .models import Assessment, StatusEvent

PAGE_LIMIT = 300  # facts per list: the queue is worked from the top


def _stale() -> Q:
    limit = editorial.today() - datetime.timedelta(days=editorial.stale_days())
    return Q(verified_on__isnull=True) | Q(verified_on__lt=limit)


def _correct() -> Q:
    return ~Q(correction_note="")


def queue_counts() -> dict[str, int]:
    """``{"to_verify": n, "to_correct": n}`` over assessments and status steps (four
    queries)."""
    return {
        "to_verify": Assessment.objects.filter(_stale()).count()
        + StatusEvent.objects.filter(_stale()).count(),
        "to_correct": Assessment.objects.filter(_correct()).count()
        + StatusEvent.objects.filter(_correct()).count(),
    }


def _facts(condition: Q) -> list[tuple[str, list[dict]]]:
    """``[(jurisdiction label, [fact dicts])]`` sorted by jurisdiction code; each fact dict has
    ``kind``, ``text``, ``verified_on``, ``correction``, ``url`` (its admin page) and
    ``sources`` (Source rows)."""
    from .admin import admin_change_url, describe

    rows = []
    for model, kind in ((Assessment, "assessment"), (StatusEvent, "status step")):
        related = ["instrument__jurisdiction"] + (["criterion"] if model is Assessment else [])
        for fact in (model.objects.filter(condition).select_related(*related)
                     .prefetch_related("sources")
                     .order_by("instrument__jurisdiction__code", "instrument__slug", "pk")
                     [:PAGE_LIMIT]):
            jurisdiction = fact.instrument.jurisdiction
            rows.append((f"{jurisdiction.name} ({jurisdiction.code})", {
                "kind": kind,
                "text": describe(fact),
                "verified_on": fact.verified_on,
                "correction": fact.correction_note,
                "url": admin_change_url(fact),
                "sources": list(fact.sources.all()),
            }))
    rows.sort(key=lambda pair: pair[0])
    return [(label, [fact for _, fact in group]) for label, group in
            groupby(rows, key=lambda pair: pair[0])]


def review_queue_view(request):
    """The two queues, each shown to those who work it."""
    user = request.user
    reviewer = user.has_perm("jurisdictions.verify_assessment")
    editor = user.has_perm("jurisdictions.change_assessment") or user.has_perm(
        "jurisdictions.change_statusevent"
    )
    if not (reviewer or editor):
        raise PermissionDenied
    context = {
        **admin.site.each_context(request),
        "title": "Review queue",
        "to_verify": _facts(_stale()) if reviewer else None,
        "to_correct": _facts(_correct()) if editor else None,
        "stale_days": editorial.stale_days(),
        "limit": PAGE_LIMIT,
    }
    return render(request, "admin/review_queue.html", context)
