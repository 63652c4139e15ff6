"""``manage.py sync_jurisdictions``: jurisdictions from ISO 3166 (pycountry), idempotently."""
from django.core.management.base import BaseCommand, CommandError

from jurisdictions import reference
from jurisdictions.seed import sync_reference


class Command(BaseCommand):
    help = (
        "Create or update every ISO 3166-1 country, the ISO 3166-2 subdivisions of the given "
        "countries, EU/UN/COE, EU memberships and the default criteria; report what changed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--subdivisions",
            default=",".join(reference.DEFAULT_SUBDIVISION_COUNTRIES),
            help="Comma-separated ISO 3166-1 codes whose subdivisions to sync (default %(default)s).",
        )
        parser.add_argument(
            "--all-subdivisions", action="store_true", help="Sync every ISO 3166-2 subdivision."
        )
        parser.add_argument(
            "--extra", default="", help="Comma-separated extra subdivision codes (JP-31)."
        )

    def handle(self, *args, subdivisions, all_subdivisions, extra, **options):
        countries = [c.strip().upper() for c in subdivisions.split(",") if c.strip()]
        extras = [c.strip().upper() for c in extra.split(",") if c.strip()]
        try:
            report = sync_reference(countries, all_subdivisions, extras)
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        for line in report.lines():
            self.stdout.write(line)
