"""The built-in (SERVICE) endpoint: an SSH server support reaches through the tunnel.

It admits only user `service` holding a certificate from the support CA whose principals
include `SERIAL:CURRENT-SEED`; the seed is read at every attempt and again when the login
completes, so a new seed, a disable or the end of the lifetime locks everyone out at once,
and `revoke()` ends the sessions already inside. How many logins, how fast and how many
tries is `login_throttle.py`'s business; why a credential is refused, `service_credentials.py`'s.
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
from tui.engine.login_throttle import LoginPolicy, LoginThrottle
from tui.engine.refusal_tally import RefusalSummary, RefusalTally, RefusedLogin
from tui.engine.secure_files import write_private
from tui.engine.service_credentials import NO_SIGNATURE, PLAIN_KEY, refusal, source_ip
from tui.engine.session_restrictions import Refusal
from tui.engine.session_tap import SessionTap
from tui.engine.ssh_options import ENCRYPTION_ALGS
from tui.engine.support_ca import SERVICE_USER

LOGIN_TIMEOUT = 30.0
# Exit status of a shell the appliance ended (what OpenSSH reports for a lost connection).
ENDED_BY_APPLIANCE = 255
TOO_MANY_FAILURES = "Too many authentication failures"  # OpenSSH's words for MaxAuthTries


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
    rejected: Callable[[RefusedLogin], None]
    rejected_in_bulk: Callable[[RefusalSummary], None]
    host_key_unsaved: Callable[[Path, OSError], None] | None = None
    """The host key could not be saved (full or read-only disk): it serves from memory."""
    admit: Callable[[str], Refusal | None] | None = None
    """Why an engineer (certificate key ID) may not come in now, or None (restrictions)."""
    tap: Callable[[str], SessionTap | None] | None = None
    """The tap that records and streams a connection's terminal, once it is a session."""


class _SupportCa(asyncssh.SSHAuthorizedKeys):
    """Authorized keys with one entry, the support CA; the endpoint has judged the rest."""

    def __init__(self, ca_key: asyncssh.SSHKey) -> None:
        super().__init__()
        self._ca_key = ca_key

    def validate(
        self,
        key: asyncssh.SSHKey,
        client_host: str,
        client_addr: str,
        cert_principals: Sequence[str] | None = None,
        ca: bool = False,
    ) -> dict[str, Any] | None:
        if not ca or key.public_data != self._ca_key.public_data:
            return None
        return {"principals": list(cert_principals or ())}


