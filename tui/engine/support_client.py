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
from typing import Any

import asyncssh

from tui.engine.errors import RacError
from tui.engine.keys import read_own_private_key
from tui.engine.ssh_options import ENCRYPTION_ALGS
from tui.engine.support_ca import SERVICE_USER, mint_support_certificate

APPLIANCE_PORT = 22
# What OpenSSH's client returns when a session ends without an exit status (connection lost).
ENDED_WITHOUT_STATUS = 255
SETTLE_TIMEOUT = 0.25


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


class _LossWitness(asyncssh.SSHClient):
    """Notes on the relay connection why it ended (`get_extra_info("lost")`), so a cut path
    is told apart from an appliance that closed the session."""

    def __init__(self) -> None:
        self._conn: asyncssh.SSHClientConnection | None = None

    def connection_made(self, conn: asyncssh.SSHClientConnection) -> None:
        self._conn = conn

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None and exc is not None:
            self._conn.set_extra_info(lost=exc)


class _AcceptNewApplianceKey(asyncssh.SSHClient):
    """Trust-on-first-use for the appliance's own host key, like `StrictHostKeyChecking=accept-new`.

    The relay's key is pinned strictly; an appliance's key is learned the first time and must
    not change after that.
    """

    def __init__(self, store: Path, serial: str) -> None:
        self._store = store
        self._serial = serial.lower()
        self.learned: str = ""
        self.banner: str = ""

    def auth_banner_received(self, msg: str, lang: str) -> None:
        """The appliance says why it refuses (an operator's restriction), before it does."""
        self.banner += msg

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        known: list[asyncssh.SSHKey] = []
        if self._store.exists():
            known = list(
                asyncssh.read_known_hosts(str(self._store)).match(self._serial, "", None)[0]
            )
        if known:
            return any(k.public_data == key.public_data for k in known)
        self._store.parent.mkdir(parents=True, exist_ok=True)
        with self._store.open("a", encoding="utf-8") as handle:
            handle.write(f"{self._serial} {key.export_public_key().decode().strip()}\n")
        self.learned = key.get_fingerprint("sha256")
        return True


async def open_support_connection(
    route: SupportRoute, serial: str, seed: str
) -> tuple[asyncssh.SSHClientConnection, asyncssh.SSHClientConnection, str]:
    """(relay connection, appliance connection, newly learned fingerprint or '')."""
    try:
        engineer_key = read_own_private_key(route.engineer_key, "the engineer's key")
        ca_key = read_own_private_key(route.ca_key, "the support CA key")
    except (OSError, asyncssh.KeyImportError) as error:
        raise RacError(f"Cannot read a key: {error}.") from None
    certificate = mint_support_certificate(
        ca_key, engineer_key, serial=serial, seed=seed, identity=route.identity
    )
    try:
        relay = await asyncssh.connect(
            route.relay_host,
            route.relay_port,
            username=route.identity,
            client_keys=[engineer_key],
            known_hosts=str(route.known_hosts),
            agent_path=None,
            config=None,
            encryption_algs=ENCRYPTION_ALGS,
            client_factory=_LossWitness,
        )
    except asyncssh.HostKeyNotVerifiable:
        raise RacError(
            f"The relay {route.relay_host}:{route.relay_port} presented a host key "
            f"that {route.known_hosts} does not pin. Not connecting."
        ) from None
    except asyncssh.PermissionDenied:
        raise RacError("The relay did not accept the engineer key.") from None
    except (OSError, asyncssh.Error) as error:
        raise RacError(
            f"Cannot reach the relay {route.relay_host}:{route.relay_port}: {error}."
        ) from None
    client = _AcceptNewApplianceKey(route.appliance_known_hosts, serial)
    try:
        appliance = await asyncssh.connect(
            serial,
            APPLIANCE_PORT,
            tunnel=relay,
            client_factory=lambda: client,
            username=SERVICE_USER,
            client_keys=[(engineer_key, certificate)],
            known_hosts=([], [], []),
            agent_path=None,
            config=None,
            encryption_algs=ENCRYPTION_ALGS,
        )
    except asyncssh.ChannelOpenError as error:
        relay.close()
        raise RacError(f"No session to {serial}: {error.reason}") from None
    except asyncssh.PermissionDenied:
        relay.close()
        said = client.banner.strip()
        if said:
            raise RacError(f"{serial} refused the login ({said.rstrip('.')}).") from None
        raise RacError(
            f"{serial} refused the login: check the serial and the seed the "
            "operator gave you (the seed may have been replaced, or access "
            "disabled)."
        ) from None
    except asyncssh.HostKeyNotVerifiable:
        relay.close()
        raise RacError(
            f"{serial} presented a host key different from the one recorded in "
            f"{route.appliance_known_hosts}. Not connecting."
        ) from None
    except (OSError, asyncssh.Error) as error:
        relay.close()
        raise RacError(f"The session to {serial} failed: {error}.") from None
    return relay, appliance, client.learned


