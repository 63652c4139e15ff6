"""API v1 routes (namespace ``api``): the collections through a router, the analysis views."""
from django.urls import path
from rest_framework.routers import DefaultRouter

app_name = "api"

router = DefaultRouter()
# Collections are registered in jurisdictions/api/views.py's ROUTES (kebab-case plural prefixes).

urlpatterns = router.urls
