"""CSV downloads of what a page shows (``?format=csv``).

UTF-8 with a byte-order mark (so that spreadsheets read "São Paulo" and "서울" correctly), CRLF
line ends (RFC 4180), one header line. A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return is prefixed with ``'`` so that no spreadsheet runs it as a formula (OWASP, "CSV
Injection"). This small writer mirrors the API's (``jurisdictions/api/renderers.py``, written at
the same time by another engineer) rather than importing it, so that the pages do not depend on
DRF's renderer module; the two follow the same rules.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable

from django.http import HttpResponse

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LIST_SEPARATOR = "; "


def cell_text(value) -> str:
    """One cell: ``None`` empty, booleans ``true``/``false``, dates ISO 8601, lists joined
    with ``"; "``, and formula-looking text neutralised."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (datetime.date, datetime.datetime)):
        text = value.isoformat()
    elif isinstance(value, (list, tuple)):
        text = LIST_SEPARATOR.join(cell_text(v) for v in value)
    else:
        text = str(value)
    if text.startswith(FORMULA_STARTS):
        text = "'" + text
    return text


def csv_text(header: list[str], rows: Iterable[Iterable]) -> str:
    """The whole file as text, byte-order mark first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell_text(v) for v in row])
    return BOM + buffer.getvalue()


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable]) -> HttpResponse:
    """A ``text/csv; charset=utf-8`` attachment named ``filename``."""
    response = HttpResponse(csv_text(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
