"""Read TOML config files and turn validation errors into 'file, line, field' sentences."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.engine.bounded_files import CONFIG_LIMIT, UnreadableFile, read_bounded_text
from tui.engine.errors import ConfigError

if TYPE_CHECKING:
    from pydantic import ValidationError  # only its type: reading a file needs no pydantic

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_BARE_OR_QUOTED = r"""(?:"[^"]*"|'[^']*'|[A-Za-z0-9_\-]+)"""
_KEY = re.compile(rf"^\s*({_BARE_OR_QUOTED}(?:\s*\.\s*{_BARE_OR_QUOTED})*)\s*=")

Loc = Sequence[str | int]


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """Parse `path` (a regular file of at most 1 MiB); a missing or odd file or a syntax error
    becomes a ConfigError naming the file and the line."""
    try:
        text = read_bounded_text(path, CONFIG_LIMIT)
    except UnreadableFile as error:
        raise ConfigError(f"{path}: {error}.") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}.") from None


def field_name(loc: Loc) -> str:
    """`('appliance', 2, 'serial')` → `appliance[2].serial`."""
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else part)
    return name


def config_error(path: Path, text: str, loc: Loc, message: str) -> ConfigError:
    """A ConfigError that names the file, the line of the field (or its table) and the field."""
    line = locate(text, loc)
    where = f"{path}, line {line}" if line else str(path)
    return ConfigError(f"{where}, field {field_name(loc)}: {message}")


def validation_error(path: Path, text: str, error: ValidationError) -> ConfigError:
    """The first pydantic error as a located ConfigError (one precise sentence beats ten)."""
    first = error.errors()[0]
    loc = [part for part in first["loc"] if isinstance(part, str | int)]
    message = first["msg"]
    if first["type"] == "missing":
        message = "this field is required"
    elif first["type"] == "extra_forbidden":
        message = "unknown field (check its spelling)"
    return config_error(path, text, loc, message)


def _unquote(key: str) -> list[str]:
    parts = re.findall(r'"[^"]*"|\'[^\']*\'|[^.\s]+', key)
    return [part.strip("\"'") for part in parts]


def locate(text: str, loc: Loc) -> int | None:
    """The 1-based line that defines `loc`, or of its nearest enclosing table."""
    wanted = [str(part) for part in loc]
    seen: dict[tuple[str, ...], int] = {}
    table: list[str] = []
    best: tuple[int, int] | None = None  # (matched length, line)
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            names = _unquote(header.group(2))
            if header.group(1) == "[[":
                key = tuple(names)
                index = seen.get(key, -1) + 1
                seen[key] = index
                table = [*names, str(index)]
            else:
                table = names
            path = table
        else:
            match = _KEY.match(line)
            if not match:
                continue
            path = [*table, *_unquote(match.group(1))]
        matched = _common_prefix(path, wanted)
        if matched == len(path) and (best is None or matched > best[0]):
            best = (matched, number)
    return best[1] if best else None


def _common_prefix(path: list[str], wanted: list[str]) -> int:
    count = 0
    for have, want in zip(path, wanted, strict=False):
        if have != want:
            break
        count += 1
    return count
