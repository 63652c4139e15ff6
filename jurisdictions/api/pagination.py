"""Page-number pagination with a capped ``page_size`` (``{"count", "next", "previous", "results"}``)."""
from django.conf import settings
from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """``?page=N&page_size=M``; ``page_size`` is capped at ``settings.MAX_PAGE_SIZE`` (500)."""

    page_size_query_param = "page_size"
    max_page_size = settings.MAX_PAGE_SIZE
