"""Golden answers (the machinery of tests/test_golden_world.py and tests/test_golden_seed.py):
what every endpoint and page serves, stored in tests/golden/ and compared.

For two worlds — the hand-made one (``world``, tests/world.py) and the real seed (``seeded``,
fixtures/research.json) — at fixed dates (never "today": the clock is frozen at NOW), the JSON
and the CSV of every list, detail and analysis endpoint and the main content of every page are
rendered as text and compared with ``tests/golden/<world>/<case>.<ext>``. A difference fails
with a unified diff. Every JSON answer is also validated against the OpenAPI schema that the API
serves (``/api/schema/``).

An intended change regenerates the files with ONE command, and the diff shows up in review::

    make golden   # = .venv/bin/python -m pytest -m golden --update-golden

Every named URL of the site must have a golden case here or be listed in NOT_GOLDEN with the
reason: a new endpoint without a golden fails ``test_every_endpoint_and_page_has_a_golden``.
The two worlds live in two test modules: each loads its data for the module.
"""
from __future__ import annotations

import copy
import csv
import datetime
import difflib
import io
import json
import re
from pathlib import Path

import html5lib
import jsonschema
import pytest
import time_machine
from django.urls import URLPattern, URLResolver, reverse
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from jurisdictions.models import Assessment, Source, StatusEvent

GOLDEN = Path(__file__).resolve().parent / "golden"
# The frozen clock: history timestamps and every default as_of read it.
NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.timezone.utc)
DATES = ("2024-01-01", "2026-12-01")

# Named URLs with no golden, and why.
NOT_GOLDEN = {
    "schema": "the OpenAPI document itself: tests/test_schema.py; every answer is validated "
              "against it here",
    "api-docs": "Swagger UI's HTML shell, no data",
    "healthz": "no data; tests/test_security.py",
    "pages:yes-over-time": "an SVG chart drawn by pygal; its data table is in the home and gaps goldens",
    "review-queue": "the reviewers' admin page (staff only, not a public answer); tests/test_desk.py",
    "changes-feed": "Atom of the edit history, timestamps only; tests/test_feeds.py",
    "data-report": "staff-only report; tests/test_quality.py",
    # Issue 14: alerts are written by edits after the data is loaded (the goldens have none).
    "alerts:jurisdiction-feed": "Atom of alerts, empty on loaded data; tests/test_alerts.py",
    "alerts:criterion-feed": "Atom of alerts, empty on loaded data; tests/test_alerts.py",
    "alerts:instrument-feed": "Atom of alerts, empty on loaded data; tests/test_alerts.py",
    "alerts:gaps-feed": "Atom of alerts, empty on loaded data; tests/test_alerts.py",
    "api:webhook-list": "an account's own subscriptions; tests/test_alerts.py",
    "api:webhook-detail": "an account's own subscription; tests/test_alerts.py",
    "api:webhook-ping": "a write (POST); tests/test_alerts.py",
    "api:webhook-deliveries": "an account's delivery log; tests/test_alerts.py",
    "api:alert-digests": "a sign-up (POST only); tests/test_alerts.py",
    "alerts:confirm": "a sign-up's confirmation, by its secret token; tests/test_alerts.py",
    "alerts:unsubscribe": "one-click unsubscribe, by its secret token; tests/test_alerts.py",
}


# Answers that the OpenAPI document does not describe (drf-spectacular leaves out the API root).
NOT_IN_SCHEMA = {"api-root"}


# --- the cases -----------------------------------------------------------------------------------
# ``(name, url_name, path, query, formats)``: ``formats`` among json, csv, html. The path is
# built at run time from the world (rows addressed by primary key are picked by their content).

