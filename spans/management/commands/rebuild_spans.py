"""``manage.py rebuild_spans``: delete and re-derive every status and coverage span."""
import time

from django.core.management.base import BaseCommand

from spans.maintain import rebuild


class Command(BaseCommand):
    help = "Re-derive every instrument status span and coverage span from the rules, in one transaction."

    def handle(self, *args, **options):
        started = time.perf_counter()
        counts = rebuild()
        self.stdout.write(
            f"{counts['status_spans']} status spans, {counts['coverage_spans']} coverage spans "
            f"in {time.perf_counter() - started:.1f} s"
        )
