"""`rac agent --allow-engineer`, `rac sessions` and `rac sessions play`, as real processes."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

from tests.conftest import LAB_C, LAB_C_SERIAL, RunningLab
from tests.integration.test_cli import _next_json, _run, _spawn


async def test_restricted_agent_refuses_others_and_sessions_lists_and_replays(
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
        "--allow-engineer",
        "alice",
        "bob",
    )
    try:
        seed = (await _next_json(agent, {"event": "seed"}))["seed"]
        await _next_json(agent, {"event": "state", "state": "ESTABLISHED"})
        connect = (
            "support",
            "connect",
            LAB_C_SERIAL,
            "--seed",
            seed,
            "--lab",
            "--state-dir",
            str(lab.info.directory),
        )
        code, _, err = await _run(*connect, "--as", "mallory", "--command", "status")
        assert code == 1
        assert "mallory is not among the engineers allowed in" in err, err
        assert "alice" not in err and "bob" not in err  # the audit keeps who is allowed
        code, out, err = await _run(*connect, "--as", "alice", "--command", "stream 0.05")
        assert code == 0, err
        assert out.count("\n") == int(0.05 * 1024 * 1024) // 80
        ended = await _next_json(agent, {"event": "service-end"})
        agent.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(agent.wait(), 10) == 0
    finally:
        if agent.returncode is None:
            agent.kill()
            await agent.wait()

    code, listing, _ = await _run("sessions", LAB_C, "--state-dir", str(state), "--json")
    assert code == 0
    sessions = json.loads(listing)["sessions"]
    assert [s["id"] for s in sessions] == [ended["session_id"]] == [f"{LAB_C}#1"]
    assert sessions[0]["engineer"] == "alice" and sessions[0]["recording"]
    code, text, _ = await _run("sessions", "--state-dir", str(state))
    assert code == 0 and f"{LAB_C}#1" in text and "alice" in text
    code, played, err = await _run(
        "sessions", "play", f"{LAB_C}#1", "--speed", "1000", "--state-dir", str(state)
    )
    assert code == 0, err
    recorded = "".join(
        json.loads(line)[2] for line in Path(sessions[0]["recording"]).read_text().splitlines()[1:]
    )
    assert played == recorded
    assert "0000000000 " in played

    audit = [json.loads(line) for line in (state / "audit.jsonl").read_text().splitlines()]
    refused = [r for r in audit if r["action"] == "support-login-rejected"]
    assert "mallory is not among the engineers allowed in (alice, bob)" in refused[0]["why"]


async def test_bad_restrictions_and_unknown_sessions_are_named(
    lab: RunningLab, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    code, _, err = await _run(
        "agent",
        "--inventory",
        str(lab.info.inventory),
        "--enable",
        LAB_C,
        "--state-dir",
        str(state),
        "--not-before",
        "tomorrow",
    )
    assert code == 2
    assert "--not-before 'tomorrow': write a UTC time as YYYY-MM-DD HH:MM" in err
    code, _, err = await _run(
        "agent",
        "--inventory",
        str(lab.info.inventory),
        "--enable",
        LAB_C,
        "--state-dir",
        str(state),
        "--not-before",
        "2026-12-01 10:00",
        "--not-after",
        "2026-12-01 09:00",
    )
    assert code == 2 and "must be later than --not-before" in err
    assert not (state / "appliances.jsonl").exists()
    code, _, err = await _run("sessions", "play", "nope#9", "--state-dir", str(state))
    assert code == 2 and "No recording of session 'nope#9'" in err
    code, out, _ = await _run("sessions", "--state-dir", str(state))
    assert code == 0 and "No support session recorded" in out
