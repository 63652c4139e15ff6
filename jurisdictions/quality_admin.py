"""The data-quality report as an admin page (``/admin/data-report/``), for staff."""
import datetime

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from .quality import build_report, summary_lines


def data_report_view(request):
    """Render the report for staff who may view instruments; ``?as_of=YYYY-MM-DD`` optional
    (a bad date falls back to today and says so)."""
    if not request.user.has_perm("jurisdictions.view_instrument"):
        raise PermissionDenied
    error, today = "", None
    if request.GET.get("as_of"):
        try:
            today = datetime.date.fromisoformat(request.GET["as_of"])
        except ValueError:
            error = "as_of must be an ISO date (YYYY-MM-DD); showing today."
    report = build_report(today)
    context = {
        **admin.site.each_context(request),
        "title": "Data quality report",
        "report": report,
        "summary": summary_lines(report),
        "error": error,
    }
    return render(request, "admin/data_report.html", context)
