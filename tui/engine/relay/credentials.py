"""The relay's view of who may log in, kept in memory and refreshed off the event loop.

Enrolments and engineer keys are read in one worker thread (never on the loop, so a slow disk
or a FIFO planted in the agents directory cannot stall a banner), every few seconds and at
once when an unknown serial knocks and the agents directory changed since the last look.
First-use enrolments of the lab are claimed in memory at once and written behind, in the
same thread, so a scan that started before the write cannot make the relay forget them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from tui.engine.bounded_files import UnreadableFile, read_bounded
from tui.engine.relay.enrolments import (
    GATEWAY_SUFFIX,
    KEY_SUFFIX,
    AgentKey,
    Enrolments,
    directory_stamp,
    scan,
)
from tui.engine.secure_files import PRIVATE_DIR, write_private

MAX_ENGINEERS_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Engineer:
    """A support engineer's key from the authorized_keys file, named by its comment."""

    key: asyncssh.SSHKey
    name: str


def parse_engineers(data: bytes) -> tuple[Engineer, ...]:
    """An authorized_keys file's keys; lines that are not keys are skipped."""
    engineers = []
    for line in data.decode("utf-8", errors="replace").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        with contextlib.suppress(asyncssh.KeyImportError, ValueError):
            key = asyncssh.import_public_key(line.strip())
            engineers.append(Engineer(key, key.get_comment() or ""))
    return tuple(engineers)


@dataclass(frozen=True, slots=True)
class _Loaded:
    enrolments: Enrolments
    engineers: tuple[Engineer, ...] | None
    engineers_stamp: tuple[int, int]
    engineers_problem: str


