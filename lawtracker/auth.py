"""Authentication backends: login throttling for web logins (django-axes)."""
from axes.backends import AxesStandaloneBackend


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
