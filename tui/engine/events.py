"""Plain event dataclasses: the only way the engine speaks to a UI, a CLI or the audit log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from tui.engine.node_links import NodeLink
from tui.engine.reasons import Reason
from tui.engine.stages import Stage
from tui.engine.states import TunnelState


class Level(StrEnum):
    """Severity of a log record, for the log pane's level filter."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class StateChanged:
    """An appliance's tunnel moved to a new state."""

    kind: ClassVar[str] = "state"
    appliance: str
    state: TunnelState
    ts: float
    reason: Reason | None = None
    detail: str = ""
    port: int | None = None
    relay_host: str = ""
    address: str = ""
    attempt: int = 0
    retry_at: float | None = None
    fingerprint: str = ""
    links: tuple[NodeLink, ...] = ()
    """With `relay.connections` > 1: each tunnel's relay node and state."""
    failed_stage: Stage | None = None
    """The stage the last attempt failed at (None while on the way up, or up)."""


@dataclass(frozen=True, slots=True)
class SeedIssued:
    """A new seed is in force; the seed itself is for the operator's eyes, never for a log."""

    kind: ClassVar[str] = "seed"
    appliance: str
    serial: str
    seed: str = field(repr=False)
    ts: float
    typed: bool = False
    """The operator gave this seed: they know it, so headless output does not repeat it."""


@dataclass(frozen=True, slots=True)
class ServiceStarted:
    """Support is inside the appliance: it is in (SERVICE). With the built-in endpoint this
    comes after the engineer authenticated, so it names them."""

    kind: ClassVar[str] = "service-start"
    appliance: str
    session_id: str
    source: str
    ts: float
    engineer: str = ""
    recording: str = ""


@dataclass(frozen=True, slots=True)
class ServiceEnded:
    """A support connection closed; carries its totals for the audit log."""

    kind: ClassVar[str] = "service-end"
    appliance: str
    session_id: str
    source: str
    ts: float
    engineer: str = ""
    bytes_in: int = 0
    bytes_out: int = 0
    duration: float = 0.0
    recording: str = ""
    recording_note: str = ""
    ended_by: str = ""


@dataclass(frozen=True, slots=True)
class LogRecord:
    """A line for the appliance's log pane."""

    kind: ClassVar[str] = "log"
    appliance: str
    level: Level
    message: str
    ts: float


@dataclass(frozen=True, slots=True)
class StorageChanged:
    """The state dir stopped (or started again) taking writes: `problem` is the sentence,
    empty once every write works again. It concerns every appliance, so `appliance` is ""."""

    kind: ClassVar[str] = "storage"
    problem: str
    ts: float
    appliance: str = ""


Event = StateChanged | SeedIssued | ServiceStarted | ServiceEnded | LogRecord | StorageChanged
EventSink = Callable[[Event], None]


def event_to_json(event: Event) -> dict[str, Any]:
    """A JSON-ready dict with the event kind first (the `rac agent --json` line format).

    A state without a reason says `"reason": ""`, as the line format always has; the failed
    stage is its label as the stage track prints it ("AUTH"), or ""."""
    fields = asdict(event)
    if "reason" in fields:
        fields["reason"] = fields["reason"] or ""
    if isinstance(event, StateChanged):
        failed = event.failed_stage
        fields["failed_stage"] = failed.label if failed is not None else ""  # DNS is 0
    return {"event": event.kind, **fields}