async def run_command(
    appliance: asyncssh.SSHClientConnection,
    command: str,
    *,
    relay: asyncssh.SSHClientConnection | None = None,
) -> int:
    """Run one command in the (SERVICE) shell; print its output; return its exit status."""
    try:
        result = await appliance.run(command, check=False)
    except (OSError, asyncssh.Error) as error:
        sys.stderr.write(f"rac: {_ended_why((appliance, relay), error)}\n")
        return ENDED_WITHOUT_STATUS
    sys.stdout.write(str(result.stdout or ""))
    sys.stderr.write(str(result.stderr or ""))
    if result.exit_status is None:
        await _settle(relay)
        sys.stderr.write(f"rac: {_ended_why((appliance, relay))}\n")
        return ENDED_WITHOUT_STATUS
    return result.exit_status


async def run_interactive(
    appliance: asyncssh.SSHClientConnection, *, relay: asyncssh.SSHClientConnection | None = None
) -> int:
    """An interactive shell with a PTY, the local terminal in raw mode."""
    size = shutil.get_terminal_size()
    process = await appliance.create_process(
        term_type=os.environ.get("TERM", "xterm-256color"),
        term_size=(size.columns, size.lines),
        encoding=None,
    )
    stdin_fd = sys.stdin.fileno()
    saved = termios.tcgetattr(stdin_fd) if os.isatty(stdin_fd) else None
    loop = asyncio.get_running_loop()

    def resized() -> None:
        now = shutil.get_terminal_size()
        process.change_terminal_size(now.columns, now.lines)

    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGWINCH, resized)
    terminal = TerminalCopies()
    try:
        if saved is not None:
            tty.setraw(stdin_fd)
        # Copies of the terminal's descriptors: asyncssh closes what it was given when the
        # channel closes, and closing the real stdout/stderr loses every later message.
        await process.redirect(
            stdin=terminal.stdin, stdout=terminal.stdout, stderr=terminal.stderr, send_eof=True
        )
        await process.wait_closed()
    except (OSError, asyncssh.Error) as error:
        terminal.restore()
        _restore_terminal(stdin_fd, saved)
        sys.stderr.write(f"\r\nrac: {_ended_why((appliance, relay), error)}\r\n")
        return ENDED_WITHOUT_STATUS
    finally:
        terminal.restore()
        _restore_terminal(stdin_fd, saved)
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGWINCH)
    if process.exit_status is None:
        await _settle(relay)
        sys.stderr.write(f"\r\nrac: {_ended_why((appliance, relay))}\r\n")
        return ENDED_WITHOUT_STATUS
    return process.exit_status


def _restore_terminal(stdin_fd: int, saved: list[Any] | None) -> None:
    if saved is not None:
        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(stdin_fd, termios.TCSADRAIN, saved)


async def _settle(relay: asyncssh.SSHClientConnection | None) -> None:
    """A cut path closes the session's channel before asyncssh reports the relay connection
    lost: wait (briefly) for that report, so the sentence names the right cause."""
    if relay is not None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(relay.wait_closed(), SETTLE_TIMEOUT)


def _ended_why(
    connections: tuple[asyncssh.SSHClientConnection | None, ...], error: BaseException | None = None
) -> str:
    """Why a session ended without an exit status, in one sentence."""
    lost = error
    for connection in connections:
        if lost is None and connection is not None:
            lost = connection.get_extra_info("lost")
    if lost is not None:
        return (
            f"the connection through the relay was lost ({_describe(lost)}); the session "
            "ended without an exit status."
        )
    return "the appliance closed the session."


def _describe(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    text = str(error).strip().rstrip(".")
    return text or type(error).__name__


class TerminalCopies:
    """Duplicates of fds 0, 1 and 2 for one redirect; the originals are never closed, and
    their blocking mode (shared with the copies, set non-blocking by asyncio) is restored."""

    def __init__(self) -> None:
        self._blocking = {fd: _blocking(fd) for fd in (0, 1, 2)}
        self.stdin = os.fdopen(os.dup(0), "rb", buffering=0)
        self.stdout = os.fdopen(os.dup(1), "wb", buffering=0)
        self.stderr = os.fdopen(os.dup(2), "wb", buffering=0)

    def restore(self) -> None:
        """Close what is left of the copies; put the terminal's modes back."""
        for copy in (self.stdin, self.stdout, self.stderr):
            with contextlib.suppress(OSError):
                copy.close()
        for fd, blocking in self._blocking.items():
            if blocking is not None:
                with contextlib.suppress(OSError):
                    os.set_blocking(fd, blocking)


def _blocking(fd: int) -> bool | None:
    try:
        return os.get_blocking(fd)
    except OSError:
        return None
