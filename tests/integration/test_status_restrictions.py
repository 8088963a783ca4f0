"""`rac status` says who may come in and for how long, as the console does: the allowed
engineers, the time window and the lifetime, live from a running agent and from the saved
state when no agent runs."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from tests.conftest import LAB_C, RunningLab
from tests.integration.test_cli import _next_json, _run, _spawn
from tui.engine.session_restrictions import parse_time, stamp

NOT_BEFORE = "2026-12-01 08:00"
NOT_AFTER = "2040-12-01 18:00"


async def test_status_shows_the_restrictions_and_lifetime(lab: RunningLab, tmp_path: Path) -> None:
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
        "--lifetime",
        "2h",
        "--allow-engineer",
        "alice",
        "bob",
        "--not-before",
        NOT_BEFORE,
        "--not-after",
        NOT_AFTER,
    )
    status = ("status", "--inventory", str(lab.info.inventory), "--state-dir", str(state))
    window = f"from {stamp(parse_time(NOT_BEFORE, 'x'))} until {stamp(parse_time(NOT_AFTER, 'x'))}"
    try:
        await _next_json(agent, {"event": "state", "state": "ESTABLISHED"})
        for where in ("live", "saved"):
            if where == "saved":  # the agent dies without disabling: the state says the rest
                agent.send_signal(signal.SIGKILL)
                await agent.wait()
            code, out, err = await _run(*status, "--json")
            assert code == 0, err
            rows = {row["name"]: row for row in json.loads(out)["appliances"]}
            row = rows[LAB_C]
            assert row["restrictions"] == {
                "engineers": ["alice", "bob"],
                "not_before": parse_time(NOT_BEFORE, "x"),
                "not_after": parse_time(NOT_AFTER, "x"),
            }, where
            assert row["admits"] == f"only alice, bob {window}", where
            assert row["lifetime"] == 7200, where
            others = [r for name, r in rows.items() if name != LAB_C]
            assert all(r["restrictions"] is None and r["lifetime"] is None for r in others)

            code, out, err = await _run(*status)
            assert code == 0, err
            lines = out.splitlines()
            index = next(i for i, line in enumerate(lines) if line.startswith(LAB_C + " "))
            assert "(lifetime 2h 00m)" in lines[index], where
            rest = lines[index + 1 : index + 3]
            assert any(line.strip() == f"admits only alice, bob {window}" for line in rest), out
    finally:
        if agent.returncode is None:
            agent.kill()
            await agent.wait()
