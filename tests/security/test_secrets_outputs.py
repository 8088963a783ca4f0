"""Secrets never reach an output: every security scenario is run as a user would run it, and
every stdout, stderr, audit log, log and live.json it leaves is searched for the seeds,
passwords and private key text it used.

Before: an invalid proxy URL printed its password in the error sentence, and seeds could be
given only on the command line, where every local user reads them in /proc.
"""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

from tests.conftest import LAB_C, LAB_C_SERIAL
from tests.rac_process import read_until, run, spawn, stop
from tui.engine.http_proxy import parse_proxy_url
from tui.engine.inventory import load_inventory
from tui.engine.secure_files import write_private

SEED = "Typed-Seed-4Kq!x9"
WRONG_SEED = "Near-Miss-4Kq!x8"
PROXY_PASSWORD = "Pr0xy-Secret-77"
BAD_PROXY_PASSWORD = "Pr0xy-Secret-88"


def _private_key_lines(folder: Path) -> set[str]:
    """The base64 body lines of every private key under `folder`."""
    lines: set[str] = set()
    for path in folder.rglob("*"):
        if path.is_file() and path.read_bytes().startswith(b"-----BEGIN"):
            body = path.read_text().splitlines()[1:-1]
            lines |= {line for line in body if len(line) >= 16}
    return lines


def _outputs_on_disk(*folders: Path) -> dict[str, str]:
    """Every file rac wrote except the secret stores themselves (keys, the seed journal,
    the seed file the test gave)."""
    found: dict[str, str] = {}
    for folder in folders:
        for path in folder.rglob("*"):
            if not path.is_file() or path.name in ("appliances.jsonl", "seed"):
                continue
            data = path.read_bytes()
            if data.startswith(b"-----BEGIN") or b"\0" in data:
                continue
            found[str(path)] = data.decode(errors="replace")
    return found


async def test_no_output_of_any_scenario_holds_a_seed_password_or_key(tmp_path: Path) -> None:
    lab_dir, state = tmp_path / "lab", tmp_path / "agent"
    outputs: dict[str, str] = {}
    seed_file = tmp_path / "seed"
    write_private(seed_file, SEED + "\n")

    lab = await spawn("lab", "--state-dir", str(lab_dir))
    try:
        outputs["lab stdout (start)"] = "".join(await read_until(lab, "Stop with Ctrl-C"))
        inventory = str(lab_dir / "inventory.toml")
        agent = await spawn(
            "agent",
            "--inventory",
            inventory,
            "--enable",
            LAB_C,
            "--seed-file",
            str(seed_file),
            "--state-dir",
            str(state),
        )
        try:
            outputs["agent (until up)"] = "".join(await read_until(agent, "ESTABLISHED"))
            assert SEED.encode() not in Path(f"/proc/{agent.pid}/cmdline").read_bytes()

            code, out, err = await run(
                "support",
                "connect",
                LAB_C_SERIAL,
                "--seed",
                "-",
                "--lab",
                "--state-dir",
                str(lab_dir),
                "--command",
                "status",
                stdin=SEED + "\n",
            )
            assert code == 0, err
            assert "Service Access currently ENABLED" in out
            outputs["support connect (right seed)"] = out + err

            code, out, err = await run(
                "support",
                "connect",
                LAB_C_SERIAL,
                "--seed-file",
                str(_file(tmp_path / "wrong", WRONG_SEED)),
                "--lab",
                "--state-dir",
                str(lab_dir),
                "--command",
                "status",
            )
            assert code == 1 and "refused the login" in err, err
            outputs["support connect (refused)"] = out + err

            for args in (
                ("status", "--inventory", inventory, "--state-dir", str(state)),
                ("status", "--inventory", inventory, "--state-dir", str(state), "--json"),
            ):
                code, out, err = await run(*args)
                assert code == 0, err
                outputs[" ".join(args[:1] + args[-1:])] = out + err

            proxied = f"http://engineer:{PROXY_PASSWORD}@127.0.0.1:9"
            code, out, err = await run(
                "probe",
                "--inventory",
                inventory,
                LAB_C,
                "--proxy",
                proxied,
                "--timeout",
                "2",
                "--json",
            )
            outputs["probe through a proxy"] = out + err
            code, out, err = await run(
                "probe", "--inventory", inventory, LAB_C, "--proxy", proxied, "--timeout", "2"
            )
            outputs["probe through a proxy (text)"] = out + err

            bad = f"http://engineer:{BAD_PROXY_PASSWORD}@proxy.example:99999"
            code, out, err = await run("probe", "relay.example", "--proxy", bad)
            assert code == 2 and "port outside 1-65535" in err
            outputs["probe with a bad proxy URL"] = out + err
            bad_inventory = _with_proxy(lab_dir / "inventory.toml", tmp_path / "bad.toml", bad)
            code, out, err = await run(
                "agent",
                "--inventory",
                str(bad_inventory),
                "--enable",
                LAB_C,
                "--state-dir",
                str(tmp_path / "never"),
            )
            assert code == 2 and "relay.proxy" in err
            outputs["agent with a bad proxy URL"] = out + err
        finally:
            out, err = await stop(agent)
            outputs["agent (to the end)"] = out + err
    finally:
        out, err = await stop(lab)
        outputs["lab (to the end)"] = out + err

    outputs.update(_outputs_on_disk(lab_dir, state))
    assert any(name.endswith("audit.jsonl") for name in outputs)
    assert any(name.endswith("live.json") for name in outputs)
    secrets = {
        SEED,
        WRONG_SEED,
        PROXY_PASSWORD,
        BAD_PROXY_PASSWORD,
        *_private_key_lines(lab_dir),
        *_private_key_lines(state),
    }
    assert len(secrets) > 6
    leaks = [
        (name, secret) for name, text in outputs.items() for secret in secrets if secret in text
    ]
    assert not leaks


