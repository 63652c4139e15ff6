"""Coverage over time for people (issue 12): the chart of how many jurisdictions of a selection
answer ``yes`` for a criterion over time (server-side SVG drawn by pygal, served as an image so
that no script or inline style reaches the page, with its data as a table beside it), and the
"What changed" page between two dates. The answers come from :mod:`spans.history`.
"""

from __future__ import annotations

import datetime

import pygal
from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_safe
from pygal.style import Style

from spans import history

from ..models import Criterion
from .params import (
    FILTER_PARAMETERS,
    BadParameters,
    Filters,
    PageQuery,
    parse_as_of,
    parse_criterion,
    parse_filters,
    parse_scope,
    today,
)

CHART_PARAMETERS = [*FILTER_PARAMETERS, "criterion", "as_of", "scope"]

# The site's palette (static/pages), so the chart reads as part of the page.
_STYLE = Style(
    background="#ffffff", plot_background="#ffffff", foreground="#1b1b1b",
    foreground_strong="#1b1b1b", foreground_subtle="#6b6b6b", colors=("#1a6f3a",),
    font_family="system-ui, sans-serif",
)


def selected_ids(filters: Filters, as_of: datetime.date) -> list[int] | None:
    """The selection's primary keys, or None for every jurisdiction but the international
    organisations (the default selection of the gaps)."""
    if not filters.narrowed:
        return None
    return [j.pk for j in filters.apply(as_of)]


def chart_points(ids, criterion: Criterion, scope: str) -> list[dict]:
    """``[{"date": date or None, "count": n}]``: how many of the selection answer yes from
    each date on (None: before any recorded step)."""
    return [
        {"date": day, "count": count}
        for day, count in history.yes_over_time(ids, criterion.pk, scope)
    ]


def chart_context(filters: Filters, criterion: Criterion | None, scope: str, as_of) -> dict | None:
    """What the home and gaps pages need to show the chart: the image URL and the data table."""
    if criterion is None:
        return None
    params = {**filters.params(), "criterion": criterion.slug, "scope": scope,
              "as_of": as_of.isoformat()}
    query = "&".join(f"{k}={v}" for k, v in params.items() if v)
    return {
        "svg_url": f"{reverse('pages:yes-over-time')}?{query}",
        "points": chart_points(selected_ids(filters, as_of), criterion, scope),
        "criterion": criterion,
        "scope": scope,
    }


def render_svg(points: list[dict], title: str) -> bytes:
    """A step chart of ``points`` as standalone SVG (no script)."""
    chart = pygal.DateLine(
        style=_STYLE, title=title, show_legend=False, fill=False, dots_size=2,
        x_label_rotation=30, js=[], disable_xml_declaration=False, width=760, height=320,
        y_title="jurisdictions answering yes", truncate_label=-1,
    )
    dated = [p for p in points if p["date"] is not None]
    start = points[0]["count"] if points else 0
    first = dated[0]["date"] if dated else today()
    series = [(datetime.date(first.year, 1, 1), start)]
    previous = start
    for point in dated:
        series.append((point["date"], previous))
        series.append((point["date"], point["count"]))
        previous = point["count"]
    series.append((max(today(), series[-1][0]), previous))
    chart.add("yes", series)
    return chart.render()


@require_safe
def yes_over_time_svg(request):
    """``/charts/yes-over-time.svg``: the chart as an image (the gaps page's parameters)."""
    query = PageQuery(request, CHART_PARAMETERS, multi={"kind", "jurisdictions"})
    as_of, scope = parse_as_of(query), parse_scope(query)
    criterion = parse_criterion(query)
    filters = parse_filters(query)
    if criterion is None and "criterion" not in query.errors:
        query.fail("criterion", "There is no criterion to answer for.")
    try:
        query.check()
    except BadParameters as exc:
        return HttpResponse(
            "; ".join(f"{k}: {v}" for k, v in exc.errors.items()), status=400,
            content_type="text/plain; charset=utf-8",
        )
    points = chart_points(selected_ids(filters, as_of), criterion, scope)
    svg = render_svg(points, f"{criterion.label} — answering yes ({scope} law)")
    return HttpResponse(svg, content_type="image/svg+xml")
