"""Fleet setup (1,000 appliances enabled at once, lab relay in another process) against a bare
asyncssh client pair doing connect + auth + forward 1,000 times; then the idle cost of the
1,000 steady tunnels (CPU, wakeups)."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.perf.harness import Goal, Result, Samples
from tests.perf.rig import lab_process

COUNT = 1000
KEEPALIVES_PER_MIN = 60 / 15  # one keepalive exchange per tunnel every 15 s
HAS_QUICK = True


async def _lines(*argv: str, count: int, timeout: float) -> list[dict[str, Any]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
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
            await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return results


async def _bare(count: int, repeats: int) -> list[dict[str, Any]]:
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.perf.bare_pair", "server", stdout=asyncio.subprocess.PIPE)
    try:
        assert server.stdout is not None
        port = (await server.stdout.readline()).decode().strip()
        results = []
        for _ in range(repeats):
            results += await _lines("-m", "tests.perf.bare_pair", "client", port, str(count),
                                    count=1, timeout=300)
        return results
    finally:
        server.terminate()
        await server.wait()


async def run(repeats: int, quick: bool = False) -> list[Result]:
    """Three rows: setup time, RSS per tunnel, idle cost."""
    idle = 20.0 if quick else 60.0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        async with lab_process(folder / "lab") as info:
            lab_json = info.directory / "lab.json"
            rac = await _lines("-m", "tests.perf.fleet_worker", str(lab_json),
                               str(folder / "agents"), str(COUNT), "0", str(repeats),
                               count=repeats, timeout=900)
            steady = await _lines("-m", "tests.perf.fleet_worker", str(lab_json),
                                  str(folder / "agents"), str(COUNT), str(idle), "1",
                                  count=1, timeout=900)
        bare = await _bare(COUNT, repeats)
    setup = Result(f"fleet setup ({COUNT} enabled at once → all ESTABLISHED)",
                   Samples(tuple(r["setup_s"] for r in rac), "s"),
                   Samples(tuple(r["setup_s"] for r in bare), "s"), Goal.RATIO_AT_MOST, 1.2,
                   note=(f"p50 {_median(rac, 'p50_s'):.2f} s, p99 {_median(rac, 'p99_s'):.2f} s; "
                         f"bare p50 {_median(bare, 'p50_s'):.2f} s, p99 "
                         f"{_median(bare, 'p99_s'):.2f} s"),
                   extra={"rac_runs": rac, "bare_runs": bare})
    memory = Result("RSS per tunnel in the agent process",
                    Samples(tuple(r["rss_per_tunnel_kib"] for r in rac), "KiB"),
                    Samples(tuple(r["rss_per_conn_kib"] for r in bare), "KiB"),
                    Goal.VALUE_AT_MOST, 64, note="reference = bare asyncssh client per conn")
    quiet = steady[0]
    expected = COUNT * KEEPALIVES_PER_MIN
    idle_row = Result(f"idle: {COUNT} steady tunnels, CPU",
                      Samples((quiet["idle_cpu_percent"],), "% of a core"), None,
                      Goal.VALUE_AT_MOST, 2.0,
                      note=(f"{quiet['idle_wakeups_per_min']:.0f} wakeups/min over "
                            f"{quiet['idle_s']:.0f} s; keepalive exchanges expected "
                            f"{expected:.0f}/min"),
                      extra={"steady": quiet})
    return [setup, memory, idle_row]


def _median(runs: list[dict[str, Any]], key: str) -> float:
    values = sorted(r[key] for r in runs)
    return values[len(values) // 2]
