"""Every vocabulary of lawtracker, as stable slugs with display labels.

Slugs are part of the public contract (``../shared/DOMAIN.md``): a label may be reworded, a slug
never changes. The mappings between vocabularies (procedural status -> legal force, procedural
status -> Open Civic Data bill-action classification) live here, in one place, so that importers
and the coverage rules agree.
"""

from django.db import models


class JurisdictionKind(models.TextChoices):
    SUPRANATIONAL = "supranational", "Supranational bloc"
    COUNTRY = "country", "Country"
    SUBDIVISION = "subdivision", "Subdivision"
    INTERNATIONAL = "international", "International organisation"


class ResearchStatus(models.TextChoices):
    NOT_RESEARCHED = "not_researched", "Not researched"
    IN_PROGRESS = "in_progress", "In progress"
    REVIEWED = "reviewed", "Reviewed"


class InstrumentType(models.TextChoices):
    STATUTE = "statute", "Statute"
    AMENDMENT = "amendment", "Amendment"
    BILL = "bill", "Bill"
    PROPOSAL = "proposal", "Proposal"
    DIRECTIVE = "directive", "Directive"
    REGULATION = "regulation", "Regulation"
    CODE_PROVISION = "code_provision", "Code provision"
    # Retired (issue 15): a judgment is not law here; it is a source and a court_ruling event.
    # The slug is kept so that old exports and links keep their meaning.
    COURT_DECISION = "court_decision", "Court decision (retired)"
    TREATY = "treaty", "Treaty"


# Instrument types no new row may take; rows of these types never decide coverage.
RETIRED_INSTRUMENT_TYPES = frozenset({InstrumentType.COURT_DECISION})
# The types of law (DOMAIN.md, "What counts as law") whose adoption makes them law; bills and
# proposals only ever appear as pending.
ADOPTED_LAW_TYPES = frozenset(
    {
        InstrumentType.STATUTE,
        InstrumentType.AMENDMENT,
        InstrumentType.CODE_PROVISION,
        InstrumentType.REGULATION,
        InstrumentType.DIRECTIVE,
        InstrumentType.TREATY,
    }
)


class Status(models.TextChoices):
    """An instrument's procedural status (DOMAIN.md, "Status vocabulary")."""

    INTRODUCED = "introduced", "Introduced"
    IN_COMMITTEE = "in_committee", "In committee"
    PASSED_CHAMBER = "passed_chamber", "Passed a chamber"
    # The chambers or institutions agreed one final text that awaits formal adoption (an EU
    # trilogue's provisional agreement, a US conference report agreed by both houses).
    AGREED = "agreed", "Agreed (awaiting adoption)"
    ADOPTED = "adopted", "Adopted"
    PARTIALLY_IN_FORCE = "partially_in_force", "Partially in force"
    IN_FORCE = "in_force", "In force"
    VETOED = "vetoed", "Vetoed"
    WITHDRAWN = "withdrawn", "Withdrawn"
    LAPSED = "lapsed", "Lapsed"
    REPEALED = "repealed", "Repealed"
    STRUCK_DOWN = "struck_down", "Struck down"
    SUPERSEDED = "superseded", "Superseded"


# Statuses at which an instrument is pending (not yet applying, may still become law).
PENDING_STATUSES = frozenset(
    {
        Status.INTRODUCED,
        Status.IN_COMMITTEE,
        Status.PASSED_CHAMBER,
        Status.AGREED,
        Status.ADOPTED,
    }
)
# Statuses at which an instrument applies.
APPLYING_STATUSES = frozenset({Status.IN_FORCE, Status.PARTIALLY_IN_FORCE})

# Order of the steps in an instrument's life: breaks ties between events on the same date
# (a statute adopted and in force on one day is in force at the end of it).
STATUS_SEQUENCE = {status: rank for rank, status in enumerate(Status.values)}
# Each status's label, for the pages, the CSV and the answers' sentences.
STATUS_LABELS = dict(Status.choices)


class LegalForce(models.TextChoices):
    """Legal force, named as schema.org ``LegalForceStatus`` (also used by ELI).

    Source: https://schema.org/LegalForceStatus
    """

    IN_FORCE = "InForce", "In force"
    PARTIALLY_IN_FORCE = "PartiallyInForce", "Partially in force"
    NOT_IN_FORCE = "NotInForce", "Not in force"


def legal_force_for(status: str | None) -> str | None:
    """Map a procedural status slug to its schema.org LegalForceStatus value.

    ``None`` (an instrument with no event yet at the date) maps to ``None``: nothing is known.
    """
    if status is None:
        return None
    if status == Status.IN_FORCE:
        return LegalForce.IN_FORCE
    if status == Status.PARTIALLY_IN_FORCE:
        return LegalForce.PARTIALLY_IN_FORCE
    return LegalForce.NOT_IN_FORCE


