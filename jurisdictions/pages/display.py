"""How an effective value reads on the pages: a symbol that tells it apart without colour, a
short label for cells and its meaning for the legend (the templates read it through the
``value_symbol`` / ``value_label`` filters of ``lawtracker_pages``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..choices import EffectiveValue


@dataclass(frozen=True)
class ValueDisplay:
    """How one effective value is shown: a ``symbol`` that tells it apart without colour, a
    short ``label`` for cells, and its ``meaning`` for the legend."""

    value: str
    symbol: str
    label: str
    meaning: str


VALUES = {
    v.value: v
    for v in (
        ValueDisplay("yes", "✓", "Yes", "The law that applies answers yes."),
        ValueDisplay("partial", "◐", "Partial", "The law covers part of the question."),
        ValueDisplay("unclear", "?", "Unclear", "The law may cover it; untested or disputed."),
        ValueDisplay("no", "✗", "No", "The law that applies answers no."),
        ValueDisplay("none", "○", "No law found", str(EffectiveValue.NONE.label) + "."),
        ValueDisplay(
            "not_researched", "·", "Not researched",
            "Nobody has looked yet: not the same as “no law found”.",
        ),
    )
}
LEGEND = list(VALUES.values())

# How many deciding instruments a matrix cell lists before "+N more".
CELL_LINKS = 2
