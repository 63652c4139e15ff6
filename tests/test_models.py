"""The domain models: every constraint rejects a bad row with its message (through ``full_clean``
as a form would, and in the database when ``clean`` is bypassed), code and URL validation, the
date-precision rule, the status derived from status events, PROTECT, and history."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from jurisdictions.choices import DatePrecision, LegalForce, ResearchStatus
from jurisdictions.models import (
    Assessment,
    AssessmentSource,
    BlocMembership,
    Criterion,
    Event,
    EventJurisdiction,
    EventSource,
    Identifier,
    Instrument,
    InstrumentAmendment,
    InstrumentSource,
    Jurisdiction,
    Source,
    StatusEvent,
    StatusEventSource,
    fold_for_search,
    validate_code,
    validate_http_url,
)
from tests import factories as F

pytestmark = pytest.mark.django_db

D = datetime.date.fromisoformat


# --- every constraint: a bad row and the message it is refused with ------------------------
# Each builder makes the rows a case needs and returns the bad row, unsaved. The same row is
# checked twice: ``full_clean`` (what a form runs) names the problem, and ``bulk_create``,
# which skips ``clean``, hits the database constraint.
def _instrument():
    return F.instrument("KR", slug="kr-act")


def _event_row():
    instrument = _instrument()
    F.event(instrument, "introduced", "2024-01-10", cite=False)
    return instrument


def _assessed():
    instrument = _instrument()
    return F.assessment(instrument, "possession", cite=False)


def _event():
    return Event.objects.create(
        slug="operation-cumberland", date=D("2025-02-26"), title="Operation Cumberland",
        kind="enforcement_operation",
    )


DB_CONSTRAINT_CASES = {
    "jurisdiction code unique": (
        lambda: (F.jurisdiction("KR"), Jurisdiction(code="KR", name="Korea", kind="country"))[1],
        "Jurisdiction with this Code already exists.",
    ),
    "subdivision has a parent": (
        lambda: Jurisdiction(code="US-CA", name="California", kind="subdivision"),
        "A subdivision must have a parent jurisdiction.",
    ),
    "only subdivisions have a parent": (
        lambda: Jurisdiction(code="KR", name="Korea", kind="country", parent=F.jurisdiction("US")),
        "Only a subdivision has a parent jurisdiction.",
    ),
    "reviewed has a review date": (
        lambda: Jurisdiction(
            code="KR", name="Korea", kind="country", research_status=ResearchStatus.REVIEWED
        ),
        "A reviewed jurisdiction needs the date of its last review.",
    ),
    "jurisdiction code upper case": (
        lambda: Jurisdiction(code="kr", name="Korea", kind="country"),
        "kr is not a jurisdiction code: use ISO 3166-1 alpha-2 (KR), ISO 3166-2 (US-CA) in "
        "capitals, or EU, UN, COE.",
    ),
    "membership unique": (
        lambda: BlocMembership(
            bloc=F.jurisdiction("EU"),
            member=BlocMembership.objects.create(
                bloc=F.jurisdiction("EU"), member=F.jurisdiction("DE"), start_date=D("1958-01-01")
            ).member,
            start_date=D("1958-01-01"),
        ),
        "This membership already exists.",
    ),
    "membership ends after it starts": (
        lambda: BlocMembership(
            bloc=F.jurisdiction("EU"),
            member=F.jurisdiction("GB"),
            start_date=D("1973-01-01"),
            end_date=D("1972-12-31"),
        ),
        "A membership cannot end before it starts.",
    ),
    "bloc not a member of itself": (
        lambda: BlocMembership(
            bloc=F.jurisdiction("EU"), member=F.jurisdiction("EU"), start_date=D("1993-11-01")
        ),
        "A bloc cannot be a member of itself.",
    ),
    "source url unique": (
        lambda: Source(url=F.source(url="https://example.org/a").url),
        "Source with this Url already exists.",
    ),
    "source url javascript:": (
        lambda: Source(url="javascript:alert(1)"),
        "Only http:// and https:// URLs are accepted.",
    ),
    "source url data:": (
        lambda: Source(url="data:text/html,<script>alert(1)</script>"),
        "Only http:// and https:// URLs are accepted.",
    ),
    "source archived url javascript:": (
        lambda: Source(url="https://example.org/b", archived_url="javascript:alert(1)"),
        "Only http:// and https:// URLs are accepted.",
    ),
    "source url ftp:": (
        lambda: Source(url="ftp://example.org/file.pdf"),
        "Only http:// and https:// URLs are accepted.",
    ),
    "instrument slug unique": (
        lambda: Instrument(
            jurisdiction=_instrument().jurisdiction, slug="kr-act", instrument_type="statute",
            title="Another act",
        ),
        "Instrument with this Slug already exists.",
    ),
    "instrument slug format": (
        lambda: Instrument(
            jurisdiction=F.jurisdiction("KR"), slug="KR--Act", instrument_type="statute",
            title="An act",
        ),
        "A slug is lower-case letters, digits and single hyphens.",
    ),
    "instrument official url javascript:": (
        lambda: Instrument(
            jurisdiction=F.jurisdiction("KR"), slug="kr-act", instrument_type="statute",
            title="An act", official_url="javascript:alert(1)",
        ),
        "Only http:// and https:// URLs are accepted.",
    ),
    "identifier unique in scheme": (
        lambda: Identifier(
            instrument=Identifier.objects.create(
                instrument=_instrument(), scheme="celex", value="32011L0093"
            ).instrument,
            scheme="celex",
            value="32011L0093",
        ),
        "This identifier is already given to an instrument.",
    ),
    "amendment unique": (
        lambda: InstrumentAmendment(
            **{
                name: getattr(link, name)
                for link in [
                    InstrumentAmendment.objects.create(
                        amending=F.instrument("KR", slug="kr-amending"),
                        amended=F.instrument("KR", slug="kr-amended"),
                    )
                ]
                for name in ("amending", "amended")
            }
        ),
        "This amendment link already exists.",
    ),
    "instrument does not amend itself": (
        lambda: (lambda i: InstrumentAmendment(amending=i, amended=i))(_instrument()),
        "An instrument cannot amend itself.",
    ),
    "status event unique step": (
        lambda: StatusEvent(instrument=_event_row(), status="introduced", date=D("2024-01-10")),
        "This instrument already has this status on this date with this precision.",
    ),
    "criterion slug unique": (
        lambda: Criterion(slug=F.criterion("possession").slug, label="Possession", question="?"),
        "Criterion with this Slug already exists.",
    ),
    "assessment unique per criterion": (
        lambda: (
            lambda a: Assessment(instrument=a.instrument, criterion=a.criterion, value="no")
        )(_assessed()),
        "This instrument is already assessed on this criterion.",
    ),
    "event slug unique": (
        lambda: Event(
            slug=_event().slug, date=D("2025-02-26"), title="Again", kind="enforcement_operation"
        ),
        "Event with this Slug already exists.",
    ),
    "event jurisdiction unique": (
        lambda: (
            lambda link: EventJurisdiction(event=link.event, jurisdiction=link.jurisdiction)
        )(EventJurisdiction.objects.create(event=_event(), jurisdiction=F.jurisdiction("DK"))),
        "This jurisdiction is already linked to the event.",
    ),
    "instrument citation unique": (
        lambda: (lambda c: InstrumentSource(instrument=c.instrument, source=c.source))(
            _instrument().citations.get()
        ),
        "The instrument already cites this source.",
    ),
    "status event citation unique": (
        lambda: (lambda c: StatusEventSource(status_event=c.status_event, source=c.source))(
            F.event(_instrument(), "introduced", "2024-01-10").citations.get()
        ),
        "The status event already cites this source.",
    ),
    "assessment citation unique": (
        lambda: (lambda c: AssessmentSource(assessment=c.assessment, source=c.source))(
            F.assessment(_instrument()).citations.get()
        ),
        "The assessment already cites this source.",
    ),
    "event citation unique": (
        lambda: (lambda c: EventSource(event=c.event, source=c.source))(
            EventSource.objects.create(event=_event(), source=F.source())
        ),
        "The event already cites this source.",
    ),
    # issue 15: full_clean reports these through the field's choices (a validator, below).
    "step body known": (
        lambda: StatusEvent(instrument=_instrument(), status="adopted", date=D("2024-01-01"),
                            body="senate"),
        "The body is one of lower_house, upper_house, unicameral, european_parliament, "
        "council, executive, court, other.",
    ),
    "assessment basis known": (
        lambda: Assessment(instrument=_instrument(), criterion=F.criterion("possession"),
                           value="yes", basis="blog"),
        "The basis is one of text, court_reading, official_guidance, commentary.",
    ),
}
# Reported by a field's validator in full_clean (the constraint's message shows only when the
# database meets the row).
REPORTED_BY_A_VALIDATOR = {"jurisdiction code upper case", "step body known",
                           "assessment basis known"}


# full_clean upper-cases a code before checking it (test_full_clean_accepts_a_lower_case_code…):
# only the database constraint meets a lower-case code, when clean is bypassed.
FULL_CLEAN_CASES = [case for case in DB_CONSTRAINT_CASES if case not in REPORTED_BY_A_VALIDATOR]


@pytest.mark.parametrize("case", FULL_CLEAN_CASES)
def test_full_clean_names_the_broken_rule(case):
    build, message = DB_CONSTRAINT_CASES[case]
    row = build()
    with pytest.raises(ValidationError) as raised:
        row.full_clean()
    assert message in raised.value.messages


@pytest.mark.parametrize("case", DB_CONSTRAINT_CASES, ids=list(DB_CONSTRAINT_CASES))
def test_database_refuses_the_bad_row_when_clean_is_bypassed(case):
    build, _message = DB_CONSTRAINT_CASES[case]
    row = build()
    model = type(row)
    before = model.objects.count()
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.bulk_create([row])
    assert model.objects.count() == before


def test_every_database_constraint_has_a_case():
    """A constraint added to a model without a case above fails here."""
    from django.apps import apps

    messages = {message for _build, message in DB_CONSTRAINT_CASES.values()}
    # full_clean reports a lower-case code through the field's validator, whose message the
    # "jurisdiction code upper case" case checks; the constraint's own message never shows.
    reported_by_a_validator = {"jurisdiction_code_uppercase"}
    missing = [
        constraint.name
        for model in apps.get_app_config("jurisdictions").get_models()
        for constraint in model._meta.constraints
        if constraint.violation_error_message not in messages
        and constraint.name not in reported_by_a_validator
    ]
    assert missing == []


def test_updates_that_bypass_clean_hit_the_database_constraints():
    kr = F.jurisdiction("KR")
    us = F.jurisdiction("US")
    bad_updates = [
        (Jurisdiction.objects.filter(pk=kr.pk), {"code": "kr"}),
        (Jurisdiction.objects.filter(pk=kr.pk), {"research_status": ResearchStatus.REVIEWED}),
        (Jurisdiction.objects.filter(pk=kr.pk), {"parent": us}),
        (Jurisdiction.objects.filter(pk=kr.pk), {"kind": "subdivision"}),
        (Source.objects.filter(pk=F.source().pk), {"url": "javascript:alert(1)"}),
        (Instrument.objects.filter(pk=_instrument().pk), {"slug": "Not A Slug"}),
        (Instrument.objects.filter(slug="kr-act"), {"official_url": "data:,x"}),
    ]
    for queryset, values in bad_updates:
        with pytest.raises(IntegrityError), transaction.atomic():
            queryset.update(**values)
    kr.refresh_from_db()
    assert (kr.code, kr.parent_id, kr.research_status) == ("KR", None, "not_researched")


# --- save() runs clean(): the same rules for the shell, importers and the admin ---------------
def test_save_runs_clean_and_refuses_a_bad_row():
    with pytest.raises(ValidationError) as raised:
        Source.objects.create(url="javascript:alert(1)")
    assert raised.value.messages == ["Only http:// and https:// URLs are accepted."]
    with pytest.raises(ValidationError):
        Jurisdiction.objects.create(code="US-CA", name="California", kind="subdivision")
    assert not Source.objects.exists()
    assert not Jurisdiction.objects.exists()


# --- jurisdiction codes -----------------------------------------------------------------------
def test_save_normalises_the_code_to_upper_case_and_folds_search_text():
    kr = Jurisdiction.objects.create(code=" kr ", name="Korea, Republic of", kind="country")
    assert kr.code == "KR"
    assert Jurisdiction.objects.get_by_natural_key("kr") == kr
    sao_paulo = F.jurisdiction("BR-SP", name="São Paulo")
    assert sao_paulo.search_text == "br-sp\nsao paulo"
    found = Jurisdiction.objects.filter(search_text__icontains=fold_for_search("SAO PAULO"))
    assert list(found) == [sao_paulo]


def test_full_clean_accepts_a_lower_case_code_and_normalises_it():
    jurisdiction = Jurisdiction(code="kr", name="Korea", kind="country")
    jurisdiction.full_clean()
    assert jurisdiction.code == "KR"


@pytest.mark.parametrize(
    "code, kind, parent_code",
    [
        ("KR", "country", None),
        ("US-CA", "subdivision", "US"),
        ("GB-SCT", "subdivision", "GB"),
        ("JP-31", "subdivision", "JP"),
        ("EU", "supranational", None),
        ("UN", "international", None),
        ("COE", "international", None),
    ],
)
def test_known_codes_are_accepted(code, kind, parent_code):
    parent = F.jurisdiction(parent_code) if parent_code else None
    jurisdiction = Jurisdiction(code=code, name=code, kind=kind, parent=parent)
    jurisdiction.full_clean()
    jurisdiction.save()
    assert Jurisdiction.objects.get(code=code).kind == kind


@pytest.mark.parametrize(
    "code, kind, message",
    [
        ("XX", "country", "XX is not an ISO 3166 code for a country."),
        ("US-ZZ", "subdivision", "US-ZZ is not an ISO 3166 code for a subdivision."),
        ("US-CA", "country", "US-CA is not an ISO 3166 code for a country."),
        ("KR", "subdivision", "KR is not an ISO 3166 code for a subdivision."),
        ("UN", "supranational", "UN is not an ISO 3166 code for a supranational."),
    ],
)
def test_unknown_iso_codes_are_refused(code, kind, message):
    parent = F.jurisdiction("US") if kind == "subdivision" else None
    with pytest.raises(ValidationError) as raised:
        Jurisdiction(code=code, name="?", kind=kind, parent=parent).full_clean()
    assert raised.value.message_dict["code"] == [message]


@pytest.mark.parametrize("code", ["KOR", "K1", "K", "US-", "US-CALIF", "US_CA", "410", "", "E U"])
def test_badly_shaped_codes_are_refused(code):
    with pytest.raises(ValidationError) as raised:
        validate_code(code)
    assert raised.value.code == "code_format"
    with pytest.raises(ValidationError) as raised:
        Jurisdiction.objects.create(code=code, name="?", kind="country")
    assert "is not a jurisdiction code" in raised.value.messages[0]


def test_subdivision_needs_a_parent_and_others_must_not_have_one():
    with pytest.raises(ValidationError) as raised:
        Jurisdiction(code="US-CA", name="California", kind="subdivision").full_clean()
    assert raised.value.message_dict["parent"] == ["A subdivision must have a parent jurisdiction."]
    california = F.jurisdiction("US-CA")
    assert california.parent.code == "US"


def test_a_jurisdiction_cannot_be_its_own_parent():
    california = F.jurisdiction("US-CA")
    california.parent = california
    with pytest.raises(ValidationError) as raised:
        california.full_clean()
    assert raised.value.message_dict["parent"] == ["A jurisdiction cannot be its own parent."]


def test_reviewed_needs_the_date_of_the_last_review():
    kr = F.jurisdiction("KR")
    kr.research_status = ResearchStatus.REVIEWED
    with pytest.raises(ValidationError) as raised:
        kr.save()
    assert raised.value.message_dict["last_reviewed_on"] == [
        "A reviewed jurisdiction needs the date of its last review."
    ]
    kr.last_reviewed_on = D("2026-11-29")
    kr.save()
    kr.refresh_from_db()
    assert (kr.research_status, kr.last_reviewed_on) == ("reviewed", D("2026-11-29"))


# --- URLs -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        " javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "ftp://example.org/a",
        "//example.org/a",
        "vbscript:msgbox",
    ],
)
def test_non_http_urls_are_refused(url):
    with pytest.raises(ValidationError) as raised:
        validate_http_url(url)
    assert raised.value.code == "scheme"
    with pytest.raises(ValidationError):
        Source.objects.create(url=url)
    assert not Source.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://example.org/a",
        "https://example.org/b",
        "HTTPS://EXAMPLE.ORG/C",  # RFC 3986: schemes are case-insensitive, on both databases
    ],
)
def test_http_and_https_urls_are_accepted(url):
    source = Source(url=url, title="A source")
    source.full_clean()
    source.save()
    assert Source.objects.get().url == url


# --- date precision ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "date, precision, error",
    [
        ("2024-09-01", DatePrecision.MONTH, None),
        ("2024-09-15", DatePrecision.MONTH, "stored as the first day of that month."),
        ("2024-01-01", DatePrecision.YEAR, None),
        ("2024-03-01", DatePrecision.YEAR, "stored as 1 January of that year."),
        ("2024-01-15", DatePrecision.YEAR, "stored as 1 January of that year."),
        ("2024-09-15", DatePrecision.DAY, None),
        ("2024-09-15", DatePrecision.ON_OR_BEFORE, None),
    ],
)
def test_date_precision_rule_for_status_events_and_events(date, precision, error):
    instrument = _instrument()
    step = StatusEvent(
        instrument=instrument, status="introduced", date=D(date), date_precision=precision
    )
    happening = Event(
        slug="report", date=D(date), date_precision=precision, title="A report", kind="report"
    )
    for row in (step, happening):
        if error is None:
            row.full_clean()
            row.save()
            assert type(row).objects.get(pk=row.pk).date == D(date)
        else:
            with pytest.raises(ValidationError) as raised:
                row.save()
            assert raised.value.message_dict["date"][0].endswith(error)
            assert row.pk is None


def test_event_figures_are_named_numbers():
    event = Event(slug="op", date=D("2025-02-26"), title="Op", kind="enforcement_operation")
    for figures in ({"arrests": "25"}, {"arrests": True}, [25], {"arrests": None}):
        event.figures = figures
        with pytest.raises(ValidationError) as raised:
            event.full_clean()
        assert raised.value.message_dict["figures"] == [
            'Figures are named numbers: {"arrests": 25}.'
        ]
    event.figures = {"arrests": 25, "suspects_identified": 273, "share": 0.5}
    event.save()
    assert Event.objects.get().figures == {"arrests": 25, "suspects_identified": 273, "share": 0.5}


# --- the derived status -----------------------------------------------------------------------
def assert_status(instrument_pk: int, as_of: str, status: str | None, force: str | None):
    """Instrument.status_as_of, legal_force_as_of, the for_api() shape and the SQL annotation
    (InstrumentQuerySet.with_status) must all agree."""
    day = D(as_of)
    fresh = Instrument.objects.get(pk=instrument_pk)
    prefetched = Instrument.objects.for_api().get(pk=instrument_pk)
    annotated = Instrument.objects.with_status(day).get(pk=instrument_pk)
    assert fresh.status_as_of(day) == status, as_of
    assert prefetched.status_as_of(day) == status, as_of
    assert annotated.status_at == status, as_of
    assert fresh.legal_force_as_of(day) == force, as_of


def test_derived_status_follows_added_edited_and_deleted_events():
    bill = F.instrument("KR", slug="kr-bill", instrument_type="bill")
    assert_status(bill.pk, "2024-12-31", None, None)
    assert bill.key_dates() == {"introduced": None, "adopted": None, "in_force": None}

    introduced = F.event(bill, "introduced", "2024-09-01", precision="month")
    adopted = F.event(bill, "adopted", "2024-10-16")
    assert_status(bill.pk, "2024-08-31", None, None)
    assert_status(bill.pk, "2024-09-01", "introduced", LegalForce.NOT_IN_FORCE)
    assert_status(bill.pk, "2024-10-15", "introduced", LegalForce.NOT_IN_FORCE)
    assert_status(bill.pk, "2024-10-16", "adopted", LegalForce.NOT_IN_FORCE)

    partly = F.event(bill, "partially_in_force", "2025-01-01")
    assert_status(bill.pk, "2025-01-01", "partially_in_force", LegalForce.PARTIALLY_IN_FORCE)
    assert Instrument.objects.applying(D("2025-01-01")).get() == bill
    assert not Instrument.objects.pending(D("2025-01-01")).exists()
    assert Instrument.objects.pending(D("2024-12-31")).get() == bill

    # Editing an event's date moves the derived status with it.
    adopted.date = D("2024-11-20")
    adopted.save()
    assert_status(bill.pk, "2024-10-16", "introduced", LegalForce.NOT_IN_FORCE)
    assert_status(bill.pk, "2024-11-20", "adopted", LegalForce.NOT_IN_FORCE)

    # Editing an event's status too.
    partly.status = "in_force"
    partly.save()
    assert_status(bill.pk, "2025-06-30", "in_force", LegalForce.IN_FORCE)
    assert Instrument.objects.get(pk=bill.pk).key_dates() == {
        "introduced": {"date": "2024-09-01", "precision": "month"},
        "adopted": {"date": "2024-11-20", "precision": "day"},
        "in_force": {"date": "2025-01-01", "precision": "day"},
    }

    # Deleting an event (its citations first: they are PROTECT) drops it from the history.
    partly.citations.all().delete()
    partly.delete()
    assert_status(bill.pk, "2025-06-30", "adopted", LegalForce.NOT_IN_FORCE)
    assert Instrument.objects.get(pk=bill.pk).key_dates()["in_force"] is None

    introduced.citations.all().delete()
    introduced.delete()
    adopted.citations.all().delete()
    adopted.delete()
    assert_status(bill.pk, "2025-06-30", None, None)

    # Events changed by a bulk update (an import) are seen too: nothing is cached on the row.
    F.event(bill, "introduced", "2024-09-01", precision="month")
    StatusEvent.objects.filter(instrument=bill).update(status="withdrawn")
    assert_status(bill.pk, "2025-06-30", "withdrawn", LegalForce.NOT_IN_FORCE)


@pytest.mark.parametrize("first, second", [("adopted", "in_force"), ("in_force", "adopted")])
def test_same_day_adopted_and_in_force_is_in_force_whatever_the_entry_order(first, second):
    statute = F.instrument("KR", slug="kr-statute")
    F.event(statute, "introduced", "2024-01-10")
    F.event(statute, first, "2024-06-01")
    F.event(statute, second, "2024-06-01")
    assert_status(statute.pk, "2024-06-01", "in_force", LegalForce.IN_FORCE)
    assert_status(statute.pk, "2024-05-31", "introduced", LegalForce.NOT_IN_FORCE)
    fresh = Instrument.objects.get(pk=statute.pk)
    assert fresh.key_dates() == {
        "introduced": {"date": "2024-01-10", "precision": "day"},
        "adopted": {"date": "2024-06-01", "precision": "day"},
        "in_force": {"date": "2024-06-01", "precision": "day"},
    }
    assert Instrument.objects.with_status(D("2024-06-01")).get().status_date_at == D("2024-06-01")


def test_ends_of_life_and_many_instruments_at_once():
    vetoed = F.instrument("US", slug="us-vetoed", instrument_type="bill")
    F.event(vetoed, "introduced", "2023-02-01")
    F.event(vetoed, "passed_chamber", "2023-05-01")
    F.event(vetoed, "vetoed", "2023-09-30")
    repealed = F.instrument("GB", slug="gb-repealed")
    F.event(repealed, "in_force", "2010-01-01", precision="year")
    F.event(repealed, "repealed", "2020-01-01")
    silent = F.instrument("JP", slug="jp-no-events")

    assert_status(vetoed.pk, "2023-06-01", "passed_chamber", LegalForce.NOT_IN_FORCE)
    assert_status(vetoed.pk, "2024-01-01", "vetoed", LegalForce.NOT_IN_FORCE)
    assert_status(repealed.pk, "2015-06-30", "in_force", LegalForce.IN_FORCE)
    assert_status(repealed.pk, "2020-01-01", "repealed", LegalForce.NOT_IN_FORCE)
    assert_status(silent.pk, "2026-01-01", None, None)

    on = D("2015-06-30")
    assert dict(Instrument.objects.with_status(on).values_list("slug", "status_at")) == {
        "us-vetoed": None,
        "gb-repealed": "in_force",
        "jp-no-events": None,
    }
    assert [i.slug for i in Instrument.objects.applying(on)] == ["gb-repealed"]


# --- PROTECT: deleting a row with legal dependants is refused ----------------------------------
def test_deleting_a_jurisdiction_with_instruments_children_or_memberships_is_refused():
    instrument = _instrument()
    with pytest.raises(ProtectedError):
        instrument.jurisdiction.delete()
    california = F.jurisdiction("US-CA")
    with pytest.raises(ProtectedError):
        california.parent.delete()
    membership = BlocMembership.objects.create(
        bloc=F.jurisdiction("EU"), member=F.jurisdiction("DE"), start_date=D("1958-01-01")
    )
    for jurisdiction in (membership.bloc, membership.member):
        with pytest.raises(ProtectedError):
            jurisdiction.delete()
    with pytest.raises(ProtectedError):
        Jurisdiction.objects.all().delete()
    assert sorted(Jurisdiction.objects.values_list("code", flat=True)) == [
        "DE", "EU", "KR", "US", "US-CA"
    ]


def test_deleting_an_instrument_with_dependants_is_refused():
    instrument = _instrument()  # cites a source
    with pytest.raises(ProtectedError):
        instrument.delete()
    instrument.citations.all().delete()
    for make in (
        lambda: F.event(instrument, "introduced", "2024-01-10", cite=False),
        lambda: F.assessment(instrument, cite=False),
        lambda: Identifier.objects.create(instrument=instrument, scheme="national", value="1"),
        lambda: InstrumentAmendment.objects.create(
            amending=F.instrument("KR", slug="kr-amendment", cite=False), amended=instrument
        ),
    ):
        dependant = make()
        with pytest.raises(ProtectedError):
            instrument.delete()
        dependant.delete()
    instrument.delete()
    assert not Instrument.objects.filter(slug="kr-act").exists()


def test_deleting_a_cited_source_or_a_cited_status_event_is_refused():
    instrument = _instrument()
    source = instrument.sources.get()
    with pytest.raises(ProtectedError):
        source.delete()
    with pytest.raises(ProtectedError):
        Source.objects.filter(pk=source.pk).delete()
    step = F.event(instrument, "introduced", "2024-01-10")
    with pytest.raises(ProtectedError):
        step.delete()
    assert Source.objects.count() == 2


def test_criteria_are_never_deleted():
    criterion = F.criterion("possession")
    with pytest.raises(ValidationError) as raised:
        criterion.delete()
    assert raised.value.messages == ["A criterion is never deleted: mark it retired instead."]
    F.assessment(_instrument(), "possession")
    with pytest.raises(ValidationError):
        Criterion.objects.filter(pk=criterion.pk).delete()
    criterion.retired = True
    criterion.save()
    assert Criterion.objects.get(slug="possession").retired is True


def test_criteria_are_never_deleted_even_in_bulk():
    F.criterion("possession")
    with pytest.raises((ValidationError, ProtectedError)):
        Criterion.objects.all().delete()


def test_deleting_an_account_keeps_reviews_and_assessments(django_user_model):
    editor = django_user_model.objects.create_user("editor")
    kr = F.jurisdiction(
        "KR",
        research_status=ResearchStatus.REVIEWED,
        last_reviewed_on=D("2026-11-01"),
        reviewed_by=editor,
    )
    assessment = F.assessment(_instrument(), verified_on=D("2026-11-01"), verified_by=editor)
    editor.delete()
    kr.refresh_from_db()
    assessment.refresh_from_db()
    assert (kr.reviewed_by, kr.last_reviewed_on) == (None, D("2026-11-01"))
    assert (assessment.verified_by, assessment.verified_on) == (None, D("2026-11-01"))


# --- history ----------------------------------------------------------------------------------
def test_history_records_create_update_and_delete():
    source = F.source(url="https://example.org/law", title="Draft")
    source.title = "Final"
    source.save()
    source_id = source.pk
    source.delete()
    records = Source.history.filter(id=source_id).order_by("history_date", "history_id")
    assert [(r.history_type, r.title) for r in records] == [
        ("+", "Draft"),
        ("~", "Final"),
        ("-", "Final"),
    ]

    instrument = _instrument()
    step = F.event(instrument, "introduced", "2024-01-10")
    step.date = D("2024-01-11")
    step.save()
    assert [(r.history_type, r.date) for r in StatusEvent.history.filter(id=step.pk)] == [
        ("~", D("2024-01-11")),
        ("+", D("2024-01-10")),
    ]
    citation = step.citations.get()
    citation_id = citation.pk
    citation.delete()
    assert StatusEventSource.history.filter(id=citation_id, history_type="-").exists()

    kr = instrument.jurisdiction
    kr.research_status = ResearchStatus.IN_PROGRESS
    kr.save()
    assert list(
        Jurisdiction.history.filter(id=kr.pk).values_list("history_type", "research_status")
    ) == [("~", "in_progress"), ("+", "not_researched")]


def test_every_model_keeps_history():
    from django.apps import apps

    for model in apps.get_app_config("jurisdictions").get_models():
        if model.__name__.startswith("Historical"):
            continue
        assert hasattr(model, "history"), model.__name__


def test_fold_for_search():
    assert fold_for_search("São Paulo", None, "", "Ōsaka") == "sao paulo\nosaka"
    assert fold_for_search("STRAßE") == "strasse"
