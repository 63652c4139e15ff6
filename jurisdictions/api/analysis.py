"""The analysis endpoints (DOMAIN.md, "The public contract"): compare, gaps and changes.

Each answer states the date it answers for (``as_of``) and a ``permalink`` that reproduces it,
and is available as CSV (``format=csv`` or ``Accept: text/csv``). The effective-coverage rules
are :mod:`jurisdictions.coverage`'s; these views only choose the jurisdictions and criteria,
validate the parameters and shape the answer.

Selecting jurisdictions (compare and gaps): the selection parameters of
:mod:`jurisdictions.selection`, the same as the pages', narrow the set together (AND):
``gaps/?bloc=EU&within=US`` asks about the EU's members that lie within the US (none).
"""

from __future__ import annotations

import datetime

from django import forms
from django.db.models import CharField, F, Q, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.urls import NoReverseMatch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from ..choices import STATUS_SEQUENCE, JurisdictionKind, Scope
from ..clock import today
from ..coverage import GAP_VALUES, compute, gaps
from ..filtersets import (
    IsoDateField,
    IsoDateTimeField,
    KeyField,
    KeyListField,
    ListField,
)
from ..models import (
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
)
from ..selection import SELECTION_PARAMETERS, read_selection, split_values
from .pagination import Pagination
from .params import BadRequest, StrictParametersMixin, permalink
from .renderers import Column, CSVRenderer, csv_response, table
from .schema import (
    AS_OF_PARAMETER,
    CELL_SCHEMA,
    DECIDER_SCHEMA,
    JURISDICTION_SCHEMA,
    LIST_FORMAT_PARAMETER,
    SCOPE_PARAMETER,
    SELECTION,
    answers,
)
from .serializers import (
    EventBriefSerializer,
    InstrumentBriefSerializer,
    SourceBriefSerializer,
    api_url,
    staff_name,
)

# --- parameters ------------------------------------------------------------------------------


class ChoiceListField(ListField, forms.ChoiceField):
    """Comma-separated choices."""


def _codes_field(help_text: str) -> KeyListField:
    return KeyListField(
        model=Jurisdiction, key="code", upper=True, noun="jurisdiction code", required=False,
        help_text=help_text,
    )


def _scope_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        choices=Scope.choices,
        required=False,
        error_messages={"invalid_choice": "%(value)r is not one of: applicable, own."},
    )


class SelectionParams(forms.Form):
    """Which jurisdictions (:mod:`jurisdictions.selection`: the parameters narrow together), as
    of when, under which scope."""

    jurisdictions = forms.CharField(required=False)
    bloc = forms.CharField(required=False)
    group = forms.CharField(required=False)
    within = forms.CharField(required=False)
    region = forms.CharField(required=False)
    kind = forms.CharField(required=False)
    research = forms.CharField(required=False)
    as_of = IsoDateField(required=False)
    scope = _scope_field()

    def clean(self):
        cleaned = super().clean()
        cleaned["as_of"] = cleaned.get("as_of") or today()
        cleaned["scope"] = cleaned.get("scope") or Scope.APPLICABLE.value
        self.selection = read_selection(
            lambda name: [] if self.has_error(name) else split_values(self.data.get(name)),
            self.add_error,
        )
        return cleaned

    def selected(self) -> list[Jurisdiction] | None:
        """The jurisdictions chosen (in the order of ``jurisdictions`` when given, else by
        code); None when no parameter narrows the set."""
        if not self.selection.narrowed and self.selection.research == "all":
            return None
        return self.selection.apply(self.cleaned_data["as_of"])

    def selection_for_permalink(self) -> dict:
        params = self.selection.params()
        if self.data.get("research"):
            params["research"] = self.selection.research
        return params


class CompareParams(SelectionParams):
    criterion = KeyListField(model=Criterion, noun="criterion", required=False)
    layout = forms.ChoiceField(
        choices=[("long", "long"), ("wide", "wide")], required=False,
        error_messages={"invalid_choice": "%(value)r is not one of: long, wide."},
    )
    criteria = KeyListField(
        model=Criterion, noun="criterion", required=False,
        help_text="The former name of criterion, still accepted so that old links keep working.",
    )

    def clean(self):
        cleaned = super().clean()
        if self.data.get("criterion") and self.data.get("criteria"):
            self.add_error(
                "criteria", "criteria is the former name of criterion: give one of them."
            )
        elif cleaned.get("criteria"):
            cleaned["criterion"] = cleaned["criteria"]
        if not self.selection.narrowed and not any(
            self.has_error(name) for name in SELECTION_PARAMETERS
        ):
            self.add_error(
                "jurisdictions",
                "Required: give jurisdictions (codes, comma-separated), a bloc, a group, within, "
                "a region or a kind. compare does not answer for the whole table.",
            )
        return cleaned


