"""Helpers for tests that drive the admin: URLs, a change form's POST data, its errors."""
from __future__ import annotations

import json

from django import forms
from django.urls import reverse


def url(model, view: str, *args) -> str:
    """The admin URL of ``view`` (changelist, add, change, delete, history) for ``model``."""
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def form_data(response) -> dict:
    """POST data reproducing an admin change form as rendered: the main form and every inline
    formset with its management form (unchanged extra rows are ignored by Django)."""
    data: dict = {}

    def add(form):
        for name, field in form.fields.items():
            bound = form[name]
            value = field.prepare_value(bound.value())
            if isinstance(field, forms.BooleanField):
                if value:
                    data[bound.html_name] = "on"
                continue
            if value is None:
                value = ""
            if isinstance(value, (list, tuple)):
                data[bound.html_name] = [str(v) for v in value]
            elif isinstance(value, (dict,)):
                data[bound.html_name] = json.dumps(value)
            else:
                data[bound.html_name] = str(value)

    add(response.context["adminform"].form)
    for inline in response.context.get("inline_admin_formsets") or []:
        formset = inline.formset
        for key, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{key}"] = str(value)
        for form in formset.forms:
            add(form)
    return data


def errors_of(response) -> str:
    """The form and formset errors of an admin page, for assertion messages."""
    if response.context is None or "adminform" not in response.context:
        return ""
    parts = [str(response.context["adminform"].form.errors)]
    for inline in response.context.get("inline_admin_formsets") or []:
        parts.append(str(inline.formset.errors) + str(inline.formset.non_form_errors()))
    return " ".join(parts)
