"""The built-in endpoint records each (SERVICE) session as asciicast v2, streams it live,
ends one session on the operator's word, and admits only whom the operator allows."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pty
import stat
import subprocess
import tty
from pathlib import Path

import asyncssh
import pytest

from tests.conftest import LAB_C, LAB_C_SERIAL, EngineFactory, RunningLab
from tests.engineer import lab_route, login
from tui.engine.errors import RacError
from tui.engine.events import ServiceEnded, ServiceStarted
from tui.engine.session_restrictions import SessionRestrictions
from tui.engine.session_tap import TermEvent
from tui.engine.states import TunnelState
from tui.engine.support_client import open_support_connection

PROMPT = f"{LAB_C} (SERVICE)> ".encode()


async def _shell(
    info: object,
    tmp: Path,
    seed: str,
    identity: str = "alice",
) -> tuple[
    asyncssh.SSHClientConnection, asyncssh.SSHClientConnection, asyncssh.SSHClientProcess[bytes]
]:
    relay, appliance = await login(info, tmp, LAB_C_SERIAL, seed, identity=identity)  # type: ignore[arg-type]
    process = await appliance.create_process(
        term_type="xterm-256color", term_size=(100, 30), encoding=None
    )
    return relay, appliance, process


async def _read_until(
    process: asyncssh.SSHClientProcess[bytes], marker: bytes, seen: bytearray, after: int = 0
) -> None:
    async with asyncio.timeout(15):
        while marker not in seen[after:]:
            chunk = await process.stdout.read(65536)
            if not chunk:
                raise AssertionError(f"session closed before {marker!r}: {bytes(seen)!r}")
            seen.extend(chunk)


def _asciinema_cat(path: Path) -> bytes:
    """`asciinema cat FILE` under a raw pseudo-terminal (it insists on a /dev/tty)."""
    primary, secondary = pty.openpty()
    tty.setraw(secondary)
    child = subprocess.Popen(
        ["asciinema", "cat", str(path)], preexec_fn=lambda: os.login_tty(secondary), close_fds=True
    )
    os.close(secondary)
    out = bytearray()
    with contextlib.suppress(OSError):  # EIO once the child has closed the terminal
        while chunk := os.read(primary, 65536):
            out.extend(chunk)
    os.close(primary)
    assert child.wait(timeout=30) == 0
    return bytes(out)


def _audit(engine: object) -> list[dict[str, object]]:
    path = engine.audit.path  # type: ignore[attr-defined]
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_a_session_is_recorded_as_asciicast_that_plays_back_what_was_sent(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    engine, events = await make_engine()
    seed = await engine.enable(LAB_C)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    relay, appliance, process = await _shell(lab.info, tmp_path, seed)
    seen = bytearray()
    await _read_until(process, PROMPT, seen)
    mark = len(seen)
    process.stdin.write(b"whoami\r")
    await _read_until(process, b"certificate for serial", seen, mark)
    await _read_until(process, PROMPT, seen, mark)
    process.change_terminal_size(120, 40)
    process.stdin.write(b"exit\r")
    async with asyncio.timeout(15):
        while chunk := await process.stdout.read(65536):
            seen.extend(chunk)
    appliance.close()
    relay.close()
    ended = await events.wait_for(lambda e: isinstance(e, ServiceEnded))
    assert isinstance(ended, ServiceEnded)
    await engine.shutdown()

    path = Path(ended.recording)
    assert path.parent == engine.state_dir / "recordings"
    assert path.name == f"{LAB_C}_1.cast"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["version"] == 2 and (header["width"], header["height"]) == (100, 30)
    assert header["rac"]["engineer"] == "alice"
    assert header["rac"]["serial"] == LAB_C_SERIAL
    assert header["rac"]["session"] == f"{LAB_C}#1"
    assert isinstance(header["timestamp"], int)
    records = [json.loads(line) for line in lines[1:]]
    output = "".join(data for _, code, data in records if code == "o")
    typed = "".join(data for _, code, data in records if code == "i")
    assert output == seen.decode()  # what the engineer's terminal got, byte for byte
    assert typed == "whoami\rexit\r"
    assert ["r", "120x40"] in [[code, data] for _, code, data in records]
    times = [t for t, _, _ in records]
    assert times == sorted(times)
    # A stock player reads it: `asciinema cat` prints the output stream.
    assert _asciinema_cat(path) == bytes(seen)
    # The audit line of the session names its recording.
    start = next(r for r in _audit(engine) if r["action"] == "service-start")
    end = next(r for r in _audit(engine) if r["action"] == "service-end")
    assert start["recording"] == str(path) == end["recording"]


async def test_session_numbers_do_not_restart_with_the_process(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    engine, events = await make_engine(state_dir=state)
    seed = await engine.enable(LAB_C)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    relay, appliance = await login(lab.info, tmp_path, LAB_C_SERIAL, seed)
    first = await events.wait_for(lambda e: isinstance(e, ServiceStarted))
    appliance.close()
    relay.close()
    await events.wait_for(lambda e: isinstance(e, ServiceEnded))
    await engine.shutdown()
    _, events = await make_engine(state_dir=state)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    relay, appliance = await login(lab.info, tmp_path, LAB_C_SERIAL, seed)
    second = await events.wait_for(lambda e: isinstance(e, ServiceStarted))
    appliance.close()
    relay.close()
    assert isinstance(first, ServiceStarted) and isinstance(second, ServiceStarted)
    assert (first.session_id, second.session_id) == (f"{LAB_C}#1", f"{LAB_C}#2")


async def test_a_watcher_sees_output_and_typed_input_as_it_happens(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    engine, events = await make_engine()
    seed = await engine.enable(LAB_C)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    relay, appliance, process = await _shell(lab.info, tmp_path, seed)
    started = await events.wait_for(lambda e: isinstance(e, ServiceStarted))
    assert isinstance(started, ServiceStarted)
    seen = bytearray()
    await _read_until(process, PROMPT, seen)
    tap = engine.session_tap(LAB_C, started.session_id)
    assert tap is not None
    chunks: list[TermEvent] = []
    got_version = asyncio.Event()

    def listener(event: TermEvent) -> None:
        chunks.append(event)
        if "built-in service endpoint" in event.data:
            got_version.set()

    stop = tap.watch(listener)
    process.stdin.write(b"version\r")
    async with asyncio.timeout(15):
        await got_version.wait()
    stop()
    assert "".join(c.data for c in chunks if c.code == "i") == "version\r"
    assert "built-in service endpoint" in "".join(c.data for c in chunks if c.code == "o")
    appliance.close()
    relay.close()


async def test_the_operator_ends_one_session_and_not_another(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    engine, events = await make_engine()
    seed = await engine.enable(LAB_C)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    relay_a, appliance_a, alice = await _shell(lab.info, tmp_path, seed, "alice")
    relay_b, appliance_b, bob = await _shell(lab.info, tmp_path, seed, "bob")
    seen_a, seen_b = bytearray(), bytearray()
    await _read_until(alice, PROMPT, seen_a)
    await _read_until(bob, PROMPT, seen_b)
    alice_id = next(e.session_id for e in events.of_type(ServiceStarted) if e.engineer == "alice")
    await engine.end_session(LAB_C, alice_id)
    async with asyncio.timeout(15):
        while chunk := await alice.stdout.read(65536):
            seen_a.extend(chunk)
        await alice.wait_closed()
    assert b"support session ended by the operator" in seen_a
    assert alice.exit_status == 255
    bob.stdin.write(b"whoami\r")
    await _read_until(bob, b"bob (user service)", seen_b)
    ended = await events.wait_for(lambda e: isinstance(e, ServiceEnded))
    assert isinstance(ended, ServiceEnded)
    assert ended.session_id == alice_id and ended.ended_by == "operator"
    # The seed still lets others in.
    relay_c, appliance_c = await login(lab.info, tmp_path, LAB_C_SERIAL, seed, identity="carol")
    actions = [r["action"] for r in _audit(engine)]
    assert "session-ended-by-operator" in actions
    for connection in (appliance_b, relay_b, appliance_c, relay_c, appliance_a, relay_a):
        connection.close()


async def test_only_the_allowed_engineers_in_their_window_come_in(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    engine, events = await make_engine()
    seed = await engine.enable(LAB_C, restrictions=SessionRestrictions(("alice",)))
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    with pytest.raises(RacError) as refused:
        await open_support_connection(lab_route(lab.info, tmp_path, "mallory"), LAB_C_SERIAL, seed)
    assert "mallory is not among the engineers allowed in" in refused.value.sentence
    assert "alice" not in refused.value.sentence  # who else may come in is the operator's
    relay, appliance = await login(lab.info, tmp_path, LAB_C_SERIAL, seed, identity="alice")
    await events.wait_for(lambda e: isinstance(e, ServiceStarted) and e.engineer == "alice")
    rejected = [r for r in _audit(engine) if r["action"] == "support-login-rejected"]
    assert rejected and "mallory is not among the engineers allowed in (alice)" in str(
        rejected[-1]["why"]
    )
    appliance.close()
    relay.close()

    now = engine.clock()
    await engine.enable(LAB_C, seed=seed, restrictions=SessionRestrictions(not_before=now + 3600))
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED, after=events.mark)
    with pytest.raises(RacError) as early:
        await login(lab.info, tmp_path, LAB_C_SERIAL, seed, identity="alice")
    assert "support is allowed in only from" in early.value.sentence


async def test_a_full_disk_never_breaks_the_session(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    engine, events = await make_engine()
    seed = await engine.enable(LAB_C)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    recordings = engine.state_dir / "recordings"
    recordings.mkdir(mode=0o700, exist_ok=True)
    (recordings / f"{LAB_C}_1.cast").symlink_to("/dev/full")  # every write: ENOSPC
    relay, appliance, process = await _shell(lab.info, tmp_path, seed)
    seen = bytearray()
    await _read_until(process, PROMPT, seen)
    mark = len(seen)
    process.stdin.write(b"stream 2\r")
    await _read_until(process, b"0000026213 ", seen, mark)
    await _read_until(process, PROMPT, seen, mark + 2 * 1024 * 1024)
    appliance.close()
    relay.close()
    ended = await events.wait_for(lambda e: isinstance(e, ServiceEnded))
    assert isinstance(ended, ServiceEnded)
    assert "recording failed (No space left on device)" in ended.recording_note
    warnings = [
        e
        for e in events.events
        if getattr(e, "message", "").startswith(f"session {LAB_C}#1: the recording")
    ]
    assert warnings


async def test_a_recording_stops_at_its_cap_and_says_so(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    engine, events = await make_engine(lab.inventory_with(recording_cap_mib=1))
    seed = await engine.enable(LAB_C)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    relay, appliance, process = await _shell(lab.info, tmp_path, seed)
    seen = bytearray()
    await _read_until(process, PROMPT, seen)
    mark = len(seen)
    process.stdin.write(b"stream 3\r")
    await _read_until(process, b"0000039320 ", seen, mark)  # the session got all 3 MiB
    await _read_until(process, PROMPT, seen, mark + 3 * 1024 * 1024)
    appliance.close()
    relay.close()
    ended = await events.wait_for(lambda e: isinstance(e, ServiceEnded))
    assert isinstance(ended, ServiceEnded)
    await engine.shutdown()
    path = Path(ended.recording)
    assert path.stat().st_size <= 1024 * 1024 + 4096
    last = json.loads(path.read_text().splitlines()[-1])
    assert last[1] == "o" and "recording truncated here" in last[2]
    assert "recording truncated at its cap of 1048576 bytes" in ended.recording_note
    end = next(r for r in _audit(engine) if r["action"] == "service-end")
    assert "truncated" in str(end["recording_note"])
