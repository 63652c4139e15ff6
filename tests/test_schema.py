"""The OpenAPI 3 schema (/api/schema/) and the interactive docs (/api/docs/): both served
without any outside host, every parameter and answer described."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from jurisdictions import filtersets
from jurisdictions.api import analysis
from jurisdictions.api.views import ROUTES

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    response = client.get(reverse("schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return json.loads(response.content)


@pytest.fixture
def static_files(settings):
    # With DEBUG off the settings pick the manifest storage, which needs collectstatic; the
    # plain storage serves the same files from the apps (WHITENOISE_USE_FINDERS).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def operation(schema, path, method="get"):
    return schema["paths"][path][method]


def parameters(schema, path):
    return {p["name"]: p for p in operation(schema, path).get("parameters", [])}


def test_the_schema_is_openapi_3_and_answers_yaml_by_default(client, schema):
    assert schema["openapi"].startswith("3.")
    response = client.get(reverse("schema"))
    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.")


def test_every_parameter_and_answer_is_described(schema):
    undescribed = []
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            for parameter in op.get("parameters", []):
                if not parameter.get("description") or "type" not in parameter["schema"]:
                    undescribed.append((path, parameter["name"]))
            for code, answer in op["responses"].items():
                if not answer.get("description"):
                    undescribed.append((path, code))
    assert undescribed == []


@pytest.mark.parametrize("prefix,viewset,basename", ROUTES)
def test_every_filter_is_in_the_schema(schema, prefix, viewset, basename):
    documented = parameters(schema, f"/api/v1/{prefix}/")
    expected = {*viewset.filterset_class.parameter_names(), "page", "page_size", "format"}
    assert expected <= set(documented)
    assert set(documented) <= expected
    assert set(documented["format"]["schema"]["enum"]) == {"json", "api", "csv"}


def test_filters_carry_types_and_enums(schema):
    instruments = parameters(schema, "/api/v1/instruments/")
    assert instruments["status"]["schema"]["type"] == "array"
    assert "in_force" in instruments["status"]["schema"]["items"]["enum"]
    assert instruments["status"]["explode"] is False
    assert instruments["legal_force"]["schema"]["items"]["enum"] == [
        "InForce", "NotInForce", "PartiallyInForce"
    ]
    assert instruments["as_of"]["schema"] == {"type": "string", "format": "date"}
    assert instruments["introduced_after"]["schema"]["format"] == "date"
    assert "-title" in instruments["ordering"]["schema"]["items"]["enum"]
    jurisdictions = parameters(schema, "/api/v1/jurisdictions/")
    assert "eastern-asia" in jurisdictions["region"]["schema"]["items"]["enum"]
    assert jurisdictions["scope"]["schema"]["enum"] == ["applicable", "own"]
    criteria = parameters(schema, "/api/v1/criteria/")
    assert criteria["retired"]["schema"]["type"] == "boolean"
    page_size = parameters(schema, "/api/v1/criteria/")["page_size"]
    assert page_size["schema"]["type"] == "integer" and "500" in page_size["description"]


def test_analysis_endpoints_document_their_parameters(schema):
    for path, view in (("/api/v1/compare/", analysis.CompareView),
                       ("/api/v1/gaps/", analysis.GapsView),
                       ("/api/v1/changes/", analysis.ChangesView)):
        documented = parameters(schema, path)
        assert {*view.params_form.base_fields, "format"} == set(documented), path
    assert parameters(schema, "/api/v1/gaps/")["criterion"]["required"] is True
    assert parameters(schema, "/api/v1/gaps/")["scope"]["schema"]["enum"] == [
        "applicable", "own"
    ]
    timeline = parameters(schema, "/api/v1/jurisdictions/{code}/timeline/")
    assert set(timeline) == {"code", "as_of", "format"}


def test_answers_are_described_with_their_shapes(schema):
    components = schema["components"]["schemas"]
    comparison = components["Comparison"]["properties"]
    assert {"as_of", "criteria", "rows", "permalink"} <= set(comparison)
    cell = components["Cell"]["properties"]
    assert {"value", "approximate", "instruments", "pending", "bloc_obligations"} <= set(cell)
    value = components[cell["value"]["$ref"].rsplit("/", 1)[1]]
    assert set(value["enum"]) == {
        "yes", "partial", "unclear", "no", "none", "not_researched"
    }
    gaps = components["Gaps"]["properties"]
    assert {"as_of", "criterion", "counts", "groups", "pending"} <= set(gaps)
    assert set(components["GapGroups"]["properties"]) == {
        "none", "no", "unclear", "partial", "not_researched"
    }
    instruments = operation(schema, "/api/v1/instruments/")["responses"]["200"]["content"]
    # text/html: format=api, the browsable API (schema.public_reads).
    assert set(instruments) == {"application/json", "text/csv", "text/html"}
    page = components["PaginatedInstrumentList"]["properties"]
    assert {"count", "next", "previous", "results"} <= set(page)
    instrument = components["Instrument"]["properties"]
    assert {"status", "legal_force", "key_dates", "identifiers", "assessments",
            "sources"} <= set(instrument)
    errors = operation(schema, "/api/v1/compare/")["responses"]["400"]["content"]
    assert errors["application/json"]["schema"]["$ref"].endswith("/BadRequest")


OUTSIDE = re.compile(r"""(?:src|href)\s*=\s*["']?((?:https?:)?//[^"'\s>]+)""", re.I)
ANY_URL = re.compile(r"""https?://[^\s"'<>)]+""", re.I)


def test_the_docs_load_nothing_from_another_host(client, static_files):
    response = client.get(reverse("api-docs"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger" in html.lower()
    assert OUTSIDE.findall(html) == []
    # Any absolute URL in the page (inline script included) is this server's own.
    assert all(url.startswith("http://testserver/") for url in ANY_URL.findall(html)), (
        ANY_URL.findall(html)
    )
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert any(a.startswith("/static/drf_spectacular_sidecar/") for a in assets), assets
    assert all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200, asset
        body = b"".join(served.streaming_content) if served.streaming else served.content
        assert body


def test_the_schema_is_served_without_network_and_names_the_api(client, schema):
    assert schema["info"]["title"] == "lawtracker API"
    assert "/api/v1/compare/" in schema["paths"]
    assert "/api/v1/jurisdictions/{code}/timeline/" in schema["paths"]


def test_every_filterset_is_reached_by_a_route():
    assert {v.filterset_class for _, v, _ in ROUTES} == set(filtersets.FILTERSETS)


def test_every_operation_documents_429_and_503(schema):
    operations = [op for ops in schema["paths"].values() for m, op in ops.items()
                  if m in ("get", "post", "put", "patch", "delete")]
    assert operations
    for operation in operations:
        for status in ("429", "503"):
            answer = operation["responses"][status]
            assert "Retry-After" in answer["headers"], operation["operationId"]
            assert "application/json" in answer["content"]
