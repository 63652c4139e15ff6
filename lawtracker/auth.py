"""Authentication backends: login throttling for web logins (django-axes)."""
from axes.backends import AxesStandaloneBackend
from django.conf import settings


def client_ip(request) -> str | None:
    """The client's address for login lockouts, by the rule DRF's throttles use.

    With ``settings.NUM_PROXIES`` = n > 0 and an ``X-Forwarded-For`` header, the n-th address
    from the right (the one the outermost trusted proxy saw); otherwise ``REMOTE_ADDR``. Taking
    it from the right means a client cannot choose it by sending its own header.
    """
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    proxies = getattr(settings, "NUM_PROXIES", 0)
    if proxies and forwarded:
        addresses = [part.strip() for part in forwarded.split(",")]
        return addresses[-min(proxies, len(addresses))]
    return request.META.get("REMOTE_ADDR")


class LoginThrottleBackend(AxesStandaloneBackend):
    """django-axes lockout for logins made through a request (admin, API session login).

    ``authenticate()`` called without a request — a shell, a management command, the test
    client's ``login()`` — is programmatic and not throttled: this backend then steps aside
    (returns None) and the next backend authenticates. Raises axes' ``AxesBackendPermissionDenied``
    for a locked-out web login.
    """

    def authenticate(self, request=None, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
