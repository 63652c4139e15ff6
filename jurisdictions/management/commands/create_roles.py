"""``manage.py create_roles``: create or refresh the editorial groups (jurisdictions/roles.py)."""

from django.core.management.base import BaseCommand

from jurisdictions.roles import sync_roles


class Command(BaseCommand):
    help = (
        "Create the groups editor, reviewer and read_only_staff, or reset their permissions to "
        "the roles' (idempotent; migration 0004 runs the same code)."
    )

    def handle(self, *args, **options):
        for role, count in sync_roles().items():
            self.stdout.write(f"{role}: {count} permissions")
