"""Whether the terminal will honour OSC 52 (clipboard): it never answers, so the console
recognises the terminals and multiplexers known to drop it, and says so instead of claiming
a copy that did not happen.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping

_IGNORING_TERMINALS = {
    "Apple_Terminal": "Apple Terminal ignores OSC 52",
    "vscode": "VS Code's terminal ignores OSC 52 unless enabled in its settings",
}


def osc52_refusal(environ: Mapping[str, str], *, headless: bool = False) -> str | None:
    """Why the clipboard will not receive the copy, or None when it should."""
    if headless:
        return "there is no terminal to copy to"
    program = environ.get("TERM_PROGRAM", "")
    if program in _IGNORING_TERMINALS:
        return _IGNORING_TERMINALS[program]
    if environ.get("TMUX") and _tmux_clipboard_off():
        return "tmux drops OSC 52 (set-clipboard is off: `tmux set -g set-clipboard on`)"
    if environ.get("STY"):
        return "GNU screen drops OSC 52"
    return None


def _tmux_clipboard_off() -> bool:
    tmux = shutil.which("tmux")
    if tmux is None:
        return False
    try:
        answer = subprocess.run(
            [tmux, "show-options", "-gv", "set-clipboard"],
            capture_output=True,
            text=True,
            timeout=1,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return answer.stdout.strip() == "off"
