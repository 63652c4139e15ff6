"""The admin site: Django's, with one guard around every admin view (issue 11).

Every view of the admin — each model admin's (Django's, django-simple-history's,
django-import-export's, the auth, token and axes admins'), the autocomplete, the data-quality
report — is built through :meth:`AdminSite.admin_view`, so the guard there holds for all of them:

- a query parameter holding a control character (the text policy, ``jurisdictions.text``) is a
  400 naming it, before a list filter, a search or an autocomplete sends it to the database
  (PostgreSQL cannot even compare a text holding NUL), and so is a list filter's value that
  its integer column cannot hold (``abc``, a number beyond the column's range);
- an object id or history record id in the path that is not a valid key of its model (``abc``,
  ``1.5``, a number beyond the column's range, a control character) is a 404; a row selected
  for an action (``_selected_action``) by such a key is a 400.

Installed as the default site (``AdminConfig.default_site``), so ``admin.site`` is this one.
"""

from __future__ import annotations

import functools
import inspect

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import NotRelationField, get_fields_from_path, unquote
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.http import Http404, HttpResponseBadRequest

from jurisdictions import text

# Path arguments naming a row: the model's own key (``id`` in the auth admin's password
# page), or (django-simple-history) a history record's key.
OBJECT_IDS = ("object_id", "id")
HISTORY_IDS = ("version_id", "history_id")


def key_field(model, argument: str):
    """The model field whose key ``argument`` carries, or None when it names no row."""
    if argument in OBJECT_IDS:
        return model._meta.pk
    if argument in HISTORY_IDS:
        history = getattr(model._meta, "simple_history_manager_attribute", None)
        if history:
            return getattr(model, history).model._meta.pk
    return None


def is_valid_key(field, value: str) -> bool:
    """Whether ``value`` (as quoted in an admin URL) is a possible value of the key
    ``field``, within the column's range on this database."""
    value = unquote(value)
    if text.CONTROL.search(value):
        return False
    try:
        field.run_validators(field.to_python(value))
    except (ValidationError, ValueError, TypeError):
        return False
    return True


LOOKUPS = {"exact", "iexact", "in", "gt", "gte", "lt", "lte", "isnull", "range"}


def lookup_field(model, parameter: str):
    """The model field a list-filter ``parameter`` compares (``criterion__exact``: the
    criterion's key; ``groups__in``: a group's key), and its lookup; ``(None, None)`` for a
    parameter that is not a field lookup (a ``SimpleListFilter``'s, the search)."""
    parts = parameter.split("__")
    lookup = parts.pop() if len(parts) > 1 and parts[-1] in LOOKUPS else "exact"
    try:
        field = get_fields_from_path(model, "__".join(parts))[-1]
    except (FieldDoesNotExist, NotRelationField, AttributeError):
        return None, None
    if field.is_relation:
        field = field.target_field
    return field, lookup


def bad_filter_values(model, params) -> list[str]:
    """The list-filter parameters in ``params`` whose value is not a possible value of the
    integer column they compare (``abc``, a number beyond the column's range, which SQLite
    and PostgreSQL would refuse with an error rather than match nothing)."""
    bad = []
    for name, values in params.lists():
        field, lookup = lookup_field(model, name)
        if not isinstance(field, models.IntegerField) or lookup in ("isnull", "iexact"):
            continue
        items = [v for value in values for v in value.split(",")] if lookup in (
            "in", "range") else values
        if any(not is_valid_key(field, item) for item in items if item != ""):
            bad.append(name)
    return bad


class AdminSite(admin.AdminSite):
    def admin_view(self, view, cacheable=False):
        model = getattr(getattr(view, "__self__", None), "model", None)
        # django-simple-history routes its record page with positional arguments.
        try:
            names = [p for p in inspect.signature(view).parameters if p != "request"]
        except (TypeError, ValueError):  # a callable without a signature
            names = []

        @functools.wraps(view)
        def guarded(request, *args, **kwargs):
            bad = sorted(
                name for name, values in request.GET.lists()
                if text.CONTROL.search(name) or any(text.CONTROL.search(v) for v in values)
            )
            if bad:
                shown = ", ".join(repr(text.CONTROL.sub(text.REPLACEMENT, n)) for n in bad)
                return HttpResponseBadRequest(
                    f"The parameter(s) {shown} contain a control character.",
                    content_type="text/plain; charset=utf-8",
                )
            if model is not None:
                given = {**dict(zip(names, args)), **kwargs}
                for argument, value in given.items():
                    field = key_field(model, argument)
                    if field is not None and not is_valid_key(field, str(value)):
                        raise Http404(f"{value!r} is not a key of {model._meta.verbose_name}.")
                selected = request.POST.getlist(ACTION_CHECKBOX_NAME) \
                    if request.method == "POST" else []
                if any(not is_valid_key(model._meta.pk, value) for value in selected):
                    return HttpResponseBadRequest(
                        f"The selected rows ({ACTION_CHECKBOX_NAME}) name keys that no "
                        f"{model._meta.verbose_name} can have.",
                        content_type="text/plain; charset=utf-8",
                    )
                bad = bad_filter_values(model, request.GET)
                if bad:
                    return HttpResponseBadRequest(
                        f"The parameter(s) {', '.join(map(repr, bad))} do not hold a possible "
                        "value of the column they filter.",
                        content_type="text/plain; charset=utf-8",
                    )
            return view(request, *args, **kwargs)

        return super().admin_view(guarded, cacheable)


class AdminConfig(DjangoAdminConfig):
    default_site = "lawtracker.admin_site.AdminSite"
