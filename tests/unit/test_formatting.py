"""How times, durations and byte counts read: pure functions, no lab."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.engine.durations import MAX_SECONDS, format_duration, parse_duration
from tui.formatting import countdown, elapsed, format_bytes, home_path, source_host


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        (0, "0 B"),
        (812, "812 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (5530, "5.4 KiB"),
        (12 * 1024**2, "12.0 MiB"),
        (3 * 1024**3, "3.0 GiB"),
        (5000 * 1024**3, "5000.0 GiB"),
    ],
)
def test_bytes_read_in_binary_units(count: int, shown: str) -> None:
    assert format_bytes(count) == shown


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0s"), (59, "59s"), (61, "1m 01s"), (3600, "1h 00m"), (612000, "7d 02h"), (-5, "0s")],
)
def test_durations_show_their_two_largest_units(seconds: float, shown: str) -> None:
    assert format_duration(seconds) == shown


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("7d", 7 * 86400), ("72h", 72 * 3600), ("90m", 5400), ("30", 30), (" 1.5h ", 5400)],
)
def test_durations_parse_from_operator_words(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("soon", "is not a duration"),
        ("0", "longer than zero"),
        ("91d", "maximum of 90 days"),
        (True, "is not a duration"),
    ],
)
def test_bad_durations_say_what_is_accepted(value: str | bool, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_duration(value)
    assert parse_duration(MAX_SECONDS) == MAX_SECONDS


def test_elapsed_and_countdown() -> None:
    assert elapsed(100.0, 100.0 + 3725) == "1:02:05"
    assert elapsed(None, 5.0) == "—"
    assert elapsed(10.0, 5.0) == "0:00:00"
    assert countdown(None, 0.0) == "—"
    assert countdown(86400 + 7200, 0.0) == "1d 02h"


@pytest.mark.parametrize(
    ("source", "host"),
    [
        ("127.0.0.1:40236", "127.0.0.1"),
        ("::1:40236", "::1"),
        ("relay", "relay"),
        ("host:ssh", "host:ssh"),
    ],
)
def test_the_source_port_is_dropped(source: str, host: str) -> None:
    assert source_host(source) == host


def test_a_path_under_home_reads_with_a_tilde(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/ana")
    assert (
        home_path(Path("/home/ana/.local/state/rac/audit.jsonl"))
        == "~/.local/state/rac/audit.jsonl"
    )
    assert home_path(Path("/var/lib/rac/audit.jsonl")) == "/var/lib/rac/audit.jsonl"
