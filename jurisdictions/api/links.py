"""The API's addresses and ISO 8601 values as the API writes them, for the serializers, for
the rows built from plain values (:mod:`.instrument_rows`), so that neither imports the other,
and for the answers of :mod:`jurisdictions.answers` (:class:`ApiLinks`)."""

from __future__ import annotations

from django.urls import reverse

from .. import editorial
from ..answers.base import Links, iso  # noqa: F401 (iso: re-exported for the serializers)


def api_url(context, view_name: str, **kwargs) -> str:
    """Absolute URL of ``api:<view_name>`` (relative when there is no request).

    A ``*-detail`` URL of the router is its list URL followed by the key and a slash; the list
    URL is reversed once per request and kept in ``context``, since a page can hold thousands
    of links. Django's ``reverse``, not DRF's: DRF's would carry the request's ``format=csv``
    into every link of a CSV export.
    """
    if view_name.endswith("-detail") and len(kwargs) == 1:
        cache = context.setdefault("_url_prefixes", {}) if isinstance(context, dict) else {}
        prefix = cache.get(view_name)
        if prefix is None:
            prefix = _absolute(context, reverse(f"api:{view_name[:-7]}-list"))
            cache[view_name] = prefix
        return f"{prefix}{next(iter(kwargs.values()))}/"
    return _absolute(context, reverse(f"api:{view_name}", kwargs=kwargs))


def _absolute(context, path: str) -> str:
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


def shows_staff_names(context) -> bool:
    """Whether the request of ``context`` may see account names (kept in ``context``; see
    :func:`editorial.public_name`)."""
    if not isinstance(context, dict):
        return False
    if "_staff_names" not in context:
        request = context.get("request")
        context["_staff_names"] = editorial.sees_staff_names(getattr(request, "user", None))
    return context["_staff_names"]


def staff_name(context, username: str | None, role: str) -> str | None:
    """An account as the request of ``context`` may see it: its username for staff, else "an
    editor" / "a reviewer" or the published display name (issue 18)."""
    return editorial.public_name(username, role, shows_staff_names(context))


class ApiLinks(Links):
    """The API's addresses for :mod:`jurisdictions.answers`: absolute URLs of its resources,
    and accounts named as the request may see them."""

    def __init__(self, context: dict):
        self.context = context
        # An answer names the same places and instruments many times (a compare of every
        # country: ~3,400 deciders): each address is built once per answer.
        self._jurisdictions: dict[str, str] = {}
        self._instruments: dict[str, str] = {}

    def jurisdiction(self, code):
        url = self._jurisdictions.get(code)
        if url is None:
            url = self._jurisdictions[code] = api_url(self.context, "jurisdiction-detail", code=code)
        return url

    def instrument(self, slug):
        url = self._instruments.get(slug)
        if url is None:
            url = self._instruments[slug] = api_url(self.context, "instrument-detail", slug=slug)
        return url

    def status_event(self, pk):
        return api_url(self.context, "status-event-detail", pk=pk)

    def event(self, slug):
        return api_url(self.context, "event-detail", slug=slug)

    def source(self, pk):
        return api_url(self.context, "source-detail", pk=pk)

    def criterion(self, slug):
        return api_url(self.context, "criterion-detail", slug=slug)

    def assessment(self, pk):
        return api_url(self.context, "assessment-detail", pk=pk)

    def account(self, username, role):
        return staff_name(self.context, username, role)
