"""Serializers of the API: explicit fields, related objects in a brief form with their key and URL.

Every serializer here reads only what the view's queryset has already loaded (``select_related``
and prefetch caches): no query per row. Dates are ISO 8601; a date that sources give only to the
month or year, or only "on or before", comes with its ``*_precision`` beside it.

``url`` is the API address of the row. Sources are the one exception: a source's ``url`` is the
address of the document itself (the domain's term), and its API address is ``api_url``.

The context carries ``as_of`` (a ``datetime.date``) for status, legal force and coverage, and for
jurisdictions ``coverage`` (a :class:`jurisdictions.coverage.Coverage` of the rows serialized).

Speed: a page of fifty instruments holds thousands of nested objects (steps, assessments, their
sources). DRF's generic field machinery costs tens of milliseconds per row at that size, so each
serializer writes its dict itself in ``to_representation`` (DRF's documented way to do so); the
declared fields still describe the output for the OpenAPI schema, and tests/test_api.py checks
that both name the same keys.
"""

from __future__ import annotations

import datetime

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..choices import (
    OCD_CLASSIFICATION,
    AssessmentBasis,
    DatePrecision,
    EffectiveValue,
    LegalForce,
    Status,
)
from ..models import (
    Assessment,
    Criterion,
    Event,
    Instrument,
    Jurisdiction,
    Source,
    StatusEvent,
)
from .links import _absolute, api_url, iso, shows_staff_names, staff_name  # noqa: F401  (also imported from here)
from ..regions import regions_for_code


def as_of_of(context) -> datetime.date:
    from ..clock import today

    return context.get("as_of") or today()


def _schema_field(schema: dict, **kwargs) -> serializers.Field:
    """A field documented by ``schema`` (its own class: decorating DRF's classes would change
    every field of that type)."""
    return extend_schema_field(schema)(type("DocumentedField", (serializers.Field,), {}))(
        read_only=True, **kwargs
    )


# Base of every serializer here: ``represent(obj)`` builds the row's dict; the declared fields
# document it. (A comment, not a docstring: the schema would show it on every component.)
class Fast(serializers.Serializer):

    def to_representation(self, instance):
        return self.represent(instance)

    def represent(self, obj) -> dict:
        raise NotImplementedError


# --- brief forms --------------------------------------------------------------------------------
class JurisdictionBriefSerializer(Fast, serializers.ModelSerializer):
    url = serializers.URLField()

    class Meta:
        model = Jurisdiction
        fields = ["code", "name", "kind", "url"]

    def represent(self, obj):
        return {
            "code": obj.code,
            "name": obj.name,
            "kind": obj.kind,
            "url": api_url(self.context, "jurisdiction-detail", code=obj.code),
        }


class InstrumentBriefSerializer(Fast, serializers.ModelSerializer):
    """Needs ``jurisdiction`` selected with the instrument."""

    jurisdiction = serializers.CharField(help_text="The jurisdiction's code.")
    url = serializers.URLField()

    class Meta:
        model = Instrument
        fields = ["slug", "short_name", "title", "instrument_type", "jurisdiction", "url"]

    def represent(self, obj):
        return {
            "slug": obj.slug,
            "short_name": obj.short_name,
            "title": obj.title,
            "instrument_type": obj.instrument_type,
            "jurisdiction": obj.jurisdiction.code,
            "url": api_url(self.context, "instrument-detail", slug=obj.slug),
        }


class CriterionBriefSerializer(Fast, serializers.ModelSerializer):
    url = serializers.URLField()

    class Meta:
        model = Criterion
        fields = ["slug", "label", "url"]

    def represent(self, obj):
        return {
            "slug": obj.slug,
            "label": obj.label,
            "url": api_url(self.context, "criterion-detail", slug=obj.slug),
        }


