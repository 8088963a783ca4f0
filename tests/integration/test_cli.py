"""The commands as administrators script them: real processes, JSON lines, signals, exit codes."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

from tests.conftest import RunningLab
from tests.lab_names import LAB_C, LAB_C_SERIAL, LAB_M
from tui.engine.secure_files import write_private

RAC = [sys.executable, "-m", "tui"]


async def _spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *RAC, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )


async def _run(*args: str, timeout: float = 30) -> tuple[int, str, str]:
    process = await _spawn(*args)
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def _next_json(
    process: asyncio.subprocess.Process, want: dict[str, Any], timeout: float = 20
) -> dict[str, Any]:
    """Read JSON lines until one has all the `want` items."""
    assert process.stdout is not None
    async with asyncio.timeout(timeout):
        while True:
            line = await process.stdout.readline()
            assert line, "the process ended before the expected event"
            event: dict[str, Any] = json.loads(line)
            if all(event.get(k) == v for k, v in want.items()):
                return event


async def test_agent_json_events_support_login_status_and_sigterm(
    lab: RunningLab, tmp_path: Path
) -> None:
    state = tmp_path / "agent-state"
    agent = await _spawn(
        "agent",
        "--inventory",
        str(lab.info.inventory),
        "--enable",
        LAB_C,
        "--state-dir",
        str(state),
        "--json",
    )
    try:
        seed_event = await _next_json(agent, {"event": "seed"})
        assert seed_event["serial"] == LAB_C_SERIAL
        up = await _next_json(agent, {"event": "state", "state": "ESTABLISHED"})
        assert {"appliance", "state", "reason", "detail", "port", "ts"} <= set(up)
        assert up["appliance"] == LAB_C and up["port"] == 25

        code, out, err = await _run(
            "support",
            "connect",
            LAB_C_SERIAL,
            "--seed",
            seed_event["seed"],
            "--lab",
            "--state-dir",
            str(lab.info.directory),
            "--command",
            "status",
        )
        assert code == 0, err
        assert "Service Access currently ENABLED (1 current service login)" in out
        started = await _next_json(agent, {"event": "service-start"})
        ended = await _next_json(agent, {"event": "service-end"})
        assert started["session_id"] == ended["session_id"]
        assert ended["engineer"] == "lab-engineer" and ended["bytes_in"] > 0

        code, out, _ = await _run(
            "status", "--inventory", str(lab.info.inventory), "--state-dir", str(state), "--json"
        )
        assert code == 0
        rows = {row["name"]: row for row in json.loads(out)["appliances"]}
        assert rows[LAB_C]["state"] == "ESTABLISHED" and rows[LAB_C]["enabled"] is True
        assert rows[LAB_M]["state"] == "DISABLED"
        assert seed_event["seed"] not in out

        agent.send_signal(signal.SIGTERM)
        await _next_json(agent, {"event": "state", "state": "DISABLED"})
        assert await asyncio.wait_for(agent.wait(), 10) == 0
    finally:
        if agent.returncode is None:
            agent.kill()
            await agent.wait()
    lines = [json.loads(line) for line in (state / "appliances.jsonl").read_text().splitlines()]
    record = [line for line in lines if line["name"] == LAB_C][-1]
    assert record["enabled"] is False and record["seed"] is None


async def test_login_to_an_appliance_that_is_not_connected_says_so(
    lab: RunningLab, tmp_path: Path
) -> None:
    seed_file = tmp_path / "seed"
    write_private(seed_file, "WRONG-SEED\n")  # not --seed: that would add a warning
    code, _out, err = await _run(
        "support",
        "connect",
        LAB_C_SERIAL,
        "--seed-file",
        str(seed_file),
        "--lab",
        "--state-dir",
        str(lab.info.directory),
        "--command",
        "status",
    )
    assert code == 1
    assert err.strip() == (
        f"rac: No session to {LAB_C_SERIAL}: Appliance {LAB_C_SERIAL} "
        "is not connected to the relay."
    )


async def test_bad_inventory_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.toml"
    inventory.write_text('[relay]\ndomain = "x.test"\nsupport_ca = "ca.pub"\nports = [22, "x"]\n')
    state = tmp_path / "state"
    code, _out, err = await _run(
        "agent", "--inventory", str(inventory), "--enable", "a", "--state-dir", str(state)
    )
    assert code == 2
    assert err.startswith(f"rac: {inventory}, line 4, field relay.ports[1]: ")
    assert "Traceback" not in err
    assert not state.exists()


async def test_unknown_appliance_and_bad_port_are_named(lab: RunningLab, tmp_path: Path) -> None:
    state = tmp_path / "state"
    code, _, err = await _run(
        "agent",
        "--inventory",
        str(lab.info.inventory),
        "--enable",
        "esa9",
        "--state-dir",
        str(state),
    )
    assert code == 2 and "No appliance named 'esa9'" in err
    code, _, err = await _run(
        "agent",
        "--inventory",
        str(lab.info.inventory),
        "--enable",
        LAB_C,
        "--port",
        "8080",
        "--state-dir",
        str(state),
    )
    assert code == 2 and "Port 8080 is not a relay port" in err
    code, _, err = await _run(
        "agent",
        "--inventory",
        str(lab.info.inventory),
        "--enable",
        LAB_C,
        "--seed",
        "short",
        "--state-dir",
        str(state),
    )
    assert code == 2 and "needs at least 6" in err
    assert not state.exists()


async def test_lab_command_writes_lab_json_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    directory = tmp_path / "lab"
    lab = await _spawn("lab", "--state-dir", str(directory), "--json")
    try:
        assert lab.stdout is not None
        printed = json.loads(await asyncio.wait_for(lab.stdout.readline(), 20))
        on_disk = json.loads((directory / "lab.json").read_text())
        assert printed == on_disk
        assert set(printed["relay"]["ports"]) == {"22", "25", "53", "80", "443", "4766"}
        assert printed["relay"]["fingerprint"].startswith("SHA256:")
        assert printed["dns"].startswith("127.0.0.1:")
        for key in ("inventory", "engineer_key", "support_ca_key"):
            assert Path(printed[key]).exists()
        lab.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(lab.wait(), 10) == 0
    finally:
        if lab.returncode is None:
            lab.kill()
            await lab.wait()
    assert not (directory / "lab.json").exists()
