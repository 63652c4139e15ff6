"""The pages of the e-mail digests: confirm a sign-up, unsubscribe (RFC 8058 one-click).

Both act on POST only (a mail scanner that follows links must not confirm or unsubscribe
anyone); the GET shows a button. They are exempt from CSRF: the secret token in the address is
what authorises them, and RFC 8058's one-click POST comes from a mail client without a form."""

from __future__ import annotations

from django.http import HttpResponse, HttpResponseNotFound
from django.utils.html import format_html
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import digests

PAGE = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>"
        "<body><main><h1>{}</h1><p>{}</p>{}</main></body></html>")


def _page(title: str, text: str, button: str = "", status: int = 200) -> HttpResponse:
    form = format_html("<form method=\"post\"><button type=\"submit\">{}</button></form>",
                       button) if button else ""
    return HttpResponse(format_html(PAGE, title, title, text, form), status=status)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def confirm(request, token: str):
    if request.method == "GET":
        return _page("Confirm your alert digest",
                     "Press Confirm to receive the digest you asked for.", "Confirm")
    if digests.confirm(token) is None:
        return HttpResponseNotFound("No such sign-up.")
    return _page("Subscribed", "Your digest is confirmed. Every digest has a one-click "
                               "unsubscribe link.")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    if request.method == "GET":
        return _page("Unsubscribe", "Press Unsubscribe to stop this digest.", "Unsubscribe")
    if not digests.unsubscribe(token):
        return HttpResponseNotFound("No such subscription.")
    return _page("Unsubscribed", "You will receive no more of this digest.")