class SourceBriefSerializer(Fast, serializers.ModelSerializer):
    api_url = serializers.URLField(help_text="The source's address in this API.")

    class Meta:
        model = Source
        fields = [*Source.CITATION_FIELDS, "api_url"]

    def represent(self, obj):
        return {
            "url": obj.url,
            "title": obj.title,
            "publisher": obj.publisher,
            "kind": obj.kind,
            "published_on": iso(obj.published_on),
            "published_precision": obj.published_precision,
            "accessed_on": iso(obj.accessed_on),
            "archived_url": obj.archived_url,
            "language": obj.language,
            "api_url": api_url(self.context, "source-detail", pk=obj.pk),
        }


class EventBriefSerializer(Fast, serializers.ModelSerializer):
    url = serializers.URLField()

    class Meta:
        model = Event
        fields = ["slug", "title", "kind", "date", "date_precision", "url"]

    def represent(self, obj):
        return {
            "slug": obj.slug,
            "title": obj.title,
            "kind": obj.kind,
            "date": iso(obj.date),
            "date_precision": obj.date_precision,
            "url": api_url(self.context, "event-detail", slug=obj.slug),
        }


def brief_sources(objects, context) -> list[dict]:
    represent = SourceBriefSerializer(context=context).represent
    return [represent(source) for source in objects]


# --- jurisdictions ------------------------------------------------------------------------------
CELL_SCHEMA = {
    "type": "object",
    "properties": {
        "value": {"type": "string", "enum": EffectiveValue.values},
        "approximate": {"type": "boolean"},
        "pending": {"type": "boolean"},
        "basis": {"type": "string", "nullable": True, "enum": [*AssessmentBasis.values, None],
                  "description": "What the deciding assessment rests on (/methodology/)."},
        "verified_on": {"type": "string", "format": "date", "nullable": True,
                        "description": "When a second reader verified the deciding assessment."},
    },
}


class MembershipSerializer(Fast):
    bloc = JurisdictionBriefSerializer()
    start_date = serializers.DateField()
    end_date = serializers.DateField(allow_null=True)
    member_on_as_of = serializers.BooleanField()

    def represent(self, obj):
        return {
            "bloc": JurisdictionBriefSerializer(context=self.context).represent(obj.bloc),
            "start_date": iso(obj.start_date),
            "end_date": iso(obj.end_date),
            "member_on_as_of": obj.active_on(as_of_of(self.context)),
        }


REGIONS_SCHEMA = {
    "type": "object",
    "nullable": True,
    "description": "UN M49 region, sub-region and intermediate region (a subdivision's are its "
    "country's); null for blocs and organisations.",
    "properties": {
        "region": {"type": "string", "nullable": True},
        "subregion": {"type": "string", "nullable": True},
        "intermediate_region": {"type": "string", "nullable": True},
    },
}


