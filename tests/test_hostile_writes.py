"""Hostile writes (issue 11): every path that writes or renders stored text, every admin URL
with an object id and every admin list filter, on SQLite and PostgreSQL.

- The text policy (jurisdictions/text.py): a control character in any writable text, key or
  JSON field of any API endpoint (the fields come from the write serializers), any admin form's
  text field (from ``admin.site._registry``), any import cell, any change reason, is a 400 or a
  form error naming the field, and nothing is written.
- Rendering: a control character already stored in every text column of every row (written
  past validation, as an old row or a raw script would have) breaks no feed, page or export.
- Admin: every URL with an object id or a history record id of every registered admin is a 404
  for a malformed id; every list filter and the search refuse or ignore hostile values.
- Duplicates in to-many lists, numeric limits (model, serializer and schema agree), malformed
  ``page`` in every format, import files missing a column, leading apostrophes.
"""

from __future__ import annotations

import csv
import io
import json
import xml.dom.minidom

import openpyxl
import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import models
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat
from django.test import Client, RequestFactory
from django.urls import URLPattern, reverse
from rest_framework import serializers
from rest_framework.test import APIClient

from jurisdictions import text
from jurisdictions.api.views import ROUTES
from jurisdictions.api.writes import WRITE_SERIALIZERS
from jurisdictions.models import (
    Assessment,
    Criterion,
    Event,
    Instrument,
    Jurisdiction,
    Source,
    StatusEvent,
    TrackedModel,
)
from tests.atom import assert_valid_atom

pytestmark = pytest.mark.django_db

# Refused everywhere; the last three only in a single line of text.
CONTROL = ["\x00", "a\x01b", "x\x1f", "\x7f", "KR\x00"]
SINGLE_LINE_ONLY = ["two\nlines", "a\tb", "a\rb"]


# --- where the paths come from ----------------------------------------------------------------

def detail_basename(model) -> str:
    return next(basename for _, viewset, basename in ROUTES if viewset.queryset.model is model)


def write_fields() -> list[tuple]:
    """``(model, field name, kind)`` for every writable field of every write serializer; kind
    is ``text`` (a string), ``key`` (a relation by public key), ``keys`` (a list of them) or
    ``json``."""
    found = []
    for model, serializer_class in WRITE_SERIALIZERS.items():
        for name, field in serializer_class().fields.items():
            if field.read_only:
                continue
            if isinstance(field, serializers.ManyRelatedField):
                kind = "keys"
            elif isinstance(field, serializers.RelatedField):
                kind = "key"
            elif isinstance(field, serializers.JSONField):
                kind = "json"
            elif isinstance(field, (serializers.CharField, serializers.ChoiceField)):
                kind = "text"
            else:
                continue
            found.append((model, name, kind))
    return found


WRITE_FIELDS = write_fields()
MANY_FIELDS = [(m, n) for m, n, kind in WRITE_FIELDS if kind == "keys"]


def _id(value):
    return getattr(value, "__name__", value)


@pytest.fixture(scope="module")
def world(_seeded_module, django_db_blocker):
    """One row of each written model from the seed, by its API path."""
    with django_db_blocker.unblock():
        instrument = Instrument.objects.filter(jurisdiction__code="KR", sources__isnull=False) \
            .order_by("slug").first()
        rows = {
            Jurisdiction: Jurisdiction.objects.get(code="KR"),
            Instrument: instrument,
            Source: instrument.sources.order_by("pk").first(),
            StatusEvent: instrument.status_events.order_by("pk").first(),
            Criterion: Criterion.objects.order_by("position").first(),
            Assessment: Assessment.objects.filter(instrument=instrument).order_by("pk").first(),
            Event: Event.objects.order_by("pk").first(),
        }
        assert all(rows.values()), rows
        return rows


def detail_path(row) -> str:
    lookup = {"jurisdiction": "code", "instrument": "slug", "criterion": "slug",
              "event": "slug"}.get(detail_basename(type(row)), "pk")
    return reverse(f"api:{detail_basename(type(row))}-detail",
                   kwargs={lookup: getattr(row, lookup)})


