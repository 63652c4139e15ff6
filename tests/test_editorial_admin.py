"""The editorial workflow in the admin (issue 4): roles, history with author and reason, stale
edits refused with what changed, bulk deletes kept in history, verification by reviewers, the
stale-answer filters.
"""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.urls import reverse

from jurisdictions import roles
from jurisdictions.models import (
    Assessment,
    AssessmentSource,
    Identifier,
    Instrument,
    InstrumentSource,
    Jurisdiction,
    StaleVersion,
)
from tests import factories as F
from tests.admin_forms import errors_of, form_data, url

pytestmark = pytest.mark.django_db


def login(client, user):
    client.force_login(user)
    return client


# --- roles ------------------------------------------------------------------------------------
def test_the_migration_creates_the_three_roles_with_their_permissions():
    legal = {m._meta.model_name for m in roles.legal_models(__import__("django.apps").apps.apps)}
    assert len(legal) == 15

    def codenames(role):
        return set(
            Group.objects.get(name=role).permissions.values_list("codename", flat=True)
        )

    read_only = codenames("read_only_staff")
    editor = codenames("editor")
    reviewer = codenames("reviewer")
    assert read_only == {f"view_{m}" for m in legal}
    assert editor == read_only | {f"{a}_{m}" for a in ("add", "change", "delete") for m in legal}
    assert reviewer == editor | {"verify_assessment", "review_jurisdiction"}
    # History is written by the application, never edited by hand.
    assert not any("historical" in c for c in reviewer)
    assert Permission.objects.filter(codename="verify_assessment").exists()


def test_create_roles_command_restores_a_tampered_group(capsys):
    from django.core.management import call_command

    editor = Group.objects.get(name="editor")
    editor.permissions.clear()
    call_command("create_roles")
    assert editor.permissions.count() == 60
    assert "editor: 60 permissions" in capsys.readouterr().out


def test_read_only_staff_see_every_page_but_cannot_change(client, member):
    instrument = F.instrument("KR", slug="kr-act", title="Old title")
    login(client, member("read_only_staff"))
    assert client.get(url(Instrument, "changelist")).status_code == 200
    page = client.get(url(Instrument, "change", instrument.pk))
    assert page.status_code == 200
    assert "Reason for this change" not in page.content.decode()

    response = client.post(url(Instrument, "change", instrument.pk), {"title": "New title"})
    assert response.status_code == 403
    assert Instrument.objects.get(pk=instrument.pk).title == "Old title"
    assert client.get(url(Instrument, "add")).status_code == 403
    assert client.get(reverse("admin:jurisdictions_instrument_import")).status_code == 403


def test_an_editor_s_change_is_in_the_history_with_the_editor_and_the_reason(client, member):
    instrument = F.instrument("KR", slug="kr-act", title="Old title")
    editor = member("editor", "ana")
    login(client, editor)
    change_url = url(Instrument, "change", instrument.pk)
    data = form_data(client.get(change_url))
    assert data["base_version"] == "1"
    data.update(title="New title", change_reason="Gazette of 2025-03-01")
    response = client.post(change_url, data)
    assert response.status_code == 302, errors_of(response)

    record = Instrument.history.filter(id=instrument.pk).latest("history_date")
    assert (record.history_type, record.title, record.history_user, record.version) == (
        "~", "New title", editor, 2,
    )
    assert record.history_change_reason == "Gazette of 2025-03-01"
    history_page = client.get(url(Instrument, "history", instrument.pk)).content.decode()
    assert "Gazette of 2025-03-01" in history_page and "ana" in history_page


# --- no lost updates ----------------------------------------------------------------------------
def test_a_stale_admin_form_is_refused_and_shows_what_changed(client, member, django_user_model):
    instrument = F.instrument("KR", slug="kr-act", title="Old title", summary="First summary")
    ana, ben = member("editor", "ana"), member("editor", "ben")
    change_url = url(Instrument, "change", instrument.pk)

    ana_form = form_data(login(client, ana).get(change_url))  # Ana opens the page…

    ben_client = client.__class__()
    ben_form = form_data(login(ben_client, ben).get(change_url))
    ben_form.update(summary="Ben's summary", change_reason="new source")
    assert ben_client.post(change_url, ben_form).status_code == 302  # …Ben saves first.

    ana_form.update(title="Ana's title")
    response = client.post(change_url, ana_form)
    assert response.status_code == 200
    errors = " ".join(response.context["adminform"].form.non_field_errors())
    assert "Someone else changed this instrument after you opened it" in errors
    assert "you opened version 1, it is now version 2" in errors
    assert "by ben (reason: new source)" in errors
    assert "summary: “First summary” → “Ben's summary”" in errors
    assert "Nothing was saved" in errors

    instrument.refresh_from_db()
    assert (instrument.title, instrument.summary, instrument.version) == (
        "Old title", "Ben's summary", 2,
    )
    assert not Instrument.history.filter(id=instrument.pk, history_user=ana).exists()

    # Submitting the same stale form again is refused again: nothing is overwritten silently.
    assert client.post(change_url, ana_form).status_code == 200
    # Reloading gives the current version, which saves.
    fresh = form_data(client.get(change_url))
    fresh["title"] = "Ana's title"
    assert client.post(change_url, fresh).status_code == 302
    instrument.refresh_from_db()
    assert (instrument.title, instrument.summary, instrument.version) == (
        "Ana's title", "Ben's summary", 3,
    )


