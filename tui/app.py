"""The console app. It owns the engine (on Textual's own event loop) and the fleet model;
screens are views of them, so leaving a dashboard never touches a tunnel.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import App, SystemCommand
from textual.screen import Screen
from textual.widget import AwaitMount

from themes import STYLESHEET
from themes.palette import RAC_DARK, THEMES
from tui.actions import ACTIONS, Scope, bindings_for
from tui.engine.errors import RacError
from tui.environment import ConsoleEnvironment, EngineOptions, LabEnvironment
from tui.idle_collector import CHECK_EVERY as COLLECT_CHECK
from tui.idle_collector import IdleCollector, release_collections_after_start
from tui.screens.console_host import ConsoleHost
from tui.screens.fleet_screen import FleetScreen
from tui.screens.rac_screen import RacScreen
from tui.settings import Settings

if TYPE_CHECKING:
    from textual.pilot import Pilot

    from tui.engine.engine import Engine
    from tui.engine.events import Event
    from tui.fleet_model import FleetModel
    from tui.support_notifier import SupportNotifier

FLUSH_DELAY = 0.05
START_DEADLINE = 60.0
# Textual's palette entries that rac's registry already offers (its Help lists every key).
_REPLACED_COMMANDS = frozenset({"Keys", "Quit"})


class RacApp(App[None]):
    """rac — Remote Access Console."""

    CSS_PATH = STYLESHEET
    TITLE = "rac — Remote Access Console"
    BINDINGS = bindings_for(Scope.APP)

    def __init__(
        self,
        environment: ConsoleEnvironment,
        *,
        options: EngineOptions | None = None,
        settings: Settings | None = None,
        theme: str | None = None,
        blink: bool = True,
    ) -> None:
        super().__init__()
        self.environment = environment
        self.options = options or EngineOptions()
        self.settings = settings or Settings(None)
        self.blink = blink
        self.start_error: str | None = None
        self.start_failure: RacError | None = None
        self.started = asyncio.Event()
        """Set once the engine runs (or failed to start): screens draw a preview before."""
        self._flush_pending = False
        self._engine: Engine | None = None
        self._model: FleetModel | None = None
        self._collector = IdleCollector()
        self._notifier: SupportNotifier | None = None
        for theme_definition in THEMES:
            self.register_theme(theme_definition)
        textual_default = self.theme
        self.theme = theme or self.settings.theme
        # Textual applies a theme by parsing every stylesheet again once the app runs. At this
        # point nothing is parsed or styled yet: give the stylesheet the theme's variables now
        # and skip that first re-parse (the first frame parsed all of rac.tcss twice).
        self.stylesheet.set_variables(self.get_css_variables())
        self._skip_css_refresh_for: str | None = (
            self.theme if self.theme != textual_default else None
        )

    def refresh_css(self, animate: bool = True) -> None:
        """As Textual's, but not the one the start-up theme queued (already applied)."""
        skip, self._skip_css_refresh_for = self._skip_css_refresh_for, None
        if skip is not None and skip == self.theme:
            return
        super().refresh_css(animate)

    def get_default_screen(self) -> Screen[Any]:
        """The fleet is the first screen, not a screen pushed over Textual's empty default
        (one screen less to style and lay out before the first frame)."""
        return FleetScreen()

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """rac's variables for any theme that lacks them (Textual's own themes)."""
        return dict(RAC_DARK.variables)

    # -- what the screens use -------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The engine (started in on_mount)."""
        assert self._engine is not None, "the engine starts when the app mounts"
        return self._engine

    @property
    def model(self) -> FleetModel:
        """The fleet model fed by engine events."""
        assert self._model is not None, "the model exists once the engine started"
        return self._model

    def clock(self) -> float:
        """The injected clock: screens show times from it, as the engine stamps events."""
        return self.options.clock()

    def support_command(self, serial: str, seed: str | None) -> str | None:
        """The login line for support on the lab (None when access is off). Never with the
        seed: a command line is readable by every local user (`ps`); `rac support connect`
        asks for the seed without echo."""
        if not isinstance(self.environment, LabEnvironment) or seed is None:
            return None
        from tui.engine.lab.lab import lab_dir_option

        info = self.environment.info
        suffix = lab_dir_option(info) if info is not None else ""
        return f"rac support connect {serial} --lab{suffix}"

    def copy_for_support(self, name: str, what: str, text: str) -> None:
        """Copy with OSC 52, and say plainly when this terminal is known to drop it."""
        import os

        from tui.clipboard_support import osc52_refusal

        self.copy_to_clipboard(text)
        refusal = osc52_refusal(os.environ, headless=self.is_headless)
        if refusal is None:
            self.notify(f"Copied {what} of {name} (OSC 52).")
        else:
            self.notify(
                f"Not copied: {refusal}. Select {what} of {name} from its dashboard instead.",
                severity="warning",
                timeout=10,
            )

    # -- start and stop -------------------------------------------------------------------

    def on_mount(self) -> None:
        asyncio.get_running_loop().set_exception_handler(self._loop_error)
        # The first frame shows the fleet as listed (the default screen); the lab and the
        # engine (and their imports: asyncssh, dnspython, pydantic) start once it is painted.
        self.call_after_refresh(self._start_after_first_frame)

    def _start_after_first_frame(self) -> None:
        self._apply_keymap()
        self.run_worker(self._start_engine(), group="start", exit_on_error=False)

    def _apply_keymap(self) -> None:
        """The operator's remaps, checked: unknown ids and clashes are said, not swallowed."""
        if not self.settings.keymap:
            return
        from tui.keymap_check import check_keymap
        from tui.screens.binding_ids import console_binding_ids

        checked = check_keymap(self.settings.keymap, console_binding_ids())
        self.set_keymap(checked.keymap)
        where = self.settings.path or "settings.json"
        for warning in checked.warnings:
            self.notify(f"{where}: {warning}", severity="warning", timeout=15)

    def key_name(self, binding_id: str) -> str:
        """The key an action is on now (remaps applied), as the help screen writes it."""
        from tui.actions import ACTIONS

        for spec in ACTIONS:
            if spec.id == binding_id:
                key = self._keymap.get(binding_id, spec.key)
                return {"question_mark": "?", "slash": "/", "escape": "esc", "asterisk": "*"}.get(
                    key, key
                )
        return binding_id

    async def _start_engine(self) -> None:
        try:
            engine = await self.environment.start(self.options)
        except RacError as error:
            self.start_failure = error
            self.start_error = error.sentence
            self.started.set()
            self.exit(return_code=error.exit_code)
            return
        finally:
            release_collections_after_start()  # held by `rac` since before Textual's import
        from tui.engine.events import Level
        from tui.fleet_model import FleetModel

        self._engine = engine
        self._model = FleetModel(engine)
        for line in self.environment.welcome(self.key_name):
            self._model.add_line("", Level.INFO, line, self.clock())
        engine.subscribe(self._engine_event)
        self._collector.start()
        self.set_interval(COLLECT_CHECK, self._collector.tick)
        self.started.set()
        for screen in self.screen_stack:
            on_started = getattr(screen, "engine_started", None)
            if on_started is not None:
                on_started()

    @property
    def is_started(self) -> bool:
        """The engine runs: verbs can act."""
        return self._model is not None

    @contextlib.asynccontextmanager
    async def run_test(self, *args: Any, **kwargs: Any) -> AsyncIterator[Pilot[None]]:
        """As Textual's, but the pilot starts once the engine runs (tests drive real tunnels;
        the first frame before it is measured by `python -m tests.perf`)."""
        async with super().run_test(*args, **kwargs) as pilot:
            async with asyncio.timeout(START_DEADLINE):
                await self.started.wait()
            await pilot.pause()
            yield pilot

    async def on_unmount(self) -> None:
        self.started.set()  # nobody waits for an engine that will not come
        release_collections_after_start()
        self._collector.stop()
        await self.environment.close()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self._collector.typed()
        await super().on_event(event)

    def watch_theme(self, theme: str) -> None:
        if theme != self.settings.theme:
            self.settings.theme = theme
            self.settings.save()

    # -- engine → screens -----------------------------------------------------------------

    def _engine_event(self, event: Event) -> None:
        # The engine's events are imported once it runs, not on the first frame's path.
        from tui.engine.events import ServiceEnded, ServiceStarted, StorageChanged

        self.model.apply(event)
        if isinstance(event, StorageChanged) and event.problem:
            self.notify(f"State not saved: {event.problem}", severity="error", timeout=12)
        self._schedule_flush()
        if isinstance(event, ServiceStarted | ServiceEnded):
            self._support_notifier()(event)

    def _support_notifier(self) -> SupportNotifier:
        if self._notifier is None:
            from tui.support_notifier import NotifyStyle, SupportNotifier

            self._notifier = SupportNotifier(
                lambda: NotifyStyle(self.settings.notifications),
                notice=lambda text: self.notify(text, title="Support", timeout=8),
                bell=self.bell,
                write=self.write_to_terminal,
            )
        return self._notifier

    def write_to_terminal(self, sequence: str) -> None:
        """Send an escape sequence straight to the terminal (desktop notifications)."""
        if self._driver is not None:
            self._driver.write(sequence)
            self._driver.flush()

    def _schedule_flush(self) -> None:
        """Coalesce: a burst of engine events is painted once, FLUSH_DELAY after it starts."""
        if not self._flush_pending:
            self._flush_pending = True
            self.set_timer(FLUSH_DELAY, self.flush_model)

    def flush_model(self) -> None:
        """Hand the appliances changed since the last flush to the screen on top."""
        self._flush_pending = False
        if self._model is None or not self.screen_stack:  # not started yet, or closing
            return
        names = self.model.take_changed()
        stack = self.screen_stack  # empty while the app shuts down: nothing to paint then
        if names and stack and isinstance(stack[-1], RacScreen):
            with self.batch_update():
                stack[-1].apply_changes(names)

    def call_engine(self, call: Coroutine[Any, Any, object], success: str | None = None) -> None:
        """Run an engine call as an app-owned worker; errors become a notice, never a trace."""

        async def guarded() -> None:
            try:
                await call
            except RacError as error:
                self._report(error.sentence)
                return
            except Exception as error:  # noqa: BLE001 — shown to the operator, not raised
                self._report(f"Unexpected engine error ({type(error).__name__}: {error}).")
                return
            if success:
                self.notify(success)

        self.run_worker(guarded(), group="engine", exit_on_error=False)

    def _report(self, sentence: str) -> None:
        self.notify(sentence, severity="error", timeout=8)
        if self._model is not None:
            from tui.engine.events import Level

            self._model.add_line("", Level.ERROR, sentence, self.clock())
            self._model.changed.add("")
            self._schedule_flush()

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        what = f"{type(error).__name__}: {error}" if error else context.get("message", "")
        self._report(f"Background task failed ({what}).")

    # -- navigation and verbs -------------------------------------------------------------

    # Screens other than the fleet are imported when first opened: start-up is mostly imports,
    # and the first frame needs only the fleet.

    def open_dashboard(self, name: str) -> AwaitMount:
        """Show one appliance's dashboard."""
        from tui.screens.dashboard_screen import DashboardScreen

        return self.push_screen(DashboardScreen(name))

    def open_probe(self, name: str) -> AwaitMount:
        """The connectivity test for one appliance."""
        from tui.screens.probe_screen import ProbeScreen

        return self.push_screen(ProbeScreen(name))

    def watch_session(self, name: str, session_id: str) -> AwaitMount | None:
        """The watch screen on an open session of `name` (None if it is not open)."""
        from tui.screens.watch_screen import WatchScreen

        tap = self.engine.session_tap(name, session_id)
        session = next(
            (s for s in self.engine.status(name).sessions if s.session_id == session_id), None
        )
        if tap is None or session is None:
            self.notify(f"{session_id} is not open any more.", severity="warning")
            return None
        return self.push_screen(
            WatchScreen(
                name,
                session_id,
                engineer=session.engineer,
                source=session.source,
                started=session.started,
                tap=tap,
            )
        )

    def open_sessions(self, name: str | None = None) -> AwaitMount:
        """Past support sessions (of one appliance, or all) and their recordings."""
        from tui.screens.sessions_screen import SessionsScreen

        return self.push_screen(SessionsScreen(name))

    def action_toggle_notifications(self) -> None:
        """Desktop notifications and the bell on or off (persists in settings.json)."""
        on = self.settings.notifications != "off"
        self.settings.notifications = "off" if on else "osc9"
        self.settings.save()
        self.notify(
            "Support notifications off (notices stay)."
            if on
            else "Support notifications on: bell and desktop notice (OSC 9)."
        )

    def open_audit(self) -> AwaitMount:
        """The audit log browser."""
        from tui.screens.audit_screen import AuditScreen

        return self.push_screen(AuditScreen(self.engine.audit.path))

    def action_audit(self) -> None:
        """Browse the audit log (not over itself)."""
        from tui.screens.audit_screen import AuditScreen

        if not isinstance(self.screen, AuditScreen) and self._engine is not None:
            self.open_audit()

    def action_help(self) -> None:
        """Keys and what they do."""
        from tui.screens.help_screen import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            where = str(self.settings.path) if self.settings.path else "settings.json"
            self.push_screen(HelpScreen(self.settings.keymap, where))

    async def action_quit(self) -> None:
        """Quit; with tunnels enabled, ask whether to disable them first."""
        from widgets.quit_dialog import QuitChoice, QuitDialog

        if self._engine is None:
            self.exit()
            return
        enabled = [s.name for s in self.engine.statuses() if s.enabled]
        if not enabled:
            self.exit()
            return
        in_service = [s.name for s in self.engine.statuses() if s.sessions]

        def chosen(choice: QuitChoice | None) -> None:
            if choice is QuitChoice.DISABLE:
                self.call_engine(self._disable_all_and_exit())
            elif choice is QuitChoice.KEEP:
                self.exit()

        self.push_screen(QuitDialog(enabled, in_service), chosen)

    async def _disable_all_and_exit(self) -> None:
        await self.engine.disable_all()
        self.exit()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The palette: rac's actions for this screen (same registry as keys), then Textual's."""
        scopes = {Scope.APP}
        if isinstance(screen, RacScreen):
            scopes |= screen.SCOPES
        for spec in ACTIONS:
            if spec.scopes & scopes:
                yield SystemCommand(spec.label, spec.help, _runner(screen, spec.action))
        for command in super().get_system_commands(screen):
            if command.title not in _REPLACED_COMMANDS:
                yield command


def _runner(screen: Screen[Any], action: str) -> Callable[[], Any]:
    async def run() -> None:
        await screen.run_action(action)

    return run


def _hosts_screens(app: RacApp) -> ConsoleHost:
    """Never called: mypy checks here that the app gives screens all they expect of it."""
    return app


def run_console(
    environment: ConsoleEnvironment, *, settings: Settings, theme: str | None = None
) -> int:
    """Run the console until quit; returns the exit status."""
    app = RacApp(environment, settings=settings, theme=theme)
    app.run()
    if app.start_failure is not None:
        raise app.start_failure
    return app.return_code or 0
