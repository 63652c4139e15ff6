"""Hostile input (issue 7): each family of hostile values, sent in every query parameter of every
API endpoint and page, gets a 4xx or is stored and rendered harmlessly — never a 500.

- The endpoints come from the OpenAPI schema (every GET operation, path keys filled with real
  keys of the seed) and from the page URLs; the parameters of each come from the endpoint
  itself: the API lists them in its 400 body (``accepted_parameters``), a page on its 400 page.
- Families: NUL and other control characters (and a CRLF header-injection attempt), very long
  values (100 000 characters, and a comma list of 25 000 codes), non-UTF-8 percent-encoding
  (``%ff%fe``, overlong and truncated sequences, in values and in names), NaN, Infinity and huge
  integers, SQL metacharacters, HTML and template metacharacters.
- Harmless means: status below 500; JSON bodies parse; a 400 names the parameter; HTML shows
  no payload unescaped and no ``javascript:`` link; no header is injected.
- Writable URL fields (``Source.url``, ``Source.archived_url``, ``Instrument.official_url``)
  refuse ``javascript:``, ``data:`` and other non-http(s) URLs in the model, in the database
  (check constraints, for writes that skip validation), and in the admin forms; a valid URL
  carrying HTML metacharacters is stored and rendered escaped.
- Formula payloads (``=``, ``+``, ``-``, ``@``, tab, carriage return) in every free-text field
  reach every CSV export — API lists, timeline, compare, gaps, changes, the pages' downloads —
  and come out neutralised in every column.

Runs on the real seed (tests/conftest.py), so that real keys and real shapes are exercised.
"""

from __future__ import annotations

import csv
import datetime
import html
import io
import json
import re
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat
from django.test import Client
from django.urls import reverse

from jurisdictions.models import (
    Assessment,
    Criterion,
    Event,
    Identifier,
    Instrument,
    Jurisdiction,
    Source,
    StatusEvent,
)

pytestmark = pytest.mark.django_db

# --- the hostile families ------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'

FAMILIES: dict[str, list[str]] = {
    "control": ["\x00", "KR\x00", "a\x01\x1fb", "\x7f", "x\r\nX-Injected: 1", "\x1b[31m"],
    "long": ["x" * 100_000, "9" * 100_000, ",".join(["KR"] * 25_000)],
    "numbers": ["NaN", "Infinity", "-Infinity", "1e309", "9" * 40, "-9223372036854775809",
                "0", "-1", "1.5", "0x10", "1_000", "\u0663", "\u00b2"],
    "sql": ["' OR '1'='1", "1; DROP TABLE jurisdictions_jurisdiction;--", "%", "_", "\\",
            "KR') --", "%' AND 1=1 --"],
    "html": [SCRIPT, IMG, "javascript:alert(1)", "{{ 7|add:7 }}", "{% debug %}",
             "&lt;script&gt;"],
}
# Raw query strings: percent-encoded bytes that are not UTF-8 (decoded by Django with U+FFFD).
NON_UTF8 = ["%ff%fe", "%c0%af", "%ed%a0%80", "%e2%82", "KR%ff"]

# What a page must never contain, whatever it echoes.
UNESCAPED = [SCRIPT, "<img src=x onerror"]
JAVASCRIPT_LINK = re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.I)


# --- the real seed, plus rows carrying hostile text ----------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(1,1)", "\t=1+1",
            "\r=1+1", "==1+1"]


# A figure's name: PostgreSQL's jsonb orders keys (shortest first), so it is not always first.
FIGURE_PAYLOAD = "=cmd|' /C calc'!A0"


def _formula(i: int) -> str:
    return FORMULAS[i % len(FORMULAS)]


