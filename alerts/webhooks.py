"""The webhook wire format (issue 14): the JSON payload, its signature, one HTTP POST.

Headers of every delivery:

- ``Lawtracker-Signature: t=<unix seconds>,v1=<hex>``: HMAC-SHA256, keyed with the
  subscription's secret, over ``"<t>." + body`` (the raw bytes of the body). Receivers recompute
  it, compare in constant time and refuse a ``t`` far from their clock (replays);
- ``Idempotency-Key``: the alert's key, the same on every retry of it: a receiver that sees a
  key again drops the repeat (a worker killed after sending, before recording, sends again);
- ``Lawtracker-Event``: ``coverage_change``, ``legal_step`` or ``ping``.

Receivers are on the public internet only (no server-side request forgery):
:func:`check_url` refuses, when a subscription is registered or changed, any url that is not
http(s), that carries a user or password, or whose host is (or resolves to) a loopback,
private, link-local (cloud metadata), unique-local, multicast, reserved or unspecified
address; :func:`post` resolves the host again at each delivery, refuses the same addresses (a
name that changed its answer since, DNS rebinding) and connects to the very address it checked.
A url in Unicode is sent to its ASCII form (:func:`as_uri`: IDNA host, percent-encoded path).
``ALERTS_WEBHOOK_ALLOW_PRIVATE`` lets loopback and private receivers through (local development
and the tests); link-local, multicast, reserved and unspecified addresses stay refused.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings
from django.utils.encoding import iri_to_uri

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
    try:
        url = as_uri(url)
    except ValueError as error:
        return None, f"Not a valid address ({error})."[:500]
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json",
        "User-Agent": "lawtracker-webhooks/1",
        SIGNATURE_HEADER: sign(secret, int(time.time()), body),
        "Idempotency-Key": str(key),
        "Lawtracker-Event": event,
    })
    # No proxy from the environment: the guard must see the receiver's own address.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect,
                                         _GuardedHTTPHandler, _GuardedHTTPSHandler)
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


# --- no server-side request forgery ---------------------------------------------------------
class RefusedAddress(OSError):
    """The receiver's host is, or resolves to, an address webhooks may not reach."""


class Unresolved(RefusedAddress):
    """The receiver's host name does not resolve."""


# NAT64 (RFC 6052): the last 32 bits are the IPv4 address a gateway would reach.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded(ip):
    """The addresses a connection to ``ip`` may reach: an IPv4-mapped IPv6 address is its IPv4
    address; 6to4, Teredo and NAT64 addresses are themselves and the IPv4 they carry."""
    if ip.version == 4:
        return [ip]
    if ip.ipv4_mapped:
        return [ip.ipv4_mapped]
    found = [ip]
    if ip.sixtofour:
        found.append(ip.sixtofour)
    if ip.teredo:
        found.extend(ip.teredo)
    if ip in _NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


# What ALERTS_WEBHOOK_ALLOW_PRIVATE lets through.
LOOPBACK, PRIVATE, NOT_PUBLIC = "a loopback address", "a private address", "not a public address"


def _kind(ip) -> str | None:
    """What kind of non-public address ``ip`` is, or None for a public one."""
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return LOOPBACK
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_link_local:
        return "a link-local address (where cloud metadata services answer)"
    if ip.is_reserved or (ip.version == 6 and ip.is_site_local):
        # fec0::/10, site-local, was deprecated (RFC 3879) and is reserved by the IETF, but a
        # network that still numbers its hosts in it routes to them: Python counts it global.
        return "a reserved address"
    if ip.is_private:
        return PRIVATE
    if not ip.is_global:
        return NOT_PUBLIC
    return None


