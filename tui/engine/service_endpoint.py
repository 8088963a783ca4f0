"""The built-in (SERVICE) endpoint: an SSH server support reaches through the tunnel.

It admits only user `service` holding a certificate from the support CA whose principals
include `SERIAL:CURRENT-SEED`; the seed is read at each login, so a new seed or a disable
locks everyone out at once, and `revoke()` ends the sessions already inside.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh
from asyncssh.public_key import decode_ssh_certificate

from tui.engine.appliance_shell import ShellContext, serve_process
from tui.engine.first_bytes import printable
from tui.engine.keys import load_or_create_key
from tui.engine.session_tap import SessionTap
from tui.engine.ssh_options import ENCRYPTION_ALGS
from tui.engine.support_ca import SERVICE_USER, principal_matches

LOGIN_TIMEOUT = 30.0
# Exit status of a shell the appliance ended (what OpenSSH reports for a lost connection).
ENDED_BY_APPLIANCE = 255
_PLAIN_KEY = "a plain key without a support certificate"


@dataclass(frozen=True, slots=True)
class EndpointIdentity:
    """The appliance the endpoint speaks for."""

    name: str
    serial: str
    model: str
    host_key_path: Path
    ca_key: asyncssh.SSHKey


@dataclass(slots=True)
class EndpointHooks:
    """How the endpoint reads the current seed and reports what happened."""

    current_seed: Callable[[], str | None]
    status_lines: Callable[[], list[str]]
    authenticated: Callable[[str, str], None]
    rejected: Callable[[str, str, str], None]
    admit: Callable[[str], str | None] | None = None
    """Why an engineer (certificate key ID) may not come in now, or None (restrictions)."""
    tap: Callable[[str], SessionTap | None] | None = None
    """The tap that records and streams a connection's terminal, once it is a session."""


class _SeedBoundKeys(asyncssh.SSHAuthorizedKeys):
    """Authorized keys with one entry: the support CA, for the serial and the current seed."""

    def __init__(self, identity: EndpointIdentity, seed: str | None, username: str) -> None:
        super().__init__()
        self._identity = identity
        self._seed = seed
        self._username = username
        self.refusals: list[str] = []

    @property
    def why(self) -> str:
        """The most telling refusal: a certificate's problem beats a bare key's."""
        if not self.refusals:
            return "no credential offered"
        specific = [r for r in self.refusals if r != _PLAIN_KEY]
        return specific[-1] if specific else self.refusals[-1]

    def validate(self, key: asyncssh.SSHKey, client_host: str, client_addr: str,
                 cert_principals: Sequence[str] | None = None,
                 ca: bool = False) -> dict[str, Any] | None:
        if self._username != SERVICE_USER:
            self.refusals.append(f"user {self._username!r} (only {SERVICE_USER!r} may log in)")
            return None
        if not ca:
            self.refusals.append(_PLAIN_KEY)
            return None
        if key.public_data != self._identity.ca_key.public_data:
            self.refusals.append("a certificate from another CA")
            return None
        if self._seed is None:
            self.refusals.append("a certificate, but remote access is disabled")
            return None
        if not any(principal_matches(p, self._identity.serial, self._seed)
                   for p in cert_principals or ()):
            self.refusals.append("a certificate that does not name this serial and the "
                                 "current seed")
            return None
        self.refusals.append("a certificate outside its validity period")
        return {"principals": list(cert_principals or ())}


