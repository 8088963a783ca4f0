"""A refused engineer learns why they were refused and nothing more: not who else may come
in, not when a closed window was open. The operator's log and audit keep the full detail.
Each through a real `rac support connect`, as support runs it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import LAB_C, LAB_C_SERIAL, EngineFactory, RunningLab
from tests.rac_process import run
from tui.engine.events import LogRecord
from tui.engine.secure_files import write_private
from tui.engine.session_restrictions import SessionRestrictions, stamp
from tui.engine.states import TunnelState


async def _connect(lab: RunningLab, tmp_path: Path, seed: str, engineer: str) -> tuple[int, str]:
    seed_file = tmp_path / f"seed-{engineer}"
    write_private(seed_file, seed + "\n")
    code, _out, err = await run(
        "support",
        "connect",
        LAB_C_SERIAL,
        "--seed-file",
        str(seed_file),
        "--lab",
        "--state-dir",
        str(lab.info.directory),
        "--as",
        engineer,
        "--command",
        "whoami",
    )
    return code, err


def _rejected(event: object) -> bool:
    """The engine has audited a refused login (it logs the same line)."""
    return isinstance(event, LogRecord) and "rejected" in event.message


def _refusals(engine: object) -> list[str]:
    path = engine.audit.path  # type: ignore[attr-defined]
    records = [json.loads(line) for line in path.read_text().splitlines()]
    return [str(r["why"]) for r in records if r["action"] == "support-login-rejected"]


async def test_an_engineer_not_on_the_list_is_not_told_who_is(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    engine, events = await make_engine()
    restrictions = SessionRestrictions(("alice", "bob"))
    seed = await engine.enable(LAB_C, restrictions=restrictions)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)

    code, err = await _connect(lab, tmp_path, seed, "mallory")
    assert code == 1
    assert "login refused: mallory is not among the engineers allowed in)" in err, err
    assert "alice" not in err and "bob" not in err
    await events.wait_for(_rejected)
    assert any(
        "mallory is not among the engineers allowed in (alice, bob)" in why
        for why in _refusals(engine)
    )

    code, err = await _connect(lab, tmp_path, seed, "alice")
    assert code == 0, err


async def test_a_closed_window_is_not_told_when_it_was_open(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    engine, events = await make_engine()
    now = engine.clock()
    window = SessionRestrictions(not_before=now - 7200, not_after=now - 3600)
    seed = await engine.enable(LAB_C, restrictions=window)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)

    code, err = await _connect(lab, tmp_path, seed, "alice")
    assert code == 1
    assert "login refused: the time allowed for support is over)" in err, err
    assert stamp(now - 3600) not in err and stamp(now - 7200) not in err
    assert "UTC" not in err
    await events.wait_for(_rejected)
    until = f"support was allowed in only until {stamp(now - 3600)}"
    assert any(until in why for why in _refusals(engine))


async def test_an_early_engineer_is_told_only_when_to_come_back(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    engine, events = await make_engine()
    now = engine.clock()
    window = SessionRestrictions(not_before=now + 3600, not_after=now + 7200)
    seed = await engine.enable(LAB_C, restrictions=window)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)

    code, err = await _connect(lab, tmp_path, seed, "alice")
    assert code == 1
    assert f"support is allowed in only from {stamp(now + 3600)}" in err, err
    assert stamp(now + 7200) not in err  # when it closes is the operator's business
