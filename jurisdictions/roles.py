"""Editorial roles as Django groups (issue 4): who may change legal data, and who may vouch
for it.

- ``editor``: view, add and change every kind of legal row, and delete where nothing depends on
  the row (``PROTECT`` refuses the rest; criteria are never deleted, they are retired).
- ``reviewer``: everything an editor may do, and marking answers verified
  (``jurisdictions.verify_assessment``: ``verified_on``/``verified_by``) and jurisdictions
  reviewed (``jurisdictions.review_jurisdiction``: ``last_reviewed_on``/``reviewed_by``).
- ``read_only_staff``: view only (the admin shows every page read-only).

A group gives permissions only: an account also needs ``is_staff`` to open ``/admin/``. The API
needs no ``is_staff``: an authenticated account with the model permission may write there.

The groups are created by migration ``0004_editorial_roles`` and kept in step by
``manage.py create_roles`` (idempotent: run it after adding a model).
"""

from __future__ import annotations

EDITOR = "editor"
REVIEWER = "reviewer"
READ_ONLY_STAFF = "read_only_staff"
ROLES = (EDITOR, REVIEWER, READ_ONLY_STAFF)

# The legal data: every model of the app except simple_history's historical copies (history is
# written by the application, never edited by hand).
APP_LABEL = "jurisdictions"
VERIFY_PERMISSIONS = ("verify_assessment", "review_jurisdiction")


def legal_models(apps) -> list:
    """The models of legal data in ``apps`` (the live registry or a migration's state)."""
    return [
        model
        for model in apps.get_app_config(APP_LABEL).get_models()
        if not model.__name__.startswith("Historical")
    ]


def role_codenames(apps) -> dict[str, set[str]]:
    """``{role: {permission codename, …}}`` (all in the ``jurisdictions`` app)."""
    view, edit = set(), set()
    for model in legal_models(apps):
        name = model._meta.model_name
        view.add(f"view_{name}")
        edit |= {f"add_{name}", f"change_{name}", f"delete_{name}"}
    return {
        READ_ONLY_STAFF: view,
        EDITOR: view | edit,
        REVIEWER: view | edit | set(VERIFY_PERMISSIONS),
    }


def sync_roles(apps=None, using: str = "default", verbosity: int = 0) -> dict[str, int]:
    """Create the groups if missing and set each one's permissions to exactly its role's.

    ``apps``: a migration's app registry, or None for the live one. Permissions that do not
    exist yet are created first (in a fresh database they appear only after ``migrate`` ends).
    Returns ``{role: number of permissions}``. Raises ``LookupError`` if a permission is still
    missing afterwards.
    """
    from django.contrib.auth.management import create_permissions

    if apps is None:
        from django.apps import apps as live_apps

        apps = live_apps
    for label in ("auth", "contenttypes", APP_LABEL):
        config = apps.get_app_config(label)
        # A migration's app configs have no models module, and create_permissions skips
        # such apps: mark it present for the call.
        models_module = getattr(config, "models_module", None)
        config.models_module = models_module or True
        try:
            create_permissions(config, verbosity=0, apps=apps, using=using)
        finally:
            config.models_module = models_module

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    result = {}
    for role, codenames in role_codenames(apps).items():
        permissions = list(
            Permission.objects.using(using).filter(
                content_type__app_label=APP_LABEL, codename__in=codenames
            )
        )
        missing = codenames - {p.codename for p in permissions}
        if missing:
            raise LookupError(f"permissions not found for {role}: {sorted(missing)}")
        group, _ = Group.objects.using(using).get_or_create(name=role)
        group.permissions.set(permissions)
        result[role] = len(permissions)
    return result
