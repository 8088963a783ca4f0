"""Tunnel up: rac enable → ESTABLISHED in a running engine, against OpenSSH `ssh -N -R`
start → first byte through the forward (loopback sshd)."""

from __future__ import annotations

import asyncio
import getpass
import tempfile
import time
from pathlib import Path

from tests.openssh import free_port, sshd
from tests.perf.harness import Goal, Result, Samples
from tests.perf.rig import client_key, known_hosts_for, require_openssh, ssh_options
from tests.recorder import EventRecorder
from tui.engine.engine import Engine
from tui.engine.inventory import load_inventory
from tui.engine.lab.lab import Lab
from tui.engine.states import TunnelState

APPLIANCE = "mail-gw-1"


async def rac_tunnel_up(folder: Path, repeats: int) -> list[float]:
    """Milliseconds from enable() to ESTABLISHED, relay and DNS of the lab in process."""
    lab = Lab(folder / "lab")
    info = await lab.start()
    engine = Engine(load_inventory(info.inventory), folder / "state")
    events = EventRecorder()
    engine.subscribe(events)
    times = []
    try:
        await engine.start()
        for _ in range(repeats + 1):
            mark = events.mark
            started = time.perf_counter()
            await engine.enable(APPLIANCE)
            await events.wait_state(APPLIANCE, TunnelState.ESTABLISHED, after=mark)
            times.append((time.perf_counter() - started) * 1000)
            await engine.disable(APPLIANCE)
    finally:
        await engine.shutdown()
        await lab.close()
    return times[1:]  # the first run also creates the appliance's key


async def openssh_tunnel_up(folder: Path, repeats: int) -> list[float]:
    """Milliseconds from spawning `ssh -N -R` to the first byte through its forward."""
    key = client_key(folder)
    authorized = folder / "authorized_keys"
    authorized.write_text(Path(f"{key}.pub").read_text())

    async def one_byte(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"x")
        await writer.drain()
        writer.close()

    target = await asyncio.start_server(one_byte, "127.0.0.1", 0)
    target_port = target.sockets[0].getsockname()[1]
    times = []
    async with sshd(folder / "sshd", authorized_keys=authorized) as port:
        known = known_hosts_for(folder, folder / "sshd", port)
        for _ in range(repeats):
            remote = free_port()
            started = time.perf_counter()
            ssh = await asyncio.create_subprocess_exec(
                "ssh",
                *ssh_options(key, known),
                "-v",
                "-N",
                "-o",
                "ExitOnForwardFailure=yes",
                "-R",
                f"127.0.0.1:{remote}:127.0.0.1:{target_port}",
                "-p",
                str(port),
                f"{getpass.getuser()}@127.0.0.1",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                assert ssh.stderr is not None
                async with asyncio.timeout(20):
                    while b"remote forward success" not in await ssh.stderr.readline():
                        pass
                    reader, writer = await asyncio.open_connection("127.0.0.1", remote)
                    await reader.readexactly(1)
                    times.append((time.perf_counter() - started) * 1000)
                    writer.close()
            finally:
                ssh.terminate()
                await ssh.wait()
    target.close()
    return times


async def run(repeats: int) -> Result:
    """The row of the table."""
    require_openssh()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rac = await rac_tunnel_up(folder, repeats)
        reference = await openssh_tunnel_up(folder, repeats)
    return Result(
        "tunnel up (enable → ESTABLISHED vs ssh -N -R → first byte)",
        Samples(tuple(rac), "ms"),
        Samples(tuple(reference), "ms"),
        Goal.RATIO_AT_MOST,
        0.25,
    )
