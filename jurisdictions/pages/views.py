"""The page views. Each reads its query strictly (:mod:`.params`), asks the read layer
(:mod:`jurisdictions.answers`: compare, gaps, timeline) for the answer, with the pages'
addresses (:class:`PageLinks`), and renders it as HTML or, with ``format=csv``, as the answer's
own CSV (the same columns as the API's; :mod:`.export`). The home page's headline figures and
the jurisdiction index read :mod:`jurisdictions.coverage` directly.

Context given to every page template (:func:`_page`): ``as_of``, ``scope`` (where the page has
one), ``permalink`` (absolute URL with every parameter, ``as_of`` included), ``csv_url``,
``retrieved`` (today), ``last_changed`` (aware datetime of the latest write to the legal data),
``research_compiled_on`` (the latest compile date of the research files),
``citation`` (:class:`.citation.Citation`), ``legend`` (the effective values with symbol, label
and meaning).
"""

from __future__ import annotations

import datetime
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache, wraps
from urllib.parse import urlencode

from django.http import Http404
from django.shortcuts import render
from django.urls import get_script_prefix, reverse
from django.utils.safestring import mark_safe
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_safe

from spans import history as span_history

from .. import coverage, csvfile
from ..answers import compare as compare_answer
from ..answers import gaps as gaps_answer
from ..answers import timeline as timeline_answer
from ..answers.base import Links
from ..choices import (
    BASIS_LABELS,
    STATUS_LABELS,
    APPLYING_STATUSES,
    PENDING_STATUSES,
    EffectiveValue,
    JurisdictionKind,
    LegalForce,
    ResearchStatus,
    Scope,
    Status,
    legal_force_for,
)
from ..groups import group_choices
from ..models import Criterion, Instrument, Jurisdiction, Source, fold_for_search
from ..regions import countries_in, region_choices, regions_by_alpha2, regions_for_code
from . import changes, history, worldmap
from .citation import Citation
from .display import LEGEND, VALUES
from .export import csv_response
from .params import (
    FILTER_PARAMETERS,
    MAX_MATRIX_ROWS,
    RESEARCH_CHOICES,
    BadParameters,
    Filters,
    PageQuery,
    active_criteria,
    parse_as_of,
    parse_choice,
    parse_criteria,
    parse_criterion,
    parse_filters,
    parse_format,
    parse_scope,
    today,
)

GAP_ORDER = [v for v in coverage.GAP_VALUES if v != EffectiveValue.NOT_RESEARCHED]

LEGAL_FORCE_LABELS = dict(LegalForce.choices)
# A jurisdiction code or an instrument slug in a path; anything else is unknown (404) without
# asking the database (PostgreSQL rejects a NUL in a text before it could answer "no row").
PATH_KEY_RE = re.compile(r"^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$")


# --- shared machinery -------------------------------------------------------------------------
def _page(view):
    """GET/HEAD only; :class:`BadParameters` becomes the 400 page naming each parameter."""

    @require_safe
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except BadParameters as exc:
            return render(
                request,
                "pages/400.html",
                {"errors": exc.errors, "accepted": exc.accepted, "path": request.path,
                 "legend": LEGEND},
                status=400,
            )

    return wrapper


def _query(params: dict) -> str:
    """A query string from ``params`` in their order, empty values dropped, commas kept
    readable."""
    pairs = [(k, str(v)) for k, v in params.items() if v not in (None, "")]
    return urlencode(pairs, safe=",") if pairs else ""


def _url(path: str, params: dict) -> str:
    query = _query(params)
    return f"{path}?{query}" if query else path


def _follow(label: str, name: str, params: dict | None = None, **kwargs) -> tuple[str, str]:
    """A "Follow" link (issue 14): ``(label, path)`` of the Atom feed of alerts named ``name``
    (the alerts app's URLs, by name only), with the page's selection ``params``."""
    return label, _url(reverse(name, kwargs=kwargs), params or {})


def _context(request, *, title: str, path: str, params: dict, as_of, key_hint: str, **extra):
    """The context every page shares (module docstring)."""
    last_changed = changes.data_last_changed()
    compiled = changes.research_compiled_on()
    retrieved = today()
    permalink = request.build_absolute_uri(_url(path, params))
    return {
        "title": title,
        "as_of": as_of,
        "params": params,
        "permalink": permalink,
        "csv_url": _url(path, {**params, "format": "csv"}),
        "retrieved": retrieved,
        "last_changed": last_changed,
        "research_compiled_on": compiled,
        "citation": Citation(
            title=title,
            as_of=as_of,
            retrieved=retrieved,
            last_changed=last_changed.date() if last_changed else None,
            research_compiled_on=compiled,
            url=permalink,
            key_hint=key_hint,
        ),
        "legend": LEGEND,
        **extra,
    }


@lru_cache(maxsize=8)
def _instrument_prefix(script_prefix: str) -> str:
    return reverse("pages:instrument", args=["-"])[: -len("-/")]


def _instrument_url(slug: str) -> str:
    """``/instruments/{slug}/``: reversed once per script prefix, not once per cell (a matrix
    links thousands of cells; slugs need no quoting)."""
    return f"{_instrument_prefix(get_script_prefix())}{slug}/"


