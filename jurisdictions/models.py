"""The domain of lawtracker (see ``../shared/DOMAIN.md``).

Legal data is never deleted by cascade: every foreign key from a row of legal data is
``PROTECT``, citations are explicit through-models with ``PROTECT`` on both sides, and every
model keeps a history (django-simple-history) of each write, whoever made it.
"""

from __future__ import annotations

import datetime
import re
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from . import choices, clock, text
from .choices import (
    APPLYING_STATUSES,
    PENDING_STATUSES,
    RETIRED_INSTRUMENT_TYPES,
    STATUS_SEQUENCE,
    TEXT_ONLY_CRITERION,
    AssessmentBasis,
    AssessmentValue,
    Body,
    Confidence,
    DatePrecision,
    EventKind,
    IdentifierScheme,
    InstrumentType,
    JurisdictionKind,
    ResearchStatus,
    SourceKind,
    Status,
)
from .querysets import (
    AssessmentQuerySet,
    InstrumentQuerySet,
    JurisdictionQuerySet,
    StatusEventQuerySet,
)

# ISO 3166-1 alpha-2 (KR), ISO 3166-2 (US-CA, GB-SCT, JP-31), or one of the non-ISO codes
# lawtracker uses for blocs and organisations (EU is ISO's "exceptionally reserved" code).
# The largest criterion position: PostgreSQL's smallint (2**15 - 1).
POSITION_MAX = 32767

CODE_RE = re.compile(r"^(?:[A-Z]{2}|[A-Z]{2}-[A-Z0-9]{1,3}|EU|UN|COE)$")


def fold_for_search(*parts: str | None) -> str:
    """Fold text for case- and accent-insensitive search on every database.

    Returns the parts joined by newlines, NFKD-decomposed with combining marks removed and
    case-folded ("São Paulo" -> "sao paulo"). Queries are folded the same way, so a plain
    ``icontains`` on the folded column behaves identically on SQLite and PostgreSQL.
    """
    text = "\n".join(p for p in parts if p)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def validate_http_url(value: str) -> None:
    """Reject any URL whose scheme is not http or https (``javascript:``, ``data:``, ``ftp:``).

    Raises ``ValidationError`` with code ``scheme``.
    """
    if value and not re.match(r"^https?://", value, flags=re.IGNORECASE):
        raise ValidationError("Only http:// and https:// URLs are accepted.", code="scheme")


def validate_code(value: str) -> None:
    """Check the shape of a jurisdiction code (ISO 3166-1 alpha-2, ISO 3166-2, EU, UN, COE).

    Whether the code exists in ISO 3166 is checked by ``Jurisdiction.clean``. Raises
    ``ValidationError`` with code ``code_format``.
    """
    if not CODE_RE.match(value or ""):
        raise ValidationError(
            "%(value)s is not a jurisdiction code: use ISO 3166-1 alpha-2 (KR), ISO 3166-2 "
            "(US-CA) in capitals, or EU, UN, COE.",
            code="code_format",
            params={"value": value},
        )


def precision_clean(date: datetime.date | None, precision: str, field: str = "date") -> None:
    """Enforce the date-precision rule: month dates fall on the 1st, year dates on 1 January.

    Raises ``ValidationError`` keyed by ``field``.
    """
    if date is None:
        return
    if precision == DatePrecision.MONTH and date.day != 1:
        raise ValidationError(
            {field: "A date known only to the month is stored as the first day of that month."}
        )
    if precision == DatePrecision.YEAR and (date.month, date.day) != (1, 1):
        raise ValidationError(
            {field: "A date known only to the year is stored as 1 January of that year."}
        )


class StaleVersion(Exception):
    """An update based on an old version of a row: someone else saved it (or deleted it) since
    it was read. Nothing was written.

    ``model`` is the model class, ``pk`` the row's key, ``expected`` the version the update was
    based on, ``current`` the version now stored (None when the row is gone). Like an
    ``IntegrityError`` it marks the surrounding transaction for rollback: catch it outside the
    ``atomic`` block (or around a savepoint).
    """

    def __init__(self, model, pk, expected: int, current: int | None):
        self.model, self.pk, self.expected, self.current = model, pk, expected, current
        state = f"is now version {current}" if current is not None else "has been deleted"
        super().__init__(
            f"{model._meta.verbose_name} {pk} was changed by someone else: the edit was based "
            f"on version {expected}, the row {state}."
        )


# Columns a save sets itself: never an editor's change.
BOOKKEEPING_COLUMNS = frozenset({"id", "version", "created_at", "updated_at", "search_text"})


