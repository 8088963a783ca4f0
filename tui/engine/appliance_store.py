"""What survives a restart, per appliance: enabled or not, mode, port, seed, lifetime (0600).

All records live in one file, `STATE/appliances.json`, replaced atomically. Changes made in
the same turn of the event loop are written together: enabling a thousand appliances at once
is one write, not a thousand (each file operation costs 0.1–0.3 ms on a busy disk).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tui.engine.errors import RacError
from tui.engine.secure_files import write_private
from tui.engine.states import Mode

STORE_FILE = "appliances.json"


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


class ApplianceStore:
    """Every appliance's record, in memory and in one JSON file."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / STORE_FILE
        self._records: dict[str, ApplianceRecord] = self._read()
        self._pending: asyncio.Handle | None = None

    def _read(self) -> dict[str, ApplianceRecord]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return {name: ApplianceRecord(**{**fields, "mode": Mode(fields.get("mode", "tunnel"))})
                    for name, fields in data["appliances"].items()}
        except (ValueError, TypeError, KeyError, OSError) as error:
            raise RacError(f"{self.path}: the saved state of the appliances is damaged "
                           f"({error}). Move the file away to start afresh.") from None

    def load(self, name: str) -> ApplianceRecord | None:
        """The saved record, or None if this appliance was never enabled here."""
        return self._records.get(name)

    def save(self, name: str, record: ApplianceRecord) -> None:
        """Keep `record`; written before the event loop's next turn (at once without a loop)."""
        self._records[name] = record
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        if self._pending is None:
            self._pending = loop.call_soon(self.flush)

    async def settled(self) -> None:
        """Return once every saved record is on disk. It yields once first, so callers
        running concurrently (a thousand enables at once) share a single write."""
        if self._pending is not None:
            await asyncio.sleep(0)
            if self._pending is not None:
                self.flush()

    def flush(self) -> None:
        """Write every record now (atomic replace, 0600)."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        document = {"appliances": {name: asdict(record)
                                   for name, record in self._records.items()}}
        write_private(self.path, json.dumps(document, indent=1))
