"""The one input policy for text, and the one render-time guard (issue 11).

**Input.** No text that lawtracker stores or looks up may hold a control character: NUL
(PostgreSQL refuses it in any text, so a lookup with it was a 500 there and a stored value on
SQLite), the other C0 controls U+0001–U+001F and DEL (U+007F) are invisible, break XML (the Atom
feed) and spreadsheets (XLSX), and are never meaningful in legal text. Multi-line text (a
``TextField``: notes, summaries, questions) may hold tab, line feed and carriage return; a
single line of text (a ``CharField``, ``URLField``, ``SlugField``; a key; a query parameter)
none of them. Every path applies this rule through the functions here, before anything reaches
the database:

- models: ``TrackedModel.clean_fields`` and ``TrackedModel.save`` (:func:`check_instance`), so
  admin forms, API writes, imports and scripts all refuse it naming the field;
- API writes: ``ModelValidatedSerializer.to_internal_value`` (:func:`check_value`), before a
  relation key is looked up;
- spreadsheet imports: every cell (``LegalDataResource``), before a key is looked up;
- query parameters of the API, the pages and the admin's change lists (:data:`CONTROL`);
- management commands: their text options (:func:`argument`), and ``restore_legal_data``
  every restored row (:func:`check_instance`).

``manage.py data_report`` lists any value stored before this rule (:func:`control_characters`).

**Output.** Whatever the database holds, what renders stored text into XML or a spreadsheet
passes it through :func:`printable`, which replaces each character XML 1.0 and XLSX cannot carry
with U+FFFD (the Unicode replacement character): visible, never a failed page or export.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

# Refused in a single line of text (and in every query parameter).
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Refused in multi-line text: the same less tab, line feed and carriage return.
CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# What XML 1.0 (and so XLSX, and the Atom feed) cannot carry at all: C0 controls other than
# tab, LF and CR, lone surrogates, U+FFFE and U+FFFF (XML 1.0 §2.2 "Char").
NOT_XML_CONTROLS = "".join(map(chr, [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]))
NOT_XML_NONCHARACTERS = "\ufffe\uffff"
NOT_XML = re.compile(f"[{NOT_XML_CONTROLS}\ud800-\udfff{NOT_XML_NONCHARACTERS}]")
REPLACEMENT = "\ufffd"
# The longest query parameter value read: longer ones are refused before any query. SQLite
# cannot even run a LIKE pattern of 50 000 bytes (a search of that length was a database error),
# and no code list needs this much.
MAX_VALUE_LENGTH = 10_000


def is_multiline(model_field) -> bool:
    """True for a model field whose text may span lines (a ``TextField``)."""
    from django.db import models

    return isinstance(model_field, models.TextField)


def text_fields(model) -> list:
    """The concrete columns of ``model`` that can hold text: ``CharField``, ``TextField`` (and
    their subclasses) and ``JSONField``."""
    from django.db import models

    return [
        f for f in model._meta.concrete_fields
        if isinstance(f, (models.CharField, models.TextField, models.JSONField))
    ]


def control_message(value: str, multiline: bool = False) -> str | None:
    """The error for ``value`` under the policy, or None when it is acceptable.

    The message names the first offending character by its code point (``U+0001``)."""
    found = (CONTROL_MULTILINE if multiline else CONTROL).search(value)
    if found is None:
        return None
    allowed = " (tab, line feed and carriage return are allowed in multi-line text)" \
        if multiline else ""
    return (f"Contains the control character U+{ord(found.group()):04X} at position "
            f"{found.start() + 1}: remove it{allowed}.")


def validate_line(value: str) -> None:
    """A form or model validator for a single line of text that is not a model column (a
    change reason). Raises ``ValidationError`` (code ``control_character``)."""
    error = control_message(value or "")
    if error:
        raise ValidationError(error, code="control_character")


def argument(value: str) -> str:
    """An ``argparse`` type for a management command's text option (a username, a reason):
    ``value`` unchanged, or ``ArgumentTypeError`` (a usage error naming the option)."""
    import argparse

    error = control_message(value)
    if error:
        raise argparse.ArgumentTypeError(error)
    return value


def check_value(value, multiline: bool = False) -> str | None:
    """The error for a raw input ``value`` — a string, or a list or dict (JSON) holding
    strings anywhere, keys included — or None when it is acceptable."""
    if isinstance(value, str):
        return control_message(value, multiline)
    if isinstance(value, dict):
        for key, item in value.items():
            error = check_value(key) or check_value(item, multiline)
            if error:
                return error
    elif isinstance(value, (list, tuple)):
        for item in value:
            error = check_value(item, multiline)
            if error:
                return error
    return None


def check_instance(instance, exclude=()) -> None:
    """Refuse a model instance holding a control character in a text or JSON column.

    Raises ``ValidationError`` ``{field: [message]}`` naming every offending field (code
    ``control_character``)."""
    errors = {}
    for field in text_fields(type(instance)):
        if field.name in exclude:
            continue
        error = check_value(getattr(instance, field.attname), is_multiline(field))
        if error:
            errors[field.name] = ValidationError(error, code="control_character")
    if errors:
        raise ValidationError(errors)


def control_characters(model, rows) -> list[dict]:
    """The values of ``rows`` (dicts with ``pk`` and the columns of :func:`text_fields`, or the
    JSON columns) that break the policy: ``[{"model", "id", "field", "message"}]``."""
    found = []
    for row in rows:
        for name, value in row.items():
            if name == "pk":
                continue
            field = model._meta.get_field(name)
            error = check_value(value, is_multiline(field))
            if error:
                found.append({"model": model._meta.label_lower, "id": row["pk"],
                              "field": name, "message": error})
    return found


def printable(value):
    """``value`` with every character XML 1.0 cannot hold replaced by U+FFFD; anything that is
    not a string is returned unchanged. For every renderer of stored text into XML (the Atom
    feed) or a spreadsheet (XLSX, CSV)."""
    if isinstance(value, str) and NOT_XML.search(value):
        return NOT_XML.sub(REPLACEMENT, value)
    return value
