"""Watch a support session: what the engineer's terminal shows, live or from its recording.

The session's tap keeps its latest output in memory; this screen reads it when it paints
(`SessionTap.output_since`), so the session does the same work per chunk watched or not.
A timer paints at most FRAME_RATE times a second, and less during a flood so that the
emulator and the drawing stay within CPU_SHARE of the loop; when output outruns the emulator,
only the tail that can still be on the engineer's screen is fed (the rest is counted as
skipped): a slow viewer drops frames, the session never waits for it.
"""

from __future__ import annotations

import time
from collections import deque

from rich.cells import cell_len
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
CPU_SHARE = 0.03
"""At most this share of the loop goes to feeding the emulator and drawing its lines during a
flood: the frame rate drops, the session (served by the same loop) keeps its pace."""
MAX_PENDING = 1024 * 1024
TYPED_SHOWN = 60
FLOOD = 16 * 1024
"""More output than this in one frame: the header's counters wait for the next second."""
FRAME_HISTORY = 2000


def screen_budget(rows: int, columns: int) -> int:
    """More characters than a `rows` × `columns` screen can show, escape sequences included."""
    return (rows + 1) * (columns + 16)


def visible_tail(text: str, rows: int, columns: int) -> tuple[str, int]:
    """The end of `text` that can still be on a `rows`-line screen, and how much was cut.

    Text longer than a screenful is cut at the line break `rows` breaks before its end: the
    lines after it fill the whole screen, so what came before would scroll away unseen. The
    tail starts with a carriage return and that line break, to leave the cursor where the
    skipped text would have.
    """
    budget = screen_budget(rows, columns)
    if len(text) <= budget:
        return text, 0
    floor = len(text) - budget
    cut = len(text)
    for _ in range(rows):
        cut = text.rfind("\n", floor, cut)
        if cut < 0:
            break
    if cut < 0:  # long lines: fewer than `rows` breaks in the last screenful
        cut = text.rfind("\n", 0, floor)
        if cut < 0:
            return text[floor:], floor
    return "\r" + text[cut:], cut


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
        """A replay's output until the next frame (a live session's stays in its tap)."""
        self._pending_size = 0
        self._position = 0
        """How much of the tap's output this screen has read."""
        self._joining = tap is not None
        self._typed = ""
        self._typed_shown = ""
        self._resize: tuple[int, int] | None = None
        self._stop_watching = None
        if tap is not None:  # the screen as it is now, then everything from here on
            self._position = tap.recent_start
            self._stop_watching = tap.watch(self._arrived, self._ended, output=False)
        self._last_frame: float | None = None
        self._next_frame_at = 0.0
        self._header_at = 0.0
        self._header_shown: tuple[str, str] | None = None
        self._header_fits = False

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

    # -- the session's side (typed input, resizes, a replay's output): append only ----------

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
        typed_changed = self._typed != self._typed_shown
        unread = self._unread()
        if not unread and self._resize is None and not typed_changed:
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
        if unread:
            # Two screenfuls: enough for `visible_tail` to see where the last one starts.
            text, skipped = self._take_output(2 * screen_budget(view.rows, view.columns))
            text, cut = visible_tail(text, view.rows, view.columns)
            if not self._joining:  # catching up with the screen as it was is not skipping
                self.skipped += skipped + cut
            self._joining = False
            view.feed(text)
        if typed_changed:
            self._show_typed()
        if unread <= FLOOD or now - self._header_at >= 1.0:
            self._show_header()
        work = time.perf_counter() - now
        self.feed_times.append(work)
        # The lines this frame changed are drawn after it returns: the view times its own
        # drawing, and the next frame waits long enough to keep both within the share.
        self._next_frame_at = now + (work + view.take_draw_time()) / CPU_SHARE

    def _unread(self) -> int:
        """How much output arrived since the last frame."""
        if self.tap is not None:
            return self.tap.output_bytes - self._position
        return self._pending_size

    def _take_output(self, budget: int) -> tuple[str, int]:
        """The unread output (its last `budget` characters) and how much before it is left out."""
        if self.tap is not None:
            text, skipped = self.tap.output_since(self._position, budget)
            self._position = self.tap.output_bytes
            return text, skipped
        text = "".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        return text, 0

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
        rest = (
            f" · {self.engineer or 'support'} on {self.appliance} · "
            f"session {self.session_id} · from {source_host(self.source)} · {duration} · "
            f"out {sent} · typed {typed} · {view.columns}×{view.rows}{skipped}"
        )
        self.set_class(self.ended and self.recording is None, "-ended")
        if (what, rest) == self._header_shown:
            return
        self._header_shown = (what, rest)
        header = self.query_one("#watch-header", Static)
        # On one line before and after, the header keeps its height: no new layout (which
        # would redraw the whole screen) is needed.
        fits = cell_len(what + rest) <= header.content_size.width
        header.update(f"[b]{what}[/b]{rest}", layout=not (fits and self._header_fits))
        self._header_fits = fits

    def _show_typed(self) -> None:
        self._typed_shown = self._typed
        shown = printable_keys(self._typed)[-TYPED_SHOWN:]
        self.query_one("#watch-typed", Static).update(
            f"typed: {shown}" if shown else "typed: (nothing yet)", layout=False
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
