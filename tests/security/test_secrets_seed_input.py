"""The seed without argv: `--seed-file FILE`, `--seed -` (stdin) and a hidden prompt.

Before: `--seed` was the only way, so the seed sat in /proc/PID/cmdline, readable by every
local user, for as long as `rac agent` ran.
"""

from __future__ import annotations

import asyncio
import os
import pty
import select
import subprocess
import time
from pathlib import Path

from tests.conftest import LAB_C, LAB_C_SERIAL, RunningLab
from tests.rac_process import RAC, json_lines, read_until, run, spawn, stop
from tui.engine.secure_files import write_private

SEED = "Stdin-Seed-7Wq!c"


async def test_agent_reads_the_seed_from_stdin_and_never_prints_it(
    lab: RunningLab, tmp_path: Path
) -> None:
    agent = await spawn(
        "agent",
        "--inventory",
        str(lab.info.inventory),
        "--enable",
        LAB_C,
        "--seed",
        "-",
        "--state-dir",
        str(tmp_path / "state"),
        "--json",
        stdin=True,
    )
    try:
        assert agent.stdin is not None
        agent.stdin.write(f"{SEED}\n".encode())
        await agent.stdin.drain()
        agent.stdin.close()
        lines = "".join(await read_until(agent, '"ESTABLISHED"'))
        assert SEED.encode() not in Path(f"/proc/{agent.pid}/cmdline").read_bytes()
        code, out, err = await run(
            "support",
            "connect",
            LAB_C_SERIAL,
            "--seed",
            "-",
            "--lab",
            "--state-dir",
            str(lab.info.directory),
            "--command",
            "whoami",
            stdin=SEED + "\n",
        )
        assert code == 0 and LAB_C_SERIAL in out, err
    finally:
        out, err = await stop(agent)
    announced = [e for e in json_lines(lines) if e["event"] == "seed"]
    assert announced == [
        {
            "event": "seed",
            "appliance": LAB_C,
            "serial": LAB_C_SERIAL,
            "ts": announced[0]["ts"],
            "typed": True,
        }
    ]
    assert SEED not in lines + out + err


async def test_a_seed_on_the_command_line_still_works_with_a_warning(
    lab: RunningLab, tmp_path: Path
) -> None:
    code, _, err = await run(
        "agent",
        "--inventory",
        str(lab.info.inventory),
        "--enable",
        LAB_C,
        "--seed",
        "123456",
        "--state-dir",
        str(tmp_path / "s"),
    )
    assert code == 2
    assert err.splitlines()[0].startswith(
        "rac: warning: a seed given as --seed on the command line can be read by every local user"
    )
    assert "a run such as 123456" in err


async def test_seed_files_must_be_private_regular_files(lab: RunningLab, tmp_path: Path) -> None:
    loose = tmp_path / "loose-seed"
    loose.write_text(SEED + "\n")
    loose.chmod(0o644)
    code, _, err = await run(
        "agent",
        "--inventory",
        str(lab.info.inventory),
        "--enable",
        LAB_C,
        "--seed-file",
        str(loose),
        "--state-dir",
        str(tmp_path / "s"),
    )
    assert (
        code == 1
        and f"{loose} (the seed file) may be read by other users (mode 0644)" in err
        and "chmod 600" in err
    )
    fifo = tmp_path / "fifo-seed"
    os.mkfifo(fifo, 0o600)
    started = time.monotonic()
    code, _, err = await run(
        "support",
        "connect",
        LAB_C_SERIAL,
        "--seed-file",
        str(fifo),
        "--lab",
        "--state-dir",
        str(lab.info.directory),
    )
    assert code == 2 and "is a FIFO (named pipe), not a regular file" in err
    assert time.monotonic() - started < 10
    empty = tmp_path / "empty-seed"
    write_private(empty, "\n")
    code, _, err = await run(
        "support",
        "connect",
        LAB_C_SERIAL,
        "--seed-file",
        str(empty),
        "--lab",
        "--state-dir",
        str(lab.info.directory),
    )
    assert code == 2 and "no seed found" in err
    assert not (tmp_path / "s").exists()


def _converse(
    args: list[str],
    answer: str,
    timeout: float = 30,
    *,
    asks: bytes = b"Seed of",
    until: bytes = b"",
) -> tuple[int, str]:
    """Run rac on a terminal, type `answer` when it `asks`; return (exit code, what showed)
    once it exits (or, if `until` is given, once that shows, stopping it with SIGTERM)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        args,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        close_fds=True,
        env={**os.environ, "TERM": "dumb"},
    )
    os.close(follower)
    shown = b""
    answered = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                shown += chunk
            if not answered and asks in shown:
                os.write(leader, answer.encode() + b"\r")
                answered = True
            if until and until in shown and process.poll() is None:
                process.terminate()
                until = b""
            if process.poll() is not None and not ready:
                break
        return process.wait(timeout=5), shown.decode(errors="replace")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)


async def test_support_connect_asks_for_the_seed_without_echo(
    lab: RunningLab, make_engine: object, tmp_path: Path
) -> None:
    engine, events = await make_engine()  # type: ignore[operator]
    seed = await engine.enable(LAB_C, seed=SEED)
    from tui.engine.states import TunnelState

    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    code, shown = await asyncio.to_thread(
        _converse,
        [
            *RAC,
            "support",
            "connect",
            LAB_C_SERIAL,
            "--lab",
            "--state-dir",
            str(lab.info.directory),
            "--command",
            "whoami",
        ],
        seed,
    )
    assert f"Seed of {LAB_C_SERIAL}: " in shown
    assert code == 0, shown
    assert LAB_C_SERIAL in shown.split("Seed of", 1)[1]
    assert seed not in shown  # typed, but never echoed


async def test_agent_asks_for_the_seed_without_echo_on_a_terminal(
    lab: RunningLab, tmp_path: Path
) -> None:
    code, shown = await asyncio.to_thread(
        _converse,
        [
            *RAC,
            "agent",
            "--inventory",
            str(lab.info.inventory),
            "--enable",
            LAB_C,
            "--seed",
            "-",
            "--state-dir",
            str(tmp_path / "state"),
        ],
        SEED,
        asks=f"Seed for {LAB_C}: ".encode(),
        until=b"ESTABLISHED",
    )
    assert f"Seed for {LAB_C}: " in shown
    assert "seed set as given (not shown)" in shown and "ESTABLISHED" in shown
    assert code == 0, shown
    assert SEED not in shown
