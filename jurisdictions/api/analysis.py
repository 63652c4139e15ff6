"""The analysis endpoints (DOMAIN.md, "The public contract"): compare, gaps and changes.

Each answer states the date it answers for (``as_of``) and a ``permalink`` that reproduces it,
and is available as CSV (``format=csv`` or ``Accept: text/csv``). The answers are built by
:mod:`jurisdictions.answers` (one ``build()`` per question, shared with the pages and the CSV);
these views only validate the parameters and render the answer as JSON or CSV.

Selecting jurisdictions (compare and gaps): the selection parameters of
:mod:`jurisdictions.selection`, the same as the pages', narrow the set together (AND):
``gaps/?bloc=EU&within=US`` asks about the EU's members that lie within the US (none).
"""

from __future__ import annotations

from django import forms
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BrowsableAPIRenderer

from rest_framework.response import Response
from rest_framework.views import APIView

from ..answers import changes, compare, gaps
from ..answers.base import Cell, Decider, Place, SelectionParams  # noqa: F401 (SelectionParams: api.history)
from ..answers.changes import CHANGE_SYMBOLS, CHANGE_TYPES, HISTORY, ChoiceListField  # noqa: F401
from ..choices import Scope
from ..coverage import GAP_VALUES
from .links import ApiLinks, iso
from .pagination import Pagination
from .params import BadRequest, StrictParametersMixin, permalink
from .renderers import CSVRenderer, JSONRenderer, csv_response, table
from .schema import (
    AS_OF_PARAMETER,
    CELL_SCHEMA,
    COMPARISON_SCHEMA,
    DECIDER_SCHEMA,
    JURISDICTION_SCHEMA,
    LIST_FORMAT_PARAMETER,
    SCOPE_PARAMETER,
    SELECTION,
    answers,
)


# --- shared view behaviour -------------------------------------------------------------------
class AnalysisView(StrictParametersMixin, APIView):
    """GET only, public, strict parameters from ``params_form``, JSON or CSV."""

    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, CSVRenderer]
    http_method_names = ["get", "head", "options"]
    params_form: type[forms.Form]
    url_name: str

    def accepted_parameters(self):
        return ["format", *self.params_form.base_fields]

    def clean_parameters(self, request) -> forms.Form:
        form = self.params_form(request.query_params)
        if not form.is_valid():
            errors = {name: list(messages) for name, messages in form.errors.items()}
            raise BadRequest(errors, self.accepted_parameters())
        return form

    def context(self) -> dict:
        return {"request": self.request}

    def links(self) -> ApiLinks:
        return ApiLinks(self.context())

    def link(self, params: dict) -> str:
        return permalink(self.request, reverse(f"api:{self.url_name}"), params)

    def methodology(self) -> str:
        """The absolute URL of the methodology page: how every value of the answer is decided."""
        return self.request.build_absolute_uri(reverse("pages:methodology"))


# --- the answers as JSON ----------------------------------------------------------------------
def jurisdiction_dict(place: Place) -> dict:
    return {
        "code": place.code,
        "name": place.name,
        "kind": place.kind,
        "research_status": place.research_status,
        "last_reviewed_on": iso(place.last_reviewed_on),
        "url": place.url,
    }


def decider_dict(decider: Decider) -> dict:
    return {
        "slug": decider.slug,
        "url": decider.url,
        "short_name": decider.short_name,
        "title": decider.title,
        "jurisdiction": decider.jurisdiction,
        "inherited": decider.inherited,
        "value": decider.value,
        "status": decider.status,
        "pinpoint": decider.pinpoint,
        "commencement_date": iso(decider.commencement_date),
        "basis": decider.basis or None,
        "verified_on": iso(decider.verified_on),
        "sources": list(decider.sources),
    }


def deciders(found) -> list[dict]:
    return [decider_dict(d) for d in found] if found else []


def cell_dict(cell: Cell) -> dict:
    return {
        "value": cell.value,
        "approximate": cell.approximate,
        "basis": cell.basis or None,
        "verified_on": iso(cell.verified_on),
        "instruments": deciders(cell.instruments),
        "pending": deciders(cell.pending),
        "bloc_obligations": deciders(cell.bloc_obligations),
        "not_commenced": deciders(cell.not_commenced),
    }


