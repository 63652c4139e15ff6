"""Query parameters of the pages, read strictly.

The pages take the same filters and ``as_of`` as the API (DOMAIN.md, "The public contract") and
answer bad input the same way, as a page: HTTP 400 naming each bad parameter and listing the
ones the page accepts (:class:`BadParameters`). An unknown parameter is bad input too: a misspelt
``jurisdicton=KR`` must not silently show the whole table.

Differences from the API, for people with a browser: an empty value means "not given" (an HTML
form sends ``bloc=`` for "any bloc"), and multi-valued filters may be repeated
(``criterion=a&criterion=b``, what checkboxes send) as well as comma-separated.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable


from .. import text
from ..choices import Scope
from ..clock import today
from ..models import Criterion
from ..selection import RESEARCH_CHOICES, SELECTION_PARAMETERS, Selection, read_selection  # noqa: F401 (re-exported for the views)
from ..suggest import hint

ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FORMATS = ("html", "csv")
# Above this many rows a matrix stops being readable and starts being slow: ask for a filter.
MAX_MATRIX_ROWS = 1000


class BadParameters(Exception):
    """Bad query parameters: ``errors`` is ``{parameter: message}``, ``accepted`` the names the
    page accepts. Answered with the 400 page."""

    def __init__(self, errors: dict[str, str], accepted: Iterable[str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.accepted = sorted(set(accepted))


class PageQuery:
    """The query string of one request, checked against the parameters a page accepts.

    ``accepted``: the names the page reads (``format`` is always accepted); ``multi``: the names
    that may be repeated. Errors are collected (:meth:`fail`) so that one 400 names every bad
    parameter; :meth:`check` raises :class:`BadParameters` when there is any.
    """

    def __init__(self, request, accepted: Iterable[str], multi: Iterable[str] = ()):
        self.params = request.GET
        self.accepted = [*accepted, "format"]
        self.multi = set(multi)
        self.errors: dict[str, str] = {}
        for name in self.params:
            if name not in self.accepted:
                self.fail(name, "Unknown parameter." + hint(name, self.accepted))
            elif name not in self.multi and len(self.params.getlist(name)) > 1:
                self.fail(name, "Given more than once: give it once.")
            elif any(text.CONTROL.search(v) for v in self.params.getlist(name)):
                # PostgreSQL cannot even compare a text containing NUL: refuse it here.
                self.fail(name, "Contains a control character.")

    def fail(self, name: str, message: str) -> None:
        # A parameter's name is shown on the 400 page: no control character reaches the HTML.
        self.errors.setdefault(text.CONTROL.sub("\ufffd", name), message)

    def value(self, name: str) -> str | None:
        """The stripped value of ``name``; None when absent, empty or already bad."""
        if name in self.errors:
            return None
        value = (self.params.get(name) or "").strip()
        return value or None

    def values(self, name: str) -> list[str]:
        """Every value of ``name``, repeated or comma-separated, stripped, in order, once."""
        if name in self.errors:
            return []
        seen: list[str] = []
        for raw in self.params.getlist(name):
            for item in raw.split(","):
                item = item.strip()
                if item and item not in seen:
                    seen.append(item)
        return seen

    def check(self) -> None:
        """Raises :class:`BadParameters` when any parameter was bad."""
        if self.errors:
            raise BadParameters(self.errors, self.accepted)


# --- one parser per parameter -----------------------------------------------------------------
def parse_as_of(query: PageQuery, name: str = "as_of") -> datetime.date:
    """``as_of``: an ISO 8601 calendar date, ``YYYY-MM-DD``; default today (UTC)."""
    value = query.value(name)
    if value is None:
        return today()
    if not ISO_DATE_RE.match(value):
        query.fail(name, f"{value!r} is not a date: write it as YYYY-MM-DD (ISO 8601).")
        return today()
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        query.fail(name, f"{value!r} is not a date that exists.")
        return today()


def parse_scope(query: PageQuery) -> str:
    """``scope``: ``applicable`` (default) or ``own`` (``choices.Scope``)."""
    value = query.value("scope")
    if value is None:
        return Scope.APPLICABLE.value
    if value not in Scope.values:
        query.fail("scope", f"{value!r} is not one of: {', '.join(Scope.values)}.")
        return Scope.APPLICABLE.value
    return value


def parse_format(query: PageQuery) -> str:
    """``format``: ``html`` (default) or ``csv``."""
    value = query.value("format")
    if value is None:
        return "html"
    if value not in FORMATS:
        query.fail("format", f"{value!r} is not one of: {', '.join(FORMATS)}.")
        return "html"
    return value


def parse_choice(query: PageQuery, name: str, choices: Iterable[str], default: str) -> str:
    """A parameter taking one of ``choices``; ``default`` when absent."""
    choices = list(choices)
    value = query.value(name)
    if value is None:
        return default
    if value not in choices:
        query.fail(name, f"{value!r} is not one of: {', '.join(choices)}.")
        return default
    return value


def active_criteria() -> list[Criterion]:
    return list(Criterion.objects.filter(retired=False))


def parse_criteria(query: PageQuery, name: str = "criterion") -> list[Criterion]:
    """Several criterion slugs; default every criterion not retired. A retired criterion is
    shown when asked for by its slug (old links keep their meaning)."""
    slugs = query.values(name)
    if not slugs:
        return active_criteria()
    found = {c.slug: c for c in Criterion.objects.filter(slug__in=slugs)}
    unknown = [s for s in slugs if s not in found]
    if unknown:
        slugs = list(Criterion.objects.values_list("slug", flat=True))
        query.fail(name, f"Unknown criterion {', '.join(unknown)}; known: {', '.join(slugs)}."
                   + hint(unknown[0], slugs))
        return active_criteria()
    return [found[s] for s in slugs]


DEFAULT_CRITERION = "ai_generated_explicit"


def parse_criterion(query: PageQuery, name: str = "criterion") -> Criterion | None:
    """One criterion slug; default ``ai_generated_explicit`` (the headline question), else the
    first criterion. None only when there is no criterion at all."""
    slug = query.value(name)
    if slug is None:
        return (
            Criterion.objects.filter(slug=DEFAULT_CRITERION).first()
            or Criterion.objects.filter(retired=False).first()
        )
    criterion = Criterion.objects.filter(slug=slug).first()
    if criterion is None:
        slugs = list(Criterion.objects.values_list("slug", flat=True))
        query.fail(name, f"Unknown criterion {slug!r}; known: {', '.join(slugs)}."
                   + hint(slug, slugs))
    return criterion


# --- the selection shared by the matrix, the gaps and the map ---------------------------------
# One reading for the pages and the API: jurisdictions.selection (the parameters narrow together).
Filters = Selection
FILTER_PARAMETERS = SELECTION_PARAMETERS


def parse_filters(query: PageQuery, research_default: str = "all") -> Selection:
    """Read the selection parameters (:mod:`jurisdictions.selection`) from ``query``."""
    return read_selection(query.values, query.fail, research_default)