class TrackedModel(models.Model):
    """Abstract base: creation and last-change timestamps (UTC) for change feeds and filters,
    and a version counter against lost updates.

    ``version`` starts at 1 and every ``save()`` of an existing row adds 1, in the same
    ``UPDATE ... WHERE id = … AND version = <the version read>`` that writes the row: when
    another writer got there first no row matches, nothing is written and ``StaleVersion`` is
    raised. So two edits based on one version can never both land (the API's ETag/If-Match and
    the admin's stale-form check rest on this). ``QuerySet.update()`` bypasses it, as it
    bypasses history: legal data is written through ``save()``.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        abstract = True

    def clean_fields(self, exclude=None):
        """Django's field checks, and the text policy (:mod:`jurisdictions.text`): no control
        character in any text or JSON column. Raises ``ValidationError`` naming each field."""
        errors = {}
        try:
            text.check_instance(self, exclude or ())
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        """Validate the row's own constraints (``clean``) and the text policy before every
        save, however made (a script, a command); on an update, write only if the stored
        version is still the one read, and count up.

        Raises ``ValidationError`` (``clean``, the text policy) or ``StaleVersion``.
        """
        text.check_instance(self)
        self.clean()
        if self._state.adding or self.pk is None:
            super().save(*args, **kwargs)
            return
        if self.same_as_stored(kwargs.get("update_fields")):
            # A write that changes nothing (issue 18): the version stays, so nobody holding
            # the same ETag or form is refused, and no empty history record is written. Every
            # path (admin, API, imports, commands) comes through here.
            return
        read = self.version
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "version"}
        self._version_read = read
        self.version = read + 1
        try:
            super().save(*args, **kwargs)
        except BaseException:
            self.version = read
            raise
        finally:
            del self._version_read

    def same_as_stored(self, names=None) -> bool:
        """Whether every column of this saved row that an editor can change (all of them, or
        the ``names`` given) equals the stored row's, and the stored version is the one read —
        one query. False when the row is gone (the save then reports it)."""
        fields = [
            f for f in self._meta.concrete_fields
            if f.attname not in BOOKKEEPING_COLUMNS
            and (names is None or f.name in names or f.attname in names)
        ]
        stored = (
            type(self)._default_manager.filter(pk=self.pk)
            .values("version", *(f.attname for f in fields))
            .first()
        )
        if stored is None or stored["version"] != self.version:
            return False
        for f in fields:
            try:
                value = f.to_python(getattr(self, f.attname))
            except ValidationError:
                return False
            if value != stored[f.attname]:
                return False
        return True

    def _do_update(self, base_qs, using, pk_val, values, update_fields, forced_update):
        read = getattr(self, "_version_read", None)
        if read is None:
            return super()._do_update(base_qs, using, pk_val, values, update_fields, forced_update)
        if super()._do_update(
            base_qs.filter(version=read), using, pk_val, values, update_fields, forced_update
        ):
            return True
        current = base_qs.filter(pk=pk_val).values_list("version", flat=True).first()
        if current is None and hasattr(self, "_history"):
            # Reverting a deleted row to one of its historical versions (the admin's history
            # page) re-inserts it: Django inserts when the UPDATE matched nothing.
            return False
        raise StaleVersion(type(self), pk_val, read, current)


class JurisdictionManager(models.Manager.from_queryset(JurisdictionQuerySet)):
    def get_by_natural_key(self, code):
        return self.get(code=code.upper())


class Jurisdiction(TrackedModel):
    """A place whose law applies: a bloc (EU), a country (KR), a subdivision (US-CA), or an
    international organisation whose treaties are tracked (UN, COE)."""

    code = models.CharField(max_length=10, unique=True, validators=[validate_code])
    name = models.CharField(max_length=200)
    official_name = models.CharField(max_length=300, blank=True)
    # The everyday name where ISO's is formal ("South Korea" for "Korea, Republic of").
    common_name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=20, choices=JurisdictionKind.choices)
    subdivision_type = models.CharField(max_length=100, blank=True)
    # ISO 3166-1 numeric code (410 for KR): the key to UN M49 regions.
    numeric_code = models.CharField(max_length=3, blank=True)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,  # a country's subdivisions keep their place in the hierarchy
        null=True,
        blank=True,
        related_name="children",
    )
    research_status = models.CharField(
        max_length=20, choices=ResearchStatus.choices, default=ResearchStatus.NOT_RESEARCHED
    )
    last_reviewed_on = models.DateField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,  # losing an account must not lose the review
        null=True,
        blank=True,
        related_name="reviewed_jurisdictions",
    )
    research_notes = models.TextField(blank=True)
    # The date the research file describing the jurisdiction was compiled (its
    # ``about.compiled_on``): a fact about the research, never a date of a legal step (the data
    # lint refuses on_or_before steps dated on it).
    research_compiled_on = models.DateField(null=True, blank=True)
    search_text = models.TextField(blank=True, editable=False)

    history = HistoricalRecords()
    objects = JurisdictionManager()

    class Meta:
        ordering = ["code"]
        permissions = [
            ("review_jurisdiction", "Can mark a jurisdiction reviewed (date and reviewer)"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind=JurisdictionKind.SUBDIVISION) | Q(parent__isnull=False),
                name="jurisdiction_subdivision_has_parent",
                violation_error_message="A subdivision must have a parent jurisdiction.",
            ),
            models.CheckConstraint(
                condition=Q(kind=JurisdictionKind.SUBDIVISION) | Q(parent__isnull=True),
                name="jurisdiction_only_subdivisions_have_parent",
                violation_error_message="Only a subdivision has a parent jurisdiction.",
            ),
            models.CheckConstraint(
                condition=~Q(research_status=ResearchStatus.REVIEWED)
                | Q(last_reviewed_on__isnull=False),
                name="jurisdiction_reviewed_has_date",
                violation_error_message="A reviewed jurisdiction needs the date of its last review.",
            ),
            models.CheckConstraint(
                condition=Q(code__regex=r"^[A-Z0-9-]+$"),
                name="jurisdiction_code_uppercase",
                violation_error_message="Jurisdiction codes are upper case (US-CA, not us-ca).",
            ),
        ]

    def __str__(self):
        return f"{self.code} — {self.name}"

    def natural_key(self):
        return (self.code,)

    def clean_fields(self, exclude=None):
        """Upper-case the code before the field checks, so "us-ca" is accepted as US-CA."""
        self.code = (self.code or "").strip().upper()
        super().clean_fields(exclude=exclude)

    def clean(self):
        """Normalise the code to upper case, check it against ISO 3166 and the kind/parent rules.

        Raises ``ValidationError`` naming ``code`` or ``parent``.
        """
        from .reference import iso_code_exists

        self.code = (self.code or "").strip().upper()
        validate_code(self.code)
        if not iso_code_exists(self.code, self.kind):
            raise ValidationError(
                {"code": f"{self.code} is not an ISO 3166 code for a {self.kind or 'jurisdiction'}."}
            )
        if self.kind == JurisdictionKind.SUBDIVISION and self.parent_id is None:
            raise ValidationError({"parent": "A subdivision must have a parent jurisdiction."})
        if self.kind != JurisdictionKind.SUBDIVISION and self.parent_id is not None:
            raise ValidationError({"parent": "Only a subdivision has a parent jurisdiction."})
        if self.parent_id is not None and self.pk is not None and self.parent_id == self.pk:
            raise ValidationError({"parent": "A jurisdiction cannot be its own parent."})
        if self.research_status == ResearchStatus.REVIEWED and not self.last_reviewed_on:
            raise ValidationError(
                {"last_reviewed_on": "A reviewed jurisdiction needs the date of its last review."}
            )
        self.search_text = fold_for_search(
            self.code, self.name, self.official_name, self.common_name
        )


class BlocMembershipManager(models.Manager):
    def get_by_natural_key(self, bloc_code, member_code, start_date):
        return self.get(bloc__code=bloc_code, member__code=member_code, start_date=start_date)


class BlocMembership(TrackedModel):
    """Membership of a country in a bloc between two dates (the UK in the EU, 1973-01-01 to
    2020-01-31). ``end_date`` is the last day of membership; empty while it lasts."""

    bloc = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="memberships"
    )
    member = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="bloc_memberships"
    )
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    source = models.ForeignKey(
        "Source", on_delete=models.PROTECT, null=True, blank=True, related_name="memberships"
    )

    history = HistoricalRecords()
    objects = BlocMembershipManager()

    class Meta:
        ordering = ["bloc__code", "member__code", "start_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["bloc", "member", "start_date"],
                name="blocmembership_unique_start",
                violation_error_message="This membership already exists.",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="blocmembership_end_after_start",
                violation_error_message="A membership cannot end before it starts.",
            ),
            models.CheckConstraint(
                condition=~Q(bloc=models.F("member")),
                name="blocmembership_not_self",
                violation_error_message="A bloc cannot be a member of itself.",
            ),
        ]

    def __str__(self):
        end = self.end_date.isoformat() if self.end_date else "…"
        return f"membership {self.start_date.isoformat()}–{end}"

    def natural_key(self):
        return (self.bloc.code, self.member.code, self.start_date.isoformat())

    def clean(self):
        if self.end_date and self.start_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": "A membership cannot end before it starts."})
        if self.bloc_id and self.bloc_id == self.member_id:
            raise ValidationError({"member": "A bloc cannot be a member of itself."})

    def active_on(self, date: datetime.date) -> bool:
        """True when the membership covers ``date`` (start and end days included)."""
        return self.start_date <= date and (self.end_date is None or date <= self.end_date)


class SourceManager(models.Manager):
    def get_by_natural_key(self, url):
        return self.get(url=url)


class Source(TrackedModel):
    """Where a fact comes from: a page or document with a URL. Instruments, status events,
    assessments and events cite sources."""

    url = models.URLField(max_length=2000, unique=True, validators=[validate_http_url])
    title = models.CharField(max_length=500, blank=True)
    publisher = models.CharField(max_length=300, blank=True)
    kind = models.CharField(max_length=20, choices=SourceKind.choices, blank=True)
    published_on = models.DateField(null=True, blank=True)
    # Sources often give only "2024-11" or "2025": day, month or year (on_or_before unused).
    published_precision = models.CharField(
        max_length=20, choices=DatePrecision.choices, default=DatePrecision.DAY
    )
    accessed_on = models.DateField(null=True, blank=True)
    archived_url = models.URLField(max_length=2000, blank=True, validators=[validate_http_url])
    # ISO 639-1 language code of the document (en, ko, de).
    language = models.CharField(max_length=8, blank=True)
    search_text = models.TextField(blank=True, editable=False)

    history = HistoricalRecords()
    objects = SourceManager()

    # What a citation shows of its source, in the order the API and the spreadsheets show it
    # (api/serializers.py, api/instrument_rows.py, resources.py).
    CITATION_FIELDS = (
        "url",
        "title",
        "publisher",
        "kind",
        "published_on",
        "published_precision",
        "accessed_on",
        "archived_url",
        "language",
    )

    class Meta:
        ordering = ["url"]
        constraints = [
            models.CheckConstraint(
                condition=Q(url__istartswith="http://") | Q(url__istartswith="https://"),
                name="source_url_http",
                violation_error_message="Only http:// and https:// URLs are accepted.",
            ),
            models.CheckConstraint(
                condition=Q(archived_url="")
                | Q(archived_url__istartswith="http://")
                | Q(archived_url__istartswith="https://"),
                name="source_archived_url_http",
                violation_error_message="Only http:// and https:// URLs are accepted.",
            ),
        ]

    def __str__(self):
        return self.title or self.url

    def natural_key(self):
        return (self.url,)

    def clean(self):
        precision_clean(self.published_on, self.published_precision, "published_on")
        validate_http_url(self.url)
        validate_http_url(self.archived_url)
        self.search_text = fold_for_search(self.title, self.publisher, self.url)


class InstrumentManager(models.Manager.from_queryset(InstrumentQuerySet)):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


class Instrument(TrackedModel):
    """One legal text: a statute, amendment, bill, proposal, directive, regulation, code
    provision, court decision or treaty, of one jurisdiction. Its status, legal force and key
    dates are derived from its status events, never stored."""

    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="instruments"
    )
    # Stable public key, globally unique: /api/v1/instruments/{slug}/.
    slug = models.SlugField(max_length=120, unique=True)
    instrument_type = models.CharField(max_length=20, choices=InstrumentType.choices)
    title = models.CharField(max_length=500)
    original_title = models.CharField(max_length=500, blank=True)
    # ISO 639-1 language of the original title.
    original_language = models.CharField(max_length=8, blank=True)
    short_name = models.CharField(max_length=200, blank=True)
    citation = models.CharField(max_length=500, blank=True)
    official_url = models.URLField(max_length=2000, blank=True, validators=[validate_http_url])
    summary = models.TextField(blank=True)
    max_penalty = models.TextField(blank=True)
    confidence = models.CharField(max_length=10, choices=Confidence.choices, blank=True)
    notes = models.TextField(blank=True)
    # Why an adopted law has no in-force step, where that is so (DOMAIN.md, "Dates are facts").
    status_note = models.TextField(blank=True)
    search_text = models.TextField(blank=True, editable=False)
    sources = models.ManyToManyField(
        Source, through="InstrumentSource", related_name="instruments", blank=True
    )
    amends = models.ManyToManyField(
        "self",
        through="InstrumentAmendment",
        through_fields=("amending", "amended"),
        symmetrical=False,
        related_name="amended_by",
        blank=True,
    )

    history = HistoricalRecords()
    objects = InstrumentManager()

    # The instrument's own descriptive columns, in the order the API rows and the spreadsheets
    # show them (api/serializers.py, api/instrument_rows.py, resources.py).
    DESCRIPTIVE_FIELDS = (
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
        "status_note",
    )

    class Meta:
        ordering = ["jurisdiction__code", "slug"]
        constraints = [
            models.CheckConstraint(
                condition=Q(slug__regex=r"^[a-z0-9]+(?:-[a-z0-9]+)*$"),
                name="instrument_slug_format",
                violation_error_message="A slug is lower-case letters, digits and single hyphens.",
            ),
            models.CheckConstraint(
                condition=Q(official_url="")
                | Q(official_url__istartswith="http://")
                | Q(official_url__istartswith="https://"),
                name="instrument_official_url_http",
                violation_error_message="Only http:// and https:// URLs are accepted.",
            ),
        ]

    def __str__(self):
        return self.short_name or self.title

    def natural_key(self):
        return (self.slug,)

    def clean_fields(self, exclude=None):
        """Field checks, and the rules for rows that people write (``full_clean``: the API, the
        admin, the spreadsheet import): a retired type is refused.

        ``save()`` does not run them, so that rows written before the type was retired can still
        be loaded, re-saved and reverted (and are then excluded from coverage and named by the
        data lint). Raises ``ValidationError`` naming ``instrument_type``.
        """
        super().clean_fields(exclude=exclude)
        if (
            self.instrument_type in RETIRED_INSTRUMENT_TYPES
            and "instrument_type" not in (exclude or ())
            and (self._state.adding or self._stored("instrument_type") != self.instrument_type)
        ):
            raise ValidationError(
                {
                    "instrument_type": (
                        f"The type {self.instrument_type} is retired: a court decision is not "
                        "law here. Record the judgment as an event of kind court_ruling citing "
                        "the court as a source, and let it inform the assessments of the "
                        "provision it applied (basis court_reading)."
                    )
                }
            )

    def _stored(self, field: str):
        """The value of ``field`` as stored in the database (None for a new row)."""
        if self.pk is None:
            return None
        return type(self)._default_manager.filter(pk=self.pk).values_list(field, flat=True).first()

    def clean(self):
        validate_http_url(self.official_url)
        if self.slug and not re.match(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", self.slug):
            raise ValidationError(
                {"slug": "A slug is lower-case letters, digits and single hyphens."}
            )
        self.search_text = fold_for_search(
            self.title, self.original_title, self.short_name, self.citation, self.summary
        )

    # --- derived from the status events -------------------------------------------------
    def _events(self) -> list[StatusEvent]:
        """The status events in life order, from the prefetch cache when there is one."""
        return sorted(self.status_events.all(), key=StatusEvent.sort_key)

    def status_event_as_of(self, as_of: datetime.date | None = None) -> StatusEvent | None:
        """The latest status event dated on or before ``as_of`` (default today), or None."""
        as_of = as_of or clock.today()
        current = None
        for event in self._events():
            if event.date <= as_of:
                current = event
        return current

    def status_as_of(self, as_of: datetime.date | None = None) -> str | None:
        """The procedural status slug at ``as_of`` (DOMAIN.md), or None before any event."""
        event = self.status_event_as_of(as_of)
        return event.status if event else None

    def legal_force_as_of(self, as_of: datetime.date | None = None) -> str | None:
        """schema.org LegalForceStatus at ``as_of``: InForce, PartiallyInForce, NotInForce."""
        return choices.legal_force_for(self.status_as_of(as_of))

    @property
    def status(self) -> str | None:
        """The current (today's) procedural status."""
        return self.status_as_of()

    @property
    def legal_force(self) -> str | None:
        """The current (today's) schema.org LegalForceStatus."""
        return self.legal_force_as_of()

    def first_event(self, *statuses: str) -> StatusEvent | None:
        """The earliest status event with one of ``statuses``, or None."""
        for event in self._events():
            if event.status in statuses:
                return event
        return None

    def key_dates(self) -> dict[str, dict | None]:
        """The key dates with their precision.

        Returns ``{"introduced": {"date": "2024-02-06", "precision": "day"} | None,
        "adopted": …, "in_force": …}``; ``in_force`` takes the first commencement, partial or
        whole.
        """
        picks = {
            "introduced": (Status.INTRODUCED,),
            "adopted": (Status.ADOPTED,),
            "in_force": (Status.PARTIALLY_IN_FORCE, Status.IN_FORCE),
        }
        result = {}
        for key, statuses in picks.items():
            event = self.first_event(*statuses)
            result[key] = (
                {"date": event.date.isoformat(), "precision": event.date_precision}
                if event
                else None
            )
        return result

    def enacted(self) -> StatusEvent | None:
        """The step that enacted the instrument: its first adoption or, where no adoption is
        recorded, its first commencement (partial or whole); None when neither is recorded.
        ``InstrumentQuerySet.with_enacted`` is its SQL form (``enacted_after``/``_before``)."""
        return self.first_event(Status.ADOPTED) or self.first_event(
            Status.PARTIALLY_IN_FORCE, Status.IN_FORCE
        )

    def is_pending(self, as_of: datetime.date | None = None) -> bool:
        return self.status_as_of(as_of) in PENDING_STATUSES

    def applies(self, as_of: datetime.date | None = None) -> bool:
        return self.status_as_of(as_of) in APPLYING_STATUSES


class IdentifierManager(models.Manager):
    def get_by_natural_key(self, scheme, value):
        return self.get(scheme=scheme, value=value)


class Identifier(TrackedModel):
    """An instrument's identifier in a scheme: CELEX 32011L0093, an ELI URI, an OCD bill id."""

    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, related_name="identifiers"
    )
    scheme = models.CharField(max_length=20, choices=IdentifierScheme.choices)
    value = models.CharField(max_length=500)

    history = HistoricalRecords()
    objects = IdentifierManager()

    class Meta:
        ordering = ["scheme", "value"]
        constraints = [
            models.UniqueConstraint(
                fields=["scheme", "value"],
                name="identifier_unique_in_scheme",
                violation_error_message="This identifier is already given to an instrument.",
            ),
        ]

    def __str__(self):
        return f"{self.scheme}:{self.value}"

    def natural_key(self):
        return (self.scheme, self.value)


