"""``manage.py load_seed``: reference jurisdictions, criteria and the research seed, idempotently."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from jurisdictions.seed import (
    RESEARCH_FIXTURE,
    SeedRowError,
    load_fixture,
    referenced_codes,
    sync_reference,
)


class Command(BaseCommand):
    help = (
        "Sync ISO 3166 jurisdictions, EU memberships and the default criteria, then load "
        "fixtures/research.json through model validation with history, creating the verifier "
        "accounts it names (not staff, no usable password). Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--fixture", default=str(RESEARCH_FIXTURE))
        parser.add_argument(
            "--skip-reference", action="store_true", help="Do not sync ISO reference data first."
        )

    def handle(self, *args, fixture, skip_reference, **options):
        path = Path(fixture)
        if not skip_reference:
            report = sync_reference(extra_codes=referenced_codes(path))
            self.stdout.write("reference: " + "; ".join(report.lines()[:1]))
        try:
            report = load_fixture(path)
        except SeedRowError as exc:
            raise CommandError(f"cannot load the seed, nothing was written: {exc}") from exc
        self.stdout.write(f"seed {path.name}:")
        for line in report.lines():
            self.stdout.write("  " + line)
