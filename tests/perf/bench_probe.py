"""Probe: 100 hosts × 6 ports from one process, mixed outcomes with timeouts, against one
probe timeout."""

from __future__ import annotations

import asyncio
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

from tests.fault_servers import blackhole, closed_port, fault_server
from tests.perf.harness import Goal, Result, Samples
from tui.engine.lab.dns_responder import DnsResponder
from tui.engine.lab.lab import Lab
from tui.engine.port_check import Outcome
from tui.engine.probe import ProbeTarget, run_probe

HOSTS = 100
PORTS = (22, 25, 53, 80, 443, 4766)
TIMEOUT = 2.0


async def _probe_fleet(port_maps: list[dict[str, int]], nameserver: str) -> tuple[float, int]:
    targets = [
        ProbeTarget(f"h{i:03d}.bench.test", PORTS, 25, (nameserver,), port_maps[i], TIMEOUT)
        for i in range(HOSTS)
    ]
    started = time.perf_counter()
    reports = await asyncio.gather(*(run_probe(target) for target in targets))
    took = time.perf_counter() - started
    timeouts = sum(1 for r in reports for p in r.ports if p.outcome is Outcome.TIMEOUT)
    return took, timeouts


async def run(repeats: int) -> Result:
    """The row of the table."""
    with tempfile.TemporaryDirectory() as tmp:
        lab = Lab(Path(tmp) / "lab")
        info = await lab.start()
        dns = DnsResponder({f"h{i:03d}.bench.test": ["127.0.0.1"] for i in range(HOSTS)})
        nameserver = await dns.start()
        async with AsyncExitStack() as stack:
            servers = [
                info.relay_ports["22"],
                await stack.enter_async_context(fault_server("smtp")),
                await stack.enter_async_context(fault_server("http")),
                await stack.enter_async_context(closed_port()),
                await stack.enter_async_context(blackhole()),
                await stack.enter_async_context(fault_server("reset")),
            ]
            # every host sees the six behaviours on a different rotation of its ports
            port_maps = [
                {
                    str(port): servers[(index + shift) % len(servers)]
                    for index, port in enumerate(PORTS)
                }
                for shift in range(HOSTS)
            ]
            runs = []
            timeouts = 0
            for _ in range(repeats):
                took, timeouts = await _probe_fleet(port_maps, nameserver)
                runs.append(took)
        dns.close()
        await lab.close()
    return Result(
        f"probe ({HOSTS} hosts × 6 ports, mixed, {timeouts} timeouts)",
        Samples(tuple(runs), "s"),
        Samples((TIMEOUT,), "s"),
        Goal.RATIO_AT_MOST,
        1.3,
        note="reference = one probe timeout",
    )
