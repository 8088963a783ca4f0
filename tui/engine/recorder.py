"""Record a support session as an asciicast v2 file, without ever slowing the session down.

Events are encoded as they arrive and appended to an in-memory batch; one writer thread
shared by every recording writes the batches a few times a second. A recording that falls
behind (slow disk) or fails (full disk) drops events and counts them: the engineer's session
never waits on the disk. The format is plain asciicast v2, so `asciinema play` replays it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tui.engine.secure_files import PRIVATE_FILE, ensure_private_dir

DEFAULT_CAP = 64 * 1024 * 1024
FLUSH_EVERY = 0.25
FLUSH_AT = 256 * 1024
MAX_BACKLOG = 16 * 1024 * 1024
RECORDINGS = "recordings"

_WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rac-recorder")


def recording_path(directory: Path, session_id: str) -> Path:
    """`mail-gw-1#3` → `DIR/mail-gw-1_3.cast` (no `#`, which some shells treat specially)."""
    return directory / f"{session_id.replace('#', '_')}.cast"


@dataclass(frozen=True, slots=True)
class RecordingHeader:
    """What the first line of the file says about the session."""

    width: int
    height: int
    timestamp: float
    session_id: str
    appliance: str
    serial: str
    engineer: str
    source: str

    def line(self) -> str:
        """The asciicast v2 header (rac's own fields under "rac"; players ignore them)."""
        return (
            json.dumps(
                {
                    "version": 2,
                    "width": self.width,
                    "height": self.height,
                    "timestamp": int(self.timestamp),
                    "title": (
                        f"{self.appliance} (SERVICE) {self.session_id} — {self.engineer or '?'}"
                    ),
                    "env": {"TERM": "xterm-256color"},
                    "rac": {
                        "session": self.session_id,
                        "appliance": self.appliance,
                        "serial": self.serial,
                        "engineer": self.engineer,
                        "source": self.source,
                    },
                },
                ensure_ascii=False,
            )
            + "\n"
        )


class AsciicastRecorder:
    """One session's recording; call `output`, `input`, `resize` from the loop, then `close`."""

    def __init__(
        self,
        path: Path,
        header: RecordingHeader,
        *,
        cap: int = DEFAULT_CAP,
        timer: Callable[[], float] = time.monotonic,
        on_problem: Callable[[str], None] | None = None,
    ) -> None:
        self.path = path
        self.cap = cap
        self.accepted = 0
        self.dropped = 0
        self.truncated = False
        self.error = ""
        self._timer = timer
        self._start = timer()
        self._on_problem = on_problem
        self._batch: list[str] = []
        self._batch_bytes = 0
        self._flush_handle: asyncio.Handle | None = None
        self._writing: asyncio.Future[None] | None = None
        self._file: IO[bytes] | None = None
        self._closed = False
        self._append(header.line(), force=True)

    # -- the hot path ---------------------------------------------------------------------

    def output(self, data: str) -> None:
        """What the engineer's terminal was sent."""
        self._event("o", data)

    def input(self, data: str) -> None:
        """What the engineer typed."""
        self._event("i", data)

    def resize(self, width: int, height: int) -> None:
        """The engineer's terminal changed size."""
        self._event("r", f"{width}x{height}")

    def _event(self, code: str, data: str) -> None:
        if self._closed or self.truncated or self.error:
            self.dropped += len(data)
            return
        line = (
            json.dumps([round(self._timer() - self._start, 6), code, data], ensure_ascii=False)
            + "\n"
        )
        if self.accepted + len(line) > self.cap:
            self.truncated = True
            self.dropped += len(data)
            note = (
                f"\r\n[rac: recording truncated here: it reached its size cap of "
                f"{self.cap // (1024 * 1024)} MiB; the session went on]\r\n"
            )
            self._append(
                json.dumps([round(self._timer() - self._start, 6), "o", note]) + "\n", force=True
            )
            return
        if self._batch_bytes > MAX_BACKLOG:
            self.dropped += len(data)  # the disk is behind: drop, never wait
            return
        self._append(line)

    def _append(self, line: str, *, force: bool = False) -> None:
        self._batch.append(line)
        self._batch_bytes += len(line)
        self.accepted += len(line)
        if self._writing is not None:
            return
        if self._batch_bytes >= FLUSH_AT or force:
            if self._flush_handle is None or force:
                self._schedule(0.0)
        elif self._flush_handle is None:
            self._schedule(FLUSH_EVERY)

    def _schedule(self, delay: float) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        self._flush_handle = asyncio.get_running_loop().call_later(delay, self._flush)

    # -- the writer -----------------------------------------------------------------------

    def _flush(self) -> None:
        self._flush_handle = None
        if self._writing is not None or not self._batch:
            return
        chunk = "".join(self._batch).encode("utf-8", "surrogateescape")
        self._batch.clear()
        self._batch_bytes = 0
        loop = asyncio.get_running_loop()
        self._writing = loop.run_in_executor(_WRITER, self._write, chunk)
        self._writing.add_done_callback(self._written)

    def _write(self, chunk: bytes) -> None:
        if self._file is None:
            ensure_private_dir(self.path.parent)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
            self._file = os.fdopen(fd, "ab", buffering=0)
        self._file.write(chunk)

    def _written(self, future: asyncio.Future[None]) -> None:
        self._writing = None
        error = future.exception()
        if error is not None:
            self._failed(error)
            return
        if self._batch:
            self._schedule(0.0 if self._batch_bytes >= FLUSH_AT or self._closed else FLUSH_EVERY)

    def _failed(self, error: BaseException) -> None:
        why = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        self.error = why or type(error).__name__
        self.dropped += self._batch_bytes
        self._batch.clear()
        self._batch_bytes = 0
        if self._on_problem is not None:
            self._on_problem(
                f"the recording {self.path.name} stopped: {self.error}; "
                "the session goes on unrecorded"
            )

    async def close(self) -> None:
        """Write what is left and close the file (the session has ended)."""
        self._closed = True
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        while True:
            if self._writing is not None:
                with contextlib.suppress(Exception):  # `_written` records the failure
                    await self._writing
                await asyncio.sleep(0)  # let `_written` run
            elif self._batch and not self.error:
                self._flush()
            else:
                break
        if self._file is not None:
            handle, self._file = self._file, None
            await asyncio.get_running_loop().run_in_executor(_WRITER, handle.close)
