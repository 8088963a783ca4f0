"""The footer, narrowed with care: on a small terminal it drops the screen's keys from the
right and keeps `?` help and `q` quit, the two keys a newcomer must always find.

It draws every key in one widget. Textual's `Footer` mounts a widget per key and mounts them
all again whenever the bindings change (focus moves, a screen opens, the console starts): the
console's start paid ~60 ms for that, three times over. This footer only repaints. It looks
the same as Textual's (the same theme variables), and a click on a key presses it.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget

ALWAYS_SHOWN = frozenset({"help", "quit", "app.help", "app.quit"})
# What one key costs in cells, as the fit counts it: " k " and "description ".
_KEY_PADDING = 3
_PALETTE_PADDING = 5
_PALETTE_EDGE = "▏"  # Textual's `vkey` border, left of the palette key


@dataclass(frozen=True, slots=True)
class FooterEntry:
    """One key the footer may show."""

    key: str
    key_display: str
    description: str
    action: str
    enabled: bool = True
    tooltip: str = ""
    palette: bool = False


def key_width(entry: FooterEntry) -> int:
    """Cells one footer key takes."""
    padding = _PALETTE_PADDING if entry.palette else _KEY_PADDING
    return len(entry.key_display) + len(entry.description) + padding


def fit_keys(entries: list[FooterEntry], width: int) -> list[FooterEntry]:
    """Drop keys from the right (never help or quit, then the palette last) until they fit."""
    kept = list(entries)
    droppable = [e for e in kept if e.action not in ALWAYS_SHOWN and not e.palette]
    palette = [e for e in kept if e.palette]
    for victim in [*reversed(droppable), *palette]:
        if sum(key_width(e) for e in kept) <= width:
            break
        kept.remove(victim)
    return kept


class RacFooter(Widget, can_focus=False):
    """A footer that always shows help and quit, whatever the width."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {
        "rac-footer--key",
        "rac-footer--description",
        "rac-footer--hover",
        "rac-footer--edge",
    }
    DEFAULT_CSS = """
    RacFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        & > .rac-footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .rac-footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .rac-footer--hover {
            color: $footer-key-foreground;
            background: $block-hover-background;
        }
        & > .rac-footer--edge {
            color: $foreground 20%;
        }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._entries: list[FooterEntry] = []
        self._spans: list[tuple[int, int, FooterEntry]] = []
        self._hover: FooterEntry | None = None

    @property
    def shown_keys(self) -> list[str]:
        """The keys on screen now, left to right (as the operator reads them)."""
        return [e.key_display for e in self._fitted()]

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if screen is not self.screen:
            return
        entries = self._read_bindings(screen)
        if entries != self._entries:
            self._entries = entries
            self.refresh()

    def _read_bindings(self, screen: Screen[object]) -> list[FooterEntry]:
        """The screen's shown bindings, one per action (as Textual's footer picks them)."""
        app = self.app
        active = screen.active_bindings
        entries: list[FooterEntry] = []
        seen: set[str] = set()
        for _node, binding, enabled, tooltip in active.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            entries.append(
                FooterEntry(
                    binding.key,
                    app.get_key_display(binding),
                    binding.description,
                    binding.action,
                    enabled,
                    tooltip,
                )
            )
        if app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in active:
            _node, binding, enabled, tooltip = active[app.COMMAND_PALETTE_BINDING]
            entries.append(
                FooterEntry(
                    binding.key,
                    app.get_key_display(binding),
                    binding.description,
                    binding.action,
                    enabled,
                    binding.tooltip or binding.description,
                    palette=True,
                )
            )
        return entries

    def _fitted(self) -> list[FooterEntry]:
        return fit_keys(self._entries, self.app.size.width)

    def render(self) -> Text:
        width = self.size.width
        key_style = self.get_component_rich_style("rac-footer--key")
        description_style = self.get_component_rich_style("rac-footer--description")
        hover_style = self.get_component_rich_style("rac-footer--hover")
        fitted = self._fitted()
        palette = next((e for e in fitted if e.palette), None)
        line = Text(no_wrap=True, overflow="crop", end="")
        spans: list[tuple[int, int, FooterEntry]] = []
        for entry in fitted:
            if entry.palette:
                continue
            start, first = line.cell_len, len(line)
            line.append(f" {entry.key_display} ", key_style)
            line.append(f"{entry.description} ", description_style)
            self._finish_key(line, first, entry, hover_style)
            spans.append((start, line.cell_len, entry))
        if palette is not None:
            tail = Text.assemble(
                (_PALETTE_EDGE, self.get_component_rich_style("rac-footer--edge")),
                (palette.key_display, key_style),
                (f" {palette.description}", description_style),
                " ",
            )
            start = max(width - tail.cell_len, line.cell_len)
            line.truncate(start, pad=True)
            first = len(line)
            line.append_text(tail)
            self._finish_key(line, first + 1, palette, hover_style)
            spans.append((start, line.cell_len, palette))
        self._spans = spans
        return line

    def _finish_key(self, line: Text, first: int, entry: FooterEntry, hover: Style) -> None:
        """Dim a disabled key; light the one under the mouse (from character `first` on)."""
        if not entry.enabled:
            line.stylize(Style(dim=True), first, len(line))
        elif entry == self._hover:
            line.stylize(hover, first, len(line))

    def _entry_at(self, x: int) -> FooterEntry | None:
        return next((entry for start, end, entry in self._spans if start <= x < end), None)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        entry = self._entry_at(event.x)
        if entry != self._hover:
            self._hover = entry
            self.tooltip = (entry.tooltip or None) if entry is not None else None
            self.refresh()

    def on_leave(self, event: events.Leave) -> None:
        if self._hover is not None:
            self._hover = None
            self.refresh()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        entry = self._entry_at(event.x)
        if entry is None:
            return
        if entry.enabled:
            self.app.simulate_key(entry.key)
        else:
            self.app.bell()
