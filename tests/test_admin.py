"""The admin NGO editors work in: every page answers, the one-page bill workflow, search that
ignores accents, PROTECT shown as Django's "cannot delete" page, history, and query counts that
do not grow with the number of rows.

Pages are found by iterating ``admin.site._registry``, so a newly registered model is covered
without touching this file.
"""

from __future__ import annotations

import datetime
import io

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jurisdictions.models import (
    Assessment,
    BlocMembership,
    Criterion,
    Event,
    EventJurisdiction,
    EventSource,
    Identifier,
    Instrument,
    InstrumentAmendment,
    Jurisdiction,
    Source,
    StatusEvent,
    StatusEventSource,
)
from tests import factories as F
from tests.admin_forms import errors_of, form_data, url

pytestmark = pytest.mark.django_db

COUNTRIES = ["DE", "FR", "IT", "ES", "PL", "NL", "BE", "AT", "SE", "FI", "IE", "PT"]

JURISDICTION_MODELS = sorted(
    (model for model in admin.site._registry if model._meta.app_label == "jurisdictions"),
    key=lambda model: model._meta.model_name,
)
MODEL_IDS = [model._meta.model_name for model in JURISDICTION_MODELS]


def populate(start: int, count: int) -> None:
    """Create ``count`` complete sets of rows (one per country in COUNTRIES[start:]): a member of
    the EU, an instrument with three status events, two assessments, an identifier, an amendment
    link, citations everywhere, and an event involving the country and the EU."""
    eu = F.jurisdiction("EU", name="European Union")
    sao_paulo = F.jurisdiction("BR-SP", name="São Paulo")
    if not Instrument.objects.filter(slug="sp-state-law").exists():
        F.instrument("BR-SP", slug="sp-state-law", title="Lei estadual de São Paulo")
    previous = Instrument.objects.order_by("-pk").first()
    for i in range(start, start + count):
        code = COUNTRIES[i]
        country = F.jurisdiction(code, name=f"Country {code}")
        BlocMembership.objects.create(
            bloc=eu, member=country, start_date=datetime.date(1995, 1, 1), source=F.source()
        )
        instrument = F.instrument(code, slug=f"act-{i}", short_name=f"Act {i}")
        F.event(instrument, "introduced", "2024-01-10")
        F.event(instrument, "adopted", "2024-06-01")
        F.event(instrument, "in_force", "2024-06-01")
        F.assessment(instrument, "possession", "yes", pinpoint=f"s. {i}")
        F.assessment(instrument, "production", "partial")
        Identifier.objects.create(instrument=instrument, scheme="national", value=f"No. {i}")
        InstrumentAmendment.objects.create(amending=instrument, amended=previous)
        previous = instrument
        event = Event.objects.create(
            slug=f"operation-{i}",
            date=datetime.date(2025, 2, 1),
            date_precision="month",
            title=f"Operation {i}",
            kind="enforcement_operation",
            figures={"arrests": i},
        )
        for jurisdiction in (country, eu, sao_paulo):
            EventJurisdiction.objects.create(event=event, jurisdiction=jurisdiction)
        EventSource.objects.create(event=event, source=F.source())


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    """Admin pages link static files; with DEBUG off the settings pick the manifest storage,
    which needs ``collectstatic``. Tests render with the plain storage instead."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def populated():
    populate(0, 2)


# --- every page answers ---------------------------------------------------------------------
def test_every_jurisdictions_model_is_registered():
    registered = set(JURISDICTION_MODELS)
    from django.apps import apps

    expected = {
        m
        for m in apps.get_app_config("jurisdictions").get_models()
        if not m.__name__.startswith("Historical") and m is not EventJurisdiction
    }
    assert expected <= registered, expected - registered


@pytest.mark.parametrize("model", JURISDICTION_MODELS, ids=MODEL_IDS)
def test_changelist_add_change_history_and_delete_pages_answer(admin_client, populated, model):
    obj = model.objects.order_by("pk").first()
    assert obj is not None, f"populate() made no {model.__name__}"

    assert admin_client.get(url(model, "changelist")).status_code == 200
    assert admin_client.get(url(model, "add")).status_code == 200
    assert admin_client.get(url(model, "change", obj.pk)).status_code == 200
    assert admin_client.get(url(model, "history", obj.pk)).status_code == 200
    record = model.history.filter(id=obj.pk).latest("history_date")  # id: the row; pk: the record
    revert = reverse(
        f"admin:jurisdictions_{model._meta.model_name}_simple_history",
        args=[obj.pk, record.history_id],
    )
    assert admin_client.get(revert).status_code == 200

    delete = admin_client.get(url(model, "delete", obj.pk))
    # Criteria are retired, never deleted; everything else shows a confirmation or, when
    # PROTECT stands in the way, Django's "cannot delete" page.
    assert delete.status_code == (403 if model is Criterion else 200)


@pytest.mark.parametrize("model", JURISDICTION_MODELS, ids=MODEL_IDS)
def test_every_editable_field_is_on_the_admin_form(rf, admin_user, model):
    """A field added to a model but left out of an explicit ``fieldsets`` fails here."""
    request = rf.get("/")
    request.user = admin_user
    model_admin = admin.site._registry[model]
    on_form = {
        name
        for _title, options in model_admin.get_fieldsets(request)
        for name in options["fields"]
    }
    editable = {
        field.name
        for field in model._meta.get_fields()
        if getattr(field, "editable", False)
        and not field.auto_created
        and field.concrete
        and not field.many_to_many  # the citations and links: inlines
    }
    assert editable - on_form == set()


@pytest.mark.parametrize("model", JURISDICTION_MODELS, ids=MODEL_IDS)
def test_changelist_search_and_every_filter_choice_answer(admin_client, populated, model):
    for term in ("sao paulo", "São", "KR", "act 1", "%_'\"", "x" * 300):
        response = admin_client.get(url(model, "changelist"), {"q": term})
        assert response.status_code == 200, term

    changelist = admin_client.get(url(model, "changelist")).context["cl"]
    query_strings = {
        choice["query_string"]
        for spec in changelist.filter_specs
        for choice in spec.choices(changelist)
    }
    assert query_strings
    for query_string in query_strings:
        response = admin_client.get(url(model, "changelist") + query_string)
        assert response.status_code == 200, query_string


def changelist_query_counts(client) -> dict:
    """The number of queries of each registered changelist (after one warm-up request)."""
    counts = {}
    for model in JURISDICTION_MODELS:
        client.get(url(model, "changelist"))  # warm caches (content types, session)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url(model, "changelist"))
        assert response.status_code == 200
        assert response.context["cl"].result_count > 0, model.__name__
        counts[model.__name__] = len(queries)
    return counts


def test_changelist_query_count_does_not_grow_with_rows(admin_client):
    populate(0, 2)
    small = changelist_query_counts(admin_client)
    populate(2, 6)
    assert changelist_query_counts(admin_client) == small


def test_admin_on_the_real_seed_data(admin_client, today):
    """Every changelist on the real seed, in as many queries as on two rows; the change pages
    of seed instruments show the status their events give."""
    populate(0, 2)
    small = changelist_query_counts(admin_client)
    call_command("load_seed", verbosity=0, stdout=io.StringIO())
    assert Instrument.objects.count() > 100
    assert changelist_query_counts(admin_client) == small

    # One instrument per (status today, precision of its step): every shape the derived status
    # takes in the real data, in a test that stays short.
    shapes = {}
    for instrument in Instrument.objects.for_api():
        event = instrument.status_event_as_of(today)
        shape = (event and event.status, event and event.date_precision)
        shapes.setdefault(shape, instrument)
    assert len(shapes) > 5
    for instrument in shapes.values():
        response = admin_client.get(url(Instrument, "change", instrument.pk))
        assert response.status_code == 200, instrument.slug
        event = instrument.status_event_as_of(today)
        expected = f"{event.get_status_display()} since {event.date.isoformat()}" if event else (
            "no status event dated today or earlier"
        )
        assert expected in response.content.decode(), instrument.slug


# --- search ---------------------------------------------------------------------------------
def test_search_ignores_accents_and_case(admin_client, populated):
    for term in ("Sao Paulo", "SÃO PAULO", "são"):
        response = admin_client.get(url(Jurisdiction, "changelist"), {"q": term})
        assert [j.code for j in response.context["cl"].result_list] == ["BR-SP"], term

    response = admin_client.get(url(Instrument, "changelist"), {"q": "lei estadual de sao"})
    assert [i.slug for i in response.context["cl"].result_list] == ["sp-state-law"]

    # A code finds its jurisdiction exactly, whatever the case.
    response = admin_client.get(url(Jurisdiction, "changelist"), {"q": "br-sp"})
    assert [j.code for j in response.context["cl"].result_list] == ["BR-SP"]


def test_autocomplete_finds_related_rows_by_name_without_accents(admin_client, populated):
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "jurisdictions",
            "model_name": "instrument",
            "field_name": "jurisdiction",
            "term": "sao paulo",
        },
    )
    assert response.status_code == 200
    results = response.json()["results"]
    sao_paulo = Jurisdiction.objects.get(code="BR-SP")
    assert [r["id"] for r in results] == [str(sao_paulo.pk)]
    assert results[0]["text"] == "BR-SP — São Paulo"


def test_jurisdiction_filters_by_kind_research_status_and_parent(admin_client, populated):
    F.jurisdiction("US-CA", name="California")
    us = Jurisdiction.objects.get(code="US")
    response = admin_client.get(url(Jurisdiction, "changelist"), {"parent__id__exact": us.pk})
    assert [j.code for j in response.context["cl"].result_list] == ["US-CA"]
    response = admin_client.get(url(Jurisdiction, "changelist"), {"kind__exact": "supranational"})
    assert [j.code for j in response.context["cl"].result_list] == ["EU"]
    response = admin_client.get(
        url(Jurisdiction, "changelist"), {"research_status__exact": "not_researched"}
    )
    assert response.context["cl"].result_count == Jurisdiction.objects.count()


def test_jurisdiction_page_shows_memberships_inline(admin_client, populated):
    de = Jurisdiction.objects.get(code="DE")
    response = admin_client.get(url(Jurisdiction, "change", de.pk))
    prefixes = [inline.formset.prefix for inline in response.context["inline_admin_formsets"]]
    assert prefixes == ["bloc_memberships", "memberships"]
    membership_forms = response.context["inline_admin_formsets"][0].formset.forms
    assert [f.instance.bloc.code for f in membership_forms] == ["EU"]

    eu = Jurisdiction.objects.get(code="EU")
    response = admin_client.get(url(Jurisdiction, "change", eu.pk))
    members = response.context["inline_admin_formsets"][1].formset.forms
    assert sorted(f.instance.member.code for f in members) == ["DE", "FR"]


def test_jurisdiction_code_typed_in_lower_case_is_normalised(admin_client):
    response = admin_client.get(url(Jurisdiction, "add"))
    data = form_data(response)
    data.update({"code": " kr ", "name": "Korea, Republic of", "kind": "country"})
    response = admin_client.post(url(Jurisdiction, "add"), data)
    assert response.status_code == 302, errors_of(response)
    assert Jurisdiction.objects.get(code="KR").name == "Korea, Republic of"


def test_jurisdiction_unknown_code_is_refused_with_a_message(admin_client):
    data = form_data(admin_client.get(url(Jurisdiction, "add")))
    data.update({"code": "XX", "name": "Nowhere", "kind": "country"})
    response = admin_client.post(url(Jurisdiction, "add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["code"] == [
        "XX is not an ISO 3166 code for a country."
    ]
    assert not Jurisdiction.objects.filter(code="XX").exists()


# --- the bill workflow, on one page ---------------------------------------------------------
def test_editor_adds_a_bill_with_history_assessments_identifiers_and_citations(admin_client):
    kr = F.jurisdiction("KR", name="Korea, Republic of")
    possession = F.criterion("possession", label="Possession")
    source = F.source(url="https://likms.assembly.go.kr/bill/2206245", title="Bill 2206245")

    add_url = url(Instrument, "add")
    data = form_data(admin_client.get(add_url))
    data.update(
        {
            "jurisdiction": kr.pk,
            "instrument_type": "bill",
            "title": "Act on the Punishment of Sexual Crimes (amendment)",
            "short_name": "Bill 2206245",
            "slug": "kr-bill-2206245",
            "official_url": "https://likms.assembly.go.kr/bill/2206245",
            "status_events-TOTAL_FORMS": "3",
            "status_events-0-status": "introduced",
            "status_events-0-date": "2024-09-01",
            "status_events-0-date_precision": "month",
            # adopted and in force on one day: in force at the end of it.
            "status_events-1-status": "in_force",
            "status_events-1-date": "2024-10-16",
            "status_events-1-date_precision": "day",
            "status_events-2-status": "adopted",
            "status_events-2-date": "2024-10-16",
            "status_events-2-date_precision": "day",
            "assessments-0-criterion": possession.pk,
            "assessments-0-value": "yes",
            "assessments-0-basis": "text",
            "assessments-0-pinpoint": "art. 14(4)",
            "identifiers-0-scheme": "national",
            "identifiers-0-value": "2206245",
            "citations-0-source": source.pk,
        }
    )
    response = admin_client.post(add_url, data)
    assert response.status_code == 302, errors_of(response)

    bill = Instrument.objects.get(slug="kr-bill-2206245")
    assert sorted(bill.status_events.values_list("status", "date_precision")) == [
        ("adopted", "day"),
        ("in_force", "day"),
        ("introduced", "month"),
    ]
    assessment = bill.assessments.get()
    assert (assessment.criterion.slug, assessment.value, assessment.pinpoint) == (
        "possession",
        "yes",
        "art. 14(4)",
    )
    assert list(bill.identifiers.values_list("scheme", "value")) == [("national", "2206245")]
    assert list(bill.sources.all()) == [source]
    assert bill.status == "in_force"

    change = admin_client.get(url(Instrument, "change", bill.pk))
    assert change.status_code == 200
    html = change.content.decode()
    assert "In force since 2024-10-16 (day precision)" in html
    assert "In force (InForce)" in html
    assert "introduced: 2024-09-01 (month)" in html
    assert "adopted: 2024-10-16 (day)" in html

    changelist = admin_client.get(url(Instrument, "changelist"))
    row = changelist.context["cl"].result_list[0]
    assert (row.slug, row.status_at) == ("kr-bill-2206245", "in_force")
    assert "In force (InForce)" in changelist.content.decode()

    filtered = admin_client.get(url(Instrument, "changelist"), {"status_today": "in_force"})
    assert [i.slug for i in filtered.context["cl"].result_list] == ["kr-bill-2206245"]
    filtered = admin_client.get(url(Instrument, "changelist"), {"status_today": "introduced"})
    assert filtered.context["cl"].result_count == 0


def test_month_precision_date_not_on_the_first_is_refused_in_the_inline(admin_client):
    kr = F.jurisdiction("KR")
    data = form_data(admin_client.get(url(Instrument, "add")))
    data.update(
        {
            "jurisdiction": kr.pk,
            "instrument_type": "bill",
            "title": "A bill",
            "slug": "a-bill",
            "status_events-0-status": "introduced",
            "status_events-0-date": "2024-09-15",
            "status_events-0-date_precision": "month",
        }
    )
    response = admin_client.post(url(Instrument, "add"), data)
    assert response.status_code == 200
    assert "stored as the first day of that month" in errors_of(response)
    assert not Instrument.objects.filter(slug="a-bill").exists()


def test_status_event_and_assessment_pages_edit_their_own_citations(admin_client):
    instrument = F.instrument("KR", slug="kr-act")
    step = F.event(instrument, "introduced", "2024-01-10", cite=False)
    answer = F.assessment(instrument, "possession", cite=False)
    source = F.source(title="Gazette")

    for obj, prefix in ((step, "citations"), (answer, "citations")):
        change_url = url(type(obj), "change", obj.pk)
        data = form_data(admin_client.get(change_url))
        data[f"{prefix}-0-source"] = str(source.pk)
        response = admin_client.post(change_url, data)
        assert response.status_code == 302, errors_of(response)
        assert list(obj.sources.all()) == [source]

    # The instrument page lists them read-only, with links to the source.
    html = admin_client.get(url(Instrument, "change", instrument.pk)).content.decode()
    assert html.count(url(Source, "change", source.pk)) == 2


def test_editing_a_status_event_on_the_instrument_page_updates_the_derived_status(admin_client):
    instrument = F.instrument("KR", slug="kr-act")
    F.event(instrument, "introduced", "2024-01-10", cite=False)
    change_url = url(Instrument, "change", instrument.pk)
    data = form_data(admin_client.get(change_url))
    data["status_events-0-status"] = "withdrawn"
    response = admin_client.post(change_url, data)
    assert response.status_code == 302, errors_of(response)
    html = admin_client.get(change_url).content.decode()
    assert "Withdrawn since 2024-01-10" in html
    assert "Not in force (NotInForce)" in html


def test_deleting_a_cited_status_event_inline_is_refused_not_a_500(admin_client):
    instrument = F.instrument("KR", slug="kr-act")
    F.event(instrument, "introduced", "2024-01-10")  # cites a source: PROTECT
    change_url = url(Instrument, "change", instrument.pk)
    data = form_data(admin_client.get(change_url))
    data["status_events-0-DELETE"] = "on"
    response = admin_client.post(change_url, data)
    assert response.status_code == 200
    assert "would require deleting the following protected related objects" in errors_of(
        response
    )
    assert instrument.status_events.count() == 1


# --- PROTECT and criteria -------------------------------------------------------------------
def test_deleting_a_jurisdiction_with_instruments_shows_cannot_delete(admin_client):
    instrument = F.instrument("KR", slug="kr-act")
    kr = instrument.jurisdiction
    delete_url = url(Jurisdiction, "delete", kr.pk)

    response = admin_client.get(delete_url)
    assert response.status_code == 200
    assert response.context["protected"], "the protected instrument is listed"
    assert "Cannot delete" in response.content.decode()

    response = admin_client.post(delete_url, {"post": "yes"})
    assert response.status_code == 200
    assert "Cannot delete" in response.content.decode()
    assert Jurisdiction.objects.filter(code="KR").exists()


def test_bulk_delete_action_with_protected_rows_shows_cannot_delete(admin_client):
    instrument = F.instrument("KR", slug="kr-act")
    F.event(instrument, "introduced", "2024-01-10")
    response = admin_client.post(
        url(Instrument, "changelist"),
        {"action": "delete_selected", "_selected_action": [instrument.pk], "post": "yes"},
    )
    assert response.status_code == 200
    assert "Cannot delete" in response.content.decode()
    assert Instrument.objects.filter(pk=instrument.pk).exists()


def test_deleting_an_uncited_source_works(admin_client):
    source = F.source()
    response = admin_client.post(url(Source, "delete", source.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not Source.objects.filter(pk=source.pk).exists()
    assert Source.history.filter(id=source.pk, history_type="-").exists()


def test_criteria_cannot_be_deleted_in_the_admin(admin_client):
    criterion = F.criterion("possession")
    assert admin_client.get(url(Criterion, "delete", criterion.pk)).status_code == 403
    response = admin_client.post(url(Criterion, "delete", criterion.pk), {"post": "yes"})
    assert response.status_code == 403
    changelist = admin_client.get(url(Criterion, "changelist"))
    assert changelist.context["action_form"] is None, "no delete_selected action"
    response = admin_client.post(
        url(Criterion, "changelist"),
        {"action": "delete_selected", "_selected_action": [criterion.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)
    assert Criterion.objects.filter(pk=criterion.pk).exists()


# --- history --------------------------------------------------------------------------------
def test_history_page_lists_the_change_and_its_author(admin_client, admin_user):
    instrument = F.instrument("KR", slug="kr-act", title="Old title")
    change_url = url(Instrument, "change", instrument.pk)
    data = form_data(admin_client.get(change_url))
    data["title"] = "New title"
    response = admin_client.post(change_url, data)
    assert response.status_code == 302, errors_of(response)

    record = Instrument.history.filter(id=instrument.pk).latest("history_date")
    assert (record.history_type, record.title, record.history_user) == (
        "~",
        "New title",
        admin_user,
    )

    response = admin_client.get(url(Instrument, "history", instrument.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Old title" in html and "New title" in html
    assert "Changed" in html and "Created" in html
    assert admin_user.username in html


def test_reverting_to_an_earlier_version_restores_it(admin_client):
    instrument = F.instrument("KR", slug="kr-act", title="Old title")
    first = Instrument.history.get(id=instrument.pk, history_type="+")
    instrument.title = "New title"
    instrument.save()

    revert_url = reverse(
        "admin:jurisdictions_instrument_simple_history", args=[instrument.pk, first.history_id]
    )
    response = admin_client.get(revert_url)
    assert response.status_code == 200
    data = form_data(response)
    assert data["title"] == "Old title"
    response = admin_client.post(revert_url, data)
    assert response.status_code == 302, errors_of(response)
    instrument.refresh_from_db()
    assert instrument.title == "Old title"
    assert Instrument.history.filter(id=instrument.pk).count() == 3


def test_staff_without_permissions_cannot_change(client, django_user_model):
    user = django_user_model.objects.create_user("reader", password="pw-x9f!k", is_staff=True)
    client.force_login(user)
    assert client.get(url(Instrument, "changelist")).status_code == 403
    assert client.get(url(Instrument, "add")).status_code == 403


# Rows that only exist so that every registered page has an object to show.
def test_populate_makes_a_row_of_every_registered_model(populated):
    for model in JURISDICTION_MODELS:
        assert model.objects.exists(), model.__name__
    assert Assessment.objects.count() == 5 - 1  # two per instrument, not the BR-SP one
    assert StatusEventSource.objects.count() == StatusEvent.objects.count() == 6
