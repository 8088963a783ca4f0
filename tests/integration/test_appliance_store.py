"""The appliance journal: what was saved comes back, a torn last line is survived, damage is
named, and the file stays small."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.engine.appliance_store import ApplianceRecord, ApplianceStore
from tui.engine.errors import RacError
from tui.engine.states import Mode


def test_saved_records_come_back_and_the_file_is_private(tmp_path: Path) -> None:
    store = ApplianceStore(tmp_path)
    store.save("a", ApplianceRecord(enabled=True, seed="S33D-XY", port=443))
    store.save("b", ApplianceRecord(mode=Mode.SSHACCESS, gateway="a"))
    store.save("a", ApplianceRecord(enabled=False))
    store.close()
    again = ApplianceStore(tmp_path)
    assert again.load("a") == ApplianceRecord(enabled=False)
    assert again.load("b") == ApplianceRecord(mode=Mode.SSHACCESS, gateway="a")
    assert oct(again.path.stat().st_mode & 0o777) == "0o600"
    assert len(again.path.read_text().splitlines()) == 2  # compacted on open


def test_a_write_cut_short_leaves_the_previous_state(tmp_path: Path) -> None:
    store = ApplianceStore(tmp_path)
    store.save("a", ApplianceRecord(enabled=True, seed="S33D-XY"))
    store.close()
    with store.path.open("a") as journal:
        journal.write('{"name": "a", "enabled": fal')
    assert ApplianceStore(tmp_path).load("a") == ApplianceRecord(enabled=True, seed="S33D-XY")


def test_damage_in_the_middle_is_named(tmp_path: Path) -> None:
    (tmp_path / "appliances.jsonl").write_text('{"name": "a"}\nnot json\n{"name": "b"}\n')
    with pytest.raises(RacError, match=r"appliances.jsonl, line 2: .*damaged"):
        ApplianceStore(tmp_path)


def test_the_journal_is_compacted_as_it_grows(tmp_path: Path) -> None:
    store = ApplianceStore(tmp_path)
    for port in range(1000):
        store.save("a", ApplianceRecord(enabled=True, port=port))
    assert len(store.path.read_text().splitlines()) <= 200
    store.close()
    assert ApplianceStore(tmp_path).load("a") == ApplianceRecord(enabled=True, port=999)


def test_every_record_field_is_written() -> None:
    import dataclasses
    import json

    from tui.engine.appliance_store import _line

    written = json.loads(_line("a", ApplianceRecord()))
    assert set(written) == {"name", *(f.name for f in dataclasses.fields(ApplianceRecord))}