class InstrumentAmendmentManager(models.Manager):
    def get_by_natural_key(self, amending_slug, amended_slug):
        return self.get(amending__slug=amending_slug, amended__slug=amended_slug)


class InstrumentAmendment(TrackedModel):
    """"Instrument A amends instrument B" (an amendment act and the statute it changes)."""

    amending = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, related_name="amendment_links"
    )
    amended = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, related_name="amended_by_links"
    )

    history = HistoricalRecords()
    objects = InstrumentAmendmentManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["amending", "amended"],
                name="amendment_unique",
                violation_error_message="This amendment link already exists.",
            ),
            models.CheckConstraint(
                condition=~Q(amending=models.F("amended")),
                name="amendment_not_self",
                violation_error_message="An instrument cannot amend itself.",
            ),
        ]

    def __str__(self):
        return f"amendment link {self.amending_id} -> {self.amended_id}"

    def natural_key(self):
        return (self.amending.slug, self.amended.slug)

    natural_key.dependencies = ["jurisdictions.instrument"]

    def clean(self):
        if self.amending_id and self.amending_id == self.amended_id:
            raise ValidationError({"amended": "An instrument cannot amend itself."})


class StatusEventManager(models.Manager.from_queryset(StatusEventQuerySet)):
    def get_by_natural_key(self, instrument_slug, status, date, date_precision):
        return self.get(
            instrument__slug=instrument_slug, status=status, date=date, date_precision=date_precision
        )


