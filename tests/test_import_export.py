"""Spreadsheet import and export in the admin (issue 4): natural keys, CSV and XLSX, a dry-run
preview, per-row errors naming the row and the column, all or nothing, history for imported
rows, exports safe against formula injection, versions against stale spreadsheets."""

from __future__ import annotations

import csv
import datetime
import io

import openpyxl
import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from jurisdictions.models import (
    Assessment,
    Instrument,
    InstrumentSource,
    Source,
    StatusEvent,
)
from jurisdictions.resources import InstrumentResource, describe_errors
from tests import factories as F

pytestmark = pytest.mark.django_db

CSV, XLSX = "0", "1"  # positions of the formats offered (EditorialImportExportMixin)


@pytest.fixture
def import_targets():
    F.jurisdiction("KR", name="Korea, Republic of")
    F.jurisdiction("US-CA", name="California")
    F.criterion("possession")
    F.criterion("production")
    return {
        "gazette": F.source(url="https://example.org/gazette", title="Gazette"),
        "bill": F.source(url="https://example.org/bill", title="Bill page"),
    }


def admin_url(model, view):
    return reverse(f"admin:jurisdictions_{model._meta.model_name}_{view}")


def csv_file(rows: list[dict], name="instruments.csv") -> SimpleUploadedFile:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(dict.fromkeys(k for row in rows for k in row)))
    writer.writeheader()
    writer.writerows(rows)
    return SimpleUploadedFile(name, out.getvalue().encode("utf-8"), content_type="text/csv")


def xlsx_file(rows: list[dict], name="instruments.xlsx") -> SimpleUploadedFile:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(rows[0]))
    for row in rows:
        sheet.append(list(row.values()))
    out = io.BytesIO()
    book.save(out)
    return SimpleUploadedFile(name, out.getvalue())


def preview(client, model, upload, fmt=CSV):
    """POST the file to the import page: the dry run. Returns the response."""
    return client.post(admin_url(model, "import"), {"import_file": upload, "format": fmt})


def confirm(client, model, response):
    """Confirm a previewed import (the second step). Returns the response."""
    form = response.context["confirm_form"]
    data = {name: form.initial.get(name, "") for name in form.fields}
    return client.post(admin_url(model, "process_import"), data)


def good_instruments():
    return [
        {
            "slug": "kr-act-2024",
            "jurisdiction": "kr",  # any case
            "instrument_type": "amendment",
            "title": "Act on Special Cases (2024 amendment)",
            "short_name": "Act No. 20459",
            "official_url": "https://www.law.go.kr/",
            "sources": "https://example.org/gazette; https://example.org/bill",
        },
        {
            "slug": "us-ca-ab-1831",
            "jurisdiction": "US-CA",
            "instrument_type": "statute",
            "title": "AB 1831",
            "short_name": "AB 1831",
            "official_url": "",
            "sources": "https://example.org/bill",
        },
    ]


# --- a good file ------------------------------------------------------------------------------
def test_good_csv_import_previews_then_creates_rows_with_history(client, editor, import_targets):
    response = preview(client, Instrument, csv_file(good_instruments()))
    assert response.status_code == 200
    result = response.context["result"]
    assert not result.has_errors() and not result.has_validation_errors()
    assert [row.import_type for row in result.rows] == ["new", "new"]
    assert "confirm_form" in response.context
    assert Instrument.objects.count() == 0, "the preview is a dry run"
    assert not Instrument.history.exists()

    response = confirm(client, Instrument, response)
    assert response.status_code == 302
    act = Instrument.objects.get(slug="kr-act-2024")
    assert (act.jurisdiction.code, act.short_name, act.version) == ("KR", "Act No. 20459", 1)
    assert sorted(act.sources.values_list("url", flat=True)) == [
        "https://example.org/bill", "https://example.org/gazette",
    ]
    record = Instrument.history.get(id=act.pk)
    assert (record.history_type, record.history_user, record.history_change_reason) == (
        "+", editor, "import from instruments.csv",
    )
    citations = InstrumentSource.history.filter(instrument_id=act.pk)
    assert citations.count() == 2
    assert {c.history_user for c in citations} == {editor}


