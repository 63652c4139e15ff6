"""CSV downloads of what a page shows (``?format=csv``).

The same file format as the API's CSV, written by the same code
(:mod:`jurisdictions.csvfile`): UTF-8 with a byte-order mark (so that spreadsheets read
"São Paulo" and "서울" correctly), CRLF line ends (RFC 4180), one header line, and a cell
starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return prefixed with ``'`` so that
no spreadsheet runs it as a formula (OWASP, "CSV Injection"). A page's table is small, so the
download is one response rather than a stream.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.http import HttpResponse

from ..csvfile import BOM, FORMULA_STARTS, LIST_SEPARATOR, cell_text, csv_lines

__all__ = ["BOM", "FORMULA_STARTS", "LIST_SEPARATOR", "cell_text", "csv_response", "csv_text"]


def csv_text(header: list[str], rows: Iterable[Iterable]) -> str:
    """The whole file as text, byte-order mark first (:func:`csv_lines` joined)."""
    return "".join(csv_lines(header, rows))


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable]) -> HttpResponse:
    """A ``text/csv; charset=utf-8`` attachment named ``filename``."""
    response = HttpResponse(csv_text(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
