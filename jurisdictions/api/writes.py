"""API writes for editors (issue 4): who may write, how a write is validated, and how lost
updates are refused.

- **Who.** Reading stays public. Creating, updating (PUT, PATCH) and deleting need an
  authenticated account — a session (the browsable API, after logging in to the admin) or a token
  (``Authorization: Token <key>``, ``rest_framework.authtoken``) — holding the model permission
  (``add_``, ``change_``, ``delete_``; the ``editor`` and ``reviewer`` groups). A write with no
  credentials or a token that is not valid is answered 401 with ``WWW-Authenticate: Token``;
  a write without the permission, or a session write without its CSRF token, 403.
- **Validation.** A write runs the same rules as the admin: the fields, then the model's
  ``full_clean()`` (``clean()``, unique and check constraints). Errors are 400
  ``{"errors": {field: [messages]}}``; an unknown field in the body is an error too. Relations
  are given by public key: ``jurisdiction`` a code, ``instrument`` a slug, ``criterion`` a slug,
  ``sources`` a list of source URLs, an event's ``jurisdictions`` a list of codes. Public keys
  (code, slug) cannot change once a row exists: links depend on them.
- **Verification.** Setting ``verified_on`` or ``verification_note`` on an assessment or a
  status step needs ``jurisdictions.verify_assessment`` (the ``reviewer`` group), ``last_reviewed_on`` on a
  jurisdiction ``jurisdictions.review_jurisdiction``; the verifier or reviewer recorded is the
  account making the request.
- **No lost updates.** Every detail response carries an ``ETag`` naming the row's version
  (``"<id>-<version>"``; it changes with every write of the row's own fields — nested rows such
  as an instrument's status events have their own). ``PUT``, ``PATCH`` and ``DELETE`` must send
  it back in ``If-Match``: 428 Precondition Required without it (``*`` does not say which version
  was edited and is refused the same way), 400 for a malformed or weak tag (saying why), 412 Precondition Failed when the row has changed
  since (the body names the current ETag). The check and the write are one conditional UPDATE
  (``TrackedModel.save``), so of any number of concurrent writers holding the same ETag exactly
  one succeeds.
- **History.** Writes go through ``save()``/``delete()``: each leaves a history record naming
  the account; an optional ``X-Change-Reason`` header (at most 100 characters) is kept as the
  reason.
- **Deletes** that would lose legal data are refused by ``PROTECT``: 409 Conflict naming what
  still depends on the row. Criteria are never deleted (retire them): 409.
"""

from __future__ import annotations

import re

from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import F, ProtectedError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ParseError, PermissionDenied
from rest_framework.permissions import DjangoModelPermissionsOrAnonReadOnly
from rest_framework.response import Response

from .. import editorial, text
from ..choices import ResearchStatus
from ..models import (
    Assessment,
    AssessmentSource,
    Criterion,
    Event,
    EventJurisdiction,
    EventSource,
    Instrument,
    InstrumentSource,
    Jurisdiction,
    Source,
    StaleVersion,
    StatusEvent,
    StatusEventSource,
)
from .schema import NO_CONTROL_CHARACTERS, NO_CONTROL_CHARACTERS_MULTILINE, PATH_KEYS

REASON_HEADER = "X-Change-Reason"
ETAG_RE = re.compile(r'\s*(W/)?"([^"]*)"\s*(?:,|$)')


# --- errors ------------------------------------------------------------------------------------
class WriteError(APIException):
    """An error answered ``{"errors": {name: [messages]}, ...extra}``."""

    def __init__(self, errors: dict[str, list[str]], **extra):
        super().__init__(detail={"errors": errors, **extra})


