"""App configuration for the jurisdictions domain."""
from django.apps import AppConfig


class JurisdictionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "jurisdictions"
    verbose_name = "Legal data"