class PageLinks(Links):
    """The pages' addresses for :mod:`jurisdictions.answers`: a jurisdiction's page at the
    answer's date and scope, an instrument's page."""

    def __init__(self, as_of: datetime.date, scope: str = Scope.APPLICABLE):
        self.as_of, self.scope = as_of, scope

    def jurisdiction(self, code: str) -> str:
        return _url(
            reverse("pages:jurisdiction", args=[code]),
            {"as_of": self.as_of.isoformat(),
             "scope": self.scope if self.scope != Scope.APPLICABLE else ""},
        )

    def instrument(self, slug: str) -> str:
        return _instrument_url(slug)


def answer_csv(name: str, columns, lines):
    """A page's CSV download of an answer: the answer's own columns, as the API writes them."""
    return csv_response(name, [c.header for c in columns], csvfile.table(lines, columns))


def _jurisdiction_url(jurisdiction: Jurisdiction, as_of, scope) -> str:
    return PageLinks(as_of, scope).jurisdiction(jurisdiction.code)


def _display_name(jurisdiction: Jurisdiction) -> str:
    return jurisdiction.common_name or jurisdiction.name


def _filter_options(filters: Filters | None = None) -> dict:
    """The choices of the filter form: blocs, regions, kinds, research statuses."""
    return {
        "blocs": list(
            Jurisdiction.objects.filter(kind=JurisdictionKind.SUPRANATIONAL).values_list(
                "code", "name"
            )
        ),
        "country_groups": group_choices(),
        "regions": region_choices(),
        "kinds": JurisdictionKind.choices,
        "research_choices": RESEARCH_CHOICES,
        "scopes": Scope.choices,
        "filters": filters,
    }


# --- / ----------------------------------------------------------------------------------------
@dataclass
class Headline:
    """One row of the headline table: a group of jurisdictions and how they stand."""

    label: str
    url: str
    total: int = 0
    researched: int = 0
    covered: int = 0
    gaps: int = 0
    pending: int = 0
    by_value: Counter = field(default_factory=Counter)

    def add(self, value: str, researched: bool, pending: bool) -> None:
        self.total += 1
        if not researched:
            return
        self.researched += 1
        if value == EffectiveValue.YES:
            self.covered += 1
        else:
            self.gaps += 1
            self.by_value[value] += 1
            if pending:
                self.pending += 1

    def counts(self) -> list[int]:
        return [self.by_value[v] for v in GAP_ORDER]


@_page
def home(request):
    """``/``: headline figures — researched jurisdictions lacking a law for the headline
    criterion (default ``ai_generated_explicit``), overall, by bloc and by UN M49 region — and
    the latest edits."""
    query = PageQuery(request, ["as_of", "scope", "criterion"])
    as_of, scope, fmt = parse_as_of(query), parse_scope(query), parse_format(query)
    criterion = parse_criterion(query)
    query.check()
    params = {"as_of": as_of.isoformat(), "scope": scope, "criterion": criterion.slug if criterion else ""}

    rows: list[Headline] = []
    if criterion is not None:
        answer = gaps_answer.answer(
            gaps_answer.Question(criterion, as_of, scope), with_sources=False
        )
        gaps_url = reverse("pages:gaps")
        base = {"criterion": criterion.slug, "as_of": as_of.isoformat(), "scope": scope}

        def row(label: str, **filters) -> Headline:
            return Headline(label, _url(gaps_url, {**base, **filters}))

        everyone = row("All researched jurisdictions")
        countries = row("Countries", kind="country")
        subdivisions = row("States, provinces and other subdivisions", kind="subdivision")
        blocs = {
            b.pk: (b, row(f"{b.name} member states", bloc=b.code, kind="country"))
            for b in Jurisdiction.objects.filter(kind=JurisdictionKind.SUPRANATIONAL)
        }
        members = {
            pk: set(Jurisdiction.objects.members_of(bloc, as_of).values_list("pk", flat=True))
            for pk, (bloc, _) in blocs.items()
        }
        # The five M49 regions (Africa, Americas, Asia, Europe, Oceania), not their sub-regions.
        top_regions = {r.region for r in regions_by_alpha2().values()}
        regions = {
            name: row(f"{name} (countries)", region=slug, kind="country")
            for slug, name in region_choices()
            if name in top_regions
        }
        for jurisdiction in answer["covered"] + [j for g in answer["groups"].values() for j in g]:
            cell = answer["cells"][jurisdiction.code]
            args = (
                cell.value,
                jurisdiction.research_status != ResearchStatus.NOT_RESEARCHED,
                jurisdiction.code in answer["pending"],
            )
            everyone.add(*args)
            if jurisdiction.kind == JurisdictionKind.COUNTRY:
                countries.add(*args)
                found = regions_for_code(jurisdiction.code)
                if found and found.region in regions:
                    regions[found.region].add(*args)
                for pk, (_, headline) in blocs.items():
                    if jurisdiction.pk in members[pk]:
                        headline.add(*args)
            elif jurisdiction.kind == JurisdictionKind.SUBDIVISION:
                subdivisions.add(*args)
        # Both scopes side by side where subdivisions are counted (DOMAIN.md, "Two scopes"):
        # federal law covers every US state, yet readers ask which states legislated themselves.
        other_scope = Scope.OWN if scope == Scope.APPLICABLE else Scope.APPLICABLE
        scope_labels = {Scope.APPLICABLE: "covered by the law that applies",
                        Scope.OWN: "has legislated itself"}
        subdivisions.label = f"{subdivisions.label}: {scope_labels[scope]}"
        other = Headline(
            f"States, provinces and other subdivisions: {scope_labels[other_scope]}",
            _url(gaps_url, {**base, "scope": other_scope, "kind": "subdivision"}),
        )
        other_answer = gaps_answer.answer(
            gaps_answer.Question(
                criterion, as_of, other_scope,
                Jurisdiction.objects.filter(kind=JurisdictionKind.SUBDIVISION),
            ),
            with_sources=False,
        )
        for jurisdiction in other_answer["covered"] + [
            j for g in other_answer["groups"].values() for j in g
        ]:
            other.add(
                other_answer["cells"][jurisdiction.code].value,
                jurisdiction.research_status != ResearchStatus.NOT_RESEARCHED,
                jurisdiction.code in other_answer["pending"],
            )
        rows = [everyone, countries, *(
            (subdivisions, other) if scope == Scope.APPLICABLE else (other, subdivisions)
        )]
        bloc_rows = [headline for _, headline in blocs.values()]
        region_rows = [regions[name] for name in sorted(regions)]
    else:
        everyone, bloc_rows, region_rows = None, [], []

    if fmt == "csv":
        header = ["group", "as_of", "criterion", "scope", "jurisdictions", "researched",
                  "yes", "gaps", *GAP_ORDER, "gaps_with_pending_proposal"]
        return csv_response(
            f"lawtracker-headline-{as_of.isoformat()}.csv",
            header,
            (
                [r.label, as_of, criterion.slug if criterion else "", scope, r.total, r.researched, r.covered,
                 r.gaps, *r.counts(), r.pending]
                for r in [*rows, *bloc_rows, *region_rows]
            ),
        )
    context = _context(
        request,
        title="Where AI-generated child sexual abuse material is not yet named in law",
        path=reverse("pages:home"),
        params=params,
        as_of=as_of,
        key_hint="headline",
        scope=scope,
        criterion=criterion,
        everyone=everyone,
        rows=rows,
        bloc_rows=bloc_rows,
        region_rows=region_rows,
        gap_values=[VALUES[v] for v in GAP_ORDER],
        changes=changes.recent_changes(),
        developments=changes.legal_developments(as_of),
        is_today=as_of == today(),
        yes_chart=history.chart_context(Filters(), criterion, scope, as_of),
    )
    return render(request, "pages/home.html", context)


