"""`STATE/live.json`: what a running engine's appliances are doing, for `rac status` run from
another process. Rewritten at most every FLUSH_DELAY seconds, and only the appliances that
changed are serialised again: the others' JSON is kept as text, so a write of 1,000 appliances
joins strings instead of encoding them all (which held the loop for 10–15 ms each time)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from tui.engine.secure_files import write_private
from tui.engine.status import ApplianceStatus
from tui.engine.storage_health import StorageHealth

FLUSH_DELAY = 0.25
LIVE_FILE = "live.json"


class LiveStatusFile:
    """Collects changed appliances and writes the file a little later, once per burst."""

    def __init__(
        self,
        state_dir: Path,
        clock: Callable[[], float],
        statuses: Callable[[Iterable[str]], list[ApplianceStatus]],
        busy: Callable[[], Iterable[str]],
        health: StorageHealth | None = None,
    ) -> None:
        self.path = state_dir / LIVE_FILE
        self.health = health or StorageHealth()
        self._clock = clock
        self._statuses = statuses
        self._busy = busy
        self._rows: dict[str, str] = {}
        """Each appliance's `"name": {…}` member of the document, as encoded when it changed."""
        self._dirty: set[str] = set()
        self._timer: asyncio.TimerHandle | None = None

    def changed(self, name: str) -> None:
        """`name` moved: write it with the next flush."""
        self._dirty.add(name)
        if self._timer is None:
            with contextlib.suppress(RuntimeError):  # no running loop: flushed at shutdown
                loop = asyncio.get_running_loop()
                self._timer = loop.call_later(FLUSH_DELAY, self.flush)

    def flush(self) -> None:
        """Write now (changed appliances, and those in service: their byte counts move)."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        names = self._dirty | set(self._busy())
        self._dirty = set()
        for status in self._statuses(names):
            self._rows[status.name] = f"{json.dumps(status.name)}: {json.dumps(status.to_json())}"
        snapshot = (
            f'{{"pid": {os.getpid()}, "updated": {json.dumps(self._clock())}, '
            f'"appliances": {{{", ".join(self._rows.values())}}}}}'
        )
        try:
            write_private(self.path, snapshot)
        except OSError as error:  # a full or read-only disk: shown as the storage problem
            self.health.failed("live", self.path, error)
            return
        self.health.worked("live")
