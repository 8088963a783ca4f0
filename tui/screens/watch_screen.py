"""Watch a support session: what the engineer's terminal shows, live or from its recording.

The endpoint hands every chunk to this screen's listener, which only appends to memory.
A timer paints at most FRAME_RATE times a second; when output outruns the emulator, only
the tail that can still be on the engineer's screen is fed (the rest is counted as skipped):
a slow viewer drops frames, the session never waits for it.
"""

from __future__ import annotations

import time
from collections import deque

from textual.app import ComposeResult
from textual.widgets import Footer, Static

from tui.actions import Scope, bindings_for
from tui.engine.replay import Recording, replay
from tui.engine.session_tap import SessionTap, TermEvent
from tui.formatting import elapsed, format_bytes, source_host
from tui.screens.rac_screen import RacScreen
from tui.screens.session_actions import confirm_end_session
from widgets.terminal_view import TerminalView

FRAME_RATE = 24
CPU_SHARE = 0.05
"""At most this share of the loop goes to the emulator during a flood: the frame rate drops,
the session (served by the same loop) keeps its pace."""
MAX_PENDING = 1024 * 1024
TYPED_SHOWN = 60
FLOOD = 16 * 1024
"""More output than this in one frame: the header's counters wait for the next second."""
FRAME_HISTORY = 2000


def visible_tail(text: str, rows: int, columns: int) -> tuple[str, int]:
    """The end of `text` that can still be on a `rows`-line screen, and how much was cut."""
    budget = (rows + 1) * (columns + 16)
    if len(text) <= budget:
        return text, 0
    cut = text.rfind("\n", 0, len(text) - budget)
    start = cut + 1 if cut >= 0 else len(text) - budget
    return text[start:], start


def printable_keys(text: str) -> str:
    """Typed input as a person reads it: ⏎ for enter, ⌫ for backspace, ^C for controls."""
    shown = []
    for char in text:
        if char in "\r\n":
            shown.append("⏎ ")
        elif char in "\x7f\b":
            shown.append("⌫")
        elif char == "\x1b":
            shown.append("⎋")
        elif ord(char) < 32:
            shown.append(f"^{chr(ord(char) + 64)}")
        else:
            shown.append(char)
    return "".join(shown)


