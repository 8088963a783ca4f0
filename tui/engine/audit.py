"""Append-only JSONL audit trail (0600): who got in, from where, for how long — never a seed."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tui.engine.atomic_write import write_all
from tui.engine.secure_files import PRIVATE_FILE, ensure_private_dir
from tui.engine.storage_health import StorageHealth

FORBIDDEN_FIELDS = frozenset({"seed", "key", "private_key", "password"})


class AuditLog:
    """One JSON object a line, each written through at once; fields that could hold secrets
    are refused, not masked. A line the disk refuses is counted in the storage health, never
    raised: an audit write sits inside a support login, which must not fail on a full disk."""

    def __init__(
        self,
        path: Path,
        clock: Callable[[], float],
        *,
        run: str = "",
        health: StorageHealth | None = None,
    ) -> None:
        self.path = path
        self.run = run
        self._clock = clock
        self._fd: int | None = None
        self.health = health or StorageHealth()
        self._reported_lost = 0

    def write(self, action: str, **fields: Any) -> None:
        """Record `action` with its fields and the time."""
        leaked = FORBIDDEN_FIELDS.intersection(fields)
        if leaked:
            raise ValueError(f"audit fields {sorted(leaked)} may hold secrets")
        record = {"ts": round(self._clock(), 3), "action": action, **fields}
        if self.run:
            record["run"] = self.run  # session numbers restart with the process
        self._write_line(json.dumps(record, default=str) + "\n")

    def retry(self) -> None:
        """After lost lines: record the gap as soon as the disk takes a line again."""
        if self.health.audit_lines_lost > self._reported_lost:
            self._write_line("")

    def _write_line(self, line: str) -> None:
        lost = self.health.audit_lines_lost - self._reported_lost
        text = line
        if lost:
            gap = {
                "ts": round(self._clock(), 3),
                "action": "audit-lines-lost",
                "lost": lost,
                "why": self.health.problem,
            }
            text = json.dumps(gap) + "\n" + line
        try:
            self._append(text.encode())
        except OSError as error:
            if line:
                self.health.audit_line_lost(self.path, error)
            return
        self._reported_lost += lost
        self.health.worked("audit")

    def _append(self, data: bytes) -> None:
        """Write whole lines or nothing: a refused write is cut back, so no half line stays."""
        fd = self._open()
        before = os.fstat(fd).st_size
        try:
            write_all(fd, data)
        except OSError:
            try:
                os.ftruncate(fd, before)
            except OSError:
                self.close()
            raise

    def _open(self) -> int:
        if self._fd is None:
            ensure_private_dir(self.path.parent)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
        return self._fd

    def close(self) -> None:
        """Release the file (it is reopened on the next write)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
