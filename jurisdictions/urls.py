"""Pages for people (``/``, ``/compare/``, ``/gaps/``, ``/map/``, …) and feeds."""

app_name = "pages"

urlpatterns = []
