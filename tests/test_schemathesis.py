"""Schema fuzzing (issue 7): schemathesis against the live OpenAPI schema (``/api/schema/``) of a
production-like gunicorn server on the real seed, every operation, every check.

The server is started by this module: gunicorn with deploy/gunicorn.conf.py (DEBUG off), on a
fresh PostgreSQL database of its own (on the server of ``DATABASE_URL``), migrated and loaded
with the seed (``load_seed``); the fuzzing is skipped on SQLite runs.

Reads are anonymous-compatible; every request carries an editor's API token (a superuser made
for the run), so that the write operations — create, replace, change, delete of every
collection — are fuzzed in their bodies and in stateful sequences, not only refused with 401
(issue 11).

schemathesis runs all its phases (the schema's examples, coverage of boundary and invalid values,
random fuzzing, stateful sequences) in both modes (schema-valid and schema-invalid data), at most
``SCHEMATHESIS_MAX_EXAMPLES`` cases per operation (25) within ``SCHEMATHESIS_MAX_TIME`` seconds
(300), with a fixed seed so that a failure can be reproduced, configured by tests/schemathesis.toml,
and every check it has
(``--checks all``: no server error, status codes, content types, headers and response bodies
conforming to the schema, schema-invalid input rejected, schema-valid input accepted, …).
Zero failures is the bar; each failure it has found is pinned by a regression test of its own
below, so that it stays fixed without schemathesis' luck.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from loadtest import server as srv

REPO = Path(__file__).resolve().parent.parent
ON_POSTGRES = srv.on_postgres()
MAX_EXAMPLES = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25")
MAX_TIME = os.environ.get("SCHEMATHESIS_MAX_TIME", "300")
SEED = os.environ.get("SCHEMATHESIS_SEED", "20261129")


@pytest.fixture(scope="module")
def live_api(tmp_path_factory):
    """gunicorn (2 workers, DEBUG off) on a migrated, seeded PostgreSQL database of its own."""
    if not ON_POSTGRES:
        pytest.skip("schema fuzzing runs against PostgreSQL, the production store (CI's "
                    "PostgreSQL pass); the regression tests below run on every database")
    tmp = tmp_path_factory.mktemp("schemathesis")
    url = srv.postgres_url(f"lt_schemathesis_{os.getpid()}")
    srv.require_postgres(url)  # raises, never skips, when PostgreSQL is named but unusable
    env = srv.production_env(
        url,
        STATIC_ROOT=str(tmp / "static"),
        STATIC_MANIFEST="0",
        SECURE_SSL_REDIRECT="0",  # plain HTTP on loopback; the rest of production stays on
        WEB_CONCURRENCY="2",
        # schemathesis sends thousands of requests from one address.
        API_ANON_RATE="100000000/minute",
        GUNICORN_ACCESS_LOG="off",
        GUNICORN_MAX_REQUESTS="0",
    )

    token = []

    def setup(env):  # the real seed data, and an editor's API token for the writes
        srv.manage({**env, "DEBUG": "1"}, "load_seed", timeout=600)
        srv.manage({**env, "DEBUG": "1"}, "ensure_admin", "--username", "fuzz-editor")
        created = srv.manage({**env, "DEBUG": "1"}, "drf_create_token", "fuzz-editor")
        token.append(created.stdout.split()[2])  # "Generated token <key> for user …"

    with srv.serving(url, env, tmp / "gunicorn.log", setup) as (server, _):
        server.token = token[0]
        yield server, tmp


def _failures(junit: Path) -> list[str]:
    """One line per failed or errored operation of a JUnit report."""
    lines = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        for outcome in case:
            if outcome.tag in ("failure", "error"):
                text = (outcome.get("message") or outcome.text or "").strip()
                lines.append(f"{case.get('name')}: {text[:1500]}")
    return lines


def test_schemathesis_finds_nothing_in_any_operation(live_api):
    server, tmp = live_api
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert cli, "schemathesis is not installed (requirements-dev.txt)"
    reports = tmp / "reports"
    junit = reports / "junit.xml"
    command = [
        cli, "--config-file", str(Path(__file__).with_name("schemathesis.toml")),
        "run", f"{server.url}/api/schema/?format=json",
        # Writes (POST, PUT, PATCH, DELETE) are fuzzed as an editor with every permission:
        # bodies in every phase, and the stateful phase chains a create to its reads and
        # writes (issue 11).
        "--header", f"Authorization: Token {server.token}",
        "--checks", "all",
        "--mode", "all",
        "--phases", "examples,coverage,fuzzing,stateful",
        "--max-examples", MAX_EXAMPLES,
        "--max-time", MAX_TIME,
        "--seed", SEED,
        # One worker: with two, Hypothesis' lambda descriptions race in CPython's AST parser
        # ("AST constructor recursion depth mismatch"), an error of the tool, not of the API.
        "--workers", "1",
        "--request-timeout", "30",
        "--continue-on-failure",
        "--report", "junit",
        "--report-junit-path", str(junit),
        "--output-truncate", "false",
        "--suppress-health-check", "too_slow,filter_too_much",
        "--warnings", "off",
    ]
    result = subprocess.run(command, cwd=tmp, capture_output=True, text=True,
                            timeout=int(MAX_TIME) + 300,
                            env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false",
                                 "HYPOTHESIS_STORAGE_DIRECTORY": str(tmp / "hypothesis")})
    summary = result.stdout[-6000:]
    failures = _failures(junit) if junit.exists() else []
    assert result.returncode == 0 and not failures, (
        "schemathesis found problems:\n" + "\n".join(failures[:30]) + "\n\n" + summary
        + result.stderr[-3000:]
    )
    generated = [line.strip() for line in result.stdout.splitlines() if "generated" in line]
    print("\nschemathesis:", "; ".join(generated[-1:]) or summary[-300:])
    # It did test the API: every operation of the schema appears in the report.
    cases = {c.get("name") for c in ET.parse(junit).getroot().iter("testcase")}
    schema = json.loads(srv.get(f"{server.url}/api/schema/?format=json")[2])
    operations = {f"{method.upper()} {path}" for path, ops in schema["paths"].items()
                  for method in ops}
    assert operations <= cases, operations - cases


# --- regression tests: one per kind of failure schemathesis has found ----------------------------
# They run in-process on the real seed (tests/conftest.py), so they do not depend on the fuzzer's
# luck or on a server.

def openapi(client) -> dict:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def json_schema(node):
    """An OpenAPI 3.0 schema as JSON Schema: ``nullable: true`` becomes a ``null`` type."""
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        else:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


def get_operations(schema: dict):
    """``(template, operation)`` for every public GET of the schema (an account's own webhooks
    need a login: tests/test_alerts.py reads them)."""
    for template, operations in schema["paths"].items():
        if "get" in operations and not template.startswith("/api/v1/webhooks/"):
            yield template, operations["get"]


def seed_paths() -> dict[str, list[str]]:
    """Real paths for each templated GET, chosen to include the rows that broke answers before:
    blank URLs, non-ASCII URLs, slugs with underscores."""
    from jurisdictions.models import Assessment, Event, Instrument, Source, StatusEvent

    blank_archive = Source.objects.filter(archived_url="").order_by("pk").first()
    non_ascii = next(s for s in Source.objects.order_by("pk") if not s.url.isascii())
    blank_official = Instrument.objects.filter(official_url="").order_by("pk").first()
    # A SlugField admits underscores and an editor may type one; the seed once had one.
    underscore_event = Event.objects.order_by("pk").first()
    if "_" not in underscore_event.slug:
        Event.objects.filter(pk=underscore_event.pk).update(
            slug=underscore_event.slug[:140] + "-transposition_deadline")
        underscore_event.refresh_from_db()
    return {
        "/api/v1/jurisdictions/{code}/": ["/api/v1/jurisdictions/kr/", "/api/v1/jurisdictions/EU/"],
        "/api/v1/jurisdictions/{code}/timeline/": ["/api/v1/jurisdictions/EU/timeline/",
                                                   "/api/v1/jurisdictions/US/timeline/"],
        "/api/v1/instruments/{slug}/": [f"/api/v1/instruments/{blank_official.slug}/",
                                        *[f"/api/v1/instruments/{i.slug}/" for i in
                                          Instrument.objects.order_by("?")[:3]]],
        "/api/v1/status-events/{id}/": [f"/api/v1/status-events/{StatusEvent.objects.first().pk}/"],
        "/api/v1/criteria/{slug}/": ["/api/v1/criteria/ai_generated_explicit/"],
        "/api/v1/assessments/{id}/": [f"/api/v1/assessments/{Assessment.objects.first().pk}/"],
        "/api/v1/sources/{id}/": [f"/api/v1/sources/{blank_archive.pk}/",
                                  f"/api/v1/sources/{non_ascii.pk}/"],
        "/api/v1/events/{slug}/": [f"/api/v1/events/{underscore_event.slug}/"],
        "/api/v1/compare/": ["/api/v1/compare/?bloc=EU", "/api/v1/compare/?jurisdictions=KR,US-CA"],
        "/api/v1/gaps/": ["/api/v1/gaps/?criterion=possession&bloc=EU"],
        "/api/v1/coverage-history/": ["/api/v1/coverage-history/?within=US&page_size=500"],
        "/api/v1/coverage-changes/": [
            "/api/v1/coverage-changes/?from=2020-01-01&to=2026-06-30&within=US"
        ],
    }


@pytest.mark.django_db
def test_every_answer_conforms_to_its_documented_schema(seeded, client):
    """ST108 (response violates schema): blank URL fields and non-ASCII source URLs against
    ``format: uri``; checked here with schemathesis' own validator, formats included."""
    import jsonschema_rs

    schema = openapi(client)
    components = json_schema(schema["components"])
    examples = seed_paths()
    problems = []
    for template, operation in get_operations(schema):
        documented = operation["responses"]["200"]["content"]["application/json"]["schema"]
        validator = jsonschema_rs.validator_for(
            {"components": components, **json_schema(documented)}, validate_formats=True)
        for path in examples.get(template, [f"{template}?page_size=500"]):
            response = client.get(path)
            assert response.status_code == 200, (path, response.content[:300])
            for error in validator.iter_errors(response.json()):
                problems.append(f"{path}: {error.message[:200]} at {list(error.instance_path)}")
    assert not problems, "\n".join(problems[:20])


