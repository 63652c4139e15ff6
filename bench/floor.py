"""The floor of each scenario: one hand-written SQL query, its rows serialised with the standard
library (``json``, ``csv``).

What the database itself can do sets the floor that lawtracker's API is compared with. Each
query answers the same question with the same rows and fields as the API (the same instruments
on the same page, the same effective values), written the way a DBA would write it: window
functions, correlated subqueries, JSON aggregation in the database. Python only groups rows
and serialises.

The SQL is written once with ``:name`` parameters (SQLite, and Datasette, which runs the
SQLite text as is) and converted to ``%(name)s`` for PostgreSQL. Needs no Django: the caller
passes a DB-API connection.
"""
from __future__ import annotations

import csv
import datetime
import io
import json
import re

# The order of the steps of an instrument's life (jurisdictions/choices.py, STATUS_SEQUENCE):
# ties between steps on one date.
STATUSES = (
    "introduced", "in_committee", "passed_chamber", "adopted", "partially_in_force", "in_force",
    "vetoed", "withdrawn", "lapsed", "repealed", "struck_down", "superseded",
)
APPLYING = ("in_force", "partially_in_force")
PENDING = ("introduced", "in_committee", "passed_chamber", "adopted")
STRENGTH = {"yes": 4, "partial": 3, "unclear": 2, "no": 1}
GAP_VALUES = ("none", "no", "unclear", "partial", "not_researched")
BASE = "http://testserver"


def seq(alias: str = "e") -> str:
    whens = " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(STATUSES))
    return f"(CASE {alias}.status {whens} ELSE 0 END)"


