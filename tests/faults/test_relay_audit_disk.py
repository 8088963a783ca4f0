"""The relay's audit log on a disk that fills: every refusal still happens, the audit lines
it costs are counted and said in the relay's log (stderr: the journal under systemd) with the
path, reminded while it lasts, and recorded as one `audit-lines-lost` line as soon as the disk
takes writes again, with no new event needed to carry it."""

from __future__ import annotations

import json
from pathlib import Path

import asyncssh
import pytest

from tests.engineer import relay_connection
from tests.faults.network.waiting import until
from tests.faults.small_disk import fill, free, small_disk
from tui.engine.lab.lab import Lab
from tui.engine.relay import audit_health

UNKNOWN_SERIAL = "FCH0000NOWHERE"


async def _knock(lab: Lab) -> None:
    """An engineer asks for an appliance that is not connected: one audit line."""
    assert lab.info is not None
    engineer = await relay_connection(lab.info)
    try:
        with pytest.raises(asyncssh.ChannelOpenError, match="is not connected to the relay"):
            await engineer.create_connection(asyncssh.SSHTCPSession, UNKNOWN_SERIAL, 22)
    finally:
        engineer.close()
        await engineer.wait_closed()


async def test_the_relay_counts_says_and_records_the_audit_lines_a_full_disk_cost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_health, "RETRY_EVERY", 0.1)
    monkeypatch.setattr(audit_health, "REMIND_EVERY", 0.3)
    with small_disk(tmp_path / "disk") as disk:
        audit = disk / "relay-audit.jsonl"
        lab = Lab(tmp_path / "lab", relay_settings={"audit_log": str(audit)})
        await lab.start()
        try:
            relay = lab.relay
            assert relay is not None
            said: list[str] = []
            relay.log = said.append

            fill(disk)
            for _ in range(200):  # the audit file's last page may still take a line or two
                await _knock(lab)
                if relay.audit_lines_lost >= 2:
                    break
            assert relay.audit_lines_lost >= 2

            problem = f"rac relay: Cannot write {audit}: no space left on the device"
            assert any(line.startswith(problem) for line in said), said
            assert any("audit-lines-lost" in line for line in said)
            await until(lambda: any("not written so far" in line for line in said), 5, "a reminder")
            reminder = next(line for line in said if "not written so far" in line)
            assert str(audit) in reminder

            lost = relay.audit_lines_lost
            free(disk)  # no new event: the relay's own retry writes the gap line
            await until(
                lambda: any("takes writes again" in line for line in said), 5, "the recovery"
            )
            recovered = next(line for line in said if "takes writes again" in line)
            assert f"{lost} audit lines were lost" in recovered and str(audit) in recovered
            lines = [json.loads(line) for line in audit.read_text().splitlines()]
            gaps = [line for line in lines if line["action"] == "audit-lines-lost"]
            assert [gap["lost"] for gap in gaps] == [lost]
            assert "no space left on the device" in gaps[0]["why"]
        finally:
            await lab.close()
