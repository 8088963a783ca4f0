"""`rac … --help`: every option described, readable metavars, an example per command."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator

from tui.cli import build_parser


def _parsers(
    parser: argparse.ArgumentParser, path: str = ""
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{path} {name}".strip())


def test_every_command_has_an_example_and_every_option_a_sentence() -> None:
    for path, parser in _parsers(build_parser()):
        text = parser.format_help()
        assert "example:\n  rac" in text, f"rac {path} --help has no example"
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction) or "-h" in action.option_strings:
                continue
            assert action.help, f"rac {path}: {action.option_strings or action.dest} has no help"
        usage = parser.format_usage()
        assert not re.search(r"[A-Z]+_[A-Z_]+", usage), f"rac {path}: {usage}"
