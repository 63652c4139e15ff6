"""App configuration for alerts (issue 14): the outbox of coverage changes and legal steps,
their Atom feeds and signed webhooks."""
from django.apps import AppConfig


class AlertsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self):
        from . import outbox

        outbox.connect()