def test_good_xlsx_import_updates_a_row_and_its_citations(client, editor, import_targets):
    act = F.instrument("KR", slug="kr-act-2024", title="Old title", cite=False)
    InstrumentSource.objects.create(instrument=act, source=import_targets["bill"])
    rows = [dict(good_instruments()[0], sources="https://example.org/gazette")]
    response = preview(client, Instrument, xlsx_file(rows), fmt=XLSX)
    assert [row.import_type for row in response.context["result"].rows] == ["update"]
    assert confirm(client, Instrument, response).status_code == 302

    act.refresh_from_db()
    assert (act.title, act.version) == ("Act on Special Cases (2024 amendment)", 2)
    assert list(act.sources.values_list("url", flat=True)) == ["https://example.org/gazette"]
    removed = InstrumentSource.history.get(source_id=import_targets["bill"].pk, history_type="-")
    assert (removed.history_user, removed.history_change_reason) == (
        editor, "import from instruments.xlsx",
    )


def test_status_events_assessments_and_sources_import_by_natural_key(client, editor, import_targets):
    act = F.instrument("KR", slug="kr-act", cite=False)
    files = {
        Source: [{"url": "https://example.org/new", "title": "New page", "kind": "news",
                  "published_on": "2024-09-01", "published_precision": "month"}],
        StatusEvent: [{"instrument": "KR-ACT", "status": "introduced", "date": "2024-09-01",
                       "date_precision": "month", "description": "Tabled",
                       "sources": "https://example.org/gazette"}],
        Assessment: [{"instrument": "kr-act", "criterion": "possession", "value": "yes", "basis": "text",
                      "pinpoint": "art. 14(4)", "sources": "https://example.org/bill"}],
    }
    for model, rows in files.items():
        response = preview(client, model, csv_file(rows, name=f"{model.__name__}.csv"))
        assert not response.context["result"].has_validation_errors(), model
        assert confirm(client, model, response).status_code == 302
    assert Source.objects.get(url="https://example.org/new").published_precision == "month"
    step = StatusEvent.objects.get(instrument=act)
    assert (step.status, step.date, step.date_precision) == (
        "introduced", datetime.date(2024, 9, 1), "month",
    )
    assert list(step.sources.values_list("url", flat=True)) == ["https://example.org/gazette"]
    answer = Assessment.objects.get(instrument=act, criterion__slug="possession")
    assert (answer.value, answer.pinpoint) == ("yes", "art. 14(4)")
    for model in files:
        assert model.history.filter(history_user=editor, history_type="+").count() == 1


def test_reimporting_an_unchanged_export_changes_nothing(client, editor, import_targets):
    act = F.instrument("KR", slug="kr-act")
    F.assessment(act, "possession")
    for model in (Instrument, Assessment):
        exported = export(client, model, CSV).decode("utf-8-sig")
        upload = SimpleUploadedFile("export.csv", exported.encode())
        response = preview(client, model, upload)
        assert {row.import_type for row in response.context["result"].rows} == {"skip"}, model
        history = model.history.count()
        confirm(client, model, response)
        assert model.history.count() == history


# --- a bad file -------------------------------------------------------------------------------
def test_one_bad_row_changes_nothing_and_names_the_row_and_column(client, editor, import_targets):
    existing = F.instrument("KR", slug="kr-act-2024", title="Kept title", cite=False)
    rows = good_instruments()
    rows[0]["title"] = "Changed title"  # a good row, rolled back with the rest
    rows.append(dict(rows[1], slug="xx-act", jurisdiction="XX"))  # data row 3
    before = (Instrument.objects.count(), Instrument.history.count(),
              InstrumentSource.objects.count())

    response = preview(client, Instrument, csv_file(rows))
    result = response.context["result"]
    assert result.has_validation_errors()
    assert "confirm_form" not in response.context
    assert describe_errors(result) == [
        "row 3 (line 4), column jurisdiction: No jurisdiction with code 'XX'."
    ]
    html = response.content.decode()
    # The admin's preview table: the row number, the column, the message.
    assert "<td>3 </td>" in html
    assert '<span class="validation-error-field-label">jurisdiction</span>' in html
    assert "No jurisdiction with code &#x27;XX&#x27;." in html

    # The same file imported for real (the library, not the admin): all or nothing.
    from tablib import Dataset

    dataset = Dataset().load(csv_file(rows).read().decode(), format="csv")
    result = InstrumentResource().import_data(dataset, dry_run=False, user=editor,
                                              file_name="bad.csv")
    assert result.has_validation_errors()
    assert (Instrument.objects.count(), Instrument.history.count(),
            InstrumentSource.objects.count()) == before
    existing.refresh_from_db()
    assert existing.title == "Kept title"


