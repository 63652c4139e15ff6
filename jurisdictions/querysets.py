"""Query shapes and point-in-time questions, as QuerySet methods.

Every point-in-time method takes the date it answers for (``as_of``, a ``datetime.date``) and
follows DOMAIN.md: the status of an instrument as of D is the status of its latest event dated on
or before D; same-day events are ordered by their place in the status vocabulary.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.apps import apps
from django.db import models
from django.db.models import Case, Exists, IntegerField, OuterRef, Prefetch, Q, Subquery, Value, When
from django.db.models.functions import Coalesce

from . import clock
from .choices import (
    APPLYING_STATUSES,
    PENDING_STATUSES,
    STATUS_SEQUENCE,
    JurisdictionKind,
    ResearchStatus,
    Status,
)


def status_sequence_expression() -> Case:
    """A SQL expression giving a status event's place in the vocabulary (ties on one date)."""
    return Case(
        *[When(status=status, then=Value(rank)) for status, rank in STATUS_SEQUENCE.items()],
        default=Value(0),
        output_field=IntegerField(),
    )


def _model(name: str):
    """A model of this app by name, from Django's registry: the models module imports these
    querysets, so they do not import it."""
    return apps.get_model("jurisdictions", name)


def latest_status_subquery(as_of: datetime.date, field: str = "status") -> Subquery:
    """A correlated subquery: ``field`` of the instrument's latest status event on or before
    ``as_of`` (to annotate an Instrument queryset; the outer row is the instrument)."""
    StatusEvent = _model("StatusEvent")

    events = (
        StatusEvent.objects.filter(instrument=OuterRef("pk"), date__lte=as_of)
        .annotate(_seq=status_sequence_expression())
        .order_by("-date", "-_seq", "-pk")
        .values(field)[:1]
    )
    return Subquery(events)


class JurisdictionQuerySet(models.QuerySet):
    def countries(self):
        return self.filter(kind=JurisdictionKind.COUNTRY)

    def researched(self):
        """Jurisdictions whose research has at least started (not ``not_researched``)."""
        return self.exclude(research_status=ResearchStatus.NOT_RESEARCHED)

    def members_of(self, bloc, as_of: datetime.date):
        """Members of ``bloc`` (a Jurisdiction or its code) on ``as_of``, start and end days
        included."""
        bloc_code = bloc if isinstance(bloc, str) else bloc.code
        return self.filter(
            bloc_memberships__bloc__code=bloc_code.upper(),
            bloc_memberships__start_date__lte=as_of,
        ).filter(
            Q(bloc_memberships__end_date__isnull=True)
            | Q(bloc_memberships__end_date__gte=as_of)
        ).distinct()

    def within(self, code: str):
        """The jurisdiction ``code`` and all its descendants (subdivisions of subdivisions too).

        Runs one query per level of the hierarchy (ISO 3166-2 has at most three), then filters
        by primary key.
        """
        Jurisdiction = self.model

        ids = set(Jurisdiction.objects.filter(code=code.upper()).values_list("pk", flat=True))
        frontier = set(ids)
        while frontier:
            frontier = set(
                Jurisdiction.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)
            ) - ids
            ids |= frontier
        return self.filter(pk__in=ids)


