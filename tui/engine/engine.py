"""The engine: every appliance's remote access, behind a small async API and plain events.

It runs on the caller's event loop (the console's, or `rac agent`'s) and imports no UI.
The UI calls `enable`, `disable`, `set_port`, `new_seed`, `accept_host_key`; it learns what
happened only from events, so a screen can never show a state the engine did not reach.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import asyncssh

from tui.engine.agent import AgentSetup, LinkUpdate, TunnelAgent
from tui.engine.appliance_store import ApplianceRecord, ApplianceStore
from tui.engine.audit import AuditLog
from tui.engine.backoff import FIRST_DELAY
from tui.engine.durations import format_duration
from tui.engine.errors import NotEnabledError, UsageError
from tui.engine.events import (
    Event,
    EventSink,
    Level,
    LogRecord,
    SeedIssued,
    ServiceEnded,
    ServiceStarted,
    StateChanged,
    StorageChanged,
)
from tui.engine.handshake_budget import HandshakeLimits
from tui.engine.heap import freeze_start_up_heap
from tui.engine.inventory import ApplianceConfig, Inventory
from tui.engine.keepalive import KeepaliveSettings
from tui.engine.keys import load_or_create_key
from tui.engine.live_status import LiveStatusFile
from tui.engine.node_links import NodeLink
from tui.engine.pinned_hosts import pin_host_key, replace_pin
from tui.engine.probe import (
    DEFAULT_TIMEOUT,
    DnsListener,
    PortListener,
    ProbeReport,
    ProbeTarget,
    probe_target_for,
    run_probe,
)
from tui.engine.reachability import ReachabilityChecks
from tui.engine.reasons import Failure, Reason, failure
from tui.engine.recorder import RECORDINGS
from tui.engine.refusal_tally import RefusalSummary, RefusedLogin
from tui.engine.secure_files import ensure_own_private_dir
from tui.engine.seeds import Chooser, generate_seed, validate_seed
from tui.engine.service_endpoint import BuiltinServiceEndpoint, EndpointHooks, EndpointIdentity
from tui.engine.service_sessions import RecordingPlan, ServiceSessions, ServiceTarget
from tui.engine.session_restrictions import SessionRestrictions
from tui.engine.session_tap import SessionTap
from tui.engine.states import Mode, TunnelState
from tui.engine.status import ApplianceStatus, SessionView, status_lines
from tui.engine.storage_health import (
    StorageError,
    StorageHealth,
    unusable_state_dir,
    why_not_written,
)

if TYPE_CHECKING:
    from tui.engine.capture import CaptureReport

# Handshakes in flight at once: 1,000 tunnels starting together each wait ~6 s when all
# handshake at once; with ~50 in flight the rate is the same and the first are up at once.
HANDSHAKES_IN_FLIGHT = 50
# While the state dir refuses writes, try again this often (a freed disk is noticed soon).
STORAGE_RETRY = 5.0


@dataclass(slots=True)
class _Runtime:
    """One appliance's live parts; the record holds what the operator decided."""

    config: ApplianceConfig
    record: ApplianceRecord
    sessions: ServiceSessions
    agent: TunnelAgent | None = None
    link: LinkUpdate | None = None
    route_up: bool = False
    route_failure: Failure | None = None
    expiring: bool = False
    expiry_timer: asyncio.TimerHandle | None = None
    published: StateChanged | None = None
    since: float = 0.0
    up_since: float | None = None
    route_pending: bool = False
    children: set[str] = field(default_factory=set)
    disabling: bool = False
    spares: list[TunnelAgent] = field(default_factory=list)
    """More tunnels to other relay nodes (`relay.connections` > 1)."""
    spare_links: dict[int, LinkUpdate] = field(default_factory=dict)
    routed_by: set[int] = field(default_factory=set)
    """SSHACCESS: which of the gateway's tunnels carry this appliance's route now."""
    key: asyncssh.SSHKey | None = None
    """The appliance key `_prepare_keys` has just made, for the agent made next: a thousand
    enables do not read a thousand fresh keys back from disk (≈ 0.4 ms each)."""

    def agents(self) -> list[TunnelAgent]:
        """Every tunnel agent of this appliance, the first one first."""
        return ([self.agent] if self.agent is not None else []) + self.spares


