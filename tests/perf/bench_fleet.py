"""Fleet setup (1,000 appliances enabled at once, lab relay in another process) against a bare
asyncssh client pair doing connect + auth + forward 1,000 times; then the idle cost of the
1,000 steady tunnels (CPU, wakeups). Every repeat runs in fresh processes on both sides."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.perf.harness import Goal, Result, Samples
from tests.perf.rig import lab_process

COUNT = 1000
KEEPALIVES_PER_MIN = 60 / 15  # one keepalive exchange per tunnel every 15 s
HAS_QUICK = True


def _process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _json_lines(
    *argv: str,
    count: int,
    timeout: float,
    on_line: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    results = []
    try:
        async with asyncio.timeout(timeout):
            for _ in range(count):
                line = await process.stdout.readline()
                if not line:
                    error = await process.stderr.read() if process.stderr else b""
                    raise RuntimeError(f"{argv} failed: {error.decode()[-2000:]}")
                results.append(json.loads(line))
                if on_line is not None:
                    on_line(results[-1])
            await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return results


async def _rac_once(folder: Path, idle: float) -> dict[str, Any]:
    """A fresh relay (lab) process and a fresh agent process; keys kept from the warm-up."""
    async with lab_process(folder / "lab") as info:
        relay_pid = int(json.loads((info.directory / "lab.json").read_text())["pid"])
        relay_cpu = _process_cpu(relay_pid)
        result = (
            await _json_lines(
                "-m",
                "tests.perf.fleet_worker",
                str(info.directory / "lab.json"),
                str(folder / "agents"),
                str(COUNT),
                str(idle),
                "1",
                count=1,
                timeout=900,
            )
        )[0]
        result["relay_cpu_ms_per_tunnel"] = 1000 * (_process_cpu(relay_pid) - relay_cpu) / COUNT
        return result


async def _bare_once() -> dict[str, Any]:
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.perf.bare_pair", "server", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert server.stdout is not None
        port = (await server.stdout.readline()).decode().strip()
        server_cpu = _process_cpu(server.pid)
        result = (
            await _json_lines(
                "-m", "tests.perf.bare_pair", "client", port, str(COUNT), count=1, timeout=300
            )
        )[0]
        result["relay_cpu_ms_per_tunnel"] = 1000 * (_process_cpu(server.pid) - server_cpu) / COUNT
        return result
    finally:
        server.terminate()
        await server.wait()


async def run(repeats: int, quick: bool = False) -> list[Result]:
    """Five rows: setup time, CPU per set-up on each side, RSS per tunnel, idle cost."""
    idle = 20.0 if quick else 60.0
    rac: list[dict[str, Any]] = []
    bare: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        await _rac_once(folder, 0)  # warm-up: the appliances' keys are made on first enable
        for _ in range(repeats):  # interleaved, so both see the same machine
            rac.append(await _rac_once(folder, 0))
            bare.append(await _bare_once())
        steady = await _rac_once(folder, idle)
    setup = Result(
        f"fleet setup ({COUNT} enabled at once → all ESTABLISHED)",
        Samples(tuple(r["setup_s"] for r in rac), "s"),
        Samples(tuple(r["setup_s"] for r in bare), "s"),
        Goal.RATIO_AT_MOST,
        1.2,
        note=(
            f"first up {_median(rac, 'first_s'):.2f} s, p50 "
            f"{_median(rac, 'p50_s'):.2f} s, p99 {_median(rac, 'p99_s'):.2f} s (bare "
            f"p50 {_median(bare, 'p50_s'):.2f} s); CPU per tunnel: agent "
            f"{_median(rac, 'cpu_ms_per_tunnel'):.1f} ms, relay "
            f"{_median(rac, 'relay_cpu_ms_per_tunnel'):.1f} ms (bare "
            f"{_median(bare, 'cpu_ms_per_tunnel'):.1f} / "
            f"{_median(bare, 'relay_cpu_ms_per_tunnel'):.1f} ms)"
        ),
        extra={"rac_runs": rac, "bare_runs": bare},
    )
    cpu_rows = [
        Result(
            f"CPU per tunnel set-up, {side} ({COUNT} at once; reference: bare asyncssh "
            f"{peer}, connect + ed25519 auth + one tcpip-forward)",
            Samples(tuple(r[key] for r in rac), "ms"),
            Samples(tuple(r[key] for r in bare), "ms"),
            Goal.RATIO_AT_MOST,
            1.1,
            note=note,
        )
        for side, peer, key, note in (
            (
                "agent",
                "client",
                "cpu_ms_per_tunnel",
                "rac: enable → ESTABLISHED (seed, saved record, audit, pin check, events); "
                "bare: asyncssh's default ciphers",
            ),
            (
                "relay",
                "server",
                "relay_cpu_ms_per_tunnel",
                "rac: admission, enrolment check, route, audit lines, keepalive; the whole "
                "worker's life (set-up and close) on both",
            ),
        )
    ]
    memory = Result(
        "RSS per tunnel in the agent process",
        Samples(tuple(r["rss_per_tunnel_kib"] for r in rac), "KiB"),
        Samples(tuple(r["rss_per_conn_kib"] for r in bare), "KiB"),
        Goal.VALUE_AT_MOST,
        64,
        note="reference = bare asyncssh client per conn",
    )
    expected = COUNT * KEEPALIVES_PER_MIN
    idle_row = Result(
        f"idle: {COUNT} steady tunnels, agent CPU",
        Samples((steady["idle_cpu_percent"],), "% of a core"),
        None,
        Goal.VALUE_AT_MOST,
        2.0,
        note=(
            f"{steady['idle_wakeups_per_min']:.0f} wakeups/min over "
            f"{steady['idle_s']:.0f} s; keepalive exchanges expected "
            f"{expected:.0f}/min"
        ),
        extra={"steady": steady},
    )
    return [setup, *cpu_rows, memory, idle_row]


def _median(runs: list[dict[str, Any]], key: str) -> float:
    values = sorted(float(r[key]) for r in runs)
    return values[len(values) // 2]
