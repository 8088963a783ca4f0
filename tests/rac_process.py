"""`rac` as a user runs it, in a subprocess: arguments, stdin, output, exit code."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

RAC = [sys.executable, "-m", "tui"]


async def spawn(*args: str, stdin: bool = False) -> asyncio.subprocess.Process:
    """Start `rac ARGS` with pipes (and a stdin pipe if asked)."""
    return await asyncio.create_subprocess_exec(
        *RAC,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
    )


async def run(*args: str, stdin: str | None = None, timeout: float = 30) -> tuple[int, str, str]:
    """Run `rac ARGS` to the end: (exit code, stdout, stderr)."""
    process = await spawn(*args, stdin=stdin is not None)
    out, err = await asyncio.wait_for(
        process.communicate(stdin.encode() if stdin is not None else None), timeout
    )
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def read_until(
    process: asyncio.subprocess.Process, want: str, timeout: float = 20
) -> list[str]:
    """Lines of stdout up to and including the first that contains `want`."""
    assert process.stdout is not None
    lines: list[str] = []
    async with asyncio.timeout(timeout):
        while True:
            line = (await process.stdout.readline()).decode()
            assert line, f"rac ended before printing {want!r}: {lines}"
            lines.append(line)
            if want in line:
                return lines


async def stop(process: asyncio.subprocess.Process) -> tuple[str, str]:
    """SIGTERM, then the rest of its output."""
    if process.returncode is None:
        process.terminate()
    out, err = await asyncio.wait_for(process.communicate(), 20)
    return out.decode(), err.decode()


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every JSON object line of `text`."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]
