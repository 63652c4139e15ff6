"""``manage.py rebuild_spans``: delete and re-derive every status and coverage span."""
import time

from django.core.management.base import BaseCommand

from spans.maintain import rebuild


class Command(BaseCommand):
    help = "Re-derive every instrument status span and coverage span from the rules, in one transaction."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true",
            help="Only when there are instruments and no span yet (a database migrated before "
            "the spans existed).",
        )

    def handle(self, *args, if_empty, **options):
        from jurisdictions.models import Instrument
        from spans.models import CoverageSpan

        if if_empty and (CoverageSpan.objects.exists() or not Instrument.objects.exists()):
            self.stdout.write("spans present (or nothing to derive): not rebuilt")
            return
        started = time.perf_counter()
        counts = rebuild()
        self.stdout.write(
            f"{counts['status_spans']} status spans, {counts['coverage_spans']} coverage spans "
            f"in {time.perf_counter() - started:.1f} s"
        )
