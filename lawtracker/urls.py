"""Root URLs: admin, API v1, OpenAPI schema and docs, health, the Atom feed of changes, pages."""
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from jurisdictions.feeds import ChangesFeed

from jurisdictions.quality_admin import data_report_view
from jurisdictions.review_admin import review_queue_view

from .health import healthz

urlpatterns = [
    path("admin/data-report/", admin.site.admin_view(data_report_view), name="data-report"),
    path("admin/review/", admin.site.admin_view(review_queue_view), name="review-queue"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("jurisdictions.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's settings as a script file: no inline script, so the
    # Content-Security-Policy can forbid them.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", healthz, name="healthz"),
    path("feeds/changes/", ChangesFeed(), name="changes-feed"),
    path("feeds/alerts/", include("alerts.urls")),
    path("", include("jurisdictions.urls")),
]

# JSON under /api/, the site's page elsewhere (lawtracker/errors.py).
handler404 = "lawtracker.errors.not_found"
