"""API v1 routes (namespace ``api``): the collections through a router, the analysis views."""
from django.urls import path
from rest_framework.routers import DefaultRouter

from alerts.api import DigestSignUpView, SubscriptionViewSet

from . import analysis, history
from .views import ROUTES, APIRootView

app_name = "api"

router = DefaultRouter()
router.APIRootView = APIRootView
for prefix, viewset, basename in ROUTES:
    router.register(prefix, viewset, basename=basename)
# Not a collection of legal data (no FilterSet): the alerts app's own viewset, issue 14.
router.register("webhooks", SubscriptionViewSet, basename="webhook")

urlpatterns = [
    path("compare/", analysis.CompareView.as_view(), name="compare"),
    path("gaps/", analysis.GapsView.as_view(), name="gaps"),
    path("changes/", analysis.ChangesView.as_view(), name="changes"),
    path("coverage-history/", history.CoverageHistoryView.as_view(), name="coverage-history"),
    path("coverage-changes/", history.CoverageChangesView.as_view(), name="coverage-changes"),
    path("alert-digests/", DigestSignUpView.as_view(), name="alert-digests"),
    *router.urls,
]
