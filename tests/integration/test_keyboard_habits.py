"""Keyboard habits: the footer at any width and in dialogues, capture asks, copy choices,
radio buttons that read without colour."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.console_support import lab_app, recorder_for
from tests.lab_names import LAB_C, LAB_C_SERIAL
from tui.clipboard_support import osc52_refusal
from tui.engine.events import Level
from tui.engine.states import TunnelState
from tui.screens.fleet_screen import FleetScreen
from widgets.confirm_dialog import ConfirmDialog
from widgets.rac_footer import RacFooter


def _footer_keys(app) -> list[str]:  # type: ignore[no-untyped-def]
    return list(app.screen.query_one(RacFooter).shown_keys)


@pytest.mark.parametrize("width", [140, 80, 60])
async def test_help_and_quit_stay_in_the_footer_at_any_width(tmp_path: Path, width: int) -> None:
    app = lab_app(tmp_path / "lab")
    async with app.run_test(size=(width, 24)) as pilot:
        await pilot.pause()
        keys = _footer_keys(app)
        assert "?" in keys and "q" in keys
        if width == 140:
            assert {"e", "d", "p", "n", "t"} <= set(keys)
        await pilot.press("enter")  # the dashboard too
        await pilot.pause()
        keys = _footer_keys(app)
        assert "?" in keys and "q" in keys


async def test_a_dialogue_footer_shows_the_dialogue_keys(tmp_path: Path) -> None:
    app = lab_app(tmp_path / "lab")
    async with app.run_test(size=(80, 24)) as pilot:
        events = recorder_for(app)
        await app.engine.enable(LAB_C)
        await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.pause()
        assert _footer_keys(app) == ["y", "n", "esc"]
        await pilot.press("escape")
        assert isinstance(app.screen, FleetScreen)
        assert app.engine.status(LAB_C).enabled
        await pilot.press("down", "e")  # the enable dialogue: its keys, not the fleet's
        await pilot.pause()
        assert _footer_keys(app) == ["esc", "^s"]


async def test_capture_asks_before_starting_tcpdump(tmp_path: Path, notices: list[str]) -> None:
    app = lab_app(tmp_path / "lab")
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("k")
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert "tcpdump" in str(dialog.query_one(".dialog-question").render())
        assert app.focused is not None and app.focused.id == "no"
        await pilot.press("n")
        assert isinstance(app.screen, FleetScreen)
        assert not (tmp_path / "lab" / "state" / "captures").exists()
        assert not any("Capturing" in notice for notice in notices)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("s", "{seed}"),
        ("b", f"serial {LAB_C_SERIAL} seed {{seed}}"),
        ("l", f"rac support connect {LAB_C_SERIAL} --lab"),
    ],
)
async def test_copy_offers_seed_pair_and_login_line(
    tmp_path: Path, key: str, expected: str, notices: list[str]
) -> None:
    from widgets.copy_dialog import CopyDialog

    app = lab_app(tmp_path / "lab")
    async with app.run_test(size=(140, 40)) as pilot:
        events = recorder_for(app)
        await app.engine.enable(LAB_C)
        await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
        await pilot.press("c")
        assert isinstance(app.screen, CopyDialog)
        await pilot.press(key)
        assert isinstance(app.screen, FleetScreen)
        seed = str(app.engine.seed(LAB_C))
        assert app.clipboard.startswith(expected.format(seed=seed))
        # headless: there is no terminal, and the console says so instead of "copied"
        messages = list(notices)
        assert any(m.startswith("Not copied: there is no terminal to copy to") for m in messages)
        assert seed not in " ".join(messages)


@pytest.mark.parametrize(
    ("environ", "refused"),
    [
        ({"TERM_PROGRAM": "Apple_Terminal"}, "Apple Terminal ignores OSC 52"),
        ({"TERM_PROGRAM": "WezTerm"}, None),
        ({"STY": "1234.pts-0.host"}, "GNU screen drops OSC 52"),
        ({}, None),
    ],
)
def test_terminals_known_to_drop_osc52_are_named(
    environ: dict[str, str], refused: str | None
) -> None:
    assert osc52_refusal(environ) == refused


async def test_the_chosen_port_reads_without_colour(tmp_path: Path) -> None:
    from widgets.choice_button import ChoiceButton

    app = lab_app(tmp_path / "lab")
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("p")
        buttons = list(app.screen.query(ChoiceButton))
        marks = {b.name: b._button.plain for b in buttons}
        assert marks["25"] == "▐●▌"
        assert all(mark == "▐ ▌" for name, mark in marks.items() if name != "25")


async def test_the_enable_dialogue_s_choices_read_without_colour(tmp_path: Path) -> None:
    from widgets.choice_button import ChoiceButton
    from widgets.enable_dialog import EnableDialog

    app = lab_app(tmp_path / "lab")
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("e")
        assert isinstance(app.screen, EnableDialog)
        marks = {b.name: b._button.plain for b in app.screen.query(ChoiceButton)}
        assert marks["tunnel"] == "▐●▌" and marks["sshaccess"] == "▐ ▌"
        assert marks["generate"] == "▐●▌" and marks["enter"] == "▐ ▌"
        assert marks["25"] == "▐●▌"
        assert [name for name, mark in marks.items() if mark == "▐●▌"] == [
            "tunnel",
            "generate",
            "25",
            "mail-gw-x",  # the gateway step, shown when SSHACCESS is chosen
        ]


async def test_contrast_theme_paints_in_the_terminal_s_16_colours(tmp_path: Path) -> None:
    from rich.color import ColorType

    app = lab_app(tmp_path / "lab", theme="rac-contrast")
    async with app.run_test(size=(100, 30)) as pilot:
        events = recorder_for(app)
        await app.engine.enable(LAB_C)
        await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
        await pilot.pause()
        assert app.native_ansi_color
        kinds = {
            color.type
            for strip in app.screen._compositor.render_strips()
            for segment in strip
            if segment.style is not None
            for color in (segment.style.color, segment.style.bgcolor)
            if color is not None
        }
        assert kinds <= {ColorType.STANDARD, ColorType.DEFAULT}


async def test_keymap_clashes_and_unknown_ids_are_said_and_the_loser_keeps_its_key(
    tmp_path: Path, notices: list[str]
) -> None:
    from tui.app import RacApp
    from tui.environment import LabEnvironment
    from tui.settings import Settings
    from widgets.enable_dialog import EnableDialog

    settings = Settings(
        tmp_path / "settings.json", keymap={"rac.enable": "E", "rac.port": "E", "rac.enabel": "x"}
    )
    app = RacApp(LabEnvironment(tmp_path / "lab"), settings=settings, blink=False)
    async with app.run_test(size=(140, 40)) as pilot:
        messages = list(notices)
        assert any(
            "rac.port and rac.enable are both on 'E'; rac.port keeps its default key 'p'" in m
            for m in messages
        )
        assert any("no binding has the id 'rac.enabel'" in m for m in messages)
        await pilot.press("E")
        assert isinstance(app.screen, EnableDialog)
        await pilot.press("escape", "p")
        from widgets.port_dialog import PortDialog

        assert isinstance(app.screen, PortDialog)


async def test_start_up_hint_names_the_remapped_keys(tmp_path: Path) -> None:
    from tui.app import RacApp
    from tui.environment import LabEnvironment
    from tui.settings import Settings

    settings = Settings(tmp_path / "settings.json", keymap={"rac.enable": "E", "rac.help": "f1"})
    app = RacApp(LabEnvironment(tmp_path / "lab"), settings=settings, blink=False)
    async with app.run_test(size=(140, 40)):
        hint = next(line.text for line in app.model.fleet_log if "to enable" in line.text)
        assert "press E to enable" in hint and "f1 for every key" in hint


async def test_the_log_pane_rewraps_when_the_terminal_narrows(tmp_path: Path) -> None:
    from textual.widgets import RichLog

    app = lab_app(tmp_path / "lab")
    async with app.run_test(size=(160, 40)) as pilot:
        app.model.add_line(
            "", Level.INFO, "a long line that ends with THE-END-MARKER " * 3, app.clock()
        )
        app.model.changed.add("")
        await pilot.pause()
        app.flush_model()
        await pilot.pause()
        await pilot.resize_terminal(60, 30)
        await pilot.pause()
        await pilot.pause()
        log = app.screen.query_one("#fleet-log").query_one(RichLog)
        text = "".join("".join(s.text for s in strip).rstrip() + " " for strip in log.lines)
        assert text.count("THE-END-MARKER") == 3
        assert all(strip.cell_length <= log.size.width for strip in log.lines)
