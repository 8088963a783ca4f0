"""What the console runs on: the built-in lab, or a real inventory. Both start an engine on
the console's own event loop and stop it when the console exits.
"""

from __future__ import annotations

import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tui.engine.backoff import FIRST_DELAY
from tui.engine.engine import Engine
from tui.engine.inventory import Inventory, load_inventory
from tui.engine.lab.lab import Lab, LabInfo, lab_dir_option
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
        return Engine(inventory, state_dir, clock=self.clock, rng=self.rng, choose=self.choose,
                      first_retry_delay=self.first_retry_delay, timer=self.timer)


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

    async def close(self) -> None:
        """Stop the engine's agents (enabled appliances stay enabled)."""
        if self.engine is not None:
            await self.engine.shutdown()

    def welcome(self) -> list[str]:
        """Lines for the log pane at start."""
        return ["Select an appliance and press e to enable remote access, enter for its "
                "dashboard, ? for every key."]


class InventoryEnvironment(ConsoleEnvironment):
    """A real fleet from an inventory file."""

    def __init__(self, inventory: Path | Inventory, state_dir: Path) -> None:
        self._inventory = inventory
        self._state_dir = state_dir

    @property
    def title(self) -> str:
        source = (self._inventory.source if isinstance(self._inventory, Inventory)
                  else self._inventory)
        return str(source)

    async def start(self, options: EngineOptions) -> Engine:
        inventory = (self._inventory if isinstance(self._inventory, Inventory)
                     else load_inventory(self._inventory))
        self.engine = options.build(inventory, self._state_dir)
        await self.engine.start()
        return self.engine


class LabEnvironment(ConsoleEnvironment):
    """The built-in lab, started in process on loopback."""

    def __init__(self, directory: Path, *, dns_port: int = 0) -> None:
        self.lab = Lab(directory, dns_port=dns_port)
        self.info: LabInfo | None = None

    @property
    def title(self) -> str:
        return "built-in lab (loopback)"

    async def start(self, options: EngineOptions) -> Engine:
        self.info = await self.lab.start()
        self.engine = options.build(load_inventory(self.info.inventory), self.info.state_dir)
        await self.engine.start()
        return self.engine

    async def close(self) -> None:
        await super().close()
        await self.lab.close()

    def welcome(self) -> list[str]:
        state_dir = "" if self.info is None else lab_dir_option(self.info)
        return [
            "Built-in lab: relay, DNS and support CA on loopback; nothing leaves this machine.",
            *super().welcome(),
            "Then log in as support from a second terminal: "
            f"rac support connect SERIAL --lab{state_dir} (it asks for the seed)",
        ]
