"""`rac support connect` when the path to the relay is cut mid-session: a sentence and exit
255 (what OpenSSH's client returns), the terminal's descriptors intact, never a traceback."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.conftest import LAB_C, LAB_C_SERIAL, EngineFactory, RunningLab
from tests.faults.cut_proxy import CutProxy
from tui.engine.states import TunnelState

RAC = [sys.executable, "-m", "tui"]
PROMPT = b"(SERVICE)> "


def _seed_file(directory: Path, seed: str) -> str:
    path = directory / "seed"
    path.write_text(seed + "\n")
    path.chmod(0o600)
    return str(path)


async def _read_until(stream: asyncio.StreamReader, marker: bytes, timeout: float) -> bytes:
    seen = b""
    async with asyncio.timeout(timeout):
        while marker not in seen:
            chunk = await stream.read(4096)
            assert chunk, f"the stream ended before {marker!r}: {seen!r}"
            seen += chunk
    return seen


async def test_support_connect_says_the_connection_was_lost_when_the_path_is_cut(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    engine, events = await make_engine()
    seed = await engine.enable(LAB_C)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    relay = lab.lab.relay
    assert relay is not None
    proxy = CutProxy("127.0.0.1", lab.info.relay_ports["22"])
    port = await proxy.start()
    known_hosts = tmp_path / "relay_known_hosts"
    known_hosts.write_text(
        f"[127.0.0.1]:{port} {relay.host_key.export_public_key().decode().strip()}\n"
    )
    environment = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "engineer-state")}
    process = await asyncio.create_subprocess_exec(
        *RAC,
        "support",
        "connect",
        LAB_C_SERIAL,
        "--seed-file",
        _seed_file(tmp_path, seed),
        "--relay",
        f"127.0.0.1:{port}",
        "--ca",
        str(lab.info.support_ca_key),
        "--key",
        str(lab.info.engineer_key),
        "--known-hosts",
        str(known_hosts),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        await _read_until(process.stdout, PROMPT, 20)
        proxy.cut()
        code = await asyncio.wait_for(process.wait(), 10)
        err = (await process.stderr.read()).decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await proxy.close()
    assert code == 255, err
    assert "rac: the connection through the relay was lost (connection reset by peer)" in err
    assert "ended without an exit status" in err
    for trace in ("Traceback", "lost sys.stderr", "I/O operation on closed file"):
        assert trace not in err


async def test_support_connect_command_cut_while_connecting_exits_1_with_a_sentence(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    engine, events = await make_engine()
    seed = await engine.enable(LAB_C)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    relay = lab.lab.relay
    assert relay is not None
    proxy = CutProxy("127.0.0.1", lab.info.relay_ports["22"])
    port = await proxy.start()
    known_hosts = tmp_path / "relay_known_hosts"
    known_hosts.write_text(
        f"[127.0.0.1]:{port} {relay.host_key.export_public_key().decode().strip()}\n"
    )
    environment = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "engineer-state")}
    process = await asyncio.create_subprocess_exec(
        *RAC,
        "support",
        "connect",
        LAB_C_SERIAL,
        "--seed-file",
        _seed_file(tmp_path, seed),
        "--relay",
        f"127.0.0.1:{port}",
        "--ca",
        str(lab.info.support_ca_key),
        "--key",
        str(lab.info.engineer_key),
        "--known-hosts",
        str(known_hosts),
        "--command",
        "status",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment,
    )
    try:
        await proxy.wait_connected()
        proxy.cut()
        _, err_bytes = await asyncio.wait_for(process.communicate(), 10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await proxy.close()
    err = err_bytes.decode()
    assert process.returncode == 1, err
    assert err.startswith(f"rac: Cannot reach the relay 127.0.0.1:{port}: ")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


async def test_a_cut_leaves_the_terminal_as_it_was(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    """On a real terminal (a pty): raw mode undone, descriptors open and blocking again."""
    import termios

    engine, events = await make_engine()
    seed = await engine.enable(LAB_C)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    relay = lab.lab.relay
    assert relay is not None
    proxy = CutProxy("127.0.0.1", lab.info.relay_ports["22"])
    port = await proxy.start()
    known_hosts = tmp_path / "relay_known_hosts"
    known_hosts.write_text(
        f"[127.0.0.1]:{port} {relay.host_key.export_public_key().decode().strip()}\n"
    )
    controller, terminal = os.openpty()
    before = termios.tcgetattr(terminal)
    environment = {
        **os.environ,
        "XDG_STATE_HOME": str(tmp_path / "engineer-state"),
        "TERM": "xterm",
    }
    process = await asyncio.create_subprocess_exec(
        *RAC,
        "support",
        "connect",
        LAB_C_SERIAL,
        "--seed-file",
        _seed_file(tmp_path, seed),
        "--relay",
        f"127.0.0.1:{port}",
        "--ca",
        str(lab.info.support_ca_key),
        "--key",
        str(lab.info.engineer_key),
        "--known-hosts",
        str(known_hosts),
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=environment,
    )
    screen = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(screen), os.fdopen(controller, "rb", buffering=0)
    )
    try:
        await _read_until(screen, PROMPT, 20)
        proxy.cut()
        code = await asyncio.wait_for(process.wait(), 10)
        said = await _read_until(screen, b"without an exit status.", 5)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await proxy.close()
        transport.close()
    assert code == 255
    assert b"rac: the connection through the relay was lost" in said
    assert b"Traceback" not in said and b"lost sys.stderr" not in said
    assert termios.tcgetattr(terminal) == before  # raw mode undone
    assert os.get_blocking(terminal)
    os.close(terminal)
