"""`kill -9` of `rac agent` at random moments of enable, seed change, disable and journal
compaction, twenty seeded runs on one state dir: after each, the journal reads back, the
appliance is in the last state the operator saw acknowledged (or the one being made, if the
kill fell between the write and the acknowledgement), and no earlier seed is left on disk.
A last, cold `rac agent` resumes it and support logs in with that seed."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import string
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import LAB_C, LAB_C_SERIAL, RunningLab
from tests.engineer import login
from tui.engine.appliance_store import ApplianceRecord, ApplianceStore

RUNS = 20
PAST_NAMES = ("mail-gw-x", "mgmt-1", "web-proxy-1")  # history for the compaction to chew on


@dataclass(frozen=True)
class Acknowledged:
    """What the operator last saw: enabled with this seed, or disabled (seed None)."""

    seed: str | None


class Forker:
    """Runs `rac agent` argv in a warm forked child whose output comes back on a pipe."""

    def __init__(self) -> None:
        self._ours, theirs = socket.socketpair()
        self._theirs = theirs
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.faults.agent_forker",
            str(self._theirs.fileno()),
            pass_fds=[self._theirs.fileno()],
            stdin=asyncio.subprocess.DEVNULL,
        )
        self._theirs.close()

    async def run(self, *argv: str) -> tuple[int, asyncio.StreamReader]:
        """Start one agent; its PID and a reader of what it prints."""
        read_end, write_end = os.pipe()
        socket.send_fds(self._ours, [json.dumps(list(argv)).encode()], [write_end])
        os.close(write_end)
        pid = int(await asyncio.to_thread(self._ours.recv, 64))
        reader = asyncio.StreamReader()
        loop = asyncio.get_running_loop()
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_end, "rb", buffering=0)
        )
        return pid, reader

    async def close(self) -> None:
        self._ours.close()
        if self.process is not None:
            await asyncio.wait_for(self.process.wait(), 10)


async def _lines_until(
    reader: asyncio.StreamReader,
    wanted: dict[str, str],
    seen: list[dict[str, object]],
    timeout: float = 20,
) -> None:
    async with asyncio.timeout(timeout):
        while True:
            line = await reader.readline()
            assert line, f"the agent ended before {wanted}: {seen}"
            if not line.startswith(b"{"):
                continue
            event = json.loads(line)
            seen.append(event)
            if all(event.get(k) == v for k, v in wanted.items()):
                return


async def _until_dead(reader: asyncio.StreamReader, seen: list[dict[str, object]]) -> None:
    """Read what the agent printed before it died (EOF comes with its death)."""
    async with asyncio.timeout(20):
        while line := await reader.readline():
            if line.startswith(b"{"):
                seen.append(json.loads(line))


def _enable_acknowledged(seen: list[dict[str, object]]) -> bool:
    """The `seed` event: the typed seed is in force (it is not printed back)."""
    return any(e.get("event") == "seed" and e.get("appliance") == LAB_C for e in seen)


def _disabled_acknowledged(seen: list[dict[str, object]]) -> bool:
    return any(
        e.get("event") == "state" and e.get("appliance") == LAB_C and e.get("state") == "DISABLED"
        for e in seen
    )


def _resumed(state: Path) -> Acknowledged:
    """What a restart resumes: the journal read exactly as the engine reads it."""
    record = ApplianceStore(state, writable=False).load(LAB_C) or ApplianceRecord()
    return Acknowledged(record.seed if record.enabled else None)


def _prefill(state: Path, rng: random.Random) -> None:
    state.mkdir(mode=0o700)
    lines = [
        json.dumps(
            {
                "name": rng.choice(PAST_NAMES),
                "enabled": False,
                "mode": "tunnel",
                "port": rng.choice([22, 25, 443]),
                "gateway": None,
                "seed": None,
                "enabled_at": None,
                "expires_at": None,
                "ended": "disabled",
            }
        )
        for _ in range(150)
    ]
    (state / "appliances.jsonl").write_text("\n".join(lines) + "\n")
    (state / "appliances.jsonl").chmod(0o600)


def _seed_file(directory: Path, seed: str) -> str:
    """A 0600 file with the seed (rac takes no seed on the command line)."""
    path = directory / f"seed-{seed[:6]}"
    path.write_text(seed + "\n")
    path.chmod(0o600)
    return str(path)


def _on_disk(state: Path, seed: str) -> bool:
    """Whether a file under the state dir holds `seed` — a crash's leftover temporary file
    counts until the next start has removed it."""
    ApplianceStore(state)  # what the next start does first (it holds the lock then)
    return any(seed.encode() in path.read_bytes() for path in state.rglob("*") if path.is_file())


def _kill_9(pid: int) -> None:
    """SIGKILL (an agent that already finished is a zombie until the forker's next run: the
    signal reaches nobody else)."""
    os.kill(pid, signal.SIGKILL)


def _strong_seed(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(20))


async def test_kill_9_at_random_moments_loses_nothing_acknowledged(
    lab: RunningLab, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    _prefill(state, random.Random(0))
    base = ["agent", "--inventory", str(lab.info.inventory), "--state-dir", str(state), "--json"]
    forker = Forker()
    await forker.start()
    acknowledged = Acknowledged(None)
    every_seed: list[str] = []
    outcomes: dict[str, int] = {}
    pid = 0
    try:
        # Calibration (twice: the first run also makes keys): how long an enable takes to
        # be acknowledged from the fork, and a disable from SIGTERM.
        for calibration in (-1, -2):
            seed = _strong_seed(random.Random(calibration))
            every_seed.append(seed)
            pid, out = await forker.run(
                *base, "--enable", LAB_C, "--seed-file", _seed_file(tmp_path, seed)
            )
            started = time.perf_counter()
            seen: list[dict[str, object]] = []
            await _lines_until(out, {"event": "seed"}, seen)
            enable_time = time.perf_counter() - started
            await _lines_until(out, {"event": "state", "state": "ESTABLISHED"}, seen)
            os.kill(pid, signal.SIGTERM)
            started = time.perf_counter()
            await _lines_until(out, {"event": "state", "state": "DISABLED"}, seen)
            disable_time = time.perf_counter() - started
            await _until_dead(out, seen)

        for run in range(RUNS):
            rng = random.Random(run)
            seen = []
            if acknowledged.seed is None or rng.random() < 0.5:
                # Enable (or, when enabled, a new seed): killed anywhere from start-up
                # (journal compaction) to a little after the acknowledgement.
                seed = _strong_seed(rng)
                every_seed.append(seed)
                pid, out = await forker.run(
                    *base, "--enable", LAB_C, "--seed-file", _seed_file(tmp_path, seed)
                )
                await asyncio.sleep(rng.uniform(0, 1.3 * enable_time))
                _kill_9(pid)
                await _until_dead(out, seen)
                attempted = Acknowledged(seed)
                if _enable_acknowledged(seen):
                    acknowledged = attempted
                    outcomes["enable acknowledged"] = outcomes.get("enable acknowledged", 0) + 1
                else:
                    outcomes["enable cut"] = outcomes.get("enable cut", 0) + 1
                    if _resumed(state) != attempted:
                        # Killed before it even wrote: the machine is slower than during
                        # calibration (it is shared); widen the window.
                        enable_time *= 1.5
            else:
                # Disable: resume, SIGTERM, killed while the disable is under way.
                pid, out = await forker.run(*base)
                await _lines_until(out, {"event": "state", "appliance": LAB_C}, seen)
                os.kill(pid, signal.SIGTERM)
                await asyncio.sleep(rng.uniform(0, 1.3 * disable_time))
                _kill_9(pid)
                await _until_dead(out, seen)
                if not _disabled_acknowledged(seen):
                    disable_time *= 1.5
                attempted = Acknowledged(None)
                if _disabled_acknowledged(seen):
                    acknowledged = attempted
                    outcomes["disable acknowledged"] = outcomes.get("disable acknowledged", 0) + 1
                else:
                    outcomes["disable cut"] = outcomes.get("disable cut", 0) + 1

            now = _resumed(state)
            assert now in (acknowledged, attempted), (run, now, acknowledged, outcomes)
            if now != acknowledged:
                outcomes["saved, killed before the acknowledgement"] = (
                    outcomes.get("saved, killed before the acknowledgement", 0) + 1
                )
            acknowledged = now  # what a restart shows is what the operator sees next
            stale = [s for s in every_seed if s != now.seed and _on_disk(state, s)]
            assert not stale, f"run {run}: retired seeds still on disk"

        # Every kind of moment was hit at least once in the twenty runs.
        assert {"enable acknowledged", "enable cut"} <= set(outcomes), outcomes
    finally:
        if pid:
            _kill_9(pid)  # a failed run leaves no agent behind
        await forker.close()

    # A cold start of the real command resumes the last state with the right seed.
    if acknowledged.seed is None:
        return
    agent = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tui",
        *base,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert agent.stdout is not None
        await _lines_until(agent.stdout, {"event": "state", "state": "ESTABLISHED"}, [])
        relay, appliance = await login(lab.info, tmp_path, LAB_C_SERIAL, acknowledged.seed)
        result = await appliance.run("status", check=False)
        assert "Service Access currently ENABLED" in str(result.stdout)
        appliance.close()
        relay.close()
    finally:
        agent.send_signal(signal.SIGTERM)
        await asyncio.wait_for(agent.wait(), 20)