class Engine:
    """All appliances of one inventory, their agents, sessions, records and audit trail."""

    def __init__(
        self,
        inventory: Inventory,
        state_dir: Path,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        choose: Chooser | None = None,
        accept_new_host_keys: bool = False,
        first_retry_delay: float = FIRST_DELAY,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.inventory = inventory
        try:
            self.state_dir = ensure_own_private_dir(state_dir, "the state directory")
        except OSError as error:
            raise unusable_state_dir(state_dir, error) from None
        self.clock = clock
        self.accept_new_host_keys = accept_new_host_keys
        self.first_retry_delay = first_retry_delay
        self.timer = timer
        self._rng = rng or random.Random()
        self._choose = choose
        self._sinks: list[EventSink] = []
        self.storage = StorageHealth()
        self._storage_problem = ""
        self._storage_timer: asyncio.TimerHandle | None = None
        self._store = ApplianceStore(self.state_dir, health=self.storage)
        self.audit = AuditLog(
            self.state_dir / "audit.jsonl", clock, run=secrets.token_hex(4), health=self.storage
        )
        self._ca_key = asyncssh.read_public_key(inventory.resolve_path(inventory.relay.support_ca))
        self._runtimes: dict[str, _Runtime] = {}
        self.live = LiveStatusFile(
            self.state_dir,
            clock,
            statuses=lambda names: [self._status(self._runtimes[n]) for n in names],
            busy=lambda: [n for n, r in self._runtimes.items() if r.sessions.active],
            health=self.storage,
        )
        self._gate: asyncio.Semaphore | None = None
        # Its own jitter source: the engine's seeded one stays as tests and snapshots expect.
        self._reachability = ReachabilityChecks(random.Random())
        started = clock()
        for config in inventory.appliance:
            record = self._store.load(config.name) or ApplianceRecord(
                mode=config.mode, gateway=config.gateway
            )
            runtime = _Runtime(config, record, self._make_sessions(config), since=started)
            self._runtimes[config.name] = runtime
        self.storage.listen(self._storage_changed)

    # -- events -------------------------------------------------------------------------

    def subscribe(self, sink: EventSink) -> Callable[[], None]:
        """Call `sink` with every event from now on; returns the function that unsubscribes."""
        self._sinks.append(sink)
        return lambda: self._sinks.remove(sink) if sink in self._sinks else None

    def _emit(self, event: Event) -> None:
        self._audit_event(event)
        for sink in list(self._sinks):
            sink(event)

    def _log(self, name: str, level: Level, message: str) -> None:
        self._emit(LogRecord(name, level, message, self.clock()))

    def _audit_event(self, event: Event) -> None:
        if isinstance(event, ServiceStarted):
            self.audit.write(
                "service-start",
                appliance=event.appliance,
                session=event.session_id,
                engineer=event.engineer,
                source=event.source,
                recording=event.recording or None,
            )
        elif isinstance(event, ServiceEnded):
            extra: dict[str, str] = {}
            if event.recording_note:
                extra["recording_note"] = event.recording_note
            if event.ended_by:
                extra["ended_by"] = event.ended_by
            self.audit.write(
                "service-end",
                appliance=event.appliance,
                session=event.session_id,
                engineer=event.engineer,
                source=event.source,
                bytes_in=event.bytes_in,
                bytes_out=event.bytes_out,
                duration=round(event.duration, 3),
                started=round(event.ts - event.duration, 3),
                recording=event.recording or None,
                **extra,
            )

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Resume every appliance that was enabled when the process last stopped."""
        now = self.clock()
        self._storage_notes()
        if self.storage.problem:
            self._storage_changed()
        for runtime in self._ordered():
            record = runtime.record
            if not record.enabled:
                if record.ended == "expired":
                    self._publish(runtime)
                continue
            if record.expires_at is not None and record.expires_at <= now:
                self._finish_expiry(runtime)
                continue
            self._log(
                runtime.config.name, Level.INFO, "resuming remote access enabled before the restart"
            )
            try:
                await self._prepare_keys(runtime)
            except StorageError as error:
                self._log(runtime.config.name, Level.ERROR, f"cannot resume: {error.sentence}")
                continue
            self._activate(runtime)
        freeze_start_up_heap()

    async def shutdown(self) -> None:
        """Stop every agent without changing what is enabled (the process is exiting)."""
        for runtime in self._runtimes.values():
            if runtime.expiry_timer is not None:
                runtime.expiry_timer.cancel()
            runtime.sessions.stop_accepting("The appliance is shutting down.")
            await runtime.sessions.end_all("its remote access console is shutting down")
            for agent in runtime.agents():
                await agent.stop()
            if isinstance(runtime.sessions.target, BuiltinServiceEndpoint):
                await runtime.sessions.target.close()
            await runtime.sessions.flush_recordings()
        await self._reachability.close()
        if self._storage_timer is not None:
            self._storage_timer.cancel()
        self.live.flush()
        self._store.close()
        self.audit.close()

    def _ordered(self) -> list[_Runtime]:
        """Tunnels before the SSHACCESS appliances that ride on them."""
        runtimes = list(self._runtimes.values())
        return sorted(runtimes, key=lambda r: r.record.mode is Mode.SSHACCESS)

    # -- the API ------------------------------------------------------------------------

    async def enable(
        self,
        name: str,
        *,
        mode: Mode | None = None,
        seed: str | None = None,
        port: int | None = None,
        gateway: str | None = None,
        lifetime: float | None = None,
        restrictions: SessionRestrictions | None = None,
    ) -> str:
        """Turn remote access on; returns the seed in force (generated unless given)."""
        runtime = self._runtime(name)
        config = runtime.config
        mode = mode or config.mode
        chosen_seed = validate_seed(seed) if seed is not None else generate_seed(self._choose)
        chosen_port = self.inventory.check_port(port) if port is not None else None
        if mode is Mode.SSHACCESS:
            gateway = gateway or config.gateway or runtime.record.gateway
            self._check_gateway(name, gateway)
        else:
            gateway = None
        try:
            await self._prepare_keys(runtime, mode)
        except StorageError as error:
            raise StorageError(f"{error.sentence} Remote access was not enabled.") from None
        now = self.clock()
        life = lifetime if lifetime is not None else self.inventory.relay.lifetime
        rules = restrictions or SessionRestrictions()
        record = ApplianceRecord(
            enabled=True,
            mode=mode,
            port=chosen_port or runtime.record.port,
            gateway=gateway,
            seed=chosen_seed,
            enabled_at=now,
            expires_at=now + life,
            restrictions=rules,
            sessions_opened=runtime.record.sessions_opened,
        )
        await self._save(
            runtime,
            record,
            retire_seed=runtime.record.seed is not None,
            refused="remote access was not enabled",
        )
        if runtime.record.enabled:
            await self._deactivate(
                runtime,
                "re-enabled with new settings",
                goodbye="remote access was enabled again with a new seed",
            )
        runtime.record = record
        runtime.expiring = False
        self.audit.write(
            "enable",
            appliance=name,
            serial=config.serial,
            mode=mode.value,
            port=self._own_port(runtime),
            gateway=gateway,
            expires_at=round(now + life, 3),
            restrictions=rules.to_json() if rules.any else None,
        )
        self._emit(SeedIssued(name, config.serial, chosen_seed, now, typed=seed is not None))
        self._log(
            name,
            Level.INFO,
            f"remote access enabled ({mode.value.upper()}); "
            f"give support the serial {config.serial} and the seed",
        )
        self._activate(runtime)
        # Let the new agent start before the next enable of a batch runs: the first tunnels
        # of a thousand come up at once instead of after all were set up.
        await asyncio.sleep(0)
        return chosen_seed

    async def disable(self, name: str) -> None:
        """Turn remote access off: cut sessions now, close the tunnel, forget the seed."""
        runtime = self._runtime(name)
        if not runtime.record.enabled:
            self._publish(runtime)
            return
        await self._switch_off(runtime)
        await self._acknowledge_disabled([runtime])

    async def disable_all(self) -> None:
        """Disable every enabled appliance (quit with tunnels up, SIGTERM of `rac agent`):
        each is cut off in turn, and the journal is rewritten once for all of them."""
        done = []
        for runtime in sorted(self._runtimes.values(), key=lambda r: r.record.mode is Mode.TUNNEL):
            if runtime.record.enabled:
                await self._switch_off(runtime)
                done.append(runtime)
        await self._acknowledge_disabled(done)

    async def _switch_off(self, runtime: _Runtime) -> None:
        """The live part of a disable: sessions cut, tunnel closed, seed out of memory."""
        await self._deactivate(
            runtime,
            "disabled by the operator",
            goodbye="remote access was disabled",
            disabling=True,
        )
        self._retire(runtime, "disabled")  # DISABLING is shown until this is on disk
        self.audit.write("disable", appliance=runtime.config.name, serial=runtime.config.serial)

    async def _acknowledge_disabled(self, runtimes: list[_Runtime]) -> None:
        """Say "disabled" only once it is on disk (or say why it is not)."""
        try:
            await self._store.commit()
        except StorageError as error:
            for runtime in runtimes:
                runtime.disabling = False
                self._log(
                    runtime.config.name,
                    Level.ERROR,
                    "Remote Access is off now, but "
                    f"it could not be saved: {error.sentence} rac keeps trying; until it "
                    "succeeds, a restart of rac would turn access back on with the old "
                    "seed.",
                )
                self._publish(runtime)
            return
        for runtime in runtimes:
            runtime.disabling = False
            self._log(runtime.config.name, Level.INFO, "Success — Remote Access has been disabled")
            self._publish(runtime)

    async def set_port(self, name: str, port: int) -> None:
        """Use another relay port; a running tunnel reconnects on it at once. The port it
        already uses changes nothing (support inside is not thrown out for nothing)."""
        runtime = self._runtime(name)
        self.inventory.check_port(port)
        if runtime.record.mode is Mode.SSHACCESS:
            raise UsageError(
                f"{name} is reached through its gateway on port 22: "
                "it has no relay port of its own."
            )
        in_use = runtime.agent.port if runtime.agent is not None else None
        if port == self._selected_port(runtime) and in_use in (None, port):
            return
        record = dataclasses.replace(runtime.record, port=port)
        await self._save(runtime, record, refused="the port was not changed")
        runtime.record = record
        self.audit.write("port", appliance=name, port=port)
        self._log(name, Level.INFO, f"relay port set to {port}")
        if runtime.agent is not None and runtime.agent.running:
            # Say the tunnel is moving before its sessions end: otherwise their end shows the
            # old port as ESTABLISHED once more, after "relay port set to" the new one.
            runtime.link = LinkUpdate(TunnelState.RESOLVING, port)
            self._publish(runtime)
            await self._end_sessions_riding(runtime, "the tunnel moves to another relay port")
            for agent in runtime.agents():
                await agent.restart(port)
        else:
            for agent in runtime.agents():
                agent.port = port

    async def new_seed(self, name: str, seed: str | None = None) -> str:
        """Replace the seed: every support session and credential of the old one ends now."""
        runtime = self._runtime(name)
        if not runtime.record.enabled:
            raise NotEnabledError(f"Remote access is not enabled on {name}: enable it first.")
        new = validate_seed(seed) if seed is not None else generate_seed(self._choose)
        record = dataclasses.replace(runtime.record, seed=new)
        await self._save(runtime, record, retire_seed=True, refused="the old seed stays in force")
        runtime.record = record
        await runtime.sessions.end_all("a new seed is in force")
        self.audit.write("seed-changed", appliance=name, serial=runtime.config.serial)
        self._emit(
            SeedIssued(name, runtime.config.serial, new, self.clock(), typed=seed is not None)
        )
        self._log(
            name, Level.WARNING, "new seed in force: support sessions of the old seed were ended"
        )
        return new

    async def extend_lifetime(self, name: str, by: float) -> float:
        """Give access `by` more seconds (from its end, or from now if that has passed);
        returns the new end. Sessions may open again if the lifetime had run out."""
        runtime = self._runtime(name)
        if not runtime.record.enabled:
            raise NotEnabledError(f"Remote access is not enabled on {name}: enable it first.")
        if by <= 0:
            raise UsageError("Extend the lifetime by a duration longer than zero.")
        now = self.clock()
        expires_at = max(runtime.record.expires_at or now, now) + by
        record = dataclasses.replace(runtime.record, expires_at=expires_at)
        await self._save(runtime, record, refused="the lifetime was not extended")
        runtime.record = record
        if runtime.expiring:
            runtime.expiring = False
            runtime.sessions.open()
        self._arm_expiry(runtime)
        self.audit.write("lifetime-extended", appliance=name, expires_at=round(expires_at, 3))
        self._log(name, Level.INFO, f"access lifetime extended by {format_duration(by)}")
        self.live.changed(name)
        return expires_at

    async def end_session(self, name: str, session_id: str) -> None:
        """End one support session (the engineer is told); the seed stays valid for others."""
        runtime = self._runtime(name)
        session = runtime.sessions.find(session_id)
        if session is None:
            raise UsageError(f"{session_id} is not open on {name}.")
        self.audit.write(
            "session-ended-by-operator",
            appliance=name,
            session=session_id,
            engineer=session.engineer,
            source=session.source,
        )
        self._log(
            name,
            Level.WARNING,
            f"(SERVICE) session {session_id} of "
            f"{session.engineer or 'support'} ended by the operator",
        )
        await runtime.sessions.end_one(session_id)

    def session_tap(self, name: str, session_id: str) -> SessionTap | None:
        """The live terminal of an open session (None: ended, or a real sshd's session)."""
        session = self._runtime(name).sessions.find(session_id)
        return session.tap if session is not None else None

    def watchable(self, name: str) -> bool:
        """Whether rac sees this appliance's sessions in clear (the built-in endpoint)."""
        return self._runtime(name).sessions.watchable

    def restrictions(self, name: str) -> SessionRestrictions:
        """Who may come in during the current enablement."""
        return self._runtime(name).record.restrictions

    @property
    def recordings_dir(self) -> Path:
        """Where session recordings are written (`STATE/recordings`)."""
        return self.state_dir / RECORDINGS

    async def accept_host_key(self, name: str) -> str:
        """Pin the relay key the agent was shown (first use, or a vendor's key change)."""
        runtime = self._runtime(name)
        agent = runtime.agent
        state = runtime.link.state if runtime.link else TunnelState.DISABLED
        if agent is None or agent.presented_key is None or not state.needs_operator:
            raise UsageError(f"{name} is not waiting for a host key decision.")
        known_hosts = self.inventory.known_hosts_path
        host = agent.setup.relay_host
        if state is TunnelState.HOST_KEY_MISMATCH:
            replace_pin(known_hosts, host, agent.presented_key)
        else:
            pin_host_key(known_hosts, host, agent.presented_key)
        fingerprint = agent.presented_key.get_fingerprint("sha256")
        self.audit.write(
            "host-key-accepted",
            appliance=name,
            host=host,
            fingerprint=fingerprint,
            replaced=state is TunnelState.HOST_KEY_MISMATCH,
        )
        self._log(name, Level.WARNING, f"relay host key {fingerprint} pinned for {host}")
        for each in runtime.agents():
            await each.restart()
        return fingerprint

    def status(self, name: str) -> ApplianceStatus:
        """One appliance's status now."""
        return self._status(self._runtime(name))

    def statuses(self) -> list[ApplianceStatus]:
        """Every appliance, in inventory order."""
        return [self._status(runtime) for runtime in self._runtimes.values()]

    def probe_target(
        self, name: str, *, timeout: float = DEFAULT_TIMEOUT, handshake: bool = True
    ) -> ProbeTarget:
        """What the connectivity test of `name` tests: its relay, ports, resolvers, pin."""
        runtime = self._runtime(name)
        config = runtime.config.model_copy(
            update={"mode": runtime.record.mode, "gateway": runtime.record.gateway}
        )
        target = probe_target_for(
            self.inventory, config, timeout=timeout, handshake=handshake, timer=self.timer
        )
        status = self._status(runtime)
        in_use = status.port if status.enabled and status.port else status.selected_port
        return dataclasses.replace(target, in_use=in_use)

    async def probe(
        self, name: str, *, on_dns: DnsListener | None = None, on_port: PortListener | None = None
    ) -> ProbeReport:
        """The connectivity test of one appliance's relay; listeners see answers as they come."""
        report = await run_probe(self.probe_target(name), on_dns=on_dns, on_port=on_port)
        worked = ", ".join(str(p.port) for p in report.ports if p.usable) or "none"
        self._log(
            name, Level.INFO, f"connectivity test: working ports {worked}; {report.recommended.why}"
        )
        return report

    async def capture(self, name: str, *, seconds: float = 5.0) -> CaptureReport:
        """A packet capture of one attempt on the appliance's selected port."""
        from tui.engine.capture import capture_appliance  # tcpdump support: only when used

        runtime = self._runtime(name)
        report = await capture_appliance(
            self.inventory, name, self.state_dir, port=self._selected_port(runtime), seconds=seconds
        )
        self.audit.write(
            "capture", appliance=name, path=str(report.path), packets=report.summary.packets
        )
        self._log(name, Level.INFO, report.sentence)
        return report

    def agent(self, name: str) -> TunnelAgent | None:
        """The tunnel agent of a TUNNEL appliance once it has been enabled."""
        return self._runtime(name).agent

    def seed(self, name: str) -> str | None:
        """The seed in force, for the operator's screen only (never for a log)."""
        return self._runtime(name).record.seed

    def gateway_candidates(self, name: str) -> tuple[str, ...]:
        """The appliances `name` may reach support through in SSHACCESS mode, in inventory
        order (what the enable dialogue offers)."""
        return tuple(other for other in self._runtimes if self._can_be_gateway(other, name))

    def _can_be_gateway(self, gateway: str, name: str) -> bool:
        """A gateway is another appliance in TUNNEL mode, both as configured and as enabled."""
        runtime = self._runtimes.get(gateway)
        return (
            runtime is not None
            and gateway != name
            and runtime.record.mode is Mode.TUNNEL
            and self.inventory.get(gateway).mode is Mode.TUNNEL
        )

    # -- storage ------------------------------------------------------------------------

    async def saved(self) -> None:
        """Wait until every change so far is on disk (raises StorageError if it cannot be)."""
        await self._store.commit()

    async def _save(
        self, runtime: _Runtime, record: ApplianceRecord, *, retire_seed: bool = False, refused: str
    ) -> None:
        """Write `record` and wait until it is on disk, before anything is acknowledged;
        if the disk refuses, nothing changed and the operator reads why."""
        name = runtime.config.name
        previous = self._store.load(name)
        try:
            self._store.save(name, record, retire_seed=retire_seed)
            await self._store.commit()
        except StorageError as error:
            self._store.restore(name, previous)
            self._storage_notes()
            raise StorageError(f"{error.sentence} {refused[0].upper()}{refused[1:]}.") from None
        self._storage_notes()

    def _retire(self, runtime: _Runtime, ended: str) -> None:
        """Access ended (disabled, expired): the seed leaves memory and, at the commit, disk."""
        runtime.record.enabled = False
        runtime.record.seed = None
        runtime.record.ended = ended
        self._store.save(runtime.config.name, runtime.record, retire_seed=True)

    def _commit_soon(self) -> None:
        """Commit without a caller waiting (expiry): a refusal is shown and retried."""

        async def commit() -> None:
            # A refusal: the storage health shows it and the retry timer writes it later.
            with contextlib.suppress(StorageError):
                await self._store.commit()

        try:
            asyncio.get_running_loop().create_task(commit())
        except RuntimeError:  # no loop (the engine used from plain code): write it now
            self._store.flush_quietly()

    async def _prepare_keys(self, runtime: _Runtime, mode: Mode | None = None) -> None:
        """Create the appliance key before the enable is saved, so a disk that refuses it
        refuses the enable (nothing changed) instead of failing half-way. A new key is
        synced to disk (1.5 ms here, 40-50 ms on a busy disk): in a thread, so a
        thousand enables never stall the loop every tunnel runs on. The service endpoint's
        host key stays lazy: made at the first support login (most appliances of a big
        fleet never see one)."""
        config = runtime.config
        if runtime.agent is not None:
            return  # its agent holds the key, loaded when it was made
        key = self.state_dir / "keys" / f"{config.name}_ed25519"
        try:
            if (mode or runtime.record.mode) is Mode.TUNNEL and (
                key.is_symlink() or not key.exists()
            ):
                comment = f"{config.serial} appliance key"
                runtime.key = await asyncio.to_thread(load_or_create_key, key, comment)
        except OSError as error:
            why = why_not_written(error)
            if error.errno == errno.ELOOP and error.filename:  # a link planted at the key
                why = f"{error.filename}: {why}"
            raise StorageError(
                f"Cannot write the keys of {config.name} in {self.state_dir / 'keys'}: {why}."
            ) from None

    def _storage_notes(self) -> None:
        """What the journal had to say (a torn last line, a replaced file): into the log."""
        while self._store.notes:
            self._emit(LogRecord("", Level.WARNING, self._store.notes.pop(0), self.clock()))

    def _storage_changed(self) -> None:
        """The state dir's health moved: tell everyone when the causes change (the count of
        lost audit lines is read from the status), and retry the writes."""
        causes = self.storage.causes
        if causes == self._storage_problem:
            return
        self._storage_problem = causes
        self._emit(StorageChanged(self.storage.problem, self.clock()))
        for runtime in self._runtimes.values():
            self.live.changed(runtime.config.name)
        if causes:
            self._arm_storage_retry()

    def _arm_storage_retry(self) -> None:
        if self._storage_timer is not None:
            return
        with contextlib.suppress(RuntimeError):
            loop = asyncio.get_running_loop()
            self._storage_timer = loop.call_later(STORAGE_RETRY, self._retry_storage)

    def _host_key_unsaved(self, name: str, path: Path, error: OSError) -> None:
        self.storage.failed("host-key", path, error)
        self._log(
            name,
            Level.WARNING,
            f"the (SERVICE) host key is kept in memory: "
            f"{why_not_written(error)} in {path.parent}; it is saved when the disk "
            "takes writes again",
        )

    def _retry_storage(self) -> None:
        """Write again what the disk refused: the journal, the audit gap, `live.json`, host
        keys kept in memory."""
        self._storage_timer = None
        if self._store.behind:
            self._store.flush_quietly()
        self._save_host_keys()
        self.audit.retry()
        self.live.flush()
        self._storage_notes()
        if self.storage.problem:
            self._arm_storage_retry()

    def _save_host_keys(self) -> None:
        unsaved = [
            r.sessions.target
            for r in self._runtimes.values()
            if isinstance(r.sessions.target, BuiltinServiceEndpoint)
            and r.sessions.target.host_key_unsaved
        ]
        for endpoint in unsaved:
            try:
                endpoint.save_host_key()
            except OSError as error:
                self.storage.failed("host-key", endpoint.identity.host_key_path, error)
                return
        if unsaved:
            self.storage.worked("host-key")

    # -- internals ----------------------------------------------------------------------

    def _runtime(self, name: str) -> _Runtime:
        runtime = self._runtimes.get(name)
        if runtime is None:
            self.inventory.get(name)  # raises the error that lists the known names
            raise AssertionError(name)
        return runtime

    def _check_gateway(self, name: str, gateway: str | None) -> None:
        if not gateway:
            raise UsageError(f"{name}: SSHACCESS needs a gateway appliance that has a tunnel.")
        self.inventory.get(gateway)  # raises the error that lists the known names
        if not self._can_be_gateway(gateway, name):
            raise UsageError(
                f"{gateway} cannot be the gateway of {name}: a gateway must be "
                "another appliance in TUNNEL mode."
            )

    def _selected_port(self, runtime: _Runtime) -> int:
        return runtime.record.port or self.inventory.port_for(runtime.config)

    def _own_port(self, runtime: _Runtime) -> int | None:
        """The relay port this appliance dials; none for SSHACCESS (its gateway dials)."""
        if runtime.record.mode is Mode.SSHACCESS:
            return None
        return self._selected_port(runtime)

    def _make_sessions(self, config: ApplianceConfig) -> ServiceSessions:
        name = config.name
        target: ServiceTarget
        address = config.service_address
        if address is not None:
            target = address
        else:
            hooks = EndpointHooks(
                current_seed=lambda: self._current_seed(name),
                status_lines=lambda: status_lines(self.status(name), self.clock()),
                authenticated=lambda session, engineer: self._runtimes[name].sessions.authenticated(
                    session, engineer
                ),
                rejected=lambda refused: self._rejected(name, refused),
                rejected_in_bulk=lambda summary: self._rejected_in_bulk(name, summary),
                host_key_unsaved=lambda path, error: self._host_key_unsaved(name, path, error),
                admit=lambda engineer: self._runtimes[name].record.restrictions.refusal(
                    engineer, self.clock()
                ),
                tap=lambda connection: self._runtimes[name].sessions.tap_for(connection),
            )
            identity = EndpointIdentity(
                name,
                config.serial,
                config.model,
                self.state_dir / "keys" / f"{name}_host_ed25519",
                self._ca_key,
            )
            target = BuiltinServiceEndpoint(identity, hooks)
        relay = self.inventory.relay
        plan = RecordingPlan(
            self.recordings_dir,
            config.serial,
            cap=relay.recording_cap_mib * 1024 * 1024,
            enabled=relay.recordings,
        )
        return ServiceSessions(
            name,
            target,
            clock=self.clock,
            emit=self._emit,
            on_count=lambda count: self._sessions_changed(name, count),
            number=lambda: self._next_session_number(name),
            recording=plan,
        )

    def _next_session_number(self, name: str) -> int:
        """Numbers survive restarts: a restart within one enablement never shows #1 again."""
        runtime = self._runtimes[name]
        runtime.record.sessions_opened += 1
        self._store.save(name, runtime.record)
        self._commit_soon()
        return runtime.record.sessions_opened

    def _current_seed(self, name: str) -> str | None:
        runtime = self._runtimes[name]
        if not runtime.record.enabled or not runtime.sessions.accepting:
            return None
        return runtime.record.seed

    def _rejected(self, name: str, refused: RefusedLogin) -> None:
        self.audit.write(
            "support-login-rejected",
            appliance=name,
            source=refused.source,
            user=refused.user,
            why=refused.why,
            attempts=list(refused.attempts),
        )
        self._log(
            name, Level.WARNING, f"support login from {refused.source} rejected: {refused.why}"
        )

    def _rejected_in_bulk(self, name: str, summary: RefusalSummary) -> None:
        self.audit.write(
            "support-login-rejected-summary",
            appliance=name,
            count=summary.count,
            sources=summary.by_source,
            reasons=summary.by_reason,
            interval=summary.interval,
        )
        self._log(
            name,
            Level.WARNING,
            f"{summary.count} more support logins rejected in the "
            f"last {summary.interval:.0f} s (not logged one by one; see the audit log)",
        )

    def _activate(self, runtime: _Runtime) -> None:
        """Open the doors the record says are open and start what carries them."""
        name = runtime.config.name
        record = runtime.record
        runtime.sessions.open()
        self._arm_expiry(runtime)
        if record.mode is Mode.TUNNEL:
            runtime.agent = runtime.agent or self._make_agent(runtime)
            while len(runtime.spares) < self.inventory.relay.connections - 1:
                runtime.spares.append(self._make_agent(runtime, slot=len(runtime.spares) + 1))
            for agent in runtime.agents():
                agent.port = self._selected_port(runtime)
                for child_name in runtime.children:  # SSHACCESS riders enabled before
                    child = self._runtimes[child_name]
                    if child.record.enabled:
                        agent.announce(child.config.serial, child.sessions)
                agent.start()
        else:
            gateway = self._runtimes[record.gateway or ""]
            gateway.children.add(name)
            runtime.route_up = False
            runtime.route_failure = None
            runtime.routed_by.clear()
            runtime.route_pending = gateway.record.enabled and any(
                agent.connected for agent in gateway.agents()
            )
            if gateway.record.enabled:
                for agent in gateway.agents():
                    agent.announce(runtime.config.serial, runtime.sessions)
            self._publish(runtime)

    async def _end_sessions_riding(self, runtime: _Runtime, goodbye: str) -> None:
        """End the sessions that run over this appliance's tunnel: its own and its children's."""
        await runtime.sessions.end_all(goodbye)
        for child in list(runtime.children):
            await self._runtimes[child].sessions.end_all(
                f"{goodbye} (on the gateway {runtime.config.name})"
            )

    async def _deactivate(
        self, runtime: _Runtime, why: str, *, goodbye: str, disabling: bool = False
    ) -> None:
        name = runtime.config.name
        if disabling:
            runtime.disabling = True
            self._publish(runtime)
        if runtime.expiry_timer is not None:
            runtime.expiry_timer.cancel()
            runtime.expiry_timer = None
        runtime.sessions.stop_accepting("Remote access is not enabled on this appliance.")
        await self._end_sessions_riding(runtime, goodbye)
        if runtime.record.mode is Mode.SSHACCESS:
            gateway = self._runtimes.get(runtime.record.gateway or "")
            if gateway is not None:
                gateway.children.discard(name)
                for agent in gateway.agents():
                    agent.withdraw(runtime.config.serial)
            runtime.route_up = False
        elif runtime.agent is not None:
            for agent in runtime.agents():
                await agent.stop()
            runtime.link = None
            runtime.spare_links.clear()
        self._log(name, Level.INFO, why)

    def _make_agent(self, runtime: _Runtime, slot: int = 0) -> TunnelAgent:
        config = runtime.config
        relay = self.inventory.relay
        # The key `_prepare_keys` just made, once; otherwise the file, as the operator left it.
        key = runtime.key or load_or_create_key(
            self.state_dir / "keys" / f"{config.name}_ed25519", f"{config.serial} appliance key"
        )
        runtime.key = None
        setup = AgentSetup(
            name=config.name,
            serial=config.serial,
            relay_host=self.inventory.relay_host(config),
            nameservers=relay.nameservers,
            ports=relay.ports,
            port_map=dict(relay.port_map),
            fallback=relay.fallback,
            connect_timeout=relay.connect_timeout,
            client_key=key,
            known_hosts=self.inventory.known_hosts_path,
            proxy=relay.proxy_route,
            keepalive=KeepaliveSettings.of(relay.keepalive_interval, relay.keepalive_timeout),
            handshake=HandshakeLimits(relay.handshake_timeout, relay.handshake_timeout_max),
            connections=relay.connections,
        )
        name = config.name
        several = relay.connections > 1

        def others() -> set[str]:
            return {a.node_address for a in runtime.agents() if a.slot != slot} - {""}

        def report(update: LinkUpdate) -> None:
            if slot:
                self._spare_link_changed(name, slot, update)
            else:
                self._link_changed(name, update)

        return TunnelAgent(
            setup,
            runtime.sessions,
            port=self._selected_port(runtime),
            rng=self._rng,
            first_retry_delay=self.first_retry_delay,
            gate=self._handshake_gate(),
            checks=self._reachability,
            clock=self.clock,
            timer=self.timer,
            report=report,
            slot=slot,
            avoid=others if several else None,
            log=lambda level, message: self._log(
                name, level, f"tunnel {slot + 1}: {message}" if several else message
            ),
            on_route=lambda serial, up, why: self._route_changed(serial, up, why, slot),
        )

    def _handshake_gate(self) -> asyncio.Semaphore:
        if self._gate is None:
            self._gate = asyncio.Semaphore(HANDSHAKES_IN_FLIGHT)
        return self._gate

    def _link_changed(self, name: str, update: LinkUpdate) -> None:
        runtime = self._runtimes[name]
        runtime.link = update
        if update.failure is not None and update.failure.detail:
            # The state event carries the reason and the sentence; this adds what was seen.
            self._log(name, Level.INFO, f"{update.failure.reason}: {update.failure.detail}")
        if (
            update.state is TunnelState.HOST_KEY_UNKNOWN
            and self.accept_new_host_keys
            and runtime.agent is not None
        ):
            asyncio.get_running_loop().create_task(self.accept_host_key(name))
        self._publish(runtime)

    def _spare_link_changed(self, name: str, slot: int, update: LinkUpdate) -> None:
        runtime = self._runtimes[name]
        runtime.spare_links[slot] = update
        if update.failure is not None and update.failure.detail:
            self._log(
                name,
                Level.INFO,
                f"tunnel {slot + 1}: {update.failure.reason}: {update.failure.detail}",
            )
        self._publish(runtime)

    def _route_changed(self, serial: str, up: bool, why: Failure | None, slot: int = 0) -> None:
        for runtime in self._runtimes.values():
            if runtime.config.serial == serial and runtime.record.mode is Mode.SSHACCESS:
                if up:
                    runtime.routed_by.add(slot)
                else:
                    runtime.routed_by.discard(slot)
                runtime.route_up = bool(runtime.routed_by) and runtime.record.enabled
                runtime.route_failure = why
                runtime.route_pending = False
                if why is not None and why.detail:
                    self._log(runtime.config.name, Level.WARNING, f"{why.reason}: {why.detail}")
                if up:
                    self._log(
                        runtime.config.name,
                        Level.INFO,
                        f"reachable through {runtime.record.gateway}",
                    )
                self._publish(runtime)

    def _sessions_changed(self, name: str, count: int) -> None:
        runtime = self._runtimes[name]
        self._publish(runtime)
        owner = runtime
        if runtime.record.mode is Mode.SSHACCESS:
            owner = self._runtimes.get(runtime.record.gateway or "", runtime)
        for candidate in {id(runtime): runtime, id(owner): owner}.values():
            if candidate.expiring and self._idle(candidate):
                self._finish_expiry(candidate)

    def _idle(self, runtime: _Runtime) -> bool:
        """No support session runs over this appliance's access (its own or its children's)."""
        riders = [runtime, *(self._runtimes[c] for c in runtime.children)]
        return all(not r.sessions.active for r in riders)

    # -- lifetime -----------------------------------------------------------------------

    def _arm_expiry(self, runtime: _Runtime) -> None:
        expires_at = runtime.record.expires_at
        if expires_at is None:
            return
        if runtime.expiry_timer is not None:
            runtime.expiry_timer.cancel()
        delay = max(0.0, expires_at - self.clock())
        loop = asyncio.get_running_loop()
        runtime.expiry_timer = loop.call_later(delay, self._expire, runtime.config.name)

    def _expire(self, name: str) -> None:
        runtime = self._runtimes[name]
        runtime.expiry_timer = None
        runtime.expiring = True
        runtime.sessions.stop_accepting("Remote access has expired on this appliance.")
        self._log(
            name,
            Level.WARNING,
            "access lifetime ended: no new support session; open sessions run on until closed",
        )
        self.audit.write("expiring", appliance=name, open_sessions=runtime.sessions.active)
        if self._idle(runtime):
            self._finish_expiry(runtime)

    def _finish_expiry(self, runtime: _Runtime) -> None:
        name = runtime.config.name
        runtime.expiring = False
        self._retire(runtime, "expired")
        self._commit_soon()
        self.audit.write("expired", appliance=name, serial=runtime.config.serial)
        runtime.sessions.stop_accepting("Remote access has expired on this appliance.")
        if runtime.agent is not None:
            runtime.link = None
            runtime.spare_links.clear()
            for agent in runtime.agents():
                asyncio.get_running_loop().create_task(agent.stop())
        if runtime.record.mode is Mode.SSHACCESS:
            gateway = self._runtimes.get(runtime.record.gateway or "")
            if gateway is not None:
                for agent in gateway.agents():
                    agent.withdraw(runtime.config.serial)
        self._publish(runtime)

    # -- state composition --------------------------------------------------------------

    def _relay_host(self, runtime: _Runtime) -> str:
        if runtime.record.mode is Mode.SSHACCESS:
            return runtime.record.gateway or ""
        return self.inventory.relay_host(runtime.config)

    def _compose(self, runtime: _Runtime) -> StateChanged:
        """The state the operator sees, from the link, the route and the sessions."""
        name = runtime.config.name
        now = self.clock()
        record = runtime.record
        busy = runtime.sessions.active > 0
        port = self._own_port(runtime) or 0
        host = self._relay_host(runtime)
        if runtime.disabling:
            return StateChanged(name, TunnelState.DISABLING, now, port=port, relay_host=host)
        if not record.enabled:
            state = TunnelState.EXPIRED if record.ended == "expired" else TunnelState.DISABLED
            why = failure(Reason.EXPIRED) if state is TunnelState.EXPIRED else None
            return StateChanged(
                name,
                state,
                now,
                reason=why.reason if why else None,
                detail=why.sentence if why else "",
                port=port,
                relay_host=host,
                failed_stage=why.stage if why else None,
            )
        if record.mode is Mode.SSHACCESS:
            if runtime.route_up:
                state = TunnelState.SERVICE if busy else TunnelState.READY
                return StateChanged(name, state, now, relay_host=host)
            if runtime.route_pending:
                return StateChanged(name, TunnelState.FORWARDING, now, relay_host=host)
            why = runtime.route_failure or failure(
                Reason.GATEWAY_DOWN, gateway=record.gateway or ""
            )
            return StateChanged(
                name,
                TunnelState.WAITING_GATEWAY,
                now,
                reason=why.reason,
                detail=why.sentence,
                relay_host=host,
                failed_stage=why.stage,
            )
        link = runtime.link or LinkUpdate(TunnelState.RESOLVING, port)
        if not link.state.is_up:  # another tunnel on another node carries support meanwhile
            link = next(
                (spare for spare in runtime.spare_links.values() if spare.state.is_up), link
            )
        state = link.state
        if state is TunnelState.ESTABLISHED and busy:
            state = TunnelState.SERVICE
        why = link.failure
        return StateChanged(
            name,
            state,
            now,
            reason=why.reason if why else None,
            detail=why.sentence if why else "",
            port=link.port,
            relay_host=host,
            address=link.address,
            attempt=link.attempt,
            retry_at=link.retry_at,
            fingerprint=link.fingerprint,
            links=self._links(runtime),
            failed_stage=why.stage if why else None,
        )

    def _links(self, runtime: _Runtime) -> tuple[NodeLink, ...]:
        if not runtime.spares:
            return ()
        links = [runtime.link, *(runtime.spare_links.get(a.slot) for a in runtime.spares)]
        return tuple(
            NodeLink(link.address, link.state, link.failure.reason.value if link.failure else "")
            if link is not None
            else NodeLink("", TunnelState.RESOLVING)
            for link in links
        )

    def _publish(self, runtime: _Runtime) -> None:
        event = self._compose(runtime)
        previous = runtime.published
        if previous is not None and _same_state(previous, event):
            return
        if previous is None or previous.state is not event.state:
            runtime.since = event.ts
        if not event.state.is_up:
            runtime.up_since = None
        elif runtime.up_since is None:
            runtime.up_since = event.ts
        runtime.published = event
        self._emit(event)
        self.live.changed(runtime.config.name)

    def _status(self, runtime: _Runtime) -> ApplianceStatus:
        event = runtime.published or self._compose(runtime)
        config = runtime.config
        record = runtime.record
        return ApplianceStatus(
            name=config.name,
            serial=config.serial,
            series=config.series.value,
            model=config.model,
            mode=record.mode,
            enabled=record.enabled,
            state=event.state,
            relay_host=event.relay_host,
            port=event.port or self._own_port(runtime) or 0,
            selected_port=self._selected_port(runtime),
            since=runtime.since,
            up_since=runtime.up_since,
            reason=event.reason,
            detail=event.detail,
            address=event.address,
            gateway=record.gateway or "",
            enabled_at=record.enabled_at if record.enabled else None,
            expires_at=record.expires_at if record.enabled else None,
            attempt=event.attempt,
            retry_at=event.retry_at,
            fingerprint=event.fingerprint,
            storage=self.storage.problem,
            sessions=tuple(
                SessionView(s.session_id, s.engineer, s.source, s.started, s.bytes_in, s.bytes_out)
                for s in runtime.sessions.sessions
            ),
            links=event.links,
            failed_stage=event.failed_stage,
        )


def _same_state(before: StateChanged, after: StateChanged) -> bool:
    """Equal but for the time stamp: nothing to tell anyone."""
    return (
        before.state,
        before.reason,
        before.detail,
        before.port,
        before.address,
        before.attempt,
        before.retry_at,
        before.fingerprint,
        before.failed_stage,
    ) == (
        after.state,
        after.reason,
        after.detail,
        after.port,
        after.address,
        after.attempt,
        after.retry_at,
        after.fingerprint,
        after.failed_stage,
    ) and before.links == after.links