def test_model_validation_errors_name_their_column(client, editor, import_targets):
    rows = [
        {"instrument": "kr-act", "status": "introduced", "date": "2024-09-15",
         "date_precision": "month"},
        {"instrument": "kr-act", "status": "sworn_in", "date": "2024-10-01",
         "date_precision": "day"},
        {"instrument": "no-such-act", "status": "adopted", "date": "2024-13-01",
         "date_precision": "day"},
        {"instrument": "kr-act", "status": "adopted", "date": "2024-10-01",
         "date_precision": "day", "description": "=cmd", "sources": "x"},
    ]
    F.instrument("KR", slug="kr-act")
    response = preview(client, StatusEvent, csv_file(rows, name="steps.csv"))
    lines = describe_errors(response.context["result"])
    assert ("row 1 (line 2), column date: A date known only to the month is stored as the "
            "first day of that month.") in lines
    assert any(line.startswith("row 2 (line 3), column status: Value 'sworn_in' is not a "
                               "valid choice") for line in lines), lines
    assert "row 3 (line 4), column instrument: No instrument with slug 'no-such-act'." in lines
    assert "row 3 (line 4), column date: Value could not be parsed using defined formats." \
        in lines
    assert ("row 4 (line 5), column sources: Unknown source URL(s): x. Add them under Sources "
            "(or import the sources file) first, or give one new URL per row with source_title and source_publisher columns.") in lines
    # The sources missing from the whole file, in one line first (issue 18).
    assert lines[0].startswith("Sources not recorded yet") and lines[0].endswith(": x")
    assert len(lines) == 6, lines
    assert not StatusEvent.objects.exists()


def test_unknown_source_url_is_an_error_of_the_sources_column(client, editor, import_targets):
    rows = [dict(good_instruments()[0], sources="https://example.org/nowhere")]
    response = preview(client, Instrument, csv_file(rows))
    assert describe_errors(response.context["result"]) == [
        "Sources not recorded yet (add them under Sources, import the sources file, or give "
        "source_title and source_publisher columns): https://example.org/nowhere",
        "row 1 (line 2), column sources: Unknown source URL(s): https://example.org/nowhere. "
        "Add them under Sources (or import the sources file) first, or give one new URL per row with source_title and source_publisher columns."
    ]


def test_a_stale_spreadsheet_row_is_refused(client, editor, import_targets, django_user_model):
    act = F.instrument("KR", slug="kr-act", title="Original")
    exported = export(client, Instrument, CSV).decode("utf-8-sig")
    ben = django_user_model.objects.create_user("ben")
    act.title = "Ben's title"
    act._history_user = ben
    act.save()

    edited = exported.replace("Original", "Ana's title")
    response = preview(client, Instrument, SimpleUploadedFile("old.csv", edited.encode()))
    lines = describe_errors(response.context["result"])
    assert len(lines) == 1
    assert lines[0].startswith("row 1 (line 2), column version: This row was changed by ben "
                               "since the file was exported (the file has version 1, the record "
                               "is at version 2).")
    act.refresh_from_db()
    assert act.title == "Ben's title"


def test_only_reviewers_import_verification(client, editor, import_targets):
    F.assessment(F.instrument("KR", slug="kr-act"), "possession")
    rows = [{"instrument": "kr-act", "criterion": "possession", "value": "yes",
             "verified_on": "2026-01-05", "verified_by": "ana"}]
    response = preview(client, Assessment, csv_file(rows, name="answers.csv"))
    lines = describe_errors(response.context["result"])
    assert lines[0].startswith("row 1 (line 2), column verified_on: Only reviewers")

    editor.groups.add(Group.objects.get(name="reviewer"))
    response = preview(client, Assessment, csv_file(rows, name="answers.csv"))
    assert not describe_errors(response.context["result"])


