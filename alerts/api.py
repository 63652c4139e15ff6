"""Webhook subscriptions in the API (``/api/v1/webhooks/``, issue 14): an authenticated account
registers, reads, pauses and deletes its own subscriptions, reads each one's delivery log and
asks for a test ping. Nobody sees another account's subscriptions (they answer 404)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiCallback,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from jurisdictions.api.params import StrictParametersMixin
from jurisdictions.api.schema import ERROR_RESPONSE
from jurisdictions.api.writes import DETAIL, WRITE_ERROR, validated_body
from jurisdictions.text import CONTROL

from . import digests, tasks, webhooks
from .choices import Frequency
from .models import Delivery, DeliveryAttempt, Subscription
from .targets import subscription_target

WEBHOOK_DOCS = """
Each alert the subscription follows is POSTed to `url` as JSON (`WebhookPayload`), with:

- `Lawtracker-Signature: t=<unix seconds>,v1=<hex>`: HMAC-SHA256 keyed with the subscription's
  `secret` over `"<t>." + raw body`;
- `Idempotency-Key`: the alert's `id`, the same on every retry: drop a key you have seen;
- `Lawtracker-Event`: `coverage_change`, `legal_step` or `ping`.

`url` must be a public http(s) address: one that is, or resolves to, a loopback, private,
link-local (cloud metadata) or other non-public address is refused (see `url`).

A 2xx answer is a delivery. Anything else (or no answer within 10 s) is retried with
exponential backoff (30 s, 1 min, 2 min, … 8 attempts); after 20 consecutive failed attempts the
subscription is disabled (`active` false, `disabled_reason` says why, its owner is e-mailed).
Verify a delivery in Python:

```python
import hashlib, hmac, time

def verify(secret: str, header: str, body: bytes, tolerance=300) -> bool:
    parts = dict(item.split("=", 1) for item in header.split(","))
    t = int(parts["t"])
    if abs(time.time() - t) > tolerance:   # refuse replays
        return False
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, parts["v1"])
```
"""


class PlaceSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class WebhookPayloadSerializer(serializers.Serializer):
    """The JSON body POSTed for each alert (documentation: :func:`alerts.webhooks.alert_payload`
    builds it). A ping carries only ``id``, ``type``, ``created`` and ``title``."""

    id = serializers.UUIDField(help_text="The alert's idempotency key (also the "
                                         "Idempotency-Key header): the same on every retry.")
    type = serializers.ChoiceField(["coverage_change", "legal_step", "ping"])
    created = serializers.DateTimeField()
    title = serializers.CharField(help_text="What changed, in words.")
    link = serializers.URLField(required=False, help_text="The page to read.")
    jurisdiction = PlaceSerializer(required=False)
    criterion = serializers.CharField(required=False, allow_null=True,
                                      help_text="A coverage change's criterion slug.")
    scope = serializers.ChoiceField(["applicable", "own"], required=False, allow_null=True)
    instrument = serializers.CharField(required=False, allow_null=True,
                                       help_text="A legal step's instrument slug.")
    timing = serializers.ChoiceField(
        ["current", "retroactive", "scheduled"], required=False,
        help_text="current: today's answer changed (or a step was added); retroactive: only "
                  "past days' answers changed, an edit corrected history (or a step was "
                  "corrected or removed); scheduled: only future days'.")
    step_change = serializers.ChoiceField(["added", "corrected", "removed"], required=False,
                                          allow_null=True)
    changed_from = serializers.DateField(
        required=False, allow_null=True,
        help_text="The first day whose answer changed (null: since always); a step's date.")
    changed_to = serializers.DateField(
        required=False, allow_null=True,
        help_text="The day after the last day whose answer changed (null: from then on).")
    before = serializers.DictField(
        required=False, help_text='A coverage change: {"value", "pending": [slugs]} on today '
        '(current) or on changed_from; a legal step: {"status", "date", "precision", "body"} '
        "(empty when added).")
    after = serializers.DictField(required=False, help_text="The same, after the change.")


RECEIVER = extend_schema(
    request=WebhookPayloadSerializer, responses={204: None},
    summary="Your receiver: one POST per alert",
    description="Answer 2xx once you have stored the alert. Headers: Lawtracker-Signature, "
                "Idempotency-Key, Lawtracker-Event (see the subscription endpoints).",
)


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["at", "status_code", "error", "ok", "duration_ms"]


class DeliverySerializer(serializers.ModelSerializer):
    idempotency_key = serializers.UUIDField(source="key", read_only=True)
    event = serializers.SerializerMethodField()
    title = serializers.CharField(source="alert.title", default="lawtracker test ping")
    log = AttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = ["idempotency_key", "event", "title", "state", "attempts", "next_attempt_at",
                  "delivered_at", "created_at", "log"]

    def get_event(self, delivery) -> str:
        return delivery.alert.kind if delivery.alert_id else "ping"


URL_HELP = (
    "Your receiver: an http or https address without a user name or password, on the public "
    "internet. A host that is, or resolves to, a loopback, private (RFC 1918), link-local "
    "(169.254.0.0/16, cloud metadata), unique-local (fc00::/7), multicast, reserved or "
    "unspecified address (IPv4-mapped IPv6 too), or that does not resolve, is a 400; each "
    "delivery resolves it again and is refused (a failed attempt in the log) if it now "
    "resolves to one of them. A server run with ALERTS_WEBHOOK_ALLOW_PRIVATE (local "
    "development) also accepts loopback and private receivers."
)


class SubscriptionSerializer(serializers.ModelSerializer):
    target = serializers.CharField(
        max_length=500,
        help_text="The path (and query) of the alert feed to follow, e.g. "
                  "/feeds/alerts/criteria/ai_generated_explicit/?within=US",
    )

    class Meta:
        model = Subscription
        extra_kwargs = {"url": {"help_text": URL_HELP}}
        fields = ["id", "url", "target", "target_kind", "secret", "active", "failures",
                  "disabled_at", "disabled_reason", "created_at"]
        read_only_fields = ["target_kind", "secret", "failures", "disabled_at",
                            "disabled_reason", "created_at"]

    def validate_url(self, value):
        if CONTROL.search(value):
            raise serializers.ValidationError("Contains a control character.")
        try:
            webhooks.check_url(value)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from None
        return value

    def validate_target(self, value):
        found = subscription_target(value, serializers.ValidationError)
        self._target_kind = found.kind
        return found.feed

    def validate(self, attrs):
        if hasattr(self, "_target_kind"):
            attrs["target_kind"] = self._target_kind
        if attrs.get("active") and self.instance is not None and not self.instance.active:
            # Re-enabled by its owner: count failures afresh.
            attrs.update(failures=0, disabled_at=None, disabled_reason="")
        return attrs


def validated(serializer_class, request, instance=None, partial=False, **kwargs):
    """A valid serializer of the request's body, or a 400 in the API's one error shape
    (:func:`jurisdictions.api.writes.validated_body`); the writable fields are accepted."""
    writable = {name for name, field in serializer_class().fields.items() if not field.read_only}
    return validated_body(serializer_class, request, writable, instance=instance,
                          partial=partial, **kwargs)


DENIED = {
    401: OpenApiResponse(DETAIL, description="No credentials, or a token that is not valid."),
    403: OpenApiResponse(DETAIL, description="A session write without its CSRF token."),
}
# A bad query parameter (``format``, ``page``) and a bad body answer two documented shapes.
QUERY = {400: ERROR_RESPONSE, **DENIED}
BODY = {400: OpenApiResponse(WRITE_ERROR.response, description="Invalid body, named in "
                             "errors; nothing was written."), **DENIED}
MISSING = {404: OpenApiResponse(DETAIL, description="No subscription of yours has this id.")}


@extend_schema_view(
    list=extend_schema(
        description="Your webhook subscriptions." + WEBHOOK_DOCS,
        responses={200: OpenApiResponse(SubscriptionSerializer(many=True),
                                        description="Your subscriptions, paginated."),
                   **QUERY}),
    create=extend_schema(
        description="Register a webhook for one alert feed." + WEBHOOK_DOCS,
        callbacks=[OpenApiCallback("alert", "{$request.body#/url}", RECEIVER)],
        responses={201: OpenApiResponse(SubscriptionSerializer, description="Registered; "
                                        "keep its secret to verify the signatures."),
                   **BODY}),
    retrieve=extend_schema(responses={200: OpenApiResponse(
        SubscriptionSerializer, description="The subscription."), **QUERY, **MISSING}),
    update=extend_schema(responses={200: OpenApiResponse(
        SubscriptionSerializer, description="Changed."), **BODY, **MISSING}),
    partial_update=extend_schema(
        description="Change the url or target, or pause (active false) and resume it: "
                    "resuming resets the failure count.",
        responses={200: OpenApiResponse(SubscriptionSerializer, description="Changed."),
                   **BODY, **MISSING}),
    destroy=extend_schema(responses={204: OpenApiResponse(description="Deleted."), **QUERY,
                                     **MISSING}),
)
class SubscriptionViewSet(StrictParametersMixin, mixins.CreateModelMixin,
                          mixins.RetrieveModelMixin, mixins.UpdateModelMixin,
                          mixins.DestroyModelMixin, mixins.ListModelMixin,
                          viewsets.GenericViewSet):
    queryset = Subscription.objects.none()  # per account: get_queryset
    serializer_class = SubscriptionSerializer
    permission_classes = [permissions.IsAuthenticated]

    def accepted_parameters(self):
        names = ["format"]
        if self.action in ("list", "deliveries"):
            names += ["page", "page_size"]
        return names

    def accepted_formats(self):
        return self.plain_formats

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Subscription.objects.none()
        return Subscription.objects.filter(user=self.request.user).order_by("pk")

    def create(self, request, *args, **kwargs):
        serializer = validated(self.get_serializer_class(), request,
                               context=self.get_serializer_context())
        serializer.save(user=request.user)
        return Response(serializer.data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, partial=False, **kwargs):
        serializer = validated(self.get_serializer_class(), request, self.get_object(),
                               partial=partial, context=self.get_serializer_context())
        serializer.save()
        return Response(serializer.data)

    @extend_schema(request=None, responses={202: OpenApiResponse(
                       DeliverySerializer, description="The ping, queued."), **QUERY,
                              **MISSING},
                   description="Queue a signed test ping (`Lawtracker-Event: ping`) to the "
                               "subscription's url; its outcome shows in the delivery log.")
    @action(detail=True, methods=["post"])
    def ping(self, request, pk=None):
        subscription = self.get_object()
        with transaction.atomic():
            delivery = Delivery.objects.create(subscription=subscription,
                                               next_attempt_at=timezone.now())
            tasks.deliver.enqueue(delivery.pk)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: OpenApiResponse(
                       DeliverySerializer(many=True), description="The log, paginated."),
                   **QUERY, **MISSING},
                   description="The delivery log, newest first, with every attempt.")
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        subscription = self.get_object()
        rows = (Delivery.objects.filter(subscription=subscription)
                .select_related("alert").prefetch_related("log").order_by("-pk"))
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)


class DigestSignUpSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    target = serializers.CharField(
        max_length=500, help_text="The path (and query) of the alert feed to follow.")
    frequency = serializers.ChoiceField(Frequency.choices, default=Frequency.WEEKLY)

    def validate_email(self, value):
        if CONTROL.search(value):
            raise serializers.ValidationError("Contains a control character.")
        return value

    validate_target = SubscriptionSerializer.validate_target

    def validate(self, attrs):
        attrs["target_kind"] = self._target_kind
        return attrs


SIGNED_UP = {"detail": "If the address accepts mail, a confirmation link is on its way; "
                       "nothing else is sent before it is confirmed."}


class DigestSignUpView(StrictParametersMixin, APIView):
    """``POST /api/v1/alert-digests/``: ask for an e-mail digest (double opt-in)."""

    permission_classes = [permissions.AllowAny]
    authentication_classes = []  # public: no session, so no CSRF to trip over
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "alert_signup"

    def accepted_formats(self):
        return self.plain_formats

    @extend_schema(
        request=DigestSignUpSerializer,
        responses={202: OpenApiResponse(description="Accepted (the same answer whether or not "
                                        "the address is known): confirm through the mailed "
                                        "link."), 400: BODY[400]},
        description="Ask for a daily or weekly e-mail digest of one alert feed. Double opt-in: "
                    "a confirmation link is mailed; each digest carries a one-click "
                    "unsubscribe (RFC 8058 List-Unsubscribe). Rate-limited per client.",
    )
    def post(self, request):
        data = validated(DigestSignUpSerializer, request).validated_data
        digests.sign_up(data["email"], data["target"], data["target_kind"], data["frequency"])
        return Response(SIGNED_UP, status=status.HTTP_202_ACCEPTED)
