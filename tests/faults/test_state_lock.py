"""One rac process per state dir: the second says which PID holds it and exits 2, having
written nothing."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from tests.conftest import LAB_C, RunningLab
from tests.rac_process import run
from tui.engine.state_lock import LAB_CONSOLE, lock_state_dir

RAC = [sys.executable, "-m", "tui"]


async def test_a_second_agent_on_one_state_dir_is_refused(lab: RunningLab, tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = await asyncio.create_subprocess_exec(
        *RAC,
        "agent",
        "--inventory",
        str(lab.info.inventory),
        "--state-dir",
        str(state),
        "--enable",
        LAB_C,
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert first.stdout is not None
        async with asyncio.timeout(20):
            while json.loads(await first.stdout.readline()).get("state") != "ESTABLISHED":
                pass
        journal = (state / "appliances.jsonl").read_bytes()
        code, _, err = await run(
            "agent",
            "--inventory",
            str(lab.info.inventory),
            "--state-dir",
            str(state),
            "--enable",
            "mgmt-1",
        )
        assert code == 2
        assert err.startswith(
            f"rac: {state} is in use by another rac (pid {first.pid}, "
            "rac agent): one process per state dir"
        )
        assert "give this one its own --state-dir" in err
        assert (state / "appliances.jsonl").read_bytes() == journal
    finally:
        first.kill()
        await first.wait()
    # The kernel dropped the lock with the process: a restart is not blocked by it.
    lock = lock_state_dir(state, "test")
    lock.release()


async def test_a_newcomer_beside_the_lab_console_is_told_to_use_the_console(
    lab: RunningLab,
) -> None:
    """The console on the lab holds the lab dir and its state dir (as `rac` does)."""
    held = [
        lock_state_dir(lab.info.directory, LAB_CONSOLE),
        lock_state_dir(lab.info.state_dir, LAB_CONSOLE),
    ]
    try:
        code, _, err = await run(
            "agent",
            "--inventory",
            str(lab.info.inventory),
            "--state-dir",
            str(lab.info.state_dir),
            "--enable",
            LAB_C,
        )
        assert code == 2
        assert (
            "Use that console: enable an appliance there (e), then log in as support "
            "from here with `rac support connect SERIAL --lab` (it asks for the seed)" in err
        )
        assert not (lab.info.state_dir / "appliances.jsonl").exists()
        code, _, err = await run("lab", "--state-dir", str(lab.info.directory))
        assert code == 2
        assert f"rac: {lab.info.directory} is in use by another rac (pid " in err
        assert "Use that console" in err
    finally:
        for lock in held:
            lock.release()