def test_import_needs_add_and_change_permissions(client, django_user_model):
    reader = django_user_model.objects.create_user("reader", is_staff=True)
    reader.groups.add(Group.objects.get(name="read_only_staff"))
    client.force_login(reader)
    assert client.get(admin_url(Instrument, "import")).status_code == 403
    assert client.get(admin_url(Instrument, "export")).status_code == 200


# --- exports --------------------------------------------------------------------------------------
def export(client, model, fmt) -> bytes:
    """Export every row of ``model`` through the admin's export page, all columns."""
    page = client.get(admin_url(model, "export"))
    form = page.context["form"]
    data = {"format": fmt, "resource": "0"}
    for name, field in form.fields.items():
        if getattr(field, "is_selectable_field", False):
            data[name] = "on"
    response = client.post(admin_url(model, "export"), data)
    assert response.status_code == 200, response.content[:500]
    return response.content


FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1:A2)",
            "\tcmd", "\r=1+1"]


def test_exports_use_natural_keys_and_neutralise_formulas(client, editor, import_targets):
    # In notes: a tab or carriage return may start multi-line text only (jurisdictions/text.py).
    for i, text in enumerate(FORMULAS):
        act = F.instrument("KR", slug=f"kr-act-{i}", notes=text, cite=False)
        InstrumentSource.objects.create(instrument=act, source=import_targets["gazette"])

    text = export(client, Instrument, CSV).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert list(rows[0])[:3] == ["slug", "jurisdiction", "instrument_type"]
    assert "id" not in rows[0]
    assert {r["jurisdiction"] for r in rows} == {"KR"}
    assert {r["sources"] for r in rows} == {"https://example.org/gazette"}
    notes = {r["slug"]: r["notes"] for r in rows}
    assert [notes[f"kr-act-{i}"] for i in range(len(FORMULAS))] == ["'" + t for t in FORMULAS]
    assert all(r["official_url"] == "" for r in rows), "empty cells stay empty, not 'None'"

    book = openpyxl.load_workbook(io.BytesIO(export(client, Instrument, XLSX)))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    values = [dict(zip(header, (c.value for c in row))) for row in sheet.iter_rows(min_row=2)]
    # (XML reads a carriage return back as a line feed.)
    assert sorted(v["notes"] for v in values) == sorted(
        "'" + t.replace("\r", "\n") for t in FORMULAS
    )
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", f"{cell.coordinate} is a formula"


def test_an_escaped_export_imports_back_unchanged(client, editor, import_targets):
    F.instrument("KR", slug="kr-act", title="=1+1 is not a formula", cite=False)
    exported = export(client, Instrument, CSV)
    response = preview(client, Instrument, SimpleUploadedFile("e.csv", exported))
    assert [row.import_type for row in response.context["result"].rows] == ["skip"]


def test_every_import_export_admin_offers_csv_and_xlsx():
    for model in (Instrument, StatusEvent, Assessment, Source):
        model_admin = admin.site._registry[model]
        assert [f().get_title() for f in model_admin.get_import_formats()] == ["csv", "xlsx"]
        assert [f().get_title() for f in model_admin.get_export_formats()] == ["csv", "xlsx"]


def test_a_file_that_became_invalid_before_confirmation_changes_nothing(client, editor, import_targets):
    """The preview passed, then a cited source was deleted: the confirmed import rolls back
    every row and says why."""
    response = preview(client, Instrument, csv_file(good_instruments()))
    assert "confirm_form" in response.context
    import_targets["gazette"].delete()
    response = confirm(client, Instrument, response)
    assert response.status_code == 302
    assert response["Location"] == admin_url(Instrument, "import")
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == [
        "Nothing was imported: Sources not recorded yet (add them under Sources, import the "
        "sources file, or give source_title and source_publisher columns): "
        "https://example.org/gazette; row 1 (line 2), column sources: Unknown source URL(s): "
        "https://example.org/gazette. Add them under Sources (or import the sources file) "
        "first, or give one new URL per row with source_title and source_publisher columns."
    ]
    assert not Instrument.objects.exists()
    assert not Instrument.history.exists() and not InstrumentSource.history.exists()
