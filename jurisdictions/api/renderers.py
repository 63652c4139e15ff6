"""The API's CSV renderer (``format=csv`` or ``Accept: text/csv``). The file format itself —
columns, the byte-order mark, formula neutralising, streaming — is :mod:`jurisdictions.csvfile`,
shared with the pages; its names are re-exported here for the API's modules.
"""

from __future__ import annotations

from rest_framework.renderers import BaseRenderer

from ..csvfile import (  # noqa: F401 (re-exported for the API's modules)
    BOM,
    CHUNK_CHARS,
    CSV_BATCH,
    FORMULA_STARTS,
    LIST_SEPARATOR,
    Column,
    batched,
    cell_text,
    csv_lines,
    csv_response,
    table,
)


class CSVRenderer(BaseRenderer):
    """Selected by ``format=csv`` or ``Accept: text/csv``.

    Lists and analysis views build their CSV themselves (flat columns, streamed). Anything else
    that reaches this renderer is flattened generically: a list of objects (or a page's
    ``results``) becomes one line per object, one column per key.
    """

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        rows = data.get("results", [data]) if isinstance(data, dict) else list(data)
        rows = [row if isinstance(row, dict) else {"value": row} for row in rows]
        header: list[str] = []
        for row in rows:
            header += [key for key in row if key not in header]
        columns = [Column(key, (lambda r, k=key: r.get(k))) for key in header]
        return "".join(csv_lines(header, table(rows, columns))).encode("utf-8")