class WatchScreen(RacScreen):
    """One session's terminal, with who, from where, how long and how much in a header."""

    SCOPES = frozenset({Scope.WATCH})
    BINDINGS = bindings_for(Scope.WATCH)

    def __init__(
        self,
        appliance: str,
        session_id: str,
        *,
        engineer: str,
        source: str,
        started: float,
        tap: SessionTap | None = None,
        recording: Recording | None = None,
        speed: float = 1.0,
    ) -> None:
        super().__init__()
        self.appliance = appliance
        self.session_id = session_id
        self.engineer = engineer
        self.source = source
        self.started = started
        self.tap = tap
        self.recording = recording
        self.speed = speed
        self.ended = tap is None
        self.skipped = 0
        self.received = 0
        self.typed_total = 0
        self.frame_times: deque[float] = deque(maxlen=FRAME_HISTORY)
        """Seconds between painted frames while output flows (the benchmark reads these)."""
        self.feed_times: deque[float] = deque(maxlen=FRAME_HISTORY)
        self._pending: deque[str] = deque()
        self._pending_size = 0
        self._typed = ""
        self._resize: tuple[int, int] | None = None
        self._stop_watching = None
        if tap is not None:  # the screen as it is now, then everything from here on
            self._pending.append(tap.recent_output())
            self._stop_watching = tap.watch(self._arrived, self._ended)
        self._last_frame: float | None = None
        self._next_frame_at = 0.0
        self._header_at = 0.0

    def compose(self) -> ComposeResult:
        columns, rows = self._initial_size()
        yield Static("", id="watch-header")
        yield TerminalView(columns, rows, id="watch-terminal")
        yield Static("", id="watch-typed")
        yield Footer()

    def _initial_size(self) -> tuple[int, int]:
        if self.tap is not None:
            return self.tap.width, self.tap.height
        if self.recording is not None:
            return self.recording.width, self.recording.height
        return 80, 24

    def on_mount(self) -> None:
        self.query_one(
            "#watch-terminal"
        ).border_title = f"what {self.engineer or 'the engineer'} sees"
        self.set_interval(1 / FRAME_RATE, self._frame)
        self.set_interval(1.0, self._show_header)
        self._show_header()
        self._show_typed()
        if self.recording is not None:
            self.run_worker(self._replay(self.recording), group="replay", exit_on_error=False)

    def on_unmount(self) -> None:
        if self._stop_watching is not None:
            self._stop_watching()
            self._stop_watching = None

    # -- the session's side: append only ---------------------------------------------------

    def _arrived(self, event: TermEvent) -> None:
        if event.code == "o":
            self._pending.append(event.data)
            self._pending_size += len(event.data)
            self.received += len(event.data)
            while self._pending_size > MAX_PENDING and len(self._pending) > 1:
                dropped = self._pending.popleft()
                self._pending_size -= len(dropped)
                self.skipped += len(dropped)
        elif event.code == "i":
            self.typed_total += len(event.data)
            self._typed = (self._typed + event.data)[-TYPED_SHOWN * 2 :]
        else:
            columns, _, rows = event.data.partition("x")
            if columns.isdigit() and rows.isdigit():
                self._resize = (int(columns), int(rows))

    def _ended(self) -> None:
        self.ended = True

    # -- the screen's side: at the frame rate ------------------------------------------------

    def _frame(self) -> None:
        typed_changed = self._typed != getattr(self, "_typed_shown", "")
        if not self._pending and self._resize is None and not typed_changed:
            self._last_frame = None
            return
        now = time.perf_counter()
        if now < self._next_frame_at:
            return
        if self._last_frame is not None:
            self.frame_times.append(now - self._last_frame)
        self._last_frame = now
        view = self.query_one(TerminalView)
        if self._resize is not None:
            view.resize_terminal(*self._resize)
            self._resize = None
        flood = self._pending_size > FLOOD
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            self._pending_size = 0
            text, cut = visible_tail(text, view.rows, view.columns)
            self.skipped += cut
            view.feed(text)
        if typed_changed:
            self._show_typed()
        if not flood or now - self._header_at >= 1.0:
            self._show_header()
        work = time.perf_counter() - now
        self.feed_times.append(work)
        self._next_frame_at = now + work / CPU_SHARE

    def _show_header(self) -> None:
        self._header_at = time.perf_counter()
        now = self.rac.clock()
        if self.recording is not None:
            what = f"REPLAY {self.speed:g}×"
        else:
            what = "SESSION ENDED" if self.ended else "LIVE"
        tap = self.tap
        sent = format_bytes(tap.output_bytes if tap else self.received)
        typed = format_bytes(tap.input_bytes if tap else self.typed_total)
        duration = elapsed(self.started, now) if self.recording is None and not self.ended else "—"
        view = self.query_one(TerminalView)
        skipped = f" · {format_bytes(self.skipped)} skipped to keep up" if self.skipped else ""
        self.query_one("#watch-header", Static).update(
            f"[b]{what}[/b] · {self.engineer or 'support'} on {self.appliance} · "
            f"session {self.session_id} · from {source_host(self.source)} · {duration} · "
            f"out {sent} · typed {typed} · {view.columns}×{view.rows}{skipped}"
        )
        self.set_class(self.ended and self.recording is None, "-ended")

    def _show_typed(self) -> None:
        self._typed_shown = self._typed
        shown = printable_keys(self._typed)[-TYPED_SHOWN:]
        self.query_one("#watch-typed", Static).update(
            f"typed: {shown}" if shown else "typed: (nothing yet)"
        )

    async def _replay(self, recording: Recording) -> None:
        def show(event: TermEvent) -> None:
            self._arrived(event)

        await replay(recording, show, speed_of=lambda: self.speed)
        self.ended = True
        self._show_header()

    # -- keys ---------------------------------------------------------------------------

    def action_back(self) -> None:
        """Back to the dashboard or the sessions list."""
        self.app.pop_screen()

    def action_speed(self, factor: float) -> None:
        """Replay faster or slower."""
        if self.recording is None:
            self.notify("Live sessions play at the engineer's pace.")
            return
        self.speed = min(64.0, max(0.25, self.speed * factor))
        self._show_header()

    def action_end_session(self) -> None:
        """Ask, then end this session only."""
        if self.recording is not None or self.ended:
            self.notify("This session is not open.", severity="warning")
            return
        confirm_end_session(self, self.appliance, self.session_id, self.engineer)