@pytest.fixture
def editor_api(world):
    user = get_user_model().objects.create_superuser("writes-editor", "w@example.org", "x")
    api = APIClient()
    api.force_authenticate(user)
    return api


def patch(api, row, body, **headers):
    path = detail_path(row)
    etag = api.get(path)["ETag"]
    return api.patch(path, body, format="json", HTTP_IF_MATCH=etag, **headers)


def hostile_body(kind: str, value: str):
    if kind == "keys":
        return [value]
    if kind == "json":
        return {value: 1}
    return value


# --- 1. the text policy, on every path ----------------------------------------------------------

def test_the_write_fields_are_all_found():
    names = {(m.__name__, n) for m, n, _ in WRITE_FIELDS}
    assert {("Instrument", "title"), ("Instrument", "jurisdiction"), ("Instrument", "sources"),
            ("Event", "figures"), ("Event", "jurisdictions"), ("Jurisdiction", "parent"),
            ("Assessment", "criterion"), ("Source", "url")} <= names
    assert len(WRITE_FIELDS) > 55


@pytest.mark.parametrize("model,name,kind", WRITE_FIELDS, ids=_id)
def test_api_writes_refuse_control_characters_in_every_field(editor_api, world, model, name,
                                                             kind):
    row = world[model]
    before = model.objects.filter(pk=row.pk).values().get()
    multiline = kind == "text" and text.is_multiline(model._meta.get_field(name))
    payloads = CONTROL + ([] if multiline else SINGLE_LINE_ONLY)
    for value in payloads:
        response = patch(editor_api, row, {name: hostile_body(kind, value)})
        assert response.status_code == 400, (name, value, response.content[:300])
        errors = response.json()["errors"]
        assert list(errors) == [name], (value, errors)
    assert model.objects.filter(pk=row.pk).values().get() == before


@pytest.mark.parametrize("model", list(WRITE_SERIALIZERS), ids=_id)
def test_api_creates_refuse_control_characters_before_any_lookup(editor_api, world, model):
    """Every field at once, with NUL: PostgreSQL would refuse any lookup of it with a 500."""
    fields = [(n, kind) for m, n, kind in WRITE_FIELDS if m is model]
    body = {name: hostile_body(kind, "KR\x00") for name, kind in fields}
    count = model.objects.count()
    response = editor_api.post(reverse(f"api:{detail_basename(model)}-list"), body,
                               format="json")
    assert response.status_code == 400, response.content[:300]
    assert set(response.json()["errors"]) == {name for name, _ in fields}
    assert model.objects.count() == count


def test_multi_line_text_keeps_tabs_and_line_breaks(editor_api, world):
    response = patch(editor_api, world[Instrument], {"notes": "first line\n\tsecond\r\nthird"})
    assert response.status_code == 200, response.content[:300]
    assert Instrument.objects.get(pk=world[Instrument].pk).notes == \
        "first line\n\tsecond\r\nthird"


def test_a_change_reason_with_a_control_character_is_refused(editor_api, world):
    response = patch(editor_api, world[Criterion], {"label": "x"},
                     HTTP_X_CHANGE_REASON="why\x01")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["X-Change-Reason"]


def admin_text_fields() -> list[tuple]:
    """``(model, field)`` for every editable free-text column of every registered admin of
    the legal data (whether its form shows it is checked by the test)."""
    return [
        (model, f.name)
        for model in admin.site._registry if issubclass(model, TrackedModel)
        for f in text.text_fields(model)
        if f.editable and not f.choices and not isinstance(f, models.JSONField)
    ]


@pytest.fixture
def superuser(world):
    return get_user_model().objects.create_superuser("writes-admin", "a@example.org", "x")


def admin_form(model, obj, user):
    request = RequestFactory().get("/")
    request.user = user
    return admin.site._registry[model].get_form(request, obj)


def form_data(form_class, obj) -> dict:
    from django.forms.models import model_to_dict

    data = {}
    for name, value in model_to_dict(obj, fields=list(form_class.base_fields)).items():
        if value is None:
            continue
        if isinstance(value, list):
            value = [getattr(v, "pk", v) for v in value]
        elif isinstance(value, dict):  # a JSON field's form takes text
            value = json.dumps(value)
        data[name] = value
    data["base_version"] = obj.version
    return data