@pytest.fixture(scope="module")
def hostile_world(_seeded_module, django_db_blocker):
    """The seed, with formula payloads in every free-text field of every row and one
    instrument whose text and URLs carry HTML payloads. Rolled back with the seed."""
    with django_db_blocker.unblock():
        kr = Jurisdiction.objects.get(code="KR")
        instrument = Instrument.objects.filter(jurisdiction=kr).order_by("slug").first()
        text_fields = {
            Jurisdiction: ["name", "official_name", "common_name", "subdivision_type",
                           "research_notes"],
            Instrument: ["title", "original_title", "short_name", "citation", "summary",
                         "max_penalty", "notes", "original_language", "status_note"],
            Source: ["title", "publisher", "language"],
            StatusEvent: ["description", "date_note", "verification_note"],
            Assessment: ["pinpoint", "note", "verification_note"],
            Event: ["title", "summary", "notes"],
            Criterion: ["label", "question"],
            Identifier: ["value"],
        }
        for model, fields in text_fields.items():
            for n, name in enumerate(fields):
                limit = model._meta.get_field(name).max_length or 10_000
                if limit < 60:
                    model.objects.update(**{name: _formula(n)[:limit]})
                else:  # the row's id after the payload keeps unique fields unique
                    model.objects.update(**{name: Concat(
                        Value(_formula(n) + " "), Cast("pk", CharField()))})
        Event.objects.update(figures={FIGURE_PAYLOAD: 1, "arrests": 3})
        # One history record per model with the payloads, for /api/v1/changes/ and the feed.
        for model in text_fields:
            row = model.objects.order_by("pk").first()
            row._change_reason = _formula(3)
            row.save()
        # HTML payloads on one instrument and its first source, for the pages.
        Instrument.objects.filter(pk=instrument.pk).update(
            title=SCRIPT, short_name=IMG, summary=SCRIPT + IMG,
            official_url="https://example.org/law?a=1&b=" + quote(IMG) + '"onmouseover="x',
        )
        source = instrument.sources.order_by("pk").first()
        Source.objects.filter(pk=source.pk).update(
            title=SCRIPT, archived_url="https://archive.example/" + '"><script>x</script>'
        )
        yield {"instrument": instrument.slug, "source": source.pk}


# --- endpoints and their parameters --------------------------------------------------------------