class _ServiceServer(asyncssh.SSHServer):
    """One support login: checks the credential, learns the engineer, runs the shell."""

    def __init__(self, endpoint: BuiltinServiceEndpoint, connection_id: str,
                 source: str) -> None:
        self.endpoint = endpoint
        self.connection_id = connection_id
        self.source = source
        self.username = ""
        self.engineer = ""
        self.keys: _SeedBoundKeys | None = None
        self.authenticated = False
        self.conn: asyncssh.SSHServerConnection | None = None
        self.processes: set[asyncssh.SSHServerProcess[str]] = set()
        self._blob = b""
        self._told: set[str] = set()

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        checked = conn.validate_public_key

        async def validate_and_remember(username: str, key_data: bytes, msg: bytes,
                                        signature: bytes) -> bool:
            accepted = await checked(username, key_data, msg, signature)
            if accepted:
                refusal = self._restricted(key_data)
                if refusal is not None:
                    self._refuse(refusal)
                    return False
            if accepted and msg:
                self._blob = key_data
            return accepted

        # asyncssh does not expose the certificate that authenticated; its key ID names
        # the engineer, so keep the blob of the signed, accepted attempt.
        conn.validate_public_key = validate_and_remember  # type: ignore[method-assign]

    def _restricted(self, key_data: bytes) -> str | None:
        """The operator's restrictions for this enablement, checked on the certificate."""
        admit = self.endpoint.hooks.admit
        if admit is None:
            return None
        return admit(_key_id(key_data))

    def _refuse(self, refusal: str) -> None:
        """Say why once, as an SSH auth banner (OpenSSH prints it; asyncssh clients get it)."""
        if self.keys is not None:
            self.keys.refusals.append(refusal)
        if self.conn is not None and refusal not in self._told:
            self._told.add(refusal)
            with contextlib.suppress(asyncssh.Error, OSError):
                self.conn.send_auth_banner(f"{self.endpoint.identity.name}: login refused: "
                                           f"{refusal}.\n")

    def begin_auth(self, username: str) -> bool:
        self.username = username
        seed = self.endpoint.hooks.current_seed() if username == SERVICE_USER else None
        self.keys = _SeedBoundKeys(self.endpoint.identity, seed, username)
        if self.conn is not None:
            self.conn.set_authorized_keys(self.keys)
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def auth_completed(self) -> None:
        self.authenticated = True
        self.engineer = _key_id(self._blob)
        self.endpoint.hooks.authenticated(self.connection_id, self.engineer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.endpoint.forget(self)
        if not self.authenticated:
            why = self.keys.why if self.keys else "no credential offered"
            self.endpoint.hooks.rejected(self.source, self.username, why)

    def session_requested(self) -> bool:
        return True


def _key_id(blob: bytes) -> str:
    """The engineer's name: the certificate's key ID (`ssh-keygen -I NAME`), or ''."""
    with contextlib.suppress(asyncssh.KeyImportError, ValueError):
        certificate = decode_ssh_certificate(blob)
        # asyncssh keeps the key ID only in this attribute.
        key_id = getattr(certificate, "_key_id", "")
        return printable(key_id if isinstance(key_id, bytes) else str(key_id).encode())
    return ""


class BuiltinServiceEndpoint:
    """Serves support sessions for one appliance over sockets the agent hands it."""

    def __init__(self, identity: EndpointIdentity, hooks: EndpointHooks) -> None:
        self.identity = identity
        self.hooks = hooks
        self._host_key: asyncssh.SSHKey | None = None
        self._servers: set[_ServiceServer] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def host_key(self) -> asyncssh.SSHKey:
        """The appliance's own host key, made on the first support login (0600)."""
        if self._host_key is None:
            self._host_key = load_or_create_key(self.identity.host_key_path,
                                                f"{self.identity.name} service endpoint")
        return self._host_key

    def serve(self, sock: socket.socket, connection_id: str, source: str) -> None:
        """Run an SSH server on `sock` (the agent's end of a socketpair) in the background."""
        task = asyncio.get_running_loop().create_task(self._serve(sock, connection_id, source))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, sock: socket.socket, connection_id: str, source: str) -> None:
        server = _ServiceServer(self, connection_id, source)
        self._servers.add(server)

        async def run(process: asyncssh.SSHServerProcess[str]) -> None:
            context = ShellContext(self.identity.name, self.identity.serial,
                                   self.identity.model, server.engineer, source,
                                   self.hooks.status_lines)
            server.processes.add(process)
            tap = self.hooks.tap(server.connection_id) if self.hooks.tap else None
            if tap is not None:
                tap.attach(process)
            try:
                await serve_process(process, context)
            finally:
                server.processes.discard(process)

        try:
            await asyncssh.run_server(
                sock,
                server_factory=lambda: server,
                server_host_keys=[self.host_key],
                process_factory=run,
                encryption_algs=ENCRYPTION_ALGS,
                login_timeout=LOGIN_TIMEOUT,
                allow_scp=False,
                agent_forwarding=False,
                x11_forwarding=False,
                config=None,
            )
        except (asyncssh.Error, OSError, TimeoutError):
            self.forget(server)

    def forget(self, server: _ServiceServer) -> None:
        """A connection ended."""
        self._servers.discard(server)

    def end_connection(self, connection_id: str, sentence: str) -> bool:
        """End one engineer's session, telling them `sentence`; False if it is not here."""
        for server in list(self._servers):
            if server.connection_id != connection_id:
                continue
            for process in list(server.processes):
                with contextlib.suppress(asyncssh.Error, OSError, BrokenPipeError):
                    process.stdout.write(f"\n*** {self.identity.name}: {sentence} ***\n")
                    process.exit(ENDED_BY_APPLIANCE)
            if server.conn is not None:
                server.conn.close()
            self._servers.discard(server)
            return True
        return False

    def revoke(self, reason: str = "remote access ended") -> None:
        """End every session inside now, telling each engineer why (new seed, disable)."""
        for server in list(self._servers):
            for process in list(server.processes):
                with contextlib.suppress(asyncssh.Error, OSError, BrokenPipeError):
                    process.stdout.write(f"\n*** {self.identity.name}: support session ended "
                                         f"by the appliance: {reason}. ***\n")
                    process.exit(ENDED_BY_APPLIANCE)
            if server.conn is not None:
                server.conn.close()
        self._servers.clear()

    async def close(self) -> None:
        """Revoke and wait for the server tasks to finish."""
        self.revoke()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
