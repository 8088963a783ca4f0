"""Append-only JSONL audit trail (0600): who got in, from where, for how long — never a seed."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from tui.engine.secure_files import PRIVATE_FILE, ensure_private_dir

FORBIDDEN_FIELDS = frozenset({"seed", "key", "private_key", "password"})


class AuditLog:
    """One JSON object a line, each written through at once; fields that could hold secrets
    are refused, not masked."""

    def __init__(self, path: Path, clock: Callable[[], float], *, run: str = "") -> None:
        self.path = path
        self.run = run
        self._clock = clock
        self._file: IO[str] | None = None

    def write(self, action: str, **fields: Any) -> None:
        """Record `action` with its fields and the time."""
        leaked = FORBIDDEN_FIELDS.intersection(fields)
        if leaked:
            raise ValueError(f"audit fields {sorted(leaked)} may hold secrets")
        record = {"ts": round(self._clock(), 3), "action": action, **fields}
        if self.run:
            record["run"] = self.run  # session numbers restart with the process
        handle = self._open()
        handle.write(json.dumps(record, default=str) + "\n")
        handle.flush()

    def _open(self) -> IO[str]:
        if self._file is None or self._file.closed:
            ensure_private_dir(self.path.parent)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
            self._file = os.fdopen(fd, "a", encoding="utf-8")
        return self._file

    def close(self) -> None:
        """Release the file (it is reopened on the next write)."""
        if self._file is not None:
            self._file.close()
            self._file = None