def quoted(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


def for_vendor(sql: str, vendor: str) -> str:
    """``:name`` -> ``%(name)s`` for psycopg (``::`` casts are left alone)."""
    if vendor == "sqlite":
        return sql
    return re.sub(r"(?<!:):([a-z_]+)\b", r"%(\1)s", sql)


class Dialect:
    """The few spellings that differ: JSON building, string aggregation, binary collation."""

    def __init__(self, vendor: str):
        self.vendor = vendor
        sqlite = vendor == "sqlite"
        self.obj = "json_object" if sqlite else "json_build_object"
        self.agg = "json_group_array" if sqlite else "json_agg"
        self.binary = "" if sqlite else ' COLLATE "C"'

    def nested(self, expr: str) -> str:
        # SQLite returns a subquery's JSON as text: json() keeps it JSON inside json_object.
        return f"json({expr})" if self.vendor == "sqlite" else expr

    def concat(self, expr: str, order: str) -> str:
        if self.vendor == "sqlite":
            return f"group_concat({expr}, '; ')"
        return f"string_agg({expr}, '; ' ORDER BY {order})"

    def loads(self, value):
        if value is None:
            return []
        return json.loads(value) if isinstance(value, str) else value


def run(conn, vendor: str, sql: str, params: dict):
    cursor = conn.cursor()
    try:
        cursor.execute(for_vendor(sql, vendor), params)
        return cursor.fetchall(), [d[0] for d in cursor.description]
    finally:
        cursor.close()


# --- 1. a filtered page of instruments ------------------------------------------------------
def list_sql(vendor: str) -> str:
    """Instruments of ``:within`` and its subdivisions whose status on ``:as_of`` is in force,
    partially in force or adopted, assessed ``yes`` on ``:covers``; one page in the API's order
    (jurisdiction code, slug, id) with the count, each with its jurisdiction, status step,
    status history with sources, identifiers, assessments with sources, and sources."""
    d = Dialect(vendor)
    return f"""
WITH RECURSIVE area(id) AS (
  SELECT id FROM jurisdictions_jurisdiction WHERE code = :within
  UNION ALL
  SELECT j.id FROM jurisdictions_jurisdiction j JOIN area ON j.parent_id = area.id
),
hits AS MATERIALIZED (
  SELECT i.id, j.code AS jcode, i.slug,
    (SELECT e.id FROM jurisdictions_statusevent e
      WHERE e.instrument_id = i.id AND e.date <= :as_of
      ORDER BY e.date DESC, {seq()} DESC, e.id DESC LIMIT 1) AS step_id
  FROM jurisdictions_instrument i
  JOIN jurisdictions_jurisdiction j ON j.id = i.jurisdiction_id
  WHERE i.jurisdiction_id IN (SELECT id FROM area)
    AND EXISTS (SELECT 1 FROM jurisdictions_assessment a
                JOIN jurisdictions_criterion c ON c.id = a.criterion_id
                WHERE a.instrument_id = i.id AND c.slug = :covers AND a.value = 'yes')
),
page AS (
  SELECT h.id, h.jcode, h.slug, h.step_id, COUNT(*) OVER () AS total
  FROM hits h JOIN jurisdictions_statusevent st ON st.id = h.step_id
  WHERE st.status IN ({quoted(("adopted",) + APPLYING)})
  ORDER BY h.jcode{d.binary}, h.slug{d.binary}, h.id
  LIMIT CAST(:page_size AS INTEGER)
)
SELECT page.total, i.slug, j.code, j.name, j.kind, i.instrument_type, i.title, i.original_title,
  i.original_language, i.short_name, i.citation, i.official_url, i.summary, i.max_penalty,
  i.confidence, i.notes, st.status, st.date, st.date_precision, i.created_at, i.updated_at,
  (SELECT {d.agg}({d.obj}('status', e.status, 'date', e.date, 'date_precision', e.date_precision,
      'description', e.description,
      'sources', {d.nested(f'''(SELECT {d.agg}({d.obj}('url', s.url, 'title', s.title,
          'publisher', s.publisher, 'kind', s.kind))
        FROM jurisdictions_statuseventsource es JOIN jurisdictions_source s ON s.id = es.source_id
        WHERE es.status_event_id = e.id)''')}))
   FROM jurisdictions_statusevent e WHERE e.instrument_id = i.id) AS events,
  (SELECT {d.agg}({d.obj}('scheme', x.scheme, 'value', x.value))
   FROM jurisdictions_identifier x WHERE x.instrument_id = i.id) AS identifiers,
  (SELECT {d.agg}({d.obj}('criterion', c.slug, 'label', c.label, 'value', a.value,
      'pinpoint', a.pinpoint, 'note', a.note, 'commencement_date', a.commencement_date,
      'verified_on', a.verified_on,
      'sources', {d.nested(f'''(SELECT {d.agg}({d.obj}('url', s.url, 'title', s.title,
          'publisher', s.publisher, 'kind', s.kind))
        FROM jurisdictions_assessmentsource x JOIN jurisdictions_source s ON s.id = x.source_id
        WHERE x.assessment_id = a.id)''')}))
   FROM jurisdictions_assessment a JOIN jurisdictions_criterion c ON c.id = a.criterion_id
   WHERE a.instrument_id = i.id) AS assessments,
  (SELECT {d.agg}({d.obj}('url', s.url, 'title', s.title, 'publisher', s.publisher,
      'kind', s.kind, 'published_on', s.published_on))
   FROM jurisdictions_instrumentsource x JOIN jurisdictions_source s ON s.id = x.source_id
   WHERE x.instrument_id = i.id) AS sources
FROM page
JOIN jurisdictions_instrument i ON i.id = page.id
JOIN jurisdictions_jurisdiction j ON j.id = i.jurisdiction_id
JOIN jurisdictions_statusevent st ON st.id = page.step_id
ORDER BY page.jcode{d.binary}, page.slug{d.binary}, page.id
"""


def list_floor(conn, vendor: str, params: dict) -> tuple[bytes, dict]:
    d = Dialect(vendor)
    rows, names = run(conn, vendor, list_sql(vendor), params)
    results = []
    total = 0
    for row in rows:
        r = dict(zip(names, row))
        total = r.pop("total")
        for key in ("events", "identifiers", "assessments", "sources"):
            r[key] = d.loads(r[key])
        r["url"] = f"{BASE}/api/v1/instruments/{r['slug']}/"
        r["jurisdiction"] = {"code": r.pop("code"), "name": r.pop("name"), "kind": r.pop("kind")}
        results.append(r)
    body = {"count": total, "next": None, "previous": None, "results": results}
    return json.dumps(body, default=str).encode(), {
        "count": total, "slugs": [r["slug"] for r in results]
    }


# --- 2, 3, 4. effective coverage -----------------------------------------------------------
def coverage_sql(vendor: str, selection: str, criteria: str, memberships: bool = False,
                 sources: bool = True) -> str:
    """Effective coverage (DOMAIN.md) in one query, for the jurisdictions chosen by the
    ``selection`` subquery and the criteria chosen by the ``criteria`` subquery, as of
    ``:as_of`` under scope ``applicable``.

    One row per jurisdiction and candidate: every assessment of an instrument of the
    jurisdiction or of one of its ancestors (inherited), or of a bloc it (or an ancestor)
    belongs to on the date, with the instrument's status on the date, whether a step dated only
    on or before a later date makes it uncertain, the strongest applying value of the cell
    (``best``) and the sources. Candidates that decide nothing (neither applying, nor a pending
    yes, nor uncertain) are left out; a jurisdiction without candidates still has one row (its
    own columns, candidate columns NULL). ``memberships`` adds the jurisdiction's bloc
    memberships as JSON; ``sources=False`` leaves the sources out (answers that show only the
    values)."""
    d = Dialect(vendor)
    src = (
        f"(SELECT {d.agg}({d.obj}('url', s.url, 'title', s.title, 'publisher', s.publisher, "
        f"'kind', s.kind)) FROM {{table}} x JOIN jurisdictions_source s ON s.id = x.source_id "
        f"WHERE x.{{key}} = {{value}})"
    )
    assessment_sources = src.format(table="jurisdictions_assessmentsource", key="assessment_id",
                                    value="a.id")
    instrument_sources = src.format(table="jurisdictions_instrumentsource", key="instrument_id",
                                    value="i.id")
    member_json = (
        f"(SELECT {d.agg}({d.obj}('bloc', b.code, 'start_date', m.start_date, "
        f"'end_date', m.end_date)) FROM jurisdictions_blocmembership m "
        f"JOIN jurisdictions_jurisdiction b ON b.id = m.bloc_id WHERE m.member_id = j.id)"
        if memberships else "NULL"
    )
    return f"""
WITH RECURSIVE target(id) AS ({selection}),
chain(target_id, holder_id, depth) AS (
  SELECT id, id, 0 FROM target
  UNION ALL
  SELECT chain.target_id, j.parent_id, chain.depth + 1
  FROM chain JOIN jurisdictions_jurisdiction j ON j.id = chain.holder_id
  WHERE j.parent_id IS NOT NULL AND chain.depth < 8
),
bloc(target_id, holder_id, via_ancestor) AS (
  SELECT DISTINCT chain.target_id, m.bloc_id, CASE WHEN chain.depth > 0 THEN 1 ELSE 0 END
  FROM chain JOIN jurisdictions_blocmembership m ON m.member_id = chain.holder_id
  WHERE m.start_date <= :as_of AND (m.end_date IS NULL OR m.end_date >= :as_of)
),
holders(target_id, holder_id, inherited, role) AS (
  SELECT chain.target_id, chain.holder_id, CASE WHEN chain.depth > 0 THEN 1 ELSE 0 END, 'law'
  FROM chain JOIN jurisdictions_jurisdiction hj ON hj.id = chain.holder_id
  WHERE chain.depth = 0 OR hj.kind NOT IN ('supranational', 'international')
  UNION ALL
  SELECT target_id, holder_id, via_ancestor, 'bloc' FROM bloc
),
chosen(id) AS ({criteria}),
-- Each instrument's status on the date and its uncertainty, once per instrument (not once per
-- assessment); CROSS JOIN fixes SQLite's join order: holders -> their instruments -> their
-- assessments, every step an index lookup.
inst AS MATERIALIZED (
  SELECT h.target_id, h.inherited, h.role, i.id AS instrument_id, hj.code AS holder_code,
    (SELECT e.status FROM jurisdictions_statusevent e
      WHERE e.instrument_id = i.id AND e.date <= :as_of
      ORDER BY e.date DESC, {seq()} DESC, e.id DESC LIMIT 1) AS status,
    CASE WHEN (SELECT e.date_precision FROM jurisdictions_statusevent e
      WHERE e.instrument_id = i.id AND e.date > :as_of
      ORDER BY e.date, {seq()}, e.id LIMIT 1) = 'on_or_before' THEN 1 ELSE 0 END AS uncertain
  FROM holders h
  CROSS JOIN jurisdictions_jurisdiction hj
  CROSS JOIN jurisdictions_instrument i
  WHERE hj.id = h.holder_id AND i.jurisdiction_id = h.holder_id
),
cand AS (
  SELECT inst.target_id, inst.inherited, inst.role, a.id AS assessment_id, a.criterion_id,
    a.value, inst.instrument_id, inst.holder_code, a.commencement_date, inst.status,
    inst.uncertain
  FROM inst CROSS JOIN jurisdictions_assessment a
  WHERE a.instrument_id = inst.instrument_id AND a.criterion_id IN (SELECT id FROM chosen)
    AND (inst.status IN ({quoted(APPLYING + PENDING)}) OR inst.uncertain = 1)
),
ranked AS (
  SELECT cand.*,
    CASE WHEN status IN ({quoted(APPLYING)})
              AND (commencement_date IS NULL OR commencement_date <= :as_of)
         THEN CASE value WHEN 'yes' THEN 4 WHEN 'partial' THEN 3 WHEN 'unclear' THEN 2 ELSE 1 END
    END AS strength
  FROM cand
)
SELECT j.code, j.name, j.kind, j.research_status, j.last_reviewed_on, p.code AS parent_code,
  {member_json} AS memberships,
  c.slug AS criterion, r.role, r.inherited, r.status, r.value, r.strength, r.uncertain,
  i.slug, i.short_name, i.title, r.holder_code, a.pinpoint, a.commencement_date,
  MAX(CASE WHEN r.role = 'law' THEN r.strength END)
    OVER (PARTITION BY r.target_id, r.criterion_id) AS best,
  {(f"COALESCE(NULLIF({assessment_sources}, '[]'), {instrument_sources})"
    if vendor == "sqlite" else f"COALESCE({assessment_sources}, {instrument_sources})")
   if sources else "NULL"} AS sources
FROM target t
JOIN jurisdictions_jurisdiction j ON j.id = t.id
LEFT JOIN jurisdictions_jurisdiction p ON p.id = j.parent_id
LEFT JOIN ranked r ON r.target_id = t.id
LEFT JOIN jurisdictions_criterion c ON c.id = r.criterion_id
LEFT JOIN jurisdictions_assessment a ON a.id = r.assessment_id
LEFT JOIN jurisdictions_instrument i ON i.id = r.instrument_id
ORDER BY j.code{d.binary}, c.position, c.slug, r.inherited, r.holder_code{d.binary},
  i.slug{d.binary}
"""


def _empty_cell() -> dict:
    return {"value": "none", "approximate": False, "instruments": [], "pending": [],
            "bloc_obligations": [], "not_commenced": []}


def _coverage(rows, names, d: Dialect, criteria: list[str]):
    """``[(jurisdiction dict, {criterion: cell})]`` in the query's order, every criterion of
    ``criteria`` present (``none`` or ``not_researched`` where nothing decided)."""
    out: dict[str, tuple[dict, dict]] = {}
    for row in rows:
        r = dict(zip(names, row))
        code = r["code"]
        if code not in out:
            jurisdiction = {
                "code": code, "name": r["name"], "kind": r["kind"],
                "research_status": r["research_status"],
                "last_reviewed_on": str(r["last_reviewed_on"]) if r["last_reviewed_on"] else None,
                "url": f"{BASE}/api/v1/jurisdictions/{code}/",
                "parent": r["parent_code"],
                "bloc_memberships": d.loads(r["memberships"]),
            }
            out[code] = (jurisdiction, {slug: _empty_cell() for slug in criteria})
        if r["criterion"] is None:
            continue
        cell = out[code][1][r["criterion"]]
        decider = {
            "slug": r["slug"], "url": f"{BASE}/api/v1/instruments/{r['slug']}/",
            "short_name": r["short_name"], "title": r["title"], "jurisdiction": r["holder_code"],
            "inherited": bool(r["inherited"]), "value": r["value"], "status": r["status"],
            "pinpoint": r["pinpoint"],
            "commencement_date": str(r["commencement_date"]) if r["commencement_date"] else None,
            "sources": d.loads(r["sources"]),
        }
        if r["role"] == "bloc":
            if r["strength"] is not None:
                cell["bloc_obligations"].append(decider)
            continue
        if r["uncertain"]:
            cell["approximate"] = True
        if r["strength"] is not None and r["strength"] == r["best"]:
            cell["value"] = r["value"]
            cell["instruments"].append(decider)
        elif r["status"] in APPLYING and r["strength"] is None:
            cell["not_commenced"].append(decider)
        elif r["status"] in PENDING and r["value"] == "yes":
            cell["pending"].append(decider)
    for jurisdiction, cells in out.values():
        if jurisdiction["research_status"] == "not_researched":
            for cell in cells.values():
                cell["value"], cell["instruments"] = "not_researched", []
    return list(out.values())


def countries_selection() -> str:
    return "SELECT id FROM jurisdictions_jurisdiction WHERE kind = 'country'"


def criteria_selection(vendor: str) -> str:
    return "SELECT id FROM jurisdictions_criterion WHERE retired = " + (
        "0" if vendor == "sqlite" else "false")


def compare_sql(vendor: str) -> str:
    return coverage_sql(vendor, countries_selection(), criteria_selection(vendor))


def detail_sql(vendor: str) -> str:
    return coverage_sql(vendor, "SELECT id FROM jurisdictions_jurisdiction WHERE code = :code",
                        criteria_selection(vendor), memberships=True, sources=False)


def compare_floor(conn, vendor: str, params: dict) -> tuple[bytes, dict]:
    """Every country x every criterion (the compare matrix)."""
    rows, names = run(conn, vendor, compare_sql(vendor), params)
    matrix = _coverage(rows, names, Dialect(vendor), params["criteria"])
    body = {"as_of": params["as_of"], "scope": "applicable", "criteria": params["criteria"],
            "rows": [{"jurisdiction": j, "cells": cells} for j, cells in matrix]}
    values = {(j["code"], slug): cell["value"] for j, cells in matrix
              for slug, cell in cells.items()}
    return json.dumps(body, default=str).encode(), {"values": values}


def detail_floor(conn, vendor: str, params: dict) -> tuple[bytes, dict]:
    """One jurisdiction (``:code``) with its parent, bloc memberships and, for every criterion,
    its effective value, whether it is approximate and whether a proposal is pending (the
    API's detail shows these three, not the deciders)."""
    rows, names = run(conn, vendor, detail_sql(vendor), params)
    [(jurisdiction, cells)] = _coverage(rows, names, Dialect(vendor), params["criteria"])
    cells = {slug: {"value": c["value"], "approximate": c["approximate"],
                    "pending": bool(c["pending"])} for slug, c in cells.items()}
    body = {**jurisdiction, "as_of": params["as_of"], "coverage": cells}
    return json.dumps(body, default=str).encode(), {
        "values": {slug: cell["value"] for slug, cell in cells.items()}
    }


# --- 5. the CSV export of every instrument -------------------------------------------------
def export_sql(vendor: str, criteria: list[tuple[int, str]]) -> str:
    """Every instrument as one flat CSV row, the API's columns: status, legal force and key dates
    as of ``:as_of`` from one pass over the status events, assessments pivoted one column per
    criterion, identifiers and source URLs joined with "; ", in the API's order."""
    d = Dialect(vendor)
    pivot = ",\n  ".join(
        f"MAX(CASE WHEN criterion_id = {pk} THEN value END) AS a_{pk}" for pk, _ in criteria
    )
    pivot_cols = ", ".join(f"av.a_{pk}" for pk, _ in criteria)
    first = (
        "CASE WHEN e.status = 'introduced' THEN 'i' WHEN e.status = 'adopted' THEN 'a' "
        "WHEN e.status IN ('in_force', 'partially_in_force') THEN 'f' END"
    )
    return f"""
WITH steps AS (
  SELECT e.instrument_id, e.status, e.date, e.date_precision,
    CASE WHEN e.date <= :as_of THEN ROW_NUMBER() OVER (PARTITION BY e.instrument_id,
         CASE WHEN e.date <= :as_of THEN 0 ELSE 1 END ORDER BY e.date DESC, {seq()} DESC, e.id DESC)
    END AS latest,
    CASE WHEN e.date > :as_of THEN ROW_NUMBER() OVER (PARTITION BY e.instrument_id,
         CASE WHEN e.date <= :as_of THEN 0 ELSE 1 END ORDER BY e.date, {seq()}, e.id)
    END AS next_after,
    {first} AS kind,
    ROW_NUMBER() OVER (PARTITION BY e.instrument_id, {first} ORDER BY e.date, {seq()}, e.id)
      AS nth_of_kind
  FROM jurisdictions_statusevent e
),
ev AS (
  SELECT instrument_id,
    MAX(CASE WHEN latest = 1 THEN status END) AS status,
    MAX(CASE WHEN latest = 1 THEN date END) AS status_date,
    MAX(CASE WHEN latest = 1 THEN date_precision END) AS status_precision,
    MAX(CASE WHEN next_after = 1 AND date_precision = 'on_or_before' THEN 1 ELSE 0 END)
      AS approximate,
    MAX(CASE WHEN kind = 'i' AND nth_of_kind = 1 THEN date END) AS introduced,
    MAX(CASE WHEN kind = 'i' AND nth_of_kind = 1 THEN date_precision END) AS introduced_p,
    MAX(CASE WHEN kind = 'a' AND nth_of_kind = 1 THEN date END) AS adopted,
    MAX(CASE WHEN kind = 'a' AND nth_of_kind = 1 THEN date_precision END) AS adopted_p,
    MAX(CASE WHEN kind = 'f' AND nth_of_kind = 1 THEN date END) AS in_force,
    MAX(CASE WHEN kind = 'f' AND nth_of_kind = 1 THEN date_precision END) AS in_force_p
  FROM steps GROUP BY instrument_id
),
av AS (
  SELECT instrument_id,
  {pivot}
  FROM jurisdictions_assessment GROUP BY instrument_id
),
ids AS (
  SELECT instrument_id, {d.concat("scheme || ':' || value", "scheme, value")} AS identifiers
  FROM jurisdictions_identifier GROUP BY instrument_id
),
srcs AS (
  SELECT x.instrument_id, {d.concat("s.url", "x.id")} AS urls
  FROM jurisdictions_instrumentsource x JOIN jurisdictions_source s ON s.id = x.source_id
  GROUP BY x.instrument_id
)
SELECT i.slug, j.code, i.instrument_type, i.title, i.original_title, i.original_language,
  i.short_name, i.citation, i.official_url, ev.status, ev.status_date, ev.status_precision,
  ev.approximate, ev.introduced, ev.introduced_p, ev.adopted, ev.adopted_p, ev.in_force,
  ev.in_force_p, ids.identifiers, {pivot_cols}, srcs.urls, i.confidence, i.summary,
  i.max_penalty, i.notes, i.updated_at
FROM jurisdictions_instrument i
-- CROSS JOIN keeps SQLite from scanning every instrument once per jurisdiction to save a sort.
CROSS JOIN jurisdictions_jurisdiction j
LEFT JOIN ev ON ev.instrument_id = i.id
LEFT JOIN av ON av.instrument_id = i.id
LEFT JOIN ids ON ids.instrument_id = i.id
LEFT JOIN srcs ON srcs.instrument_id = i.id
WHERE j.id = i.jurisdiction_id
ORDER BY j.code{d.binary}, i.slug{d.binary}, i.id
"""


FORCE = {"in_force": "InForce", "partially_in_force": "PartiallyInForce"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def export_floor(conn, vendor: str, params: dict, sink=None) -> tuple[bytes, dict]:
    """The CSV of every instrument, streamed from the cursor in batches into ``sink`` (a text
    file-like object; by default one that keeps only the byte count)."""
    criteria = params["criterion_ids"]
    sql = for_vendor(export_sql(vendor, criteria), vendor)
    cursor = conn.cursor()
    sink = sink or _Counter()
    writer = csv.writer(sink)
    header = ["slug", "jurisdiction", "instrument_type", "title", "original_title",
              "original_language", "short_name", "citation", "official_url", "as_of", "status",
              "status_date", "status_date_precision", "status_approximate", "legal_force",
              "introduced", "introduced_precision", "adopted", "adopted_precision", "in_force",
              "in_force_precision", "identifiers", *[f"assessment.{s}" for _, s in criteria],
              "sources", "confidence", "summary", "max_penalty", "notes", "url", "updated_at"]
    sink.write("\ufeff")
    writer.writerow(header)
    count = 0
    as_of = params["as_of"]
    n = len(criteria)
    try:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(2000):
            for r in batch:
                status = r[9]
                line = [r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], as_of, status,
                        r[10], r[11], "true" if r[12] else "false",
                        FORCE.get(status, "NotInForce") if status else None,
                        *r[13:19], r[19], *r[20:20 + n], *r[20 + n:]]
                line.append(f"{BASE}/api/v1/instruments/{r[0]}/")
                line.append(line.pop(-2))  # updated_at last, after url
                writer.writerow([
                    "'" + t if (t := "" if v is None else str(v)).startswith(FORMULA_STARTS)
                    else t for v in line
                ])
                count += 1
    finally:
        cursor.close()
    return b"", {"count": count, "bytes": sink.size}


class _Counter:
    """A text sink that counts UTF-8 bytes and keeps nothing (what an HTTP stream would send)."""

    def __init__(self):
        self.size = 0

    def write(self, text: str) -> int:
        self.size += len(text.encode("utf-8"))
        return len(text)


def today() -> str:
    return datetime.date.today().isoformat()


# --- 6. coverage over time (issue 12): the spans read by index ------------------------------
def history_sql(vendor: str) -> str:
    """Every span of :within and its direct subdivisions, every criterion, both scopes."""
    return """
        SELECT j.code, j.name, c.slug, s.scope, s.valid_from, s.valid_to, s.value,
               s.approximate, s.deciding, s.pending, s.caused_by
        FROM spans_coveragespan s
        JOIN jurisdictions_jurisdiction j ON j.id = s.jurisdiction_id
        JOIN jurisdictions_criterion c ON c.id = s.criterion_id
        WHERE s.jurisdiction_id IN (
            SELECT id FROM jurisdictions_jurisdiction WHERE code = :within
            UNION SELECT id FROM jurisdictions_jurisdiction
                  WHERE parent_id = (SELECT id FROM jurisdictions_jurisdiction WHERE code = :within))
        ORDER BY j.code, c.slug, s.scope, s.valid_from
    """


def history_floor(conn, vendor: str, params: dict) -> tuple[bytes, dict]:
    """The panel of ``:within`` as CSV (``csv.writer``)."""
    import csv
    import io

    rows, names = run(conn, vendor, history_sql(vendor), params)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(names)
    writer.writerows(rows)
    return out.getvalue().encode(), {"count": len(rows)}


def changes_sql(vendor: str) -> str:
    """Countries whose :criterion value (applicable law) differs between :date_from and :date_to."""
    return """
        SELECT j.code, c.slug, a.value, b.value
        FROM spans_coveragespan a
        JOIN spans_coveragespan b ON b.jurisdiction_id = a.jurisdiction_id
             AND b.criterion_id = a.criterion_id AND b.scope = a.scope
        JOIN jurisdictions_jurisdiction j ON j.id = a.jurisdiction_id
        JOIN jurisdictions_criterion c ON c.id = a.criterion_id
        WHERE j.kind = 'country' AND c.slug = :criterion AND a.scope = 'applicable'
          AND (a.valid_from IS NULL OR a.valid_from <= :date_from)
          AND (a.valid_to IS NULL OR a.valid_to > :date_from)
          AND (b.valid_from IS NULL OR b.valid_from <= :date_to)
          AND (b.valid_to IS NULL OR b.valid_to > :date_to)
          AND a.value <> b.value
        ORDER BY j.code
    """


def changes_floor(conn, vendor: str, params: dict) -> tuple[bytes, dict]:
    rows, names = run(conn, vendor, changes_sql(vendor), params)
    body = [dict(zip(("jurisdiction", "criterion", "value_from", "value_to"), r)) for r in rows]
    return json.dumps(body).encode(), {"count": len(rows)}


# --- 7. answers read from the spans (issue 12): the compact compare and gaps ------------------
def spans_cells_sql(vendor: str, criteria: str) -> str:
    """For every country and each criterion of ``criteria`` (a subquery of ids), the coverage
    span holding on ``:as_of`` under ``applicable``, one row per source of its deciding
    assessments (one row with a null URL when nothing decides or nothing is cited): the index
    read that the answers of ``spans.read`` cannot beat."""
    deciding = ("json_each(s.deciding) d ON 1" if vendor == "sqlite"
                else "jsonb_array_elements_text(s.deciding) d(value) ON true")
    return f"""
        SELECT j.code, j.name, c.slug, s.value, s.approximate, s.deciding, s.pending, src.url
        FROM spans_coveragespan s
        JOIN jurisdictions_jurisdiction j ON j.id = s.jurisdiction_id
        JOIN jurisdictions_criterion c ON c.id = s.criterion_id
        LEFT JOIN {deciding}
        LEFT JOIN jurisdictions_instrument i ON i.slug = d.value
        LEFT JOIN jurisdictions_assessment a
               ON a.instrument_id = i.id AND a.criterion_id = s.criterion_id
        LEFT JOIN jurisdictions_assessmentsource x ON x.assessment_id = a.id
        LEFT JOIN jurisdictions_source src ON src.id = x.source_id
        WHERE s.scope = 'applicable' AND s.jurisdiction_id IN ({countries_selection()})
          AND s.criterion_id IN ({criteria})
          AND (s.valid_from IS NULL OR s.valid_from <= :as_of)
          AND (s.valid_to IS NULL OR s.valid_to > :as_of)
        ORDER BY j.code, c.slug, x.id
    """


def _span_cells(rows) -> dict:
    """{(code, slug): cell} from :func:`spans_cells_sql`'s rows, each cell's sources by key."""
    cells: dict = {}
    for code, name, slug, value, approximate, deciding, pending, url in rows:
        cell = cells.setdefault((code, slug), {
            "name": name, "value": value, "approximate": bool(approximate),
            "instruments": json.loads(deciding) if isinstance(deciding, str) else deciding,
            "pending": json.loads(pending) if isinstance(pending, str) else pending,
            "sources": [],
        })
        if url is not None and url not in cell["sources"]:
            cell["sources"].append(url)
    return cells


def compare_compact_sql(vendor: str) -> str:
    return spans_cells_sql(vendor, criteria_selection(vendor))


def compare_compact_floor(conn, vendor: str, params: dict) -> tuple[bytes, dict]:
    """Every country x every criterion from the spans, sources cited by key (the compact
    compare's shape)."""
    rows, _ = run(conn, vendor, compare_compact_sql(vendor), params)
    keys: dict[str, str] = {}
    body_rows: dict = {}
    for (code, slug), cell in _span_cells(rows).items():
        cell["sources"] = [keys.setdefault(url, str(len(keys) + 1)) for url in cell["sources"]]
        body_rows.setdefault(code, {"jurisdiction": {"code": code, "name": cell.pop("name")},
                                    "cells": {}})["cells"][slug] = cell
        cell.pop("name", None)
    body = {"as_of": params["as_of"], "criteria": params["criteria"],
            "rows": list(body_rows.values()), "sources": {v: k for k, v in keys.items()}}
    values = {(code, slug): cell["value"] for code, row in body_rows.items()
              for slug, cell in row["cells"].items()}
    return json.dumps(body, default=str).encode(), {"values": values}


def gaps_spans_sql(vendor: str) -> str:
    return spans_cells_sql(
        vendor, "SELECT id FROM jurisdictions_criterion WHERE slug = :criterion")


def gaps_floor(conn, vendor: str, params: dict) -> tuple[bytes, dict]:
    """Gaps for ``:criterion`` across every country, read from the spans."""
    rows, _ = run(conn, vendor, gaps_spans_sql(vendor), params)
    groups = {value: [] for value in GAP_VALUES}
    covered, pending = 0, []
    for (code, _slug), cell in _span_cells(rows).items():
        if cell["pending"]:
            pending.append(code)
        if cell["value"] == "yes":
            covered += 1
            continue
        groups[cell["value"]].append({"code": code, **cell})
    body = {"as_of": params["as_of"], "scope": "applicable", "criterion": params["criterion"],
            "counts": {k: len(v) for k, v in groups.items()}, "groups": groups,
            "pending": pending, "covered_count": covered}
    return json.dumps(body, default=str).encode(), {"counts": body["counts"]}
