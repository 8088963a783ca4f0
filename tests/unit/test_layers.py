"""The layers are a rule: import-linter's contracts hold, every module has a layer, and the
headless side of rac (engine, `rac agent`, `rac relay`, `rac status`) never loads Textual."""

from __future__ import annotations

import ast
import os
import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import tui

ROOT = Path(__file__).resolve().parents[2]
HEADLESS_COMMANDS = ("agent", "relay", "status")


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def _run(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        text=True,
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_import_contracts_hold() -> None:
    run = _run(
        "import sys; from importlinter.cli import lint_imports_command; "
        "sys.exit(lint_imports_command(['--no-cache']))"
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def test_every_console_module_has_a_layer() -> None:
    """A new module under tui/ must be placed in the layers contract (pyproject.toml)."""
    layers = next(c for c in _contracts() if c["id"] == "layers")["layers"]
    assert isinstance(layers, list)
    placed = {name.strip() for layer in layers for name in layer.replace("|", ":").split(":")}
    missing = [
        f"tui.{module.name}"
        for module in pkgutil.iter_modules(tui.__path__)
        if f"tui.{module.name}" not in placed
    ]
    assert missing == [], f"add {missing} to a layer in pyproject.toml [tool.importlinter]"
    assert {"widgets", "themes", "tui.engine"} <= placed


def test_engine_does_not_import_the_console_root_package() -> None:
    """`from tui import …` inside the engine would tie it to the console's package root."""
    offenders = []
    for path in sorted((ROOT / "tui" / "engine").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            imported = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if "tui" in imported:
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_headless_side_never_loads_textual() -> None:
    """Every engine module and the headless commands import without Textual or rich."""
    commands = ", ".join(f"'tui.commands.{verb}_command'" for verb in HEADLESS_COMMANDS)
    run = _run(
        "import importlib, pkgutil, sys\n"
        "import tui.engine, tui.cli\n"
        "for module in pkgutil.walk_packages(tui.engine.__path__, 'tui.engine.'):\n"
        "    importlib.import_module(module.name)\n"
        f"for name in ({commands},):\n"
        "    importlib.import_module(name)\n"
        "tui.cli.build_parser()\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} "
        "& {'textual', 'rich', 'widgets', 'themes'}))\n"
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_rac_status_runs_without_textual(tmp_path: Path) -> None:
    """The command itself, not only its imports: `rac status` on a missing inventory fails
    with a sentence and still has not loaded Textual."""
    missing = tmp_path / "absent.toml"
    run = _run(
        "import sys\n"
        "from tui.cli import main\n"
        f"code = main(['status', '--inventory', {str(missing)!r}])\n"
        "print('loaded:', sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'rich'}))\n"
        "sys.exit(code)\n"
    )
    assert "loaded: []" in run.stdout, run.stdout + run.stderr
    assert "absent.toml" in run.stderr
    assert "Traceback" not in run.stderr
