"""An independent picture of the legal data, for the dump tests (tests/test_dump.py).

Built with Django's own serializer over every model of the app and every field, the rows' own
primary keys included, relations by natural key: it shares nothing with ``jurisdictions/dump.py`` (its model order, natural keys and
encoder), so a bug there cannot hide in the comparison. Importable by ``manage.py shell`` too.
"""
from __future__ import annotations

import json

from django.apps import apps
from django.contrib.auth import get_user_model
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


def _dump_order():
    # Deleting children before parents: the dumper's order is the only one at hand (it is not
    # under test here: a wrong order fails loudly on a foreign key, never silently).
    from jurisdictions import dump as legal_dump

    return legal_dump.legal_models()


def wipe():
    """Empty every legal and history table (no signals, no history) and drop the accounts:
    the state of a freshly migrated database (the derived coverage spans and the alerts that
    point at legal rows included)."""
    from django.apps import apps

    from alerts.models import Alert, Delivery, DeliveryAttempt, EmailSubscription, Subscription

    for model in [*apps.get_app_config("spans").get_models(), DeliveryAttempt, Delivery, Alert,
                  Subscription, EmailSubscription]:
        model._default_manager.all()._raw_delete(model.objects.db)
    for model in reversed(_dump_order()):
        model.history.model.objects.all()._raw_delete(model.objects.db)
        model._default_manager.all()._raw_delete(model.objects.db)
    get_user_model().objects.all().delete()


def history_snapshot():
    """Every historical record: its key, row, kind, reason, version, date and the usernames of
    the accounts it names (author, verifier, reviewer)."""
    result = {}
    for model in legal_models():
        history = model.history.model
        accounts = [f"{f.name}__username" for f in history._meta.concrete_fields
                    if f.is_relation and f.related_model is get_user_model()]
        assert "history_user__username" in accounts
        result[model._meta.label_lower] = sorted(
            (r["history_id"], r["id"], r["history_type"], r["history_change_reason"] or "",
             r["version"], r["history_date"].isoformat(),
             r["history_user__username"] or "",
             tuple(r[a] or "" for a in accounts))
            for r in history.objects.values(
                "history_id", "id", "history_type", "history_change_reason", "version",
                "history_date", *accounts,
            )
        )
    return result


def keys():
    return {m._meta.label_lower: sorted(m._default_manager.values_list("pk", flat=True))
            for m in legal_models()}
