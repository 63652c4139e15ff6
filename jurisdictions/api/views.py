"""The collections of the API: thin viewsets, public to read; writes for editors with the
model permission, validated like the admin and guarded by ETag/If-Match (``writes.py``).

Each viewset names its query shape (``queryset``, loading every relation its serializer shows in
a fixed number of queries), its serializer, its FilterSet and, for ``format=csv``, its flat
columns. The shared behaviour — strict parameters, case-insensitive keys in paths, CSV of every
filtered row — lives in :class:`CollectionViewSet`.
"""

from __future__ import annotations


from django.db.models import Prefetch
from django.http import Http404
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
)
from rest_framework import routers, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import BrowsableAPIRenderer

from rest_framework.response import Response

from spans.read import coverage_at
from ..filtersets import (
    AssessmentFilterSet,
    CriterionFilterSet,
    EventFilterSet,
    InstrumentFilterSet,
    JurisdictionFilterSet,
    SourceFilterSet,
    StatusEventFilterSet,
)
from ..models import (
    Assessment,
    BlocMembership,
    Criterion,
    Event,
    Instrument,
    Jurisdiction,
    Source,
    StatusEvent,
)
from . import serializers as api
from ..answers import timeline
from .links import ApiLinks, iso
from .pagination import Pagination
from .params import BadRequest, StrictParametersMixin, permalink
from . import renderers
from .export import csv_list
from .renderers import CSV_BATCH, Column, CSVRenderer, JSONRenderer, batched, csv_response, table  # noqa: F401
from .writes import EditorialWriteMixin
from .schema import (
    AS_OF_PARAMETER,
    LIST_FORMAT_PARAMETER,
    NOT_FOUND_RESPONSE,
    PATH_KEYS,
    TIMELINE_SCHEMA,
    answers,
    collection_schema,
)



class StrictFilterBackend(DjangoFilterBackend):
    """django-filter, with invalid values answered as :class:`BadRequest` naming each
    parameter."""

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            raise BadRequest(filterset.parameter_errors(), view.accepted_parameters())
        return filterset.qs


class CollectionViewSet(EditorialWriteMixin, StrictParametersMixin, viewsets.ModelViewSet):
    """A collection: strict parameters, lookups by public key, CSV of every filtered row;
    writes through :class:`~jurisdictions.api.writes.EditorialWriteMixin`.

    Subclasses set ``queryset``, ``serializer_class``, ``filterset_class``, ``lookup_field``
    (``key_case``: ``upper``, ``lower`` or None for as-is) and ``csv_columns()``.
    """

    filter_backends = [StrictFilterBackend]
    pagination_class = Pagination
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, CSVRenderer]
    key_case: str | None = None
    csv_name = "rows"

    # --- parameters
    def accepted_parameters(self) -> list[str]:
        names = super().accepted_parameters()
        if self.action == "list":
            names += [*self.filterset_class.parameter_names(), "page", "page_size"]
        return list(dict.fromkeys(names))

    def accepted_formats(self):
        return self.csv_formats if self.action == "list" else self.plain_formats

    def get_renderers(self):
        if getattr(self, "action", None) not in (None, "list") and not self.action_has_csv():
            return [JSONRenderer(), BrowsableAPIRenderer()]
        return super().get_renderers()

    def action_has_csv(self) -> bool:
        return False

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["as_of"] = getattr(self, "as_of", None)
        return context

    # --- reading
    def get_object(self):
        key = str(self.kwargs[self.lookup_url_kwarg or self.lookup_field])
        if self.key_case == "upper":
            key = key.upper()
        elif self.key_case == "lower":
            key = key.lower()
        found = list(self.get_queryset().filter(**{self.lookup_field: key})[:1])
        if not found:
            raise Http404(f"No {self.queryset.model._meta.verbose_name} with {self.lookup_field} "
                          f"{key}.")
        self.check_object_permissions(self.request, found[0])
        return found[0]

    def extend_context(self, context: dict, rows: list) -> None:
        """Add what the serializer needs for ``rows`` as a whole (e.g. their coverage)."""

    def serialize(self, rows: list, flat: bool = False):
        """Serialize ``rows``; ``flat``: only what the CSV columns read (serializers may skip
        nested lists the columns do not show)."""
        context = self.get_serializer_context()
        context["flat"] = flat
        self.extend_context(context, rows)
        return self.get_serializer(rows, many=True, context=context).data

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        if self.wants_csv():
            # CSV ignores the pages, but a malformed page or page_size is still a 400.
            self.paginator.check_parameters(request, self)
            return self.csv_list(queryset)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.serialize(page))

    def retrieve(self, request, *args, **kwargs):
        obj = self.get_object()
        return Response(self.serialize([obj])[0])

    # --- CSV
    def csv_columns(self) -> list[Column]:
        raise NotImplementedError

    def csv_filename(self) -> str:
        return f"{self.csv_name}-{self.as_of.isoformat()}.csv"

    def csv_queryset(self, queryset):
        """The query shape of a CSV export: by default the list's."""
        return queryset

    def csv_list(self, queryset):
        columns = self.csv_columns()
        queryset = self.csv_queryset(queryset)

        def rows():
            for batch in batched(queryset.iterator(chunk_size=renderers.CSV_BATCH), renderers.CSV_BATCH):
                yield from table(self.serialize(batch, flat=True), columns)

        return csv_response(self.csv_filename(), [c.header for c in columns], rows())