def compact_cells(answer: compare.Comparison) -> tuple[list[dict], dict, dict]:
    """The rows of ``shape=compact``, and the instruments and sources they name, each described
    once: ``(rows, {slug: instrument}, {key: source})``. A cell names its deciding and pending
    instruments by slug and cites the sources of its deciders by key (``"1"``, ``"2"``, … in
    the order they first appear in the answer)."""
    instruments: dict[str, dict] = {}
    sources: dict[str, dict] = {}
    keys: dict[str, str] = {}

    def named(found) -> list[str]:
        for decider in found:
            instruments.setdefault(decider.slug, {
                "url": decider.url,
                "short_name": decider.short_name,
                "title": decider.title,
                "jurisdiction": decider.jurisdiction,
                "status": decider.status,
            })
        return [decider.slug for decider in found]

    def cited(cell: Cell) -> list[str]:
        found = []
        for source in (s for d in cell.instruments for s in d.sources):
            key = keys.get(source["url"])
            if key is None:
                key = keys[source["url"]] = str(len(keys) + 1)
                sources[key] = source
            if key not in found:
                found.append(key)
        return found

    rows = [
        {
            "jurisdiction": jurisdiction_dict(row.jurisdiction),
            "cells": {
                cell.criterion: {
                    "value": cell.value,
                    "approximate": cell.approximate,
                    "basis": cell.basis or None,
                    "verified_on": iso(cell.verified_on),
                    "instruments": named(cell.instruments),
                    "pending": named(cell.pending),
                    "sources": cited(cell),
                }
                for cell in row.cells
            },
        }
        for row in answer.rows
    ]
    return rows, instruments, sources


def gap_dict(entry: gaps.Entry) -> dict:
    cell = entry.cell
    return {
        **jurisdiction_dict(entry.jurisdiction),
        "approximate": cell.approximate,
        "basis": cell.basis or None,
        "verified_on": iso(cell.verified_on),
        "pending": entry.pending,
        "pending_instruments": deciders(cell.pending),
        "instruments": deciders(cell.instruments),
    }


def change_dict(change: changes.Change) -> dict:
    return {
        "model": change.model,
        "key": change.key,
        "object_id": change.object_id,
        "change": change.change,
        "change_type": change.change_type,
        "date": iso(change.date),
        "user": change.user,
        "reason": change.reason,
        "url": change.url,
    }


def csv_of(name: str, columns, lines):
    return csv_response(name, [c.header for c in columns], table(lines, columns))


class CompareView(AnalysisView):
    """A jurisdictions × criteria matrix of effective values as of ``as_of``."""

    params_form = compare.CompareParams
    url_name = "compare"

    @extend_schema(
        summary="Compare jurisdictions",
        description="Effective value of each jurisdiction for each criterion as of as_of, each "
        "cell naming the instruments that decide it (inherited or not) with their sources, the "
        "pending proposals that would answer yes, and the bloc obligations (shown, never "
        "counted). At least one selection parameter other than research is required; they "
        "narrow the set together (AND).",
        parameters=[
            *SELECTION,
            OpenApiParameter(
                "criterion", {"type": "array", "items": {"type": "string"}}, explode=False,
                description="Criterion slugs, comma-separated (default: every criterion not "
                "retired).",
            ),
            OpenApiParameter(
                "criteria", {"type": "array", "items": {"type": "string"}}, explode=False,
                description="The former name of criterion, still accepted so that old links "
                "keep working; give one of the two.",
                deprecated=True,
            ),
            OpenApiParameter(
                "layout", {"type": "string", "enum": ["long", "wide"]},
                description="CSV only: long (default; one line per jurisdiction and criterion) "
                "or wide (one line per jurisdiction, one column per criterion).",
            ),
            OpenApiParameter(
                "shape", {"type": "string", "enum": list(compare.SHAPES)},
                description="JSON only: full (default; every cell describes its deciding, "
                "pending, bloc and not-yet-commenced instruments in full) or compact (read from "
                "the coverage spans: each cell names its deciding and pending instruments by "
                "slug and its sources by key, described once in the answer's instruments and "
                "sources maps; no bloc obligations or not-yet-commenced instruments). Made for "
                "large selections.",
            ),
            AS_OF_PARAMETER, SCOPE_PARAMETER, LIST_FORMAT_PARAMETER,
        ],
        responses=answers(COMPARISON_SCHEMA, "The answer, as of as_of, in the shape asked."),
    )
    def get(self, request):
        form = self.clean_parameters(request)
        if self.wants_csv():
            answer = compare.build(form.question(), self.links())
            layout = form.cleaned_data.get("layout") or "long"
            return csv_of(answer.csv_name(layout), *compare.csv_table(answer, layout))
        compact = form.cleaned_data.get("shape") == "compact"
        answer = compare.build(form.question(), self.links(), compact=compact)
        as_of, scope = answer.as_of, answer.scope
        body = {
            "as_of": as_of.isoformat(),
            "scope": scope,
            "permalink": self.link(
                {
                    **form.selection_for_permalink(),
                    "criterion": list(answer.criteria),
                    "as_of": as_of,
                    "scope": scope,
                    **({"shape": "compact"} if compact else {}),
                }
            ),
            "criteria": list(answer.criteria),
            "methodology": self.methodology(),
        }
        if compact:
            body["rows"], body["instruments"], body["sources"] = compact_cells(answer)
        else:
            body["rows"] = [
                {
                    "jurisdiction": jurisdiction_dict(row.jurisdiction),
                    "cells": {cell.criterion: cell_dict(cell) for cell in row.cells},
                }
                for row in answer.rows
            ]
        return Response(body)