def api_operations() -> list[str]:
    """Every GET path of the OpenAPI schema, its path keys filled with seed keys."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    keys = {
        "jurisdictions": {"code": "KR"},
        "instruments": {"slug": Instrument.objects.order_by("slug").values_list(
            "slug", flat=True).first()},
        "criteria": {"slug": "possession"},
        "events": {"slug": Event.objects.order_by("slug").values_list("slug", flat=True)
                   .first()},
        "status-events": {"id": StatusEvent.objects.order_by("pk").first().pk},
        "assessments": {"id": Assessment.objects.order_by("pk").first().pk},
        "sources": {"id": Source.objects.order_by("pk").first().pk},
        "webhooks": {"id": 1},  # an account's own: anonymous clients get a 401 whatever the id
    }
    paths = []
    for path, operations in schema["paths"].items():
        if "get" not in operations:
            continue
        collection = path.split("/")[3]
        for name, value in keys.get(collection, {}).items():
            path = path.replace("{%s}" % name, str(value))
        assert "{" not in path, path
        paths.append(path)
    return sorted(paths)


def page_paths(slug: str) -> list[str]:
    return [
        reverse("pages:home"),
        reverse("pages:compare"),
        reverse("pages:gaps"),
        reverse("pages:map"),
        reverse("pages:jurisdiction", kwargs={"code": "kr"}),
        reverse("pages:instrument", kwargs={"slug": slug}),
        reverse("changes-feed"),
        reverse("alerts:jurisdiction-feed", kwargs={"code": "kr"}),
        reverse("alerts:criterion-feed", kwargs={"slug": "possession"}),
        reverse("alerts:instrument-feed", kwargs={"slug": slug}),
        reverse("alerts:gaps-feed"),
        reverse("api:api-root"),
        reverse("healthz"),
    ]


def accepted_parameters(client: Client, path: str) -> list[str] | None:
    """The parameters an endpoint accepts, read from its 400 for an unknown parameter; None when
    it ignores unknown parameters (the health check, the feed)."""
    response = client.get(path, {"no_such_parameter": "1"})
    if response.status_code != 400:
        return None
    if response["Content-Type"].startswith("application/json"):
        return response.json()["accepted_parameters"]
    page = response.content.decode()
    listed = re.search(r"This page accepts:(.*?)</p>", page, re.S)
    assert listed, page[:2000]
    return re.findall(r"<code>([^<]+)</code>", listed.group(1))


# Valid values for the parameters some endpoints require, so that a hostile value in another
# parameter is judged on its own.
GOOD = {"criterion": "possession", "criteria": "possession", "jurisdictions": "KR,DE",
        "from": "2024-01-01"}


def required_base(client: Client, path: str) -> dict[str, str]:
    base: dict[str, str] = {}
    response = client.get(path)
    if response.status_code == 400 and response["Content-Type"].startswith("application/json"):
        for name in response.json()["errors"]:
            base[name] = GOOD[name]
    elif response.status_code == 400:
        for name in GOOD:
            if f"<code>{name}</code>" in response.content.decode().split("This page accepts")[0]:
                base[name] = GOOD[name]
    return base


@pytest.fixture(scope="module")
def endpoints(hostile_world, django_db_blocker) -> dict[str, tuple[list[str], dict[str, str]]]:
    """``{path: (accepted parameters, base parameters)}`` for every API operation and page."""
    with django_db_blocker.unblock():
        client = Client(raise_request_exception=False)
        found = {}
        for path in [*api_operations(), *page_paths(hostile_world["instrument"])]:
            params = accepted_parameters(client, path)
            base = required_base(client, path) if params else {}
            if params and "page_size" in params:
                base["page_size"] = "1"  # hostile values are the point, not rows
            found[path] = (params or [], base)
        return found


@pytest.fixture
def client():
    """A test client that answers a server error as a 500 response instead of raising it, so
    that every hostile request is judged and the failures are listed together."""
    return Client(raise_request_exception=False)


# --- judging one answer --------------------------------------------------------------------------

def harm(response, param: str | None) -> str | None:
    """What is wrong with this answer to a hostile request, or None."""
    status = response.status_code
    if status >= 500:
        return f"HTTP {status}"
    if "X-Injected" in response:
        return "header injected"
    ctype = response.get("Content-Type", "")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if ctype.startswith("application/json"):
        try:
            data = json.loads(body)
        except ValueError:
            return "JSON body does not parse"
        if status == 400 and param and "errors" in data and param not in data["errors"]:
            return f"400 does not name {param}: {list(data['errors'])}"
    if ctype.startswith(("text/html", "application/atom+xml", "application/xml")):
        text = body.decode("utf-8", "replace")
        for bad in UNESCAPED:
            if bad in text:
                return f"unescaped {bad!r} in the page"
        if JAVASCRIPT_LINK.search(text):
            return "javascript: link in the page"
        if "\x00" in text:
            return "NUL in the page"
        if status == 400 and param and ctype.startswith("text/html") and \
                html.escape(param) not in text:
            return f"400 page does not name {param}"
    return None


def send(client: Client, path: str, params: dict[str, str]):
    return client.get(path, params)


# --- the families across every parameter ---------------------------------------------------------

def test_every_operation_and_page_is_reached(endpoints):
    api = [p for p in endpoints if p.startswith("/api/v1/")]
    assert len(api) >= 18  # every collection, detail, timeline, compare, gaps, changes, root
    with_params = [p for p, (params, _) in endpoints.items() if params]
    assert len(with_params) >= 24
    # Every schema parameter is one the endpoint accepts, and the other way round.
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    for template, operations in schema["paths"].items():
        # POST-only operations (a digest sign-up, a ping) take no query; an account's own
        # webhooks answer an anonymous client 401 before reading one (tests/test_alerts.py
        # checks their parameters with an account).
        if "get" not in operations or template.startswith("/api/v1/webhooks/"):
            continue
        declared = {p["name"] for p in operations["get"].get("parameters", [])
                    if p["in"] == "query"}
        path = next(p for p in api if re.fullmatch(
            re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)), p))
        assert declared == set(endpoints[path][0]), template


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_hostile_values_in_every_parameter(client, endpoints, family):
    problems = []
    count = 0
    for path, (params, base) in endpoints.items():
        for param in params or ["no_such_parameter"]:
            for value in FAMILIES[family]:
                response = send(client, path, {**base, param: value})
                count += 1
                wrong = harm(response, param if params else None)
                if wrong:
                    problems.append(f"{path}?{param}={value[:40]!r}: {wrong}")
    assert count > 500
    assert not problems, "\n".join(problems[:40])


def test_non_utf8_percent_encoding_in_every_parameter_and_name(client, endpoints):
    problems = []
    for path, (params, base) in endpoints.items():
        base_query = "&".join(f"{k}={quote(v, safe=',')}" for k, v in base.items())
        for param in params or ["no_such_parameter"]:
            for raw in NON_UTF8:
                query = "&".join(q for q in (base_query, f"{param}={raw}") if q)
                response = client.get(path, QUERY_STRING=query)
                wrong = harm(response, param if params else None)
                if wrong:
                    problems.append(f"{path}?{query}: {wrong}")
        # The parameter's name itself.
        response = client.get(path, QUERY_STRING="%ff%fe=1")
        if response.status_code >= 500 or (params and response.status_code != 400):
            problems.append(f"{path}?%ff%fe=1: HTTP {response.status_code}")
    assert not problems, "\n".join(problems[:40])


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_hostile_path_keys_are_404(client, family):
    problems = []
    for prefix in ("/api/v1/jurisdictions/", "/api/v1/instruments/", "/api/v1/criteria/",
                   "/api/v1/events/", "/api/v1/sources/", "/api/v1/assessments/",
                   "/api/v1/status-events/", "/jurisdictions/", "/instruments/"):
        for value in FAMILIES[family]:
            for suffix in ("/", "/timeline/") if prefix == "/api/v1/jurisdictions/" else ("/",):
                path = prefix + quote(value[:5000], safe="") + suffix
                response = client.get(path)
                if response.status_code not in (400, 404) or harm(response, None):
                    problems.append(f"{path[:80]}: {response.status_code} "
                                    f"{harm(response, None)}")
    assert not problems, "\n".join(problems[:40])


def test_non_utf8_path_keys_are_404(client):
    for path in ("/api/v1/jurisdictions/%ff%fe/", "/jurisdictions/%c0%af/",
                 "/instruments/%ed%a0%80/", "/api/v1/events/%e2%82/"):
        response = client.get(path)
        assert response.status_code == 404, path


def test_hostile_values_through_the_browsable_api_are_escaped(client, endpoints):
    """The browsable API (format=api) echoes requests and 400 bodies in HTML."""
    problems = []
    for path, (params, base) in endpoints.items():
        if not path.startswith("/api/v1/") or "format" not in params:
            continue
        for param in params:
            if param == "format":
                continue
            for value in (SCRIPT, IMG):
                response = client.get(path, {**base, "format": "api", param: value})
                wrong = harm(response, None)
                if wrong:
                    problems.append(f"{path}?{param}=…: {wrong}")
    assert not problems, "\n".join(problems[:40])


# --- stored hostile text is rendered harmlessly ---------------------------------------------------

def test_stored_html_is_escaped_on_every_page_and_in_the_feed(client, hostile_world):
    slug = hostile_world["instrument"]
    pages = [
        f"/instruments/{slug}/", "/jurisdictions/kr/", "/", "/compare/?jurisdictions=KR",
        "/gaps/?criterion=possession", "/map/?criterion=possession", "/feeds/changes/",
        f"/api/v1/instruments/{slug}/?format=api", "/api/v1/jurisdictions/kr/timeline/?format=api",
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert harm(response, None) is None, path
    page = client.get(f"/instruments/{slug}/").content.decode()
    assert html.escape(SCRIPT) in page  # shown, as text
    # The official URL is a link whose quotes cannot close the attribute.
    assert 'onmouseover="x' not in page
    assert '"><script>x</script>' not in page


def test_json_ld_cannot_close_its_script_element(client, hostile_world):
    page = client.get(f"/instruments/{hostile_world['instrument']}/").content.decode()
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert block
    data = json.loads(block.group(1))
    assert data["name"] == SCRIPT  # the same text, escaped as \u003c inside the script
    assert "<" not in block.group(1)


# --- writable URL fields ----------------------------------------------------------------------------

BAD_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "//evil.example/x",
    "ftp://example.org/x",
    "https:alert(1)",
]
URL_FIELDS = [(Source, "url"), (Source, "archived_url"), (Instrument, "official_url")]


@pytest.mark.parametrize("model,field", URL_FIELDS, ids=lambda v: getattr(v, "__name__", v))
def test_model_validation_refuses_non_http_urls(hostile_world, model, field):
    row = model.objects.order_by("pk").first()
    for bad in BAD_URLS:
        setattr(row, field, bad)
        with pytest.raises(ValidationError) as caught:
            row.full_clean()
        assert field in caught.value.message_dict, bad


@pytest.mark.parametrize("model,field", URL_FIELDS, ids=lambda v: getattr(v, "__name__", v))
def test_the_database_refuses_non_http_urls_that_skip_validation(hostile_world, model, field):
    row = model.objects.order_by("pk").first()
    for bad in BAD_URLS:
        with pytest.raises(IntegrityError), transaction.atomic():
            model.objects.filter(pk=row.pk).update(**{field: bad})


@pytest.fixture
def admin_client(hostile_world):
    user = get_user_model().objects.create_superuser("hostile-admin", "h@example.org", "x")
    client = Client()
    client.force_login(user)
    return client


def _admin_form(model, obj):
    from django.contrib import admin
    from django.test import RequestFactory

    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/")
    request.user = get_user_model().objects.get(username="hostile-admin")
    return model_admin.get_form(request, obj)


def _initial(form_class, obj) -> dict:
    from django.forms.models import model_to_dict

    data = {}
    for name, value in model_to_dict(obj, fields=list(form_class.base_fields)).items():
        if value is None:
            continue
        if isinstance(value, list):
            data[name] = [getattr(v, "pk", v) for v in value]
        else:
            data[name] = value
    if "base_version" in form_class.base_fields:  # the editorial lost-update guard
        data["base_version"] = obj.version
    return data


@pytest.mark.parametrize("model,field", URL_FIELDS, ids=lambda v: getattr(v, "__name__", v))
def test_admin_forms_refuse_non_http_urls(admin_client, model, field):
    obj = model.objects.order_by("pk").first()
    form_class = _admin_form(model, obj)
    assert field in form_class.base_fields
    for bad in BAD_URLS:
        form = form_class(data={**_initial(form_class, obj), field: bad}, instance=obj)
        if form.is_valid():
            # Django's URL form field completes a scheme-relative URL with https:; what is
            # stored is then an https URL.
            assert re.match(r"^https?://", form.cleaned_data[field]), (bad, form.cleaned_data)
            assert bad.startswith("//"), bad
        else:
            assert field in form.errors, (bad, form.errors)


def test_admin_add_source_with_a_javascript_url_creates_nothing(admin_client):
    before = Source.objects.count()
    response = admin_client.post(reverse("admin:jurisdictions_source_add"), {
        "url": "javascript:alert(1)", "title": "x", "kind": "official",
        "published_precision": "day",
        "archived_url": "data:text/html,<script>alert(1)</script>",
    })
    assert response.status_code == 200  # the form again, with its errors
    assert Source.objects.count() == before
    page = response.content.decode()
    assert 'id="id_url_error"' in page and 'id="id_archived_url_error"' in page
    assert harm(response, None) is None  # the refused value is shown escaped


# --- formula payloads in every exported column ---------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What a column holds when no free text reaches it: dates, numbers, booleans, slugs and codes,
# http(s) URLs, lists of those.
STRUCTURED = re.compile(
    r"^(|true|false|-?\d+(\.\d+)?|\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?"
    r"|[A-Za-z0-9_.:-]+|https?://\S+|[a-z_]+=\d+)$"
)


# Names from reference data that no editor can change (UN M49 regions, country_converter).
# Columns of names and keys (a history row's natural key holds an identifier's value as stored
# when the row was written, before the payloads).
REFERENCE_COLUMNS = {"region", "subregion", "intermediate_region", "key"}


def _cells(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode("utf-8")
    assert text.startswith("\ufeff"), text[:80]
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


def csv_exports(slug: str) -> list[str]:
    api = [f"/api/v1/{name}/?format=csv" for name in (
        "jurisdictions", "instruments", "status-events", "criteria", "assessments", "sources",
        "events")]
    return [
        *api,
        "/api/v1/jurisdictions/EU/timeline/?format=csv",
        "/api/v1/jurisdictions/KR/timeline/?format=csv",
        "/api/v1/compare/?jurisdictions=KR,DE,US-CA,EU&format=csv",
        "/api/v1/gaps/?criterion=possession&format=csv",
        "/api/v1/changes/?format=csv&page_size=500",
        "/?format=csv",
        "/compare/?jurisdictions=KR,DE,US-CA&format=csv",
        "/gaps/?criterion=possession&format=csv",
        "/map/?criterion=possession&format=csv",
        *[f"/jurisdictions/kr/?table={t}&format=csv" for t in ("coverage", "instruments",
                                                              "timeline")],
        *[f"/instruments/{slug}/?table={t}&format=csv" for t in ("status", "assessments",
                                                                 "sources")],
    ]


def test_formula_payloads_are_neutralised_in_every_exported_column(client, hostile_world):
    problems = []
    reached = 0
    for path in csv_exports(hostile_world["instrument"]):
        response = client.get(path)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/csv"):
            problems.append(f"{path}: {response.status_code} {response['Content-Type']}")
            continue
        rows = _cells(response)
        if not rows:
            problems.append(f"{path}: no rows")
            continue
        for column in rows[0]:
            values = [row[column] for row in rows]
            dangerous = [v for v in values if v.startswith(FORMULA_STARTS)]
            if dangerous:
                problems.append(f"{path} {column}: formula {dangerous[0]!r}")
            carried = [v for v in values if v.startswith("'") or
                       any(p.strip() in v for p in [*FORMULAS, FIGURE_PAYLOAD])]
            reached += bool(carried)
            # A column no payload reached must hold structured values or reference names
            # only: otherwise free text reached it some other way, untested.
            if not carried and column not in REFERENCE_COLUMNS:
                loose = [v for v in values if not all(
                    STRUCTURED.match(part) for part in re.split(r"; | ", v))]
                if loose:
                    problems.append(f"{path} {column}: free text without a payload: "
                                    f"{loose[0][:60]!r}")
    assert reached >= 40
    assert not problems, "\n".join(problems[:40])


# --- regression tests: one per bug these families found -----------------------------------------

def test_a_page_of_thousands_of_digits_is_a_400_not_a_500(client, hostile_world):
    """Python refuses to convert more than 4300 digits: the length is checked first."""
    for name in ("page", "page_size"):
        response = client.get("/api/v1/criteria/", {name: "9" * 5000})
        assert response.status_code == 400
        assert response.json()["errors"][name] == [f"{name} is too large; got '{'9' * 40}'."]
    response = client.get("/api/v1/criteria/", {"page": "0" * 5000 + "1"})
    assert response.status_code == 200  # leading zeros are still page 1


def test_a_search_of_100k_characters_is_a_400_not_a_database_outage(client, hostile_world):
    """SQLite refuses LIKE patterns over 50 000 bytes: that was answered as a 503 outage."""
    response = client.get("/api/v1/sources/", {"search": "x" * 100_000})
    assert response.status_code == 400
    assert response.json()["errors"]["search"] == ["Longer than 10000 characters."]
    assert client.get("/api/v1/sources/", {"search": "x" * 10_000}).status_code == 200


def test_csv_ignores_pages_but_still_refuses_malformed_ones(client, hostile_world):
    for name, value in (("page_size", "false"), ("page", "0")):
        response = client.get("/api/v1/criteria/", {"format": "csv", name: value})
        assert response.status_code == 400, name
        assert response["Content-Type"] == "application/json"
        assert name in response.json()["errors"]
    assert client.get("/api/v1/criteria/", {"format": "csv", "page_size": "5"}).status_code == 200


def test_an_undeclared_method_is_405_whatever_its_query(client, hostile_world):
    response = client.generic("TRACE", "/api/v1/criteria/?ordering=-label&no_such_parameter=1")
    assert response.status_code == 405


def test_formula_payloads_are_neutralised_in_the_admin_spreadsheet_exports(hostile_world):
    """The editors' CSV exports (django-import-export), written by the admin's export action."""
    from import_export.formats import base_formats

    from jurisdictions import resources

    exports = [resources.SourceResource, resources.InstrumentResource,
               resources.StatusEventResource, resources.AssessmentResource]
    carried = 0
    for resource in exports:
        text = base_formats.CSV().export_data(resource().export())
        rows = list(csv.reader(io.StringIO(text, newline="")))
        assert len(rows) > 1, resource
        for row in rows[1:]:
            for cell in row:
                assert not cell.startswith(FORMULA_STARTS), (resource.__name__, cell)
                carried += cell.startswith("'")
    assert carried > 100


@pytest.fixture
def editor_api(hostile_world):
    """An API client logged in as a superuser (every write permission)."""
    from rest_framework.test import APIClient

    user = get_user_model().objects.create_superuser("hostile-editor", "e@example.org", "x")
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_api_writes_refuse_non_http_urls_in_every_url_field(editor_api, hostile_world):
    source = Source.objects.get(pk=hostile_world["source"])
    instrument = Instrument.objects.get(slug=hostile_world["instrument"])
    targets = [
        (f"/api/v1/sources/{source.pk}/", "url", source),
        (f"/api/v1/sources/{source.pk}/", "archived_url", source),
        (f"/api/v1/instruments/{instrument.slug}/", "official_url", instrument),
    ]
    for path, field, row in targets:
        before = getattr(type(row).objects.get(pk=row.pk), field)
        for bad in BAD_URLS:
            etag = editor_api.get(path)["ETag"]
            response = editor_api.patch(path, {field: bad}, format="json", HTTP_IF_MATCH=etag)
            assert response.status_code == 400, (field, bad, response.content[:300])
            assert field in response.json()["errors"], (field, bad)
        assert getattr(type(row).objects.get(pk=row.pk), field) == before
    count = Source.objects.count()
    for bad in BAD_URLS:
        response = editor_api.post("/api/v1/sources/", {"url": bad, "title": "x",
                                                        "kind": "official"}, format="json")
        assert response.status_code == 400, (bad, response.content[:300])
        assert "url" in response.json()["errors"]
    assert Source.objects.count() == count


def test_api_404s_are_json_under_api(client):
    """Keys the URL patterns refuse (a control character, a slash) still get the API's shape."""
    for path in ("/api/v1/criteria/%00/", "/api/v1/jurisdictions/a%2Fb/timeline/",
                 "/api/v1/no-such-collection/"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"detail": "Not found."}, path
    assert client.get("/no-such-page/")["Content-Type"].startswith("text/html")