def cases_of(world_name: str) -> list[tuple[str, str, str, str, tuple[str, ...]]]:
    if world_name == "world":
        country, sub, slug, event_slug, crit = "KR", "US-CA", "kr-act", "operation-cumberland", \
            "possession"
        selection = "jurisdictions=KR,GB,US,US-CA,US-OH,EU,DE"
        within = "within=US"
        few = "jurisdiction=KR,GB,US,US-CA,US-OH,EU,DE"
    else:
        country, sub, slug, event_slug, crit = "KR", "US-CA", None, None, "ai_generated_explicit"
        selection = "jurisdictions=KR,GB,US-CA,EU,DE,AU-NSW"
        within = "within=US"
        few = "jurisdiction=KR,GB,US-CA,EU"
    slug = slug or _first_slug("KR")
    event_slug = event_slug or _first_event_slug()
    step = _pick(StatusEvent.objects.filter(instrument__slug=slug).order_by("date", "status"))
    assessment = _pick(Assessment.objects.filter(instrument__slug=slug)
                       .order_by("criterion__slug"))
    source = _pick(Source.objects.order_by("url"))
    cases = [
        ("api-root", "api:api-root", reverse("api:api-root"), "", ("json",)),
        ("page-methodology", "pages:methodology", reverse("pages:methodology"), "", ("html",)),
        ("page-search", "pages:search", reverse("pages:search"), "q=korea", ("html",)),
    ]
    collections = {
        "jurisdiction": ("code", country), "instrument": ("slug", slug),
        "status-event": ("pk", step), "criterion": ("slug", crit),
        "assessment": ("pk", assessment), "source": ("pk", source), "event": ("slug", event_slug),
    }
    # The seed is large: its lists are read for a few places (the CSV has every filtered row).
    seed_lists = {
        "jurisdiction": "kind=country,supranational,international&page_size=20",
        "instrument": f"{few}&page_size=20", "status-event": f"{few}&page_size=20",
        "assessment": f"{few}&page_size=20", "event": f"{few}&page_size=20",
        "criterion": "", "source": "page_size=20",
    }
    for basename, (key, value) in collections.items():
        list_query = "page_size=500" if world_name == "world" else seed_lists[basename]
        cases.append((f"{basename}-list", f"api:{basename}-list",
                      reverse(f"api:{basename}-list"), list_query, ("json", "csv")))
        cases.append((f"{basename}-detail", f"api:{basename}-detail",
                      reverse(f"api:{basename}-detail", kwargs={key: value}), "", ("json",)))
    cases.append(("jurisdiction-detail-subdivision", "api:jurisdiction-detail",
                  reverse("api:jurisdiction-detail", kwargs={"code": sub}), "", ("json",)))
    for as_of in DATES:
        cases += [
            (f"instrument-list-{as_of}", "api:instrument-list", reverse("api:instrument-list"),
             f"{few}&as_of={as_of}&page_size=500", ("json", "csv")),
            (f"timeline-{country}-{as_of}", "api:jurisdiction-timeline",
             reverse("api:jurisdiction-timeline", kwargs={"code": country}), f"as_of={as_of}",
             ("json", "csv")),
            (f"timeline-{sub}-{as_of}", "api:jurisdiction-timeline",
             reverse("api:jurisdiction-timeline", kwargs={"code": sub}), f"as_of={as_of}",
             ("json", "csv")),
            (f"compare-{as_of}", "api:compare", reverse("api:compare"),
             f"{selection}&as_of={as_of}", ("json", "csv")),
            (f"compare-own-{as_of}", "api:compare", reverse("api:compare"),
             f"{selection}&scope=own&as_of={as_of}", ("json", "csv")),
            (f"compare-compact-{as_of}", "api:compare", reverse("api:compare"),
             f"{selection}&shape=compact&as_of={as_of}", ("json",)),
            (f"gaps-{as_of}", "api:gaps", reverse("api:gaps"),
             f"criterion={crit}&{within}&as_of={as_of}", ("json", "csv")),
            (f"gaps-own-{as_of}", "api:gaps", reverse("api:gaps"),
             f"criterion={crit}&{within}&scope=own&as_of={as_of}", ("json", "csv")),
            (f"page-home-{as_of}", "pages:home", reverse("pages:home"), f"as_of={as_of}",
             ("html",)),
            (f"page-compare-{as_of}", "pages:compare", reverse("pages:compare"),
             f"{selection}&as_of={as_of}", ("html",)),
            (f"page-gaps-{as_of}", "pages:gaps", reverse("pages:gaps"),
             f"criterion={crit}&{within}&as_of={as_of}", ("html",)),
            (f"page-jurisdictions-{as_of}", "pages:jurisdictions", reverse("pages:jurisdictions"),
             f"as_of={as_of}", ("html",)),
            (f"coverage-history-{as_of}", "api:coverage-history", reverse("api:coverage-history"),
             f"{selection}&criterion={crit}&page_size=500", ("json", "csv")),
            (f"coverage-changes-{as_of}", "api:coverage-changes", reverse("api:coverage-changes"),
             f"{selection}&from=2015-01-01&to={as_of}", ("json", "csv")),
            (f"page-what-changed-{as_of}", "pages:what-changed", reverse("pages:what-changed"),
             f"{selection}&from=2015-01-01&to={as_of}", ("html",)),
            (f"page-map-{as_of}", "pages:map", reverse("pages:map"),
             f"criterion={crit}&as_of={as_of}", ("html",)),
            (f"page-jurisdiction-{sub}-{as_of}", "pages:jurisdiction",
             reverse("pages:jurisdiction", kwargs={"code": sub}), f"as_of={as_of}", ("html",)),
            (f"page-instrument-{as_of}", "pages:instrument",
             reverse("pages:instrument", kwargs={"slug": slug}), f"as_of={as_of}", ("html",)),
        ]
    # The seed's edit history is its loading: one page of it.
    cases.append(("changes", "api:changes", reverse("api:changes"), "since=2000-01-01",
                  ("json", "csv") if world_name == "world" else ("json",)))
    return cases