class StatusEvent(TrackedModel):
    """One dated step in an instrument's life (the proposal status history)."""

    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, related_name="status_events"
    )
    status = models.CharField(max_length=20, choices=Status.choices)
    date = models.DateField()
    date_precision = models.CharField(
        max_length=20, choices=DatePrecision.choices, default=DatePrecision.DAY
    )
    description = models.TextField(blank=True)
    # The body that took the step (a Senate vote and a House vote are two steps).
    body = models.CharField(max_length=30, choices=Body.choices, blank=True)
    # For an on_or_before step: what was searched for the real date and found missing.
    date_note = models.TextField(blank=True)
    verified_on = models.DateField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,  # losing an account must not lose the step
        null=True,
        blank=True,
        related_name="verified_status_events",
    )
    # Where a second reader found the step in the cited sources.
    verification_note = models.TextField(blank=True)
    # A reviewer's "needs correction" (issue 18): why, for the editors' queue; an editor
    # clears it with the correction. Never public.
    correction_note = models.TextField(blank=True)
    sources = models.ManyToManyField(
        Source, through="StatusEventSource", related_name="status_events", blank=True
    )

    history = HistoricalRecords()
    objects = StatusEventManager()

    class Meta:
        ordering = ["instrument_id", "date", "id"]
        indexes = [models.Index(fields=["instrument", "date"], name="statusevent_instr_date")]
        constraints = [
            # Precision is part of the key: a source may report one step only as "on or
            # before" a date on which another step of the same kind is known to the day.
            models.UniqueConstraint(
                fields=["instrument", "status", "date", "date_precision"],
                name="statusevent_unique_step",
                violation_error_message=(
                    "This instrument already has this status on this date with this precision."
                ),
            ),
            models.CheckConstraint(
                condition=Q(body__in=["", *Body.values]),
                name="statusevent_body_known",
                violation_error_message="The body is one of " + ", ".join(Body.values) + ".",
            ),
        ]

    def __str__(self):
        return f"{self.status} {self.date.isoformat()}"

    def natural_key(self):
        return (
            *self.instrument.natural_key(),
            self.status,
            self.date.isoformat(),
            self.date_precision,
        )

    natural_key.dependencies = ["jurisdictions.instrument"]

    def clean(self):
        precision_clean(self.date, self.date_precision)

    @staticmethod
    def sort_key(event: StatusEvent):
        """Life order: by date, then by the step's place in the vocabulary, then by id."""
        return (event.date, STATUS_SEQUENCE.get(event.status, 0), event.pk or 0)

    @property
    def ocd_classification(self) -> str:
        """The Open Civic Data bill-action classification of this step."""
        return choices.OCD_CLASSIFICATION.get(self.status, "")