@pytest.mark.parametrize("model,name", admin_text_fields(), ids=_id)
def test_admin_forms_refuse_control_characters_in_every_text_field(superuser, world, model,
                                                                   name):
    obj = model.objects.order_by("pk").first()
    if obj is None:
        pytest.skip(f"no {model.__name__} in the seed")
    form_class = admin_form(model, obj, superuser)
    if name not in form_class.base_fields:
        # Not editable once the row exists (a stable slug): nothing to refuse on this form.
        request = RequestFactory().get("/")
        request.user = superuser
        assert name in admin.site._registry[model].get_readonly_fields(request, obj), name
        return
    multiline = text.is_multiline(model._meta.get_field(name))
    for value in CONTROL + ([] if multiline else SINGLE_LINE_ONLY):
        form = form_class(data={**form_data(form_class, obj), name: value}, instance=obj)
        if form.is_valid():
            # The form strips surrounding whitespace first (Python counts U+001C–U+001F as
            # whitespace): what would be stored holds no control character.
            assert not text.CONTROL.search(form.cleaned_data[name]), (name, value)
            assert value.strip() != value, (name, value)
        else:
            assert name in form.errors, (value, form.errors)


def test_the_admin_change_reason_refuses_control_characters(superuser, world):
    obj = world[Criterion]
    form_class = admin_form(Criterion, obj, superuser)
    form = form_class(data={**form_data(form_class, obj), "change_reason": "a\x00"},
                      instance=obj)
    assert not form.is_valid() and "change_reason" in form.errors


def test_saving_from_a_script_refuses_control_characters(world):
    source = Source.objects.get(pk=world[Source].pk)
    source.title = "broken\x00"
    with pytest.raises(ValidationError) as caught:
        source.save()
    assert list(caught.value.message_dict) == ["title"]
    assert Source.objects.get(pk=source.pk).title != "broken\x00"


# --- imports ---------------------------------------------------------------------------------

@pytest.fixture
def importer(client, superuser):
    client.force_login(superuser)
    return client


def csv_upload(rows: list[dict], name="file.csv") -> SimpleUploadedFile:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return SimpleUploadedFile(name, out.getvalue().encode("utf-8"), content_type="text/csv")


def xlsx_upload(rows: list[dict], name="file.xlsx") -> SimpleUploadedFile:
    book = openpyxl.Workbook()
    book.active.append(list(rows[0]))
    for row in rows:
        book.active.append(list(row.values()))
    out = io.BytesIO()
    book.save(out)
    return SimpleUploadedFile(name, out.getvalue())


IMPORT_FORMATS = {"0": csv_upload, "1": xlsx_upload}


def import_preview(client, model, upload, fmt):
    url = reverse(f"admin:jurisdictions_{model._meta.model_name}_import")
    return client.post(url, {"import_file": upload, "format": fmt})


def import_errors(response) -> dict[str, list[str]]:
    result = response.context["result"]
    errors = {}
    for invalid in result.invalid_rows:
        for column, messages in invalid.error_dict.items():
            errors.setdefault(column, []).extend(messages)
    assert not result.row_errors() and not result.base_errors, [
        e.error for _, es in result.row_errors() for e in es]
    return errors


def instrument_row(instrument) -> dict:
    return {"slug": instrument.slug, "jurisdiction": instrument.jurisdiction.code,
            "instrument_type": instrument.instrument_type, "title": instrument.title,
            "notes": instrument.notes,
            "sources": "; ".join(s.url for s in instrument.sources.all())}


@pytest.mark.parametrize("fmt", sorted(IMPORT_FORMATS))
@pytest.mark.parametrize("column", ["slug", "jurisdiction", "title", "notes", "sources"])
def test_imports_refuse_control_characters_in_every_column(importer, world, fmt, column):
    instrument = world[Instrument]
    row = instrument_row(instrument)
    # A spreadsheet (XML) cannot even hold C0 controls: DEL is the one an XLSX file can carry.
    row[column] = (row[column] or "x") + ("\x7fx" if fmt == "1" else "\x01x")
    response = import_preview(importer, Instrument, IMPORT_FORMATS[fmt]([row]), fmt)
    assert response.status_code == 200
    errors = import_errors(response)
    assert column in errors, errors
    assert "control character" in " ".join(errors[column])
    assert Instrument.objects.get(pk=instrument.pk).version == instrument.version


