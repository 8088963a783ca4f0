"""Only a certificate from the support CA naming SERIAL:CURRENT-SEED gets in, and only now."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import asyncssh
import pytest

from tests.conftest import EngineFactory, RunningLab
from tests.engineer import certificate, login, login_with
from tests.lab_names import LAB_C, LAB_C_SERIAL, LAB_X_SERIAL
from tui.engine.events import LogRecord, ServiceStarted
from tui.engine.states import TunnelState

OTHER_SERIAL = LAB_X_SERIAL


async def _enabled(make_engine: EngineFactory) -> tuple[object, object, str]:
    engine, events = await make_engine()
    seed = await engine.enable(LAB_C)
    await events.wait_state(LAB_C, TunnelState.ESTABLISHED)
    return engine, events, seed


def _rejections(engine: object) -> list[dict[str, str]]:
    path = engine.audit.path  # type: ignore[attr-defined]
    records = [json.loads(line) for line in path.read_text().splitlines()]
    return [r for r in records if r["action"] == "support-login-rejected"]


@pytest.mark.parametrize(
    ("case", "why"),
    [
        ("wrong-seed", "does not name this serial and the current seed"),
        ("wrong-serial", "does not name this serial and the current seed"),
        ("expired", "outside its validity period"),
        ("other-ca", "from another CA"),
        ("plain-key", "plain key without a support certificate"),
        ("wrong-user", "only 'service' may log in"),
    ],
)
async def test_bad_credentials_are_rejected_and_audited(
    lab: RunningLab, make_engine: EngineFactory, case: str, why: str
) -> None:
    engine, events, seed = await _enabled(make_engine)
    key = asyncssh.read_private_key(lab.info.engineer_key)
    username = "service"
    if case == "wrong-seed":
        keys: list[object] = [certificate(lab.info, LAB_C_SERIAL, seed + "X")]
    elif case == "wrong-serial":
        keys = [certificate(lab.info, OTHER_SERIAL, seed)]
    elif case == "expired":
        keys = [certificate(lab.info, LAB_C_SERIAL, seed, now=time.time() - 7200, validity=600)]
    elif case == "other-ca":
        keys = [
            certificate(
                lab.info, LAB_C_SERIAL, seed, ca=asyncssh.generate_private_key("ssh-ed25519")
            )
        ]
    elif case == "plain-key":
        keys = [key]
    else:
        keys = [certificate(lab.info, LAB_C_SERIAL, seed)]
        username = "root"

    with pytest.raises(asyncssh.PermissionDenied):
        await login_with(lab.info, LAB_C_SERIAL, keys, username=username)

    warning = await events.wait_for(  # type: ignore[attr-defined]
        lambda e: isinstance(e, LogRecord) and "rejected" in e.message
    )
    assert why in warning.message
    rejected = _rejections(engine)
    assert len(rejected) == 1 and why in rejected[0]["why"]
    # a refused login is never shown as support inside
    assert not events.of_type(ServiceStarted)  # type: ignore[attr-defined]
    assert TunnelState.SERVICE not in events.states(LAB_C)  # type: ignore[attr-defined]
    assert seed not in engine.audit.path.read_text()  # type: ignore[attr-defined]


async def test_serial_is_matched_without_case(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    _, _, seed = await _enabled(make_engine)
    relay, appliance = await login(lab.info, tmp_path, LAB_C_SERIAL.lower(), seed)
    result = await appliance.run("whoami", check=True)
    assert LAB_C_SERIAL in str(result.stdout)
    appliance.close()
    relay.close()


async def test_new_seed_ends_sessions_and_old_credentials(
    lab: RunningLab, make_engine: EngineFactory, tmp_path: Path
) -> None:
    engine, events, seed = await _enabled(make_engine)
    relay, appliance = await login(lab.info, tmp_path, LAB_C_SERIAL, seed)
    await events.wait_state(LAB_C, TunnelState.SERVICE)  # type: ignore[attr-defined]

    new = await engine.new_seed(LAB_C)  # type: ignore[attr-defined]

    await asyncio.wait_for(appliance.wait_closed(), 1.0)
    relay.close()
    assert new != seed
    with pytest.raises(asyncssh.PermissionDenied):
        await login_with(lab.info, LAB_C_SERIAL, [certificate(lab.info, LAB_C_SERIAL, seed)])
    relay, appliance = await login(lab.info, tmp_path, LAB_C_SERIAL, new)
    assert "ENABLED" in str((await appliance.run("status")).stdout)
    appliance.close()
    relay.close()


async def test_a_disabled_appliance_is_unreachable(
    lab: RunningLab, make_engine: EngineFactory
) -> None:
    engine, _, seed = await _enabled(make_engine)
    await engine.disable(LAB_C)  # type: ignore[attr-defined]
    with pytest.raises(asyncssh.ChannelOpenError, match="not connected to the relay"):
        await login_with(lab.info, LAB_C_SERIAL, [certificate(lab.info, LAB_C_SERIAL, seed)])