class _ServiceServer(asyncssh.SSHServer):
    """One support login: checks the credential, learns the engineer, runs the shell."""

    def __init__(self, endpoint: BuiltinServiceEndpoint, connection_id: str, source: str) -> None:
        self.endpoint = endpoint
        self.connection_id = connection_id
        self.source = source
        self.username = ""
        self.engineer = ""
        self.attempts: list[str] = []
        """The reason of every refused credential on this connection, in order."""
        self.authenticated = False
        self.pending = True
        """Counts against the appliance's logins in progress until it gets in or goes."""
        self.conn: asyncssh.SSHServerConnection | None = None
        self.processes: set[asyncssh.SSHServerProcess[str]] = set()
        self.process_factory: Callable[[asyncssh.SSHServerProcess[str]], Any] | None = None
        self.channels = 0
        self.cut_short = ""
        """Why the appliance ended this login before it completed (new seed, disable)."""
        self._blob = b""
        self._told: set[str] = set()

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        address = source_ip(self.source)
        if address is not None:
            # The socket is a socketpair: the engineer's address is the one the relay reports.
            # asyncssh checks a certificate's source-address against this attribute.
            conn._peer_addr = str(address)
        checked = conn.validate_public_key

        async def judged(username: str, key_data: bytes, msg: bytes, signature: bytes) -> bool:
            if len(self.attempts) >= self.endpoint.policy.max_attempts:
                return False
            why = self.endpoint.refusal(username, key_data, self.source)
            if why is None:
                restricted = self.endpoint.restriction(key_data)
                if restricted is not None:
                    self._tell(restricted.engineer)  # the audit keeps the operator's detail
                    why = restricted.operator
            if why is None and await checked(username, key_data, msg, signature):
                if msg:
                    self._blob = key_data
                return True
            self._refused(why or (NO_SIGNATURE if msg else "a certificate the SSH layer refused"))
            return False

        # asyncssh does not expose the certificate that authenticated; its key ID names
        # the engineer, so keep the blob of the signed, accepted attempt.
        conn.validate_public_key = judged  # type: ignore[method-assign]

    def _refused(self, why: str) -> None:
        self.attempts.append(why)
        if len(self.attempts) >= self.endpoint.policy.max_attempts and self.conn is not None:
            self.conn.disconnect(asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE, TOO_MANY_FAILURES)

    def _tell(self, refusal: str) -> None:
        """Say why once, as an SSH auth banner (OpenSSH prints it; asyncssh clients get it)."""
        if self.conn is not None and refusal not in self._told:
            self._told.add(refusal)
            with contextlib.suppress(asyncssh.Error, OSError):
                self.conn.send_auth_banner(
                    f"{self.endpoint.identity.name}: login refused: {refusal}.\n"
                )

    def begin_auth(self, username: str) -> bool:
        self.username = username
        if self.conn is not None:
            self.conn.set_authorized_keys(_SupportCa(self.endpoint.identity.ca_key))
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def auth_completed(self) -> None:
        # The seed may have changed, ended or been disabled while the login was under way.
        late = self.endpoint.refusal(self.username, self._blob, self.source)
        if late is None:
            restricted = self.endpoint.restriction(self._blob)
            late = restricted.operator if restricted is not None else None
        if late is not None:
            self.attempts.append(f"{late} (when the login completed)")
            if self.conn is not None:
                self.conn.close()
            return
        self.authenticated = True
        self.endpoint.login_finished(self, authenticated=True)
        self.engineer = _key_id(self._blob)
        self.endpoint.hooks.authenticated(self.connection_id, self.engineer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.endpoint.forget(self)
        if not self.authenticated:
            self.endpoint.login_finished(self, authenticated=False)

    def session_requested(self) -> asyncssh.SSHServerProcess[str]:
        if self.process_factory is None or not self.authenticated:
            raise asyncssh.ChannelOpenError(asyncssh.OPEN_CONNECT_FAILED, "Session refused")
        if self.channels >= self.endpoint.policy.max_channels:
            raise asyncssh.ChannelOpenError(
                asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED,
                f"At most {self.endpoint.policy.max_channels} sessions per connection.",
            )
        self.channels += 1
        return _CountedProcess(self)


class _CountedProcess(asyncssh.SSHServerProcess[str]):
    """A session channel that gives its place back when it closes (MaxSessions)."""

    def __init__(self, server: _ServiceServer) -> None:
        assert server.process_factory is not None
        super().__init__(server.process_factory, None, 0, False)
        self._server = server

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.channels -= 1
        super().connection_lost(exc)


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

    def __init__(
        self, identity: EndpointIdentity, hooks: EndpointHooks, policy: LoginPolicy | None = None
    ) -> None:
        self.identity = identity
        self.hooks = hooks
        self.throttle = LoginThrottle(policy)
        self.policy = self.throttle.policy
        self.tally = RefusalTally(hooks.rejected, hooks.rejected_in_bulk)
        self._host_key: asyncssh.SSHKey | None = None
        self._host_key_made = asyncio.Lock()
        self.host_key_unsaved = False
        self._servers: set[_ServiceServer] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def host_key(self) -> asyncssh.SSHKey:
        """The appliance's own host key, made on the first support login (0600, synced to
        disk in a thread: a power cut must not change the key engineers learned). If the
        disk refuses it, the login still works with the key kept in memory until
        `save_host_key` manages to write it (the same key: engineers who learned it keep it)."""
        async with self._host_key_made:
            if self._host_key is None:
                path = self.identity.host_key_path
                comment = f"{self.identity.name} service endpoint"
                try:
                    self._host_key = await asyncio.to_thread(load_or_create_key, path, comment)
                except OSError as error:
                    self._host_key = asyncssh.generate_private_key("ssh-ed25519", comment=comment)
                    self.host_key_unsaved = True
                    if self.hooks.host_key_unsaved is not None:
                        self.hooks.host_key_unsaved(path, error)
        return self._host_key

    def save_host_key(self) -> None:
        """Write a host key that so far lives only in memory (raises OSError)."""
        if self._host_key is None or not self.host_key_unsaved:
            return
        path = self.identity.host_key_path
        public = self._host_key.export_public_key()
        write_private(path.with_name(path.name + ".pub"), public, durable=True)
        write_private(path, self._host_key.export_private_key(), durable=True)
        self.host_key_unsaved = False

    def admit(self, source: str) -> None:
        """Count a new support connection in, or refuse it (ChannelOpenError) when too many
        logins to this appliance are already in progress; `serve` must follow."""
        if self.throttle.try_begin():
            return
        self.tally.refused(RefusedLogin(source, "", (), "too many logins in progress"))
        raise asyncssh.ChannelOpenError(
            asyncssh.OPEN_RESOURCE_SHORTAGE,
            f"Too many logins to {self.identity.name} are in progress; try again shortly.",
        )

    def refusal(self, username: str, key_data: bytes, source: str) -> str | None:
        """Why this credential may not log in now (None: only its signature is left)."""
        return refusal(
            username=username,
            key_data=key_data,
            ca_key=self.identity.ca_key,
            serial=self.identity.serial,
            seed=self.hooks.current_seed() if username == SERVICE_USER else None,
            source=source,
        )

    def restriction(self, key_data: bytes) -> Refusal | None:
        """The operator's restrictions for this enablement, checked on the certificate."""
        admit = self.hooks.admit
        return admit(_key_id(key_data)) if admit is not None else None

    def login_finished(self, server: _ServiceServer, *, authenticated: bool) -> None:
        """A login in progress ended (once per connection): free its place, audit a refusal."""
        if not server.pending:
            return
        server.pending = False
        self.throttle.finished(authenticated=authenticated, failed=bool(server.attempts))
        if authenticated:
            return
        attempts = tuple(server.attempts)
        specific = [why for why in attempts if why != PLAIN_KEY]
        ended = (f"ended before it completed: {server.cut_short}",) if server.cut_short else ()
        why = (specific or attempts or ended or ("no credential offered",))[-1]
        self.tally.refused(RefusedLogin(server.source, server.username, attempts, why))

    def serve(self, sock: socket.socket, connection_id: str, source: str) -> None:
        """Run an SSH server on `sock` (the agent's end of a socketpair) in the background,
        after `admit`, once the appliance's login delay (if any) has passed."""
        task = asyncio.get_running_loop().create_task(self._serve(sock, connection_id, source))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, sock: socket.socket, connection_id: str, source: str) -> None:
        server = _ServiceServer(self, connection_id, source)
        self._servers.add(server)

        async def run(process: asyncssh.SSHServerProcess[str]) -> None:
            context = ShellContext(
                self.identity.name,
                self.identity.serial,
                self.identity.model,
                server.engineer,
                source,
                self.hooks.status_lines,
            )
            server.processes.add(process)
            tap = self.hooks.tap(server.connection_id) if self.hooks.tap else None
            if tap is not None:
                tap.attach(process)
            try:
                # A channel the engineer closes mid-write ends that session only, not the
                # connection with every other session on it.
                with contextlib.suppress(BrokenPipeError, ConnectionError):
                    await serve_process(process, context)
            finally:
                server.processes.discard(process)

        server.process_factory = run
        try:
            wait = self.throttle.wait_before_login()
            if wait > 0:
                await asyncio.sleep(wait)  # the growing delay after failed logins
            host_key = await self.host_key()
            await asyncssh.run_server(
                sock,
                server_factory=lambda: server,
                server_host_keys=[host_key],
                encryption_algs=ENCRYPTION_ALGS,
                login_timeout=LOGIN_TIMEOUT,
                allow_scp=False,
                agent_forwarding=False,
                x11_forwarding=False,
                config=None,
            )
        except (asyncssh.Error, OSError, TimeoutError):
            self.forget(server)
        finally:
            if server.conn is None:
                sock.close()
                self.login_finished(server, authenticated=False)

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
            if not server.authenticated:
                server.cut_short = reason
            for process in list(server.processes):
                with contextlib.suppress(asyncssh.Error, OSError, BrokenPipeError):
                    process.stdout.write(
                        f"\n*** {self.identity.name}: support session ended "
                        f"by the appliance: {reason}. ***\n"
                    )
                    process.exit(ENDED_BY_APPLIANCE)
            if server.conn is not None:
                server.conn.close()
        self._servers.clear()

    async def close(self) -> None:
        """Revoke and wait for the server tasks to finish."""
        self.revoke()
        self.tally.flush()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