class InstrumentQuerySet(models.QuerySet):
    def with_status(self, as_of: datetime.date):
        """Annotate ``status_at`` (slug or None) and ``status_date_at`` as of ``as_of``."""
        return self.annotate(
            status_at=latest_status_subquery(as_of, "status"),
            status_date_at=latest_status_subquery(as_of, "date"),
        )

    def status_in(self, statuses: Iterable[str], as_of: datetime.date):
        """Instruments whose status as of ``as_of`` is one of ``statuses``, read from their
        status spans (``spans.InstrumentStatusSpan``, issue 12): one indexed row per instrument
        where the SQL of :meth:`with_status` sorts its steps. The spans are kept on every write
        from the pure rule, and ``check_spans`` holds them to it."""
        InstrumentStatusSpan = apps.get_model("spans", "InstrumentStatusSpan")
        return self.filter(Exists(InstrumentStatusSpan.objects.filter(
            Q(valid_to__isnull=True) | Q(valid_to__gt=as_of),
            instrument=OuterRef("pk"), status__in=list(statuses), valid_from__lte=as_of,
        )))

    def applying(self, as_of: datetime.date):
        """Instruments in force or partially in force on ``as_of``."""
        return self.status_in(APPLYING_STATUSES, as_of)

    def pending(self, as_of: datetime.date):
        """Instruments introduced, in committee, passed by a chamber or adopted (not yet in
        force) on ``as_of``."""
        return self.status_in(PENDING_STATUSES, as_of)

    def with_enacted(self):
        """Annotate ``enacted_on`` and ``enacted_precision``: the date of the first adoption step
        or, where no adoption is recorded, of the first commencement (partial or whole), in life
        order; None when neither is recorded. The rule of ``Instrument.enacted()``."""
        StatusEvent = _model("StatusEvent")

        def first(statuses, field):
            return Subquery(
                StatusEvent.objects.filter(instrument=OuterRef("pk"), status__in=statuses)
                .annotate(_seq=status_sequence_expression())
                .order_by("date", "_seq", "pk")
                .values(field)[:1]
            )

        adopted, in_force = [Status.ADOPTED], [Status.PARTIALLY_IN_FORCE, Status.IN_FORCE]
        return self.annotate(
            enacted_on=Coalesce(first(adopted, "date"), first(in_force, "date")),
            enacted_precision=Coalesce(
                first(adopted, "date_precision"), first(in_force, "date_precision")
            ),
        )

    def with_step_between(
        self,
        statuses: Iterable[str],
        after: datetime.date | None = None,
        before: datetime.date | None = None,
    ):
        """Instruments with a status event of one of ``statuses`` dated within
        [``after``, ``before``] (either bound optional, both inclusive)."""
        StatusEvent = _model("StatusEvent")

        events = StatusEvent.objects.filter(instrument=OuterRef("pk"), status__in=list(statuses))
        if after:
            events = events.filter(date__gte=after)
        if before:
            events = events.filter(date__lte=before)
        return self.filter(Exists(events))

    def for_api(self):
        """The instrument list/detail shape: jurisdiction joined, events, identifiers,
        assessments (with criteria) and sources prefetched — a fixed number of queries."""
        Assessment, StatusEvent = _model("Assessment"), _model("StatusEvent")

        return self.select_related("jurisdiction").prefetch_related(
            Prefetch(
                "status_events",
                queryset=StatusEvent.objects.prefetch_related("sources"),
            ),
            "identifiers",
            Prefetch(
                "assessments",
                queryset=Assessment.objects.select_related("criterion", "verified_by")
                .prefetch_related("sources"),
            ),
            "sources",
        )


class StatusEventQuerySet(models.QuerySet):
    def as_of(self, as_of: datetime.date):
        """Events dated on or before ``as_of``."""
        return self.filter(date__lte=as_of)

    def in_life_order(self):
        """Ordered by date, then the step's place in the vocabulary, then id."""
        return self.annotate(_seq=status_sequence_expression()).order_by("date", "_seq", "pk")


class AssessmentQuerySet(models.QuerySet):
    def stale(self, days: int, today: datetime.date | None = None):
        """Assessments never verified, or last verified more than ``days`` days before
        ``today`` (default: today)."""
        today = today or clock.today()
        limit = today - datetime.timedelta(days=days)
        return self.filter(Q(verified_on__isnull=True) | Q(verified_on__lt=limit))


__all__ = [
    "AssessmentQuerySet",
    "InstrumentQuerySet",
    "JurisdictionQuerySet",
    "StatusEventQuerySet",
    "Status",
]
