"""Middleware: a JSON 503 while the database is unreachable."""
import logging

from django.db import connections
from django.db.utils import InterfaceError, OperationalError
from django.http import JsonResponse

logger = logging.getLogger(__name__)

# Seconds a client should wait before retrying during a database outage.
RETRY_AFTER_SECONDS = 5


class DatabaseUnavailableMiddleware:
    """Answer 503 with a JSON body and ``Retry-After`` when a view fails because the database
    cannot be reached (``OperationalError`` / ``InterfaceError``), instead of a 500, and drop
    the broken connections so the next request reconnects by itself.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.warning("database unavailable: %s", exception)
        for conn in connections.all(initialized_only=True):
            if conn.in_atomic_block:
                continue  # the transaction's owner (a test, an atomic view) closes it
            try:
                conn.close()
            except Exception:  # the connection is already broken; closing is best effort
                pass
        response = JsonResponse(
            {"detail": "The database is unavailable; try again shortly.", "status": 503},
            status=503,
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