class JurisdictionSerializer(Fast, serializers.ModelSerializer):
    """A jurisdiction with its research status, M49 regions, bloc memberships and, as of
    ``as_of``, its effective value for every criterion (``coverage``: {slug: {"value",
    "approximate", "pending"}})."""

    url = serializers.URLField()
    parent = JurisdictionBriefSerializer(allow_null=True)
    regions = _schema_field(REGIONS_SCHEMA)
    bloc_memberships = MembershipSerializer(many=True)
    as_of = serializers.DateField()
    coverage = _schema_field(
        {
            "type": "object",
            "nullable": True,
            "description": "Effective value per criterion slug as of as_of (see /compare/ for "
            "the deciding instruments and sources).",
            "additionalProperties": CELL_SCHEMA,
        }
    )
    timeline_url = serializers.URLField()

    class Meta:
        model = Jurisdiction
        fields = [
            "code",
            "url",
            "name",
            "official_name",
            "common_name",
            "kind",
            "subdivision_type",
            "numeric_code",
            "parent",
            "regions",
            "research_status",
            "last_reviewed_on",
            "research_compiled_on",
            "research_notes",
            "bloc_memberships",
            "as_of",
            "coverage",
            "timeline_url",
            "created_at",
            "updated_at",
        ]

    def represent(self, obj):
        context = self.context
        brief = JurisdictionBriefSerializer(context=context).represent
        membership = MembershipSerializer(context=context).represent
        found = regions_for_code(obj.code)
        return {
            "code": obj.code,
            "url": api_url(context, "jurisdiction-detail", code=obj.code),
            "name": obj.name,
            "official_name": obj.official_name,
            "common_name": obj.common_name,
            "kind": obj.kind,
            "subdivision_type": obj.subdivision_type,
            "numeric_code": obj.numeric_code,
            "parent": brief(obj.parent) if obj.parent_id else None,
            "regions": found.as_dict() if found else None,
            "research_status": obj.research_status,
            "last_reviewed_on": iso(obj.last_reviewed_on),
            "research_compiled_on": iso(obj.research_compiled_on),
            "research_notes": obj.research_notes,
            "bloc_memberships": [membership(m) for m in obj.bloc_memberships.all()],
            "as_of": iso(as_of_of(context)),
            "coverage": self.coverage_of(obj),
            "timeline_url": _absolute(
                context, reverse("api:jurisdiction-timeline", kwargs={"code": obj.code})
            ),
            "created_at": iso(obj.created_at),
            "updated_at": iso(obj.updated_at),
        }

    def coverage_of(self, obj):
        coverage = self.context.get("coverage")
        if coverage is None:
            return None
        result = {}
        for criterion in coverage.criteria:
            cell = coverage.cell(obj, criterion.slug)
            result[criterion.slug] = {
                "value": cell.value,
                "approximate": cell.approximate,
                "pending": bool(cell.pending),
                "basis": cell.basis or None,
                "verified_on": iso(cell.verified_on),
            }
        return result


# --- instruments --------------------------------------------------------------------------------
# An identifier inside its instrument: documents the shape that .instrument_rows builds (a
# comment: a docstring would become the schema component's description).
class IdentifierSerializer(Fast):
    scheme = serializers.CharField()
    value = serializers.CharField()


class StepSerializer(Fast, serializers.ModelSerializer):
    """A status event inside its instrument: documents the shape that
    :mod:`.instrument_rows` builds."""

    ocd_classification = serializers.CharField(
        help_text="The Open Civic Data bill-action classification of the step."
    )
    sources = SourceBriefSerializer(many=True)
    url = serializers.URLField()

    class Meta:
        model = StatusEvent
        fields = [
            "status",
            "date",
            "date_precision",
            "date_note",
            "body",
            "description",
            "ocd_classification",
            "verified_on",
            "verification_note",
            "sources",
            "url",
        ]


class InstrumentAssessmentSerializer(Fast, serializers.ModelSerializer):
    """An assessment inside its instrument: documents the shape that
    :mod:`.instrument_rows` builds."""

    criterion = CriterionBriefSerializer()
    verified_by = serializers.CharField(allow_null=True, help_text="Who verified it: "
                                        "\"a reviewer\" (or a name the organisation publishes); "
                                        "the username for staff.")
    counts_on_as_of = serializers.BooleanField(
        help_text="False before the assessment's own commencement date."
    )
    sources = SourceBriefSerializer(many=True)
    url = serializers.URLField()

    class Meta:
        model = Assessment
        fields = [
            "criterion",
            "value",
            "pinpoint",
            "note",
            "commencement_date",
            "counts_on_as_of",
            "basis",
            "verified_on",
            "verified_by",
            "verification_note",
            "sources",
            "url",
        ]


DATED = {
    "type": "object",
    "nullable": True,
    "properties": {
        "date": {"type": "string", "format": "date"},
        "precision": {"type": "string", "enum": DatePrecision.values},
    },
}


def _instrument_rows(instruments, context) -> list[dict]:
    from .instrument_rows import rows_of  # it imports this module's helpers

    return rows_of(instruments, as_of_of(context), context, flat=context.get("flat", False))


class InstrumentListSerializer(serializers.ListSerializer):
    """Many instruments at once: one batch of plain-value queries for all of them."""

    def to_representation(self, data):
        return _instrument_rows(list(data.all() if hasattr(data, "all") else data), self.context)