# --- /compare/ --------------------------------------------------------------------------------
COMPARE_PARAMETERS = [*FILTER_PARAMETERS, "criterion", "as_of", "scope", "layout"]
@_page
def compare(request):
    """``/compare/``: the jurisdictions × criteria matrix of effective values."""
    query = PageQuery(request, COMPARE_PARAMETERS, multi={"criterion", "kind", "jurisdictions"})
    as_of, scope, fmt = parse_as_of(query), parse_scope(query), parse_format(query)
    criteria = parse_criteria(query)
    filters = parse_filters(query, research_default="researched")
    layout = parse_choice(query, "layout", ("long", "wide"), "long")
    query.check()
    jurisdictions = filters.apply(as_of)
    if len(jurisdictions) > MAX_MATRIX_ROWS:
        raise BadParameters(
            {"research": f"research=all gives {len(jurisdictions)} rows, more than the "
                         f"{MAX_MATRIX_ROWS} a page shows: narrow it with bloc, region, kind, "
                         "within or jurisdictions."},
            [*COMPARE_PARAMETERS, "format"],
        )
    answer = compare_answer.build(
        compare_answer.Question(jurisdictions, criteria, as_of, scope), PageLinks(as_of, scope)
    )
    params = {
        **filters.params(),
        "research": filters.research,
        "criterion": ",".join(c.slug for c in criteria),
        "as_of": as_of.isoformat(),
        "scope": scope,
    }
    if fmt == "csv":
        return answer_csv(answer.csv_name(layout), *compare_answer.csv_table(answer, layout))
    counts = answer.totals
    context = _context(
        request,
        title="Comparison of laws on AI-generated child sexual abuse material",
        path=reverse("pages:compare"),
        params=params,
        follow_links=[
            _follow(f"{c.label}, in this selection", "alerts:criterion-feed",
                    {**filters.params(), "scope": scope}, slug=c.slug)
            for c in criteria
        ],
        as_of=as_of,
        key_hint="compare",
        scope=scope,
        criteria=criteria,
        all_criteria=active_criteria(),
        chosen=[c.slug for c in criteria],
        rows=answer.rows,
        counts=[(VALUES[v], counts[v]) for v in VALUES],
        counts_unit="cells",
        defaulted_to_researched=filters.research == "researched",
        **_filter_options(filters),
    )
    return render(request, "pages/compare.html", context)


# --- /gaps/ -----------------------------------------------------------------------------------
GAPS_PARAMETERS = [*FILTER_PARAMETERS, "criterion", "as_of", "scope"]


