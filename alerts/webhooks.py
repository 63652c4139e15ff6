"""The webhook wire format (issue 14): the JSON payload, its signature, one HTTP POST.

Headers of every delivery:

- ``Lawtracker-Signature: t=<unix seconds>,v1=<hex>``: HMAC-SHA256, keyed with the
  subscription's secret, over ``"<t>." + body`` (the raw bytes of the body). Receivers recompute
  it, compare in constant time and refuse a ``t`` far from their clock (replays);
- ``Idempotency-Key``: the alert's key, the same on every retry of it: a receiver that sees a
  key again drops the repeat (a worker killed after sending, before recording, sends again);
- ``Lawtracker-Event``: ``coverage_change``, ``legal_step`` or ``ping``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request

from django.conf import settings

SIGNATURE_HEADER = "Lawtracker-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Lawtracker-Signature`` header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, tolerance: int = 300, now=None) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` within ``tolerance`` seconds."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), f"t={timestamp},v1={parts.get('v1', '')}")


def alert_payload(alert, link: str) -> dict:
    """The JSON body of one alert (documented in the OpenAPI schema as ``WebhookPayload``)."""
    return {
        "id": str(alert.key),
        "type": alert.kind,
        "created": alert.created_at.isoformat(),
        "title": alert.title,
        "link": link,
        "jurisdiction": {"code": alert.jurisdiction.code, "name": alert.jurisdiction.name},
        "criterion": alert.criterion.slug if alert.criterion_id else None,
        "scope": alert.scope or None,
        "instrument": alert.instrument_slug or None,
        "timing": alert.timing,
        "step_change": alert.step_change or None,
        "changed_from": alert.changed_from.isoformat() if alert.changed_from else None,
        "changed_to": alert.changed_to.isoformat() if alert.changed_to else None,
        "before": alert.before,
        "after": alert.after,
    }


def ping_payload(key, created) -> dict:
    return {"id": str(key), "type": "ping", "created": created.isoformat(),
            "title": "lawtracker test ping"}


def post(url: str, secret: str, key, event: str, payload: dict) -> tuple[int | None, str]:
    """POST ``payload`` signed; returns ``(HTTP status or None, error text)``. A 2xx is a
    success; redirects are not followed (a moved receiver must update its subscription)."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json",
        "User-Agent": "lawtracker-webhooks/1",
        SIGNATURE_HEADER: sign(secret, int(time.time()), body),
        "Idempotency-Key": str(key),
        "Lawtracker-Event": event,
    })
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=settings.ALERTS_WEBHOOK_TIMEOUT) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, f"HTTP {error.code}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        return None, str(getattr(error, "reason", error))[:500]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