def test_an_import_missing_a_key_column_names_it(importer, world):
    row = instrument_row(world[Instrument])
    del row["slug"]
    response = import_preview(importer, Instrument, csv_upload([row]), "0")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Traceback" not in page
    assert "slug" in page and "missing" in page.lower(), page[:2000]


def test_an_import_keeps_a_leading_apostrophe_of_real_text(importer, world):
    from jurisdictions.resources import escape_cell, unescape_cell

    for real in ["'s-Hertogenbosch", "'-) a quote", "''", "'=not a formula", "=1+1", "-2",
                 "'", "plain"]:
        assert unescape_cell(escape_cell(real)) == real, real
    instrument = world[Instrument]
    row = {**instrument_row(instrument), "title": "'-' marks a dash"}
    response = import_preview(importer, Instrument, csv_upload([row]), "0")
    assert not import_errors(response)
    # The file was written by hand, not exported: "'-" is not the export's guard of "-".
    exported = escape_cell("'-' marks a dash")
    assert exported == "''-' marks a dash"
    assert unescape_cell(exported) == "'-' marks a dash"


# --- 2. stored control characters render everywhere ---------------------------------------------

STORED = "ctl\x01\x0b\x1f\x7fend"


@pytest.fixture
def stored_controls(world):
    """A control character in every text column of every legal row, written past validation
    (QuerySet.update), and in the reason of every history record (what the feed shows)."""
    for model in [m for m in admin.site._registry if issubclass(m, TrackedModel)]:
        for field in text.text_fields(model):
            if isinstance(field, models.JSONField) or field.choices or field.name in (
                "url", "archived_url", "official_url", "slug", "code", "language",
                "original_language", "numeric_code", "search_text"):
                continue
            model.objects.update(**{field.name: Concat(  # the row's id keeps unique values
                Value(STORED), Cast("pk", CharField()))})
    Event.objects.update(figures={"arr\x01ests": 1})
    for model in [m for m in admin.site._registry if issubclass(m, TrackedModel)]:
        model.history.update(history_change_reason="reason\x01")
    return world


def test_the_feed_renders_stored_control_characters(client, stored_controls):
    response = client.get("/feeds/changes/")
    assert response.status_code == 200
    document = xml.dom.minidom.parseString(response.content)  # well-formed XML 1.0
    assert document.getElementsByTagName("entry")
    assert_valid_atom(response.content)  # and Atom (tests/atom.py)
    assert "\x01" not in response.content.decode()


def test_api_json_and_csv_render_stored_control_characters(client, stored_controls):
    for _, viewset, basename in ROUTES:
        path = reverse(f"api:{basename}-list")
        response = client.get(path)
        assert response.status_code == 200, path
        json.loads(response.content)
        response = client.get(path, {"format": "csv"})
        assert response.status_code == 200, path
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert "\x01" not in body.decode("utf-8"), path


def test_pages_and_json_ld_render_stored_control_characters(client, stored_controls):
    instrument = stored_controls[Instrument]
    paths = ["/", "/compare/?jurisdictions=KR,DE", "/gaps/?criterion=possession",
             "/jurisdictions/kr/", f"/instruments/{instrument.slug}/",
             "/api/v1/changes/", "/api/v1/changes/?format=csv",
             "/api/v1/jurisdictions/KR/timeline/?format=csv"]
    paths += [f"/instruments/{instrument.slug}/?table={t}&format=csv"
              for t in ("status", "assessments", "sources")]
    paths += [f"/jurisdictions/kr/?table={t}&format=csv"
              for t in ("coverage", "instruments", "timeline")]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
    page = client.get(f"/instruments/{instrument.slug}/").content.decode()
    json_ld = page.split('<script type="application/ld+json">')[1].split("</script>")[0]
    assert "ctl" in json.loads(json_ld)["name"]


