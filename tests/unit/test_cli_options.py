"""The command line: shared options have one name wherever they are given, and every
metavar reads as a word."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from tui.cli import build_parser

# Each command with the shared options it takes, and the positional arguments it needs.
COMMANDS = {
    "agent": (True, []),
    "status": (True, []),
    "capture": (True, ["mail-gw-1"]),
    "probe": (False, []),
    "lab": (False, []),
    "support": (False, ["connect", "S"]),
}


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = []
    for action in parser._actions:  # argparse offers no public walk over subcommands
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found.append(sub)
                found.extend(_subparsers(sub))
    return found


@pytest.mark.parametrize("verb", list(COMMANDS))
def test_shared_options_read_the_same_before_or_after_the_command(verb: str) -> None:
    both, extra = COMMANDS[verb]
    options = {
        "probe": ["--inventory", "f.toml"],
        "lab": ["--state-dir", "s"],
        "support": ["--state-dir", "s"],
    }.get(verb, ["--inventory", "f.toml", "--state-dir", "s"])
    after = build_parser().parse_args([verb, *extra, *options])
    before = build_parser().parse_args([*options, verb, *extra])
    plain = build_parser().parse_args([verb, *extra])
    for args in (after, before):
        if "--inventory" in options:
            assert args.inventory == Path("f.toml") and plain.inventory is None
        if "--state-dir" in options:
            assert args.state_dir == Path("s") and plain.state_dir is None
    assert both == (len(options) == 4)


def test_no_command_has_a_private_name_for_a_shared_option() -> None:
    parser = build_parser()
    for sub in [parser, *_subparsers(parser)]:
        for action in sub._actions:
            if "--inventory" in action.option_strings:
                assert action.dest == "inventory", sub.prog
            if "--state-dir" in action.option_strings:
                assert action.dest == "state_dir", sub.prog


def test_every_metavar_reads_as_a_word() -> None:
    parser = build_parser()
    for sub in [parser, *_subparsers(parser)]:
        usage = sub.format_usage()
        assert not re.search(r"[A-Z]+_[A-Z_]+", usage), usage  # no AGENT_INVENTORY & co.
