"""``dump_legal_data`` and ``restore_legal_data`` (issue 4): a round trip into an empty database
loses nothing — every legal row compared field by field, primary keys included — keeps primary
keys, versions, timestamps and the history, and gives every restored row a history record.

The comparison is independent of the dumper (tests/snapshots.py: Django's serializer over every
model of the app), and the seed's round trip also checks literal values from the seed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from jurisdictions import dump as legal_dump
from jurisdictions.models import (
    Instrument,
    Jurisdiction,
)
from tests import factories as F
from tests.factories import add_editorial_data
from tests.snapshots import rows_snapshot, wipe

pytestmark = pytest.mark.django_db

REPO = Path(settings.BASE_DIR)


def test_restore_refuses_a_database_that_is_not_empty(tmp_path):
    F.instrument("KR", slug="kr-act")
    path = tmp_path / "legal.jsonl"
    legal_dump.dump(path)
    before = rows_snapshot()
    with pytest.raises(CommandError, match="restores into an empty database"):
        call_command("restore_legal_data", str(path))
    assert rows_snapshot() == before


def test_restore_refuses_a_truncated_file_and_writes_nothing(tmp_path):
    F.instrument("KR", slug="kr-act")
    path = tmp_path / "legal.jsonl"
    legal_dump.dump(path)
    lines = path.read_text().splitlines()
    (tmp_path / "cut.jsonl").write_text("\n".join(lines[:-3]) + "\n")
    wipe()
    with pytest.raises(CommandError, match="the file is incomplete"):
        call_command("restore_legal_data", str(tmp_path / "cut.jsonl"))
    assert not Jurisdiction.objects.exists() and not Jurisdiction.history.exists()

    (tmp_path / "other.json").write_text('{"hello": 1}\n')
    with pytest.raises(CommandError, match="is not a lawtracker dump"):
        call_command("restore_legal_data", str(tmp_path / "other.json"))


@pytest.mark.parametrize("column,where", [("title", "row"), ("instrument", "key")])
def test_restore_refuses_a_control_character_and_writes_nothing(tmp_path, column, where):
    """Raw inserts skip save(): the restore applies the text policy (issue 11) to every row,
    to the keys of its relations before they are looked up (PostgreSQL refuses NUL in any
    lookup), and writes nothing."""
    instrument = F.instrument("KR", slug="kr-act")
    F.event(instrument, "introduced", "2024-01-02")
    path = tmp_path / "legal.jsonl"
    legal_dump.dump(path)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    model = "jurisdictions.instrument" if where == "row" else "jurisdictions.statusevent"
    row = next(r for r in records if r.get("type") == "row" and r["model"] == model)
    row["fields"][column] = (["kr-act\x00"] if where == "key" else "An act\x00")
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    wipe()
    with pytest.raises(CommandError, match=r"line \d+: .*U\+0000"):
        call_command("restore_legal_data", str(path))
    assert not Jurisdiction.objects.exists() and not Jurisdiction.history.exists()


def test_dump_without_history_restores_rows_with_a_restore_record_each(tmp_path):
    act = F.instrument("KR", slug="kr-act")
    path = tmp_path / "legal.jsonl"
    call_command("dump_legal_data", str(path), "--no-history")
    before = rows_snapshot()
    wipe()
    call_command("restore_legal_data", str(path), "--reason", "disaster recovery drill")
    assert rows_snapshot() == before
    record = Instrument.history.get(id=act.pk)
    assert (record.history_type, record.history_change_reason) == (
        "+", "disaster recovery drill",
    )


def test_restore_into_a_freshly_migrated_database(tmp_path):
    """The real thing: another database, created by ``migrate`` and nothing else."""
    add_editorial_data()
    path = tmp_path / "legal.jsonl"
    legal_dump.dump(path)
    expected = rows_snapshot()

    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        "DEBUG": "1",
    }

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True,
            text=True, check=True,
        ).stdout

    manage("migrate", "--noinput", "-v0")
    manage("restore_legal_data", str(path))
    printed = manage(
        "shell", "-c",
        "import json; from tests.snapshots import rows_snapshot; "
        "print(json.dumps(rows_snapshot()))",
    )
    assert json.loads(printed.strip().splitlines()[-1]) == expected