@pytest.mark.parametrize("model", [Source, Instrument, StatusEvent, Assessment], ids=_id)
@pytest.mark.parametrize("fmt", ["0", "1"], ids=["csv", "xlsx"])
def test_admin_exports_render_stored_control_characters(importer, stored_controls, model, fmt):
    url = reverse(f"admin:jurisdictions_{model._meta.model_name}_export")
    form = importer.get(url).context["form"]
    data = {"format": fmt, "resource": "0"}
    for name, field in form.fields.items():
        if getattr(field, "is_selectable_field", False):
            data[name] = "on"
    response = importer.post(url, data)
    assert response.status_code == 200, response.content[:300]
    if fmt == "1":
        book = openpyxl.load_workbook(io.BytesIO(response.content))
        cells = [c.value for row in book.active.iter_rows() for c in row]
        assert any(isinstance(c, str) and "\ufffd" in c for c in cells)
    else:
        assert "\ufffd" in response.content.decode("utf-8-sig")


def test_the_data_report_finds_stored_control_characters(stored_controls):
    from jurisdictions.quality import build_report

    report = build_report()
    found = {(row["model"], row["field"]) for row in report["control_characters"]}
    assert ("jurisdictions.source", "title") in found
    assert ("jurisdictions.event", "figures") in found
    assert report["summary"]["control_characters"] == len(report["control_characters"])
    out = io.StringIO()
    call_command("data_report", stdout=out)
    assert f"control character: {len(report['control_characters'])}" in out.getvalue()


def test_the_data_report_finds_nothing_in_the_seed(world):
    from jurisdictions.quality import stored_control_characters

    assert stored_control_characters() == []


# --- 3. admin URLs with an object id, and list filters ------------------------------------------

def admin_id_urls() -> list[tuple]:
    """``(model, url name, arguments)`` of every admin URL taking an object id or history
    record id, for every registered admin."""
    found = []
    for model, model_admin in admin.site._registry.items():
        for pattern in model_admin.get_urls():
            if not isinstance(pattern, URLPattern) or not pattern.name:
                continue
            route = str(pattern.pattern)
            arguments = [a for a in ("object_id", "id", "version_id")
                         if f":{a}>" in route or f"<{a}>" in route]
            groups = pattern.pattern.regex.groups
            if not arguments and groups:  # a regular expression: positional arguments
                arguments = list(range(groups))
            if arguments:
                found.append((model, f"admin:{pattern.name}", arguments))
    return found


ADMIN_ID_URLS = admin_id_urls()
# Malformed for an integer key; the last two for any key.
MALFORMED_IDS = ["abc", "1.5", "-", "99999999999999999999", "%C3%A9", "1%00", "%01"]


def test_admin_id_urls_cover_every_registered_admin():
    names = {name for _, name, _ in ADMIN_ID_URLS}
    assert "admin:jurisdictions_instrument_history" in names
    assert "admin:jurisdictions_instrument_simple_history" in names
    assert "admin:auth_user_password_change" in names
    for model in admin.site._registry:
        for view in ("change", "delete", "history"):
            assert f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}" in names


@pytest.mark.parametrize("model,name,arguments", ADMIN_ID_URLS, ids=lambda v: str(_id(v)))
def test_admin_urls_answer_404_for_a_malformed_id(importer, world, model, name, arguments):
    integer_key = isinstance(model._meta.pk, (models.AutoField, models.BigAutoField,
                                              models.IntegerField))
    for bad in MALFORMED_IDS if integer_key else MALFORMED_IDS[-2:]:
        for argument in arguments:
            given = {a: "1" for a in arguments}
            given[argument] = "BAD"
            if isinstance(argument, int):
                url = reverse(name, args=list(given.values()))
            else:
                url = reverse(name, kwargs=given)
            url = url.replace("BAD", bad)
            response = importer.get(url)
            assert response.status_code == 404, (url, response.status_code)