class CriterionQuerySet(models.QuerySet):
    def delete(self):
        """Criteria are retired, never deleted, in bulk too. Raises ``ValidationError``."""
        raise ValidationError("A criterion is never deleted: mark it retired instead.")


class CriterionManager(models.Manager.from_queryset(CriterionQuerySet)):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


class Criterion(TrackedModel):
    """One comparative question asked of every law (``possession``: is possessing it an
    offence?). Slugs are stable; a retired criterion is kept and marked retired."""

    slug = models.SlugField(max_length=60, unique=True)
    label = models.CharField(max_length=120)
    question = models.TextField()
    # The limit written out, so that every database (SQLite has no smallint), the API and its
    # schema refuse the same values: PostgreSQL's smallint.
    position = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(POSITION_MAX)]
    )
    retired = models.BooleanField(default=False)

    history = HistoricalRecords()
    objects = CriterionManager()

    class Meta:
        ordering = ["position", "slug"]
        verbose_name_plural = "criteria"

    def __str__(self):
        return self.label or self.slug

    def natural_key(self):
        return (self.slug,)

    def delete(self, *args, **kwargs):
        """Criteria are retired, never deleted: old exports and links must keep their meaning.

        Raises ``ValidationError`` always.
        """
        raise ValidationError("A criterion is never deleted: mark it retired instead.")


