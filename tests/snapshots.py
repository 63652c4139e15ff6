"""An independent picture of the legal data, for the dump tests (tests/test_dump.py).

Built with Django's own serializer over every model of the app and every field, the rows' own
primary keys included, relations by natural key: it shares nothing with ``jurisdictions/dump.py`` (its model order, natural keys and
encoder), so a bug there cannot hide in the comparison. Importable by ``manage.py shell`` too.
"""
from __future__ import annotations

import json

from django.apps import apps
from django.core import serializers


def legal_models() -> list:
    """Every model of the ``jurisdictions`` app except the history copies."""
    return sorted(
        (m for m in apps.get_app_config("jurisdictions").get_models()
         if not m.__name__.startswith("Historical")),
        key=lambda m: m._meta.label_lower,
    )


def rows_snapshot() -> dict[str, list[str]]:
    """``{model label: [JSON of each row with its pk and every field, sorted]}``."""
    result = {}
    for model in legal_models():
        # Accounts by username: a restore recreates them under new primary keys.
        records = serializers.serialize("python", model._default_manager.order_by("pk"),
                                        use_natural_foreign_keys=True)
        result[model._meta.label_lower] = [
            json.dumps({"pk": r["pk"], **r["fields"]}, sort_keys=True, default=str)
            for r in records
        ]
    return result
