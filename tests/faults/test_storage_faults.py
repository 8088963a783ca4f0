"""A state dir that fills up, turns read-only or holds the wrong kind of file: tunnels already
up keep running, support still logs in, the operator reads one sentence naming the path, and
nothing is raised into a login or a shutdown."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import pytest

from tests.conftest import LAB_C, LAB_C_SERIAL, EngineFactory, RunningLab
from tests.engineer import login
from tests.faults.small_disk import fill, free, remount, small_disk
from tests.rac_process import run
from tui.engine import engine as engine_module
from tui.engine.events import LogRecord, StorageChanged
from tui.engine.states import TunnelState
from tui.engine.storage_health import StorageError

RAC = [sys.executable, "-m", "tui"]
LAB_X = "web-proxy-1"


async def _status_inside(lab: RunningLab, tmp_path: Path, seed: str) -> str:
    relay, appliance = await login(lab.info, tmp_path, LAB_C_SERIAL, seed)
    try:
        result = await appliance.run("status", check=False)
        return str(result.stdout)
    finally:
        appliance.close()
        relay.close()


async def test_a_disk_that_fills_while_support_is_inside(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "STORAGE_RETRY", 0.2)
    with small_disk(tmp_path / "disk") as disk:
        state_dir = disk / "state"
        engine, events = await make_engine(state_dir=state_dir)
        seed = await engine.enable(LAB_C)
        await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
        relay, inside = await login(lab.info, tmp_path, LAB_C_SERIAL, seed)
        await events.wait_state(LAB_C, TunnelState.SERVICE)

        fill(disk)
        # Support logs in (and out) again on the full disk, until the audit log's last page
        # is used up too: every login works, the audit lines it costs are counted.
        for _ in range(40):
            assert "ENABLED" in await _status_inside(lab, tmp_path, seed)
            if engine.storage.audit_lines_lost:
                break
        problem = await events.wait_for(
            lambda e: isinstance(e, StorageChanged) and "audit.jsonl" in e.problem
        )
        assert isinstance(problem, StorageChanged)
        assert (
            f"cannot write {state_dir / 'audit.jsonl'}: no space left on the device"
            in problem.problem.lower()
        )
        status = engine.status(LAB_C)
        assert status.state is TunnelState.SERVICE and status.storage
        assert "audit line" in status.storage and "not written" in status.storage
        assert any(
            "State not saved" in line
            for line in (await _status_inside(lab, tmp_path, seed)).splitlines()
        )

        # Changes that cannot be saved are refused with the path named; nothing changes.
        with pytest.raises(
            StorageError,
            match=r"appliances\.jsonl: no space left on the "
            r"device\. The old seed stays in force\.",
        ):
            await engine.new_seed(LAB_C)
        assert engine.seed(LAB_C) == seed
        with pytest.raises(StorageError, match="Remote access was not enabled"):
            await engine.enable(LAB_X)
        assert not engine.status(LAB_X).enabled
        result = await inside.run("status", check=False)  # the first session is untouched
        assert "ENABLED" in str(result.stdout)
        inside.close()
        relay.close()

        # A disable still takes effect at once, and says it is not saved yet.
        mark = events.mark
        await engine.disable(LAB_C)
        assert engine.status(LAB_C).state is TunnelState.DISABLED
        warned = await events.wait_for(
            lambda e: isinstance(e, LogRecord) and "could not be saved" in e.message, after=mark
        )
        assert isinstance(warned, LogRecord) and "appliances.jsonl" in warned.message

        # Room again: the journal and the audit catch up on their own, the problem clears.
        free(disk)
        await events.wait_for(lambda e: isinstance(e, StorageChanged) and not e.problem, timeout=10)
        journal = [
            json.loads(line) for line in (state_dir / "appliances.jsonl").read_text().splitlines()
        ]
        assert journal[-1]["name"] == LAB_C and journal[-1]["enabled"] is False
        assert seed.encode() not in (state_dir / "appliances.jsonl").read_bytes()
        audit = [json.loads(line) for line in (state_dir / "audit.jsonl").read_text().splitlines()]
        gaps = [line for line in audit if line["action"] == "audit-lines-lost"]
        assert gaps and gaps[0]["lost"] >= 2  # the second login's start and end at least
        await engine.shutdown()


async def test_resuming_on_a_read_only_state_dir(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    with small_disk(tmp_path / "disk") as disk:
        state_dir = disk / "state"
        first, events = await make_engine(state_dir=state_dir)
        seed = await first.enable(LAB_C)
        await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
        await first.shutdown()
        remount(disk, "ro")
        try:
            engine, events = await make_engine(state_dir=state_dir)
            await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
            problem = engine.status(LAB_C).storage
            assert problem == (
                f"Cannot write {state_dir / 'appliances.jsonl'}: the file system is read-only."
            )
            # The first login makes the (SERVICE) host key: kept in memory, and said so.
            assert "ENABLED" in await _status_inside(lab, tmp_path, seed)
            assert (
                f"write {state_dir / 'keys' / (LAB_C + '_host_ed25519')}: the file "
                "system is read-only" in engine.status(LAB_C).storage
            )
            with pytest.raises(StorageError, match="read-only"):
                await engine.enable(LAB_X)
            await engine.shutdown()

            code, out, err = await run(
                "status", "--inventory", str(lab.info.inventory), "--state-dir", str(state_dir)
            )
            assert code == 0, err
            assert f"storage: cannot write {state_dir}: the file system is read-only" in out
            code, out, err = await run(
                "agent",
                "--inventory",
                str(lab.info.inventory),
                "--state-dir",
                str(state_dir),
                "--enable",
                LAB_X,
            )
            assert code == 1
            assert err.strip().endswith(
                "the file system is read-only. Remote access was not enabled."
            )
            assert f"{state_dir}/" in err  # the keys (made first) or the journal
            assert "unexpected error" not in err and "Traceback" not in err
        finally:
            remount(disk, "rw")


async def test_sigterm_on_a_full_disk_exits_with_a_sentence(
    lab: RunningLab, tmp_path: Path
) -> None:
    with small_disk(tmp_path / "disk") as disk:
        state_dir = disk / "state"
        agent = await asyncio.create_subprocess_exec(
            *RAC,
            "agent",
            "--inventory",
            str(lab.info.inventory),
            "--state-dir",
            str(state_dir),
            "--enable",
            LAB_C,
            "--json",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert agent.stdout is not None and agent.stderr is not None
            async with asyncio.timeout(20):
                while b'"ESTABLISHED"' not in await agent.stdout.readline():
                    pass
            fill(disk)
            agent.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(agent.communicate(), 20)
        finally:
            if agent.returncode is None:
                agent.kill()
                await agent.wait()
        text = err.decode()
        assert agent.returncode == 1, text
        assert "Traceback" not in text and "unexpected error" not in text
        assert f"{state_dir / 'appliances.jsonl'}: no space left on the device" in text
        assert '"event": "storage"' in out.decode()
        assert b'"state": "DISABLED"' in out


async def test_state_dir_parts_of_the_wrong_kind(lab: RunningLab, tmp_path: Path) -> None:
    inventory = str(lab.info.inventory)
    as_file = tmp_path / "state-file"
    as_file.write_text("not a directory\n")
    code, _, err = await run(
        "agent", "--inventory", inventory, "--state-dir", str(as_file), "--enable", LAB_C
    )
    assert code == 1
    assert err.strip() == (
        f"rac: Cannot use {as_file} as the state dir: it is a file, where "
        "rac keeps a directory. Give another --state-dir, or put this one "
        "right."
    )

    journal_dir = tmp_path / "journal-is-a-dir"
    journal_dir.mkdir(mode=0o700)
    (journal_dir / "appliances.jsonl").mkdir()
    for command in (["agent", "--enable", LAB_C], ["status"]):
        code, _, err = await run(
            command[0], "--inventory", inventory, "--state-dir", str(journal_dir), *command[1:]
        )
        assert code == 1, err
        assert err.startswith(
            f"rac: Cannot read {journal_dir / 'appliances.jsonl'}: it is a "
            "directory where rac keeps a file."
        )

    keys_file = tmp_path / "keys-is-a-file"
    keys_file.mkdir(mode=0o700)
    (keys_file / "keys").write_text("")
    code, _, err = await run(
        "agent", "--inventory", inventory, "--state-dir", str(keys_file), "--enable", LAB_C
    )
    assert code == 1
    assert f"Cannot write the keys of {LAB_C} in {keys_file / 'keys'}" in err
    assert "Remote access was not enabled" in err and "Traceback" not in err


async def test_an_audit_log_that_is_a_directory_does_not_stop_support(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    state_dir.mkdir(mode=0o700)
    (state_dir / "audit.jsonl").mkdir()
    engine, events = await make_engine(state_dir=state_dir)
    seed = await engine.enable(LAB_C)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    assert "ENABLED" in await _status_inside(lab, tmp_path, seed)
    storage = engine.status(LAB_C).storage
    assert storage.startswith(f"Cannot write {state_dir / 'audit.jsonl'}: it is a directory")
    assert "audit lines not written" in storage