class AssessmentManager(models.Manager.from_queryset(AssessmentQuerySet)):
    def get_by_natural_key(self, instrument_slug, criterion_slug):
        return self.get(instrument__slug=instrument_slug, criterion__slug=criterion_slug)


class Assessment(TrackedModel):
    """The answer of one instrument to one criterion, with a pinpoint and sources."""

    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, related_name="assessments"
    )
    criterion = models.ForeignKey(
        Criterion, on_delete=models.PROTECT, related_name="assessments"
    )
    value = models.CharField(max_length=10, choices=AssessmentValue.choices)
    pinpoint = models.CharField(max_length=300, blank=True)
    note = models.TextField(blank=True)
    # A provision that took effect later than the rest of its instrument counts from here.
    commencement_date = models.DateField(null=True, blank=True)
    # What the value rests on (the codebook). Blank only on rows loaded before issue 15, until
    # the research is rebuilt; new rows need one (clean_fields).
    basis = models.CharField(max_length=20, choices=AssessmentBasis.choices, blank=True)
    verified_on = models.DateField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,  # losing an account must not lose the assessment
        null=True,
        blank=True,
        related_name="verified_assessments",
    )
    # Where a second reader found the fact in the cited sources.
    verification_note = models.TextField(blank=True)
    # A reviewer's "needs correction" (issue 18): why, for the editors' queue. Never public.
    correction_note = models.TextField(blank=True)
    sources = models.ManyToManyField(
        Source, through="AssessmentSource", related_name="assessments", blank=True
    )

    history = HistoricalRecords()
    objects = AssessmentManager()

    class Meta:
        ordering = ["instrument_id", "criterion__position", "criterion__slug"]
        permissions = [
            ("verify_assessment", "Can mark an assessment verified (date and verifier)"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["instrument", "criterion"],
                name="assessment_unique_per_criterion",
                violation_error_message="This instrument is already assessed on this criterion.",
            ),
            # Blank only on rows loaded before issue 15 (clean_fields requires it of new rows).
            models.CheckConstraint(
                condition=Q(basis__in=["", *AssessmentBasis.values]),
                name="assessment_basis_known",
                violation_error_message="The basis is one of "
                + ", ".join(AssessmentBasis.values) + ".",
            ),
        ]

    def __str__(self):
        return f"assessment: {self.value}"

    def natural_key(self):
        return (*self.instrument.natural_key(), *self.criterion.natural_key())

    natural_key.dependencies = ["jurisdictions.instrument", "jurisdictions.criterion"]

    def clean_fields(self, exclude=None):
        """Field checks, and the rule for rows that people write (``full_clean``: the API, the
        admin, the spreadsheet import): a new assessment states its basis.

        ``save()`` does not run it, so that assessments loaded before the basis existed keep
        loading until the research is rebuilt (the data lint names them). Raises
        ``ValidationError`` naming ``basis``.
        """
        super().clean_fields(exclude=exclude)
        if self._state.adding and not self.basis and "basis" not in (exclude or ()):
            raise ValidationError(
                {"basis": "Say what the value rests on: " + ", ".join(AssessmentBasis.values) + "."}
            )

    def clean(self):
        """``ai_generated_explicit`` reads the text alone: its basis can only be ``text``.

        A check across the criterion relation cannot be a database constraint; the data lint
        checks stored rows too. Raises ``ValidationError`` naming ``basis``.
        """
        if self.basis and self.basis != AssessmentBasis.TEXT and self.criterion_id:
            slug = Criterion.objects.filter(pk=self.criterion_id).values_list("slug", flat=True).first()
            if slug == TEXT_ONLY_CRITERION:
                raise ValidationError(
                    {
                        "basis": f"{TEXT_ONLY_CRITERION} reads the text of the provision alone: "
                        f"its basis is always text, not {self.basis}."
                    }
                )

    def counts_on(self, as_of: datetime.date) -> bool:
        """False before the assessment's own commencement date, True otherwise."""
        return self.commencement_date is None or self.commencement_date <= as_of


