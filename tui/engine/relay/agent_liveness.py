"""The relay's side of keepalive: an agent that went silent loses its route within the
same window the agent uses to give up on the relay, and an engineer is never left hanging.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

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

    async def answer_in_time(self, serial: str, opening: Awaitable[T]) -> T:
        """`opening` (a channel open on the agent's connection), or the engineer's sentence."""
        try:
            return await asyncio.wait_for(opening, self.open_timeout)
        except TimeoutError:
            raise ApplianceNotAnswering(serial, self.open_timeout) from None