@pytest.mark.django_db
def test_every_url_a_collection_answers_resolves(seeded, client):
    """A row's ``url`` is its detail address: events whose slugs hold underscores were listed
    with URLs that answered 404."""
    seed_paths()  # gives an event a slug with an underscore
    for collection in ("events", "criteria"):
        rows = client.get(f"/api/v1/{collection}/?page_size=500").json()["results"]
        for row in rows:
            response = client.get(row["url"])
            assert response.status_code == 200, row["url"]


@pytest.mark.django_db
def test_every_content_type_an_operation_answers_is_documented(seeded, client):
    """ST105: format=api answers HTML (the browsable API), errors included."""
    schema = openapi(client)
    examples = seed_paths()
    for template, operation in get_operations(schema):
        formats = next((p["schema"].get("enum", []) for p in operation.get("parameters", [])
                        if p["name"] == "format"), [])
        path = examples.get(template, [template])[0]
        sep = "&" if "?" in path else "?"
        for fmt in formats:
            response = client.get(f"{path}{sep}format={fmt}")
            ctype = response["Content-Type"].split(";")[0]
            assert ctype in operation["responses"][str(response.status_code)]["content"], (
                template, fmt, ctype)
            bad = client.get(f"{path}{sep}format={fmt}&no_such_parameter=1")
            assert bad.status_code == 400
            assert bad["Content-Type"].split(";")[0] in operation["responses"]["400"]["content"], (
                template, fmt)


