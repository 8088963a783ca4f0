"""The relay's audit log on a full or read-only disk, told where an operator of sshd looks:
the relay's log (stderr, the journal under systemd).

The audit log never raises into a login or a refusal: a line the disk refuses is counted
(`AuditLog`). This says so once with the path and the cause, reminds with the running count
while it lasts, retries on its own so the gap is recorded (one `audit-lines-lost` line) as
soon as the disk takes writes again, and says how many lines that episode cost.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from tui.engine.audit import AuditLog

RETRY_EVERY = 5.0
"""Seconds between attempts to write the gap line (the engine's state dir retries as often)."""
REMIND_EVERY = 60.0
"""Seconds between reminders of the running count while lines are being lost."""


class AuditHealthReport:
    """Watches one audit log's storage health and reports it in `log`."""

    def __init__(self, audit: AuditLog, log: Callable[[str], None]) -> None:
        self._audit = audit
        self._log = log
        self._lost_before = 0
        self._retrying: asyncio.Task[None] | None = None
        audit.health.listen(self._changed)

    @property
    def lost(self) -> int:
        """Audit lines lost since the relay started (recorded later or not)."""
        return self._audit.health.audit_lines_lost

    @property
    def failing(self) -> bool:
        """The audit log cannot be written right now."""
        return bool(self._audit.health.causes)

    def _changed(self) -> None:
        if self.failing and self._retrying is None:
            self._lost_before = self.lost - 1 if self.lost else 0
            self._log(
                f"rac relay: {self._audit.health.causes}: the audit lines this costs are "
                "counted, and recorded as one audit-lines-lost line as soon as the file can "
                "be written"
            )
            with contextlib.suppress(RuntimeError):  # no loop: the next write retries
                self._retrying = asyncio.get_running_loop().create_task(
                    self._retry(), name="rac-relay-audit-retry"
                )
        elif not self.failing and self._retrying is not None:
            self._retrying = None
            self._log(
                f"rac relay: {self._audit.path} takes writes again; {self._episode()} were "
                "lost (recorded as an audit-lines-lost line)"
            )

    async def _retry(self) -> None:
        loop = asyncio.get_running_loop()
        reminded = loop.time()
        while self.failing and self._retrying is asyncio.current_task():
            await asyncio.sleep(RETRY_EVERY)
            self._audit.retry()
            if self.failing and loop.time() - reminded >= REMIND_EVERY:
                reminded = loop.time()
                self._log(
                    f"rac relay: {self._episode()} not written so far: {self._audit.health.causes}"
                )

    def _episode(self) -> str:
        count = self.lost - self._lost_before
        return f"{count} audit line{'' if count == 1 else 's'}"

    async def close(self) -> None:
        """Stop retrying; say what was never written."""
        task, self._retrying = self._retrying, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.failing:
            self._log(
                f"rac relay: stopping with {self._episode()} not written: "
                f"{self._audit.health.causes}"
            )
