"""Reference data: ISO 3166 from pycountry, the few non-ISO jurisdictions, EU membership,
and the default criteria.

Names and codes of countries and subdivisions are never typed here: they come from pycountry's
copy of the ISO 3166 data (https://www.iso.org/iso-3166-country-codes.html). What ISO does not
hold is listed below with its source.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from functools import lru_cache

import pycountry

from .choices import JurisdictionKind

# Codes lawtracker uses outside ISO 3166-1/-2. "EU" is ISO 3166-1's exceptionally reserved
# code for the European Union; UN and COE name the organisations whose treaties are tracked.
NON_ISO_JURISDICTIONS = {
    "EU": ("European Union", JurisdictionKind.SUPRANATIONAL),
    "UN": ("United Nations", JurisdictionKind.INTERNATIONAL),
    "COE": ("Council of Europe", JurisdictionKind.INTERNATIONAL),
}

# Subdivisions synced by default: the countries whose states and provinces the research follows.
DEFAULT_SUBDIVISION_COUNTRIES = ("US", "AU", "CA", "GB", "DE")

EU_MEMBERSHIP_SOURCE = {
    "url": "https://european-union.europa.eu/principles-countries-history/eu-countries_en",
    "title": "EU countries",
    "publisher": "European Union",
    "kind": "official",
}

# Membership of the European Communities / Union: (ISO 3166-1 code, first day, last day).
# Source: EU_MEMBERSHIP_SOURCE (years of accession) with the accession treaties' dates of entry
# into force; the founders' date is the entry into force of the EEC Treaty (1958-01-01).
# The United Kingdom's withdrawal took effect at the end of 2020-01-31.
EU_MEMBERSHIPS: tuple[tuple[str, datetime.date, datetime.date | None], ...] = tuple(
    (code, datetime.date.fromisoformat(start), datetime.date.fromisoformat(end) if end else None)
    for code, start, end in (
        ("BE", "1958-01-01", None),
        ("DE", "1958-01-01", None),
        ("FR", "1958-01-01", None),
        ("IT", "1958-01-01", None),
        ("LU", "1958-01-01", None),
        ("NL", "1958-01-01", None),
        ("DK", "1973-01-01", None),
        ("IE", "1973-01-01", None),
        ("GB", "1973-01-01", "2020-01-31"),
        ("GR", "1981-01-01", None),
        ("ES", "1986-01-01", None),
        ("PT", "1986-01-01", None),
        ("AT", "1995-01-01", None),
        ("FI", "1995-01-01", None),
        ("SE", "1995-01-01", None),
        ("CY", "2004-05-01", None),
        ("CZ", "2004-05-01", None),
        ("EE", "2004-05-01", None),
        ("HU", "2004-05-01", None),
        ("LT", "2004-05-01", None),
        ("LV", "2004-05-01", None),
        ("MT", "2004-05-01", None),
        ("PL", "2004-05-01", None),
        ("SI", "2004-05-01", None),
        ("SK", "2004-05-01", None),
        ("BG", "2007-01-01", None),
        ("RO", "2007-01-01", None),
        ("HR", "2013-07-01", None),
    )
)


@dataclass(frozen=True)
class CriterionSpec:
    slug: str
    label: str
    question: str


# The default comparative questions (DOMAIN.md, "Default criteria"), in display order.
DEFAULT_CRITERIA: tuple[CriterionSpec, ...] = (
    CriterionSpec(
        "ai_generated_explicit",
        "Names AI-generated material",
        "Does the text name AI-generated, computer-generated or synthetic material explicitly?",
    ),
    CriterionSpec(
        "wholly_synthetic",
        "Wholly synthetic children",
        "Does it cover depictions of children who do not exist?",
    ),
    CriterionSpec(
        "altered_real_child",
        "Altered images of real children",
        "Does it cover manipulated images of a real, identifiable child (deepfakes)?",
    ),
    CriterionSpec(
        "non_photorealistic",
        "Non-photorealistic depictions",
        "Does it cover drawings, cartoons and other non-realistic depictions?",
    ),
    CriterionSpec("possession", "Possession", "Is possessing or viewing the material an offence?"),
    CriterionSpec("production", "Production", "Is creating it an offence?"),
    CriterionSpec("distribution", "Distribution", "Is sharing or offering it an offence?"),
    CriterionSpec(
        "ai_tools_or_models",
        "AI tools or models",
        "Is making or sharing a tool, model or manual made to generate such material an offence?",
    ),
    CriterionSpec(
        "platform_duties",
        "Platform duties",
        "Must online services detect, report or remove it?",
    ),
)


@dataclass(frozen=True)
class JurisdictionSpec:
    """One jurisdiction as the reference data gives it."""

    code: str
    name: str
    official_name: str
    kind: str
    parent_code: str | None
    subdivision_type: str = ""
    numeric_code: str = ""
    common_name: str = ""


@lru_cache(maxsize=1)
def _subdivision_codes() -> frozenset[str]:
    return frozenset(s.code for s in pycountry.subdivisions)


def iso_code_exists(code: str, kind: str | None = None) -> bool:
    """True when ``code`` is a known code for a jurisdiction of ``kind``.

    Countries: ISO 3166-1 alpha-2; subdivisions: ISO 3166-2; blocs and organisations: the
    non-ISO codes above. With ``kind`` None, any of them.
    """
    code = (code or "").upper()
    if kind in (None, JurisdictionKind.COUNTRY) and pycountry.countries.get(alpha_2=code):
        return True
    if kind in (None, JurisdictionKind.SUBDIVISION) and code in _subdivision_codes():
        return True
    if kind in (None, JurisdictionKind.SUPRANATIONAL, JurisdictionKind.INTERNATIONAL):
        spec = NON_ISO_JURISDICTIONS.get(code)
        return spec is not None and (kind is None or spec[1] == kind)
    return False


def country_specs() -> list[JurisdictionSpec]:
    """Every ISO 3166-1 country with pycountry's names: ISO's short name ("Korea, Republic
    of"), official name, and pycountry's common name where it has one ("South Korea")."""
    return [
        JurisdictionSpec(
            code=c.alpha_2,
            name=c.name,
            official_name=getattr(c, "official_name", "") or "",
            common_name=getattr(c, "common_name", "") or "",
            kind=JurisdictionKind.COUNTRY,
            parent_code=None,
            numeric_code=c.numeric,
        )
        for c in pycountry.countries
    ]


def subdivision_specs(country_codes: list[str] | None = None) -> list[JurisdictionSpec]:
    """ISO 3166-2 subdivisions of ``country_codes`` (all countries when None).

    A subdivision's parent is its ISO parent subdivision where ISO gives one (GB-GLG's parent is
    GB-SCT), else its country. Returned parents-first so that rows can be created in order.
    """
    wanted = {c.upper() for c in country_codes} if country_codes else None
    specs = []
    for s in pycountry.subdivisions:
        if wanted is not None and s.country_code not in wanted:
            continue
        parent = s.parent_code or s.country_code
        specs.append(
            JurisdictionSpec(
                code=s.code,
                name=s.name,
                official_name="",
                kind=JurisdictionKind.SUBDIVISION,
                parent_code=parent,
                subdivision_type=s.type or "",
            )
        )
    by_code = {s.code: s for s in specs}

    def depth(spec: JurisdictionSpec) -> int:
        d, parent = 0, spec.parent_code
        while parent in by_code:
            d, parent = d + 1, by_code[parent].parent_code
        return d

    return sorted(specs, key=lambda s: (depth(s), s.code))


def non_iso_specs() -> list[JurisdictionSpec]:
    """EU, UN and COE."""
    return [
        JurisdictionSpec(code=code, name=name, official_name="", kind=kind, parent_code=None)
        for code, (name, kind) in NON_ISO_JURISDICTIONS.items()
    ]


def subdivision_spec(code: str) -> list[JurisdictionSpec]:
    """The subdivision ``code`` and its ISO ancestors, parents first (for JP-31 and such).

    Raises ``LookupError`` when ISO 3166-2 has no such code.
    """
    code = code.upper()
    found = pycountry.subdivisions.get(code=code)
    if found is None:
        raise LookupError(f"{code} is not an ISO 3166-2 code")
    chain = []
    while found is not None:
        chain.append(
            JurisdictionSpec(
                code=found.code,
                name=found.name,
                official_name="",
                kind=JurisdictionKind.SUBDIVISION,
                parent_code=found.parent_code or found.country_code,
                subdivision_type=found.type or "",
            )
        )
        found = pycountry.subdivisions.get(code=found.parent_code) if found.parent_code else None
    return list(reversed(chain))