class GapsView(AnalysisView):
    """The researched jurisdictions without coverage for one criterion, grouped by value."""

    params_form = gaps.GapsParams
    url_name = "gaps"

    @extend_schema(
        summary="Gaps for one criterion",
        description="Researched jurisdictions whose effective value for the criterion is not "
        "yes as of as_of, grouped by value (none, no, unclear, partial), with the jurisdictions "
        "not yet researched listed apart (not_researched), counts per group and the "
        "jurisdictions with a pending proposal flagged. The selection parameters narrow the set "
        "together (AND); without any, every jurisdiction except international organisations.",
        parameters=[
            OpenApiParameter(
                "criterion", OpenApiTypes.STR, required=True,
                description="A criterion slug (possession).",
            ),
            *SELECTION,
            AS_OF_PARAMETER, SCOPE_PARAMETER, LIST_FORMAT_PARAMETER,
        ],
        responses={
            **answers(inline_serializer(
                "Gaps",
                {
                    "as_of": serializers.DateField(),
                    "scope": serializers.ChoiceField(choices=Scope.values),
                    "permalink": serializers.URLField(),
                    "criterion": serializers.SlugField(),
                    "counts": inline_serializer(
                        "GapCounts", {v: serializers.IntegerField() for v in GAP_VALUES}
                    ),
                    "groups": inline_serializer(
                        "GapGroups",
                        {
                            v: inline_serializer(
                                f"Gap_{v}",
                                {
                                    "code": serializers.CharField(),
                                    "name": serializers.CharField(),
                                    "kind": serializers.CharField(),
                                    "research_status": serializers.CharField(),
                                    "url": serializers.URLField(),
                                    "approximate": serializers.BooleanField(),
                                    "basis": serializers.CharField(allow_null=True),
                                    "verified_on": serializers.DateField(allow_null=True),
                                    "pending": serializers.BooleanField(),
                                    "pending_instruments": DECIDER_SCHEMA.__class__(many=True),
                                    "instruments": DECIDER_SCHEMA.__class__(many=True),
                                },
                                many=True,
                            )
                            for v in GAP_VALUES
                        },
                    ),
                    "pending": serializers.ListField(
                        child=serializers.CharField(),
                        help_text="Codes of the listed jurisdictions with a pending proposal.",
                    ),
                    "covered_count": serializers.IntegerField(),
                    "methodology": serializers.URLField(
                        help_text="How each value is decided (the codebook)."
                    ),
                },
            ), "The answer, as of as_of."),
        },
    )
    def get(self, request):
        form = self.clean_parameters(request)
        answer = gaps.build(form.question(), self.links())
        if self.wants_csv():
            return csv_of(answer.csv_name, gaps.columns(answer), answer.listed)
        as_of, scope = answer.as_of, answer.scope
        return Response(
            {
                "as_of": as_of.isoformat(),
                "scope": scope,
                "permalink": self.link(
                    {
                        "criterion": answer.criterion,
                        **form.selection_for_permalink(),
                        "as_of": as_of,
                        "scope": scope,
                    }
                ),
                "criterion": answer.criterion,
                "counts": answer.counts,
                "groups": {
                    value: [gap_dict(entry) for entry in entries]
                    for value, entries in answer.groups.items()
                },
                "pending": list(answer.pending),
                "covered_count": len(answer.covered),
                "methodology": self.methodology(),
            }
        )