class EventManager(models.Manager):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


class Event(TrackedModel):
    """A dated happening that is not a step of one instrument: an enforcement operation
    (Europol's Operation Cumberland), a report, a letter, a court ruling, a transposition
    deadline. Figures are named numbers (``{"arrests": 25}``)."""

    slug = models.SlugField(max_length=160, unique=True)
    date = models.DateField()
    date_precision = models.CharField(
        max_length=20, choices=DatePrecision.choices, default=DatePrecision.DAY
    )
    title = models.CharField(max_length=500)
    kind = models.CharField(max_length=30, choices=EventKind.choices)
    summary = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    figures = models.JSONField(default=dict, blank=True)
    confidence = models.CharField(max_length=10, choices=Confidence.choices, blank=True)
    # Set for an event that belongs to one instrument (a directive's transposition deadline).
    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    search_text = models.TextField(blank=True, editable=False)
    jurisdictions = models.ManyToManyField(
        Jurisdiction, through="EventJurisdiction", related_name="events", blank=True
    )
    sources = models.ManyToManyField(
        Source, through="EventSource", related_name="events", blank=True
    )

    history = HistoricalRecords()
    objects = EventManager()

    class Meta:
        ordering = ["date", "slug"]

    def __str__(self):
        return self.title

    def natural_key(self):
        return (self.slug,)

    def clean(self):
        precision_clean(self.date, self.date_precision)
        if not isinstance(self.figures, dict) or not all(
            isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
            for k, v in self.figures.items()
        ):
            raise ValidationError({"figures": "Figures are named numbers: {\"arrests\": 25}."})
        self.search_text = fold_for_search(self.title, self.summary)