def validated_body(serializer_class, request, accepted: set[str], instance=None, partial=False,
                   **kwargs):
    """A valid ``serializer_class`` of the request's body, or :class:`BadWrite`: a body that
    does not parse or is no JSON object, a key outside ``accepted``, a broken rule. DRF would
    answer some of these ``{"detail": …}``: a write's 400 has one shape (found by schemathesis's
    body fuzzing, issue 11)."""
    try:
        data = request.data
    except ParseError as exc:
        raise BadWrite({"non_field_errors": [str(exc.detail)]}) from exc
    if not hasattr(data, "keys"):
        raise BadWrite({"non_field_errors": ["Send a JSON object."]})
    # Form posts from the browsable API carry their own bookkeeping keys.
    unknown = sorted(
        key for key in set(data.keys()) - accepted if not key.startswith(("csrf", "_"))
    )
    if unknown:
        raise BadWrite(
            {name: ["Unknown or read-only field."] for name in unknown},
            accepted_fields=sorted(accepted),
        )
    serializer = serializer_class(instance, data=data, partial=partial, **kwargs)
    if not serializer.is_valid():
        raise BadWrite(
            {name: [str(m) for m in (messages if isinstance(messages, list) else [messages])]
             for name, messages in serializer.errors.items()},
            accepted_fields=sorted(accepted),
        )
    return serializer


class PreconditionRequired(WriteError):
    status_code = 428
    default_code = "precondition_required"


class PreconditionFailed(WriteError):
    status_code = 412
    default_code = "precondition_failed"


class Conflict(WriteError):
    status_code = 409
    default_code = "conflict"


class BadWrite(WriteError):
    status_code = 400
    default_code = "invalid"


# --- ETags -------------------------------------------------------------------------------------
def etag_for(obj) -> str:
    """The strong ETag of a row's version: ``"<id>-<version>"`` (quotes included)."""
    return f'"{obj.pk}-{obj.version}"'


def parse_if_match(value: str) -> list[str]:
    """The entity tags of an ``If-Match`` header (RFC 9110 §13.1.1), quotes included; weak tags
    are kept with their ``W/`` (they never match: If-Match compares strongly). Raises
    ``ValueError`` for a malformed header."""
    value = value.strip()
    if value == "*":
        return ["*"]
    tags, position = [], 0
    while position < len(value):
        match = ETAG_RE.match(value, position)
        if not match or match.end() == position:
            raise ValueError(value)
        tags.append(("W/" if match.group(1) else "") + f'"{match.group(2)}"')
        position = match.end()
    if not tags:
        raise ValueError(value)
    return tags


def check_if_match(request, obj) -> None:
    """Raise 428 when ``If-Match`` is missing or ``*``, 400 when it is malformed or weak, 412
    when it does not name ``obj``'s current version."""
    header = request.headers.get("If-Match")
    current = etag_for(obj)
    if not header:
        raise PreconditionRequired(
            {"If-Match": [f"Send the ETag of the version you edited (If-Match: {current} for "
                          "the current one, from a GET of this URL)."]},
            current_etag=current,
        )
    try:
        tags = parse_if_match(header)
    except ValueError:
        raise BadWrite(
            {"If-Match": [f"{header!r} is not an entity tag: send the ETag header of a GET, "
                          f"quotes included (If-Match: {current} for the current version)."]},
            current_etag=current,
        )
    weak = [tag for tag in tags if tag.startswith("W/")]
    if weak:
        # RFC 9110 §13.1.1: If-Match compares strongly, so a weak tag can never match. Saying
        # so beats a 412 that lists no change (issue 18).
        raise BadWrite(
            {"If-Match": [f"{', '.join(weak)} is a weak entity tag, which If-Match never "
                          "matches (RFC 9110 §13.1.1): send the ETag of a GET as it is, without "
                          f"W/ (If-Match: {current} for the current version)."]},
            current_etag=current,
        )
    if tags == ["*"]:
        raise PreconditionRequired(
            {"If-Match": ["If-Match: * does not say which version you edited: send its ETag."]},
            current_etag=current,
        )
    if current not in tags:
        raise stale_error(obj, tags)


def stale_error(obj, tags=None, current_version=None) -> PreconditionFailed:
    """The 412 for a write based on an old version of ``obj``, naming who changed it since."""
    current_version = obj.version if current_version is None else current_version
    based_on = None
    for tag in tags or []:
        match = re.fullmatch(rf'"{obj.pk}-(\d+)"', tag)
        if match:
            based_on = int(match.group(1))
    changes = (
        editorial.changes_since(type(obj), obj.pk, based_on, limit=5) if based_on else []
    )
    return PreconditionFailed(
        {"If-Match": ["The record has changed since that version: nothing was written. GET it "
                      "again, reapply your change and send the new ETag."]},
        current_etag=f'"{obj.pk}-{current_version}"',
        changes_since=[change.text() for change in changes],
    )