# Procedural status -> Open Civic Data bill-action classification
# (https://open-civic-data.readthedocs.io/en/latest/data/bill.html, "actions.classification").
# Kept here alone so that imports from US legislative feeds and our exports use one mapping.
OCD_CLASSIFICATION = {
    Status.INTRODUCED: "introduction",
    Status.IN_COMMITTEE: "referral-committee",
    Status.PASSED_CHAMBER: "passage",
    # OCD has no action for an agreed final text; a conference report's adoption by both houses
    # is recorded as passage.
    Status.AGREED: "passage",
    Status.ADOPTED: "executive-signature",
    Status.PARTIALLY_IN_FORCE: "became-law",
    Status.IN_FORCE: "became-law",
    Status.VETOED: "executive-veto",
    Status.WITHDRAWN: "withdrawal",
    Status.LAPSED: "failure",
    Status.REPEALED: "repealed",
    Status.STRUCK_DOWN: "struck-down",
    Status.SUPERSEDED: "superseded",
}
# The reverse direction for importers: the OCD classifications that name one of our steps.
# ``became-law`` maps to ``in_force``; OCD has no separate "partially commenced" action.
STATUS_FOR_OCD = {
    "introduction": Status.INTRODUCED,
    "filing": Status.INTRODUCED,
    "referral-committee": Status.IN_COMMITTEE,
    "committee-passage": Status.IN_COMMITTEE,
    "passage": Status.PASSED_CHAMBER,
    "executive-signature": Status.ADOPTED,
    "became-law": Status.IN_FORCE,
    "executive-veto": Status.VETOED,
    "withdrawal": Status.WITHDRAWN,
    "failure": Status.LAPSED,
}


class Body(models.TextChoices):
    """The body that took a step, as Open Civic Data actions name their organization."""

    LOWER_HOUSE = "lower_house", "Lower house"
    UPPER_HOUSE = "upper_house", "Upper house"
    UNICAMERAL = "unicameral", "Unicameral legislature"
    EUROPEAN_PARLIAMENT = "european_parliament", "European Parliament"
    COUNCIL = "council", "Council"
    EXECUTIVE = "executive", "Executive"
    COURT = "court", "Court"
    OTHER = "other", "Other"


class DatePrecision(models.TextChoices):
    """How much of a date the sources give.

    ``month`` and ``year`` dates are stored as the first day of the period. ``on_or_before``:
    no source gives the date of the step; the date is that of the earliest source reporting it.
    """

    DAY = "day", "Day"
    MONTH = "month", "Month"
    YEAR = "year", "Year"
    ON_OR_BEFORE = "on_or_before", "On or before"


class AssessmentValue(models.TextChoices):
    YES = "yes", "Yes"
    PARTIAL = "partial", "Partial"
    NO = "no", "No"
    UNCLEAR = "unclear", "Unclear"


class AssessmentBasis(models.TextChoices):
    """What an assessment rests on (DOMAIN.md, the codebook): the text of the provision, a
    court's reading of it, official guidance, or commentary. ``ai_generated_explicit`` reads the
    text alone."""

    TEXT = "text", "Text of the provision"
    COURT_READING = "court_reading", "Court's reading"
    OFFICIAL_GUIDANCE = "official_guidance", "Official guidance"
    COMMENTARY = "commentary", "Commentary"


# The criterion that reads the text alone: its only basis is ``text``.
# Each basis's label, for the pages and the answers' sentences.
BASIS_LABELS = dict(AssessmentBasis.choices)

TEXT_ONLY_CRITERION = "ai_generated_explicit"


class EffectiveValue(models.TextChoices):
    """The answer of effective coverage for one jurisdiction and criterion (DOMAIN.md)."""

    YES = "yes", "Yes"
    PARTIAL = "partial", "Partial"
    UNCLEAR = "unclear", "Unclear"
    NO = "no", "No"
    NONE = "none", "No applicable law found"
    NOT_RESEARCHED = "not_researched", "Not researched"


# Strength of an assessment value, for "the strongest of their assessments" (DOMAIN.md):
# yes > partial > unclear > no.
VALUE_STRENGTH = {
    AssessmentValue.YES: 4,
    AssessmentValue.PARTIAL: 3,
    AssessmentValue.UNCLEAR: 2,
    AssessmentValue.NO: 1,
}


class SourceKind(models.TextChoices):
    OFFICIAL = "official", "Official"
    LEGISLATURE = "legislature", "Legislature"
    GOVERNMENT = "government", "Government"
    COURT = "court", "Court"
    NGO = "ngo", "NGO"
    NEWS = "news", "News"
    ACADEMIC = "academic", "Academic"


class Confidence(models.TextChoices):
    """How well a row is supported: high (an official source or two independent ones),
    medium (one reliable source), low (unclear or conflicting)."""

    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class EventKind(models.TextChoices):
    ENFORCEMENT_OPERATION = "enforcement_operation", "Enforcement operation"
    REPORT = "report", "Report"
    LETTER = "letter", "Letter"
    COURT_RULING = "court_ruling", "Court ruling"
    LEGISLATIVE_MILESTONE = "legislative_milestone", "Legislative milestone"
    TRANSPOSITION_DEADLINE = "transposition_deadline", "Transposition deadline"
    OTHER = "other", "Other"


class IdentifierScheme(models.TextChoices):
    """Identifier schemes for instruments.

    CELEX: EUR-Lex document numbers; ELI: European Legislation Identifier URIs; OCD: Open Civic
    Data bill ids; ``procedure``: an EU interinstitutional procedure number (2024/0035(COD));
    ``national``: a national act or bill number; ``other``.
    """

    CELEX = "celex", "CELEX"
    ELI = "eli", "ELI"
    OCD = "ocd", "Open Civic Data bill id"
    PROCEDURE = "procedure", "EU procedure number"
    NATIONAL = "national", "National number"
    OTHER = "other", "Other"


class Scope(models.TextChoices):
    """Which law counts for effective coverage (DOMAIN.md, "Two scopes")."""

    APPLICABLE = "applicable", "All law that applies (inherited included)"
    OWN = "own", "The jurisdiction's own instruments only"
