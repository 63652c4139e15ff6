#!/usr/bin/env python
"""How cost grows with the data: a power-law fit over the scales in ``bench/results.json``.

For each scenario, database and measure (lawtracker in-process, over HTTP, floor, Datasette) it
fits ``ms = a * instruments ** k`` by least squares on the logarithms of the scales measured
(small = 1,000, medium = 10,000, large = 100,000 instruments) and prints the exponent ``k``:
about 0 is flat (what a paginated page should be), about 1 is linear (what an export of every
row is), above 1 is worse than linear. Queries per request are listed per scale (they should
not change). ``python bench/fit.py [results.json]``; ``--markdown`` prints a Markdown table.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

INSTRUMENTS = {"small": 1_000, "medium": 10_000, "large": 100_000}
MEASURES = (("lawtracker_ms", "lawtracker"), ("lawtracker_http_ms", "http"),
            ("floor_ms", "floor"), ("datasette_ms", "Datasette"))
SCENARIOS = ("list", "detail", "compare", "gaps", "export")


def exponent(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of log(ms) on log(instruments); None with fewer than two points."""
    points = [(math.log(x), math.log(y)) for x, y in points if x and y]
    if len(points) < 2:
        return None
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else None


def fits(rows: list[dict]) -> list[dict]:
    """One dict per (scenario, database): ms per scale and the exponent of each measure."""
    out = []
    databases = sorted({r["database"] for r in rows})
    for database in databases:
        for scenario in SCENARIOS:
            mine = {r["scale"]: r for r in rows
                    if r["database"] == database and r["scenario"] == scenario}
            if not mine:
                continue
            entry = {"scenario": scenario, "database": database,
                     "scales": [s for s in INSTRUMENTS if s in mine],
                     "queries": {s: mine[s].get("queries") for s in INSTRUMENTS if s in mine}}
            for key, label in MEASURES:
                points = [(INSTRUMENTS[s], mine[s].get(key)) for s in INSTRUMENTS if s in mine]
                entry[label] = {s: mine[s].get(key) for s in INSTRUMENTS if s in mine}
                k = exponent(points)
                entry[f"k_{label}"] = round(k, 2) if k is not None else None
            out.append(entry)
    return out


def markdown(entries: list[dict]) -> str:
    head = ["scenario", "database", "lawtracker ms (S / M / L)", "k", "floor ms (S / M / L)",
            "k floor", "Datasette k", "queries (S / M / L)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def series(values: dict) -> str:
        return " / ".join("—" if values.get(s) is None else f"{values[s]:,.0f}"
                          for s in INSTRUMENTS)

    def k(value) -> str:
        return "—" if value is None else f"{value:.2f}"

    for e in entries:
        lines.append("| " + " | ".join([
            e["scenario"], e["database"], series(e["lawtracker"]), k(e["k_lawtracker"]),
            series(e["floor"]), k(e["k_floor"]), k(e["k_Datasette"]),
            " / ".join("—" if e["queries"].get(s) is None else str(e["queries"][s])
                       for s in INSTRUMENTS),
        ]) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    path = Path(next((a for a in args if not a.startswith("--")),
                     Path(__file__).with_name("results.json")))
    if not path.exists():
        print(f"{path} does not exist: run make bench first")
        return 1
    entries = fits(json.loads(path.read_text()))
    print(markdown(entries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
