"""``manage.py check_spans``: compare the stored spans with the rules; exit 1 on any difference."""
import time

from django.core.management.base import BaseCommand, CommandError

from spans.check import differences


class Command(BaseCommand):
    help = (
        "Compare the stored status and coverage spans with a fresh derivation and with the "
        "request-time rules (coverage.compute, the SQL status rule); non-zero exit on any "
        "difference."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--sample", type=int, default=None,
            help="Check this many jurisdictions drawn at random (default: all).",
        )
        parser.add_argument("--seed", type=int, default=0, help="Random seed of --sample.")

    def handle(self, *args, sample, seed, **options):
        if sample is not None and sample < 1:
            raise CommandError("--sample must be a positive number.")
        started = time.perf_counter()
        found = differences(sample=sample, seed=seed)
        for line in found:
            self.stderr.write(line)
        seconds = time.perf_counter() - started
        if found:
            raise CommandError(f"check_spans: the spans differ from the rules ({seconds:.1f} s)")
        self.stdout.write(f"check_spans: no difference ({seconds:.1f} s)")
