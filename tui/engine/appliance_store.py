"""What survives a restart, per appliance: enabled or not, mode, port, seed, lifetime (0600).

Records are kept in a journal, `STATE/appliances.jsonl`: every change appends one line (the
latest line of an appliance wins), so a thousand enables at once cost a thousand small
appends, not a thousand files, and a port change in a big fleet does not rewrite the others.
The journal is compacted when the store opens and whenever it grows far past the fleet.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tui.engine.errors import RacError
from tui.engine.secure_files import PRIVATE_FILE, ensure_private_dir, write_private
from tui.engine.states import Mode

JOURNAL = "appliances.jsonl"
COMPACT_FACTOR = 4
COMPACT_MINIMUM = 200


@dataclass(slots=True)
class ApplianceRecord:
    """The operator's decisions for one appliance."""

    enabled: bool = False
    mode: Mode = Mode.TUNNEL
    port: int | None = None
    gateway: str | None = None
    seed: str | None = field(default=None, repr=False)
    enabled_at: float | None = None
    expires_at: float | None = None
    ended: str = ""

    def end(self, why: str) -> None:
        """Access is over (`why`: "disabled" or "expired"); the seed goes with it."""
        self.enabled = False
        self.seed = None
        self.ended = why


class ApplianceStore:
    """Every appliance's record, in memory and in an append-only journal."""

    def __init__(self, state_dir: Path, *, writable: bool = True) -> None:
        self.path = state_dir / JOURNAL
        self._records: dict[str, ApplianceRecord] = self._replay()
        self._lines = len(self._records)
        self._file: IO[str] | None = None
        if writable and self.path.exists():
            self._compact()

    def _replay(self) -> dict[str, ApplianceRecord]:
        records: dict[str, ApplianceRecord] = {}
        if not self.path.exists():
            return records
        lines = self.path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            try:
                data: dict[str, Any] = json.loads(line)
                name = data.pop("name")
                data["mode"] = Mode(data.get("mode", Mode.TUNNEL))
                records[name] = ApplianceRecord(**data)
            except (ValueError, TypeError, KeyError) as error:
                if number == len(lines):
                    break  # a write cut short by a crash: the line before it still stands
                raise RacError(f"{self.path}, line {number}: the saved state of the "
                               f"appliances is damaged ({error}). Move the file away to "
                               "start afresh.") from None
        return records

    def load(self, name: str) -> ApplianceRecord | None:
        """The saved record, or None if this appliance was never enabled here."""
        return self._records.get(name)

    def save(self, name: str, record: ApplianceRecord) -> None:
        """Keep `record` and append it to the journal at once."""
        self._records[name] = record
        handle = self._open()
        handle.write(_line(name, record))
        handle.flush()
        self._lines += 1
        if self._lines > max(COMPACT_MINIMUM, COMPACT_FACTOR * len(self._records)):
            self._compact()

    def _open(self) -> IO[str]:
        if self._file is None:
            ensure_private_dir(self.path.parent)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
            self._file = os.fdopen(fd, "a", encoding="utf-8")
        return self._file

    def _compact(self) -> None:
        """Rewrite the journal with one line per appliance (atomic replace)."""
        self.close()
        write_private(self.path, "".join(_line(name, record)
                                         for name, record in self._records.items()))
        self._lines = len(self._records)

    def close(self) -> None:
        """Release the journal (it is reopened on the next save)."""
        if self._file is not None:
            self._file.close()
            self._file = None


def _line(name: str, record: ApplianceRecord) -> str:
    """One journal line (fields written out: `asdict` costs more than the write)."""
    return json.dumps({"name": name, "enabled": record.enabled, "mode": record.mode.value,
                       "port": record.port, "gateway": record.gateway, "seed": record.seed,
                       "enabled_at": record.enabled_at, "expires_at": record.expires_at,
                       "ended": record.ended}) + "\n"