@pytest.mark.parametrize("model", list(admin.site._registry), ids=_id)
def test_admin_actions_refuse_malformed_selected_rows(importer, world, model):
    integer_key = isinstance(model._meta.pk, (models.AutoField, models.BigAutoField,
                                              models.IntegerField))
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    count = model._default_manager.count()
    for bad in (["abc", "1.5", "99999999999999999999", "1\x00"] if integer_key else ["1\x00"]):
        response = importer.post(url, {"action": "delete_selected", "_selected_action": [bad],
                                       "post": "yes"})
        assert response.status_code == 400, (bad, response.status_code)
    assert model._default_manager.count() == count


def admin_filter_cases() -> list[tuple]:
    return [(model, name) for model, model_admin in admin.site._registry.items()
            for name in ["q", *filter_parameters(model, model_admin)]]


def filter_parameters(model, model_admin) -> list[str]:
    """The query parameters of every list filter of ``model_admin``."""
    names = []
    for spec in model_admin.list_filter:
        if isinstance(spec, (list, tuple)):
            field_name, filter_class = spec
            field = model._meta.get_field(field_name.split("__")[0])
            names.append(f"{field_name}__exact" if not field.is_relation else
                         f"{field_name}__{field.target_field.name}__exact")
            names.append(f"{field_name}__isnull")
        elif isinstance(spec, str):
            names += [f"{spec}__exact", f"{spec}__isnull", f"{spec}__gte", f"{spec}__in"]
        else:
            names.append(spec.parameter_name)
    return names


HOSTILE_FILTER_VALUES = ["\x00", "KR\x00", "abc", "99999999999999999999", "NaN", "1,\x00"]


@pytest.mark.parametrize("model,name", admin_filter_cases(), ids=_id)
def test_admin_list_filters_and_search_hold_against_hostile_values(importer, world, model,
                                                                   name):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    for value in HOSTILE_FILTER_VALUES:
        response = importer.get(url, {name: value})
        assert response.status_code in (200, 302, 400), (name, value, response.status_code)
        if "\x00" in value:
            assert response.status_code == 400, (name, value)
            assert name in response.content.decode()


def test_the_admin_autocomplete_refuses_nul(importer, world):
    response = importer.get(reverse("admin:autocomplete"), {
        "term": "a\x00", "app_label": "jurisdictions", "model_name": "instrumentsource",
        "field_name": "source"})
    assert response.status_code == 400


# --- 4. duplicates in to-many lists -------------------------------------------------------------

@pytest.mark.parametrize("model,name", MANY_FIELDS, ids=_id)
def test_the_same_row_twice_in_a_to_many_list_is_a_400(editor_api, world, model, name):
    row = world[model]
    key = {"sources": world[Source].url, "jurisdictions": "KR"}[name]
    for twice in ([key, key], [key, f" {key.lower() if name == 'jurisdictions' else key} "]):
        response = patch(editor_api, row, {name: twice})
        assert response.status_code == 400, (twice, response.content[:300])
        assert list(response.json()["errors"]) == [name]
    response = patch(editor_api, row, {name: [key]})
    assert response.status_code == 200, response.content[:300]


# --- 5. numeric limits and malformed numbers ----------------------------------------------------

def schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def test_criterion_position_has_one_limit_in_model_serializer_and_schema(editor_api, world):
    field = Criterion._meta.get_field("position")
    model_max = min(v.limit_value for v in field.validators if hasattr(v, "limit_value")
                    and type(v).__name__ == "MaxValueValidator")
    assert model_max == 32767  # PostgreSQL's smallint, on every database
    components = schema()["components"]["schemas"]
    for name in ("CriterionWrite", "PatchedCriterionWrite"):
        assert components[name]["properties"]["position"]["maximum"] == model_max, name
    for value, status in ((model_max + 1, 400), (40_000, 400), (-1, 400), (model_max, 200)):
        response = patch(editor_api, world[Criterion], {"position": value})
        assert response.status_code == status, (value, response.content[:300])
        if status == 400:
            assert list(response.json()["errors"]) == ["position"]


