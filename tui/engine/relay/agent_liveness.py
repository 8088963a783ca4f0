"""The relay's side of keepalive: an agent that went silent loses its route within the
same window the agent uses to give up on the relay, and an engineer is never left hanging.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncssh

from tui.engine.audit import AuditLog
from tui.engine.keepalive import KeepaliveSettings, LivenessWatch, sweep_for, watch_connection

T = TypeVar("T")


class ApplianceNotAnswering(asyncssh.ChannelOpenError):
    """The agent did not answer a channel open in time: the engineer gets a sentence."""

    def __init__(self, serial: str, waited: float) -> None:
        super().__init__(
            asyncssh.OPEN_CONNECT_FAILED,
            f"Appliance {serial} is not answering: its tunnel to the relay "
            f"stayed silent for {waited:g} s. The relay drops the tunnel when it "
            "stays silent; try again once the appliance has reconnected.",
        )


class AgentLiveness:
    """Watches every agent connection of one relay."""

    def __init__(self, settings: KeepaliveSettings, audit: AuditLog, open_timeout: float) -> None:
        self.settings = settings
        self.open_timeout = open_timeout
        self._audit = audit
        self._watches: dict[int, LivenessWatch] = {}
        self._late: set[asyncio.Future[Any]] = set()
        """Channel opens given up on, still waiting for the agent's answer."""

    def start(self, conn: asyncssh.SSHServerConnection, serial: str, peer: str) -> None:
        """Watch an agent connection from its login on."""

        def silent() -> None:
            self._audit.write(
                "agent-silent", serial=serial, peer=peer, timeout=self.settings.timeout
            )

        watch = watch_connection(conn, self.settings, silent)
        if watch is not None:
            self._watches[id(conn)] = watch

    def stop(self, conn: asyncssh.SSHServerConnection) -> bool:
        """The connection closed; True if it closed because the agent went silent."""
        watch = self._watches.pop(id(conn), None)
        if watch is None:
            return False
        sweep_for(self.settings.tick).forget(watch)
        return watch.silent

    async def answer_in_time(
        self, serial: str, opening: Awaitable[T], discard: Callable[[T], None]
    ) -> T:
        """`opening` (a channel open on the agent's connection), or the engineer's sentence.

        An open given up on is not cancelled: the agent may still answer (its path was slow,
        not gone), and a cancelled open would leave the channel it confirms open on both sides
        with nobody on this end. So the open runs on, and what it opens late is `discard`ed
        at once (which closes it on the agent's side too)."""
        started = asyncio.get_running_loop().time()
        pending = asyncio.ensure_future(opening)
        try:
            done, _ = await asyncio.wait({pending}, timeout=self.open_timeout)
        finally:
            if not pending.done():
                self._close_when_answered(serial, pending, started, discard)
        if pending in done:
            return pending.result()
        raise ApplianceNotAnswering(serial, self.open_timeout)

    def _close_when_answered(
        self, serial: str, pending: asyncio.Future[T], started: float, discard: Callable[[T], None]
    ) -> None:
        self._late.add(pending)

        def answered(future: asyncio.Future[T]) -> None:
            self._late.discard(future)
            if future.cancelled() or future.exception() is not None:
                return  # refused late, or the connection closed: nothing was opened
            waited = asyncio.get_running_loop().time() - started
            self._audit.write("channel-answered-late", serial=serial, waited=round(waited, 3))
            discard(future.result())

        pending.add_done_callback(answered)
