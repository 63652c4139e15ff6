"""Error answers for URLs that match no view (Django's ``handler404``)."""
from django.http import JsonResponse
from django.views.defaults import page_not_found


def not_found(request, exception=None):
    """404: JSON ``{"detail": "Not found."}`` under ``/api/`` (an API client reading a key that
    the URL patterns refuse, ``/api/v1/criteria/%00/``, gets the API's error shape, as the
    schema documents), the site's 404 page everywhere else."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)
