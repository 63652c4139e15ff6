"""Coverage over time (issue 12; DOMAIN.md, "Coverage over time"): the spans as a panel
(``/api/v1/coverage-history/``) and the cells whose answer differs between two dates
(``/api/v1/coverage-changes/``). The answers come from :mod:`spans.history`; these views only
validate the parameters, choose the jurisdictions and shape the answer.

Parameters: the selection parameters of every analysis, read by the one selection form
(:class:`~jurisdictions.api.analysis.SelectionParams`, :mod:`jurisdictions.selection`: they narrow
together; none of them: every jurisdiction but the international organisations); ``criterion``
(several values, comma-separated; default every criterion not retired), as compare and gaps name
it (``criteria`` is refused with a hint); ``scope`` (several values; default both).
"""

from __future__ import annotations

from django import forms
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from spans import history

from ..choices import Scope
from ..filtersets import IsoDateField, KeyListField, today
from ..models import Criterion
from .analysis import AnalysisView, ChoiceListField, SelectionParams
from .pagination import Pagination
from .renderers import csv_response
from .schema import AS_OF_PARAMETER, LIST_FORMAT_PARAMETER, answers
from .schema import SELECTION as SELECTION_PARAMETERS


class HistoryParams(SelectionParams):
    criterion = KeyListField(model=Criterion, noun="criterion", required=False)
    # A history is read under one scope or both: several values, default both (the other
    # analyses answer under one).
    scope = ChoiceListField(choices=Scope.choices, required=False)

    def clean(self):
        scopes = self.cleaned_data.get("scope")
        cleaned = super().clean()
        cleaned["scope"] = list(scopes) if scopes else list(Scope.values)
        return cleaned

    def jurisdiction_ids(self) -> list[int] | None:
        """Primary keys of the selected jurisdictions, or None when no parameter narrows the
        selection (every jurisdiction but the international organisations)."""
        chosen = self.selected()
        return None if chosen is None else [j.pk for j in chosen]

    def chosen_criteria(self) -> list[Criterion]:
        slugs = self.cleaned_data.get("criterion")
        if slugs:
            by_slug = {c.slug: c for c in Criterion.objects.filter(slug__in=slugs)}
            return [by_slug[s] for s in slugs]
        return list(Criterion.objects.filter(retired=False).order_by("slug"))


class HistoryPageParams(HistoryParams):
    page = forms.CharField(required=False)
    page_size = forms.CharField(required=False)


