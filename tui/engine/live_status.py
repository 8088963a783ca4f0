"""`STATE/live.json`: what a running engine's appliances are doing, for `rac status` run from
another process. Rewritten at most every FLUSH_DELAY seconds (longer when a rewrite is
costly, see SHARE_OF_TIME), and only the appliances that changed are serialised again: each
row's JSON text is kept and the file is those texts joined (serialising every row of a
thousand-appliance fleet four times a second cost a twentieth of its set-up CPU)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from tui.engine.secure_files import write_private
from tui.engine.status import ApplianceStatus
from tui.engine.storage_health import StorageHealth

FLUSH_DELAY = 0.25
# The file may take at most 1/SHARE_OF_TIME of the time between writes: a fleet whose rewrite
# costs 10 ms is written every 0.5 s, a small one every FLUSH_DELAY.
SHARE_OF_TIME = 50
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
        """Each appliance's `"name": {…}` member, already as JSON text."""
        self._dirty: set[str] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._delay = FLUSH_DELAY

    def changed(self, name: str) -> None:
        """`name` moved: write it with the next flush."""
        self._dirty.add(name)
        if self._timer is None:
            with contextlib.suppress(RuntimeError):  # no running loop: flushed at shutdown
                loop = asyncio.get_running_loop()
                self._timer = loop.call_later(self._delay, self.flush)

    def flush(self) -> None:
        """Write now (changed appliances, and those in service: their byte counts move)."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        started = time.perf_counter()
        names = self._dirty | set(self._busy())
        self._dirty = set()
        for status in self._statuses(names):
            self._rows[status.name] = f"{json.dumps(status.name)}: {json.dumps(status.to_json())}"
        # The same text as json.dumps({"pid": …, "updated": …, "appliances": {…}}).
        snapshot = f'{{"pid": {os.getpid()}, "updated": {json.dumps(self._clock())}, '
        snapshot += f'"appliances": {{{", ".join(self._rows.values())}}}}}'
        try:
            write_private(self.path, snapshot)
        except OSError as error:  # a full or read-only disk: shown as the storage problem
            self.health.failed("live", self.path, error)
            return
        finally:
            self._delay = max(FLUSH_DELAY, SHARE_OF_TIME * (time.perf_counter() - started))
        self.health.worked("live")
