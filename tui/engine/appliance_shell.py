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


def _help(_: ShellContext) -> Reply:
    lines = [f"  {name:<8} {summary}" for name, (summary, _) in COMMANDS.items()]
    return Reply("Commands:\n" + "\n".join(lines) + "\n")


def _status(context: ShellContext) -> Reply:
    return Reply("\n".join(context.status_lines()) + "\n")


def _version(context: ShellContext) -> Reply:
    model = f" {context.model}" if context.model else ""
    return Reply(f"rac {VERSION} built-in service endpoint on {context.name}{model}, "
                 f"serial {context.serial}\n")


def _whoami(context: ShellContext) -> Reply:
    who = context.engineer or "an unnamed support engineer"
    return Reply(f"{who} (user service) from {context.source or 'unknown'}, "
                 f"certificate for serial {context.serial}\n")


def _exit(_: ShellContext) -> Reply:
    return Reply("", leave=True)


COMMANDS: dict[str, tuple[str, Callable[[ShellContext], Reply]]] = {
    "help": ("list these commands", _help),
    "status": ("remote access status, as techsupport STATUS prints it", _status),
    "version": ("software and appliance identity", _version),
    "whoami": ("who this session belongs to", _whoami),
    "exit": ("end the session", _exit),
}
ALIASES = {"quit": "exit", "logout": "exit", "?": "help"}


def run_command(line: str, context: ShellContext) -> Reply:
    """Run one command line; unknown commands get a hint, status 127."""
    word = line.strip().split(maxsplit=1)[0].lower() if line.strip() else ""
    if not word:
        return Reply("")
    entry = COMMANDS.get(ALIASES.get(word, word))
    if entry is None:
        return Reply(f"Unknown command: {word}. Type 'help' for the list.\n", status=127)
    return entry[1](context)


async def serve_process(process: asyncssh.SSHServerProcess[str], context: ShellContext) -> None:
    """An exec request runs one command; a shell request gets the interactive prompt."""
    if process.command is not None:
        reply = run_command(process.command, context)
        process.stdout.write(reply.text)
        process.exit(reply.status)
        return
    process.stdout.write(f"Support session on {context.name} ({context.serial}). "
                         "Type 'help' for commands.\n")
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
        if reply.leave:
            break
    process.exit(0)