class CredentialCache:
    """Enrolled appliance keys, gateway bindings and engineer keys, as the relay sees them."""

    def __init__(
        self,
        agents_dir: Path,
        engineers: Path,
        *,
        refresh_every: float,
        log: Callable[[str], None],
        on_change: Callable[[Enrolments], None],
    ) -> None:
        self.agents_dir = agents_dir
        self.engineers_path = engineers
        self.enrolments = Enrolments()
        self.engineers: tuple[Engineer, ...] = ()
        self._refresh_every = refresh_every
        self._log = log
        self._on_change = on_change
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rac-credentials")
        self._engineers_stamp: tuple[int, int] = (0, -1)
        self._key_claims: dict[str, asyncssh.SSHKey] = {}
        self._bind_claims: dict[str, str] = {}
        self._reported: set[str] = set()
        self._in_flight: asyncio.Future[None] | None = None
        self._ticker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Load everything once, then keep refreshing in the background."""
        await self.refresh()
        self._ticker = asyncio.get_running_loop().create_task(
            self._tick(), name="rac-relay-credentials"
        )

    async def close(self) -> None:
        """Stop refreshing; pending first-use writes finish first."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await asyncio.get_running_loop().run_in_executor(self._executor, lambda: None)
        self._executor.shutdown(wait=True)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_every)
            await self.refresh()

    # -- lookups (in memory, on the loop) -------------------------------------------------

    def agent(self, serial: str) -> AgentKey | None:
        """The enrolment of `serial`, including a lab claim not yet written."""
        claimed = self._key_claims.get(serial.lower())
        if claimed is not None:
            return AgentKey(serial.lower(), claimed)
        return self.enrolments.agent(serial)

    def gateway_of(self, serial: str) -> str | None:
        """The gateway bound to announce `serial`."""
        return self._bind_claims.get(serial.lower()) or self.enrolments.gateway_of(serial)

    def bound_or_reserved(self, serial: str) -> bool:
        """`serial` is some gateway's SSHACCESS child (even if its binding file is broken)."""
        lowered = serial.lower()
        return (
            self.gateway_of(lowered) is not None
            or f"{lowered}{GATEWAY_SUFFIX}" in self.enrolments.stamps
        )

    def may_announce(self, owner: str, serial: str) -> bool:
        """An agent may announce its own serial and the serials bound to it."""
        return serial.lower() == owner.lower() or self.gateway_of(serial) == owner.lower()

    # -- refresh ------------------------------------------------------------------------

    async def refresh(self) -> None:
        """Re-read what changed (coalesced: callers during a refresh share it)."""
        if self._in_flight is not None:
            await asyncio.shield(self._in_flight)
            return
        loop = asyncio.get_running_loop()
        self._in_flight = loop.create_future()
        try:
            loaded = await loop.run_in_executor(self._executor, self._load)
            self._apply(loaded)
        finally:
            self._in_flight.set_result(None)
            self._in_flight = None

    async def refresh_if_changed(self) -> None:
        """For an unknown serial: look again only if the agents directory changed."""
        stamp = await asyncio.get_running_loop().run_in_executor(
            self._executor, directory_stamp, self.agents_dir
        )
        if stamp != self.enrolments.dir_stamp:
            await self.refresh()

    def _load(self) -> _Loaded:
        enrolments = scan(self.agents_dir, self.enrolments)
        engineers, stamp, problem = self._load_engineers()
        return _Loaded(enrolments, engineers, stamp, problem)

    def _load_engineers(self) -> tuple[tuple[Engineer, ...] | None, tuple[int, int], str]:
        try:
            info = self.engineers_path.stat()
        except FileNotFoundError:
            return (), (0, -1), ""
        except OSError as error:
            return (), (0, -2), f"{self.engineers_path}: cannot be read ({error.strerror})."
        stamp = (info.st_mtime_ns, info.st_size)
        if stamp == self._engineers_stamp:
            return None, stamp, ""
        try:
            return (
                parse_engineers(read_bounded(self.engineers_path, MAX_ENGINEERS_BYTES)),
                stamp,
                "",
            )
        except UnreadableFile as error:
            return (
                (),
                stamp,
                f"{self.engineers_path}: cannot be used ({error}); no engineer "
                "can log in until it is fixed.",
            )

    def _apply(self, loaded: _Loaded) -> None:
        changed = _signatures(loaded.enrolments) != _signatures(self.enrolments)
        self.enrolments = loaded.enrolments
        if loaded.engineers is not None:
            self.engineers = loaded.engineers
        self._engineers_stamp = loaded.engineers_stamp
        # A claim is on disk once a scan sees its file; from then on the file is the truth.
        for serial in [s for s in self._key_claims if s in self.enrolments.agents]:
            del self._key_claims[serial]
        for child in [c for c in self._bind_claims if c in self.enrolments.gateways]:
            del self._bind_claims[child]
        problems = set(loaded.enrolments.problems)
        if loaded.engineers_problem:
            problems.add(loaded.engineers_problem)
        for problem in sorted(problems - self._reported):
            self._log(problem)
        self._reported = problems
        if changed:
            self._on_change(self.enrolments)

    # -- first-use enrolment (the lab) --------------------------------------------------

    def claim_key(self, serial: str, key: asyncssh.SSHKey) -> bool:
        """Enrol `serial` with `key` now, unless it is taken; the file is written behind."""
        lowered = serial.lower()
        if self.agent(lowered) is not None or self.bound_or_reserved(lowered):
            held = self.agent(lowered)
            return (
                held is not None
                and held.key is not None
                and held.key.public_data == key.public_data
            )
        self._key_claims[lowered] = key
        self._write_behind(f"{lowered}{KEY_SUFFIX}", key.export_public_key())
        return True

    def claim_binding(self, child: str, gateway: str) -> bool:
        """Bind `child` to `gateway` now, unless it is enrolled or bound elsewhere."""
        child, gateway = child.lower(), gateway.lower()
        if self.agent(child) is not None or self.bound_or_reserved(child):
            return self.gateway_of(child) == gateway
        self._bind_claims[child] = gateway
        self._write_behind(f"{child}{GATEWAY_SUFFIX}", f"{gateway}\n".encode())
        return True

    def _write_behind(self, name: str, data: bytes) -> None:
        future = asyncio.get_running_loop().run_in_executor(self._executor, self._write, name, data)

        def written(result: asyncio.Future[str]) -> None:
            problem = "cancelled" if result.cancelled() else result.result()
            if problem:
                self._log(
                    f"{self.agents_dir / name}: could not be written ({problem}); "
                    "the enrolment lasts until the relay stops."
                )

        future.add_done_callback(written)

    def _write(self, name: str, data: bytes) -> str:
        try:
            self.agents_dir.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
            write_private(self.agents_dir / name, data, durable=True)
        except OSError as error:
            return error.strerror or str(error)
        return ""


def _signatures(enrolments: Enrolments) -> dict[str, tuple[int, int, int]]:
    return {name: signature for name, (signature, _) in enrolments.stamps.items()}
