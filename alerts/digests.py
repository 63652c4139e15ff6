"""E-mail digests of alerts (issue 14), through Django's e-mail framework (``EMAIL_*`` from
the environment).

- **Double opt-in**: :func:`sign_up` stores the request and mails a confirmation link; nothing
  else is sent to the address until its owner confirms (:func:`confirm`, a POST). Sign-ups are
  rate-limited per client (the API's ``alert_signup`` throttle) and per address
  (``ALERTS_SIGNUPS_PER_ADDRESS`` a day, beyond which no mail goes out); the answer never says
  whether an address is known.
- **Digests**: :func:`send_digests` mails each confirmed subscription of a frequency the alerts
  of its target newer than the last one it was sent, in plain text and HTML, with
  ``List-Unsubscribe`` and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058):
  one POST to the link unsubscribes, without a login or a confirmation page. A digest's
  ``Message-ID`` is made from its subscription and the alerts it holds: a digest mailed again
  because a worker died between handing it to the mail server and moving the cursor is the same
  message, which mail systems recognise as a repeat (the e-mail form of a webhook's
  ``Idempotency-Key``).
"""

from __future__ import annotations

import datetime
import urllib.parse

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from .models import Alert, EmailSubscription
from .targets import target_of_feed


def _absolute(path: str) -> str:
    return settings.ALERTS_SITE_URL.rstrip("/") + path


def _send(to: str, subject: str, text: str, html: str, unsubscribe: str | None = None,
          message_id: str | None = None) -> None:
    headers = {}
    if unsubscribe:
        headers = {"List-Unsubscribe": f"<{unsubscribe}>",
                   "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    if message_id:
        headers["Message-ID"] = message_id
    message = EmailMultiAlternatives(subject, text, None, [to], headers=headers)
    message.attach_alternative(html, "text/html")
    message.send()


def digest_message_id(subscription: EmailSubscription, alerts: list[Alert]) -> str:
    """The ``Message-ID`` of the digest of ``alerts`` to ``subscription``: the same every time
    that digest is mailed (RFC 5322 section 3.6.4)."""
    host = urllib.parse.urlsplit(settings.ALERTS_SITE_URL).hostname or "lawtracker.invalid"
    return f"<digest.{subscription.pk}.{alerts[0].pk}-{alerts[-1].pk}@{host}>"


def sign_up(email: str, target: str, kind: str, frequency: str) -> EmailSubscription | None:
    """Store a sign-up and mail its confirmation link (after the transaction commits); None
    when the address has had ``ALERTS_SIGNUPS_PER_ADDRESS`` sign-ups in the last day."""
    since = timezone.now() - datetime.timedelta(days=1)
    recent = EmailSubscription.objects.filter(email__iexact=email, created_at__gte=since).count()
    if recent >= settings.ALERTS_SIGNUPS_PER_ADDRESS:
        return None
    subscription = EmailSubscription.objects.create(
        email=email, target=target, target_kind=kind, frequency=frequency)
    link = _absolute(reverse("alerts:confirm", kwargs={"token": subscription.token}))
    text = (f"Someone asked lawtracker to e-mail this address a {frequency} digest of alerts "
            f"for {target}.\n\nTo confirm, open {link} and press Confirm.\n"
            "If it was not you, ignore this message: nothing more will be sent.\n")
    html = format_html(
        "<p>Someone asked lawtracker to e-mail this address a {} digest of alerts for "
        "<code>{}</code>.</p><p><a href=\"{}\">Confirm the subscription</a></p>"
        "<p>If it was not you, ignore this message: nothing more will be sent.</p>",
        frequency, target, link)
    # robust: a mail server that is down must not turn the committed sign-up into a 500; the
    # failure is logged (django.db.backends) and the owner may sign up again.
    transaction.on_commit(lambda: _send(email, "lawtracker: confirm your alert digest", text,
                                        html), robust=True)
    return subscription


def confirm(token: str) -> EmailSubscription | None:
    """Confirm the sign-up of ``token``; its digests start with the alerts from now on."""
    subscription = EmailSubscription.objects.filter(token=token, unsubscribed_at=None).first()
    if subscription is not None and subscription.confirmed_at is None:
        newest = Alert.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        EmailSubscription.objects.filter(pk=subscription.pk).update(
            confirmed_at=timezone.now(), last_alert_id=newest)
    return subscription


def unsubscribe(token: str) -> bool:
    """Stop the digest of ``token`` (idempotent); False when no subscription has it."""
    subscription = EmailSubscription.objects.filter(token=token).first()
    if subscription is None:
        return False
    if subscription.unsubscribed_at is None:
        EmailSubscription.objects.filter(pk=subscription.pk).update(
            unsubscribed_at=timezone.now())
    return True


def send_digests(frequency: str) -> int:
    """Mail every confirmed, subscribed digest of ``frequency`` that has new alerts; returns
    how many were sent. Each subscription's cursor moves only after its mail was handed to
    the mail server."""
    sent = 0
    due = EmailSubscription.objects.filter(
        frequency=frequency, confirmed_at__isnull=False, unsubscribed_at=None)
    for subscription in due:
        try:
            target = target_of_feed(subscription.target)
        except Exception:  # its code or slug is gone: nothing to send
            continue
        alerts = list(target.alerts(Alert.objects.filter(pk__gt=subscription.last_alert_id))
                      .select_related("jurisdiction").order_by("pk")[:200])
        if not alerts:
            continue
        unsubscribe_link = _absolute(
            reverse("alerts:unsubscribe", kwargs={"token": subscription.token}))
        feed = _absolute(target.feed)
        text = "\n".join([
            f"lawtracker: {len(alerts)} alert(s) for {target.title}", "",
            *(f"- {a.title} ({a.created_at:%Y-%m-%d})" for a in alerts), "",
            f"The feed: {feed}", f"Unsubscribe: {unsubscribe_link}", ""])
        html = format_html(
            "<p>lawtracker: {} alert(s) for {}</p><ul>{}</ul><p><a href=\"{}\">The feed</a> · "
            "<a href=\"{}\">Unsubscribe</a></p>",
            len(alerts), target.title,
            format_html_join("", "<li>{} ({})</li>",
                             ((a.title, f"{a.created_at:%Y-%m-%d}") for a in alerts)),
            feed, unsubscribe_link)
        _send(subscription.email, f"lawtracker {frequency} digest: {target.title}", text, html,
              unsubscribe_link, digest_message_id(subscription, alerts))
        EmailSubscription.objects.filter(pk=subscription.pk).update(
            last_alert_id=alerts[-1].pk, last_sent_at=timezone.now())
        sent += 1
    return sent
