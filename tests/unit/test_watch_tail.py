"""A watched session's output on its way to the screen: the tap keeps it for the viewer to
read (the session pays nothing per chunk for being watched), and a flood fed to the emulator a
tail at a time ends on the same screen as feeding it all."""

from __future__ import annotations

import pyte

from tui.engine.session_tap import RECENT_LIMIT, SessionTap, TermEvent
from tui.screens.watch_screen import screen_budget, visible_tail

PATTERN = "".join(chr(33 + i % 94) for i in range(68))


def numbered_lines(first: int, count: int) -> str:
    """What `stream` prints through a PTY: 80-column numbered lines ending in CR LF."""
    return "".join(f"{n:010d} {PATTERN}\r\n" for n in range(first, first + count))


def display(text_in_frames: list[str], columns: int = 90, rows: int = 20) -> list[str]:
    screen = pyte.Screen(columns, rows)
    stream = pyte.Stream(screen)
    for text in text_in_frames:
        stream.feed(text)
    return [line.rstrip() for line in screen.display]


def test_a_watcher_hears_input_and_resizes_but_reads_output_when_it_paints() -> None:
    tap = SessionTap("mail-gw-1#1")
    heard: list[TermEvent] = []
    everything: list[TermEvent] = []
    tap.watch(heard.append, output=False)
    tap.watch(everything.append)
    start = tap.recent_start
    tap.output("first\r\n")
    tap.input("ls\r")
    tap.output("second\r\n")
    tap.resize(100, 30)
    assert [(event.code, event.data) for event in heard] == [("i", "ls\r"), ("r", "100x30")]
    assert [event.code for event in everything] == ["o", "i", "o", "r"]
    assert tap.output_since(start, 1000) == ("first\r\nsecond\r\n", 0)
    assert tap.output_since(start + len("first\r\n"), 1000) == ("second\r\n", 0)
    assert tap.output_since(tap.output_bytes, 1000) == ("", 0)


def test_output_since_returns_the_newest_within_the_budget_and_counts_the_rest() -> None:
    tap = SessionTap("mail-gw-1#1")
    sent = [f"chunk {n}\n" for n in range(10)]  # 8 characters each
    for chunk in sent:
        tap.output(chunk)
    assert tap.output_since(0, 20) == ("".join(sent)[-20:], 80 - 20)
    assert tap.output_since(72, 20) == ("chunk 9\n", 0)


def test_output_no_longer_kept_counts_as_left_out() -> None:
    tap = SessionTap("mail-gw-1#1")
    chunk = "x" * 1000 + "\n"
    for _ in range(3 * RECENT_LIMIT // len(chunk)):
        tap.output(chunk)
    assert tap.recent_start > 0
    text, left_out = tap.output_since(0, 10 * RECENT_LIMIT)
    assert text == tap.recent_output()
    assert left_out == tap.recent_start and left_out + len(text) == tap.output_bytes


def test_a_flood_fed_a_tail_per_frame_ends_on_the_screen_fed_everything() -> None:
    columns, rows = 90, 20
    prompt = "mail-gw-1 (SERVICE)> "
    frames = [
        numbered_lines(0, 5),
        numbered_lines(5, 3000),  # far more than a screenful: cut to its tail
        numbered_lines(3005, 7),  # less than a screenful: fed whole
        numbered_lines(3012, 500) + prompt,
    ]
    tails = []
    skipped = 0
    for text in frames:
        tail, cut = visible_tail(text, rows, columns)
        assert len(tail) <= screen_budget(rows, columns)
        tails.append(tail)
        skipped += cut
    assert skipped > 0
    assert display(tails, columns, rows) == display(frames, columns, rows)
    assert display(tails, columns, rows)[-1] == prompt.rstrip()


def test_a_tail_of_long_wrapping_lines_still_ends_on_the_last_screen() -> None:
    columns, rows = 40, 10
    frames = ["".join(f"{n:05d} " + "y" * 150 + "\r\n" for n in range(400)) + "$ "]
    tail, cut = visible_tail(frames[0], rows, columns)
    assert cut > 0
    assert display([tail], columns, rows) == display(frames, columns, rows)