def test_saving_an_unchanged_form_keeps_the_version_and_blocks_no_one(client, member):
    instrument = F.instrument("KR", slug="kr-act", title="Old title")
    ana, ben = member("editor", "ana"), member("editor", "ben")
    change_url = url(Instrument, "change", instrument.pk)
    ben_client = client.__class__()
    ben_form = form_data(login(ben_client, ben).get(change_url))  # Ben opens the page…

    ana_form = form_data(login(client, ana).get(change_url))
    ana_form["change_reason"] = "looked it over"  # …Ana saves it unchanged, with a reason.
    assert client.post(change_url, ana_form).status_code == 302
    instrument.refresh_from_db()
    assert instrument.version == 1
    assert Instrument.history.filter(id=instrument.pk).count() == 1  # the creation only

    ben_form["title"] = "Ben's title"  # Ben's form is still current: it saves.
    assert ben_client.post(change_url, ben_form).status_code == 302
    instrument.refresh_from_db()
    assert (instrument.title, instrument.version) == ("Ben's title", 2)


def test_a_stale_inline_row_is_refused_but_untouched_stale_rows_do_not_block(client, member):
    instrument = F.instrument("KR", slug="kr-act")
    answer = F.assessment(instrument, "possession", "yes", pinpoint="s. 1", cite=False)
    ana, ben = member("editor", "ana"), member("editor", "ben")
    change_url = url(Instrument, "change", instrument.pk)
    ana_form = form_data(login(client, ana).get(change_url))
    prefix = "assessments-0"
    assert ana_form[f"{prefix}-base_version"] == "1"

    # Ben changes the answer on its own page.
    ben_client = client.__class__()
    login(ben_client, ben)
    answer_url = url(Assessment, "change", answer.pk)
    ben_form = form_data(ben_client.get(answer_url))
    ben_form["pinpoint"] = "s. 2"
    assert ben_client.post(answer_url, ben_form).status_code == 302

    # Ana's form still holds "s. 1" for the row: saving it would undo Ben's change.
    ana_form[f"{prefix}-value"] = "partial"
    response = client.post(change_url, ana_form)
    assert response.status_code == 200
    assert "Someone else changed this assessment" in errors_of(response)
    assert "pinpoint: “s. 1” → “s. 2”" in errors_of(response)
    answer.refresh_from_db()
    assert (answer.value, answer.pinpoint) == ("yes", "s. 2")

    # Changing only the instrument itself is fine: the inline row is not saved.
    fresh_instrument_form = form_data(client.get(change_url))
    stale = dict(ana_form)
    stale[f"{prefix}-value"] = "yes"
    stale[f"{prefix}-pinpoint"] = "s. 2"  # as Ben left it: the row is untouched
    stale["title"] = "Renamed"
    stale["base_version"] = fresh_instrument_form["base_version"]
    response = client.post(change_url, stale)
    assert response.status_code == 302, errors_of(response)
    answer.refresh_from_db()
    assert (answer.value, answer.pinpoint, answer.version) == ("yes", "s. 2", 2)


def test_two_saves_of_one_version_cannot_both_land():
    """The database check under the form check: a save based on an old version writes nothing."""
    instrument = F.instrument("KR", slug="kr-act", title="Old")
    first = Instrument.objects.get(pk=instrument.pk)
    second = Instrument.objects.get(pk=instrument.pk)
    first.title = "First"
    first.save()
    second.title = "Second"
    # Like an IntegrityError, StaleVersion spoils the transaction it happens in: a savepoint.
    with pytest.raises(StaleVersion) as raised, transaction.atomic():
        second.save()
    assert (raised.value.expected, raised.value.current) == (1, 2)
    assert second.version == 1  # unchanged: the caller may reload and retry
    stored = Instrument.objects.get(pk=instrument.pk)
    assert (stored.title, stored.version) == ("First", 2)
    assert Instrument.history.filter(id=instrument.pk).count() == 2  # created + First


