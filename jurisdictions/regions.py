"""UN M49 geographic regions of countries, from the country_converter library.

The United Nations Statistics Division's "Standard country or area codes for statistical use"
(M49, https://unstats.un.org/unsd/methodology/m49/) groups countries in three levels: region
(Africa, Americas, Asia, Europe, Oceania), sub-region (Eastern Asia, Sub-Saharan Africa, …) and,
in Africa and the Americas, intermediate region (Eastern Africa, South America, …).

The data comes from ``country_converter`` (``country_data.tsv``: its ``continent`` column and its
``UNregion`` column, the finest M49 grouping of each country), keyed by ISO 3166-1 numeric code,
which M49 shares for countries. The file is read directly so that pandas, which the library's
own API needs, is never imported by a web request.

What the library does not spell out and M49 defines (see the page above): the region name
"Americas" (the library says "America"), and the two sub-regions that group intermediate
regions (:data:`SUBREGION_OF_INTERMEDIATE`). A subdivision lies in its country's regions: its
ISO 3166-2 code starts with the country's alpha-2 code.
"""

from __future__ import annotations

import csv
import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pycountry
from django.utils.text import slugify

# M49's name for the region the library calls "America".
_REGION_NAMES = {"America": "Americas"}

# M49 sub-regions made of intermediate regions (M49, "Geographic regions").
SUBREGION_OF_INTERMEDIATE = {
    "Eastern Africa": "Sub-Saharan Africa",
    "Middle Africa": "Sub-Saharan Africa",
    "Southern Africa": "Sub-Saharan Africa",
    "Western Africa": "Sub-Saharan Africa",
    "Caribbean": "Latin America and the Caribbean",
    "Central America": "Latin America and the Caribbean",
    "South America": "Latin America and the Caribbean",
}


@dataclass(frozen=True)
class Regions:
    """One country's M49 groups: ``region`` ("Asia"), ``subregion`` ("Eastern Asia") and
    ``intermediate_region`` ("" where M49 has none)."""

    region: str
    subregion: str
    intermediate_region: str = ""

    def names(self) -> tuple[str, ...]:
        return tuple(n for n in (self.region, self.subregion, self.intermediate_region) if n)

    def as_dict(self) -> dict:
        return {
            "region": self.region or None,
            "subregion": self.subregion or None,
            "intermediate_region": self.intermediate_region or None,
        }


def _data_file() -> Path:
    spec = importlib.util.find_spec("country_converter")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("country_converter is not installed (see requirements.txt)")
    return Path(next(iter(spec.submodule_search_locations))) / "country_data.tsv"


@lru_cache(maxsize=1)
def regions_by_alpha2() -> dict[str, Regions]:
    """{ISO 3166-1 alpha-2: Regions} for every country the library places in an M49 region."""
    by_numeric: dict[str, Regions] = {}
    with _data_file().open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            numeric, continent, finest = row["ISOnumeric"], row["continent"], row["UNregion"]
            if not numeric.isdigit() or not finest or continent == "Antarctica":
                continue
            region = _REGION_NAMES.get(continent, continent)
            if finest in SUBREGION_OF_INTERMEDIATE:
                regions = Regions(region, SUBREGION_OF_INTERMEDIATE[finest], finest)
            else:
                regions = Regions(region, finest)
            by_numeric[numeric.zfill(3)] = regions
    return {
        country.alpha_2: by_numeric[country.numeric]
        for country in pycountry.countries
        if country.numeric in by_numeric
    }


def regions_for_code(code: str) -> Regions | None:
    """The M49 groups of a jurisdiction code: a country's own, a subdivision's country's
    (US-CA -> US), None for blocs, organisations and places M49 leaves out (Antarctica)."""
    code = (code or "").upper()
    if len(code) == 2 or (len(code) > 3 and code[2] == "-"):
        return regions_by_alpha2().get(code[:2])
    return None


@lru_cache(maxsize=1)
def region_choices() -> list[tuple[str, str]]:
    """``[(slug, name)]`` of every M49 group that holds a country, regions first, then
    sub-regions and intermediate regions, each alphabetically ("eastern-asia", "Eastern Asia")."""
    levels: list[set[str]] = [set(), set(), set()]
    for regions in regions_by_alpha2().values():
        levels[0].add(regions.region)
        levels[1].add(regions.subregion)
        if regions.intermediate_region:
            levels[2].add(regions.intermediate_region)
    return [(slugify(name), name) for level in levels for name in sorted(level)]


def countries_in(slug: str) -> list[str]:
    """The alpha-2 codes of the countries in the M49 group ``slug`` (sorted); [] if unknown."""
    return sorted(
        alpha2
        for alpha2, regions in regions_by_alpha2().items()
        if slug in {slugify(name) for name in regions.names()}
    )
