"""App configuration for the materialised coverage history (issue 12)."""
from django.apps import AppConfig


class SpansConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "spans"
    verbose_name = "Coverage over time (derived)"

    def ready(self):
        from . import signals

        signals.connect()
