"""The engineer's side: mint a short-lived certificate and open the session through the relay."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import termios
import tty
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from tui.engine.errors import RacError
from tui.engine.keys import read_own_private_key
from tui.engine.ssh_options import ENCRYPTION_ALGS
from tui.engine.support_ca import SERVICE_USER, mint_support_certificate

APPLIANCE_PORT = 22


@dataclass(frozen=True, slots=True)
class SupportRoute:
    """How to reach a relay and what to prove there and at the appliance."""

    relay_host: str
    relay_port: int
    known_hosts: Path
    engineer_key: Path
    ca_key: Path
    identity: str
    appliance_known_hosts: Path


class _AcceptNewApplianceKey(asyncssh.SSHClient):
    """Trust-on-first-use for the appliance's own host key, like `StrictHostKeyChecking=accept-new`.

    The relay's key is pinned strictly; an appliance's key is learned the first time and must
    not change after that.
    """

    def __init__(self, store: Path, serial: str) -> None:
        self._store = store
        self._serial = serial.lower()
        self.learned: str = ""

    def validate_host_public_key(self, host: str, addr: str, port: int,
                                 key: asyncssh.SSHKey) -> bool:
        known: list[asyncssh.SSHKey] = []
        if self._store.exists():
            known = list(asyncssh.read_known_hosts(str(self._store)).match(
                self._serial, "", None)[0])
        if known:
            return any(k.public_data == key.public_data for k in known)
        self._store.parent.mkdir(parents=True, exist_ok=True)
        with self._store.open("a", encoding="utf-8") as handle:
            handle.write(f"{self._serial} {key.export_public_key().decode().strip()}\n")
        self.learned = key.get_fingerprint("sha256")
        return True


async def open_support_connection(
        route: SupportRoute, serial: str, seed: str) -> tuple[asyncssh.SSHClientConnection,
                                                               asyncssh.SSHClientConnection, str]:
    """(relay connection, appliance connection, newly learned fingerprint or '')."""
    try:
        engineer_key = read_own_private_key(route.engineer_key, "the engineer's key")
        ca_key = read_own_private_key(route.ca_key, "the support CA key")
    except (OSError, asyncssh.KeyImportError) as error:
        raise RacError(f"Cannot read a key: {error}.") from None
    certificate = mint_support_certificate(ca_key, engineer_key, serial=serial, seed=seed,
                                           identity=route.identity)
    try:
        relay = await asyncssh.connect(
            route.relay_host, route.relay_port, username=route.identity,
            client_keys=[engineer_key], known_hosts=str(route.known_hosts), agent_path=None,
            config=None, encryption_algs=ENCRYPTION_ALGS)
    except asyncssh.HostKeyNotVerifiable:
        raise RacError(f"The relay {route.relay_host}:{route.relay_port} presented a host key "
                       f"that {route.known_hosts} does not pin. Not connecting.") from None
    except asyncssh.PermissionDenied:
        raise RacError("The relay did not accept the engineer key.") from None
    except (OSError, asyncssh.Error) as error:
        raise RacError(f"Cannot reach the relay {route.relay_host}:{route.relay_port}: "
                       f"{error}.") from None
    client = _AcceptNewApplianceKey(route.appliance_known_hosts, serial)
    try:
        appliance = await asyncssh.connect(
            serial, APPLIANCE_PORT, tunnel=relay, client_factory=lambda: client,
            username=SERVICE_USER, client_keys=[(engineer_key, certificate)],
            known_hosts=([], [], []), agent_path=None, config=None,
            encryption_algs=ENCRYPTION_ALGS)
    except asyncssh.ChannelOpenError as error:
        relay.close()
        raise RacError(f"No session to {serial}: {error.reason}") from None
    except asyncssh.PermissionDenied:
        relay.close()
        raise RacError(f"{serial} refused the login: check the serial and the seed the "
                       "operator gave you (the seed may have been replaced, or access "
                       "disabled).") from None
    except asyncssh.HostKeyNotVerifiable:
        relay.close()
        raise RacError(f"{serial} presented a host key different from the one recorded in "
                       f"{route.appliance_known_hosts}. Not connecting.") from None
    except (OSError, asyncssh.Error) as error:
        relay.close()
        raise RacError(f"The session to {serial} failed: {error}.") from None
    return relay, appliance, client.learned


async def run_command(appliance: asyncssh.SSHClientConnection, command: str) -> int:
    """Run one command in the (SERVICE) shell; print its output; return its exit status."""
    result = await appliance.run(command, check=False)
    sys.stdout.write(str(result.stdout or ""))
    sys.stderr.write(str(result.stderr or ""))
    if result.exit_status is None:
        sys.stderr.write("rac: the appliance closed the session.\n")
        return 255
    return result.exit_status


async def run_interactive(appliance: asyncssh.SSHClientConnection) -> int:
    """An interactive shell with a PTY, the local terminal in raw mode."""
    size = shutil.get_terminal_size()
    process = await appliance.create_process(
        term_type=os.environ.get("TERM", "xterm-256color"),
        term_size=(size.columns, size.lines), encoding=None)
    stdin_fd = sys.stdin.fileno()
    saved = termios.tcgetattr(stdin_fd) if os.isatty(stdin_fd) else None
    loop = asyncio.get_running_loop()

    def resized() -> None:
        now = shutil.get_terminal_size()
        process.change_terminal_size(now.columns, now.lines)

    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGWINCH, resized)
    try:
        if saved is not None:
            tty.setraw(stdin_fd)
        await process.redirect(stdin=sys.stdin.buffer, stdout=sys.stdout.buffer,
                               stderr=sys.stderr.buffer, send_eof=True)
        await process.wait_closed()
        if process.exit_status is None:
            sys.stderr.write("\r\nrac: the appliance closed the session.\r\n")
    finally:
        if saved is not None:
            termios.tcsetattr(stdin_fd, termios.TCSADRAIN, saved)
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGWINCH)
    return process.exit_status if process.exit_status is not None else 255
