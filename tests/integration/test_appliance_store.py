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


def test_a_torn_last_line_is_named_and_cut_away_before_the_next_append(tmp_path: Path) -> None:
    store = ApplianceStore(tmp_path)
    store.save("a", ApplianceRecord(enabled=True, seed="S33D-XY"))
    store.close()
    with store.path.open("a") as journal:
        journal.write('{"name": "a", "enabled": fal')
    again = ApplianceStore(tmp_path)
    assert len(again.notes) == 1
    assert again.notes[0].startswith(f"{again.path}, line 2: ignored a last line cut short")
    again.save("b", ApplianceRecord(port=443))
    again.close()
    assert [line[:11] for line in again.path.read_text().splitlines()] == [
        '{"name": "a',
        '{"name": "b',
    ]


def test_a_journal_replaced_under_the_store_is_written_back_not_appended_to(tmp_path: Path) -> None:
    store = ApplianceStore(tmp_path)
    store.save("a", ApplianceRecord(enabled=True, seed="S33D-XY"))
    elsewhere = tmp_path / "other.jsonl"
    elsewhere.write_text('{"name": "z", "enabled": true}\n')
    elsewhere.replace(store.path)  # another program put its own file there
    store.save("b", ApplianceRecord(port=443))
    store.flush()
    assert any("was replaced by another program" in note for note in store.notes)
    names = [line.split('"')[3] for line in store.path.read_text().splitlines()]
    assert names == ["a", "b"]


async def test_the_commits_of_a_burst_share_one_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import os

    syncs: list[int] = []
    real_fsync = os.fsync

    def counted(fd: int) -> None:
        syncs.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counted)  # the store and atomic_write both call os.fsync
    store = ApplianceStore(tmp_path)

    async def change(name: str) -> None:
        store.save(name, ApplianceRecord(enabled=True, seed=f"seed-{name}-123"))
        await store.commit()

    await asyncio.gather(*(change(f"a{n}") for n in range(100)))
    assert not store.behind
    assert len(syncs) == 2  # the journal, and the directory that names the new file
    assert len(store.path.read_text().splitlines()) == 100


def test_a_rewrite_cut_short_leaves_no_seed_behind(tmp_path: Path) -> None:
    leftover = tmp_path / ".appliances.jsonl.4242.tmp"  # a crash in the middle of a rewrite
    leftover.write_text('{"name": "a", "enabled": true, "seed": "0ld-Seed-Left"}\n')
    ApplianceStore(tmp_path)
    assert not leftover.exists()