@_page
def gaps(request):
    """``/gaps/``: for one criterion, the researched jurisdictions without a ``yes``, grouped by
    effective value with counts; the not-researched ones apart."""
    query = PageQuery(request, GAPS_PARAMETERS, multi={"kind", "jurisdictions"})
    as_of, scope, fmt = parse_as_of(query), parse_scope(query), parse_format(query)
    criterion = parse_criterion(query)
    filters = parse_filters(query)
    if criterion is None and "criterion" not in query.errors:
        query.fail("criterion", "There is no criterion to answer for.")
    query.check()
    answer = gaps_answer.build(
        gaps_answer.Question(criterion, as_of, scope, filters.apply(as_of)),
        PageLinks(as_of, scope),
    )
    params = {**filters.params(), "criterion": criterion.slug, "as_of": as_of.isoformat(),
              "scope": scope}
    if filters.research != "all":
        params["research"] = filters.research
    if fmt == "csv":
        return answer_csv(answer.csv_name, gaps_answer.columns(answer), answer.listed)
    groups = [
        {"display": VALUES[v], "count": answer.counts[v], "members": answer.groups[v]}
        for v in GAP_ORDER
    ]
    context = _context(
        request,
        title=f"Gaps: {criterion.label}",
        path=reverse("pages:gaps"),
        params=params,
        follow_links=[_follow("this gap list", "alerts:gaps-feed", {
            "criterion": criterion.slug, **filters.params(), "research": filters.research,
            "scope": scope})],
        as_of=as_of,
        key_hint=f"gaps {criterion.slug}",
        scope=scope,
        criterion=criterion,
        all_criteria=active_criteria(),
        groups=groups,
        gap_total=sum(g["count"] for g in groups),
        pending_total=sum(1 for g in groups for m in g["members"] if m.pending),
        not_researched=answer.groups[EffectiveValue.NOT_RESEARCHED],
        covered=answer.covered,
        yes_chart=history.chart_context(filters, criterion, scope, as_of),
        **_filter_options(filters),
    )
    return render(request, "pages/gaps.html", context)


# --- /jurisdictions/ --------------------------------------------------------------------------
JURISDICTIONS_PARAMETERS = [*FILTER_PARAMETERS, "q", "criterion", "as_of", "scope"]
OTHER_PLACES = "Blocs and organisations"


def _search(queryset, q: str | None):
    """``queryset`` narrowed to rows whose folded search text holds ``q`` (any case, accents
    ignored: "sao paulo" finds São Paulo), or unchanged when ``q`` is empty."""
    folded = fold_for_search(q).strip() if q else ""
    return queryset.filter(search_text__icontains=folded) if folded else queryset


@_page
def jurisdiction_index(request):
    """``/jurisdictions/``: the jurisdictions by UN M49 region and kind, each with its research
    status and its effective value for the headline criterion; the selection parameters and
    ``q`` (code or name) narrow it."""
    query = PageQuery(request, JURISDICTIONS_PARAMETERS, multi={"kind", "jurisdictions"})
    as_of, scope, fmt = parse_as_of(query), parse_scope(query), parse_format(query)
    criterion = parse_criterion(query)
    filters = parse_filters(query, research_default="researched")
    q = query.value("q")
    query.check()
    jurisdictions = filters.apply(as_of, _search(Jurisdiction.objects.all(), q))
    if len(jurisdictions) > MAX_MATRIX_ROWS:
        raise BadParameters(
            {"research": f"This list has {len(jurisdictions)} rows, more than the "
                         f"{MAX_MATRIX_ROWS} a page shows: narrow it with q, bloc, group, "
                         "region, kind or within."},
            [*JURISDICTIONS_PARAMETERS, "format"],
        )
    # The value of each place is compare's answer for the headline criterion (one build()).
    column = {}
    if criterion:
        answer = compare_answer.build(
            compare_answer.Question(jurisdictions, [criterion], as_of, scope),
            PageLinks(as_of, scope), with_sources=False, compact=True,
        )
        column = {row.jurisdiction.code: row.cells[0] for row in answer.rows}
    params = {**filters.params(), "research": filters.research, "q": q or "",
              "criterion": criterion.slug if criterion else "", "as_of": as_of.isoformat(),
              "scope": scope}
    entries = []
    for j in jurisdictions:
        regions = regions_for_code(j.code)
        cell = column.get(j.code)
        entries.append({
            "jurisdiction": j,
            "name": _display_name(j),
            "region": regions.region if regions else OTHER_PLACES,
            "subregion": regions.subregion if regions else "",
            "url": _jurisdiction_url(j, as_of, scope),
            "value": cell.value if cell else None,
            "display": VALUES.get(cell.value) if cell else None,
        })
    if fmt == "csv":
        header = ["code", "name", "kind", "region", "subregion", "research_status",
                  "last_reviewed_on", "criterion", "value", "as_of", "scope"]
        lines = (
            [e["jurisdiction"].code, e["name"], e["jurisdiction"].kind, e["region"],
             e["subregion"], e["jurisdiction"].research_status,
             e["jurisdiction"].last_reviewed_on, criterion.slug if criterion else "",
             e["value"], as_of, scope]
            for e in entries
        )
        return csv_response(f"lawtracker-jurisdictions-{as_of.isoformat()}.csv", header, lines)
    sections: dict[str, dict[str, list]] = {}
    kind_labels = dict(JurisdictionKind.choices)
    for entry in sorted(entries, key=lambda e: (e["region"] == OTHER_PLACES, e["region"])):
        kind = kind_labels.get(entry["jurisdiction"].kind, entry["jurisdiction"].kind)
        sections.setdefault(entry["region"], {}).setdefault(kind, []).append(entry)
    context = _context(
        request,
        title="Jurisdictions",
        path=reverse("pages:jurisdictions"),
        params=params,
        as_of=as_of,
        key_hint="jurisdictions",
        scope=scope,
        criterion=criterion,
        all_criteria=active_criteria(),
        q=q or "",
        sections=[(region, list(kinds.items())) for region, kinds in sections.items()],
        total=len(entries),
        defaulted_to_researched=filters.research == "researched",
        **_filter_options(filters),
    )
    return render(request, "pages/jurisdictions.html", context)


