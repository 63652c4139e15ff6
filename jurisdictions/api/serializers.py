"""Serializers of the API: explicit fields, related objects in a brief form with their key and URL.

Every serializer here reads only what the view's queryset has already loaded (``select_related``
and prefetch caches): no query per row. Dates are ISO 8601; a date that sources give only to the
month or year, or only "on or before", comes with its ``*_precision`` beside it.

``url`` is the API address of the row. Sources are the one exception: a source's ``url`` is the
address of the document itself (the domain's term), and its API address is ``api_url``.

The context carries ``as_of`` (a ``datetime.date``) for status, legal force and coverage, and for
jurisdictions ``coverage`` (a :class:`jurisdictions.coverage.Coverage` of the rows serialized).
"""

from __future__ import annotations

import datetime

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..choices import (
    APPLYING_STATUSES,
    PENDING_STATUSES,
    DatePrecision,
    EffectiveValue,
    LegalForce,
    Status,
    legal_force_for,
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
from .regions import regions_for_code


def api_url(context, view_name: str, **kwargs) -> str:
    """Absolute URL of ``api:<view_name>`` (relative when there is no request).

    Django's ``reverse``, not DRF's: DRF's would carry the request's ``format=csv`` into every
    link of a CSV export.
    """
    path = reverse(f"api:{view_name}", kwargs=kwargs)
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


def as_of_of(context) -> datetime.date:
    from ..filtersets import today

    return context.get("as_of") or today()


# --- brief forms --------------------------------------------------------------------------------
class JurisdictionBriefSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Jurisdiction
        fields = ["code", "name", "kind", "url"]

    def get_url(self, obj) -> str:
        return api_url(self.context, "jurisdiction-detail", code=obj.code)


class InstrumentBriefSerializer(serializers.ModelSerializer):
    """Needs ``jurisdiction`` selected with the instrument."""

    jurisdiction = serializers.CharField(source="jurisdiction.code")
    url = serializers.SerializerMethodField()

    class Meta:
        model = Instrument
        fields = ["slug", "short_name", "title", "instrument_type", "jurisdiction", "url"]

    def get_url(self, obj) -> str:
        return api_url(self.context, "instrument-detail", slug=obj.slug)


class CriterionBriefSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Criterion
        fields = ["slug", "label", "url"]

    def get_url(self, obj) -> str:
        return api_url(self.context, "criterion-detail", slug=obj.slug)


class SourceBriefSerializer(serializers.ModelSerializer):
    api_url = serializers.SerializerMethodField()

    class Meta:
        model = Source
        fields = [
            "url",
            "title",
            "publisher",
            "kind",
            "published_on",
            "published_precision",
            "accessed_on",
            "archived_url",
            "language",
            "api_url",
        ]

    def get_api_url(self, obj) -> str:
        return api_url(self.context, "source-detail", pk=obj.pk)


class EventBriefSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = ["slug", "title", "kind", "date", "date_precision", "url"]

    def get_url(self, obj) -> str:
        return api_url(self.context, "event-detail", slug=obj.slug)


def username(user) -> str | None:
    return user.get_username() if user is not None else None


# --- jurisdictions ------------------------------------------------------------------------------
CELL_SCHEMA = {
    "type": "object",
    "properties": {
        "value": {"type": "string", "enum": EffectiveValue.values},
        "approximate": {"type": "boolean"},
        "pending": {"type": "boolean"},
    },
}


class MembershipSerializer(serializers.Serializer):
    bloc = JurisdictionBriefSerializer()
    start_date = serializers.DateField()
    end_date = serializers.DateField(allow_null=True)
    member_on_as_of = serializers.SerializerMethodField()

    def get_member_on_as_of(self, obj) -> bool:
        return obj.active_on(as_of_of(self.context))


class JurisdictionSerializer(serializers.ModelSerializer):
    """A jurisdiction with its research status, M49 regions, bloc memberships and, as of
    ``as_of``, its effective value for every criterion (``coverage``: {slug: {"value",
    "approximate", "pending"}})."""

    url = serializers.SerializerMethodField()
    parent = JurisdictionBriefSerializer(allow_null=True)
    regions = serializers.SerializerMethodField()
    bloc_memberships = MembershipSerializer(many=True)
    as_of = serializers.SerializerMethodField()
    coverage = serializers.SerializerMethodField()
    timeline_url = serializers.SerializerMethodField()

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
            "research_notes",
            "bloc_memberships",
            "as_of",
            "coverage",
            "timeline_url",
            "created_at",
            "updated_at",
        ]

    def get_url(self, obj) -> str:
        return api_url(self.context, "jurisdiction-detail", code=obj.code)

    def get_timeline_url(self, obj) -> str:
        return api_url(self.context, "jurisdiction-timeline", code=obj.code)

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "description": "UN M49 region, sub-region and intermediate region (a subdivision's "
            "are its country's); null for blocs and organisations.",
            "properties": {
                "region": {"type": "string", "nullable": True},
                "subregion": {"type": "string", "nullable": True},
                "intermediate_region": {"type": "string", "nullable": True},
            },
        }
    )
    def get_regions(self, obj):
        found = regions_for_code(obj.code)
        return found.as_dict() if found else None

    @extend_schema_field(OpenApiTypes.DATE)
    def get_as_of(self, obj):
        return as_of_of(self.context).isoformat()

    @extend_schema_field(
        {
            "type": "object",
            "description": "Effective value per criterion slug as of as_of (see /compare/ for "
            "the deciding instruments and sources).",
            "additionalProperties": CELL_SCHEMA,
        }
    )
    def get_coverage(self, obj):
        coverage = self.context.get("coverage")
        if coverage is None:
            return None
        return {
            criterion.slug: {
                "value": cell.value,
                "approximate": cell.approximate,
                "pending": bool(cell.pending),
            }
            for criterion in coverage.criteria
            for cell in [coverage.cell(obj, criterion.slug)]
        }


