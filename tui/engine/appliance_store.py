"""What survives a restart, per appliance: enabled or not, mode, port, seed, lifetime (0600).

Records are kept in a journal, `STATE/appliances.jsonl`: a change appends one line (the
latest line of an appliance wins), so a thousand enables at once cost a thousand small
appends and one fsync, not a thousand files. A change that retires a seed (disable, expiry,
new seed) rewrites the journal instead, so the old seed leaves the disk at once. Rewrites go
through a synced temporary file and a rename; appends are synced before the change is
acknowledged (`commit`), so a crash or a power cut leaves the last acknowledged state, and at
worst a torn last line, which is ignored and named.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.engine.atomic_write import sync_directory, write_all
from tui.engine.errors import RacError
from tui.engine.secure_files import PRIVATE_FILE, write_private
from tui.engine.session_restrictions import SessionRestrictions
from tui.engine.states import Mode
from tui.engine.storage_health import StorageError, StorageHealth, why_not_written

JOURNAL = "appliances.jsonl"
COMPACT_FACTOR = 4
COMPACT_MINIMUM = 200


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
    restrictions: SessionRestrictions = field(default_factory=SessionRestrictions)
    sessions_opened: int = 0
    """Session numbers never repeat for an appliance, across restarts and enablements."""


class ApplianceStore:
    """Every appliance's record, in memory and in a journal on disk."""

    def __init__(
        self, state_dir: Path, *, writable: bool = True, health: StorageHealth | None = None
    ) -> None:
        self.path = state_dir / JOURNAL
        self.health = health or StorageHealth()
        self.notes: list[str] = []
        """What reading the journal found that the operator should hear (a torn line)."""
        self._records: dict[str, ApplianceRecord] = self._replay()
        self._lines = len(self._records)
        self._fd: int | None = None
        self._identity: tuple[int, int] | None = None
        self._created = False
        self._unsynced = False
        self._rewrite_due = False
        self._committing: asyncio.Future[None] | None = None
        if writable:
            self._remove_leftovers()
        if writable and self.path.exists():
            self._rewrite_due = True
            self.flush_quietly()  # compact, and drop a torn last line before any append

    def _remove_leftovers(self) -> None:
        """A rewrite cut short by a crash leaves its temporary file, with seeds in it: the
        one process that holds the state dir removes them before anything else."""
        for leftover in self.path.parent.glob(f".{JOURNAL}.*.tmp"):
            try:
                leftover.unlink()
            except OSError as error:
                self.health.failed("journal", leftover, error)

    # -- reading ------------------------------------------------------------------------

    def _replay(self) -> dict[str, ApplianceRecord]:
        records: dict[str, ApplianceRecord] = {}
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return records
        except OSError as error:
            raise StorageError(
                f"Cannot read {self.path}: {why_not_written(error)}. Put "
                "it right, or move it away to start with every appliance "
                "disabled."
            ) from None
        lines = data.split(b"\n")
        if lines and not lines[-1]:
            lines.pop()
        for number, line in enumerate(lines, start=1):
            try:
                entry: dict[str, Any] = json.loads(line)
                name = entry.pop("name")
                entry["mode"] = Mode(entry.get("mode", Mode.TUNNEL))
                entry["restrictions"] = SessionRestrictions.from_json(entry.get("restrictions"))
                records[name] = ApplianceRecord(**entry)
            except (ValueError, TypeError, KeyError, AttributeError) as error:
                if number == len(lines):  # a write cut short by a crash: the rest stands
                    self.notes.append(
                        f"{self.path}, line {number}: ignored a last line cut "
                        f"short ({len(line)} bytes, most likely a crash while "
                        "writing); the state before it is used"
                    )
                    break
                raise RacError(
                    f"{self.path}, line {number}: the saved state of the "
                    f"appliances is damaged ({error}). Move the file away to "
                    "start afresh."
                ) from None
        return records

    def load(self, name: str) -> ApplianceRecord | None:
        """The saved record, or None if this appliance was never enabled here."""
        return self._records.get(name)

    # -- changing -----------------------------------------------------------------------

    def save(self, name: str, record: ApplianceRecord, *, retire_seed: bool = False) -> None:
        """Keep `record` and write it now (a crash of the process cannot lose it); `commit`
        makes it survive a power cut. `retire_seed`: the previous seed of this appliance
        must leave the disk, so the journal is rewritten at the commit. Raises StorageError
        when the disk refuses: the journal then holds the previous state (`restore` it)."""
        self._records[name] = record
        if retire_seed or self._rewrite_due or self._replaced():
            self._rewrite_due = True
            return
        try:
            self._append(_line(name, record))
        except OSError as error:
            raise self._failed(error) from None
        if self._lines > max(COMPACT_MINIMUM, COMPACT_FACTOR * len(self._records)):
            self._rewrite_due = True
            self.flush_quietly()  # compact now; if the disk refuses, the next commit retries

    def restore(self, name: str, record: ApplianceRecord | None) -> None:
        """Undo a `save` the disk refused: memory goes back to what the disk holds."""
        if record is None:
            self._records.pop(name, None)
        else:
            self._records[name] = record

    @property
    def behind(self) -> bool:
        """Changes not yet synced to the disk (or not written at all: a rewrite is due)."""
        return self._rewrite_due or self._unsynced

    async def commit(self) -> None:
        """Make every change saved so far survive a power cut: one fsync (or one rewrite)
        for all the changes of a burst. Raises StorageError."""
        if not self.behind:
            return
        if self._committing is None:
            loop = asyncio.get_running_loop()
            self._committing = loop.create_future()
            self._committing.add_done_callback(_retrieved)
            loop.call_soon(self._commit_now)
        await asyncio.shield(self._committing)

    def _commit_now(self) -> None:
        waiting, self._committing = self._committing, None
        try:
            self.flush()
        except StorageError as error:
            if waiting is not None and not waiting.done():
                waiting.set_exception(StorageError(error.sentence))
            return
        if waiting is not None and not waiting.done():
            waiting.set_result(None)

    def flush(self) -> None:
        """`commit` now, outside an event loop. Raises StorageError."""
        if not self.behind:
            return
        try:
            if self._rewrite_due:
                self._rewrite()
            elif self._fd is not None:
                os.fsync(self._fd)
                if self._created:
                    sync_directory(self.path.parent)
                    self._created = False
            self._unsynced = False
        except OSError as error:
            raise self._failed(error) from None
        self.health.worked("journal")

    def flush_quietly(self) -> bool:
        """`flush`, with a failure left to the storage health (shown, retried later)."""
        try:
            self.flush()
        except StorageError:
            return False
        return True

    def _failed(self, error: OSError) -> StorageError:
        sentence = self.health.failed("journal", self.path, error)
        return StorageError(sentence[0].upper() + sentence[1:] + ".")

    def _append(self, line: str) -> None:
        fd = self._open()
        before = os.fstat(fd).st_size
        try:
            write_all(fd, line.encode())
        except OSError:
            try:
                os.ftruncate(fd, before)  # never leave half a line for the next append
            except OSError:
                self._close_fd()
                self._rewrite_due = True
            raise
        self._lines += 1
        self._unsynced = True

    def _rewrite(self) -> None:
        """One line per appliance, through a synced temporary file and a rename."""
        self._close_fd()
        write_private(
            self.path,
            "".join(_line(name, record) for name, record in self._records.items()),
            durable=True,
        )
        self._lines = len(self._records)
        self._rewrite_due = False

    def _open(self) -> int:
        if self._fd is not None:
            return self._fd
        self._created = not self.path.exists()
        fd = os.open(
            self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, PRIVATE_FILE
        )
        info = os.fstat(fd)
        self._fd, self._identity = fd, (info.st_dev, info.st_ino)
        return fd

    def _replaced(self) -> bool:
        """The journal at `path` is no longer the file we append to: never write to an
        orphan (another program moved it or put a file there); rewrite from memory."""
        if self._fd is None:
            return False
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return True
        if (info.st_dev, info.st_ino) != self._identity:
            self.notes.append(
                f"{self.path} was replaced by another program while rac "
                "held it; rac wrote its own state back"
            )
            return True
        return False

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self._identity = None

    def close(self) -> None:
        """Write what is pending (if the disk lets us) and release the journal."""
        self.flush_quietly()
        self._close_fd()


def _retrieved(future: asyncio.Future[None]) -> None:
    """Every waiter gets the error; nobody needs the 'never retrieved' warning."""
    if not future.cancelled():
        future.exception()


def _line(name: str, record: ApplianceRecord) -> str:
    """One journal line (fields written out: `asdict` costs more than the write)."""
    return (
        json.dumps(
            {
                "name": name,
                "enabled": record.enabled,
                "mode": record.mode.value,
                "port": record.port,
                "gateway": record.gateway,
                "seed": record.seed,
                "enabled_at": record.enabled_at,
                "expires_at": record.expires_at,
                "ended": record.ended,
                "restrictions": record.restrictions.to_json(),
                "sessions_opened": record.sessions_opened,
            }
        )
        + "\n"
    )
