"""Page-number pagination with strict parameters (``{"count", "next", "previous", "results"}``).

``page`` and ``page_size`` are positive integers; a malformed one, or a page past the last, is a
400 naming it (DRF's default would be a 404 for the page and a silent fallback for the size).
``page_size`` above ``settings.MAX_PAGE_SIZE`` (500) is capped to it.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.paginator import Page
from django.db.models import Count, Window
from rest_framework.pagination import PageNumberPagination

from .params import BadRequest, messages_of, parse_positive_int


class Pagination(PageNumberPagination):
    """``?page=N&page_size=M``; ``page_size`` is capped at ``settings.MAX_PAGE_SIZE``."""

    page_size_query_param = "page_size"
    max_page_size = settings.MAX_PAGE_SIZE
    page_query_description = "A page number (1, 2, …); past the last page is an error."
    _view = None

    @property
    def page_size_query_description(self):
        return (
            f"Rows per page (default {self.page_size}, at most {self.max_page_size}: larger "
            "values are capped)."
        )

    def _accepted(self, view):
        return view.accepted_parameters() if view is not None else ["page", "page_size"]

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw in (None, ""):
            return self.page_size
        try:
            return min(parse_positive_int(raw, "page_size"), self.max_page_size)
        except ValidationError as exc:
            raise BadRequest({"page_size": messages_of(exc)}, self._accepted(self._view))

    def check_parameters(self, request, view=None) -> tuple[int, int]:
        """``(page number, page size)``; raises :class:`BadRequest` naming a malformed one."""
        self._view = view
        page_size = self.get_page_size(request)
        raw = request.query_params.get(self.page_query_param)
        number = 1
        if raw not in (None, ""):
            try:
                number = parse_positive_int(raw, "page")
            except ValidationError as exc:
                raise BadRequest({"page": messages_of(exc)}, self._accepted(view))
        return number, page_size

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        number, page_size = self.check_parameters(request, view)
        paginator = self.django_paginator_class(queryset, page_size)
        self._check_number(number, paginator, view)
        return self._keep(paginator.page(number))

    def paginate_keys(self, queryset, request, view=None) -> list:
        """The page's primary keys, counted in the same query (``COUNT(*) OVER ()``): for
        lists whose filters cost something per row (status as of a date, coverage), the
        database evaluates them once instead of once for the count and again for the page.
        A page past the last, which returns no row to read the count from, costs one more
        query (the count). Raises :class:`BadRequest` like :meth:`paginate_queryset`."""
        self.request = request
        number, page_size = self.check_parameters(request, view)
        start = (number - 1) * page_size
        rows = list(
            queryset.annotate(_total=Window(Count("pk")))
            .values_list("pk", "_total")[start:start + page_size]
        )
        paginator = self.django_paginator_class(queryset, page_size)
        # Paginator.count is a cached property: give it the count the page query returned.
        paginator.__dict__["count"] = rows[0][1] if rows else queryset.count()
        self._check_number(number, paginator, view)
        return self._keep(Page([pk for pk, _ in rows], number, paginator))

    def _check_number(self, number: int, paginator, view) -> None:
        if number > paginator.num_pages:
            raise BadRequest(
                {"page": [f"Page {number} is past the last page ({paginator.num_pages})."]},
                self._accepted(view),
            )

    def _keep(self, page) -> list:
        self.page = page
        if page.paginator.num_pages > 1 and self.template is not None:
            self.display_page_controls = True
        return list(page)
