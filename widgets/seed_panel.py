"""The Seed panel: the seed large and readable, the serial beside it, what to do with them."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static


class SeedPanel(Vertical):
    """Give both to support."""

    def compose(self) -> ComposeResult:
        yield Static(id="seed-value")
        yield Static(id="seed-serial")
        yield Static(id="seed-hint")

    def show(self, seed: str | None, serial: str, support_command: str | None) -> None:
        """Show `seed` (None: access is off, nothing to hand out)."""
        value = self.query_one("#seed-value", Static)
        if seed is None:
            value.update(Text("no seed: remote access is off", style="italic"))
            value.set_class(False, "-live")
        else:
            value.update(Text(seed, style="bold"))
            value.set_class(True, "-live")
        self.query_one("#seed-serial", Static).update(
            Text.assemble(("serial ", "dim"), (serial, "bold"))
        )
        if seed is None:
            hint = Text("Enable remote access (e) to get a seed for support.")
        else:
            hint = Text("Give both to support.  c copy seed · n new seed")
            if support_command:  # never with the seed: `ps` shows a command line to all
                hint.append(f"\n{support_command}  (asks for the seed)", style="dim")
        self.query_one("#seed-hint", Static).update(hint)
