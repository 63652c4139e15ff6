"""Alerts (issue 14): the outbox of what changed in the law, the webhook subscriptions that
want to hear of it, and the log of each delivery.

An :class:`Alert` is written in the same transaction as the write that caused it
(:mod:`alerts.outbox`); the worker (:mod:`alerts.tasks`) fans it out to the matching
subscriptions as :class:`Delivery` rows and sends them. Alerts are derived notices, not legal
data: they carry no history and go with the rows they describe.
"""
import secrets
import uuid

from django.conf import settings
from django.db import models

from .choices import AlertKind, DeliveryState, Frequency, StepChange, TargetKind, Timing


class Alert(models.Model):
    """One thing a follower is told, once: a cell's answer (value or pending list) changed, or
    an instrument took (or lost) a legal step. ``key`` is its idempotency key, the same in
    every feed entry and webhook delivery that carries it."""

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Notices go with what they describe.
    jurisdiction = models.ForeignKey(
        "jurisdictions.Jurisdiction", on_delete=models.CASCADE, related_name="alerts"
    )
    criterion = models.ForeignKey(
        "jurisdictions.Criterion", on_delete=models.CASCADE, related_name="alerts",
        null=True, blank=True,
    )
    scope = models.CharField(max_length=12, blank=True)
    # A removed step's instrument may be deleted next: its slug stays in ``instrument_slug``.
    instrument = models.ForeignKey(
        "jurisdictions.Instrument", on_delete=models.SET_NULL, related_name="alerts",
        null=True, blank=True,
    )
    instrument_slug = models.CharField(max_length=200, blank=True)
    timing = models.CharField(max_length=12, choices=Timing.choices)
    step_change = models.CharField(max_length=10, choices=StepChange.choices, blank=True)
    changed_from = models.DateField(null=True, blank=True)
    changed_to = models.DateField(null=True, blank=True)
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    # The value itself changed (not only the pending list): what a gap list follows.
    value_changed = models.BooleanField(default=False)
    title = models.CharField(max_length=500)
    dispatched = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["dispatched"], name="alert_undispatched",
                         condition=models.Q(dispatched=False)),
        ]

    def __str__(self):
        return self.title


class Subscription(models.Model):
    """A webhook: an account asks for the alerts of one followable thing (``target``: the path
    and query of its Atom feed, :mod:`alerts.targets`) to be POSTed to ``url``, signed with
    ``secret``."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_subscriptions"
    )
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=64, default=secrets.token_hex, editable=False)
    target_kind = models.CharField(max_length=20, choices=TargetKind.choices)
    target = models.CharField(max_length=500)
    active = models.BooleanField(default=True)
    # Consecutive failed attempts; a success resets it.
    failures = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.target_kind} {self.target} -> {self.url}"


class Delivery(models.Model):
    """One alert (or a test ping, ``alert`` null) to one subscription, sent until it is
    delivered or its attempts run out. A worker owns it while ``lease_until`` is ahead: a
    worker that dies mid-send leaves the lease to expire and another sends it again with the
    same ``key`` (the ``Idempotency-Key`` header), so the receiver can drop the repeat."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    alert = models.ForeignKey(
        Alert, on_delete=models.CASCADE, related_name="deliveries", null=True, blank=True
    )
    key = models.UUIDField(default=uuid.uuid4)
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            # An alert reaches a subscription once.
            models.UniqueConstraint(
                fields=["subscription", "key"], name="delivery_once_per_subscription",
                violation_error_message="This alert is already queued for this subscription.",
            ),
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="delivery_due")]

    def __str__(self):
        return f"{self.key} {self.state}"


class DeliveryAttempt(models.Model):
    """One HTTP attempt of a delivery: the delivery log."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    ok = models.BooleanField(default=False)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.status_code or self.error}"


def _token() -> str:
    return secrets.token_urlsafe(32)


class EmailSubscription(models.Model):
    """An e-mail digest of one followable thing (``target``, as :class:`Subscription`), daily
    or weekly. Double opt-in: nothing is sent before the address's owner confirms through the
    link mailed to it; ``token`` also signs the one-click unsubscribe (RFC 8058). The address
    is never shown by any page or answer."""

    email = models.EmailField()
    target = models.CharField(max_length=500)
    target_kind = models.CharField(max_length=20, choices=TargetKind.choices)
    frequency = models.CharField(max_length=10, choices=Frequency.choices)
    token = models.CharField(max_length=64, unique=True, default=_token, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # The newest alert already sent: the next digest starts after it.
    last_alert_id = models.BigIntegerField(default=0)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["email", "created_at"], name="emailsub_signups")]

    def __str__(self):
        return f"{self.frequency} digest of {self.target}"
