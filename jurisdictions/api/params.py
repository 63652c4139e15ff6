"""Strict query parameters, shared by every API view (DOMAIN.md, "The public contract").

- Any query parameter a view does not accept is a 400 naming it (a misspelt ``jurisdicton=KR``
  must not return the whole table), and so is a parameter given twice (several values are
  comma-separated, ``status=adopted,in_force``).
- Every 400 answers ``{"errors": {parameter: [message, ...]}, "accepted_parameters": [...]}``.
- ``as_of`` is an ISO 8601 date (``YYYY-MM-DD``, default today, UTC); ``scope`` is ``applicable``
  or ``own``; ``format`` is ``json``, ``api`` (the browsable HTML) or, on lists and analysis
  endpoints, ``csv``; ``page`` and ``page_size`` are positive integers (``page_size`` capped at
  ``settings.MAX_PAGE_SIZE``).
- Errors are always answered in JSON (or the browsable HTML), never in CSV.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from rest_framework.exceptions import APIException
from rest_framework.renderers import BrowsableAPIRenderer

from .. import text
from ..choices import Scope
from ..clock import today
from ..filtersets import IsoDateField
from ..suggest import hint
from .renderers import JSONRenderer


MAX_VALUE_LENGTH = text.MAX_VALUE_LENGTH

FORMAT_DESCRIPTION = (
    "json (default), api (browsable HTML) or csv (UTF-8 with a byte-order mark; on lists every "
    "filtered row, not one page). Accept: text/csv works too."
)


class BadRequest(APIException):
    """HTTP 400 with ``{"errors": {parameter: [messages]}, "accepted_parameters": [...]}``."""

    status_code = 400
    default_code = "bad_request"

    def __init__(self, errors: dict[str, list[str]], accepted: Iterable[str] = ()):
        super().__init__(
            detail={
                "errors": {name: [str(m) for m in messages] for name, messages in errors.items()},
                "accepted_parameters": sorted(set(accepted)),
            }
        )


def messages_of(exc: ValidationError) -> list[str]:
    return [str(m) for m in exc.messages]


def parse_positive_int(value: str, name: str) -> int:
    """A positive decimal integer (1, 2, …); raises ``ValidationError`` naming ``name``."""
    text = str(value).strip()
    if not text.isascii() or not text.isdigit():
        raise ValidationError(f"{name} must be a positive whole number; got {value[:40]!r}.")
    # Measured before int(): Python refuses to convert more than 4300 digits (issue 7).
    digits = text.lstrip("0") or "0"
    if len(digits) > 9:
        raise ValidationError(f"{name} is too large; got {value[:40]!r}.")
    if int(digits) < 1:
        raise ValidationError(f"{name} must be a positive whole number; got {value[:40]!r}.")
    return int(digits)


def parse_as_of(value: str | None) -> datetime.date:
    """``as_of`` (``YYYY-MM-DD``) or today; raises ``ValidationError``."""
    if value in (None, ""):
        return today()
    return IsoDateField().clean(value)


def parse_scope(value: str | None) -> str:
    if value in (None, ""):
        return Scope.APPLICABLE.value
    if value not in Scope.values:
        raise ValidationError(f"{value!r} is not one of: {', '.join(Scope.values)}.")
    return value


class StrictParametersMixin:
    """For API views: reject unknown, repeated and malformed common parameters before anything
    else runs, and answer errors in JSON.

    A view says what it reads through :meth:`accepted_parameters`; ``uses_as_of`` and
    ``uses_scope`` make it parse ``as_of`` into ``self.as_of`` and ``scope`` into
    ``self.scope``.
    """

    uses_as_of = False
    uses_scope = False
    csv_formats = ("json", "api", "csv")
    plain_formats = ("json", "api")

    def accepted_parameters(self) -> list[str]:
        names = ["format"]
        if self.uses_as_of:
            names.append("as_of")
        if self.uses_scope:
            names.append("scope")
        return names

    def accepted_formats(self) -> tuple[str, ...]:
        return self.csv_formats

    def initial(self, request, *args, **kwargs):
        # An undeclared method (TRACE) is a 405 whatever its query: dispatch answers it next.
        if request.method.lower() in self.http_method_names and hasattr(
            self, request.method.lower()
        ):
            self.check_parameters(request)
        super().initial(request, *args, **kwargs)

    def check_parameters(self, request) -> None:
        """Raises :class:`BadRequest` for unknown, repeated or malformed common parameters."""
        accepted = self.accepted_parameters()
        errors: dict[str, list[str]] = {}
        params = request.query_params
        for name in params:
            if name not in accepted:
                errors[name] = ["Unknown parameter." + hint(name, accepted)]
            elif len(params.getlist(name)) > 1:
                errors[name] = [
                    "Given more than once: give it once, with several values comma-separated."
                ]
            elif any(text.CONTROL.search(v) for v in params.getlist(name)):
                errors[name] = ["Contains a control character."]
            elif any(len(v) > MAX_VALUE_LENGTH for v in params.getlist(name)):
                errors[name] = [f"Longer than {MAX_VALUE_LENGTH} characters."]
        fmt = params.get("format")
        if "format" in params and fmt not in self.accepted_formats():
            errors["format"] = [f"{fmt!r} is not one of: {', '.join(self.accepted_formats())}."]
        self.as_of = today()
        self.scope = Scope.APPLICABLE.value
        if self.uses_as_of and "as_of" not in errors:
            try:
                self.as_of = parse_as_of(params.get("as_of"))
            except ValidationError as exc:
                errors["as_of"] = messages_of(exc)
        if self.uses_scope and "scope" not in errors:
            try:
                self.scope = parse_scope(params.get("scope"))
            except ValidationError as exc:
                errors["scope"] = messages_of(exc)
        if errors:
            raise BadRequest(errors, accepted)

    def handle_exception(self, exc):
        # An error is answered in JSON even when CSV was asked for: a spreadsheet holding an
        # error message would pass for data. The browsable HTML stays for people in a browser.
        request = self.request
        if not getattr(request, "accepted_renderer", None):
            try:
                request.accepted_renderer, request.accepted_media_type = (
                    self.perform_content_negotiation(request, force=True)
                )
            except Exception:
                request.accepted_renderer = None
        if not isinstance(request.accepted_renderer, (JSONRenderer, BrowsableAPIRenderer)):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    def wants_csv(self) -> bool:
        renderer = getattr(self.request, "accepted_renderer", None)
        return getattr(renderer, "format", None) == "csv"


def form_parameters(form_class: type[forms.Form], data) -> dict:
    """Clean ``data`` with ``form_class`` (one field per parameter); raises
    :class:`BadRequest` keyed by parameter."""
    form = form_class(data)
    if not form.is_valid():
        errors = {
            name: list(messages)
            for name, messages in form.errors.items()
        }
        raise BadRequest(errors, [*form_class.base_fields, "format"])
    return form.cleaned_data


def permalink(request, path: str, params: dict) -> str:
    """An absolute URL reproducing an answer: ``path`` with ``params`` (``None`` dropped, lists
    comma-joined, dates in ISO 8601), keys in the given order."""
    pairs = []
    for key, value in params.items():
        if value in (None, "", [], ()):
            continue
        if isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, (datetime.date, datetime.datetime)):
            value = value.isoformat()
        pairs.append((key, str(value)))
    query = urlencode(pairs, safe=",:")
    return request.build_absolute_uri(path + ("?" + query if query else ""))
