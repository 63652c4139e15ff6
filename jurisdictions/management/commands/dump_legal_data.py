"""``manage.py dump_legal_data FILE``: every row of legal data and its history in one file
(see jurisdictions/dump.py for the format)."""

from django.core.management.base import BaseCommand

from jurisdictions import text
from jurisdictions.dump import dump


class Command(BaseCommand):
    help = (
        "Write all legal data (jurisdictions, memberships, sources, instruments, identifiers, "
        "amendment links, status events, criteria, assessments, events, citations) and its "
        "history to FILE (JSON Lines; gzip when FILE ends in .gz). Restore it with "
        "restore_legal_data."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=text.argument)
        parser.add_argument(
            "--no-history", action="store_true", help="Leave the history records out."
        )

    def handle(self, *args, file, no_history=False, **options):
        header = dump(file, with_history=not no_history)
        rows = sum(header["counts"].values())
        history = sum(header["history_counts"].values())
        self.stdout.write(f"{rows} rows and {history} history records written to {file}")