def numeric_parameters() -> list[tuple[str, str]]:
    found = []
    for path, operations in schema()["paths"].items():
        operation = operations.get("get")
        # An account's own webhooks answer an anonymous client 401 before reading the query
        # (tests/test_alerts.py sends them malformed pages with an account).
        if not operation or "{" in path or path.startswith("/api/v1/webhooks/"):
            continue
        for parameter in operation.get("parameters", []):
            if parameter.get("schema", {}).get("type") in ("integer", "number"):
                found.append((path, parameter["name"]))
    return found


@pytest.mark.parametrize("path,name", numeric_parameters())
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_malformed_numbers_are_a_400_in_every_format(client, world, path, name, fmt):
    for value in ("NaN", "inf", "-Infinity", "1e3", "x", "0", "1.5", ""):
        response = client.get(path, {name: value, "format": fmt})
        if value == "":
            assert response.status_code == 200, (path, name)
            continue
        assert response.status_code == 400, (path, name, value, fmt)
        assert name in response.json()["errors"]


def test_the_schema_documents_the_write_rules():
    """Each free string of a write body carries the text policy's pattern, multi-line text
    its own; a list of keys names each row once."""
    from jurisdictions.api.schema import (
        NO_CONTROL_CHARACTERS,
        NO_CONTROL_CHARACTERS_MULTILINE,
    )

    components = schema()["components"]["schemas"]
    for model, name, kind in WRITE_FIELDS:
        for component in (f"{model.__name__}Write", f"Patched{model.__name__}Write"):
            prop = components[component]["properties"][name]
            if kind == "keys":
                assert prop["uniqueItems"] is True, (component, name)
            elif kind == "text" and prop.get("type") == "string" and not (
                    {"enum", "format"} & set(prop)) and name not in ("slug",):
                field = model._meta.get_field(name)
                if isinstance(field, models.URLField):  # an http(s) pattern without them
                    assert "[^\\u0000-\\u001f\\u007f]+" in prop["pattern"], (component, name)
                    continue
                expected = NO_CONTROL_CHARACTERS_MULTILINE if text.is_multiline(field) else \
                    NO_CONTROL_CHARACTERS
                assert prop["pattern"] == expected, (component, name)


# --- commands ------------------------------------------------------------------------------------

@pytest.mark.parametrize("arguments", [
    ["ensure_admin", "--username", "ad\x00min"],
    ["ensure_admin", "--email", "a\x01@example.org"],
    ["restore_legal_data", "dump\x00.jsonl"],
    ["restore_legal_data", "dump.jsonl", "--user", "an\x00a"],
    ["restore_legal_data", "dump.jsonl", "--reason", "why\x1b"],
    ["dump_legal_data", "out\x00.jsonl"],
], ids=lambda a: "-".join(x for x in a if x.isidentifier() or x.startswith("--")))
def test_commands_refuse_control_characters_in_their_text_options(world, arguments):
    from django.core.management.base import CommandError

    users = get_user_model().objects.count()
    with pytest.raises(CommandError, match="control character"):
        call_command(*arguments, stdout=io.StringIO(), stderr=io.StringIO())
    assert get_user_model().objects.count() == users



# --- the filter forms, behind the parameter checks of the API and the pages ---------------------

def filtersets() -> list:
    from jurisdictions.filtersets import LawtrackerFilterSet

    return [viewset.filterset_class for _, viewset, _ in ROUTES
            if issubclass(getattr(viewset, "filterset_class", None) or object,
                          LawtrackerFilterSet)]


@pytest.mark.parametrize("filterset_class", filtersets(), ids=_id)
def test_every_filter_refuses_control_characters_before_any_query(world, filterset_class,
                                                                  django_assert_num_queries):
    """Every parameter of every FilterSet, given NUL, is a form error naming it, cleaned
    without a query (PostgreSQL refuses NUL in any comparison)."""
    from django.http import QueryDict

    names = filterset_class.parameter_names()
    assert names
    for name in names:
        data = QueryDict(mutable=True)
        data[name] = "KR\x00"
        filterset = filterset_class(data, queryset=filterset_class._meta.model.objects.none())
        with django_assert_num_queries(0):
            assert not filterset.is_valid(), name
        errors = filterset.parameter_errors()
        assert any(name.startswith(key) or key.startswith(name) for key in errors), (name, errors)
        assert "control character" in str(errors), (name, errors)
