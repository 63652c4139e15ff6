"""``dump_legal_data`` and ``restore_legal_data`` (issue 4): a round trip into an empty database
loses nothing — every legal row compared field by field by natural key — keeps primary keys,
versions, timestamps and the history, and gives every restored row a history record."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from jurisdictions import dump as legal_dump
from jurisdictions import editorial
from jurisdictions.models import (
    Assessment,
    BlocMembership,
    Event,
    EventJurisdiction,
    EventSource,
    Identifier,
    Instrument,
    InstrumentAmendment,
    Jurisdiction,
    Source,
)
from tests import factories as F

pytestmark = pytest.mark.django_db

REPO = Path(settings.BASE_DIR)


def add_editorial_data():
    """Rows the seed does not have: verification and review by named accounts, an event with
    figures, identifiers, an amendment link, a deleted row, edits with reasons."""
    User = get_user_model()
    rita = User.objects.create_user("rita", first_name="Rita", email="rita@example.org")
    ana = User.objects.create_user("ana")
    kr = F.jurisdiction("KR")
    kr.research_status, kr.last_reviewed_on = "reviewed", datetime.date(2026, 1, 2)
    kr.reviewed_by = rita
    editorial.stamp(kr, rita, "reviewed").save()
    old = F.instrument("KR", slug="zz-old-act", title="Old act")
    new = F.instrument("KR", slug="zz-new-act", title="New act", summary="São Paulo ünïcode")
    InstrumentAmendment.objects.create(amending=new, amended=old)
    Identifier.objects.create(instrument=new, scheme="national", value="No. 20459")
    answer = F.assessment(new, "possession", "partial", pinpoint="s. 1")
    answer.verified_on, answer.verified_by = datetime.date(2026, 1, 3), rita
    editorial.stamp(answer, ana, "checked").save()
    event = Event.objects.create(
        slug="zz-operation", date=datetime.date(2025, 2, 1), date_precision="month",
        title="Operation", kind="enforcement_operation", figures={"arrests": 25, "rate": 0.5},
    )
    EventJurisdiction.objects.create(event=event, jurisdiction=kr)
    EventSource.objects.create(event=event, source=F.source())
    gone = F.source(url="https://example.org/gone")
    editorial.stamp(gone, ana, "duplicate").delete()


def wipe():
    """Empty every legal and history table (no signals, no history) and drop the accounts:
    the state of a freshly migrated database."""
    for model in reversed(legal_dump.legal_models()):
        model.history.model.objects.all()._raw_delete(model.objects.db)
        model._default_manager.all()._raw_delete(model.objects.db)
    get_user_model().objects.all().delete()


def history_snapshot():
    """Every historical record: its key, row, kind, reason, version, date and the usernames of
    the accounts it names (author, verifier, reviewer)."""
    result = {}
    for model in legal_dump.legal_models():
        history = model.history.model
        accounts = [f"{f.name}__username" for f in history._meta.concrete_fields
                    if f.is_relation and f.related_model is get_user_model()]
        assert "history_user__username" in accounts
        result[model._meta.label_lower] = sorted(
            (r["history_id"], r["id"], r["history_type"], r["history_change_reason"] or "",
             r["version"], r["history_date"].isoformat(),
             r["history_user__username"] or "",
             tuple(r[a] or "" for a in accounts))
            for r in history.objects.values(
                "history_id", "id", "history_type", "history_change_reason", "version",
                "history_date", *accounts,
            )
        )
    return result


def keys():
    return {m._meta.label_lower: sorted(m._default_manager.values_list("pk", flat=True))
            for m in legal_dump.legal_models()}


def test_restore_refuses_a_database_that_is_not_empty(tmp_path):
    F.instrument("KR", slug="kr-act")
    path = tmp_path / "legal.jsonl"
    legal_dump.dump(path)
    before = legal_dump.snapshot()
    with pytest.raises(CommandError, match="restores into an empty database"):
        call_command("restore_legal_data", str(path))
    assert legal_dump.snapshot() == before


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
    before = legal_dump.snapshot()
    wipe()
    call_command("restore_legal_data", str(path), "--reason", "disaster recovery drill")
    assert legal_dump.snapshot() == before
    record = Instrument.history.get(id=act.pk)
    assert (record.history_type, record.history_change_reason) == (
        "+", "disaster recovery drill",
    )


def test_restore_into_a_freshly_migrated_database(tmp_path):
    """The real thing: another database, created by ``migrate`` and nothing else."""
    add_editorial_data()
    path = tmp_path / "legal.jsonl"
    legal_dump.dump(path)
    expected = legal_dump.snapshot()

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
        "import json; from jurisdictions.dump import snapshot; print(json.dumps(snapshot()))",
    )
    assert json.loads(printed.strip().splitlines()[-1]) == expected


# Last in the module: the seed, once loaded, stays for the rest of the module.
def test_round_trip_of_the_real_seed_loses_nothing(seeded, tmp_path, capsys):
    add_editorial_data()
    before, before_keys, before_history = legal_dump.snapshot(), keys(), history_snapshot()
    assert len(before["jurisdictions.instrument"]) > 100
    assert all(before.values()), "every legal table has rows"

    path = tmp_path / "legal.jsonl.gz"
    call_command("dump_legal_data", str(path))
    assert "rows and" in capsys.readouterr().out

    wipe()
    assert Instrument.objects.count() == 0 and not Instrument.history.exists()
    restorer = get_user_model().objects.create_user("ops")
    call_command("restore_legal_data", str(path), "--user", "ops")
    out = capsys.readouterr().out
    assert "inactive accounts created: ana, rita" in out

    assert legal_dump.snapshot() == before
    assert keys() == before_keys
    # The dumped history is back, and every row has one more record: its restore.
    after_history = history_snapshot()
    for label, records in before_history.items():
        restored = [r for r in after_history[label] if r not in records]
        assert len(restored) == len(before[label]), label
        assert {(r[2], r[6]) for r in restored} <= {("+", "ops")}
        assert all(r[3].startswith("restore_legal_data legal.jsonl.gz") for r in restored)
        assert set(records) <= set(after_history[label]), label

    rita = get_user_model().objects.get(username="rita")
    assert (rita.is_active, rita.has_usable_password(), rita.email) == (
        False, False, "rita@example.org",
    )
    answer = Assessment.objects.get(instrument__slug="zz-new-act")
    assert (answer.verified_by, answer.version) == (rita, 2)
    assert Event.objects.get(slug="zz-operation").figures == {"arrests": 25, "rate": 0.5}
    assert Source.history.filter(url="https://example.org/gone", history_type="-").exists()
    assert restorer.pk

    # New rows continue after the restored keys (sequences reset on PostgreSQL).
    Source.objects.create(url="https://example.org/after-restore")
    BlocMembership.objects.create(
        bloc=Jurisdiction.objects.get(code="EU"), member=Jurisdiction.objects.get(code="KR"),
        start_date=datetime.date(2030, 1, 1),
    )