def _pick(queryset) -> int:
    obj = queryset.first()
    assert obj is not None, f"no row for the golden case: {queryset.query}"
    return obj.pk


def _first_slug(code: str) -> str:
    from jurisdictions.models import Instrument

    return Instrument.objects.filter(jurisdiction__code=code).order_by("slug").first().slug


def _first_event_slug() -> str:
    from jurisdictions.models import Event

    return Event.objects.order_by("date", "slug").first().slug


# --- rendering as stable text --------------------------------------------------------------------
ROW_URL = re.compile(r"(/api/v1/(?:status-events|assessments|sources)/)\d+/")
# tests/factories.py numbers its sources from a counter that runs across the test session.
FACTORY_SOURCE = re.compile(r"(https://example\.org/source/)\d+")
DATETIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?")


def _normal_text(text: str) -> str:
    """Primary keys (they differ between databases and runs) and timestamps are volatile."""
    text = FACTORY_SOURCE.sub(r"\1<n>", ROW_URL.sub(r"\1<pk>/", text))
    return DATETIME.sub("<datetime>", text)


def _normal_json(value, key=None):
    if isinstance(value, dict):
        return {k: _normal_json(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal_json(v) for v in value]
    if key in ("id", "pk", "object_id", "history_id", "step") and isinstance(value, int):
        return "<pk>"
    if isinstance(value, str):
        return _normal_text(value)
    return value


def render_json(response) -> str:
    return json.dumps(_normal_json(response.json()), ensure_ascii=False, indent=1) + "\n"


def render_csv(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    if rows:
        # Columns named id hold primary keys.
        id_columns = [i for i, name in enumerate(rows[0]) if name in ("id", "pk", "object_id")]
        for row in rows[1:]:
            for i in id_columns:
                if i < len(row) and row[i].isdigit():
                    row[i] = "<pk>"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return _normal_text(out.getvalue())


BLOCKS = {"h1", "h2", "h3", "h4", "p", "li", "dt", "dd", "figcaption", "caption", "summary"}
NS = "{http://www.w3.org/1999/xhtml}"


def _text(element) -> str:
    """The element's text, its parts (links, badges) separated by one space."""
    return " ".join(" ".join(element.itertext()).split())


def render_html(response) -> str:
    """The main content of a page as lines: headings, paragraphs and list items as text, each
    table as rows of cells separated by " | ". Forms' hidden inputs (CSRF) are not text."""
    tree = html5lib.parse(response.content, namespaceHTMLElements=False)
    main = tree.find(".//main")
    assert main is not None, "the page has no <main>"
    lines: list[str] = [f"<title> {_text(tree.find('.//title'))}"]

    def walk(element, in_table=False):
        for child in element:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag == "table":
                lines.append(f"<table id={child.get('id') or ''}>")
                for row in child.iter("tr"):
                    lines.append(" | ".join(_text(cell) for cell in row
                                            if cell.tag in ("td", "th")))
                lines.append("</table>")
            elif tag in BLOCKS:
                text = _text(child)
                if text:
                    lines.append(f"<{tag}> {text}")
            elif tag in ("script", "style", "svg", "form"):
                # Forms are the filter controls (their options come from ISO data), not answers.
                if tag == "svg" and child.get("aria-label"):
                    lines.append(f"<svg> {child.get('aria-label')}")
                continue
            else:
                walk(child)

    walk(main)
    return _normal_text("\n".join(lines) + "\n")


RENDER = {"json": render_json, "csv": render_csv, "html": render_html}
EXT = {"json": "json", "csv": "csv", "html": "html.txt"}


# --- the OpenAPI schema as JSON Schema -----------------------------------------------------------
def _oas30_to_jsonschema(node):
    """OpenAPI 3.0 schema objects → JSON Schema 2020-12: ``nullable: true`` becomes a null
    alternative, component references become registry references."""
    if isinstance(node, list):
        return [_oas30_to_jsonschema(v) for v in node]
    if not isinstance(node, dict):
        return node
    node = {k: _oas30_to_jsonschema(v) for k, v in node.items()}
    if node.pop("nullable", False):
        node = {"anyOf": [node, {"type": "null"}]}
    return node


class OpenAPIValidator:
    def __init__(self, document: dict):
        self.document = document
        components = _oas30_to_jsonschema(document.get("components", {}))
        root = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                "components": components}
        self.registry = Registry().with_resource("urn:openapi",
                                                 Resource(root, specification=DRAFT202012))
        self.templates = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path)
            for path in document["paths"]
        ]

    def validate(self, path: str, body) -> None:
        template = next((t for regex, t in self.templates if regex.match(path)), None)
        assert template, f"{path} is not in the OpenAPI schema"
        content = self.document["paths"][template]["get"]["responses"]["200"]["content"]
        schema = next(v["schema"] for k, v in content.items() if "json" in k)
        schema = _oas30_to_jsonschema(copy.deepcopy(schema))
        schema = json.loads(json.dumps(schema).replace('"#/components/', '"urn:openapi#/components/'))
        validator = jsonschema.Draft202012Validator(schema, registry=self.registry)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        assert not errors, f"{path}: answer does not match the OpenAPI schema:\n" + "\n".join(
            f"  at {'/'.join(map(str, e.path)) or '(root)'}: {e.message[:300]}" for e in errors[:10]
        )


