"""CSV files: flat columns, UTF-8 with a byte-order mark, safe to open in a spreadsheet. The one
writer of every CSV download (the API's and the pages'), and the :class:`Column` in which each
answer (:mod:`jurisdictions.answers`) defines its CSV columns once.

- The byte-order mark makes Excel read the file as UTF-8 ("São Paulo", "서울" stay legible).
- A cell whose text begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
  prefixed with a single quote, so that no spreadsheet runs it as a formula (OWASP, "CSV
  Injection": https://owasp.org/www-community/attacks/CSV_Injection).
- Lists inside a cell are joined with ``"; "``; ``None`` is an empty cell; booleans are
  ``true``/``false``; dates and date-times are ISO 8601.
- Downloads are streamed (:func:`csv_response`), row by row, so that an export of every row
  never sits whole in memory.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, is_dataclass
from itertools import islice

from django.http import StreamingHttpResponse

from .text import NOT_XML_CONTROLS, NOT_XML_NONCHARACTERS, printable

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LIST_SEPARATOR = "; "

# Rows read at a time when a CSV streams a whole collection: each batch costs the viewset's
# fixed number of prefetch queries.
CSV_BATCH = 500


def batched(iterable, size: int):
    """Lists of ``size`` items of ``iterable`` (the last one shorter)."""
    iterator = iter(iterable)
    while batch := list(islice(iterator, size)):
        yield batch


def _plain(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return LIST_SEPARATOR.join(_plain(v) for v in value)
    return str(value)


def cell_text(value) -> str:
    """One cell's text: flattened (see module docstring) and neutralised against formulas.

    ``value``: ``None``, a bool, a date or date-time, a list or tuple of such values, or
    anything ``str()`` can write. Only the start of the whole cell is neutralised (a list's
    later items cannot start a formula); a character no spreadsheet can hold is replaced
    (:func:`jurisdictions.text.printable`). Raises only what ``str(value)`` raises."""
    return printable(_neutralised(value))


def _neutralised(value) -> str:
    # cell_text without the printable pass, which csv_lines makes once per piece of the file:
    # the characters it replaces are none of FORMULA_STARTS and never make the writer quote
    # a cell, so the file is the same, at one regular-expression search per piece, not per
    # cell (an export of every instrument has ~40 cells a row).
    text = value if type(value) is str else _plain(value)
    if text and text[0] in _FORMULA_FIRST:
        text = "'" + text
    return text


_FORMULA_FIRST = frozenset(FORMULA_STARTS)  # each of them is one character


@dataclass(frozen=True)
class Column:
    """A CSV column: ``header`` and where its value comes from in one serialized row.

    ``source`` is a dotted path through dicts or dataclasses (``jurisdiction.code``; through a
    list or tuple it collects the value of every item: ``sources.url``) or a callable taking
    the row.
    """

    header: str
    source: str | Callable[[dict], object] | None = None

    def value(self, row: dict):
        """This column's value in ``row``."""
        return self.getter()(row)

    def getter(self) -> Callable[[dict], object]:
        """A function from a row to this column's value (the dotted path split once)."""
        source = self.source or self.header
        if callable(source):
            return source
        path = source.split(".")
        if len(path) == 1:
            key = path[0]
            return lambda row: row.get(key) if type(row) is dict else _dig(row, path)
        return lambda row: _dig(row, path)


def _dig(value, path: list[str]):
    for i, key in enumerate(path):
        if isinstance(value, (list, tuple)):
            return [_dig(item, path[i:]) for item in value]
        if isinstance(value, dict):
            value = value.get(key)
        elif is_dataclass(value):  # an answer's row (jurisdictions.answers)
            value = getattr(value, key, None)
        else:
            return None
    return value


# A streamed CSV is sent in pieces of about this many characters: one piece per line would
# cost the server a write (and a chunk header) per row.
CHUNK_CHARS = 64 * 1024


def csv_lines(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    """The BOM with the header line, then the rows (CRLF line ends, RFC 4180), each cell
    written by :func:`cell_text`; lazy, so ``rows`` may be a generator. Yields the header line
    alone, then whole lines in pieces of about :data:`CHUNK_CHARS` characters."""
    return (printable(piece) for piece in _pieces(header, rows))


def _pieces(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    # csv_lines before its printable pass.
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_neutralised(v) for v in header])
    yield BOM + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for row in rows:
        writer.writerow([_neutralised(v) for v in row])
        if buffer.tell() >= CHUNK_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


# The UTF-8 form of what :func:`jurisdictions.text.printable` replaces, but the surrogates
# (which UTF-8 cannot encode at all).
_NOT_XML_BYTES = NOT_XML_CONTROLS.encode("ascii")
_NONCHARACTERS_UTF8 = tuple(c.encode("utf-8") for c in NOT_XML_NONCHARACTERS)


def _utf8(piece: str) -> bytes:
    """``printable(piece)`` in UTF-8. Stored text rarely holds such a character, so the piece
    is encoded first and checked in bytes (three scans in C, where the regular expression costs
    a few percent of an export), and passed through ``printable`` only when one is there."""
    try:
        data = piece.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return printable(piece).encode("utf-8")
    if (len(data.translate(None, _NOT_XML_BYTES)) != len(data)
            or any(noncharacter in data for noncharacter in _NONCHARACTERS_UTF8)):
        return printable(piece).encode("utf-8")
    return data


def csv_response(filename: str, header: list[str], rows: Iterable[list]) -> StreamingHttpResponse:
    """A streamed ``text/csv; charset=utf-8`` download named ``filename``: the pieces of
    :func:`csv_lines`, in UTF-8."""
    response = StreamingHttpResponse(
        (_utf8(piece) for piece in _pieces(header, rows)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def table(rows: Iterable[dict], columns: list[Column]) -> Iterator[list]:
    """One list of cell values per row of ``rows``, in the order of ``columns``."""
    getters = [column.getter() for column in columns]
    for row in rows:
        yield [get(row) for get in getters]
