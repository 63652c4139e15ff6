"""The alert feeds (``/feeds/alerts/…``, namespace ``alerts``)."""
from django.urls import path

from . import feeds, views

app_name = "alerts"

urlpatterns = [
    path("jurisdictions/<str:code>/", feeds.JurisdictionFeed(), name="jurisdiction-feed"),
    path("criteria/<str:slug>/", feeds.CriterionFeed(), name="criterion-feed"),
    path("instruments/<str:slug>/", feeds.InstrumentFeed(), name="instrument-feed"),
    path("gaps/", feeds.GapsFeed(), name="gaps-feed"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
