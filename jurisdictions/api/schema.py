"""OpenAPI pieces shared by the API's views: common parameters, answers and shapes.

drf-spectacular documents the FilterSets' parameters by itself; what is written here are the
parameters that no FilterSet carries (``format``, ``as_of`` and ``scope`` on detail and
analysis views, path keys) and the answers that no serializer describes (errors, CSV, the
analysis shapes).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers

from ..choices import AssessmentBasis, EffectiveValue, JurisdictionKind, Scope
from . import serializers as api
from .params import FORMAT_DESCRIPTION

AS_OF_PARAMETER = OpenApiParameter(
    "as_of",
    OpenApiTypes.DATE,
    description="The date the answer is for (ISO 8601, YYYY-MM-DD; default today, UTC).",
)
SCOPE_PARAMETER = OpenApiParameter(
    "scope",
    OpenApiTypes.STR,
    enum=Scope.values,
    description="applicable (default): inherited law counts; own: only the jurisdiction's own "
    "instruments.",
)
LIST_FORMAT_PARAMETER = OpenApiParameter(
    "format", OpenApiTypes.STR, enum=["json", "api", "csv"], description=FORMAT_DESCRIPTION
)
DETAIL_FORMAT_PARAMETER = OpenApiParameter(
    "format", OpenApiTypes.STR, enum=["json", "api"], description="json (default) or api."
)
ERROR_RESPONSE = OpenApiResponse(
    response=inline_serializer(
        "BadRequest",
        {
            "errors": serializers.DictField(
                child=serializers.ListField(child=serializers.CharField()),
                help_text="Messages per query parameter.",
            ),
            "accepted_parameters": serializers.ListField(child=serializers.CharField()),
        },
    ),
    description="A malformed or unknown query parameter, named in errors.",
)
CSV_RESPONSE = OpenApiResponse(
    response=OpenApiTypes.STR,
    description="CSV (format=csv or Accept: text/csv): UTF-8 with a byte-order mark, one line "
    "per row, flat columns, cells that would start a formula prefixed with a quote.",
)
NOT_FOUND_RESPONSE = OpenApiResponse(
    response=inline_serializer("NotFound", {"detail": serializers.CharField()}),
    description="No row with this key.",
)


def answers(serializer, description: str) -> dict:
    """The responses of a list or analysis endpoint: JSON or CSV, or a 400 in JSON."""
    return {
        (200, "application/json"): OpenApiResponse(serializer, description=description),
        (200, "text/csv"): CSV_RESPONSE,
        (400, "application/json"): ERROR_RESPONSE,
    }


PATH_KEYS = {
    "code": "A jurisdiction code, any case (KR, us-ca, EU).",
    "slug": "The row's slug, any case.",
    "id": "The row's numeric id.",
}


def collection_schema(
    noun: str, key: str, serializer, *, as_of: bool = False, scope: bool = False
):
    """``extend_schema_view`` for a collection: list and detail parameters and answers."""
    path_name = key.split()[0]
    detail_parameters = [
        OpenApiParameter(path_name, OpenApiTypes.STR, OpenApiParameter.PATH,
                         description=PATH_KEYS[path_name]),
        DETAIL_FORMAT_PARAMETER,
    ]
    if as_of:
        detail_parameters.append(AS_OF_PARAMETER)
    if scope:
        detail_parameters.append(SCOPE_PARAMETER)
    return extend_schema_view(
        list=extend_schema(
            summary=f"List {noun}",
            description=f"Filterable, ordered, paginated list of {noun}. format=csv exports "
            "every filtered row (page and page_size are then ignored).",
            parameters=[LIST_FORMAT_PARAMETER],
            responses=answers(serializer, f"A page of {noun}."),
        ),
        retrieve=extend_schema(
            summary=f"One of the {noun}, by {key}",
            parameters=detail_parameters,
            responses={
                200: OpenApiResponse(serializer, description=f"One of the {noun}."),
                400: ERROR_RESPONSE,
                404: NOT_FOUND_RESPONSE,
            },
        ),
    )


JURISDICTIONS = OpenApiParameter(
    "jurisdictions", {"type": "array", "items": {"type": "string"}}, explode=False,
    description="Jurisdiction codes, comma-separated, any case (KR,GB,US-CA). Like every "
    "selection parameter, it narrows the set together with the others (AND).",
)
BLOC = OpenApiParameter(
    "bloc", OpenApiTypes.STR,
    description="A bloc's code (EU): only its members on as_of.",
)
GROUP = OpenApiParameter(
    "group", {"type": "string", "enum": ["UN", "G7", "G20", "OECD", "COE"]},
    description="A group of countries (UN member states, G7, G20, OECD, Council of Europe "
    "members; memberships from the country_converter library): only its members on as_of. "
    "Nothing is inherited from a group.",
)
WITHIN = OpenApiParameter(
    "within", OpenApiTypes.STR,
    description="A jurisdiction code: only it and its descendants (US: the federal level and "
    "every state).",
)
REGION = OpenApiParameter(
    "region", OpenApiTypes.STR,
    description="A UN M49 region slug (eastern-asia): only the countries in it and their "
    "subdivisions.",
)
KIND = OpenApiParameter(
    "kind", {"type": "array", "items": {"type": "string", "enum": JurisdictionKind.values}},
    explode=False, description="Only jurisdictions of these kinds, comma-separated.",
)
RESEARCH = OpenApiParameter(
    "research", {"type": "string", "enum": ["all", "researched"]},
    description="all (default) or researched: only jurisdictions whose research has started.",
)
# The selection parameters (jurisdictions.selection), in the order the pages list them.
SELECTION = [JURISDICTIONS, BLOC, GROUP, WITHIN, REGION, KIND, RESEARCH]
SOURCE_SCHEMA = inline_serializer(
    "CitedSource",
    {
        "url": serializers.URLField(),
        "title": serializers.CharField(),
        "publisher": serializers.CharField(),
        "kind": serializers.CharField(),
        "published_on": serializers.DateField(allow_null=True),
    },
)
DECIDER_SCHEMA = inline_serializer(
    "Decider",
    {
        "slug": serializers.SlugField(),
        "url": serializers.URLField(),
        "short_name": serializers.CharField(),
        "title": serializers.CharField(),
        "jurisdiction": serializers.CharField(),
        "inherited": serializers.BooleanField(
            help_text="The instrument belongs to an ancestor (federal law in a state)."
        ),
        "value": serializers.CharField(),
        "status": serializers.CharField(allow_null=True),
        "pinpoint": serializers.CharField(),
        "commencement_date": serializers.DateField(allow_null=True),
        "basis": serializers.ChoiceField(
            choices=AssessmentBasis.choices, allow_null=True,
            help_text="What the assessment rests on (the codebook, /methodology/).",
        ),
        "verified_on": serializers.DateField(
            allow_null=True, help_text="When a second reader found it in the cited sources."
        ),
        "sources": SOURCE_SCHEMA.__class__(many=True),
    },
)
CELL_SCHEMA = inline_serializer(
    "Cell",
    {
        "value": serializers.ChoiceField(choices=EffectiveValue.choices),
        "approximate": serializers.BooleanField(
            help_text="The answer rests on a step dated only on_or_before a later date."
        ),
        "basis": serializers.ChoiceField(
            choices=AssessmentBasis.choices, allow_null=True,
            help_text="What the deciding assessment rests on; null when nothing decides.",
        ),
        "verified_on": serializers.DateField(
            allow_null=True,
            help_text="When a second reader verified the deciding assessment; null if never.",
        ),
        "instruments": DECIDER_SCHEMA.__class__(many=True),
        "pending": DECIDER_SCHEMA.__class__(many=True),
        "bloc_obligations": DECIDER_SCHEMA.__class__(many=True),
        "not_commenced": DECIDER_SCHEMA.__class__(many=True),
    },
)
JURISDICTION_SCHEMA = inline_serializer(
    "AnalysedJurisdiction",
    {
        "code": serializers.CharField(),
        "name": serializers.CharField(),
        "kind": serializers.CharField(),
        "research_status": serializers.CharField(),
        "last_reviewed_on": serializers.DateField(allow_null=True),
        "url": serializers.URLField(),
    },
)


# The two JSON shapes of compare (``shape=full`` and ``shape=compact``).
def _comparison_schema(name: str, cell, extra: dict) -> object:
    return inline_serializer(name, {
        "as_of": serializers.DateField(),
        "scope": serializers.ChoiceField(choices=Scope.values),
        "permalink": serializers.URLField(),
        "criteria": serializers.ListField(child=serializers.SlugField()),
        "methodology": serializers.URLField(help_text="How each value is decided (the codebook)."),
        "rows": inline_serializer(
            f"{name}Row",
            {"jurisdiction": JURISDICTION_SCHEMA, "cells": serializers.DictField(child=cell)},
            many=True,
        ),
        **extra,
    })


COMPACT_CELL_SCHEMA = inline_serializer("CompactCell", {
    "value": serializers.ChoiceField(choices=EffectiveValue.choices),
    "approximate": serializers.BooleanField(),
    "basis": serializers.ChoiceField(choices=AssessmentBasis.choices, allow_null=True),
    "verified_on": serializers.DateField(allow_null=True),
    "instruments": serializers.ListField(
        child=serializers.SlugField(), help_text="The deciding instruments, keys of instruments."
    ),
    "pending": serializers.ListField(
        child=serializers.SlugField(), help_text="The pending proposals, keys of instruments."
    ),
    "sources": serializers.ListField(
        child=serializers.CharField(), help_text="The deciders' sources, keys of sources."
    ),
})
COMPARISON_SCHEMA = PolymorphicProxySerializer(
    component_name="ComparisonAnswer",
    serializers=[
        _comparison_schema("Comparison", CELL_SCHEMA, {}),
        _comparison_schema("CompactComparison", COMPACT_CELL_SCHEMA, {
            "instruments": serializers.DictField(child=inline_serializer("NamedInstrument", {
                "url": serializers.URLField(allow_null=True),
                "short_name": serializers.CharField(),
                "title": serializers.CharField(),
                "jurisdiction": serializers.CharField(),
                "status": serializers.CharField(allow_null=True),
            })),
            "sources": serializers.DictField(child=SOURCE_SCHEMA),
        }),
    ],
    resource_type_field_name=None,
)
TIMELINE_SCHEMA = inline_serializer(
    "Timeline",
    {
        "as_of": serializers.DateField(),
        "permalink": serializers.URLField(),
        "jurisdiction": api.JurisdictionBriefSerializer(),
        "count": serializers.IntegerField(),
        "items": inline_serializer(
            "TimelineItem",
            {
                "date": serializers.DateField(),
                "date_precision": serializers.CharField(),
                "type": serializers.ChoiceField(choices=["status_event", "event"]),
                "status": serializers.CharField(allow_null=True),
                "body": serializers.CharField(
                    allow_null=True, help_text="The body that took the step (steps only)."
                ),
                "kind": serializers.CharField(allow_null=True),
                "title": serializers.CharField(),
                "description": serializers.CharField(),
                "instrument": api.InstrumentBriefSerializer(allow_null=True),
                "event": api.EventBriefSerializer(allow_null=True),
                "sources": api.SourceBriefSerializer(many=True),
                "url": serializers.URLField(),
            },
            many=True,
        ),
    },
)


# --- what the generated schema cannot know (found by schemathesis, issue 7) ---------------------
# The text policy (jurisdictions/text.py) as JSON Schema patterns: a single line, multi-line text.
NO_CONTROL_CHARACTERS = r"^[^\u0000-\u001f\u007f]*$"
NO_CONTROL_CHARACTERS_MULTILINE = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$"

# Addresses as the research wrote them: http(s) (the database checks it), but not always a
# strict URI or IRI (non-ASCII characters, an unencoded quote), so no "format".
SOURCE_URL = {"type": "string", "maxLength": 2000,
              "pattern": "^[hH][tT][tT][pP][sS]?://[^\\u0000-\\u001f\\u007f]+$",
              "description": "An http(s) address, as the source gives it (non-ASCII "
              "characters kept)."}


def public_reads(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``):
    the rules every read of the API follows, written into each GET operation.

    - Reading is public: ``{}`` joins the security requirements (a login is optional).
    - ``format=api`` answers the browsable API in HTML, whatever the status.
    - No value may hold a control character.
    - An optional query parameter given empty is the same as absent, except ``format``
      (``allowEmptyValue``); a required one must not be empty; ``page`` and ``page_size``
      count from 1.
    - Sources' addresses are http(s) addresses as the research wrote them, not always strict
      URIs (pages whose addresses are in Chinese, Arabic, …); an archive or official address
      may be empty.
    """
    for path, operations in result.get("paths", {}).items():
        operation = operations.get("get")
        if not operation:
            continue
        security = operation.setdefault("security", [])
        # An account's own webhooks (issue 14) are the one read that needs a login.
        if {} not in security and not path.startswith("/api/v1/webhooks/"):
            security.append({})
        formats = []
        for parameter in operation.get("parameters", []):
            if parameter.get("in") != "query":
                continue
            schema = parameter.setdefault("schema", {})
            items = schema.get("items", {})
            if schema.get("type") == "array" and items.get("type") == "string" and \
                    "enum" not in items:
                # A comma-separated list of free strings is one string on the wire: documented
                # so, since schemathesis reads a number there as a wrongly typed array item.
                schema = parameter["schema"] = {"type": "string"}
                parameter.pop("explode", None)
                parameter.pop("style", None)
                parameter["description"] = (parameter.get("description", "") + " Several "
                                             "values are comma-separated.").strip()
            # Control characters are refused in every value (api/params.py).
            text = schema.get("items", schema)
            if text.get("type") == "string" and "enum" not in text and "format" not in text:
                text.setdefault("pattern", NO_CONTROL_CHARACTERS)
            if parameter["name"] == "format":
                formats = schema.get("enum", [])
            elif parameter.get("required"):
                schema.setdefault("minLength", 1)
            else:
                parameter["allowEmptyValue"] = True
            if parameter["name"] in ("page", "page_size"):
                schema["minimum"] = 1
        if "api" in formats:
            for response in operation.get("responses", {}).values():
                response.setdefault("content", {}).setdefault(
                    "text/html", {"schema": {"type": "string"}})
    components = result.get("components", {}).get("schemas", {})
    for name, component in components.items():
        properties = component.get("properties", {})
        if (name.startswith("Source") or name == "CitedSource") and "url" in properties:
            properties["url"] = {**properties["url"], **SOURCE_URL}
            properties["url"].pop("format", None)
        for field in ("archived_url", "official_url"):
            if field in properties:
                properties[field] = {**properties[field], **SOURCE_URL,
                                     "pattern": "^([hH][tT][tT][pP][sS]?://"
                                                "[^\\u0000-\\u001f\\u007f]+)?$",
                                     "description": "An http(s) address, or empty."}
                properties[field].pop("format", None)
    return result


def busy_answers(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: every operation may answer 429 (too many requests
    from an anonymous client: DRF's ``AnonRateThrottle``, ``API_ANON_RATE``) and 503 (the
    database is unreachable: ``lawtracker.middleware``), both in JSON with ``Retry-After``."""
    retry_after = {
        "Retry-After": {
            "description": "Seconds to wait before trying again.",
            "schema": {"type": "integer", "minimum": 0},
        }
    }
    bodies = {
        "429": ("Too many requests from this client: wait Retry-After seconds.",
                {"detail": {"type": "string"}}),
        "503": ("The database is unavailable: try again after Retry-After seconds.",
                {"detail": {"type": "string"}, "status": {"type": "integer", "enum": [503]}}),
    }
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in ("get", "put", "patch", "post", "delete", "head", "options"):
                continue
            responses = operation.setdefault("responses", {})
            for status, (description, properties) in bodies.items():
                responses.setdefault(status, {
                    "description": description,
                    "headers": retry_after,
                    "content": {"application/json": {"schema": {
                        "type": "object", "properties": properties, "required": ["detail"],
                    }}},
                })
    return result
