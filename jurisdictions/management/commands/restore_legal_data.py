"""``manage.py restore_legal_data FILE``: restore a dump of dump_legal_data into an empty
database, all or nothing (see jurisdictions/dump.py)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from jurisdictions import text
from jurisdictions.dump import DumpError, restore


class Command(BaseCommand):
    help = (
        "Restore FILE (made by dump_legal_data) into a migrated database whose legal and "
        "history tables are empty. Every restored row also gets a history record of the "
        "restore."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=text.argument)
        parser.add_argument("--user", type=text.argument,
                            help="Username recorded as the author of the restore.")
        parser.add_argument("--reason", type=text.argument,
                            help="Reason recorded in the history (max 100 chars).")

    def handle(self, *args, file, user=None, reason=None, **options):
        account = None
        if user:
            User = get_user_model()
            account = User._default_manager.filter(**{User.USERNAME_FIELD: user}).first()
            if account is None:
                raise CommandError(f"No user named {user!r}.")
        try:
            report = restore(file, user=account, reason=reason)
        except (DumpError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        for line in report.lines():
            self.stdout.write(line)
