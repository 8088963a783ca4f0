"""The footer, narrowed with care: on a small terminal it drops the screen's keys from the
right and keeps `?` help and `q` quit, the two keys a newcomer must always find.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

ALWAYS_SHOWN = frozenset({"help", "quit", "app.help", "app.quit"})
# What one key costs in cells (non-compact footer): " k " and "description ".
_KEY_PADDING = 3
_PALETTE_PADDING = 5


def key_width(key: FooterKey) -> int:
    """Cells one footer key takes."""
    if "-command-palette" in key.classes:
        return len(key.key_display) + len(key.description) + _PALETTE_PADDING
    return len(key.key_display) + len(key.description) + _KEY_PADDING


def fit_keys(keys: list[FooterKey], width: int) -> list[FooterKey]:
    """Drop keys from the right (never help or quit, then the palette last) until they fit."""
    kept = list(keys)
    droppable = [
        k for k in kept if k.action not in ALWAYS_SHOWN and "-command-palette" not in k.classes
    ]
    palette = [k for k in kept if "-command-palette" in k.classes]
    for victim in [*reversed(droppable), *palette]:
        if sum(key_width(k) for k in kept) <= width:
            break
        kept.remove(victim)
    return kept


class RacFooter(Footer):
    """A footer that always shows help and quit, whatever the width."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._composed_width = 0

    def compose(self) -> ComposeResult:
        widgets: list[Widget] = list(super().compose())
        keys = [w for w in widgets if isinstance(w, FooterKey)]
        width = self.app.size.width
        self._composed_width = width
        kept = fit_keys(keys, width)
        self.styles.grid_size_columns = max(1, len(kept))
        for widget in widgets:
            if not isinstance(widget, FooterKey) or widget in kept:
                yield widget

    def on_resize(self, event: events.Resize) -> None:
        if self.app.size.width != self._composed_width:
            self.refresh(recompose=True)
