"""``manage.py seed_synthetic --scale small``: the synthetic world-sized dataset (issue 6).

See ``jurisdictions/synthetic.py`` for the shape of the data and how it is marked as synthetic.
"""
from django.core.management.base import BaseCommand, CommandError

from jurisdictions import synthetic
from jurisdictions.models import Instrument
from jurisdictions.seed import sync_reference


class Command(BaseCommand):
    help = (
        "Load a deterministic synthetic dataset on top of the ISO reference data (every "
        "ISO 3166-2 subdivision): tiny=40, small=1,000, medium=10,000, large=100,000 "
        "instruments, with ~4 status events, 9 assessments and 2 sources each, every row cited "
        "and historised. For benchmarks: use a database of its own. Running it again at the "
        "same size does nothing; at another size it refuses."
    )

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=sorted(synthetic.SCALES, key=synthetic.SCALES.get),
                            default="small")
        parser.add_argument("--instruments", type=int, default=None,
                            help="Exact number of instruments (overrides --scale).")
        parser.add_argument("--seed", type=int, default=synthetic.SEED)
        parser.add_argument("--no-history", action="store_true",
                            help="Skip the historical rows (only to measure what they cost).")
        parser.add_argument("--allow-real-data", action="store_true",
                            help="Load even though the database holds real instruments.")

    def handle(self, *args, scale, instruments, seed, no_history, allow_real_data, **options):
        target = instruments if instruments is not None else synthetic.SCALES[scale]
        if target < 1:
            raise CommandError("--instruments must be at least 1.")
        verbose = options.get("verbosity", 1) >= 1

        existing = synthetic.synthetic_instruments().count()
        if existing == target:
            self.stdout.write(synthetic.LoadReport(existing, skipped=True).lines()[0])
            return
        if existing:
            raise CommandError(
                f"This database already holds {existing:,} synthetic instruments, not "
                f"{target:,}: another scale or an interrupted run. Load into a fresh database "
                "(DATABASE_URL=sqlite:///path/to/new.sqlite3 manage.py migrate first)."
            )
        if not allow_real_data and Instrument.objects.exists():
            raise CommandError(
                "This database holds real instruments: synthetic rows would be mixed with real "
                "data. Use a database of its own, or pass --allow-real-data."
            )

        report = sync_reference(all_subdivisions=True)
        if verbose:
            self.stdout.write("reference: " + report.lines()[0])
        result = synthetic.load(
            target, seed=seed, history=not no_history,
            progress=(lambda line: self.stdout.write("  " + line)) if verbose else None,
        )
        for line in result.lines():
            self.stdout.write(line)