class GapsParams(SelectionParams):
    criterion = KeyField(model=Criterion, noun="criterion", required=True)


class ChangesParams(forms.Form):
    since = IsoDateTimeField(required=False)
    as_of = IsoDateField(required=False)
    model = ChoiceListField(choices=[], required=False)
    change = ChoiceListField(
        choices=[("created", "created"), ("changed", "changed"), ("deleted", "deleted")],
        required=False,
    )
    jurisdiction = _codes_field(
        "Only changes to these jurisdictions' data (comma-separated codes), their subdivisions' "
        "included: themselves, their memberships, instruments and what hangs on them, events "
        "involving them."
    )
    instrument = KeyListField(
        model=Instrument, key="slug", noun="instrument slug", required=False,
        help_text="Only changes to these instruments (comma-separated slugs) and what hangs on "
        "them: identifiers, amendment links, steps, assessments, citations, events.",
    )
    page = forms.CharField(required=False)
    page_size = forms.CharField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [(spec.name, spec.name) for spec in HISTORY]

    def clean(self):
        cleaned = super().clean()
        cleaned["as_of"] = cleaned.get("as_of") or today()
        since = cleaned.get("since")
        if since and since.date() > cleaned["as_of"]:
            self.add_error("since", "since is later than as_of.")
        return cleaned


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

    def link(self, params: dict) -> str:
        from django.urls import reverse

        return permalink(self.request, reverse(f"api:{self.url_name}"), params)

    def methodology(self) -> str:
        """The absolute URL of the methodology page: how every value of the answer is decided."""
        from django.urls import reverse

        return self.request.build_absolute_uri(reverse("pages:methodology"))


def jurisdiction_dict(jurisdiction: Jurisdiction, context) -> dict:
    return {
        "code": jurisdiction.code,
        "name": jurisdiction.name,
        "kind": jurisdiction.kind,
        "research_status": jurisdiction.research_status,
        "last_reviewed_on": (
            jurisdiction.last_reviewed_on.isoformat() if jurisdiction.last_reviewed_on else None
        ),
        "url": api_url(context, "jurisdiction-detail", code=jurisdiction.code),
    }


def decider_dict(decider, context) -> dict:
    return {
        "slug": decider.slug,
        "url": api_url(context, "instrument-detail", slug=decider.slug),
        "short_name": decider.short_name,
        "title": decider.title,
        "jurisdiction": decider.jurisdiction_code,
        "inherited": decider.inherited,
        "value": decider.value,
        "status": decider.status,
        "pinpoint": decider.pinpoint,
        "commencement_date": (
            decider.commencement_date.isoformat() if decider.commencement_date else None
        ),
        "basis": decider.basis or None,
        "verified_on": decider.verified_on.isoformat() if decider.verified_on else None,
        "sources": [dict(source) for source in decider.sources],
    }


def cell_dict(cell, context) -> dict:
    return {
        "value": cell.value,
        "approximate": cell.approximate,
        "basis": cell.basis or None,
        "verified_on": cell.verified_on.isoformat() if cell.verified_on else None,
        "instruments": [decider_dict(d, context) for d in cell.instruments],
        "pending": [decider_dict(d, context) for d in cell.pending],
        "bloc_obligations": [decider_dict(d, context) for d in cell.bloc_obligations],
        "not_commenced": [decider_dict(d, context) for d in cell.not_commenced],
    }


# The source to cite for a row (``Cell.primary_source``), last in the compare and gaps CSVs.
PRIMARY_SOURCE_COLUMNS = [
    Column(f"source_{name}", f"primary_source.{name}")
    for name in ("title", "publisher", "url", "published_on")
]