class InstrumentSerializer(Fast, serializers.ModelSerializer):
    """An instrument with, as of ``as_of``, its status (the latest step on or before the date)
    and schema.org legal force; its key dates with precision, identifiers, status history,
    assessments, sources and amendment links. The rows are built from plain values by
    :mod:`.instrument_rows` (eleven queries for any number of instruments)."""

    url = serializers.URLField()
    jurisdiction = JurisdictionBriefSerializer()
    as_of = serializers.DateField()
    status = _schema_field({"type": "string", "enum": Status.values, "nullable": True})
    status_date = serializers.DateField(allow_null=True)
    status_date_precision = _schema_field(
        {"type": "string", "enum": DatePrecision.values, "nullable": True}
    )
    status_approximate = serializers.BooleanField(
        help_text="A later step is dated only on_or_before a date after as_of: it may already "
        "have happened by as_of."
    )
    legal_force = _schema_field({"type": "string", "enum": LegalForce.values, "nullable": True})
    pending = serializers.BooleanField()
    applies = serializers.BooleanField()
    key_dates = _schema_field(
        {"type": "object", "properties": {"introduced": DATED, "adopted": DATED,
                                          "in_force": DATED}}
    )
    identifiers = IdentifierSerializer(many=True)
    status_events = StepSerializer(many=True)
    assessments = InstrumentAssessmentSerializer(many=True)
    sources = SourceBriefSerializer(many=True)
    amends = InstrumentBriefSerializer(many=True)
    amended_by = InstrumentBriefSerializer(many=True)

    class Meta:
        model = Instrument
        list_serializer_class = InstrumentListSerializer
        fields = [
            "slug",
            "url",
            "jurisdiction",
            *Instrument.DESCRIPTIVE_FIELDS,
            "as_of",
            "status",
            "status_date",
            "status_date_precision",
            "status_approximate",
            "legal_force",
            "pending",
            "applies",
            "key_dates",
            "identifiers",
            "status_events",
            "assessments",
            "sources",
            "amends",
            "amended_by",
            "created_at",
            "updated_at",
        ]

    def represent(self, obj):
        return _instrument_rows([obj], self.context)[0]


# --- the other collections ----------------------------------------------------------------------
class StatusEventSerializer(Fast, serializers.ModelSerializer):
    url = serializers.URLField()
    instrument = InstrumentBriefSerializer()
    ocd_classification = serializers.CharField(
        help_text="The Open Civic Data bill-action classification of the step."
    )
    sources = SourceBriefSerializer(many=True)

    class Meta:
        model = StatusEvent
        fields = [
            "id",
            "url",
            "instrument",
            "status",
            "date",
            "date_precision",
            "date_note",
            "body",
            "description",
            "ocd_classification",
            "verified_on",
            "verification_note",
            "sources",
            "created_at",
            "updated_at",
        ]

    def represent(self, obj):
        context = self.context
        return {
            "id": obj.pk,
            "url": api_url(context, "status-event-detail", pk=obj.pk),
            "instrument": InstrumentBriefSerializer(context=context).represent(obj.instrument),
            "status": obj.status,
            "date": iso(obj.date),
            "date_precision": obj.date_precision,
            "date_note": obj.date_note,
            "body": obj.body,
            "description": obj.description,
            "ocd_classification": OCD_CLASSIFICATION.get(obj.status, ""),
            "verified_on": iso(obj.verified_on),
            "verification_note": obj.verification_note,
            "sources": brief_sources(obj.sources.all(), context),
            "created_at": iso(obj.created_at),
            "updated_at": iso(obj.updated_at),
        }