class ChangesBetweenParams(HistoryParams):
    date_from = IsoDateField(required=True)
    date_to = IsoDateField(required=False)

    def __init__(self, data=None, *args, **kwargs):
        # from and to are Python keywords: the form fields are date_from/date_to.
        if data is not None:
            data = data.copy()
            for name in ("from", "to"):
                if name in data:
                    data[f"date_{name}"] = data.pop(name)[-1]
        super().__init__(data, *args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        cleaned["date_to"] = cleaned.get("date_to") or today()
        if cleaned.get("date_from") and cleaned["date_from"] > cleaned["date_to"]:
            self.add_error("date_from", "from is later than to.")
        return cleaned


SELECTION = [
    *SELECTION_PARAMETERS,
    OpenApiParameter(
        "criterion", {"type": "array", "items": {"type": "string"}}, explode=False,
        description="Criterion slugs, comma-separated (default: every criterion not retired).",
    ),
    OpenApiParameter(
        "scope", {"type": "array", "items": {"type": "string", "enum": Scope.values}},
        explode=False, description="applicable, own or both comma-separated (default both).",
    ),
    AS_OF_PARAMETER,
]

CAUSE_SCHEMA = inline_serializer(
    "SpanCause",
    {
        "instrument": serializers.SlugField(),
        "status": serializers.CharField(required=False),
        "date": serializers.DateField(required=False),
        "precision": serializers.CharField(required=False),
        "step": serializers.IntegerField(required=False),
        "commencement": serializers.DateField(required=False),
    },
    many=True,
)

SPAN_SCHEMA = inline_serializer(
    "CoverageSpan",
    {
        "jurisdiction": serializers.CharField(),
        "jurisdiction_name": serializers.CharField(),
        "criterion": serializers.SlugField(),
        "scope": serializers.ChoiceField(choices=Scope.values),
        "valid_from": serializers.DateField(allow_null=True, help_text="null: since always."),
        "valid_to": serializers.DateField(allow_null=True, help_text="Exclusive; null: still."),
        "value": serializers.CharField(),
        "approximate": serializers.BooleanField(),
        "deciding": serializers.ListField(child=serializers.SlugField()),
        "pending": serializers.ListField(child=serializers.SlugField()),
        "caused_by": CAUSE_SCHEMA,
    },
)


class HistoryView(AnalysisView):
    def _selection(self, request):
        form = self.clean_parameters(request)
        scopes = form.cleaned_data["scope"]
        return form, form.jurisdiction_ids(), form.chosen_criteria(), scopes


class CoverageHistoryView(HistoryView):
    """Every span of the chosen cells: over ``[valid_from, valid_to)`` the cell's value,
    approximate flag, deciding and pending instruments stay the same."""

    params_form = HistoryPageParams
    url_name = "coverage-history"
    pagination_class = Pagination

    @extend_schema(
        summary="Coverage history (a panel)",
        description="For each cell (jurisdiction × criterion × scope) the spans [valid_from, "
        "valid_to) over which its effective value, approximate flag, deciding and pending "
        "instruments stay the same, with the steps that started each span. Paginated JSON, or "
        "every span as streamed CSV (format=csv).",
        parameters=[
            *SELECTION,
            OpenApiParameter("page", OpenApiTypes.INT, description="Page number, from 1."),
            OpenApiParameter(
                "page_size", OpenApiTypes.INT,
                description="Spans per page (capped at the site's maximum page size).",
            ),
            LIST_FORMAT_PARAMETER,
        ],
        responses=answers(inline_serializer(
            "CoverageHistory",
            {
                "permalink": serializers.URLField(),
                "count": serializers.IntegerField(),
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": SPAN_SCHEMA.__class__(many=True),
            },
        ), "The spans."),
    )
    def get(self, request):
        form, ids, criteria, scopes = self._selection(request)
        spans = history.panel(ids, [c.pk for c in criteria], scopes)
        if self.wants_csv():
            # Every span, not one page; a malformed page is still refused, as in JSON.
            self.pagination_class().check_parameters(request, view=self)
            return csv_response(
                "coverage-history.csv", list(history.PANEL_COLUMNS), history.panel_lines(spans)
            )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(spans, request, view=self)
        response = paginator.get_paginated_response([history.panel_row(s) for s in page])
        response.data = {
            "permalink": self.link({
                **form.selection_for_permalink(),
                "criterion": [c.slug for c in criteria],
                "scope": scopes,
                "page": request.query_params.get("page"),
                "page_size": request.query_params.get("page_size"),
            }),
            **response.data,
        }
        return response


def change_dicts(found) -> list[dict]:
    return [
        {
            "jurisdiction": c.jurisdiction,
            "jurisdiction_name": c.jurisdiction_name,
            "criterion": c.criterion,
            "scope": c.scope,
            "value_from": c.value_from,
            "value_to": c.value_to,
            "changes": c.changes,
        }
        for c in found
    ]


CHANGE_COLUMNS = (
    "jurisdiction", "jurisdiction_name", "criterion", "scope", "value_from", "value_to", "date",
    "from", "to", "approximate", "caused_by",
)


class CoverageChangesView(HistoryView):
    """The cells whose effective value differs between two dates, each change dated and
    explained by the steps that caused it."""

    params_form = ChangesBetweenParams
    url_name = "coverage-changes"

    def accepted_parameters(self):
        return ["format", "from", "to", *(n for n in self.params_form.base_fields
                                          if n not in ("date_from", "date_to"))]

    def clean_parameters(self, request):
        try:
            return super().clean_parameters(request)
        except Exception as exc:
            # Name the parameters as the client wrote them.
            detail = getattr(exc, "detail", None)
            if isinstance(detail, dict) and "errors" in detail:
                errors = detail["errors"]
                for name in ("from", "to"):
                    if f"date_{name}" in errors:
                        errors[name] = errors.pop(f"date_{name}")
            raise

    @extend_schema(
        summary="Coverage changes between two dates",
        description="Each cell whose effective value on `from` differs from its value on `to`, "
        "with every change in between: its date, the values before and after, and the steps "
        "(or assessment commencements) that caused it.",
        parameters=[
            OpenApiParameter(
                "from", OpenApiTypes.DATE, required=True,
                description="The first date (YYYY-MM-DD): the answer compared.",
            ),
            OpenApiParameter(
                "to", OpenApiTypes.DATE,
                description="The second date (YYYY-MM-DD), not before from; default today.",
            ),
            *SELECTION, LIST_FORMAT_PARAMETER,
        ],
        responses=answers(inline_serializer(
            "CoverageChanges",
            {
                "from": serializers.DateField(),
                "to": serializers.DateField(),
                "permalink": serializers.URLField(),
                "count": serializers.IntegerField(),
                "results": inline_serializer(
                    "CellChange",
                    {
                        "jurisdiction": serializers.CharField(),
                        "jurisdiction_name": serializers.CharField(),
                        "criterion": serializers.SlugField(),
                        "scope": serializers.CharField(),
                        "value_from": serializers.CharField(),
                        "value_to": serializers.CharField(),
                        "changes": inline_serializer(
                            "CellChangeStep",
                            {
                                "date": serializers.DateField(),
                                "from": serializers.CharField(),
                                "to": serializers.CharField(),
                                "approximate": serializers.BooleanField(),
                                "deciding": serializers.ListField(child=serializers.SlugField()),
                                "pending": serializers.ListField(child=serializers.SlugField()),
                                "caused_by": CAUSE_SCHEMA,
                            },
                            many=True,
                        ),
                    },
                    many=True,
                ),
            },
        ), "The changed cells."),
    )
    def get(self, request):
        form, ids, criteria, scopes = self._selection(request)
        data = form.cleaned_data
        found = change_dicts(history.changes_between(
            ids, [c.pk for c in criteria], scopes, data["date_from"], data["date_to"]
        ))
        if self.wants_csv():
            lines = (
                [
                    row["jurisdiction"], row["jurisdiction_name"], row["criterion"], row["scope"],
                    row["value_from"], row["value_to"], change["date"], change["from"],
                    change["to"], change["approximate"],
                    [f"{c['instrument']}:{c.get('status', 'commencement')}"
                     for c in change["caused_by"]],
                ]
                for row in found
                for change in row["changes"]
            )
            return csv_response(
                f"coverage-changes-{data['date_from']}-{data['date_to']}.csv",
                list(CHANGE_COLUMNS), lines,
            )
        return Response({
            "from": data["date_from"].isoformat(),
            "to": data["date_to"].isoformat(),
            "permalink": self.link({
                "from": data["date_from"], "to": data["date_to"],
                **form.selection_for_permalink(),
                "criterion": [c.slug for c in criteria],
                "scope": scopes,
            }),
            "count": len(found),
            "results": found,
        })