# --- the comparison ------------------------------------------------------------------------------
def compare_with_golden(request, world_name: str, case: str, fmt: str, actual: str,
                        may_update: bool = True) -> None:
    """Fail with a unified diff when ``actual`` differs from the golden file; with
    ``--update-golden`` (and ``may_update``) write it instead."""
    path = GOLDEN / world_name / f"{case}.{EXT[fmt]}"
    if may_update and request.config.getoption("--update-golden"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), (
        f"no golden file {path.relative_to(GOLDEN.parent.parent)}: run `make golden` and review it"
    )
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(difflib.unified_diff(
            expected.splitlines(keepends=True), actual.splitlines(keepends=True),
            fromfile=f"golden/{world_name}/{case}.{EXT[fmt]}", tofile="served", n=2,
        ))
        pytest.fail(f"the served answer differs from the golden file (`make golden` "
                    f"regenerates it if the change is intended):\n{diff[:20000]}", pytrace=False)


def fetch(client, path: str, query: str, fmt: str):
    q = query
    if fmt == "csv":
        q = f"{query}&format=csv" if query else "format=csv"
    response = client.get(f"{path}?{q}" if q else path, HTTP_ACCEPT="application/json"
                          if fmt == "json" else "*/*")
    assert response.status_code == 200, (path, q, response.status_code,
                                         getattr(response, "content", b"")[:500])
    return response


def frozen_clock():
    """The clock at NOW for a whole module (history timestamps, default dates)."""
    return time_machine.travel(NOW, tick=False)


def openapi_validator(client) -> OpenAPIValidator:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return OpenAPIValidator(json.loads(response.content))


def check_world(request, client, openapi, world_name: str) -> None:
    failures = []
    for case, _, path, query, formats in cases_of(world_name):
        for fmt in formats:
            response = fetch(client, path, query, fmt)
            if fmt == "json" and case not in NOT_IN_SCHEMA:
                openapi.validate(path, response.json())
            try:
                compare_with_golden(request, world_name, case, fmt, RENDER[fmt](response))
            except pytest.fail.Exception as exc:
                failures.append(str(exc))
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)




def named_urls(patterns, namespace=None):
    """Every named URL pattern (``namespace:name``) under ``patterns``."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or namespace
            if namespace and pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}"
            yield from named_urls(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}:{pattern.name}" if namespace else pattern.name
