"""Collect engine events and wait for the one a test needs — on the event, never a sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from tui.engine.events import Event, StateChanged
from tui.engine.states import TunnelState

E = TypeVar("E")


class EventRecorder:
    """An engine sink that remembers everything and wakes waiters on each event."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Event()

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(
        self, predicate: Callable[[Event], bool], *, timeout: float = 15.0, after: int = 0
    ) -> Event:
        """The first event (from index `after`) matching `predicate`, waiting if needed."""
        async with asyncio.timeout(timeout):
            index = after
            while True:
                while index < len(self.events):
                    event = self.events[index]
                    index += 1
                    if predicate(event):
                        return event
                self._changed.clear()
                await self._changed.wait()

    async def wait_state(
        self, appliance: str, *states: TunnelState, timeout: float = 15.0, after: int = 0
    ) -> StateChanged:
        """The next StateChanged of `appliance` into one of `states`."""
        event = await self.wait_for(
            lambda e: (
                isinstance(e, StateChanged) and e.appliance == appliance and e.state in states
            ),
            timeout=timeout,
            after=after,
        )
        assert isinstance(event, StateChanged)
        return event

    def states(self, appliance: str) -> list[TunnelState]:
        """Every state `appliance` went through, in order."""
        return [
            e.state for e in self.events if isinstance(e, StateChanged) and e.appliance == appliance
        ]

    def of_type(self, kind: type[E]) -> list[E]:
        """Every recorded event of one class."""
        return [e for e in self.events if isinstance(e, kind)]

    @property
    def mark(self) -> int:
        """An index to wait for events after this point."""
        return len(self.events)