# --- instruments --------------------------------------------------------------------------------
class IdentifierSerializer(serializers.Serializer):
    scheme = serializers.CharField()
    value = serializers.CharField()


class StepSerializer(serializers.ModelSerializer):
    """A status event inside its instrument (sources prefetched)."""

    ocd_classification = serializers.CharField(read_only=True)
    sources = SourceBriefSerializer(many=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = StatusEvent
        fields = [
            "status",
            "date",
            "date_precision",
            "description",
            "ocd_classification",
            "sources",
            "url",
        ]

    def get_url(self, obj) -> str:
        return api_url(self.context, "status-event-detail", pk=obj.pk)


class InstrumentAssessmentSerializer(serializers.ModelSerializer):
    """An assessment inside its instrument (criterion and sources prefetched)."""

    criterion = CriterionBriefSerializer()
    verified_by = serializers.SerializerMethodField()
    counts_on_as_of = serializers.SerializerMethodField()
    sources = SourceBriefSerializer(many=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Assessment
        fields = [
            "criterion",
            "value",
            "pinpoint",
            "note",
            "commencement_date",
            "counts_on_as_of",
            "verified_on",
            "verified_by",
            "sources",
            "url",
        ]

    def get_verified_by(self, obj) -> str | None:
        return username(obj.verified_by)

    def get_counts_on_as_of(self, obj) -> bool:
        """False before the assessment's own commencement date."""
        return obj.counts_on(as_of_of(self.context))

    def get_url(self, obj) -> str:
        return api_url(self.context, "assessment-detail", pk=obj.pk)


DATED = {
    "type": "object",
    "nullable": True,
    "properties": {
        "date": {"type": "string", "format": "date"},
        "precision": {"type": "string", "enum": DatePrecision.values},
    },
}


class InstrumentSerializer(serializers.ModelSerializer):
    """An instrument with, as of ``as_of``, its status (the latest step on or before the date)
    and schema.org legal force; its key dates with precision, identifiers, status history,
    assessments, sources and amendment links."""

    url = serializers.SerializerMethodField()
    jurisdiction = JurisdictionBriefSerializer()
    as_of = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    status_date = serializers.SerializerMethodField()
    status_date_precision = serializers.SerializerMethodField()
    status_approximate = serializers.SerializerMethodField()
    legal_force = serializers.SerializerMethodField()
    pending = serializers.SerializerMethodField()
    applies = serializers.SerializerMethodField()
    key_dates = serializers.SerializerMethodField()
    identifiers = IdentifierSerializer(many=True)
    status_events = serializers.SerializerMethodField()
    assessments = InstrumentAssessmentSerializer(many=True)
    sources = SourceBriefSerializer(many=True)
    amends = InstrumentBriefSerializer(many=True)
    amended_by = InstrumentBriefSerializer(many=True)

    class Meta:
        model = Instrument
        fields = [
            "slug",
            "url",
            "jurisdiction",
            "instrument_type",
            "title",
            "original_title",
            "original_language",
            "short_name",
            "citation",
            "official_url",
            "summary",
            "max_penalty",
            "confidence",
            "notes",
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

    def get_url(self, obj) -> str:
        return api_url(self.context, "instrument-detail", slug=obj.slug)

    def _step(self, obj):
        # One pass over the prefetched events per row, shared by the status fields.
        cache = self.context.setdefault("_steps", {})
        if obj.pk not in cache:
            cache[obj.pk] = obj.status_event_as_of(as_of_of(self.context))
        return cache[obj.pk]

    @extend_schema_field(OpenApiTypes.DATE)
    def get_as_of(self, obj):
        return as_of_of(self.context).isoformat()

    @extend_schema_field({"type": "string", "enum": Status.values, "nullable": True})
    def get_status(self, obj):
        step = self._step(obj)
        return step.status if step else None

    @extend_schema_field({"type": "string", "format": "date", "nullable": True})
    def get_status_date(self, obj):
        step = self._step(obj)
        return step.date.isoformat() if step else None

    @extend_schema_field({"type": "string", "enum": DatePrecision.values, "nullable": True})
    def get_status_date_precision(self, obj):
        step = self._step(obj)
        return step.date_precision if step else None

    def get_status_approximate(self, obj) -> bool:
        """True when a later step is dated only "on or before" a date after ``as_of``: it may
        already have happened by ``as_of``."""
        from ..coverage import approximate_as_of

        return approximate_as_of(obj.status_events.all(), as_of_of(self.context))

    @extend_schema_field({"type": "string", "enum": LegalForce.values, "nullable": True})
    def get_legal_force(self, obj):
        step = self._step(obj)
        return legal_force_for(step.status if step else None)

    def get_pending(self, obj) -> bool:
        step = self._step(obj)
        return bool(step and step.status in PENDING_STATUSES)

    def get_applies(self, obj) -> bool:
        step = self._step(obj)
        return bool(step and step.status in APPLYING_STATUSES)

    @extend_schema_field(
        {
            "type": "object",
            "properties": {"introduced": DATED, "adopted": DATED, "in_force": DATED},
        }
    )
    def get_key_dates(self, obj):
        return obj.key_dates()

    @extend_schema_field(StepSerializer(many=True))
    def get_status_events(self, obj):
        return StepSerializer(obj._events(), many=True, context=self.context).data


# --- the other collections ----------------------------------------------------------------------
class StatusEventSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    instrument = InstrumentBriefSerializer()
    ocd_classification = serializers.CharField(read_only=True)
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
            "description",
            "ocd_classification",
            "sources",
            "created_at",
            "updated_at",
        ]

    def get_url(self, obj) -> str:
        return api_url(self.context, "status-event-detail", pk=obj.pk)


class CriterionSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

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

    def get_url(self, obj) -> str:
        return api_url(self.context, "criterion-detail", slug=obj.slug)


class AssessmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    instrument = InstrumentBriefSerializer()
    criterion = CriterionBriefSerializer()
    verified_by = serializers.SerializerMethodField()
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
            "verified_on",
            "verified_by",
            "sources",
            "created_at",
            "updated_at",
        ]

    def get_url(self, obj) -> str:
        return api_url(self.context, "assessment-detail", pk=obj.pk)

    def get_verified_by(self, obj) -> str | None:
        return username(obj.verified_by)


class SourceSerializer(SourceBriefSerializer):
    class Meta(SourceBriefSerializer.Meta):
        fields = ["id", *SourceBriefSerializer.Meta.fields, "created_at", "updated_at"]


class EventSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
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

    def get_url(self, obj) -> str:
        return api_url(self.context, "event-detail", slug=obj.slug)
