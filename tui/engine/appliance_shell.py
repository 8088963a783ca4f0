"""The small appliance CLI support lands in: prompt `<name> (SERVICE)> `, a few commands."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import asyncssh

from tui.engine.version import VERSION


@dataclass(frozen=True, slots=True)
class ShellContext:
    """What the shell may tell the engineer about the appliance and the session."""

    name: str
    serial: str
    model: str
    engineer: str
    source: str
    status_lines: Callable[[], list[str]]

    @property
    def prompt(self) -> str:
        """The reference prompt while support is inside."""
        return f"{self.name} (SERVICE)> "


@dataclass(frozen=True, slots=True)
class Reply:
    """A command's output, exit status, and whether the session should end."""

    text: str
    status: int = 0
    leave: bool = False
    stream: int = 0
    """Bytes of test lines to send after `text` (the `stream` command)."""


def _help(_: ShellContext) -> Reply:
    lines = [f"  {name:<8} {summary}" for name, (summary, _) in COMMANDS.items()]
    return Reply("Commands:\n" + "\n".join(lines) + "\n")


def _status(context: ShellContext) -> Reply:
    return Reply("\n".join(context.status_lines()) + "\n")


def _version(context: ShellContext) -> Reply:
    model = f" {context.model}" if context.model else ""
    return Reply(
        f"rac {VERSION} built-in service endpoint on {context.name}{model}, "
        f"serial {context.serial}\n"
    )


def _whoami(context: ShellContext) -> Reply:
    who = context.engineer or "an unnamed support engineer"
    return Reply(
        f"{who} (user service) from {context.source or 'unknown'}, "
        f"certificate for serial {context.serial}\n"
    )


STREAM_LIMIT_MIB = 1024
_PATTERN = "".join(chr(33 + i % 94) for i in range(68))


def _stream(_: ShellContext, argument: str = "") -> Reply:
    try:
        mib = float(argument) if argument else 1.0
    except ValueError:
        mib = -1.0
    if not 0 < mib <= STREAM_LIMIT_MIB:
        return Reply(
            f"stream: give a size in MiB from 0 to {STREAM_LIMIT_MIB}, e.g. stream 10\n", status=2
        )
    return Reply("", stream=int(mib * 1024 * 1024))


def _exit(_: ShellContext) -> Reply:
    return Reply("", leave=True)


COMMANDS: dict[str, tuple[str, Callable[[ShellContext], Reply]]] = {
    "help": ("list these commands", _help),
    "status": ("remote access status, as techsupport STATUS prints it", _status),
    "version": ("software and appliance identity", _version),
    "whoami": ("who this session belongs to", _whoami),
    "stream": ("print MIB MiB of numbered test lines at full speed (link check)", _stream),
    "exit": ("end the session", _exit),
}
ALIASES = {"quit": "exit", "logout": "exit", "?": "help"}


def run_command(line: str, context: ShellContext) -> Reply:
    """Run one command line; unknown commands get a hint, status 127."""
    words = line.strip().split(maxsplit=1)
    word = words[0].lower() if words else ""
    if not word:
        return Reply("")
    entry = COMMANDS.get(ALIASES.get(word, word))
    if entry is None:
        return Reply(f"Unknown command: {word}. Type 'help' for the list.\n", status=127)
    if entry[1] is _stream:
        return _stream(context, words[1].strip() if len(words) > 1 else "")
    return entry[1](context)


async def send_stream(process: asyncssh.SSHServerProcess[str], size: int) -> None:
    """`size` bytes of numbered 80-column lines, as fast as the channel takes them."""
    line_count = size // 80
    block = 800
    for first in range(0, line_count, block):
        last = min(first + block, line_count)
        process.stdout.write("".join(f"{n:010d} {_PATTERN}\n" for n in range(first, last)))
        await process.stdout.drain()


async def serve_process(process: asyncssh.SSHServerProcess[str], context: ShellContext) -> None:
    """An exec request runs one command; a shell request gets the interactive prompt."""
    if process.command is not None:
        reply = run_command(process.command, context)
        process.stdout.write(reply.text)
        if reply.stream:
            await send_stream(process, reply.stream)
        process.exit(reply.status)
        return
    process.stdout.write(
        f"Support session on {context.name} ({context.serial}). Type 'help' for commands.\n"
    )
    while True:
        process.stdout.write(context.prompt)
        try:
            line = await process.stdin.readline()
        except asyncssh.TerminalSizeChanged:
            continue
        except (asyncssh.BreakReceived, asyncssh.SignalReceived):
            process.stdout.write("\n")
            continue
        if not line:  # end of input: a logout, not the last command's failure
            process.stdout.write("\n")
            break
        reply = run_command(line, context)
        process.stdout.write(reply.text)
        if reply.stream:
            await send_stream(process, reply.stream)
        if reply.leave:
            break
    process.exit(0)
