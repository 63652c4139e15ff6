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
from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.utils import timezone

from ..api.regions import countries_in, region_choices
from .. import text
from ..choices import JurisdictionKind, Scope
from ..models import Criterion, Jurisdiction

ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FORMATS = ("html", "csv")
RESEARCH_CHOICES = ("researched", "all")
# Above this many rows a matrix stops being readable and starts being slow: ask for a filter.
MAX_MATRIX_ROWS = 1000


class BadParameters(Exception):
    """Bad query parameters: ``errors`` is ``{parameter: message}``, ``accepted`` the names the
    page accepts. Answered with the 400 page."""

    def __init__(self, errors: dict[str, str], accepted: Iterable[str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.accepted = sorted(set(accepted))


def today() -> datetime.date:
    """Today's date in UTC (settings.TIME_ZONE), the default ``as_of``."""
    return timezone.localdate()


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
                self.fail(name, "Unknown parameter.")
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
        known = ", ".join(Criterion.objects.values_list("slug", flat=True))
        query.fail(name, f"Unknown criterion {', '.join(unknown)}; known: {known}.")
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
        known = ", ".join(Criterion.objects.values_list("slug", flat=True))
        query.fail(name, f"Unknown criterion {slug!r}; known: {known}.")
    return criterion


def parse_jurisdiction(query: PageQuery, name: str, kinds: Iterable[str] = ()) -> Jurisdiction | None:
    """One jurisdiction code, any case; ``kinds`` restricts the kinds it may have."""
    code = query.value(name)
    if code is None:
        return None
    jurisdiction = Jurisdiction.objects.filter(code=code.upper()).first()
    kinds = list(kinds)
    if jurisdiction is None or (kinds and jurisdiction.kind not in kinds):
        what = "bloc" if kinds == [JurisdictionKind.SUPRANATIONAL] else "jurisdiction"
        hint = ""
        if kinds:
            hint = "; known: " + ", ".join(
                Jurisdiction.objects.filter(kind__in=kinds).values_list("code", flat=True)
            )
        query.fail(name, f"Unknown {what} code {code!r}{hint}.")
        return None
    return jurisdiction


def parse_codes(query: PageQuery, name: str = "jurisdictions") -> list[Jurisdiction]:
    """Several jurisdiction codes, any case, in the order given."""
    codes = [c.upper() for c in query.values(name)]
    if not codes:
        return []
    found = {j.code: j for j in Jurisdiction.objects.filter(code__in=codes)}
    unknown = [c for c in codes if c not in found]
    if unknown:
        query.fail(name, f"Unknown jurisdiction code {', '.join(unknown)}.")
        return []
    return [found[c] for c in codes]


def parse_kinds(query: PageQuery) -> list[str]:
    """Several jurisdiction kinds (``choices.JurisdictionKind``)."""
    kinds = query.values("kind")
    bad = [k for k in kinds if k not in JurisdictionKind.values]
    if bad:
        query.fail(
            "kind", f"Unknown kind {', '.join(bad)}; known: {', '.join(JurisdictionKind.values)}."
        )
        return []
    return kinds


def parse_region(query: PageQuery) -> tuple[str, str] | None:
    """A UN M49 region slug (``eastern-asia``) -> ``(slug, name)``."""
    slug = query.value("region")
    if slug is None:
        return None
    names = dict(region_choices())
    if slug not in names:
        query.fail("region", f"Unknown region {slug!r}; known: {', '.join(names)}.")
        return None
    return slug, names[slug]


# --- the filters shared by the matrix, the gaps and the map ------------------------------------
@dataclass
class Filters:
    """Which jurisdictions a page shows.

    ``bloc``: members of that bloc on ``as_of``; ``region``: ``(slug, name)`` of a UN M49 group
    (a subdivision lies in its country's); ``kinds``; ``within``: a jurisdiction and all its
    subdivisions; ``codes``: exactly these jurisdictions; ``research``: ``researched`` (only
    jurisdictions whose research has started) or ``all``.
    """

    bloc: Jurisdiction | None = None
    region: tuple[str, str] | None = None
    kinds: list[str] = field(default_factory=list)
    within: Jurisdiction | None = None
    codes: list[Jurisdiction] = field(default_factory=list)
    research: str = "researched"

    @property
    def narrowed(self) -> bool:
        """True when a filter other than ``research`` narrows the list."""
        return bool(self.bloc or self.region or self.kinds or self.within or self.codes)

    def queryset(self, as_of: datetime.date, base: QuerySet | None = None) -> QuerySet:
        """The jurisdictions passing every filter but ``region`` (see :meth:`apply`)."""
        qs = base if base is not None else Jurisdiction.objects.all()
        if self.codes:
            qs = qs.filter(pk__in=[j.pk for j in self.codes])
        elif not (self.kinds and JurisdictionKind.INTERNATIONAL in self.kinds):
            # UN and COE are organisations whose treaties are tracked, not places: shown only
            # when asked for by kind or by code (as the gaps answer leaves them out).
            qs = qs.exclude(kind=JurisdictionKind.INTERNATIONAL)
        if self.bloc:
            qs = qs.filter(pk__in=Jurisdiction.objects.members_of(self.bloc, as_of).values("pk"))
        if self.kinds:
            qs = qs.filter(kind__in=self.kinds)
        if self.within:
            qs = qs.filter(pk__in=Jurisdiction.objects.within(self.within.code).values("pk"))
        if self.research == "researched":
            qs = qs.researched()
        return qs.order_by("code")

    def apply(self, as_of: datetime.date, base: QuerySet | None = None) -> list[Jurisdiction]:
        """The jurisdictions passing every filter, ordered by code."""
        rows = list(self.queryset(as_of, base).select_related("parent"))
        if self.region:
            members = set(countries_in(self.region[0]))
            # A subdivision lies in its country's region (ISO 3166-2 codes start with it).
            rows = [
                j
                for j in rows
                if j.kind in (JurisdictionKind.COUNTRY, JurisdictionKind.SUBDIVISION)
                and j.code[:2] in members
            ]
        return rows

    def params(self) -> dict[str, str]:
        """The filters as query parameters, for permalinks and links between pages."""
        return {
            "bloc": self.bloc.code if self.bloc else "",
            "region": self.region[0] if self.region else "",
            "kind": ",".join(self.kinds),
            "within": self.within.code if self.within else "",
            "jurisdictions": ",".join(j.code for j in self.codes),
        }


FILTER_PARAMETERS = ("bloc", "region", "kind", "within", "jurisdictions")


def parse_filters(query: PageQuery, research: bool = True) -> Filters:
    """Read ``bloc``, ``region``, ``kind``, ``within``, ``jurisdictions`` and (when
    ``research``) ``research`` from ``query``."""
    return Filters(
        bloc=parse_jurisdiction(query, "bloc", kinds=[JurisdictionKind.SUPRANATIONAL]),
        region=parse_region(query),
        kinds=parse_kinds(query),
        within=parse_jurisdiction(query, "within"),
        codes=parse_codes(query),
        research=(
            parse_choice(query, "research", RESEARCH_CHOICES, "researched")
            if research
            else "all"
        ),
    )
