"""Console start: process start → first frame with the lab up, in a real pseudo-terminal,
against a bare Textual app started the same way in the same run."""

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
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes the program
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    started = time.perf_counter()
    seen = b""
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
            if marker in seen:
                return time.perf_counter() - started
        raise RuntimeError(f"{argv} never painted {marker!r}")
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


def measure(repeats: int) -> tuple[list[float], list[float]]:
    """(rac, bare) first-frame times in ms, interleaved so both see the same machine.

    rac's own modules are byte-compiled first, as `pip install` does for an installed
    package (an editable checkout with PYTHONDONTWRITEBYTECODE would compile every start).
    """
    subprocess.run([sys.executable, "-m", "compileall", "-q", *(str(ROOT / part) for part in
                    ("tui", "widgets", "themes", "tests"))], check=True)
    env = {**os.environ, "TERM": "xterm-256color", "PYTHONPATH": str(ROOT)}
    rac_times, bare_times = [], []
    with tempfile.TemporaryDirectory() as tmp:
        lab = Path(tmp) / "lab"
        env["XDG_CONFIG_HOME"] = str(Path(tmp) / "config")
        rac = [sys.executable, "-m", "tui", "--state-dir", str(lab)]
        bare = [sys.executable, str(ROOT / "tests" / "perf" / "bare_app.py")]
        first_frame(rac, b"mail-gw-1", env)  # warm: the lab's keys are made on first use
        for _ in range(repeats):
            rac_times.append(first_frame(rac, b"mail-gw-1", env) * 1000)
            bare_times.append(first_frame(bare, b"bare-app-first-frame", env) * 1000)
            (lab / "state" / "appliances.jsonl").unlink(missing_ok=True)
    return rac_times, bare_times


async def run(repeats: int) -> Result:
    """The row of the table."""
    rac, bare = await asyncio.to_thread(measure, repeats)
    return Result("console start (spawn → first frame with the lab up, pty)",
                  Samples(tuple(rac), "ms"), Samples(tuple(bare), "ms"), Goal.RATIO_AT_MOST,
                  1.5, note="reference = bare Textual app")
