"""Console start, in a real pseudo-terminal, against a bare Textual app started the same way
in the same run: spawn → first frame (the fleet as listed), and spawn → lab up and the fleet
live (the first state the engine reported painted)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

from tests.perf.harness import Goal, Result, Samples

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 30.0


def first_frame(argv: list[str], marker: bytes, env: dict[str, str]) -> float:
    """Seconds from spawning `argv` on a 120×40 pty until `marker` is painted."""
    return paint_times(argv, [marker], env)[0]


def paint_times(argv: list[str], markers: list[bytes], env: dict[str, str]) -> list[float]:
    """Seconds from spawning `argv` on a 120×40 pty until each of `markers` is painted (in
    order: each is looked for in what came after the previous one)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes the program
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    started = time.perf_counter()
    seen = b""
    times: list[float] = []
    try:
        while time.perf_counter() - started < DEADLINE:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            while len(times) < len(markers) and markers[len(times)] in seen:
                times.append(time.perf_counter() - started)
                seen = seen[seen.index(markers[len(times) - 1]) :]
            if len(times) == len(markers):
                return times
        raise RuntimeError(f"{argv} never painted {markers[len(times)]!r}")
    finally:
        os.kill(pid, signal.SIGTERM)
        _drain(fd, pid)


def _drain(fd: int, pid: int) -> None:
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                if not os.read(fd, 65536):
                    break
            except OSError:
                break
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
    else:
        os.kill(pid, signal.SIGKILL)
    os.close(fd)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def measure(repeats: int) -> tuple[list[float], list[float], list[float]]:
    """(rac first frame, rac fleet live, bare first frame) in ms, interleaved so both see the
    same machine.

    rac's own modules are byte-compiled first, as `pip install` does for an installed
    package (an editable checkout with PYTHONDONTWRITEBYTECODE would compile every start).
    """
    subprocess.run(
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            *(str(ROOT / part) for part in ("tui", "widgets", "themes", "tests")),
        ],
        check=True,
    )
    env = {**os.environ, "TERM": "xterm-256color", "PYTHONPATH": str(ROOT)}
    rac_times, live_times, bare_times = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        lab = Path(tmp) / "lab"
        env["XDG_CONFIG_HOME"] = str(Path(tmp) / "config")
        rac = [sys.executable, "-m", "tui", "--state-dir", str(lab)]
        bare = [sys.executable, str(ROOT / "tests" / "perf" / "bare_app.py")]
        # The first frame names the first appliance; the live fleet says its state (DISABLED
        # on a fresh lab), where the first frame said "starting…".
        markers = [b"mail-gw-1", b"DISABLED"]
        paint_times(rac, markers, env)  # warm: the lab's keys are made on first use
        for _ in range(repeats):
            first, live = paint_times(rac, markers, env)
            rac_times.append(first * 1000)
            live_times.append(live * 1000)
            bare_times.append(first_frame(bare, b"bare-app-first-frame", env) * 1000)
            (lab / "state" / "appliances.jsonl").unlink(missing_ok=True)
    return rac_times, live_times, bare_times


async def run(repeats: int) -> list[Result]:
    """The rows of the table."""
    rac, live, bare = await asyncio.to_thread(measure, repeats)
    return [
        Result(
            "console start (spawn → first frame, the fleet as listed, pty)",
            Samples(tuple(rac), "ms"),
            Samples(tuple(bare), "ms"),
            Goal.RATIO_AT_MOST,
            1.5,
            note="reference = bare Textual app",
        ),
        Result(
            "console start (spawn → lab up and the fleet live, pty)",
            Samples(tuple(live), "ms"),
            Samples(tuple(bare), "ms"),
            Goal.RATIO_AT_MOST,
            3.0,
            note="reference = bare Textual app; before the first frame came first: 2.6–2.8×",
        ),
    ]