# --- /search/ ---------------------------------------------------------------------------------
SEARCH_LIMIT = 50


@_page
def search(request):
    """``/search/?q=``: jurisdictions by code or name (any case, accents ignored, local names
    too) and instruments by title, short name or citation; at most ``SEARCH_LIMIT`` of each."""
    query = PageQuery(request, ["q"])
    if parse_format(query) == "csv":
        query.fail("format", "The search page has no CSV: use /jurisdictions/?q=…&format=csv.")
    q = query.value("q") or ""
    query.check()
    jurisdictions, instruments = [], []
    if q:
        exact = Jurisdiction.objects.filter(code=q.upper())
        found = _search(Jurisdiction.objects.all(), q).order_by("code")[:SEARCH_LIMIT]
        jurisdictions = list(dict.fromkeys([*exact, *found]))[:SEARCH_LIMIT]
        instruments = list(
            _search(Instrument.objects.select_related("jurisdiction"), q).order_by(
                "jurisdiction__code", "slug"
            )[:SEARCH_LIMIT]
        )
    context = _context(
        request,
        title=f"Search: {q}" if q else "Search",
        path=reverse("pages:search"),
        params={"q": q},
        as_of=today(),
        key_hint="search",
        q=q,
        jurisdictions=[
            {"jurisdiction": j, "name": _display_name(j),
             "url": reverse("pages:jurisdiction", args=[j.code])}
            for j in jurisdictions
        ],
        instruments=[{"instrument": i, "url": _instrument_url(i.slug)} for i in instruments],
        limit=SEARCH_LIMIT,
        csv_url=None,
    )
    return render(request, "pages/search.html", context)


# --- /map/ ------------------------------------------------------------------------------------
@_page
@gzip_page  # the map's shapes weigh about a megabyte before compression
def world_map(request):
    """``/map/``: countries coloured by their effective value for one criterion."""
    query = PageQuery(request, [*FILTER_PARAMETERS, "criterion", "as_of", "scope"],
                      multi={"kind", "jurisdictions"})
    as_of, scope, fmt = parse_as_of(query), parse_scope(query), parse_format(query)
    criterion = parse_criterion(query)
    filters = parse_filters(query)
    if criterion is None and "criterion" not in query.errors:
        query.fail("criterion", "There is no criterion to answer for.")
    query.check()
    # The map draws countries: the selection parameters narrow them like on every page.
    countries = filters.apply(as_of, Jurisdiction.objects.countries())
    answer = compare_answer.build(
        compare_answer.Question(countries, [criterion], as_of, scope), PageLinks(as_of, scope)
    )
    params = {**filters.params(), "criterion": criterion.slug, "as_of": as_of.isoformat(),
              "scope": scope}
    if filters.research != "all":
        params["research"] = filters.research

    if fmt == "csv":
        return answer_csv(answer.csv_name(), *compare_answer.csv_table(answer))

    areas, table_rows = {}, []
    for row in answer.rows:
        place, cell = row.jurisdiction, row.cells[0]
        display = VALUES[cell.value]
        areas[place.code] = {
            "value": cell.value,
            "label": f"{place.display_name}: {display.label}"
            + (" (approximate)" if cell.approximate else "")
            + (" — a proposal is pending" if cell.pending else ""),
            "url": place.url if place.researched else "",
        }
        if place.researched:
            table_rows.append({"jurisdiction": place, "cell": cell})
    counts = answer.totals
    svg = worldmap.render(
        areas,
        title=f"World map: {criterion.label}, as of {as_of.isoformat()}",
        description=(
            "Countries coloured by their effective value; the table below the map gives the "
            "same answers as text."
        ),
    )
    europe = worldmap.render(
        areas,
        title=f"Europe: {criterion.label}, as of {as_of.isoformat()}",
        description="The same map, Europe enlarged so that its small countries can be read.",
        view_box=worldmap.EUROPE_VIEW_BOX,
        prefix="europe",
        # Europe and the lands around it that the enlarged part shows.
        only={code for slug in ("europe", "western-asia", "northern-africa")
              for code in countries_in(slug)},
    )
    context = _context(
        request,
        title=f"World map: {criterion.label}",
        path=reverse("pages:map"),
        params=params,
        as_of=as_of,
        key_hint=f"map {criterion.slug}",
        scope=scope,
        criterion=criterion,
        all_criteria=active_criteria(),
        svg=mark_safe(svg),  # built by worldmap.render from escaped ElementTree output
        europe_svg=mark_safe(europe),
        table=table_rows,
        counts=[(VALUES[v], counts[v]) for v in VALUES],
        counts_unit="countries",
        **_filter_options(filters),
    )
    return render(request, "pages/map.html", context)


# --- /jurisdictions/{code}/ -------------------------------------------------------------------
JURISDICTION_TABLES = ("coverage", "instruments", "timeline", "sources")


