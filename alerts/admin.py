"""Staff views of the alerts: the outbox, webhooks with their deliveries, e-mail digests. Read
mostly: alerts are written by the edits that cause them, subscriptions by their owners."""
from django import forms
from django.contrib import admin
from django.db import models

from jurisdictions.text import CONTROL

from . import webhooks
from .models import Alert, Delivery, EmailSubscription, Subscription
from .targets import subscription_target


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["created_at", "title", "kind", "timing", "dispatched"]
    list_filter = ["kind", "timing", "dispatched"]
    search_fields = ["title", "jurisdiction__code", "instrument_slug"]
    list_select_related = ["jurisdiction"]
    readonly_fields = [f.name for f in Alert._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class SubscriptionForm(forms.ModelForm):
    """Staff editing a subscription meet the API's checks: its url the guard
    (:func:`webhooks.check_url`) and no control character, its target
    (:func:`subscription_target`, which also says its kind)."""

    class Meta:
        model = Subscription
        fields = "__all__"

    def clean_url(self):
        url = self.cleaned_data["url"]
        if url and CONTROL.search(url):
            raise forms.ValidationError("Contains a control character.")
        if url and "url" in self.changed_data:
            try:
                webhooks.check_url(url)
            except ValueError as error:
                raise forms.ValidationError(str(error)) from None
        return url

    def clean_target(self):
        target = self.cleaned_data["target"]
        if not {"target", "target_kind"} & set(self.changed_data):
            return target  # one whose key has gone since must not stop a pause or a new url
        found = subscription_target(target, forms.ValidationError)
        self._target_kind = found.kind
        return found.feed

    def clean(self):
        cleaned = super().clean()
        if hasattr(self, "_target_kind"):
            cleaned["target_kind"] = self._target_kind
        return cleaned


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ["url", "target", "user", "active", "failures", "disabled_at"]
    list_filter = ["active", "target_kind"]
    search_fields = ["url", "target", "user__username"]
    list_select_related = ["user"]
    readonly_fields = ["secret", "failures", "disabled_at", "disabled_reason", "created_at"]
    autocomplete_fields = ["user"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["key", "subscription", "state", "attempts", "next_attempt_at",
                    "delivered_at"]
    list_filter = ["state"]
    list_select_related = ["subscription"]
    readonly_fields = [f.name for f in Delivery._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(EmailSubscription)
class EmailSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["email", "target", "frequency", "confirmed_at", "unsubscribed_at"]
    list_filter = ["frequency"]
    search_fields = ["email", "target"]
    readonly_fields = ["token", "confirmed_at", "last_alert_id", "last_sent_at", "created_at"]