def _file(path: Path, text: str) -> Path:
    write_private(path, text + "\n")
    return path


def _with_proxy(inventory: Path, copy: Path, proxy: str) -> Path:
    text = inventory.read_text().replace("[relay]\n", f'[relay]\nproxy = "{proxy}"\n', 1)
    copy.write_text(text)
    return copy


def test_reprs_of_what_holds_secrets_show_none(tmp_path: Path) -> None:
    from tui.engine.appliance_store import ApplianceRecord
    from tui.engine.events import SeedIssued

    route = parse_proxy_url(f"http://engineer:{PROXY_PASSWORD}@proxy.example:3128")
    assert PROXY_PASSWORD not in repr(route)
    assert "Basic" not in repr(route)
    assert SEED not in repr(ApplianceRecord(enabled=True, seed=SEED))
    assert SEED not in repr(SeedIssued("a", "b", SEED, 0.0))
    with pytest.raises(ValueError) as caught:
        parse_proxy_url(f"ftp://engineer:{PROXY_PASSWORD}@proxy.example")
    assert PROXY_PASSWORD not in str(caught.value)


async def test_an_inventory_with_a_proxy_password_keeps_it_out_of_repr(tmp_path: Path) -> None:
    from tui.engine.lab.lab import Lab

    lab = Lab(tmp_path / "lab")
    info = await lab.start()
    try:
        copy = _with_proxy(
            info.inventory,
            info.directory / "proxied.toml",
            f"http://engineer:{PROXY_PASSWORD}@127.0.0.1:3128",
        )
        inventory = load_inventory(copy)
        assert inventory.relay.proxy_route is not None
        assert PROXY_PASSWORD not in repr(inventory)
        assert PROXY_PASSWORD not in str(inventory.relay)
    finally:
        await lab.close()
    assert stat.S_IMODE((tmp_path / "lab").stat().st_mode) == 0o700
    await asyncio.sleep(0)