def _urls(row, key="sources"):
    return [item["url"] for item in row.get(key) or []]


@collection_schema(
    "jurisdictions", "code (any case)", api.JurisdictionSerializer, as_of=True, scope=True
)
class JurisdictionViewSet(CollectionViewSet):
    """Blocs, countries, subdivisions and organisations, addressed by code (``us-ca`` or
    ``US-CA``), each with its effective coverage as of ``as_of``."""

    queryset = Jurisdiction.objects.select_related("parent").prefetch_related(
        Prefetch(
            "bloc_memberships",
            queryset=BlocMembership.objects.select_related("bloc").order_by("start_date", "pk"),
        )
    )
    serializer_class = api.JurisdictionSerializer
    filterset_class = JurisdictionFilterSet
    lookup_field = "code"
    lookup_value_regex = "[A-Za-z0-9-]{1,10}"
    key_case = "upper"
    uses_as_of = True
    uses_scope = True
    csv_name = "jurisdictions"

    def accepted_parameters(self):
        if self.action == "timeline":
            return ["format", "as_of"]
        return super().accepted_parameters()

    def accepted_formats(self):
        return self.csv_formats if self.action in ("list", "timeline") else self.plain_formats

    def action_has_csv(self):
        return self.action == "timeline"

    def criteria(self) -> list[Criterion]:
        if not hasattr(self, "_criteria"):
            self._criteria = list(Criterion.objects.filter(retired=False))
        return self._criteria

    def extend_context(self, context, rows):
        # The rows show each cell's value, approximation and pending flag, never its sources.
        context["coverage"] = coverage_at(
            rows, self.criteria(), self.as_of, self.scope, with_sources=False
        )

    def csv_columns(self):
        return [
            Column("code"),
            Column("name"),
            Column("official_name"),
            Column("common_name"),
            Column("kind"),
            Column("subdivision_type"),
            Column("numeric_code"),
            Column("parent", "parent.code"),
            Column("region", "regions.region"),
            Column("subregion", "regions.subregion"),
            Column("intermediate_region", "regions.intermediate_region"),
            Column("research_status"),
            Column("last_reviewed_on"),
            Column(
                "blocs_on_as_of",
                lambda r: [
                    m["bloc"]["code"] for m in r["bloc_memberships"] if m["member_on_as_of"]
                ],
            ),
            Column("as_of"),
            *[
                Column(f"coverage.{c.slug}", f"coverage.{c.slug}.value")
                for c in self.criteria()
            ],
            Column(
                "approximate",
                lambda r: [s for s, cell in (r["coverage"] or {}).items() if cell["approximate"]],
            ),
            Column(
                "pending",
                lambda r: [s for s, cell in (r["coverage"] or {}).items() if cell["pending"]],
            ),
            Column("url"),
            Column("updated_at"),
        ]

    @extend_schema(
        summary="A jurisdiction's timeline",
        description="The status events of the jurisdiction's instruments and the events "
        "involving it, dated on or before as_of, in date order, each with its date precision.",
        parameters=[
            OpenApiParameter("code", OpenApiTypes.STR, OpenApiParameter.PATH,
                             description=PATH_KEYS["code"]),
            AS_OF_PARAMETER,
            LIST_FORMAT_PARAMETER,
        ],
        responses={
            **answers(TIMELINE_SCHEMA, "The answer, as of as_of."),
            (404, "application/json"): NOT_FOUND_RESPONSE,
        },
    )
    @action(detail=True, url_path="timeline", url_name="timeline", filterset_class=None)
    def timeline(self, request, code=None):
        jurisdiction = self.get_object()
        answer = timeline.build(jurisdiction, self.as_of, ApiLinks(self.get_serializer_context()))
        if self.wants_csv():
            return csv_response(
                answer.csv_name,
                [c.header for c in timeline.COLUMNS],
                table(answer.items, timeline.COLUMNS),
            )
        path = reverse("api:jurisdiction-timeline", kwargs={"code": jurisdiction.code})
        place = answer.jurisdiction
        return Response(
            {
                "as_of": self.as_of.isoformat(),
                "permalink": permalink(request, path, {"as_of": self.as_of}),
                "jurisdiction": {"code": place.code, "name": place.name, "kind": place.kind,
                                 "url": place.url},
                "count": len(answer.items),
                "items": [timeline_item_dict(item) for item in answer.items],
            }
        )


