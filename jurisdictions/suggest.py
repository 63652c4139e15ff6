"""The closest accepted value, for the 400 answers (``criteria`` -> ``criterion``, ``UK`` ->
``GB``): a reader who mistyped a name or a code is told what to write instead.

Names and slugs are matched with :mod:`difflib`; country codes and names also through
``country_converter``'s name patterns (its ``regex`` column recognises ``UK``, ``Britain``,
``Deutschland``…), read directly from its data file like :mod:`jurisdictions.regions`.
"""

from __future__ import annotations

import csv
import difflib
import re
from collections.abc import Iterable
from functools import lru_cache

import pycountry

from .regions import _data_file


def closest(value: str, candidates: Iterable[str]) -> str | None:
    """The candidate nearest to ``value`` (case ignored), or None when none is near enough."""
    candidates = list(candidates)
    by_folded = {c.casefold(): c for c in candidates}
    if value.casefold() in by_folded:
        return by_folded[value.casefold()]
    match = difflib.get_close_matches(value.casefold(), list(by_folded), n=1, cutoff=0.6)
    return by_folded[match[0]] if match else None


def hint(value: str, candidates: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` for the closest candidate, or an empty string."""
    found = closest(value, candidates)
    return f" Did you mean {found!r}?" if found else ""


@lru_cache(maxsize=1)
def _country_patterns() -> list[tuple[re.Pattern, str]]:
    alpha2 = {country.numeric: country.alpha_2 for country in pycountry.countries}
    patterns = []
    with _data_file().open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            numeric = (row["ISOnumeric"] or "").zfill(3)
            if numeric in alpha2 and row["regex"] and not row.get("obsolete"):
                patterns.append((re.compile(row["regex"], re.IGNORECASE), alpha2[numeric]))
    return patterns


def country_code_for(text: str) -> str | None:
    """The ISO 3166-1 alpha-2 code a country name or common code stands for (``UK`` -> ``GB``,
    ``Germany`` -> ``DE``), or None."""
    text = text.strip()
    if not text or len(text) > 100:
        return None
    for pattern, code in _country_patterns():
        if pattern.search(text):
            return code
    return None


def code_hint(value: str, codes: Iterable[str]) -> str:
    """`` Did you mean 'GB'?`` for a mistyped jurisdiction code among ``codes``, or ``''``."""
    codes = list(codes)
    country = country_code_for(value)
    if country and country in codes:
        return f" Did you mean {country!r}?"
    return hint(value, codes)