class CriterionSerializer(Fast, serializers.ModelSerializer):
    url = serializers.URLField()

    class Meta:
        model = Criterion
        fields = [
            "slug",
            "url",
            "label",
            "question",
            "position",
            "retired",
            "created_at",
            "updated_at",
        ]

    def represent(self, obj):
        return {
            "slug": obj.slug,
            "url": api_url(self.context, "criterion-detail", slug=obj.slug),
            "label": obj.label,
            "question": obj.question,
            "position": obj.position,
            "retired": obj.retired,
            "created_at": iso(obj.created_at),
            "updated_at": iso(obj.updated_at),
        }


class AssessmentSerializer(Fast, serializers.ModelSerializer):
    url = serializers.URLField()
    instrument = InstrumentBriefSerializer()
    criterion = CriterionBriefSerializer()
    verified_by = serializers.CharField(allow_null=True, help_text="Who verified it: "
                                        "\"a reviewer\" (or a name the organisation publishes); "
                                        "the username for staff.")
    sources = SourceBriefSerializer(many=True)

    class Meta:
        model = Assessment
        fields = [
            "id",
            "url",
            "instrument",
            "criterion",
            "value",
            "pinpoint",
            "note",
            "commencement_date",
            "basis",
            "verified_on",
            "verified_by",
            "verification_note",
            "sources",
            "created_at",
            "updated_at",
        ]

    def represent(self, obj):
        context = self.context
        return {
            "id": obj.pk,
            "url": api_url(context, "assessment-detail", pk=obj.pk),
            "instrument": InstrumentBriefSerializer(context=context).represent(obj.instrument),
            "criterion": CriterionBriefSerializer(context=context).represent(obj.criterion),
            "value": obj.value,
            "pinpoint": obj.pinpoint,
            "note": obj.note,
            "commencement_date": iso(obj.commencement_date),
            "basis": obj.basis,
            "verified_on": iso(obj.verified_on),
            "verified_by": staff_name(
                context, obj.verified_by.get_username() if obj.verified_by else None, "reviewer"
            ),
            "verification_note": obj.verification_note,
            "sources": brief_sources(obj.sources.all(), context),
            "created_at": iso(obj.created_at),
            "updated_at": iso(obj.updated_at),
        }


class SourceSerializer(SourceBriefSerializer):
    class Meta(SourceBriefSerializer.Meta):
        fields = ["id", *SourceBriefSerializer.Meta.fields, "created_at", "updated_at"]

    def represent(self, obj):
        return {
            "id": obj.pk,
            **super().represent(obj),
            "created_at": iso(obj.created_at),
            "updated_at": iso(obj.updated_at),
        }


class EventSerializer(Fast, serializers.ModelSerializer):
    url = serializers.URLField()
    instrument = InstrumentBriefSerializer(allow_null=True)
    jurisdictions = JurisdictionBriefSerializer(many=True)
    sources = SourceBriefSerializer(many=True)

    class Meta:
        model = Event
        fields = [
            "slug",
            "url",
            "date",
            "date_precision",
            "title",
            "kind",
            "summary",
            "notes",
            "figures",
            "confidence",
            "instrument",
            "jurisdictions",
            "sources",
            "created_at",
            "updated_at",
        ]

    def represent(self, obj):
        context = self.context
        brief = JurisdictionBriefSerializer(context=context).represent
        return {
            "slug": obj.slug,
            "url": api_url(context, "event-detail", slug=obj.slug),
            "date": iso(obj.date),
            "date_precision": obj.date_precision,
            "title": obj.title,
            "kind": obj.kind,
            "summary": obj.summary,
            "notes": obj.notes,
            # By name: PostgreSQL's jsonb keeps no key order, SQLite keeps the order written;
            # the same request must answer the same bytes on both (found by the golden tests).
            "figures": dict(sorted(obj.figures.items())) if obj.figures else obj.figures,
            "confidence": obj.confidence,
            "instrument": (
                InstrumentBriefSerializer(context=context).represent(obj.instrument)
                if obj.instrument_id
                else None
            ),
            "jurisdictions": [brief(j) for j in obj.jurisdictions.all()],
            "sources": brief_sources(obj.sources.all(), context),
            "created_at": iso(obj.created_at),
            "updated_at": iso(obj.updated_at),
        }
