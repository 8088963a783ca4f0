"""The three registered themes: dark, light, high contrast — each with rac's state variables.

Colours carry meaning only together with text (every state is also named), and the
high-contrast theme uses the 16 ANSI colours, so a basic terminal shows the same truth.
"""

from __future__ import annotations

from textual.theme import BUILTIN_THEMES, Theme

DEFAULT_THEME = "rac-dark"

RAC_DARK = Theme(
    name="rac-dark",
    primary="#4FA3E0",
    secondary="#7A8FA6",
    accent="#F2B134",
    warning="#F2B134",
    error="#E5534B",
    success="#57AB5A",
    foreground="#DCE3EA",
    background="#0F1720",
    surface="#16212D",
    panel="#1E2B3A",
    dark=True,
    variables={
        "tunnel-up": "#57AB5A",
        "tunnel-down": "#8B98A5",
        "connecting": "#4FA3E0",
        "retrying": "#F2B134",
        "failed": "#E5534B",
        "service-active": "#D1242F",
        "service-text": "#FFFFFF",
        "seed-text": "#F2B134",
        "footer-key-foreground": "#F2B134",
        "cursor-background": "#24496E",
        "cursor-foreground": "#FFFFFF",
    },
)

RAC_LIGHT = Theme(
    name="rac-light",
    primary="#0B5CAD",
    secondary="#4A5A6A",
    accent="#9A5B00",
    warning="#9A5B00",
    error="#B3261E",
    success="#1A7F37",
    foreground="#1B2530",
    background="#F7F9FB",
    surface="#FFFFFF",
    panel="#E6ECF2",
    dark=False,
    variables={
        "tunnel-up": "#1A7F37",
        "tunnel-down": "#57606A",
        "connecting": "#0B5CAD",
        "retrying": "#9A5B00",
        "failed": "#B3261E",
        "service-active": "#B3261E",
        "service-text": "#FFFFFF",
        "seed-text": "#0B5CAD",
        "footer-key-foreground": "#0B5CAD",
        "cursor-background": "#BCD5EE",
        "cursor-foreground": "#0B1520",
    },
)

RAC_CONTRAST = Theme(
    name="rac-contrast",
    primary="ansi_bright_cyan",
    secondary="ansi_white",
    accent="ansi_bright_yellow",
    warning="ansi_bright_yellow",
    error="ansi_bright_red",
    success="ansi_bright_green",
    foreground="ansi_bright_white",
    background="ansi_black",
    surface="ansi_black",
    panel="ansi_black",
    dark=True,
    ansi=True,  # emit the terminal's own 16 colours, not Textual's RGB/256 approximations
    variables={
        "ansi-background": "ansi_black",
        "ansi-foreground": "ansi_bright_white",
        "block-cursor-foreground": "ansi_black",
        "block-cursor-background": "ansi_bright_white",
        "input-cursor-background": "ansi_bright_white",
        "input-cursor-foreground": "ansi_black",
        "input-selection-background": "ansi_bright_blue",
        "input-selection-foreground": "ansi_black",
        "screen-selection-background": "ansi_bright_blue",
        "screen-selection-foreground": "ansi_black",
        "tunnel-up": "ansi_bright_green",
        "tunnel-down": "ansi_white",
        "connecting": "ansi_bright_cyan",
        "retrying": "ansi_bright_yellow",
        "failed": "ansi_bright_red",
        "service-active": "ansi_red",
        "service-text": "ansi_bright_white",
        "seed-text": "ansi_bright_yellow",
        "footer-key-foreground": "ansi_bright_yellow",
        "cursor-background": "ansi_blue",
        "cursor-foreground": "ansi_bright_white",
    },
)

THEMES = (RAC_DARK, RAC_LIGHT, RAC_CONTRAST)
THEME_NAMES = tuple(theme.name for theme in THEMES)
# Textual's own themes work too (rac's state colours fall back to RAC_DARK's variables).
ALL_THEME_NAMES = THEME_NAMES + tuple(BUILTIN_THEMES)
