"""Bulk verbs on the marked rows of the fleet: one confirmation naming the count, then the
engine calls one after another in one app-owned worker (a screen change never cuts them).
"""

from __future__ import annotations

from tui.engine.errors import RacError
from tui.engine.states import Mode
from tui.screens.console_host import ConsoleHost
from tui.screens.rac_screen import RacScreen
from tui.support_inside import support_inside
from widgets.confirm_dialog import ConfirmDialog

BULK_DISABLE_QUESTION = "Are you sure to disable service access on {count}?"


def appliances(count: int) -> str:
    """ "1 appliance", "37 appliances"."""
    return f"{count} appliance{'' if count == 1 else 's'}"


def bulk_enable(screen: RacScreen, names: list[str]) -> None:
    """Ask once, then enable every marked appliance that is off (generated seeds)."""
    rac = screen.rac
    todo = [n for n in names if not rac.model.views[n].status.enabled]
    if not todo:
        screen.app.notify(
            f"Remote access is already enabled on the {appliances(len(names))} marked."
        )
        return
    skipped = len(names) - len(todo)
    detail = (
        "Each gets a generated seed and its inventory mode, port or gateway; give "
        "support the serial and seed from each dashboard."
    )
    if skipped:
        detail += f" {appliances(skipped)} already enabled stay as they are."

    def answered(yes: bool | None) -> None:
        if yes:
            rac.call_engine(_enable_all(screen, rac, todo))

    screen.app.push_screen(
        ConfirmDialog(
            f"Enable remote access on {appliances(len(todo))}?", detail, yes=f"Enable {len(todo)}"
        ),
        answered,
    )


async def _enable_all(screen: RacScreen, rac: ConsoleHost, names: list[str]) -> None:
    # Gateways first, so their riders find a tunnel coming up.
    ordered = sorted(names, key=lambda n: rac.model.views[n].status.mode is Mode.SSHACCESS)
    failed: list[str] = []
    for name in ordered:
        try:
            await rac.engine.enable(name)
        except RacError as error:
            failed.append(f"{name}: {error.sentence}")
    done = len(names) - len(failed)
    screen.app.notify(f"Remote access enabled on {appliances(done)}.")
    for line in failed:
        screen.app.notify(line, severity="error", timeout=10)


def bulk_disable(screen: RacScreen, names: list[str]) -> None:
    """Ask once (the reference's question, with the count), then disable every marked one."""
    rac = screen.rac
    todo = [n for n in names if rac.model.views[n].status.enabled]
    if not todo:
        screen.app.notify(
            f"Remote access is already disabled on the {appliances(len(names))} marked."
        )
        return
    inside = [who for name in todo for who in support_inside(rac.model, name)]
    detail = "Support sessions end at once and the seeds stop working."
    if inside:
        detail = (
            f"Support is inside ({', '.join(inside[:5])}"
            f"{' …' if len(inside) > 5 else ''}): {len(inside)} session"
            f"{' ends' if len(inside) == 1 else 's end'} at once, and the seeds stop "
            "working."
        )

    def answered(yes: bool | None) -> None:
        if yes:
            rac.call_engine(_disable_all(screen, rac, todo))

    screen.app.push_screen(
        ConfirmDialog(
            BULK_DISABLE_QUESTION.format(count=appliances(len(todo))),
            detail,
            yes=f"Disable {len(todo)}",
        ),
        answered,
    )


async def _disable_all(screen: RacScreen, rac: ConsoleHost, names: list[str]) -> None:
    # Riders first, then their gateways (as `disable_all` does).
    ordered = sorted(names, key=lambda n: rac.model.views[n].status.mode is Mode.TUNNEL)
    for name in ordered:
        await rac.engine.disable(name)
    screen.app.notify(f"Success — Remote Access has been disabled on {appliances(len(names))}")
