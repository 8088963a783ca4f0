"""The reference for console start: the smallest Textual app that paints one line."""

from textual.app import App, ComposeResult
from textual.widgets import Static


class Bare(App[None]):
    """One Static, no CSS of its own."""

    def compose(self) -> ComposeResult:
        yield Static("bare-app-first-frame")


if __name__ == "__main__":
    Bare().run()