@pytest.mark.django_db
def test_reading_is_documented_as_open_to_anonymous_clients(seeded, client):
    """ST401: every GET answered anonymously must say so (``{}`` among its security
    requirements), or schemathesis reads the schema as requiring a login."""
    schema = openapi(client)
    for template, operation in get_operations(schema):
        assert {} in operation.get("security", [{}]), template
    assert client.get("/api/v1/criteria/").status_code == 200


@pytest.mark.django_db
def test_the_documented_bounds_and_empty_values_are_the_answered_ones(seeded, client):
    """ST201/ST202: ``page``/``page_size`` start at 1; a parameter documented as allowing an
    empty value answers 200 when given one, any other optional parameter answers 400, and a
    required key refuses an empty value in the schema too."""
    schema = openapi(client)
    examples = seed_paths()
    for template, operation in get_operations(schema):
        path = examples.get(template, [template])[0]
        sep = "&" if "?" in path else "?"
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query":
                continue
            name = parameter["name"]
            if name in ("page", "page_size"):
                assert parameter["schema"].get("minimum") == 1, (template, name)
            if parameter.get("required"):
                assert parameter["schema"].get("minLength", 0) >= 1 or \
                    parameter.get("allowEmptyValue") is False, (template, name)
                continue
            if name in parse_qs(urlsplit(path).query):
                continue  # the example path already gives it
            response = client.get(f"{path}{sep}{name}=")
            if parameter.get("allowEmptyValue"):
                assert response.status_code == 200, (template, name, response.content[:200])
            else:
                assert response.status_code == 400, (template, name)


@pytest.mark.django_db
def test_a_write_body_that_is_not_json_answers_the_documented_400(seeded):
    """ST108 (issue 11, found fuzzing the writes with a token): a body that does not parse was
    answered DRF's ``{"detail": …}``, where every write documents ``{"errors": …}``."""
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(get_user_model().objects.create_superuser("st108", "s@e.org", "x"))
    schema = openapi(Client())
    for template, operations in schema["paths"].items():
        if "requestBody" not in operations.get("post", {}):
            continue  # no POST, or one without a body (a webhook's test ping)
        response = api.post(template, data=b"{not json", content_type="application/json")
        assert response.status_code == 400, template
        body = response.json()
        assert list(body["errors"]) == ["non_field_errors"], (template, body)
        assert "JSON parse error" in body["errors"]["non_field_errors"][0]
