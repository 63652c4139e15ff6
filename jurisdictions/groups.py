"""Groups of countries (DOMAIN.md, "Groups of countries"): the UN member states, the G7, the
G20, the OECD and the Council of Europe members.

A group makes no law of its own: it only selects jurisdictions (``group=G20``), and nothing is
ever inherited from it. Memberships come from the ``country_converter`` library's
``country_data.tsv`` (read directly, as :mod:`jurisdictions.regions` does, so that pandas is
never imported by a web request), never typed by hand:

- ``UNmember`` and ``OECD`` give the year a country joined: a country counts as a member from
  1 January of that year (the library records the year only).
- ``G7``, ``G20`` and ``CoE`` give today's members without a date: they count whatever the
  ``as_of``.
- The library lists every EU member under ``G20`` because the EU itself is a member. A country
  counts as a G20 member on its own when it is outside the EU or also a G7 member (France,
  Germany, Italy); the ``EU`` jurisdiction is a member of the G20 itself.
"""

from __future__ import annotations

import csv
import datetime
from dataclasses import dataclass
from functools import lru_cache

import pycountry

from .regions import _data_file


@dataclass(frozen=True)
class Group:
    """One group: ``code`` (``G20``), ``name`` and ``members``: {alpha-2 or ``EU``: year joined
    or None when the library gives no date}."""

    code: str
    name: str
    members: dict[str, int | None]

    def member_codes(self, as_of: datetime.date) -> list[str]:
        """The codes of the members on ``as_of`` (sorted)."""
        return sorted(
            code for code, year in self.members.items() if year is None or year <= as_of.year
        )


# code -> (library column, name)
_COLUMNS = {
    "UN": ("UNmember", "UN member states"),
    "G7": ("G7", "G7"),
    "G20": ("G20", "G20"),
    "OECD": ("OECD", "OECD"),
    "COE": ("CoE", "Council of Europe members"),
}


@lru_cache(maxsize=1)
def groups() -> dict[str, Group]:
    """{code: Group} for every group lawtracker knows, in a fixed order."""
    alpha2 = {country.numeric: country.alpha_2 for country in pycountry.countries}
    members: dict[str, dict[str, int | None]] = {code: {} for code in _COLUMNS}
    eu: set[str] = set()
    with _data_file().open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            numeric = row["ISOnumeric"]
            if not numeric.isdigit() or numeric.zfill(3) not in alpha2 or row.get("obsolete"):
                continue
            code = alpha2[numeric.zfill(3)]
            if row["EU"]:
                eu.add(code)
            for group, (column, _) in _COLUMNS.items():
                value = (row[column] or "").strip()
                if value:
                    members[group][code] = int(value) if value.isdigit() else None
    g7 = set(members["G7"])
    members["G20"] = {
        code: year for code, year in members["G20"].items() if code not in eu or code in g7
    }
    members["G20"]["EU"] = None
    return {code: Group(code, name, members[code]) for code, (_, name) in _COLUMNS.items()}


def group_choices() -> list[tuple[str, str]]:
    """``[(code, name)]`` of every group, for forms and the schema."""
    return [(group.code, group.name) for group in groups().values()]
