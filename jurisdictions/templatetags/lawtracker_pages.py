"""Template helpers of the public pages: local static assets, dates shown with their precision."""

from __future__ import annotations

import datetime

from django import template
from urllib.parse import quote, urljoin

from django.templatetags.static import PrefixNode, static
from django.utils.html import format_html

from ..pages.display import CELL_LINKS, VALUES

register = template.Library()


@register.simple_tag
def asset(path: str) -> str:
    """The URL of a static file of the site, always on this host.

    In production (DEBUG off, after ``collectstatic``) the manifest storage gives the hashed
    name. Tests and a DEBUG-off run without ``collectstatic`` have no manifest, and the
    manifest storage raises ``ValueError`` for every file; WhiteNoise still serves the file
    under its plain name there (``WHITENOISE_USE_FINDERS``), so fall back to it.
    """
    try:
        return static(path)
    except ValueError:
        return urljoin(PrefixNode.handle_simple("STATIC_URL"), quote(path))


PRECISION_NOTES = {
    "day": "",
    "month": "month known",
    "year": "year known",
    "on_or_before": "on or before",
}


@register.simple_tag
def dated(date: datetime.date | str | None, precision: str = "day") -> str:
    """A date as ``<time>``, to the precision the sources give (DOMAIN.md): ``2024-09-26``,
    ``2024-09`` (month known), ``2024`` (year known), or "on or before 2024-09-26"."""
    if date is None or date == "":
        return "—"
    if isinstance(date, str):  # Instrument.key_dates() gives ISO strings
        date = datetime.date.fromisoformat(date)
    if precision == "year":
        iso = f"{date.year:04d}"
    elif precision == "month":
        iso = f"{date.year:04d}-{date.month:02d}"
    else:
        iso = date.isoformat()
    if precision == "on_or_before":
        return format_html(
            '<span class="precision">on or before</span> <time datetime="{}">{}</time>', iso, iso
        )
    note = PRECISION_NOTES.get(precision, "")
    if note:
        return format_html(
            '<time datetime="{}">{}</time> <span class="precision">({})</span>', iso, iso, note
        )
    return format_html('<time datetime="{}">{}</time>', iso, iso)


@register.filter
def isodate(value) -> str:
    """A date or datetime as an ISO 8601 date (``2025-01-01``); "" for None."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    return value.isoformat()


@register.filter
def host(url: str) -> str:
    """The host name of a URL, for showing where an outbound link goes."""
    from urllib.parse import urlsplit

    return urlsplit(url or "").hostname or ""


@register.filter
def value_symbol(value: str) -> str:
    """The symbol of an effective value (``pages.display.VALUES``): tells it apart without
    colour."""
    return VALUES[value].symbol


@register.filter
def value_label(value: str) -> str:
    """The short label of an effective value (``pages.display.VALUES``)."""
    return VALUES[value].label


@register.filter
def shown(deciders) -> list:
    """The deciders a matrix cell lists (the first ``pages.display.CELL_LINKS``)."""
    return list(deciders[:CELL_LINKS])


@register.filter
def more(deciders) -> int:
    """How many deciders a matrix cell leaves to its "+N more" link."""
    return max(0, len(deciders) - CELL_LINKS)


@register.inclusion_tag("pages/_research_extent.html")
def research_extent() -> dict:
    """How much of the world is researched today (issue 13): the UN member states by research
    status, from :func:`jurisdictions.quality.research_extent` as ``data_report`` counts them."""
    from jurisdictions import clock
    from jurisdictions.quality import research_extent as extent

    counts = extent("UN", clock.today())
    return {"counts": counts, "researched": counts["reviewed"] + counts["in_progress"]}
