"""Which jurisdictions an answer is about: one reading of the selection parameters for the API,
the pages and the CSV (issue 16, "one meaning per parameter").

The parameters, each optional, **narrow together** (logical AND): a jurisdiction is selected when
it passes every one given.

- ``jurisdictions``: codes, any case, comma-separated (``KR,GB,US-CA``);
- ``bloc``: the members on ``as_of`` of a bloc that makes law (``EU``: the UK until 2020-01-31);
- ``group``: the members on ``as_of`` of a group of countries (:mod:`jurisdictions.groups`:
  ``UN``, ``G7``, ``G20``, ``OECD``, ``COE``), nothing inherited from it;
- ``within``: a jurisdiction and all its subdivisions;
- ``region``: a UN M49 region slug (``eastern-asia``); a subdivision lies in its country's;
- ``kind``: jurisdiction kinds, comma-separated (``country,subdivision``);
- ``research``: ``all`` or ``researched`` (only jurisdictions whose research has started).

International organisations (UN, COE) are places whose treaties are tracked, not places where law
applies: they are left out unless asked for by code or by ``kind=international``.

The order is the order of ``jurisdictions`` when given, else by code.

:func:`read_selection` reads the parameters from any source (the API's query, a page's query)
and reports each bad value through a callback, with the closest accepted value
(``UK`` -> ``GB``); :meth:`Selection.apply` answers the jurisdictions.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import QuerySet

from .regions import countries_in, region_choices
from .choices import JurisdictionKind
from .groups import Group, groups
from .models import Jurisdiction
from .suggest import code_hint, hint

SELECTION_PARAMETERS = ("jurisdictions", "bloc", "group", "within", "region", "kind", "research")
RESEARCH_CHOICES = ("researched", "all")


@dataclass
class Selection:
    """The selection parameters, read and checked (see the module docstring)."""

    codes: list[Jurisdiction] = field(default_factory=list)
    bloc: Jurisdiction | None = None
    group: Group | None = None
    within: Jurisdiction | None = None
    region: tuple[str, str] | None = None
    kinds: list[str] = field(default_factory=list)
    research: str = "all"

    @property
    def narrowed(self) -> bool:
        """True when a parameter other than ``research`` narrows the set."""
        return bool(
            self.codes or self.bloc or self.group or self.within or self.region or self.kinds
        )

    def queryset(self, as_of: datetime.date, base: QuerySet | None = None) -> QuerySet:
        """The jurisdictions passing every parameter but ``region``, ordered by code."""
        qs = base if base is not None else Jurisdiction.objects.all()
        if self.codes:
            qs = qs.filter(pk__in=[j.pk for j in self.codes])
        elif not (self.kinds and JurisdictionKind.INTERNATIONAL in self.kinds):
            qs = qs.exclude(kind=JurisdictionKind.INTERNATIONAL)
        if self.bloc:
            qs = qs.filter(pk__in=Jurisdiction.objects.members_of(self.bloc, as_of).values("pk"))
        if self.group:
            qs = qs.filter(code__in=self.group.member_codes(as_of))
        if self.kinds:
            qs = qs.filter(kind__in=self.kinds)
        if self.within:
            qs = qs.filter(pk__in=Jurisdiction.objects.within(self.within.code).values("pk"))
        if self.research == "researched":
            qs = qs.researched()
        return qs.order_by("code")

    def apply(self, as_of: datetime.date, base: QuerySet | None = None) -> list[Jurisdiction]:
        """The selected jurisdictions: in the order of ``jurisdictions`` when given, else by
        code."""
        rows = list(self.queryset(as_of, base))
        if self.region:
            members = set(countries_in(self.region[0]))
            # A subdivision lies in its country's region (ISO 3166-2 codes start with it).
            rows = [
                j
                for j in rows
                if j.kind in (JurisdictionKind.COUNTRY, JurisdictionKind.SUBDIVISION)
                and j.code[:2] in members
            ]
        if self.codes:
            order = {j.pk: i for i, j in enumerate(self.codes)}
            rows.sort(key=lambda j: order[j.pk])
        return rows

    def params(self) -> dict[str, str]:
        """The parameters, for permalinks and links between pages (empty when not given;
        ``research`` left to the caller, whose default it is)."""
        return {
            "jurisdictions": ",".join(j.code for j in self.codes),
            "bloc": self.bloc.code if self.bloc else "",
            "group": self.group.code if self.group else "",
            "within": self.within.code if self.within else "",
            "region": self.region[0] if self.region else "",
            "kind": ",".join(self.kinds),
        }


Values = Callable[[str], list[str]]
Fail = Callable[[str, str], None]


def _one(values: Values, name: str, fail: Fail) -> str | None:
    given = values(name)
    if len(given) > 1:
        fail(name, f"Takes one value; got {len(given)}.")
        return None
    return given[0] if given else None


def _codes(values: Values, fail: Fail) -> list[Jurisdiction]:
    codes = list(dict.fromkeys(c.upper() for c in values("jurisdictions")))
    if not codes:
        return []
    found = {j.code: j for j in Jurisdiction.objects.filter(code__in=codes)}
    unknown = [c for c in codes if c not in found]
    if unknown:
        known = Jurisdiction.objects.values_list("code", flat=True)
        fail(
            "jurisdictions",
            f"Unknown jurisdiction code: {', '.join(unknown)}."
            + code_hint(unknown[0], list(known)),
        )
        return []
    return [found[c] for c in codes]


def _jurisdiction(values: Values, name: str, fail: Fail) -> Jurisdiction | None:
    code = _one(values, name, fail)
    if code is None:
        return None
    jurisdiction = Jurisdiction.objects.filter(code=code.upper()).first()
    if jurisdiction is None:
        known = Jurisdiction.objects.values_list("code", flat=True)
        fail(name, f"Unknown jurisdiction code: {code.upper()}." + code_hint(code, list(known)))
    return jurisdiction


def _bloc(values: Values, fail: Fail) -> Jurisdiction | None:
    code = _one(values, "bloc", fail)
    if code is None:
        return None
    blocs = list(Jurisdiction.objects.filter(kind=JurisdictionKind.SUPRANATIONAL))
    for bloc in blocs:
        if bloc.code == code.upper():
            return bloc
    if code.upper() in groups():
        fail("bloc", f"{code.upper()} is a group of countries, not a bloc that makes law: "
                     f"use group={code.upper()}.")
    else:
        known = [b.code for b in blocs]
        fail("bloc", f"Unknown bloc code: {code.upper()}; known: {', '.join(known)}."
                     + code_hint(code, known))
    return None


def _group(values: Values, fail: Fail) -> Group | None:
    code = _one(values, "group", fail)
    if code is None:
        return None
    known = groups()
    if code.upper() not in known:
        fail("group", f"Unknown group: {code}; known: {', '.join(known)}." + hint(code, known))
        return None
    return known[code.upper()]


def _region(values: Values, fail: Fail) -> tuple[str, str] | None:
    slug = _one(values, "region", fail)
    if slug is None:
        return None
    names = dict(region_choices())
    if slug.lower() not in names:
        fail("region", f"Unknown region: {slug}; known: {', '.join(names)}." + hint(slug, names))
        return None
    return slug.lower(), names[slug.lower()]


def _kinds(values: Values, fail: Fail) -> list[str]:
    kinds = list(dict.fromkeys(values("kind")))
    bad = [k for k in kinds if k not in JurisdictionKind.values]
    if bad:
        fail("kind", f"Unknown kind: {', '.join(bad)}; known: "
                     f"{', '.join(JurisdictionKind.values)}." + hint(bad[0], JurisdictionKind.values))
        return []
    return kinds


def _research(values: Values, fail: Fail, default: str) -> str:
    value = _one(values, "research", fail)
    if value is None:
        return default
    if value not in RESEARCH_CHOICES:
        fail("research", f"{value!r} is not one of: {', '.join(RESEARCH_CHOICES)}."
                         + hint(value, RESEARCH_CHOICES))
        return default
    return value


def read_selection(values: Values, fail: Fail, research_default: str = "all") -> Selection:
    """Read the selection parameters.

    ``values(name)`` gives the values of a parameter (comma-separated ones split, empty ones
    dropped; ``[]`` when absent or already refused); ``fail(name, message)`` records a bad one.
    ``research_default`` is ``research``'s value when not given.
    """
    return Selection(
        codes=_codes(values, fail),
        bloc=_bloc(values, fail),
        group=_group(values, fail),
        within=_jurisdiction(values, "within", fail),
        region=_region(values, fail),
        kinds=_kinds(values, fail),
        research=_research(values, fail, research_default),
    )


def split_values(raw: str | None) -> list[str]:
    """A comma-separated value as a list, stripped, empty items dropped."""
    return [item.strip() for item in (raw or "").split(",") if item.strip()]
