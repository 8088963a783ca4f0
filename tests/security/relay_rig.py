"""`rac relay --config` as deployed (enrolment required), in its own process, and SSH clients
that play an appliance agent or an engineer against it."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh
import tomli_w

RAC = [sys.executable, "-m", "tui"]


@dataclass
class DeployedRelay:
    """A running relay process and the files it uses."""

    folder: Path
    config: Path
    process: asyncio.subprocess.Process
    ports: list[int]
    log: list[str] = field(default_factory=list)
    _logged: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def agents_dir(self) -> Path:
        """Where enrolments live."""
        return self.folder / "agents"

    @property
    def audit(self) -> Path:
        """The relay's audit log."""
        return self.folder / "relay-audit.jsonl"

    async def admin(self, *args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
        """`rac relay ACTION ... --config FILE`: exit code, stdout, stderr."""
        process = await asyncio.create_subprocess_exec(
            *RAC,
            "relay",
            *args,
            "--config",
            str(self.config),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(stdin), 60)
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    async def enrol(self, serial: str, key: asyncssh.SSHKey, *gateway_for: str) -> None:
        """Enrol `key` for `serial` with the admin command (and bind children to it)."""
        extra = ["--gateway-for", *gateway_for] if gateway_for else []
        code, _, err = await self.admin("enrol", serial, "-", *extra, stdin=key.export_public_key())
        assert code == 0, err

    async def wait_log(self, text: str, timeout: float = 30.0) -> str:
        """The first line of the relay's stderr containing `text`."""
        async with asyncio.timeout(timeout):
            while True:
                for line in self.log:
                    if text in line:
                        return line
                self._logged.clear()
                await self._logged.wait()

    async def _read_log(self) -> None:
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.log.append(line.decode(errors="replace"))
            self._logged.set()


async def start_relay_process(config: Path) -> tuple[asyncio.subprocess.Process, list[int]]:
    """Start `rac relay --config` and read the ports from its first line."""
    process = await asyncio.create_subprocess_exec(
        *RAC,
        "relay",
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    match = re.search(r"ports ([\d, ]+);", line)
    if not match:
        error = await process.stderr.read() if process.stderr else b""
        raise AssertionError(f"relay did not start: {line!r} {error.decode()}")
    return process, [int(port) for port in match.group(1).split(", ")]


@asynccontextmanager
async def deployed_relay(
    folder: Path, *, engineers: Sequence[asyncssh.SSHKey] = (), ports: int = 2, **settings: Any
) -> AsyncIterator[DeployedRelay]:
    """A relay that requires enrolment, listening on 127.0.0.1, with `settings` in its config."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "relay.toml"
    config.write_text(tomli_w.dumps({"listen": "127.0.0.1", "ports": [0] * ports, **settings}))
    (folder / "engineers_authorized_keys").write_bytes(
        b"".join(key.export_public_key() for key in engineers)
    )
    process, bound = await start_relay_process(config)
    relay = DeployedRelay(folder, config, process, bound)
    reader = asyncio.get_running_loop().create_task(relay._read_log())
    try:
        yield relay
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 15)
        if process.returncode is None:
            process.kill()
            await process.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader, 5)


class NoticeClient(asyncssh.SSHClient):
    """An SSH client that keeps the debug messages the relay sends (route notices)."""

    def __init__(self) -> None:
        self.notices: list[str] = []
        self.noticed = asyncio.Event()

    def debug_msg_received(self, msg: str, lang: str, always_display: bool) -> None:
        self.notices.append(msg)
        self.noticed.set()


async def connect_as(
    relay: DeployedRelay,
    username: str,
    keys: Sequence[asyncssh.SSHKey],
    *,
    source: str = "127.0.0.1",
    port: int = 0,
) -> tuple[asyncssh.SSHClientConnection, NoticeClient]:
    """Log in to the relay as `username` with exactly `keys`, from `source`."""
    client = NoticeClient()
    conn = await asyncssh.connect(
        "127.0.0.1",
        relay.ports[port],
        username=username,
        client_keys=list(keys),
        known_hosts=None,
        agent_path=None,
        config=None,
        local_addr=(source, 0),
        client_factory=lambda: client,
        connect_timeout=10,
        login_timeout=20,
    )
    return conn, client


async def announce(
    conn: asyncssh.SSHClientConnection, name: str, greeting: bytes
) -> asyncssh.SSHListener:
    """Ask the relay for the route `name`; whoever is routed there is answered `greeting`."""

    async def answer(reader: asyncssh.SSHReader[bytes], writer: asyncssh.SSHWriter[bytes]) -> None:
        writer.write(greeting)
        await writer.drain()
        writer.close()

    return await conn.start_server(lambda _host, _port: answer, name, 22, encoding=None)


async def reach(relay: DeployedRelay, engineer: asyncssh.SSHKey, serial: str) -> bytes:
    """What an engineer who jumps to `serial` through the relay hears first."""
    conn, _ = await connect_as(relay, "alice", [engineer])
    try:
        reader, writer = await conn.open_connection(serial, 22, encoding=None)
        data: bytes = await asyncio.wait_for(reader.read(100), 10)
        writer.close()
        return data
    finally:
        conn.close()