class CompareView(AnalysisView):
    """A jurisdictions × criteria matrix of effective values as of ``as_of``."""

    params_form = CompareParams
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
            AS_OF_PARAMETER, SCOPE_PARAMETER, LIST_FORMAT_PARAMETER,
        ],
        responses={
            **answers(inline_serializer(
                "Comparison",
                {
                    "as_of": serializers.DateField(),
                    "scope": serializers.ChoiceField(choices=Scope.values),
                    "permalink": serializers.URLField(),
                    "criteria": serializers.ListField(child=serializers.SlugField()),
                    "methodology": serializers.URLField(
                        help_text="How each value is decided (the codebook)."
                    ),
                    "rows": inline_serializer(
                        "ComparisonRow",
                        {
                            "jurisdiction": JURISDICTION_SCHEMA,
                            "cells": serializers.DictField(child=CELL_SCHEMA),
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
        jurisdictions = form.selected()
        if data.get("criterion"):
            by_slug = {c.slug: c for c in Criterion.objects.filter(slug__in=data["criterion"])}
            criteria = [by_slug[s] for s in data["criterion"]]
        else:
            criteria = list(Criterion.objects.filter(retired=False))
        coverage = compute(jurisdictions, criteria, data["as_of"], data["scope"])
        context = self.context()
        rows = [
            {
                "jurisdiction": jurisdiction_dict(jurisdiction, context),
                "cells": {slug: cell_dict(cell, context) for slug, cell in cells.items()},
            }
            for jurisdiction, cells in coverage.rows()
        ]
        as_of, scope = data["as_of"], data["scope"]
        if self.wants_csv():
            primary = {
                (jurisdiction.code, slug): cell.primary_source or {}
                for jurisdiction, cells in coverage.rows()
                for slug, cell in cells.items()
            }
            if data.get("layout") == "wide":
                return self.wide_csv(rows, criteria, as_of, scope, primary)
            return self.csv(rows, criteria, as_of, scope, primary)
        return Response(
            {
                "as_of": as_of.isoformat(),
                "scope": scope,
                "permalink": self.link(
                    {
                        **form.selection_for_permalink(),
                        "criterion": [c.slug for c in criteria],
                        "as_of": as_of,
                        "scope": scope,
                    }
                ),
                "criteria": [c.slug for c in criteria],
                "methodology": self.methodology(),
                "rows": rows,
            }
        )

    def wide_csv(self, rows, criteria, as_of, scope, primary):
        """``layout=wide``: one line per jurisdiction, for each criterion its value, deciding
        instruments and primary source's address."""
        columns = [
            Column("as_of", lambda r: as_of.isoformat()),
            Column("scope", lambda r: scope),
            Column("jurisdiction", "jurisdiction.code"),
            Column("jurisdiction_name", "jurisdiction.name"),
            Column("research_status", "jurisdiction.research_status"),
        ]
        for criterion in criteria:
            slug = criterion.slug
            columns += [
                Column(slug, lambda r, slug=slug: r["cells"][slug]["value"]),
                Column(f"{slug}_instruments",
                       lambda r, slug=slug: [d["slug"] for d in r["cells"][slug]["instruments"]]),
                Column(f"{slug}_source_url", lambda r, slug=slug: primary[
                    (r["jurisdiction"]["code"], slug)].get("url")),
            ]
        return csv_response(
            f"compare-wide-{as_of.isoformat()}.csv", [c.header for c in columns],
            table(rows, columns),
        )

    def csv(self, rows, criteria, as_of, scope, primary):
        """One line per jurisdiction and criterion (long format: one value per cell)."""
        lines = [
            {
                "as_of": as_of.isoformat(),
                "scope": scope,
                "jurisdiction": row["jurisdiction"]["code"],
                "jurisdiction_name": row["jurisdiction"]["name"],
                "research_status": row["jurisdiction"]["research_status"],
                "criterion": criterion.slug,
                **row["cells"][criterion.slug],
                "primary_source": primary[(row["jurisdiction"]["code"], criterion.slug)],
            }
            for row in rows
            for criterion in criteria
        ]
        columns = [
            Column("as_of"),
            Column("scope"),
            Column("jurisdiction"),
            Column("jurisdiction_name"),
            Column("research_status"),
            Column("criterion"),
            Column("value"),
            Column("approximate"),
            Column("basis"),
            Column("verified_on"),
            Column("instruments", "instruments.slug"),
            Column(
                "inherited_from",
                lambda r: sorted({d["jurisdiction"] for d in r["instruments"] if d["inherited"]}),
            ),
            Column("pinpoints", "instruments.pinpoint"),
            Column(
                "sources",
                lambda r: list(
                    dict.fromkeys(s["url"] for d in r["instruments"] for s in d["sources"])
                ),
            ),
            Column("pending", "pending.slug"),
            Column("bloc_obligations", "bloc_obligations.slug"),
            *PRIMARY_SOURCE_COLUMNS,
        ]
        return csv_response(
            f"compare-{as_of.isoformat()}.csv", [c.header for c in columns], table(lines, columns)
        )


class GapsView(AnalysisView):
    """The researched jurisdictions without coverage for one criterion, grouped by value."""

    params_form = GapsParams
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
        data = form.cleaned_data
        selected = form.selected()
        if selected is None:
            selected = Jurisdiction.objects.exclude(kind=JurisdictionKind.INTERNATIONAL)
        answer = gaps(data["criterion"], data["as_of"], data["scope"], jurisdictions=selected)
        context = self.context()
        groups = {
            value: [
                {
                    **jurisdiction_dict(j, context),
                    "approximate": answer["cells"][j.code].approximate,
                    "basis": answer["cells"][j.code].basis or None,
                    "verified_on": (
                        answer["cells"][j.code].verified_on.isoformat()
                        if answer["cells"][j.code].verified_on else None
                    ),
                    "pending": j.code in answer["pending"],
                    "pending_instruments": [
                        decider_dict(d, context) for d in answer["cells"][j.code].pending
                    ],
                    "instruments": [
                        decider_dict(d, context) for d in answer["cells"][j.code].instruments
                    ],
                }
                for j in members
            ]
            for value, members in answer["groups"].items()
        }
        listed = {j["code"] for members in groups.values() for j in members}
        as_of, scope, criterion = answer["as_of"], answer["scope"], answer["criterion"].slug
        if self.wants_csv():
            columns = [
                Column("as_of", lambda r: as_of.isoformat()),
                Column("scope", lambda r: scope),
                Column("criterion", lambda r: criterion),
                Column("group"),
                Column("code"),
                Column("name"),
                Column("kind"),
                Column("research_status"),
                Column("approximate"),
                Column("basis"),
                Column("verified_on"),
                Column("pending"),
                Column("pending_instruments", "pending_instruments.slug"),
                Column("instruments", "instruments.slug"),
                *PRIMARY_SOURCE_COLUMNS,
            ]
            lines = [
                {"group": value, **entry,
                 "primary_source": answer["cells"][entry["code"]].primary_source or {}}
                for value, entries in groups.items() for entry in entries
            ]
            return csv_response(
                f"gaps-{criterion}-{as_of.isoformat()}.csv",
                [c.header for c in columns],
                table(lines, columns),
            )
        return Response(
            {
                "as_of": as_of.isoformat(),
                "scope": scope,
                "permalink": self.link(
                    {
                        "criterion": criterion,
                        **form.selection_for_permalink(),
                        "as_of": as_of,
                        "scope": scope,
                    }
                ),
                "criterion": criterion,
                "counts": answer["counts"],
                "groups": groups,
                "pending": sorted(code for code in answer["pending"] if code in listed),
                "covered_count": len(answer["covered"]),
                "methodology": self.methodology(),
            }
        )


# --- timeline ----------------------------------------------------------------------------------
TIMELINE_COLUMNS = [
    Column("date"),
    Column("date_precision"),
    Column("type"),
    Column("status"),
    Column("body"),
    Column("kind"),
    Column("title"),
    Column("instrument", "instrument.slug"),
    Column("description"),
    Column("sources", "sources.url"),
    Column("url"),
]


def timeline_items(jurisdiction: Jurisdiction, as_of: datetime.date, context) -> list[dict]:
    """The status events of ``jurisdiction``'s own instruments and the events involving it (or
    one of its instruments), dated on or before ``as_of``, in date order.

    Same-day items: steps before events, steps in life order. Each item: ``{"date",
    "date_precision", "type": "status_event"|"event", "status", "body", "kind", "title",
    "description", "instrument", "event", "sources", "url"}``. Five queries.
    """
    steps = (
        StatusEvent.objects.filter(instrument__jurisdiction=jurisdiction, date__lte=as_of)
        .select_related("instrument__jurisdiction")
        .prefetch_related("sources")
    )
    involved = EventJurisdiction.objects.filter(jurisdiction=jurisdiction).values("event")
    events = (
        Event.objects.filter(Q(pk__in=involved) | Q(instrument__jurisdiction=jurisdiction),
                             date__lte=as_of)
        .select_related("instrument__jurisdiction")
        .prefetch_related("sources")
    )

    def cited(row):
        return SourceBriefSerializer(row.sources.all(), many=True, context=context).data

    def brief(instrument):
        if instrument is None:
            return None
        return InstrumentBriefSerializer(instrument, context=context).data

    ordered = []
    for step in steps:
        order = (step.date, 0, STATUS_SEQUENCE.get(step.status, 0), step.instrument.slug,
                 step.pk)
        ordered.append((order, {
            "date": step.date.isoformat(),
            "date_precision": step.date_precision,
            "type": "status_event",
            "status": step.status,
            "body": step.body or None,
            "kind": None,
            "title": step.instrument.short_name or step.instrument.title,
            "description": step.description,
            "instrument": brief(step.instrument),
            "event": None,
            "sources": cited(step),
            "url": api_url(context, "status-event-detail", pk=step.pk),
        }))
    for event in events:
        ordered.append(((event.date, 1, 0, event.slug, event.pk), {
            "date": event.date.isoformat(),
            "date_precision": event.date_precision,
            "type": "event",
            "status": None,
            "body": None,
            "kind": event.kind,
            "title": event.title,
            "description": event.summary,
            "instrument": brief(event.instrument),
            "event": EventBriefSerializer(event, context=context).data,
            "sources": cited(event),
            "url": api_url(context, "event-detail", slug=event.slug),
        }))
    return [item for _, item in sorted(ordered, key=lambda pair: pair[0])]


# --- changes -----------------------------------------------------------------------------------
class HistorySpec:
    """How one model's history table answers ``changes``: its public name, the expression of
    the changed row's key (on the historical row, joining live rows for parents' keys), and the
    API route of a row (``route``: view name and the URL keyword, ``pk`` or the key)."""

    def __init__(self, name, model, parts, route=None):
        self.name, self.model, self.parts, self.route = name, model, parts, route

    def key_expression(self):
        pieces = []
        for part in self.parts:
            if part.startswith("'"):
                pieces.append(Value(part.strip("'")))
            else:
                pieces.append(Coalesce(Cast(F(part), CharField()), Value("?")))
        if len(pieces) == 1:
            return pieces[0]
        return Concat(*pieces, output_field=CharField())

    def url(self, context, key: str, object_id: int) -> str | None:
        if not self.route:
            return None
        view_name, kwarg = self.route
        try:
            return api_url(context, view_name, **{kwarg: object_id if kwarg == "pk" else key})
        except NoReverseMatch:
            return None


HISTORY = (
    HistorySpec("jurisdiction", Jurisdiction, ["code"], ("jurisdiction-detail", "code")),
    HistorySpec(
        "bloc_membership", BlocMembership,
        ["bloc__code", "' has member '", "member__code", "' from '", "start_date"],
    ),
    HistorySpec("source", Source, ["url"], ("source-detail", "pk")),
    HistorySpec("instrument", Instrument, ["slug"], ("instrument-detail", "slug")),
    HistorySpec("identifier", Identifier, ["instrument__slug", "' '", "scheme", "':'", "value"]),
    HistorySpec(
        "instrument_amendment", InstrumentAmendment,
        ["amending__slug", "' amends '", "amended__slug"],
    ),
    HistorySpec(
        "status_event", StatusEvent, ["instrument__slug", "' '", "status", "' '", "date"],
        ("status-event-detail", "pk"),
    ),
    HistorySpec("criterion", Criterion, ["slug"], ("criterion-detail", "slug")),
    HistorySpec(
        "assessment", Assessment, ["instrument__slug", "' '", "criterion__slug"],
        ("assessment-detail", "pk"),
    ),
    HistorySpec("event", Event, ["slug"], ("event-detail", "slug")),
    HistorySpec(
        "event_jurisdiction", EventJurisdiction, ["event__slug", "' '", "jurisdiction__code"]
    ),
    HistorySpec(
        "instrument_source", InstrumentSource, ["instrument__slug", "' cites '", "source__url"]
    ),
    HistorySpec(
        "status_event_source", StatusEventSource,
        ["status_event__instrument__slug", "' '", "status_event__status", "' '",
         "status_event__date", "' cites '", "source__url"],
    ),
    HistorySpec(
        "assessment_source", AssessmentSource,
        ["assessment__instrument__slug", "' '", "assessment__criterion__slug", "' cites '",
         "source__url"],
    ),
    HistorySpec("event_source", EventSource, ["event__slug", "' cites '", "source__url"]),
)
HISTORY_BY_NAME = {spec.name: spec for spec in HISTORY}
CHANGE_TYPES = {"+": "created", "~": "changed", "-": "deleted"}
CHANGE_SYMBOLS = {name: symbol for symbol, name in CHANGE_TYPES.items()}
COLUMNS = ("c_model", "c_key", "c_object", "c_date", "c_type", "c_user", "c_hid", "c_reason")


def _events_of(ids, prefix=""):
    """Events (through ``prefix``) involving the jurisdictions ``ids`` or of their instruments."""
    involved = EventJurisdiction.objects.filter(jurisdiction__in=ids).values("event")
    return Q(**{f"{prefix}id__in" if prefix else "id__in": involved}) | Q(
        **{f"{prefix}instrument__jurisdiction__in": ids}
    )


# Which historical rows concern the jurisdictions ``ids`` (``changes?jurisdiction=``). Rows
# under an instrument follow it through the live instrument; sources and criteria belong to no
# jurisdiction.
JURISDICTION_OF = {
    "jurisdiction": lambda ids: Q(id__in=ids),
    "bloc_membership": lambda ids: Q(member__in=ids) | Q(bloc__in=ids),
    "instrument": lambda ids: Q(jurisdiction__in=ids),
    "identifier": lambda ids: Q(instrument__jurisdiction__in=ids),
    "instrument_amendment": lambda ids: Q(amending__jurisdiction__in=ids)
    | Q(amended__jurisdiction__in=ids),
    "status_event": lambda ids: Q(instrument__jurisdiction__in=ids),
    "assessment": lambda ids: Q(instrument__jurisdiction__in=ids),
    "event": lambda ids: _events_of(ids),
    "event_jurisdiction": lambda ids: Q(jurisdiction__in=ids),
    "instrument_source": lambda ids: Q(instrument__jurisdiction__in=ids),
    "status_event_source": lambda ids: Q(status_event__instrument__jurisdiction__in=ids),
    "assessment_source": lambda ids: Q(assessment__instrument__jurisdiction__in=ids),
    "event_source": lambda ids: _events_of(ids, "event__"),
}


# Which historical rows concern the instruments ``ids`` (``changes?instrument=``).
INSTRUMENT_OF = {
    "instrument": lambda ids: Q(id__in=ids),
    "identifier": lambda ids: Q(instrument__in=ids),
    "instrument_amendment": lambda ids: Q(amending__in=ids) | Q(amended__in=ids),
    "status_event": lambda ids: Q(instrument__in=ids),
    "assessment": lambda ids: Q(instrument__in=ids),
    "event": lambda ids: Q(instrument__in=ids),
    "instrument_source": lambda ids: Q(instrument__in=ids),
    "status_event_source": lambda ids: Q(status_event__instrument__in=ids),
    "assessment_source": lambda ids: Q(assessment__instrument__in=ids),
    "event_source": lambda ids: Q(event__instrument__in=ids),
}


def _history_columns(spec, rows):
    return rows.annotate(
        c_model=Value(spec.name, output_field=CharField()),
        c_key=spec.key_expression(),
        c_object=F("id"),
        c_date=F("history_date"),
        c_type=F("history_type"),
        c_user=F("history_user__username"),
        c_hid=F("history_id"),
        c_reason=F("history_change_reason"),
    ).values(*COLUMNS)


def history_rows(specs, since, until, types, jurisdictions=None, instruments=None):
    """One ``UNION ALL`` over the history tables of ``specs``: ``(model, key, object id, date,
    change symbol, username, history id, reason)`` rows changed in [since, until), newest
    first; with ``jurisdictions`` (a list of ``Jurisdiction`` ids), only rows concerning them
    (``JURISDICTION_OF``); with ``instruments`` (``Instrument`` ids), only rows concerning
    them (``INSTRUMENT_OF``)."""
    parts = []
    for spec in specs:
        rows = spec.model.history.model.objects.order_by().filter(history_date__lt=until)
        if since:
            rows = rows.filter(history_date__gte=since)
        if types:
            rows = rows.filter(history_type__in=types)
        if jurisdictions is not None:
            if spec.name not in JURISDICTION_OF:
                continue
            rows = rows.filter(JURISDICTION_OF[spec.name](jurisdictions))
        if instruments is not None:
            if spec.name not in INSTRUMENT_OF:
                continue
            rows = rows.filter(INSTRUMENT_OF[spec.name](instruments))
        parts.append(_history_columns(spec, rows))
    if not parts:  # only kinds of rows that belong to no jurisdiction were asked for
        spec = HISTORY[0]
        parts.append(_history_columns(spec, spec.model.history.model.objects.none()))
    union = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return union.order_by("-c_date", "c_model", "-c_hid")


def changes_window(data: dict) -> tuple[datetime.datetime, list]:
    """``until`` (the aware midnight UTC after ``as_of``) and the matching history rows
    (:func:`history_rows`, a query set) for the cleaned :class:`ChangesParams` ``data``: the one
    reading of the filters that ``/api/v1/changes/`` and ``/feeds/changes/`` share. A
    jurisdiction takes its subdivisions (and theirs) with it."""
    as_of, since = data["as_of"], data.get("since")
    until = datetime.datetime.combine(
        as_of + datetime.timedelta(days=1), datetime.time.min, tzinfo=datetime.timezone.utc
    )
    specs = [HISTORY_BY_NAME[n] for n in data.get("model") or []] or list(HISTORY)
    types = [CHANGE_SYMBOLS[c] for c in data.get("change") or []]
    codes = data.get("jurisdiction") or None
    ids = (
        list(Jurisdiction.objects.filter(
            Q(code__in=codes) | Q(parent__code__in=codes) | Q(parent__parent__code__in=codes)
        ).values_list("pk", flat=True))
        if codes else None
    )
    slugs = data.get("instrument") or None
    instruments = (
        list(Instrument.objects.filter(slug__in=slugs).values_list("pk", flat=True))
        if slugs else None
    )
    return until, history_rows(specs, since, until, types, ids, instruments)


class ChangesView(AnalysisView):
    """What was edited, newest first, from each model's history (django-simple-history)."""

    params_form = ChangesParams
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
        as_of, since = data["as_of"], data.get("since")
        _, rows = changes_window(data)
        context = self.context()

        def shape(row):
            spec = HISTORY_BY_NAME[row["c_model"]]
            return {
                "model": row["c_model"],
                "key": row["c_key"],
                "object_id": row["c_object"],
                "change": row["c_type"],
                "change_type": CHANGE_TYPES.get(row["c_type"], row["c_type"]),
                "date": row["c_date"].isoformat().replace("+00:00", "Z"),
                "user": staff_name(context, row["c_user"], "editor"),
                "reason": row["c_reason"],
                "url": (
                    spec.url(context, row["c_key"], row["c_object"])
                    if row["c_type"] != "-"
                    else None
                ),
            }

        paginator = self.pagination_class()
        if self.wants_csv():
            # Every change, not one page; a malformed page is still refused, as in JSON.
            paginator.check_parameters(request, self)
            # The +/~/- symbols are left out: a cell starting with + or - would be quoted
            # against formula injection, change_type says the same in words.
            columns = [Column(n) for n in
                       ("date", "change_type", "model", "key", "object_id", "user", "reason",
                        "url")]
            return csv_response(
                f"changes-{as_of.isoformat()}.csv",
                [c.header for c in columns],
                table((shape(r) for r in rows.iterator()), columns),
            )
        page = paginator.paginate_queryset(rows, request, view=self)
        response = paginator.get_paginated_response([shape(r) for r in page])
        response.data = {
            "as_of": as_of.isoformat(),
            "since": since.isoformat().replace("+00:00", "Z") if since else None,
            "permalink": self.link(
                {
                    "since": since.isoformat().replace("+00:00", "Z") if since else None,
                    "as_of": as_of,
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


__all__ = ["CompareView", "GapsView", "ChangesView", "HISTORY", "timeline_items"]
