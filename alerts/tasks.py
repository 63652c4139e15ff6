"""The worker's tasks (django-tasks, database backend; run by ``manage.py db_worker``).

- :func:`dispatch`: each undispatched alert becomes one :class:`Delivery` per active
  subscription that follows it; claimed by a conditional update, so two workers never fan out
  one alert twice, and the deliveries commit with the claim.
- :func:`deliver`: one delivery, under a lease (``ALERTS_LEASE_SECONDS``): claim, POST, record.
  A failure is retried with exponential backoff (``ALERTS_RETRY_BASE_SECONDS`` × 2^(attempt−1))
  up to ``ALERTS_MAX_ATTEMPTS``; ``ALERTS_DISABLE_AFTER`` consecutive failed attempts disable the
  subscription and e-mail its owner a notice.
- :func:`recover`: enqueue every pending delivery that no queued task will send (``manage.py
  alerts_recover``, run when the worker starts and by the timer in ``deploy/``): what a killed
  worker held is sent again once its lease expires, with the same ``Idempotency-Key``. Run
  again, it finds the tasks it queued and queues nothing more.
"""

from __future__ import annotations

import datetime
import time

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_tasks import TaskResultStatus, task

from . import webhooks
from .models import Alert, Delivery, DeliveryAttempt, DeliveryState, Subscription
from .targets import TargetError, target_of_feed


def _link(alert) -> str:
    base = settings.ALERTS_SITE_URL.rstrip("/")
    from django.urls import reverse

    if alert.instrument_slug and alert.instrument_id:
        return base + reverse("pages:instrument", kwargs={"slug": alert.instrument_slug})
    return base + reverse("pages:jurisdiction", kwargs={"code": alert.jurisdiction.code})


@task()
def dispatch() -> int:
    """Fan out every undispatched alert; returns the number of deliveries created."""
    created = 0
    # Each subscription's target is read once per run (its selection as of today).
    targets = []
    for subscription in Subscription.objects.filter(active=True):
        try:
            targets.append((subscription, target_of_feed(subscription.target)))
        except TargetError:
            pass  # its code or slug is gone: nothing matches it
    for alert_id in list(Alert.objects.filter(dispatched=False).order_by("pk")
                         .values_list("pk", flat=True)):
        with transaction.atomic():
            if not Alert.objects.filter(pk=alert_id, dispatched=False).update(dispatched=True):
                continue  # another worker has it
            alert = Alert.objects.get(pk=alert_id)
            now = timezone.now()
            rows = [
                Delivery(subscription=subscription, alert=alert, key=alert.key,
                         next_attempt_at=now)
                for subscription, target in targets
                if target.alerts(Alert.objects.filter(pk=alert_id)).exists()
            ]
            Delivery.objects.bulk_create(rows, ignore_conflicts=True)
            for row in Delivery.objects.filter(alert=alert, state=DeliveryState.PENDING):
                deliver.enqueue(row.pk)
            created += len(rows)
    return created


def _claim(delivery_id: int) -> Delivery | None:
    """Take the lease of a due, pending delivery, or None when it is not ours to send."""
    now = timezone.now()
    lease = now + datetime.timedelta(seconds=settings.ALERTS_LEASE_SECONDS)
    claimed = Delivery.objects.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lte=now),
        pk=delivery_id, state=DeliveryState.PENDING, next_attempt_at__lte=now,
        subscription__active=True,
    ).update(lease_until=lease, attempts=F("attempts") + 1)
    if not claimed:
        return None
    return Delivery.objects.select_related(
        "subscription", "alert__jurisdiction", "alert__criterion"
    ).get(pk=delivery_id)


