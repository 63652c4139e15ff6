"""Atom documents checked against RFC 4287 (issue 14): :func:`validate_atom` against its schema,
:func:`assert_valid_atom` against the schema and the rules the schema leaves out.

The schema is the RFC's own RELAX NG Compact one (Appendix B), kept verbatim in ``tests/atom.rnc``.
rnc2rng turns it into RELAX NG's XML syntax and lxml (libxml2) validates against that. The
schema checks the structure — which elements a feed and an entry must have and how many, their
attributes, ``xsd:dateTime`` for the dates — but leaves identifiers and links as any text, and
cannot express its own Schematron rules (an author on the feed or on every entry; an entry's
link or content). :func:`assert_valid_atom` checks those too.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import rnc2rng
from lxml import etree

SCHEMA = Path(__file__).with_name("atom.rnc")
ATOM = "{http://www.w3.org/2005/Atom}"
RFC3339 = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"


@functools.cache
def atom_schema() -> etree.RelaxNG:
    """The RELAX NG validator of ``tests/atom.rnc``, converted once per test run."""
    rng = rnc2rng.dumps(rnc2rng.load(str(SCHEMA)))
    # rnc2rng 2.7.0 writes the schema's ``namespace local = ""`` as ``xmlns:local=""``, which
    # XML Namespaces 1.0 forbids (a prefix cannot be bound to no namespace), so libxml2 refuses
    # the document. The declaration is never used (``local:*`` comes out as ``<nsName ns=""/>``):
    # drop it.
    rng = re.sub(r'\s+xmlns:[A-Za-z_][\w.-]*=""', "", rng)
    return etree.RelaxNG(etree.fromstring(rng.encode()))


class InvalidAtom(AssertionError):
    """A document the Atom schema refuses; the message is libxml2's error log."""


def validate_atom(content: bytes) -> etree._Element:
    """Parse ``content`` (a served feed's bytes) and validate it against the Atom schema.

    Returns the root element; raises :class:`InvalidAtom` naming every error libxml2 found,
    line by line."""
    root = etree.fromstring(content, parser=etree.XMLParser(resolve_entities=False,
                                                             no_network=True))
    schema = atom_schema()
    if not schema.validate(root):
        errors = "\n".join(
            f"line {error.line}: {error.message}" for error in schema.error_log
        )
        raise InvalidAtom(f"not valid Atom (RFC 4287 schema):\n{errors}")
    return root


def assert_valid_atom(content: bytes) -> etree._Element:
    """A served feed is Atom: valid against the schema of RFC 4287 (:func:`validate_atom`, which
    also counts each feed's and entry's one id, title and updated), and the rules a reader relies
    on that the schema leaves out: dates in RFC 3339 (``xsd:dateTime`` also takes a time without
    a zone), ids that are IRIs (the schema takes any text) and unique, a self link, and the
    RFC's Schematron rules, which the schema only carries as annotations — an author on the feed
    or on every entry, an alternate link (or a content) on every entry. Returns the feed."""
    root = validate_atom(content)
    assert root.tag == f"{ATOM}feed", root.tag
    entries = root.findall(f"{ATOM}entry")
    for parent in [root, *entries]:
        for date in [*parent.findall(f"{ATOM}updated"), *parent.findall(f"{ATOM}published")]:
            assert re.match(RFC3339, date.text), (parent.tag, date.tag, date.text)
        identifier = parent.findtext(f"{ATOM}id")
        assert re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$", identifier), identifier
        alternates = [(link.get("type"), link.get("hreflang"))
                      for link in parent.findall(f"{ATOM}link")
                      if link.get("rel", "alternate") == "alternate"]
        assert len(alternates) == len(set(alternates)), (identifier, alternates)
    assert [link for link in root.findall(f"{ATOM}link") if link.get("rel") == "self"]
    for entry in entries:
        assert entry.find(f"{ATOM}content") is not None or any(
            link.get("rel", "alternate") == "alternate"
            for link in entry.findall(f"{ATOM}link")
        ), entry.findtext(f"{ATOM}id")
    assert root.find(f"{ATOM}author") is not None or all(
        entry.find(f"{ATOM}author") is not None for entry in entries)
    ids = [entry.findtext(f"{ATOM}id") for entry in entries]
    assert len(ids) == len(set(ids)), ids
    return root
