"""The API's renderers: JSON (:class:`JSONRenderer`, DRF's output written by orjson) and CSV
(``format=csv`` or ``Accept: text/csv``). The CSV file format itself — columns, the byte-order
mark, formula neutralising, streaming — is :mod:`jurisdictions.csvfile`, shared with the pages;
its names are re-exported here for the API's modules.
"""

from __future__ import annotations

import orjson
from rest_framework import renderers
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


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSON renderer, byte for byte, with the compact output encoded by orjson (a compare
    of every country is ~1.8 MB of JSON; bench/FINDINGS.md, section 10).

    Only what orjson writes exactly as DRF's settings do is left to it (strings with
    ``UNICODE_JSON``, numbers, lists, tuples, string-keyed dicts); dates and times, dataclasses,
    decimals, lazy strings and the rest go to DRF's own encoder (``default``), and the line and
    paragraph separators are escaped as DRF escapes them. Indented output (the browsable API,
    ``; indent=``), ``ensure_ascii`` and anything orjson refuses (a key that is not a string, an
    integer wider than 64 bits) take DRF's path unchanged.
    """

    OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if (
            data is None
            or self.ensure_ascii
            or not self.compact
            or self.get_indent(accepted_media_type, renderer_context or {}) is not None
        ):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            out = orjson.dumps(data, default=self.encoder_class().default, option=self.OPTIONS)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        return out.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")


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