def test_saving_a_row_deleted_meanwhile_is_refused():
    source = F.source()
    stale = type(source).objects.get(pk=source.pk)
    source.delete()
    stale.title = "Edited"
    with pytest.raises(StaleVersion) as raised, transaction.atomic():
        stale.save()
    assert raised.value.current is None
    assert not type(source).objects.filter(pk=source.pk).exists()


def test_revert_from_history_is_based_on_the_current_version(client, member):
    instrument = F.instrument("KR", slug="kr-act", title="v1")
    first = Instrument.history.get(id=instrument.pk, history_type="+")
    for title in ("v2", "v3"):
        instrument.title = title
        instrument.save()
    login(client, member("editor"))
    revert_url = reverse(
        "admin:jurisdictions_instrument_simple_history", args=[instrument.pk, first.history_id]
    )
    data = form_data(client.get(revert_url))
    assert (data["title"], data["base_version"]) == ("v1", "3")
    response = client.post(revert_url, data)
    assert response.status_code == 302, errors_of(response)
    instrument.refresh_from_db()
    assert (instrument.title, instrument.version) == ("v1", 4)


# --- deletes leave history ------------------------------------------------------------------------
def test_bulk_admin_delete_leaves_each_row_in_history(client, member):
    instrument = F.instrument("KR", slug="kr-act", cite=False)
    identifiers = [
        Identifier.objects.create(instrument=instrument, scheme="national", value=f"No. {i}")
        for i in range(3)
    ]
    citations = [InstrumentSource.objects.create(instrument=instrument, source=F.source())
                 for _ in range(2)]
    editor = member("editor", "ana")
    login(client, editor)

    for model, rows in ((Identifier, identifiers), (InstrumentSource, citations)):
        response = client.post(
            url(model, "changelist"),
            {"action": "delete_selected", "_selected_action": [r.pk for r in rows],
             "post": "yes"},
        )
        assert response.status_code == 302
        assert not model.objects.filter(pk__in=[r.pk for r in rows]).exists()
        deleted = model.history.filter(id__in=[r.pk for r in rows], history_type="-")
        assert deleted.count() == len(rows)
        assert {d.history_user for d in deleted} == {editor}
        assert {d.history_change_reason for d in deleted} == {
            "admin: deleted with “delete selected”"
        }
    # The deleted rows' values stay readable, and their history page still answers.
    record = Identifier.history.get(id=identifiers[0].pk, history_type="-")
    assert (record.scheme, record.value, record.instrument_id) == ("national", "No. 0",
                                                                   instrument.pk)
    assert client.get(url(Identifier, "history", identifiers[0].pk)).status_code == 200


