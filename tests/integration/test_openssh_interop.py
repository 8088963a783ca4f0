"""Stock OpenSSH on both ends: `ssh -J` through the relay, and a real sshd as service target."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import EngineFactory, RunningLab, require_openssh
from tests.lab_names import LAB_C, LAB_C_SERIAL
from tests.openssh import client_config, copy_key, login_name, sign_certificate, ssh, sshd
from tui.engine.events import ServiceEnded, ServiceStarted
from tui.engine.states import TunnelState

SSHD_APPLIANCE = "mail-gw-sshd"
SSHD_SERIAL = "0C4A1D8E7777-FCH2300V9ZZ"


async def test_stock_ssh_jumps_through_the_relay_into_the_service_shell(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    require_openssh()
    engine, events = await make_engine()
    seed = await engine.enable(LAB_C)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    key = copy_key(lab.info.engineer_key, tmp_path, "engineer")
    sign_certificate(
        lab.info.support_ca_key, key, identity="bob", principal=f"{LAB_C_SERIAL}:{seed}"
    )
    config = client_config(tmp_path, key, lab.info.known_hosts)
    jump = f"lab-engineer@127.0.0.1:{lab.info.relay_ports['22']}"

    code, out, err = await ssh(config, "-J", jump, f"service@{LAB_C_SERIAL}", "status")

    assert code == 0, err
    assert "Service Access currently ENABLED (1 current service login)" in out
    assert f"Serial number: {LAB_C_SERIAL}" in out
    ended = await events.wait_for(lambda e: isinstance(e, ServiceEnded))
    assert isinstance(ended, ServiceEnded) and ended.engineer == "bob"

    code, out, _ = await ssh(config, "-J", jump, f"service@{LAB_C_SERIAL}", "whoami")
    assert code == 0 and out.startswith("bob (user service)")


async def test_stock_ssh_with_a_stale_seed_is_refused(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    require_openssh()
    engine, events = await make_engine()
    seed = await engine.enable(LAB_C)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    await engine.new_seed(LAB_C)
    key = copy_key(lab.info.engineer_key, tmp_path, "engineer")
    sign_certificate(
        lab.info.support_ca_key, key, identity="bob", principal=f"{LAB_C_SERIAL}:{seed}"
    )
    config = client_config(tmp_path, key, lab.info.known_hosts)
    jump = f"lab-engineer@127.0.0.1:{lab.info.relay_ports['22']}"
    code, _, err = await ssh(config, "-J", jump, f"service@{LAB_C_SERIAL}", "status")
    assert code == 255
    assert "Permission denied" in err


async def test_a_real_sshd_behind_the_tunnel(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    require_openssh()
    seed = "Known-Seed-7Q"
    ca_public = lab.info.support_ca_key.with_name("support_ca_ed25519.pub")
    async with sshd(
        tmp_path / "sshd", ca_public_key=ca_public, principal=f"{SSHD_SERIAL}:{seed}"
    ) as port:
        inventory = lab.inventory_with_appliances(
            [
                {
                    "name": SSHD_APPLIANCE,
                    "series": "C",
                    "model": "C395",
                    "serial": SSHD_SERIAL,
                    "service": f"ssh://127.0.0.1:{port}",
                }
            ]
        )
        engine, events = await make_engine(inventory)
        await engine.enable(SSHD_APPLIANCE, seed=seed)
        await events.wait_state(SSHD_APPLIANCE, TunnelState.ESTABLISHED)
        key = copy_key(lab.info.engineer_key, tmp_path, "engineer")
        sign_certificate(
            lab.info.support_ca_key, key, identity="carol", principal=f"{SSHD_SERIAL}:{seed}"
        )
        config = client_config(tmp_path, key, lab.info.known_hosts)
        jump = f"lab-engineer@127.0.0.1:{lab.info.relay_ports['25']}"

        code, out, err = await ssh(
            config, "-J", jump, f"{login_name()}@{SSHD_SERIAL}", "echo inside-$((6*7))"
        )

        assert code == 0, err
        assert out.strip() == "inside-42"
        started = await events.wait_for(lambda e: isinstance(e, ServiceStarted))
        ended = await events.wait_for(lambda e: isinstance(e, ServiceEnded))
        assert isinstance(started, ServiceStarted) and started.appliance == SSHD_APPLIANCE
        assert isinstance(ended, ServiceEnded) and ended.bytes_out > 0