@task()
def deliver(delivery_id: int) -> str:
    """Send one delivery (see the module docstring); returns its state afterwards."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return "skipped"
    subscription = delivery.subscription
    if delivery.alert is None:
        event, payload = "ping", webhooks.ping_payload(delivery.key, delivery.created_at)
    else:
        event = delivery.alert.kind
        payload = webhooks.alert_payload(delivery.alert, _link(delivery.alert))
    started = time.monotonic()
    status, error = webhooks.post(subscription.url, subscription.secret, delivery.key, event,
                                  payload)
    ok = status is not None and 200 <= status < 300
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery, status_code=status, error=error, ok=ok,
            duration_ms=int((time.monotonic() - started) * 1000),
        )
        now = timezone.now()
        if ok:
            Delivery.objects.filter(pk=delivery.pk).update(
                state=DeliveryState.DELIVERED, delivered_at=now, lease_until=None)
            Subscription.objects.filter(pk=subscription.pk).update(failures=0)
            return DeliveryState.DELIVERED
        Subscription.objects.filter(pk=subscription.pk).update(failures=F("failures") + 1)
        subscription.refresh_from_db(fields=["failures"])
        if delivery.attempts >= settings.ALERTS_MAX_ATTEMPTS:
            Delivery.objects.filter(pk=delivery.pk).update(
                state=DeliveryState.FAILED, lease_until=None)
        else:
            wait = settings.ALERTS_RETRY_BASE_SECONDS * 2 ** (delivery.attempts - 1)
            due = now + datetime.timedelta(seconds=wait)
            Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=due, lease_until=None)
            deliver.using(run_after=due).enqueue(delivery.pk)
        if subscription.failures >= settings.ALERTS_DISABLE_AFTER and subscription.active:
            _disable(subscription, error or f"HTTP {status}")
    return DeliveryState.PENDING if delivery.attempts < settings.ALERTS_MAX_ATTEMPTS \
        else DeliveryState.FAILED


def _disable(subscription: Subscription, last_error: str) -> None:
    """Stop a subscription that keeps failing, say why on it, and tell its owner."""
    reason = (f"Disabled after {subscription.failures} consecutive failed attempts; "
              f"last: {last_error}. Fix the receiver, then PATCH active=true.")
    Subscription.objects.filter(pk=subscription.pk).update(
        active=False, disabled_at=timezone.now(), disabled_reason=reason)
    if subscription.user.email:
        transaction.on_commit(lambda: send_mail(
            "lawtracker: your webhook was disabled",
            f"Your webhook to {subscription.url} ({subscription.target}) was disabled.\n{reason}\n",
            None, [subscription.user.email], fail_silently=True,
        ), robust=True)


def _queued(task_path: str) -> dict[tuple, datetime.datetime]:
    """The queued (not yet started) tasks of ``task_path`` in django-tasks' database backend:
    their arguments -> the latest of the earliest times each may run (now for any runnable)."""
    from django_tasks_db.models import DBTaskResult, get_date_max

    now, never = timezone.now(), get_date_max()
    queued = {}
    for args_kwargs, run_after in DBTaskResult.objects.filter(
            status=TaskResultStatus.READY, task_path=task_path
    ).values_list("args_kwargs", "run_after"):
        # ``never`` is django-tasks-db's "no run_after": the task may run at once.
        at = now if run_after == never else max(run_after, now)
        args = tuple(args_kwargs.get("args") or ())
        queued[args] = max(queued.get(args, at), at)
    return queued


@task()
def recover() -> dict:
    """Enqueue a delivery task for every pending delivery of an active subscription that no
    queued task will send, to run when its lease (if any) expires and it is due; and the
    fan-out, when an alert waits for it and none is queued. Idempotent: a second run finds the
    first run's tasks. A task a killed worker was running is not queued (it will never finish):
    its delivery is queued again. Returns what it queued and what it found queued."""
    queued = _queued(deliver.module_path)
    count = already = 0
    for delivery in Delivery.objects.filter(state=DeliveryState.PENDING,
                                            subscription__active=True):
        due = max(filter(None, [delivery.next_attempt_at, delivery.lease_until]))
        # A queued task that may run before the delivery is due would find it not due (or
        # leased) and end: it does not count.
        runs_at = queued.get((delivery.pk,))
        if runs_at is not None and runs_at >= due:
            already += 1
            continue
        deliver.using(run_after=due).enqueue(delivery.pk)
        count += 1
    fan_out = (Alert.objects.filter(dispatched=False).exists()
               and not _queued(dispatch.module_path))
    if fan_out:
        dispatch.enqueue()
    return {"queued": count, "already_queued": already, "fan_out": fan_out}
