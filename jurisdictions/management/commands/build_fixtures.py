"""``manage.py build_fixtures``: research YAML files -> ``fixtures/research.json``."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from jurisdictions.seed import (
    DEFAULT_RESEARCH_FILES,
    RESEARCH_FIXTURE,
    ResearchError,
    build_fixture_objects,
    write_fixture,
)


class Command(BaseCommand):
    help = (
        "Build the seed fixture (natural keys) from the project's research files, "
        "research/*.yaml. Deterministic: the same files give the same fixture."
    )

    # Reads YAML and writes JSON only: no database, URLs or models need checking first.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="*", help="Research YAML files (default: research/*.yaml).")
        parser.add_argument("--output", default=str(RESEARCH_FIXTURE))

    def handle(self, *args, files, output, **options):
        paths = [Path(f) for f in files] or [p for p in DEFAULT_RESEARCH_FILES]
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise CommandError(f"research file(s) not found: {', '.join(missing)}")
        try:
            objects = build_fixture_objects(paths)
        except ResearchError as exc:
            raise CommandError(f"cannot build the fixture: {exc}") from exc
        except (ValueError, KeyError, StopIteration, LookupError) as exc:
            raise CommandError(f"cannot build the fixture: {exc!r}") from exc
        path = write_fixture(objects, Path(output))
        counts = {}
        for obj in objects:
            counts[obj["model"]] = counts.get(obj["model"], 0) + 1
        self.stdout.write(f"wrote {path} from {len(paths)} research file(s):")
        for label, n in counts.items():
            self.stdout.write(f"  {label}: {n}")