def timeline_item_dict(item: timeline.Item) -> dict:
    """A timeline item as the API writes it (``schema.TIMELINE_SCHEMA``)."""
    instrument, event = item.instrument, item.event
    return {
        "date": iso(item.date),
        "date_precision": item.date_precision,
        "type": item.type,
        "status": item.status,
        "body": item.body,
        "kind": item.kind,
        "title": item.title,
        "description": item.description,
        "instrument": {
            "slug": instrument.slug, "short_name": instrument.short_name,
            "title": instrument.title, "instrument_type": instrument.instrument_type,
            "jurisdiction": instrument.jurisdiction, "url": instrument.url,
        } if instrument else None,
        "event": {
            "slug": event.slug, "title": event.title, "kind": event.kind,
            "date": iso(event.date), "date_precision": event.date_precision, "url": event.url,
        } if event else None,
        "sources": [
            {"url": s.url, "title": s.title, "publisher": s.publisher, "kind": s.kind,
             "published_on": iso(s.published_on), "published_precision": s.published_precision,
             "accessed_on": iso(s.accessed_on), "archived_url": s.archived_url,
             "language": s.language, "api_url": s.address}
            for s in item.sources
        ],
        "url": item.url,
    }


@collection_schema("instruments", "slug", api.InstrumentSerializer, as_of=True)
class InstrumentViewSet(CollectionViewSet):
    """Laws, bills, proposals, directives, treaties, with status and legal force as of
    ``as_of``."""

    # Rows are built from plain values (api/instrument_rows.py): the page needs no prefetches.
    queryset = Instrument.objects.all()
    serializer_class = api.InstrumentSerializer
    filterset_class = InstrumentFilterSet
    lookup_field = "slug"
    lookup_value_regex = "[A-Za-z0-9_-]{1,120}"  # SlugField: _ too
    key_case = "lower"
    uses_as_of = True
    csv_name = "instruments"
    csv_list = csv_list  # CSV from plain values, not the serializer (export.py)

    def paginate_queryset(self, queryset):
        """The page as primary keys, counted in the same query (``Pagination.paginate_keys``):
        api/instrument_rows.py reads the rows, so the page query selects no columns, and the
        status-as-of filters are evaluated once."""
        if self.paginator is None:
            return None
        return self.paginator.paginate_keys(queryset, self.request, view=self)

    def csv_columns(self):
        criteria = list(Criterion.objects.filter(retired=False))

        def assessed(slug):
            def value(row):
                for a in row["assessments"]:
                    if a["criterion"]["slug"] == slug:
                        return a["value"]
                return None

            return value

        def dated(key, part):
            return lambda r: (r["key_dates"].get(key) or {}).get(part)

        return [
            Column("slug"),
            Column("jurisdiction", "jurisdiction.code"),
            Column("instrument_type"),
            Column("title"),
            Column("original_title"),
            Column("original_language"),
            Column("short_name"),
            Column("citation"),
            Column("official_url"),
            Column("as_of"),
            Column("status"),
            Column("status_date"),
            Column("status_date_precision"),
            Column("status_approximate"),
            Column("legal_force"),
            *[
                Column(f"{key}{suffix}", dated(key, part))
                for key in ("introduced", "adopted", "in_force")
                for suffix, part in (("", "date"), ("_precision", "precision"))
            ],
            Column(
                "identifiers", lambda r: [f"{i['scheme']}:{i['value']}" for i in r["identifiers"]]
            ),
            *[Column(f"assessment.{c.slug}", assessed(c.slug)) for c in criteria],
            Column("sources", _urls),
            Column("confidence"),
            Column("summary"),
            Column("max_penalty"),
            Column("notes"),
            Column("url"),
            Column("updated_at"),
        ]


@collection_schema("status events", "id", api.StatusEventSerializer)
class StatusEventViewSet(CollectionViewSet):
    """Dated steps in instruments' lives, each citing its sources."""

    queryset = StatusEvent.objects.select_related("instrument__jurisdiction").prefetch_related(
        "sources"
    )
    serializer_class = api.StatusEventSerializer
    filterset_class = StatusEventFilterSet
    lookup_value_regex = "[0-9]{1,18}"
    csv_name = "status-events"

    def csv_columns(self):
        return [
            Column("id"),
            Column("instrument", "instrument.slug"),
            Column("jurisdiction", "instrument.jurisdiction"),
            Column("status"),
            Column("date"),
            Column("date_precision"),
            Column("ocd_classification"),
            Column("description"),
            Column("sources", _urls),
            Column("url"),
            Column("updated_at"),
        ]