def _unique_deciders(cells, attribute: str, only_inherited: bool = False) -> list:
    """The deciders of ``attribute`` (``considered``, ``pending``, ``bloc_obligations``) of
    ``cells``, each instrument once, in the order first met."""
    seen, out = set(), []
    for cell in cells:
        for decider in getattr(cell, attribute):
            if only_inherited and not decider.inherited:
                continue
            if decider.slug not in seen:
                seen.add(decider.slug)
                out.append(decider)
    return out


SOURCES_CSV_HEADER = ["url", "title", "publisher", "kind", "published_on", "published_precision",
                      "accessed_on", "archived_url", "language"]


def _sources_csv_rows(sources):
    """The ``table=sources`` CSV rows of a jurisdiction's or an instrument's page: one list a
    source, in the columns of ``SOURCES_CSV_HEADER`` (a generator)."""
    return (
        [s.url, s.title, s.publisher, s.kind, s.published_on, s.published_precision,
         s.accessed_on, s.archived_url, s.language]
        for s in sources
    )


def _status_view(status: str | None) -> dict:
    """What a page shows of an instrument's procedural status on a date (``status`` a
    ``Status`` value, or ``None`` before the first step): the status, its label, the
    schema.org legal force label and whether a proposal is pending."""
    return {
        "status": status,
        "status_label": STATUS_LABELS.get(status, "Not yet introduced"),
        "legal_force": LEGAL_FORCE_LABELS.get(legal_force_for(status), "—"),
        "pending": status in PENDING_STATUSES,
    }


def _sources_of(instruments) -> list[Source]:
    """Every source cited by the instruments, their status steps and assessments, once, in
    the order first met."""
    seen, out = set(), []
    for instrument in instruments:
        groups = [instrument.sources.all()]
        groups += [event.sources.all() for event in instrument.status_events.all()]
        groups += [a.sources.all() for a in instrument.assessments.all()]
        for group in groups:
            for source in group:
                if source.pk not in seen:
                    seen.add(source.pk)
                    out.append(source)
    return out


@_page
def jurisdiction_detail(request, code: str):
    """``/jurisdictions/{code}/`` (code in any case; 404 when unknown): effective values, its
    instruments, timeline, inherited law, bloc obligations, sources, research status."""
    jurisdiction = (
        Jurisdiction.objects.select_related("parent").filter(code=code.strip().upper()).first()
        if PATH_KEY_RE.match(code)
        else None
    )
    if jurisdiction is None:
        raise Http404(f"No jurisdiction has the code {code!r}.")
    query = PageQuery(request, ["as_of", "scope", "table"])
    as_of, scope, fmt = parse_as_of(query), parse_scope(query), parse_format(query)
    table = parse_choice(query, "table", JURISDICTION_TABLES, "coverage")
    query.check()

    criteria = active_criteria()
    links = PageLinks(as_of, scope)
    answer = compare_answer.build(
        compare_answer.Question([jurisdiction], criteria, as_of, scope), links
    )
    cells = answer.rows[0].cells
    instruments = list(Instrument.objects.filter(jurisdiction=jurisdiction).for_api())
    timeline = timeline_answer.build(jurisdiction, as_of, links, later=True)
    sources = _sources_of(instruments)
    params = {"as_of": as_of.isoformat(), "scope": scope}
    path = reverse("pages:jurisdiction", args=[jurisdiction.code])

    if fmt == "csv":
        name = f"lawtracker-{jurisdiction.code}-{table}-{as_of.isoformat()}.csv"
        if table == "coverage":
            return answer_csv(name, *compare_answer.csv_table(answer))
        if table == "timeline":
            return answer_csv(name, timeline_answer.COLUMNS, timeline.items)
        if table == "instruments":
            header = ["slug", "short_name", "title", "type", "citation", "status_as_of",
                      "legal_force_as_of", "introduced", "adopted", "in_force", "official_url",
                      "as_of"]
            rows = (
                [i.slug, i.short_name, i.title, i.instrument_type, i.citation,
                 i.status_as_of(as_of), i.legal_force_as_of(as_of),
                 *[(k or {}).get("date") for k in i.key_dates().values()], i.official_url, as_of]
                for i in instruments
            )
        else:
            header, rows = SOURCES_CSV_HEADER, _sources_csv_rows(sources)
        return csv_response(name, header, rows)

    coverage_rows = [{"criterion": c, "cell": cell} for c, cell in zip(criteria, cells)]
    instrument_rows = []
    for instrument in instruments:
        status = instrument.status_as_of(as_of)
        instrument_rows.append({
            "instrument": instrument,
            "url": _url(reverse("pages:instrument", args=[instrument.slug]),
                        {"as_of": as_of.isoformat()}),
            **_status_view(status),
            "applies": status in APPLYING_STATUSES,
        })
    children = list(jurisdiction.children.order_by("code"))
    context = _context(
        request,
        title=f"{_display_name(jurisdiction)} ({jurisdiction.code})",
        path=path,
        params=params,
        follow_links=[
            _follow(f"{jurisdiction.code} and its subdivisions", "alerts:jurisdiction-feed",
                    {"scope": scope}, code=jurisdiction.code),
            _follow(f"{jurisdiction.code} alone", "alerts:jurisdiction-feed",
                    {"descendants": "no", "scope": scope}, code=jurisdiction.code),
        ],
        as_of=as_of,
        key_hint=jurisdiction.code,
        scope=scope,
        scopes=Scope.choices,
        jurisdiction=jurisdiction,
        name=_display_name(jurisdiction),
        memberships=list(
            jurisdiction.bloc_memberships.select_related("bloc").order_by("start_date")
        ),
        coverage_rows=coverage_rows,
        instrument_rows=instrument_rows,
        inherited=_unique_deciders(cells, "considered", only_inherited=True)
        + _unique_deciders(cells, "pending", only_inherited=True),
        bloc_obligations=_unique_deciders(cells, "bloc_obligations"),
        # The answer's items in the answer's order (the API's: same-day steps before events),
        # then those dated after as_of.
        timeline=[*timeline.items, *timeline.later],
        sources=sources,
        researched_children=[c for c in children if c.research_status != ResearchStatus.NOT_RESEARCHED],
        other_children=sum(1 for c in children if c.research_status == ResearchStatus.NOT_RESEARCHED),
        csv_tables=[(t, _url(path, {**params, "table": t, "format": "csv"})) for t in JURISDICTION_TABLES],
    )
    return render(request, "pages/jurisdiction.html", context)


