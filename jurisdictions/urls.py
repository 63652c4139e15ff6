"""Pages for people (``/``, ``/compare/``, ``/gaps/``, ``/map/``, ``/jurisdictions/{code}/``,
``/instruments/{slug}/``); see :mod:`jurisdictions.pages`."""
from django.urls import path

from .pages import history, views

app_name = "pages"

urlpatterns = [
    path("", views.home, name="home"),
    path("compare/", views.compare, name="compare"),
    path("gaps/", views.gaps, name="gaps"),
    path("map/", views.world_map, name="map"),
    path("methodology/", views.methodology, name="methodology"),
    path("search/", views.search, name="search"),
    path("jurisdictions/", views.jurisdiction_index, name="jurisdictions"),
    path("what-changed/", views.what_changed, name="what-changed"),
    path("charts/yes-over-time.svg", history.yes_over_time_svg, name="yes-over-time"),
    # Codes are matched in any case (us-ca, US-CA); the view looks them up in upper case.
    path("jurisdictions/<str:code>/", views.jurisdiction_detail, name="jurisdiction"),
    path("instruments/<str:slug>/", views.instrument_detail, name="instrument"),
]
