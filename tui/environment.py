"""What the console runs on: the built-in lab, or a real inventory. Both start an engine on
the console's own event loop and stop it when the console exits.

The engine, the lab and the inventory models (asyncssh, dnspython, pydantic) are imported in
`start`, which the console runs after its first frame: `preview` draws the fleet before.
"""

from __future__ import annotations

import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.engine.backoff import FIRST_DELAY

if TYPE_CHECKING:
    from tui.engine.engine import Engine
    from tui.engine.inventory import Inventory
    from tui.engine.lab.lab import Lab, LabInfo
    from tui.engine.seeds import Chooser


@dataclass(slots=True)
class EngineOptions:
    """Injected by tests for deterministic screens: clock, randomness, retry pace."""

    clock: Callable[[], float] = time.time
    rng: random.Random = field(default_factory=random.Random)
    choose: Chooser | None = None
    first_retry_delay: float = FIRST_DELAY
    timer: Callable[[], float] = time.perf_counter

    def build(self, inventory: Inventory, state_dir: Path) -> Engine:
        """An engine with these options."""
        from tui.engine.engine import Engine

        return Engine(
            inventory,
            state_dir,
            clock=self.clock,
            rng=self.rng,
            choose=self.choose,
            first_retry_delay=self.first_retry_delay,
            timer=self.timer,
        )


@dataclass(frozen=True, slots=True)
class FleetListing:
    """The appliances an inventory lists, as plain TOML values (no models, no checks)."""

    appliances: list[dict[str, Any]]
    default_port: int = 25
    domain: str = ""
    hosts: dict[str, str] = field(default_factory=dict)


def read_listing(path: Path) -> FleetListing:
    """An inventory read with the standard library only (the first frame must not wait for
    pydantic); a file that does not read lists nothing: the full load names the problem."""
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        relay = data.get("relay", {})
        return FleetListing(
            [dict(a) for a in data.get("appliance", [])],
            int(relay.get("default_port", 25)),
            str(relay.get("domain", "")),
            dict(relay.get("hosts") or {}),
        )
    except (OSError, ValueError, TypeError, AttributeError):
        return FleetListing([])


def _default_key(binding_id: str) -> str:
    return {"rac.enable": "e", "rac.open": "enter", "rac.help": "?"}.get(binding_id, binding_id)


class ConsoleEnvironment(ABC):
    """Starts the engine the console shows, and stops what it started."""

    engine: Engine | None = None

    @property
    @abstractmethod
    def title(self) -> str:
        """Shown in the header: where this fleet comes from."""

    @abstractmethod
    async def start(self, options: EngineOptions) -> Engine:
        """Bring up what is needed and return a started engine."""

    def preview(self) -> FleetListing:
        """The fleet as listed, before the engine runs (drawn in the first frame)."""
        return FleetListing([])

    async def close(self) -> None:
        """Stop the engine's agents (enabled appliances stay enabled)."""
        if self.engine is not None:
            await self.engine.shutdown()

    def welcome(self, key: Callable[[str], str] = _default_key) -> list[str]:
        """Lines for the log pane at start; `key` names the key of a binding id (remaps)."""
        return [
            f"Select an appliance and press {key('rac.enable')} to enable remote access, "
            f"{key('rac.open')} for its dashboard, {key('rac.help')} for every key."
        ]


class InventoryEnvironment(ConsoleEnvironment):
    """A real fleet from an inventory file."""

    def __init__(self, inventory: Path | Inventory, state_dir: Path) -> None:
        self._inventory = inventory
        self._state_dir = state_dir

    @property
    def title(self) -> str:
        source = self._inventory if isinstance(self._inventory, Path) else self._inventory.source
        return str(source)

    def preview(self) -> FleetListing:
        if isinstance(self._inventory, Path):
            return read_listing(self._inventory)
        return FleetListing([])

    async def start(self, options: EngineOptions) -> Engine:
        from tui.engine.inventory import load_inventory

        inventory = (
            load_inventory(self._inventory)
            if isinstance(self._inventory, Path)
            else self._inventory
        )
        self.engine = options.build(inventory, self._state_dir)
        await self.engine.start()
        return self.engine


class LabEnvironment(ConsoleEnvironment):
    """The built-in lab, started in process on loopback."""

    def __init__(self, directory: Path, *, dns_port: int = 0) -> None:
        self._directory = directory
        self._dns_port = dns_port
        self._lab: Lab | None = None
        self.info: LabInfo | None = None

    @property
    def lab(self) -> Lab:
        """The lab's servers (made on first use: the module needs asyncssh)."""
        if self._lab is None:
            from tui.engine.lab.lab import Lab

            self._lab = Lab(self._directory, dns_port=self._dns_port)
        return self._lab

    @property
    def title(self) -> str:
        return "built-in lab (loopback)"

    def preview(self) -> FleetListing:
        from tui.engine.lab.lab_fleet import LAB_APPLIANCES, LAB_DOMAIN

        return FleetListing(LAB_APPLIANCES, domain=LAB_DOMAIN)

    async def start(self, options: EngineOptions) -> Engine:
        from tui.engine.inventory import load_inventory

        self.info = await self.lab.start()
        self.engine = options.build(load_inventory(self.info.inventory), self.info.state_dir)
        await self.engine.start()
        return self.engine

    async def close(self) -> None:
        await super().close()
        if self._lab is not None:
            await self._lab.close()

    def welcome(self, key: Callable[[str], str] = _default_key) -> list[str]:
        from tui.engine.lab.lab import lab_dir_option

        state_dir = "" if self.info is None else lab_dir_option(self.info)
        return [
            "Built-in lab: relay, DNS and support CA on loopback; nothing leaves this machine.",
            *super().welcome(key),
            "Then log in as support from a second terminal: "
            f"rac support connect SERIAL --lab{state_dir} (it asks for the seed)",
        ]