def refusal(address: str) -> str | None:
    """Why ``address`` (an IP address as text) may not receive webhooks (``"a loopback
    address"``), or None."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "not an IP address"
    allowed = {LOOPBACK, PRIVATE, NOT_PUBLIC} if settings.ALERTS_WEBHOOK_ALLOW_PRIVATE else set()
    for one in _embedded(ip):
        kind = _kind(one)
        if kind and kind not in allowed:
            return kind
    return None


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def resolve(host: str, port: int) -> list[tuple]:
    """``getaddrinfo``'s TCP answers for ``host``; raises :class:`RefusedAddress` when it
    has none or when any of them is refused (:func:`refusal`): a name with one bad answer
    among good ones could be made to reach the bad one."""
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise Unresolved(f"{host} does not resolve ({error})") from None
    if not answers:
        raise Unresolved(f"{host} does not resolve")
    for *_, sockaddr in answers:
        reason = refusal(sockaddr[0])
        if reason:
            # A name's answer is not repeated: registering names must not map a private network.
            raise RefusedAddress(f"{host} is {reason}" if _is_literal(host)
                                 else f"{host} resolves to {reason}")
    return answers


def as_uri(url: str) -> str:
    """``url`` as the ASCII address a delivery sends to: a host name in IDNA (the form the
    resolver looks up, and the ``Host`` header must carry), the path and query percent-encoded
    (an HTTP request line is ASCII), no fragment. Raises ``ValueError`` for a host that has no
    IDNA form (``UnicodeError`` is one)."""
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "", parts.port
    host = f"[{host}]" if ":" in host else host.encode("idna").decode("ascii")
    netloc = host + (f":{port}" if port is not None else "")
    return urllib.parse.urlunsplit((parts.scheme.lower(), netloc, iri_to_uri(parts.path) or "/",
                                    iri_to_uri(parts.query), ""))


def check_url(url: str) -> None:
    """Raise ``ValueError`` saying why ``url`` may not receive webhooks: not http(s), a user or
    password in it, no host, no port a receiver can listen on, a host with no IDNA form, or a
    host that is or resolves to a refused address."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise ValueError(f"Not a valid address ({error}).") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("Must be an http or https address.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValueError("Must not carry a user name or password.")
    if not parts.hostname:
        raise ValueError("Has no host.")
    if port == 0:
        raise ValueError("Port 0 is no port a receiver can listen on.")
    try:
        host = urllib.parse.urlsplit(as_uri(url)).hostname
    except ValueError as error:  # UnicodeError: a label too long, empty or not IDNA
        raise ValueError(f"Not a valid host name ({error}).") from None
    try:
        resolve(host, port if port is not None else
                (443 if parts.scheme.lower() == "https" else 80))
    except Unresolved as error:
        raise ValueError(f"Refused: {error}.") from None
    except RefusedAddress as error:
        raise ValueError(f"Refused: {error}; webhooks go to public addresses only.") from None


def _connect(host: str, port: int, timeout, source_address=None) -> socket.socket:
    """A socket connected to one of ``host``'s checked addresses; the peer it reached is
    checked again, so no second DNS answer can slip in between the check and the connection."""
    last = None
    for family, kind, proto, _, sockaddr in resolve(host, port):
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            peer = sock.getpeername()[0]
            reason = refusal(peer)
            if reason or ipaddress.ip_address(peer) != ipaddress.ip_address(sockaddr[0]):
                raise RefusedAddress(f"{host}: the connection reached "
                                     f"{reason or 'another address than the one checked'}")
            return sock
        except RefusedAddress:
            sock.close()
            raise
        except OSError as error:
            sock.close()
            last = error
    raise last or Unresolved(f"{host} does not resolve")


class _GuardedHTTPConnection(http.client.HTTPConnection):
    def connect(self):
        self.sock = _connect(self.host, self.port, self.timeout, self.source_address)


class _GuardedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, **kwargs):
        kwargs["context"] = kwargs.get("context") or ssl.create_default_context()
        super().__init__(*args, **kwargs)
        self._guard_context = kwargs["context"]

    def connect(self):
        sock = _connect(self.host, self.port, self.timeout, self.source_address)
        self.sock = self._guard_context.wrap_socket(sock, server_hostname=self.host)


class _GuardedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, request):
        return self.do_open(_GuardedHTTPConnection, request)


class _GuardedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, request):
        return self.do_open(_GuardedHTTPSConnection, request)
