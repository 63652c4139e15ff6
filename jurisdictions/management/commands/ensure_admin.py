"""``manage.py ensure_admin``: make sure a local administrator account exists.

Creates the superuser ``admin`` (or ``--username``) with a freshly generated password, printed
once, when no superuser exists yet. Never sets a fixed default password; run it again and it
only reports that an administrator exists.
"""
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from jurisdictions import text


class Command(BaseCommand):
    help = "Create a local superuser with a generated password (printed once) if none exists."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin", type=text.argument)
        parser.add_argument("--email", default="admin@localhost", type=text.argument)

    def handle(self, *args, username, email, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("An administrator account already exists; password unchanged.")
            return
        password = secrets.token_urlsafe(18)
        User.objects.create_superuser(username=username, email=email, password=password)
        self.stdout.write(
            self.style.SUCCESS(
                f"Created administrator '{username}' with password: {password}\n"
                "It is shown only this once: note it now (change it at /admin/password_change/)."
            )
        )
