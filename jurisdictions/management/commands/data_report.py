"""``manage.py data_report``: the data-quality report (summary, or ``--full`` / ``--json``), and
with ``--check`` the data lint (:mod:`jurisdictions.lint`) as a gate that fails on any finding."""
import datetime
import json

from django.core.management.base import BaseCommand, CommandError

from jurisdictions import lint
from jurisdictions.quality import build_report, summary_lines


class Command(BaseCommand):
    help = (
        "Report research status by bloc and region, instruments without a primary source, stale "
        "assessments, status events dated only on_or_before, possible source conflicts and the "
        "data lint's counts. --check prints every row the lint finds and fails when there is one."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="ISO date the report answers for (default today).")
        parser.add_argument("--stale-days", type=int, help="Staleness limit in days.")
        parser.add_argument("--json", action="store_true", help="The whole report as JSON.")
        parser.add_argument("--full", action="store_true", help="List every row, not counts only.")
        parser.add_argument(
            "--check", action="store_true",
            help="Run the data lint only: print each offending row, exit non-zero if any.",
        )

    def handle(self, *args, as_of, stale_days, json: bool, full: bool, check: bool, **options):
        try:
            today = datetime.date.fromisoformat(as_of) if as_of else None
        except ValueError as exc:
            raise CommandError(f"--as-of: {exc}") from exc
        if stale_days is not None and stale_days < 0:
            raise CommandError("--stale-days must be 0 or more")
        if check:
            findings = lint.lint(today)
            for finding in findings:
                self.stdout.write(finding.line())
            if findings:
                by_rule = ", ".join(f"{rule} {n}" for rule, n in lint.counts(findings).items() if n)
                raise CommandError(f"data lint: {len(findings)} offending rows ({by_rule})")
            self.stdout.write("data lint: no offending rows")
            return
        report = build_report(today, stale_days)
        if json:
            self.stdout.write(_json.dumps(report, indent=2, ensure_ascii=False))
            return
        for line in summary_lines(report):
            self.stdout.write(line)
        self.stdout.write("Research status by UN M49 region (countries):")
        for region, counts in report["research_status_by_region"].items():
            self.stdout.write(
                f"  {region}: {counts['reviewed']}/{counts['total']} reviewed, "
                f"{counts['in_progress']} in progress, {counts['not_researched']} not researched"
            )
        self.stdout.write("Research status by group (members as of the report's date):")
        for group, counts in report["research_status_by_group"].items():
            self.stdout.write(
                f"  {group}: {counts['reviewed']}/{counts['total']} reviewed, "
                f"{counts['in_progress']} in progress, {counts['not_researched']} not researched"
            )
        if full:
            for section in (
                "instruments_without_primary_source",
                "status_events_on_or_before",
                "status_events_never_verified",
                "possible_conflicts",
                "control_characters",
            ):
                self.stdout.write(f"{section}:")
                for row in report[section]:
                    self.stdout.write("  " + _json.dumps(row, ensure_ascii=False))
            self.stdout.write("lint:")
            for row in report["lint"]["findings"]:
                self.stdout.write("  " + _json.dumps(row, ensure_ascii=False))


_json = json