def test_bulk_delete_by_an_account_without_delete_permission_changes_nothing(client, member):
    identifier = Identifier.objects.create(
        instrument=F.instrument("KR", slug="kr-act"), scheme="national", value="1"
    )
    login(client, member("read_only_staff"))
    response = client.post(
        url(Identifier, "changelist"),
        {"action": "delete_selected", "_selected_action": [identifier.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302, 403)
    assert Identifier.objects.filter(pk=identifier.pk).exists()
    assert not Identifier.history.filter(history_type="-").exists()


# --- verification ---------------------------------------------------------------------------------
def _actions(client, model):
    return [name for name, _ in client.get(url(model, "changelist")).context["action_form"]
            .fields["action"].choices]


def test_a_reviewer_marks_answers_verified_today(client, member, today):
    instrument = F.instrument("KR", slug="kr-act")
    answers = [F.assessment(instrument, slug) for slug in ("possession", "production")]
    reviewer = member("reviewer", "rita")
    login(client, reviewer)
    assert "mark_verified_today" in _actions(client, Assessment)
    response = client.post(
        url(Assessment, "changelist"),
        {"action": "mark_verified_today", "_selected_action": [a.pk for a in answers]},
    )
    assert response.status_code == 302
    for answer in answers:
        answer.refresh_from_db()
        assert (answer.verified_on, answer.verified_by) == (today, reviewer)
        record = Assessment.history.filter(id=answer.pk).latest("history_date")
        assert (record.history_user, record.history_change_reason, record.verified_on) == (
            reviewer, f"verified on {today.isoformat()}", today,
        )


def test_an_editor_cannot_mark_verified(client, member):
    answer = F.assessment(F.instrument("KR", slug="kr-act"), "possession")
    login(client, member("editor"))
    assert "mark_verified_today" not in _actions(client, Assessment)
    response = client.post(
        url(Assessment, "changelist"),
        {"action": "mark_verified_today", "_selected_action": [answer.pk]},
    )
    assert response.status_code in (200, 302)
    answer.refresh_from_db()
    assert answer.verified_on is None

    # On the form the verification fields are read-only for an editor: a posted date is ignored.
    change_url = url(Assessment, "change", answer.pk)
    data = form_data(client.get(change_url))
    assert "verified_on" not in data
    data.update(verified_on="2026-01-01", note="edited")
    assert client.post(change_url, data).status_code == 302
    answer.refresh_from_db()
    assert (answer.note, answer.verified_on) == ("edited", None)


def test_a_reviewer_setting_the_date_on_the_form_is_recorded_as_verifier(client, member):
    answer = F.assessment(F.instrument("KR", slug="kr-act"), "possession")
    reviewer = member("reviewer", "rita")
    login(client, reviewer)
    change_url = url(Assessment, "change", answer.pk)
    data = form_data(client.get(change_url))
    data["verified_on"] = "2026-02-03"
    assert client.post(change_url, data).status_code == 302, "saved"
    answer.refresh_from_db()
    assert (answer.verified_on, answer.verified_by) == (datetime.date(2026, 2, 3), reviewer)


def test_a_reviewer_marks_jurisdictions_reviewed_today(client, member, today):
    kr = F.jurisdiction("KR", research_status="in_progress")
    reviewer = member("reviewer", "rita")
    login(client, reviewer)
    assert "mark_reviewed_today" in _actions(client, Jurisdiction)
    client.post(url(Jurisdiction, "changelist"),
                {"action": "mark_reviewed_today", "_selected_action": [kr.pk]})
    kr.refresh_from_db()
    assert (kr.research_status, kr.last_reviewed_on, kr.reviewed_by) == (
        "reviewed", today, reviewer,
    )
    assert Jurisdiction.history.filter(id=kr.pk).latest("history_date").history_user == reviewer

    login(client, member("editor"))
    assert "mark_reviewed_today" not in _actions(client, Jurisdiction)


def test_stale_filter_lists_answers_never_or_long_ago_verified(client, member, settings, today):
    settings.LAWTRACKER_STALE_DAYS = 365
    instrument = F.instrument("KR", slug="kr-act")
    fresh = F.assessment(instrument, "possession", verified_on=today - datetime.timedelta(10))
    old = F.assessment(instrument, "production", verified_on=today - datetime.timedelta(400))
    never = F.assessment(instrument, "distribution")
    login(client, member("read_only_staff"))
    changelist = url(Assessment, "changelist")

    def listed(params):
        return {a.pk for a in client.get(changelist, params).context["cl"].result_list}

    assert listed({"stale": "true"}) == {old.pk, never.pk}
    assert listed({"stale": "false"}) == {fresh.pk}
    page = client.get(changelist).content.decode()
    assert "Stale (never verified, or more than 365 days ago)" in page

    settings.LAWTRACKER_STALE_DAYS = 500
    assert listed({"stale": "true"}) == {never.pk}


def test_review_staleness_filter_on_jurisdictions(client, member, today):
    old = F.jurisdiction("KR", research_status="reviewed",
                         last_reviewed_on=today - datetime.timedelta(days=800))
    fresh = F.jurisdiction("DE", research_status="reviewed", last_reviewed_on=today)
    login(client, member("read_only_staff"))
    response = client.get(url(Jurisdiction, "changelist"), {"review_stale": "false"})
    assert [j.code for j in response.context["cl"].result_list] == [fresh.code]
    response = client.get(url(Jurisdiction, "changelist"), {"review_stale": "true"})
    assert old.code in [j.code for j in response.context["cl"].result_list]


def test_citations_removed_in_an_inline_are_in_the_history(client, member):
    answer = F.assessment(F.instrument("KR", slug="kr-act"), "possession")
    citation = AssessmentSource.objects.get(assessment=answer)
    editor = member("editor", "ana")
    login(client, editor)
    change_url = url(Assessment, "change", answer.pk)
    data = form_data(client.get(change_url))
    data["citations-0-DELETE"] = "on"
    data["change_reason"] = "source withdrawn"
    assert client.post(change_url, data).status_code == 302, "saved"
    record = AssessmentSource.history.get(id=citation.pk, history_type="-")
    assert (record.history_user, record.history_change_reason) == (editor, "source withdrawn")