@collection_schema("criteria", "slug", api.CriterionSerializer)
class CriterionViewSet(CollectionViewSet):
    """The comparative questions asked of every law."""

    queryset = Criterion.objects.all()
    serializer_class = api.CriterionSerializer
    filterset_class = CriterionFilterSet
    lookup_field = "slug"
    lookup_value_regex = "[A-Za-z0-9_-]{1,60}"
    key_case = "lower"
    csv_name = "criteria"

    def csv_columns(self):
        return [
            Column("slug"),
            Column("label"),
            Column("question"),
            Column("position"),
            Column("retired"),
            Column("url"),
        ]


@collection_schema("assessments", "id", api.AssessmentSerializer)
class AssessmentViewSet(CollectionViewSet):
    """The answer of each instrument to each criterion, with pinpoints and sources."""

    queryset = Assessment.objects.select_related(
        "instrument__jurisdiction", "criterion", "verified_by"
    ).prefetch_related("sources")
    serializer_class = api.AssessmentSerializer
    filterset_class = AssessmentFilterSet
    lookup_value_regex = "[0-9]{1,18}"
    csv_name = "assessments"

    def csv_columns(self):
        return [
            Column("id"),
            Column("instrument", "instrument.slug"),
            Column("jurisdiction", "instrument.jurisdiction"),
            Column("criterion", "criterion.slug"),
            Column("value"),
            Column("pinpoint"),
            Column("note"),
            Column("commencement_date"),
            Column("verified_on"),
            Column("verified_by"),
            Column("sources", _urls),
            Column("url"),
            Column("updated_at"),
        ]


@collection_schema("sources", "id", api.SourceSerializer)
class SourceViewSet(CollectionViewSet):
    """The documents every fact cites."""

    queryset = Source.objects.all()
    serializer_class = api.SourceSerializer
    filterset_class = SourceFilterSet
    lookup_value_regex = "[0-9]{1,18}"
    csv_name = "sources"

    def csv_columns(self):
        return [
            Column("id"),
            Column("url"),
            Column("title"),
            Column("publisher"),
            Column("kind"),
            Column("published_on"),
            Column("published_precision"),
            Column("accessed_on"),
            Column("archived_url"),
            Column("language"),
            Column("api_url"),
            Column("updated_at"),
        ]


@collection_schema("events", "slug", api.EventSerializer)
class EventViewSet(CollectionViewSet):
    """Dated context: enforcement operations, reports, letters, rulings, deadlines."""

    queryset = Event.objects.select_related("instrument__jurisdiction").prefetch_related(
        "jurisdictions", "sources"
    )
    serializer_class = api.EventSerializer
    filterset_class = EventFilterSet
    lookup_field = "slug"
    lookup_value_regex = "[A-Za-z0-9_-]{1,160}"  # SlugField: _ too
    key_case = "lower"
    csv_name = "events"

    def csv_columns(self):
        return [
            Column("slug"),
            Column("date"),
            Column("date_precision"),
            Column("title"),
            Column("kind"),
            Column("summary"),
            Column("notes"),
            Column("figures", lambda r: [f"{k}={v}" for k, v in (r["figures"] or {}).items()]),
            Column("confidence"),
            Column("instrument", "instrument.slug"),
            Column("jurisdictions", "jurisdictions.code"),
            Column("sources", _urls),
            Column("url"),
            Column("updated_at"),
        ]


class APIRootView(StrictParametersMixin, routers.APIRootView):
    """The API root: every collection and analysis endpoint of /api/v1/."""

    def accepted_formats(self):
        return self.plain_formats

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        for name in ("compare", "gaps", "changes", "coverage-history", "coverage-changes",
                     "alert-digests"):
            response.data[name] = request.build_absolute_uri(reverse(f"api:{name}"))
        # How the answers are decided (the codebook, dates, verification): a page for people.
        response.data["methodology"] = request.build_absolute_uri(reverse("pages:methodology"))
        return response


# (prefix, viewset, basename): kebab-case plural prefixes under /api/v1/.
ROUTES = (
    ("jurisdictions", JurisdictionViewSet, "jurisdiction"),
    ("instruments", InstrumentViewSet, "instrument"),
    ("status-events", StatusEventViewSet, "status-event"),
    ("criteria", CriterionViewSet, "criterion"),
    ("assessments", AssessmentViewSet, "assessment"),
    ("sources", SourceViewSet, "source"),
    ("events", EventViewSet, "event"),
)
