"""What survives a restart, per appliance: enabled or not, mode, port, seed, lifetime (0600)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tui.engine.errors import RacError
from tui.engine.secure_files import ensure_private_dir, write_private
from tui.engine.states import Mode


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
    """One JSON file per appliance under `state_dir/appliances/`."""

    def __init__(self, state_dir: Path) -> None:
        self.folder = state_dir / "appliances"

    def _path(self, name: str) -> Path:
        return self.folder / f"{name}.json"

    def load(self, name: str) -> ApplianceRecord | None:
        """The saved record, or None if this appliance was never enabled here."""
        path = self._path(name)
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            data["mode"] = Mode(data.get("mode", Mode.TUNNEL))
            return ApplianceRecord(**data)
        except (ValueError, TypeError, OSError) as error:
            raise RacError(f"{path}: the saved state of {name!r} is damaged ({error}). "
                           "Move the file away to start this appliance afresh.") from None

    def save(self, name: str, record: ApplianceRecord) -> None:
        """Replace the record atomically."""
        ensure_private_dir(self.folder)
        write_private(self._path(name), json.dumps(asdict(record), indent=2))