class EventJurisdictionManager(models.Manager):
    def get_by_natural_key(self, event_slug, code):
        return self.get(event__slug=event_slug, jurisdiction__code=code)


class EventJurisdiction(TrackedModel):
    """A jurisdiction involved in an event."""

    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="jurisdiction_links")
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="event_links"
    )

    history = HistoricalRecords()
    objects = EventJurisdictionManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["event", "jurisdiction"],
                name="eventjurisdiction_unique",
                violation_error_message="This jurisdiction is already linked to the event.",
            ),
        ]

    def __str__(self):
        return "event jurisdiction"

    def natural_key(self):
        return (*self.event.natural_key(), *self.jurisdiction.natural_key())

    natural_key.dependencies = ["jurisdictions.event", "jurisdictions.jurisdiction"]


# --- citations: one explicit through-model per citing kind, PROTECT on both sides ----------
class CitationManager(models.Manager):
    """Looks a citation up by the natural key of the citing row followed by the source URL."""

    def get_by_natural_key(self, *key):
        field = self.model.citing_field
        citing_model = self.model._meta.get_field(field).related_model
        citing = citing_model._default_manager.get_by_natural_key(*key[:-1])
        return self.get(**{field: citing, "source__url": key[-1]})


class Citation(TrackedModel):
    """Abstract: a row citing a source. Removing a citation is an explicit, recorded delete."""

    citing_field = ""  # the name of the foreign key to the citing row

    objects = CitationManager()

    class Meta:
        abstract = True

    def __str__(self):
        return "citation"

    def natural_key(self):
        return (*getattr(self, self.citing_field).natural_key(), self.source.url)


class InstrumentSource(Citation):
    """An instrument cites a source."""

    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="citations")
    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, related_name="instrument_citations"
    )
    history = HistoricalRecords()
    citing_field = "instrument"

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["instrument", "source"],
                name="instrumentsource_unique",
                violation_error_message="The instrument already cites this source.",
            ),
        ]


class StatusEventSource(Citation):
    """A status event cites a source."""

    status_event = models.ForeignKey(
        StatusEvent, on_delete=models.PROTECT, related_name="citations"
    )
    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, related_name="status_event_citations"
    )
    history = HistoricalRecords()
    citing_field = "status_event"

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["status_event", "source"],
                name="statuseventsource_unique",
                violation_error_message="The status event already cites this source.",
            ),
        ]


class AssessmentSource(Citation):
    """An assessment cites a source."""

    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="citations")
    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, related_name="assessment_citations"
    )
    history = HistoricalRecords()
    citing_field = "assessment"

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "source"],
                name="assessmentsource_unique",
                violation_error_message="The assessment already cites this source.",
            ),
        ]


class EventSource(Citation):
    """An event cites a source."""

    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="citations")
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="event_citations")
    history = HistoricalRecords()
    citing_field = "event"

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["event", "source"],
                name="eventsource_unique",
                violation_error_message="The event already cites this source.",
            ),
        ]
