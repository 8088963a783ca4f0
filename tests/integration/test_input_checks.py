"""Bad input gets one sentence naming what was wrong and where, and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import EngineFactory, RunningLab
from tests.lab_names import LAB_C, LAB_C_SERIAL
from tui.engine.errors import ConfigError, PortNotAllowedError, SeedError, UnknownApplianceError
from tui.engine.inventory import load_inventory
from tui.engine.relay.relay_config import load_relay_config
from tui.engine.seeds import ALPHABET, ENTROPY_BITS, generate_seed, validate_seed


def test_generated_seeds_are_strong_and_readable() -> None:
    seed = generate_seed()
    assert ENTROPY_BITS >= 80
    groups = seed.split("-")
    assert len(groups) == 5 and all(len(g) == 4 for g in groups)
    assert set(seed.replace("-", "")) <= set(ALPHABET)
    assert not set("0O1IL25SZ8B") & set(ALPHABET)
    assert validate_seed(seed) == seed


@pytest.mark.parametrize(
    ("seed", "rule"),
    [
        ("", "blank"),
        ("      ", "blank"),
        ("abc12", "at least 6"),
        ("x" * 129, "at most 128"),
        ("abc def", "space at position 4"),
        ("abc,def", "comma at position 4"),
        ("abc\tdef", "U\\+0009 at position 4: use ASCII letters"),
        ("abcdéf", "'é' at position 5: use ASCII letters"),
    ],
)
def test_entered_seeds_name_the_rule_they_break(seed: str, rule: str) -> None:
    with pytest.raises(SeedError, match=rule):
        validate_seed(seed)


@given(st.text(max_size=200))
def test_seed_validation_never_fails_other_than_with_a_seed_error(seed: str) -> None:
    try:
        assert validate_seed(seed) == seed
    except SeedError as error:
        assert error.sentence.startswith("The seed")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "inventory.toml"
    path.write_text(text)
    return path


def _good_inventory(ca: Path, appliances: str = "") -> str:
    return f'''[relay]
domain = "example.test"
support_ca = "{ca}"

[[appliance]]
name = "esa1"
series = "C"
serial = "{LAB_C_SERIAL}"
{appliances}'''


@pytest.fixture
def ca_key(lab: RunningLab) -> Path:
    return lab.info.support_ca_key.with_name("support_ca_ed25519.pub")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("port = 26\n", "line 9, field appliance[0].port: 26 is not one of the relay ports"),
        ('mode = "tunnels"\n', "line 9, field appliance[0].mode: Input should be"),
        ('gateway = "esa1"\n', "line 9, field appliance[0].gateway: only an SSHACCESS"),
        ('colour = "red"\n', "line 9, field appliance[0].colour: unknown field"),
        (
            '\n[[appliance]]\nname = "esa1"\nseries = "C"\nserial = "X-1234"\n',
            "line 11, field appliance[1].name: 'esa1' is used twice",
        ),
        (
            '\n[[appliance]]\nname = "sma"\nseries = "M"\nserial = "M-1234"\nmode = "sshaccess"\n',
            "line 10, field appliance[1].gateway: an SSHACCESS appliance needs a gateway",
        ),
        (
            '\n[[appliance]]\nname = "sma"\nseries = "Q"\nserial = "M-1234"\n',
            "line 12, field appliance[1].series: Input should be",
        ),
        (
            '\n[[appliance]]\nname = "bad name"\nseries = "M"\nserial = "M-1234"\n',
            "line 11, field appliance[1].name: String should match pattern",
        ),
    ],
)
def test_inventory_errors_name_file_line_and_field(
    tmp_path: Path, ca_key: Path, extra: str, message: str
) -> None:
    path = _write(tmp_path, _good_inventory(ca_key, extra))
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    assert caught.value.sentence.startswith(str(path) + ", ")
    assert message in caught.value.sentence
    assert caught.value.exit_code == 2


def test_inventory_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, '[relay]\ndomain = "x\n')
    with pytest.raises(ConfigError, match=r"not valid TOML: .*line 2"):
        load_inventory(path)


def test_missing_support_ca_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, _good_inventory(tmp_path / "nope.pub"))
    with pytest.raises(ConfigError, match=r"line 3, field relay.support_ca: .*no such file"):
        load_inventory(path)


def test_relay_config_errors_are_located(tmp_path: Path) -> None:
    path = tmp_path / "relay.toml"
    path.write_text('listen = "127.0.0.1"\nports = [22, 99999]\n')
    with pytest.raises(ConfigError, match=r"line 2, field ports: .*99999"):
        load_relay_config(path)


async def test_engine_refuses_bad_requests_and_changes_nothing(make_engine: EngineFactory) -> None:
    engine, events = await make_engine()
    with pytest.raises(UnknownApplianceError, match="No appliance named 'esa9'"):
        await engine.enable("esa9")
    with pytest.raises(PortNotAllowedError, match="Port 8080 is not a relay port"):
        await engine.enable(LAB_C, port=8080)
    with pytest.raises(SeedError, match="comma"):
        await engine.enable(LAB_C, seed="abc,defgh")
    assert events.events == []
    assert not (engine.state_dir / "appliances.jsonl").exists()
    assert engine.status(LAB_C).enabled is False