# --- permissions -------------------------------------------------------------------------------
class EditorialPermission(DjangoModelPermissionsOrAnonReadOnly):
    """Reading is public; POST needs ``add_<model>``, PUT/PATCH ``change_<model>``, DELETE
    ``delete_<model>``, for an authenticated account."""


# --- serializers ---------------------------------------------------------------------------------
class KeyField(serializers.SlugRelatedField):
    """A relation by its public key, normalised to the key's case (codes upper, slugs lower)."""

    def __init__(self, *args, case: str | None = None, **kwargs):
        self.case = case
        super().__init__(*args, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = data.strip()
            data = data.upper() if self.case == "upper" else data.lower() if self.case == "lower" \
                else data
        return super().to_internal_value(data)


def sources_field():
    return KeyField(
        slug_field="url", queryset=Source.objects.all(), many=True, required=False,
        help_text="Source URLs the row cites (each must exist under /api/v1/sources/).",
    )


class ModelValidatedSerializer(serializers.ModelSerializer):
    """A write serializer that runs the model's ``full_clean()`` on the row as it would be
    saved, turning Django's ``ValidationError`` into a 400 naming each field.

    ``immutable``: fields that cannot change once the row exists (public keys). ``citations``:
    (citation model, field of the citing row) when the row takes ``sources``.
    """

    immutable: tuple[str, ...] = ()
    citations: tuple | None = None
    related_lists: tuple[str, ...] = ("sources",)

    def to_internal_value(self, data):
        """Apply the text policy (:mod:`jurisdictions.text`) to the raw body first, so that no
        control character reaches a relation lookup or the database; then check that no
        to-many list names one row twice. Raises ``ValidationError`` naming each field."""
        errors = {}
        model = self.Meta.model
        for name in self.Meta.fields:
            if hasattr(data, "getlist") and name in data:
                value = data.getlist(name)
            elif name in data:
                value = data[name]
            else:
                continue
            try:
                multiline = text.is_multiline(model._meta.get_field(name))
            except FieldDoesNotExist:
                multiline = False
            error = text.check_value(value, multiline)
            if error:
                errors[name] = [error]
        if errors:
            raise serializers.ValidationError(errors)
        attrs = super().to_internal_value(data)
        for name in self.related_lists:
            if name in attrs and len({obj.pk for obj in attrs[name]}) != len(attrs[name]):
                errors[name] = ["Names the same row more than once: list each once."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if self.instance is not None:
            for name in self.immutable:
                if name in attrs and attrs[name] != getattr(self.instance, name):
                    raise serializers.ValidationError(
                        {name: [f"{name} is a public key and cannot change."]}
                    )
        model = self.Meta.model
        candidate = model() if self.instance is None else _copy(self.instance)
        for name, value in attrs.items():
            if name not in self.related_lists:
                setattr(candidate, name, value)
        try:
            candidate.full_clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(_error_dict(exc))
        return attrs

    def create(self, validated_data):
        lists = {k: validated_data.pop(k) for k in self.related_lists if k in validated_data}
        instance = self.Meta.model(**validated_data)
        self._stamp(instance).save()
        self._save_lists(instance, lists)
        return instance

    def update(self, instance, validated_data):
        lists = {k: validated_data.pop(k) for k in self.related_lists if k in validated_data}
        for name, value in validated_data.items():
            setattr(instance, name, value)
        self._stamp(instance).save()
        self._save_lists(instance, lists)
        return instance

    def _stamp(self, instance):
        request = self.context.get("request")
        return editorial.stamp(instance, getattr(request, "user", None),
                               self.context.get("reason"))

    def _save_lists(self, instance, lists: dict) -> None:
        if "sources" in lists and self.citations:
            citation_model, field = self.citations
            sync_links(self, citation_model, field, instance, "source", lists["sources"])


def sync_links(serializer, link_model, field: str, instance, target: str, wanted) -> None:
    """Make ``instance``'s links (rows of ``link_model``) point to exactly ``wanted``, adding
    and deleting link rows through ``save()``/``delete()`` so each change has history."""
    current = {getattr(link, f"{target}_id"): link
               for link in link_model.objects.filter(**{field: instance})}
    for obj in wanted:
        if obj.pk not in current:
            serializer._stamp(link_model(**{field: instance, target: obj})).save()
    keep = {obj.pk for obj in wanted}
    for pk, link in current.items():
        if pk not in keep:
            serializer._stamp(link).delete()


def _copy(instance):
    clone = type(instance)()
    for f in instance._meta.concrete_fields:
        setattr(clone, f.attname, getattr(instance, f.attname))
    clone._state.adding = False
    clone._state.db = instance._state.db
    return clone


def _error_dict(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            ("non_field_errors" if name == NON_FIELD_ERRORS else name): [
                message for error in errors for message in error.messages
            ]
            for name, errors in exc.error_dict.items()
        }
    return {"non_field_errors": list(exc.messages)}


class JurisdictionWriteSerializer(ModelValidatedSerializer):
    parent = KeyField(slug_field="code", queryset=Jurisdiction.objects.all(), case="upper",
                      required=False, allow_null=True)
    code = serializers.CharField(max_length=10)
    immutable = ("code",)

    class Meta:
        model = Jurisdiction
        fields = [
            "code", "name", "official_name", "common_name", "kind", "subdivision_type",
            "numeric_code", "parent", "research_status", "last_reviewed_on", "research_notes",
        ]

    def validate_code(self, value):
        return value.strip().upper()

    def validate(self, attrs):
        request = self.context.get("request")
        before = self.instance.last_reviewed_on if self.instance else None
        if "last_reviewed_on" in attrs and attrs["last_reviewed_on"] != before:
            if not request.user.has_perm("jurisdictions.review_jurisdiction"):
                raise PermissionDenied(
                    "Recording a review (last_reviewed_on) needs the permission "
                    "jurisdictions.review_jurisdiction (the reviewer group)."
                )
            attrs["reviewed_by"] = request.user if attrs["last_reviewed_on"] else None
        if attrs.get("research_status") == ResearchStatus.REVIEWED and not (
            attrs.get("last_reviewed_on", before)
        ):
            raise serializers.ValidationError(
                {"last_reviewed_on": ["A reviewed jurisdiction needs the date of its last "
                                      "review."]}
            )
        return super().validate(attrs)


class SourceWriteSerializer(ModelValidatedSerializer):
    class Meta:
        model = Source
        fields = [
            "url", "title", "publisher", "kind", "published_on", "published_precision",
            "accessed_on", "archived_url", "language",
        ]


class InstrumentWriteSerializer(ModelValidatedSerializer):
    jurisdiction = KeyField(slug_field="code", queryset=Jurisdiction.objects.all(), case="upper")
    sources = sources_field()
    immutable = ("slug",)
    citations = (InstrumentSource, "instrument")

    class Meta:
        model = Instrument
        fields = [
            "slug", "jurisdiction", "instrument_type", "title", "original_title",
            "original_language", "short_name", "citation", "official_url", "summary",
            "max_penalty", "confidence", "notes", "status_note", "sources",
        ]


def guard_verification(serializer, attrs: dict) -> dict:
    """Only a reviewer (``jurisdictions.verify_assessment``) sets ``verified_on`` or
    ``verification_note`` of an assessment or a status step; setting ``verified_on`` records
    the writer as the verifier (cleared with it).

    Raises ``PermissionDenied`` naming the field and the permission.
    """
    request = serializer.context.get("request")
    instance = serializer.instance
    for name in ("verified_on", "verification_note"):
        before = getattr(instance, name) if instance else StatusEvent._meta.get_field(name).get_default()
        if name in attrs and attrs[name] != before and not request.user.has_perm(
            "jurisdictions.verify_assessment"
        ):
            raise PermissionDenied(
                f"Marking an answer verified ({name}) needs the permission "
                "jurisdictions.verify_assessment (the reviewer group)."
            )
    before = instance.verified_on if instance else None
    if "verified_on" in attrs and attrs["verified_on"] != before:
        if attrs["verified_on"] and (
            instance is None or editorial.entered_by(instance, request.user)
        ):
            # A second reader verifies (issue 18): not the account that wrote the fact.
            raise PermissionDenied(
                "You entered or changed this fact yourself: a second reader verifies it "
                "(verified_on)."
            )
        attrs["verified_by"] = request.user if attrs["verified_on"] else None
    return attrs


class StatusEventWriteSerializer(ModelValidatedSerializer):
    instrument = KeyField(slug_field="slug", queryset=Instrument.objects.all(), case="lower")
    sources = sources_field()
    citations = (StatusEventSource, "status_event")

    class Meta:
        model = StatusEvent
        fields = [
            "instrument", "status", "date", "date_precision", "date_note", "body",
            "description", "verified_on", "verification_note", "sources",
        ]
        validators = []  # the unique step is checked by full_clean, with the model's message

    def validate(self, attrs):
        return super().validate(guard_verification(self, attrs))


class CriterionWriteSerializer(ModelValidatedSerializer):
    immutable = ("slug",)

    class Meta:
        model = Criterion
        fields = ["slug", "label", "question", "position", "retired"]


class AssessmentWriteSerializer(ModelValidatedSerializer):
    instrument = KeyField(slug_field="slug", queryset=Instrument.objects.all(), case="lower")
    criterion = KeyField(slug_field="slug", queryset=Criterion.objects.all(), case="lower")
    sources = sources_field()
    citations = (AssessmentSource, "assessment")

    class Meta:
        model = Assessment
        fields = [
            "instrument", "criterion", "value", "basis", "pinpoint", "note",
            "commencement_date", "verified_on", "verification_note", "sources",
        ]
        validators = []  # one answer per criterion: checked by full_clean

    def validate(self, attrs):
        return super().validate(guard_verification(self, attrs))


class EventWriteSerializer(ModelValidatedSerializer):
    instrument = KeyField(slug_field="slug", queryset=Instrument.objects.all(), case="lower",
                          required=False, allow_null=True)
    jurisdictions = KeyField(slug_field="code", queryset=Jurisdiction.objects.all(),
                             case="upper", many=True, required=False)
    sources = sources_field()
    immutable = ("slug",)
    citations = (EventSource, "event")
    related_lists = ("sources", "jurisdictions")

    class Meta:
        model = Event
        fields = [
            "slug", "date", "date_precision", "title", "kind", "summary", "notes", "figures",
            "confidence", "instrument", "jurisdictions", "sources",
        ]

    def _save_lists(self, instance, lists):
        super()._save_lists(instance, lists)
        if "jurisdictions" in lists:
            sync_links(self, EventJurisdiction, "event", instance, "jurisdiction",
                       lists["jurisdictions"])


WRITE_SERIALIZERS = {
    Jurisdiction: JurisdictionWriteSerializer,
    Source: SourceWriteSerializer,
    Instrument: InstrumentWriteSerializer,
    StatusEvent: StatusEventWriteSerializer,
    Criterion: CriterionWriteSerializer,
    Assessment: AssessmentWriteSerializer,
    Event: EventWriteSerializer,
}


# --- the viewset mixin -------------------------------------------------------------------------
WRITE_ACTIONS = {"create", "update", "partial_update", "destroy"}


class EditorialWriteMixin:
    """Create, update, partial update and delete for a collection viewset (put it first in the
    bases, with ``viewsets.ModelViewSet`` last). Write responses show the row as the read
    serializer does, with its ``ETag``; every detail response (GET of one row) carries the
    ``ETag`` too. See the module docstring for the rules. Subclasses get the writes documented
    in the OpenAPI schema."""

    permission_classes = [EditorialPermission]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        queryset = getattr(cls, "queryset", None)
        if queryset is not None and queryset.model in WRITE_SERIALIZERS:
            from drf_spectacular.utils import extend_schema_view

            lookup = getattr(cls, "lookup_field", "pk")
            extend_schema_view(**write_schema(
                str(queryset.model._meta.verbose_name_plural),
                cls.serializer_class,
                WRITE_SERIALIZERS[queryset.model],
                "id" if lookup == "pk" else lookup,
            ))(cls)

    def get_write_serializer_class(self):
        return WRITE_SERIALIZERS[self.queryset.model]

    def get_serializer_class(self):
        # The write serializer reads the request body; the answer is shown as reads show it.
        if getattr(self, "action", None) in WRITE_ACTIONS - {"destroy"} and not getattr(
            self, "_answering", False
        ):
            return self.get_write_serializer_class()
        return super().get_serializer_class()

    def check_object_permissions(self, request, obj):
        super().check_object_permissions(request, obj)
        self._object = obj  # the row a detail response shows: its ETag

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        obj = getattr(self, "_object", None)
        if (
            getattr(self, "action", None) == "retrieve"
            and obj is not None
            and 200 <= response.status_code < 300
            and not response.has_header("ETag")
        ):
            response["ETag"] = etag_for(obj)
        return response

    # --- the pieces
    def change_reason(self, request) -> str | None:
        reason = request.headers.get(REASON_HEADER, "").strip()
        if len(reason) > editorial.REASON_MAX_LENGTH:
            raise BadWrite(
                {REASON_HEADER: [f"At most {editorial.REASON_MAX_LENGTH} characters."]}
            )
        error = text.control_message(reason)
        if error:
            raise BadWrite({REASON_HEADER: [error]})
        return reason or None

    def write_serializer(self, request, instance=None, partial=False):
        serializer_class = self.get_write_serializer_class()
        context = {**self.get_serializer_context(), "reason": self.change_reason(request)}
        return validated_body(serializer_class, request, set(serializer_class.Meta.fields),
                              instance=instance, partial=partial, context=context)

    def written(self, obj, status_code, headers=None) -> Response:
        fresh = self.get_queryset().get(pk=obj.pk)
        self._answering = True
        if hasattr(self, "serialize"):
            data = self.serialize([fresh])[0]
        else:
            data = self.serializer_class(fresh, context=self.get_serializer_context()).data
        response = Response(data, status=status_code, headers=headers)
        response["ETag"] = etag_for(fresh)
        return response

    # --- the actions
    def create(self, request, *args, **kwargs):
        serializer = self.write_serializer(request)
        with transaction.atomic():
            obj = serializer.save()
        response = self.written(obj, status.HTTP_201_CREATED)
        location = response.data.get("url") or response.data.get("api_url")
        if location:
            response["Location"] = location
        return response

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        obj = self.get_object()
        check_if_match(request, obj)
        serializer = self.write_serializer(request, obj, partial=partial)
        try:
            with transaction.atomic():
                obj = serializer.save()
        except StaleVersion as exc:
            # Another writer holding the same ETag got there first.
            raise stale_error(obj, [request.headers.get("If-Match", "").strip()],
                              exc.current) from exc
        return self.written(obj, status.HTTP_200_OK)

    def partial_update(self, request, *args, **kwargs):
        kwargs["partial"] = True
        return self.update(request, *args, **kwargs)

    def destroy(self, request, *args, **kwargs):
        obj = self.get_object()
        check_if_match(request, obj)
        reason = self.change_reason(request)
        model = type(obj)
        try:
            with transaction.atomic():
                # Claim the version first: of concurrent deletes and updates holding the same
                # ETag, only the one whose UPDATE matches goes on.
                claimed = model._default_manager.filter(pk=obj.pk, version=obj.version).update(
                    version=F("version") + 1
                )
                if not claimed:
                    current = model._default_manager.filter(pk=obj.pk).values_list(
                        "version", flat=True
                    ).first()
                    raise stale_error(obj, [etag_for(obj)], current)
                obj.version += 1
                editorial.stamp(obj, request.user, reason)
                obj.delete()
        except ProtectedError as exc:
            blocking = sorted({f"{o._meta.verbose_name}: {o}" for o in exc.protected_objects})
            raise Conflict(
                {"non_field_errors": [
                    "Other legal data depends on this row, so it cannot be deleted (delete or "
                    "re-point those rows first): " + "; ".join(blocking[:20])
                ]}
            )
        except DjangoValidationError as exc:
            raise Conflict({"non_field_errors": list(exc.messages)})
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- OpenAPI -----------------------------------------------------------------------------------
IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True,
    description="The ETag of the version being edited, from a GET of the row (quotes "
    "included). Missing or *: 428; malformed or weak (W/): 400; not the current version: 412.",
)
REASON = OpenApiParameter(
    REASON_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Why the change is made (at most 100 characters), kept in the history.",
)
WRITE_ERROR = OpenApiResponse(
    response=inline_serializer(
        "WriteError",
        {
            "errors": serializers.DictField(
                child=serializers.ListField(child=serializers.CharField()),
                help_text="Messages per field (or header).",
            ),
        },
    ),
    description="The write was refused; nothing was written.",
)


# DRF itself answers a refused login, a missing permission and an unknown key, with
# {"detail": message} (found by schemathesis, issue 7).
DETAIL = inline_serializer("Detail", {"detail": serializers.CharField()})


def write_schema(noun: str, read_serializer, write_serializer, path_key: str) -> dict:
    """``extend_schema_view`` arguments documenting a collection's writes (``path_key``: the
    name of the detail path's parameter: ``code``, ``slug`` or ``id``)."""
    key = OpenApiParameter(path_key, OpenApiTypes.STR, OpenApiParameter.PATH,
                           description=PATH_KEYS.get(path_key, "The row's key."))
    errors = {
        400: OpenApiResponse(WRITE_ERROR.response, description="Invalid body or header (a "
                             "malformed or weak If-Match too), named in errors; nothing was "
                             "written."),
        401: OpenApiResponse(DETAIL, description="No credentials, or a token that is not "
                             "valid (WWW-Authenticate: Token)."),
        403: OpenApiResponse(DETAIL, description="Without the model permission (or the "
                             "verify/review permission), or a session write without its CSRF "
                             "token."),
    }
    conditional = {
        **errors,
        404: OpenApiResponse(DETAIL, description="No row with this key."),
        412: OpenApiResponse(WRITE_ERROR.response, description="If-Match names an older "
                             "version: the current ETag and the changes since are returned."),
        428: OpenApiResponse(WRITE_ERROR.response, description="If-Match is missing or *."),
    }
    written = OpenApiResponse(read_serializer, description="The row as written, with its new "
                              "ETag.")

    def change(summary: str):
        return extend_schema(
            summary=summary,
            description="Needs the change permission and If-Match.",
            request=write_serializer,
            parameters=[key, IF_MATCH, REASON],
            responses={200: written, **conditional},
        )

    return {
        "create": extend_schema(
            summary=f"Create one of the {noun}",
            description="Needs the add permission. Relations by public key.",
            request=write_serializer,
            parameters=[REASON],
            responses={201: written, **errors},
        ),
        "update": change(f"Replace one of the {noun}"),
        "partial_update": change(f"Change fields of one of the {noun}"),
        "destroy": extend_schema(
            summary=f"Delete one of the {noun}",
            description="Needs the delete permission and If-Match; 409 while other legal data "
            "depends on the row.",
            parameters=[key, IF_MATCH, REASON],
            responses={
                204: OpenApiResponse(description="Deleted; the row stays in the history."),
                **conditional,
                409: OpenApiResponse(WRITE_ERROR.response, description="Other legal data "
                                     "depends on the row (PROTECT), or it is a criterion."),
            },
        ),
    }


def write_patterns(result, generator, request, public):
    """Document the write rules a serializer cannot declare (issue 11): each free string of a
    write body, and each key in a list of keys, gets the pattern of the text policy for its
    kind of text; a list of keys names each row once (``uniqueItems``). A postprocessing hook
    of drf-spectacular (``SPECTACULAR_SETTINGS``), run after :func:`.schema.public_reads`."""
    components = result.get("components", {}).get("schemas", {})
    for serializer_class in WRITE_SERIALIZERS.values():
        base = serializer_class.__name__.removesuffix("Serializer")
        model = serializer_class.Meta.model
        for name in (base, f"Patched{base}"):
            properties = components.get(name, {}).get("properties", {})
            for field, schema in properties.items():
                try:
                    multiline = text.is_multiline(model._meta.get_field(field))
                except FieldDoesNotExist:
                    multiline = False
                if schema.get("type") == "array" and not schema.get("readOnly"):
                    schema["uniqueItems"] = True  # the same row twice is a 400
                target = schema.get("items", schema)
                if target.get("type") == "string" and not {"enum", "pattern", "format"} & set(
                    target
                ) and not schema.get("readOnly"):
                    target["pattern"] = (NO_CONTROL_CHARACTERS_MULTILINE if multiline
                                         else NO_CONTROL_CHARACTERS)
    return result