# --- /instruments/{slug}/ ---------------------------------------------------------------------
INSTRUMENT_TABLES = ("status", "assessments", "sources")


def _iso_with_precision(date: datetime.date, precision: str) -> str:
    """ISO 8601 to the precision known: ``2024``, ``2024-09`` or ``2024-09-26``."""
    if precision == "year":
        return f"{date.year:04d}"
    if precision == "month":
        return f"{date.year:04d}-{date.month:02d}"
    return date.isoformat()


def legislation_json_ld(instrument: Instrument, url: str, as_of: datetime.date) -> dict:
    """schema.org ``Legislation`` for an instrument (https://schema.org/Legislation).

    ``legislationLegalForce`` is the instrument's schema.org ``LegalForceStatus`` as of
    ``as_of``; ``legislationDate`` the date of adoption (else of the first step), to the
    precision known; ``legislationIdentifier`` the official citation and identifiers.
    """
    status = instrument.status_as_of(as_of)
    force = legal_force_for(status)
    dated = instrument.first_event(Status.ADOPTED) or next(iter(instrument._events()), None)
    identifiers = [instrument.citation] if instrument.citation else []
    identifiers += [f"{i.scheme}:{i.value}" for i in instrument.identifiers.all()]
    area = {
        "@type": "AdministrativeArea",
        "name": instrument.jurisdiction.name,
        "identifier": instrument.jurisdiction.code,
    }
    data = {
        "@context": "https://schema.org",
        "@type": "Legislation",
        "name": instrument.title,
        "url": url,
        "legislationIdentifier": identifiers[0] if len(identifiers) == 1 else identifiers,
        "legislationType": str(instrument.get_instrument_type_display()),
        "jurisdiction": area,
        "legislationJurisdiction": area,
    }
    if instrument.short_name:
        data["alternateName"] = instrument.short_name
    if instrument.original_title:
        data["alternateName"] = [n for n in (instrument.short_name, instrument.original_title) if n]
    if instrument.official_url:
        data["sameAs"] = instrument.official_url
    if instrument.summary:
        data["abstract"] = instrument.summary
    if dated:
        data["legislationDate"] = _iso_with_precision(dated.date, dated.date_precision)
    if force:
        data["legislationLegalForce"] = f"https://schema.org/{force}"
    if not identifiers:
        del data["legislationIdentifier"]
    return data


