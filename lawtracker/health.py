"""``/healthz``: is this app server able to answer, database included?"""
import time

from django.db import connection
from django.db.utils import DatabaseError
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request):
    """200 ``{"status": "ok", "database": "ok", "database_ms": 1.2}`` when a ``SELECT 1``
    succeeds; 503 ``{"status": "unavailable", "database": "<error class>"}`` when it does not.
    For load balancers and uptime checks; no authentication, no personal data."""
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        try:
            connection.close()
        except DatabaseError:
            pass
        return JsonResponse(
            {"status": "unavailable", "database": type(exc).__name__}, status=503
        )
    elapsed = round((time.perf_counter() - started) * 1000, 2)
    return JsonResponse({"status": "ok", "database": "ok", "database_ms": elapsed})
