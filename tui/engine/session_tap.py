"""What the engineer's terminal shows and what they type, as the built-in endpoint sees it.

The relay never sees a session in clear; the built-in endpoint does, because it is the far
end of the engineer's SSH session. A tap sits on the session's channel and hands every chunk
to the recording and keeps the latest output in memory. The console's live view reads that
output when it paints (`output_since`): per chunk, the session pays the same whether it is
watched there or not, and nothing on its path waits for a disk or a screen.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from tui.engine.recorder import AsciicastRecorder

TermCode = Literal["o", "i", "r"]
RECENT_LIMIT = 64 * 1024
"""Output kept for a watcher who joins mid-session: enough to redraw the screen they see."""


@dataclass(frozen=True, slots=True)
class TermEvent:
    """One chunk: `o` output, `i` input, `r` resize (`data` is `WIDTHxHEIGHT`)."""

    code: TermCode
    data: str
    t: float


TermListener = Callable[[TermEvent], None]


class SessionTap:
    """One (SERVICE) session's terminal stream, fanned out to a recorder and live watchers."""

    def __init__(
        self,
        session_id: str,
        *,
        width: int = 80,
        height: int = 24,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session_id = session_id
        self.width = width
        self.height = height
        self.recorder: AsciicastRecorder | None = None
        self.start_recording: Callable[[int, int], AsciicastRecorder] | None = None
        """Makes the recorder once the terminal's size is known (the shell starts)."""
        self.output_bytes = 0
        self.input_bytes = 0
        self.ended = False
        self._timer = timer
        self._listeners: list[TermListener] = []
        self._output_listeners: list[TermListener] = []
        self._ended_listeners: list[Callable[[], None]] = []
        self._recent: deque[str] = deque()
        self._recent_size = 0

    def watch(
        self,
        listener: TermListener,
        ended: Callable[[], None] | None = None,
        *,
        output: bool = True,
    ) -> Callable[[], None]:
        """Call `listener` with every chunk from now on; returns the function that stops it.

        With `output=False` the listener hears input and resizes only, and reads the output
        with `output_since` when it paints: the session then pays nothing per chunk for it.
        """
        self._listeners.append(listener)
        if output:
            self._output_listeners.append(listener)
        if ended is not None:
            self._ended_listeners.append(ended)

        def stop() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)
            with contextlib.suppress(ValueError):
                self._output_listeners.remove(listener)
            if ended is not None:
                with contextlib.suppress(ValueError):
                    self._ended_listeners.remove(ended)

        return stop

    def recent_output(self) -> str:
        """The latest output (up to RECENT_LIMIT), to draw the screen as it is now."""
        return "".join(self._recent)

    @property
    def recent_start(self) -> int:
        """The position (characters sent before it) of the oldest output still kept."""
        return self.output_bytes - self._recent_size

    def output_since(self, position: int, budget: int) -> tuple[str, int]:
        """The output sent after `position`, at most its last `budget` characters, and how many
        characters before those were not returned (cut by the budget, or no longer kept).

        Joins only the newest chunks the budget needs, so a viewer that reads once a frame
        pays for what it shows, not for what the session sent.
        """
        wanted = min(self.output_bytes - position, max(budget, 0))
        if wanted <= 0:
            return "", max(self.output_bytes - position, 0)
        parts: list[str] = []
        gathered = 0
        for chunk in reversed(self._recent):
            parts.append(chunk)
            gathered += len(chunk)
            if gathered >= wanted:
                break
        text = "".join(reversed(parts))
        if len(text) > wanted:
            text = text[len(text) - wanted :]
        return text, self.output_bytes - position - len(text)

    @property
    def watched(self) -> int:
        """How many live views follow this session."""
        return len(self._listeners)

    def output(self, data: str | bytes) -> None:
        """The endpoint sent the engineer's terminal `data`."""
        text = data if isinstance(data, str) else data.decode("utf-8", "replace")
        self.output_bytes += len(text)
        self._recent.append(text)
        self._recent_size += len(text)
        while self._recent_size > RECENT_LIMIT and len(self._recent) > 1:
            self._recent_size -= len(self._recent.popleft())
        if self.recorder is not None:
            self.recorder.output(text)
        if self._output_listeners:
            self._tell(TermEvent("o", text, self._timer()), self._output_listeners)

    def input(self, data: str | bytes) -> None:
        """The engineer typed `data`."""
        text = data if isinstance(data, str) else data.decode("utf-8", "replace")
        self.input_bytes += len(text)
        if self.recorder is not None:
            self.recorder.input(text)
        if self._listeners:
            self._tell(TermEvent("i", text, self._timer()), self._listeners)

    def resize(self, width: int, height: int) -> None:
        """The engineer's terminal changed size."""
        if width <= 0 or height <= 0 or (width, height) == (self.width, self.height):
            return
        self.width, self.height = width, height
        if self.recorder is not None:
            self.recorder.resize(width, height)
        if self._listeners:
            self._tell(TermEvent("r", f"{width}x{height}", self._timer()), self._listeners)

    def end(self) -> None:
        """The session is over: tell the watchers."""
        self.ended = True
        for ended in list(self._ended_listeners):
            ended()
        self._listeners.clear()
        self._output_listeners.clear()
        self._ended_listeners.clear()

    def _tell(self, event: TermEvent, listeners: list[TermListener]) -> None:
        for listener in list(listeners):
            listener(event)

    def attach(self, process: Any) -> None:
        """Sit on an asyncssh server process's channel: everything written and received.

        asyncssh has no public hook for this. Its line editor (on when the engineer has a
        PTY) wraps the real channel and session and echoes keystrokes straight to the real
        channel, so the tap replaces `write` on the real channel and `data_received` /
        `terminal_size_changed` on the session object that channel delivers to.
        """
        channel = process.channel
        real = getattr(channel, "_orig_chan", channel)
        size = process.term_size
        if size and size[0] and size[1]:
            self.width, self.height = int(size[0]), int(size[1])
        if self.recorder is None and self.start_recording is not None:
            self.recorder = self.start_recording(self.width, self.height)
        write = real.write

        def write_and_tap(data: str | bytes, datatype: int | None = None) -> None:
            write(data, datatype)
            self.output(data)

        real.write = write_and_tap
        session = getattr(real, "_session", None)
        if session is None:
            return
        received = session.data_received
        size_changed = session.terminal_size_changed

        def received_and_tap(data: str | bytes, datatype: int | None) -> None:
            self.input(data)
            received(data, datatype)

        def size_changed_and_tap(width: int, height: int, pixwidth: int, pixheight: int) -> None:
            self.resize(width, height)
            size_changed(width, height, pixwidth, pixheight)

        session.data_received = received_and_tap
        session.terminal_size_changed = size_changed_and_tap