def _json_script(data: dict) -> str:
    """JSON safe inside ``<script>``: ``<``, ``>`` and ``&`` escaped as Unicode escapes."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@_page
def instrument_detail(request, slug: str):
    """``/instruments/{slug}/`` (404 when unknown): status history with date precision,
    assessments with pinpoints, sources with archived links, schema.org JSON-LD."""
    instrument = (
        Instrument.objects.for_api()
        .prefetch_related("amends", "amended_by", "events")
        .filter(slug=slug.strip().lower())
        .first()
        if PATH_KEY_RE.match(slug)
        else None
    )
    if instrument is None:
        raise Http404(f"No instrument has the slug {slug!r}.")
    query = PageQuery(request, ["as_of", "table"])
    as_of, fmt = parse_as_of(query), parse_format(query)
    table = parse_choice(query, "table", INSTRUMENT_TABLES, "status")
    query.check()

    events = instrument._events()
    assessments = sorted(
        instrument.assessments.all(), key=lambda a: (a.criterion.position, a.criterion.slug)
    )
    sources = _sources_of([instrument])
    params = {"as_of": as_of.isoformat()}
    path = reverse("pages:instrument", args=[instrument.slug])

    if fmt == "csv":
        name = f"lawtracker-{instrument.slug}-{table}.csv"
        if table == "status":
            header = ["instrument", "date", "date_precision", "date_note", "status", "body",
                      "legal_force", "ocd_classification", "description", "verified_on",
                      "verification_note", "sources"]
            rows = (
                [instrument.slug, e.date, e.date_precision, e.date_note, e.status, e.body,
                 legal_force_for(e.status), e.ocd_classification, e.description,
                 e.verified_on, e.verification_note, [s.url for s in e.sources.all()]]
                for e in events
            )
        elif table == "assessments":
            header = ["instrument", "criterion", "value", "basis", "pinpoint", "note",
                      "commencement_date", "verified_on", "verification_note", "sources"]
            rows = (
                [instrument.slug, a.criterion.slug, a.value, a.basis, a.pinpoint, a.note,
                 a.commencement_date, a.verified_on, a.verification_note,
                 [s.url for s in a.sources.all()]]
                for a in assessments
            )
        else:
            header, rows = SOURCES_CSV_HEADER, _sources_csv_rows(sources)
        return csv_response(name, header, rows)

    context = _context(
        request,
        title=instrument.short_name or instrument.title,
        path=path,
        follow_links=[_follow("its legal steps", "alerts:instrument-feed",
                              slug=instrument.slug)],
        params=params,
        as_of=as_of,
        key_hint=instrument.slug,
        **_status_view(instrument.status_as_of(as_of)),
        instrument=instrument,
        jurisdiction_url=_jurisdiction_url(instrument.jurisdiction, as_of, Scope.APPLICABLE),
        events=[
            {"event": e, "status_label": STATUS_LABELS.get(e.status, e.status),
             "body_label": e.get_body_display() if e.body else "",
             "legal_force": LEGAL_FORCE_LABELS.get(legal_force_for(e.status), ""),
             "future": e.date > as_of}
            for e in events
        ],
        assessments=[
            {"assessment": a, "display": VALUES[a.value],
             "basis_label": BASIS_LABELS.get(a.basis, "basis not recorded"),
             "not_commenced": not a.counts_on(as_of)}
            for a in assessments
        ],
        sources=sources,
        key_dates=instrument.key_dates(),
        json_ld=mark_safe(_json_script(  # escaped by _json_script for a <script> element
            legislation_json_ld(instrument, request.build_absolute_uri(path), as_of)
        )),
        csv_tables=[(t, _url(path, {**params, "table": t, "format": "csv"})) for t in INSTRUMENT_TABLES],
    )
    return render(request, "pages/instrument.html", context)


@_page
def methodology(request):
    """``/methodology/``: how lawtracker decides its answers — the codebook per criterion, what
    counts as law, the date rules, research statuses, confidence, verification, how to cite.
    Takes no parameters (any is a 400, like every page)."""
    query = PageQuery(request, [])
    if query.value("format"):
        query.fail("format", "This page is text only: it has no CSV download.")
    query.check()
    return render(
        request,
        "pages/methodology.html",
        {
            "title": "Methodology",
            "criteria": list(Criterion.objects.filter(retired=False)),
            "legend": LEGEND,
            "last_changed": changes.data_last_changed(),
        },
    )


# --- what changed between two dates (issue 12) --------------------------------------------
WHAT_CHANGED_PARAMETERS = [*FILTER_PARAMETERS, "criterion", "from", "to", "scope", "format"]


@_page
def what_changed(request):
    """``/what-changed/?from=&to=``: the cells whose effective value differs between two dates,
    each change dated with the steps that caused it."""
    query = PageQuery(request, WHAT_CHANGED_PARAMETERS, multi={"kind", "jurisdictions", "criterion"})
    date_to = parse_as_of(query, "to") if query.value("to") else today()
    date_from = (
        parse_as_of(query, "from") if query.value("from")
        # A year back, from the first day of the calendar at the earliest.
        else max(date_to, datetime.date.min + datetime.timedelta(days=365))
        - datetime.timedelta(days=365)
    )
    if "from" not in query.errors and "to" not in query.errors and date_from > date_to:
        query.fail("from", "from is later than to.")
    scope, fmt = parse_scope(query), parse_format(query)
    criteria = parse_criteria(query) if query.value("criterion") else []
    filters = parse_filters(query)
    query.check()
    chosen = criteria or list(Criterion.objects.filter(retired=False).order_by("slug"))
    found = span_history.changes_between(
        history.selected_ids(filters, date_to), [c.pk for c in chosen], [scope], date_from, date_to
    )
    if fmt == "csv":
        return csv_response(
            f"lawtracker-what-changed-{date_from}-{date_to}.csv",
            ["jurisdiction", "name", "criterion", "scope", "value_from", "value_to", "date",
             "from", "to", "approximate", "caused_by"],
            (
                [c.jurisdiction, c.jurisdiction_name, c.criterion, c.scope, c.value_from,
                 c.value_to, step["date"], step["from"], step["to"], step["approximate"],
                 [f"{x['instrument']}:{x.get('status', 'commencement')}"
                  for x in step["caused_by"]]]
                for c in found for step in c.changes
            ),
        )
    params = {**filters.params(), "criterion": ",".join(c.slug for c in criteria),
              "from": date_from.isoformat(), "to": date_to.isoformat(), "scope": scope}
    context = _context(
        request,
        title=f"What changed between {date_from.isoformat()} and {date_to.isoformat()}",
        path=reverse("pages:what-changed"),
        params=params,
        as_of=date_to,
        key_hint=f"changes {date_from.isoformat()} {date_to.isoformat()}",
        date_from=date_from,
        date_to=date_to,
        scope=scope,
        scopes=Scope.choices,
        changes=found,
        yes=EffectiveValue.YES.value,
        all_criteria=list(Criterion.objects.filter(retired=False).order_by("slug")),
        chosen_criteria={c.slug for c in criteria},
    )
    return render(request, "pages/what_changed.html", context)
