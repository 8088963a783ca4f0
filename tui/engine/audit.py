"""Append-only JSONL audit trail (0600): who got in, from where, for how long — never a seed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tui.engine.secure_files import append_private

FORBIDDEN_FIELDS = frozenset({"seed", "key", "private_key", "password"})


class AuditLog:
    """One JSON object a line; fields that could hold secrets are refused, not masked."""

    def __init__(self, path: Path, clock: Callable[[], float]) -> None:
        self.path = path
        self._clock = clock

    def write(self, action: str, **fields: Any) -> None:
        """Record `action` with its fields and the time."""
        leaked = FORBIDDEN_FIELDS.intersection(fields)
        if leaked:
            raise ValueError(f"audit fields {sorted(leaked)} may hold secrets")
        record = {"ts": round(self._clock(), 3), "action": action, **fields}
        append_private(self.path, json.dumps(record, sort_keys=False, default=str))