class ChangesView(AnalysisView):
    """What was edited, newest first, from each model's history (django-simple-history)."""

    params_form = changes.ChangesParams
    url_name = "changes"
    pagination_class = Pagination

    @extend_schema(
        summary="Changes",
        description="Every recorded edit (created +, changed ~, deleted -) of jurisdictions, "
        "memberships, sources, instruments, identifiers, amendment links, status events, "
        "criteria, assessments, events and citations, newest first, made at or after since "
        "and on or before the day as_of. format=csv exports every matching change.",
        parameters=[
            OpenApiParameter(
                "since", OpenApiTypes.STR,
                description="ISO 8601 date (midnight UTC) or date-time; default: the beginning.",
            ),
            OpenApiParameter(
                "as_of", OpenApiTypes.DATE,
                description="Changes made on or before this day (UTC; default today).",
            ),
            OpenApiParameter(
                "model", {"type": "array", "items": {"type": "string",
                                                     "enum": [s.name for s in HISTORY]}},
                explode=False, description="Only these kinds of rows.",
            ),
            OpenApiParameter(
                "change", {"type": "array", "items": {"type": "string",
                                                      "enum": list(CHANGE_SYMBOLS)}},
                explode=False, description="Only these kinds of change.",
            ),
            OpenApiParameter(
                "jurisdiction", {"type": "array", "items": {"type": "string"}}, explode=False,
                description="Jurisdiction codes (any case): only changes to their data — the "
                "jurisdiction, its bloc memberships, its instruments with their identifiers, "
                "amendment links, status events, assessments and citations, and the events "
                "involving it, and the same for its subdivisions. Sources and criteria belong to "
                "no jurisdiction and are left out.",
            ),
            OpenApiParameter(
                "instrument", {"type": "array", "items": {"type": "string"}}, explode=False,
                description="Instrument slugs: only changes to them and what hangs on them "
                "(identifiers, amendment links, steps, assessments, citations, events).",
            ),
            OpenApiParameter("page", OpenApiTypes.INT, description="A page number."),
            OpenApiParameter(
                "page_size", OpenApiTypes.INT,
                description="Rows per page (capped at MAX_PAGE_SIZE).",
            ),
            LIST_FORMAT_PARAMETER,
        ],
        responses={
            **answers(inline_serializer(
                "Changes",
                {
                    "as_of": serializers.DateField(),
                    "since": serializers.DateTimeField(allow_null=True),
                    "permalink": serializers.URLField(),
                    "count": serializers.IntegerField(),
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "results": inline_serializer(
                        "Change",
                        {
                            "model": serializers.CharField(),
                            "key": serializers.CharField(),
                            "object_id": serializers.IntegerField(),
                            "change": serializers.ChoiceField(choices=list(CHANGE_TYPES)),
                            "change_type": serializers.ChoiceField(
                                choices=list(CHANGE_SYMBOLS)
                            ),
                            "date": serializers.DateTimeField(),
                            "user": serializers.CharField(
                                allow_null=True, help_text="Who made it: \"an editor\" (or a "
                                "name the organisation publishes); the username for staff.",
                            ),
                            "reason": serializers.CharField(
                                allow_null=True, help_text="Why, as the editor recorded it."
                            ),
                            "url": serializers.URLField(allow_null=True),
                        },
                        many=True,
                    ),
                },
            ), "The answer, as of as_of."),
        },
    )
    def get(self, request):
        form = self.clean_parameters(request)
        data = form.cleaned_data
        answer = changes.build(data, self.links())
        paginator = self.pagination_class()
        if self.wants_csv():
            # Every change, not one page; a malformed page is still refused, as in JSON.
            paginator.check_parameters(request, self)
            return csv_of(answer.csv_name, changes.COLUMNS, answer.entries())
        page = paginator.paginate_queryset(answer.rows, request, view=self)
        response = paginator.get_paginated_response(
            [change_dict(c) for c in answer.entries(page)]
        )
        response.data = {
            "as_of": answer.as_of.isoformat(),
            "since": iso(answer.since),
            "permalink": self.link(
                {
                    "since": iso(answer.since),
                    "as_of": answer.as_of,
                    "model": data.get("model"),
                    "change": data.get("change"),
                    "jurisdiction": data.get("jurisdiction"),
                    "instrument": data.get("instrument"),
                    "page": request.query_params.get("page"),
                    "page_size": request.query_params.get("page_size"),
                }
            ),
            **response.data,
        }
        return response


__all__ = ["AnalysisView", "ChangesView", "CompareView", "GapsView"]
