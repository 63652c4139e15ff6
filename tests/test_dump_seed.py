"""``dump_legal_data`` and ``restore_legal_data`` on the real seed: a round trip loses nothing
(compared with tests/snapshots.py, independent of the dumper, and literal seed values). A
module of its own: ``seeded`` keeps the seed loaded until the module ends."""
from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.core.management import call_command

from jurisdictions.models import (
    Assessment,
    BlocMembership,
    Event,
    Instrument,
    Jurisdiction,
    Source,
)
from tests.factories import add_editorial_data
from tests.snapshots import history_snapshot, keys, rows_snapshot, wipe


def test_round_trip_of_the_real_seed_loses_nothing(seeded, tmp_path, capsys):
    add_editorial_data()
    before, before_keys, before_history = rows_snapshot(), keys(), history_snapshot()
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
    assert "inactive accounts created: ana, research-review, rita" in out

    assert rows_snapshot() == before
    assert keys() == before_keys
    # The dumped history is back, and every row has one more record: its restore.
    after_history = history_snapshot()
    for label, records in before_history.items():
        restored = [r for r in after_history[label] if r not in records]
        assert len(restored) == len(before[label]), label
        assert {(r[2], r[6]) for r in restored} <= {("+", "ops")}
        assert all(r[3].startswith("restore_legal_data legal.jsonl.gz") for r in restored)
        assert set(records) <= set(after_history[label]), label

    # Literal values of the seed, read back after the restore.
    kr = Jurisdiction.objects.get(code="KR")
    assert (kr.name, kr.research_status) == ("Korea, Republic of", "reviewed")
    deepfakes = Instrument.objects.get(slug="kr-sexual-crimes-punishment-act-art-14-2-amendment")
    assert deepfakes.short_name == "Sexual Crimes Punishment Act, art. 14-2 amendment"
    assert deepfakes.jurisdiction == kr
    assert Assessment.objects.get(instrument=deepfakes,
                                  criterion__slug="ai_generated_explicit").value == "yes"
    assert Jurisdiction.objects.get(code="GB").bloc_memberships.get(bloc__code="EU").end_date == (
        datetime.date(2020, 1, 31))

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
