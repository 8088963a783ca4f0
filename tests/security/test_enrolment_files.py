"""`rac relay enrol / revoke / list`: the agents directory is written atomically, 0600, only
under names that are serials; conflicting bindings are refused with a sentence."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncssh
import tomli_w

from tests.security.relay_rig import RAC
from tui.engine.relay.enrolments import valid_serial

GATEWAY = "0C4A1D8E2F61-FCH2143V0AB"
CHILD = "0C4A1D8E5B13-FCH2205V1QP"
OTHER = "GATEWAY-0002"


async def _rac(config: Path, *args: str, stdin: bytes = b"") -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *RAC,
        "relay",
        *args,
        "--config",
        str(config),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def test_a_serial_is_the_whole_name() -> None:
    assert valid_serial(GATEWAY) and valid_serial("abcd")
    for name in [
        "abc",
        "../x",
        "a/b",
        "a.pub",
        "127.0.0.1",
        f"{GATEWAY}\n",
        " abcd",
        "-abc",
        "x" * 65,
        "",
    ]:
        assert not valid_serial(name), name


async def test_enrol_bind_list_and_revoke(tmp_path: Path) -> None:
    config = tmp_path / "relay.toml"
    config.write_text(tomli_w.dumps({"listen": "127.0.0.1", "ports": [0]}))
    key = asyncssh.generate_private_key("ssh-ed25519", comment="gw key")
    keyfile = tmp_path / "gw.pub"
    keyfile.write_bytes(key.export_public_key())

    code, out, err = await _rac(config, "enrol", GATEWAY, str(keyfile), "--gateway-for", CHILD)
    assert code == 0, err
    assert f"enrolled {GATEWAY.lower()}" in out and f"bound {CHILD.lower()}" in out
    agents = tmp_path / "agents"
    for name in (f"{GATEWAY.lower()}.pub", f"{CHILD.lower()}.gateway"):
        assert (agents / name).stat().st_mode & 0o777 == 0o600
    assert oct(agents.stat().st_mode & 0o777) == "0o700"
    assert not [p for p in agents.iterdir() if p.name.startswith(".")]  # no temp file left

    code, out, _ = await _rac(config, "list", "--json")
    rows = {row["serial"]: row for row in json.loads(out)["enrolments"]}
    assert rows[GATEWAY.lower()]["gateway_for"] == [CHILD.lower()]
    assert rows[GATEWAY.lower()]["fingerprint"] == key.get_fingerprint("sha256")
    assert rows[CHILD.lower()]["gateway"] == GATEWAY.lower()

    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key()
    refusals = [
        (("enrol", "../x", "-"), other, "is not a serial"),
        (("enrol", OTHER, "-", "--gateway-for", CHILD), other, "already bound to gateway"),
        (("enrol", CHILD, "-"), other, "revoke it first"),
        (("enrol", OTHER, "-", "--gateway-for", GATEWAY), other, "enrolled as an appliance"),
        (("enrol", OTHER, "-"), key.export_private_key(), "holds a private key"),
        (("enrol", OTHER, "-"), b"hello\n", "not an OpenSSH public key"),
        (("enrol", OTHER, "/dev/zero"), b"", "not a regular file"),
        (("revoke", "NOBODY-0001"), b"", "neither enrolled nor bound"),
    ]
    listing = sorted(p.name for p in agents.iterdir())
    for args, stdin, words in refusals:
        code, _, err = await _rac(config, *args, stdin=stdin)
        assert code == 2 and words in err and err.startswith("rac: "), (args, err)
        assert "Traceback" not in err
    assert sorted(p.name for p in agents.iterdir()) == listing  # nothing written

    code, out, _ = await _rac(config, "revoke", GATEWAY)
    assert code == 0 and f"unbound {CHILD.lower()}" in out
    assert list(agents.iterdir()) == []
