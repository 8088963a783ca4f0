"""The relay's TOML config: where it listens, its host key, who may connect."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from tui.engine.relay.cluster_config import ClusterConfig
from tui.engine.toml_source import read_toml, validation_error

RELAY_VERSION = "rac-relay_0.1"
MAX_VERSION_CHARS = 245  # "SSH-2.0-" + version + CRLF fits the 255 bytes of RFC 4253


class PreauthLimits(BaseModel):
    """`[preauth]`: limits on connections that have not logged in yet (OpenSSH's names)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_startups: int = Field(default=256, ge=1)  # MaxStartups (a hard cap)
    per_source_max_startups: int = Field(default=64, ge=1)  # PerSourceMaxStartups
    login_grace_time: float = Field(default=30.0, gt=0, le=600)  # LoginGraceTime, seconds
    max_auth_tries: int = Field(default=6, ge=1, le=100)  # MaxAuthTries
    penalty_authfail: float = Field(default=5.0, ge=0)  # PerSourcePenalties authfail:
    penalty_noauth: float = Field(default=1.0, ge=0)  # ... noauth:
    penalty_grace_exceeded: float = Field(default=10.0, ge=0)  # ... grace-exceeded:
    penalty_min: float = Field(default=15.0, ge=0)  # ... min:
    penalty_max: float = Field(default=600.0, ge=0)  # ... max:
    penalty_exempt: tuple[str, ...] = ()  # PerSourcePenaltyExemptList (addresses, networks)
    audit_interval: float = Field(default=60.0, gt=0, le=86400)

    @field_validator("penalty_exempt")
    @classmethod
    def _valid_networks(cls, networks: tuple[str, ...]) -> tuple[str, ...]:
        for network in networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"{network!r} is not an address or network") from None
        return networks


class RelayConfig(BaseModel):
    """`rac relay --config FILE`; relative paths resolve from the file's folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    listen: str = "127.0.0.1"
    ports: tuple[int, ...] = (22, 25, 53, 80, 443, 4766)
    host_key: str = "relay_host_ed25519"
    agents_dir: str = "agents"
    engineers: str = "engineers_authorized_keys"
    enroll_on_first_use: bool = False
    audit_log: str = "relay-audit.jsonl"
    version: str = RELAY_VERSION
    # An agent silent this long loses its route (the agent gives up on the same window);
    # 0 turns the relay's keepalive off.
    agent_keepalive_interval: float = Field(default=15.0, ge=0)
    agent_keepalive_timeout: float = Field(default=19.0, ge=0)
    # An engineer whose channel the appliance does not answer gets a sentence after this.
    channel_open_timeout: float = Field(default=8.0, gt=0)
    enrolment_refresh: float = Field(default=2.0, gt=0, le=3600)
    preauth: PreauthLimits = PreauthLimits()
    cluster: ClusterConfig | None = None
    """Several nodes sharing routes through Redis; absent: one node, routes in memory."""
    source: Path = Field(default=Path("relay.toml"), exclude=True)

    @field_validator("agent_keepalive_timeout")
    @classmethod
    def _timeout_outlasts_interval(cls, value: float, info: ValidationInfo) -> float:
        interval = info.data.get("agent_keepalive_interval")
        if value and interval and value <= interval:
            raise ValueError(
                f"must be longer than agent_keepalive_interval ({interval:g} s): "
                "the agent sends a heartbeat only that often"
            )
        return value

    @field_validator("ports")
    @classmethod
    def _valid_ports(cls, ports: tuple[int, ...]) -> tuple[int, ...]:
        if not ports:
            raise ValueError("list at least one port")
        for port in ports:
            if not 0 <= port < 65536:
                raise ValueError(f"port {port} is outside 0-65535")
        return ports

    @field_validator("version")
    @classmethod
    def _valid_version(cls, version: str) -> str:
        if not version or len(version) > MAX_VERSION_CHARS:
            raise ValueError(f"the banner version must be 1-{MAX_VERSION_CHARS} characters")
        if any(not 0x20 <= ord(char) <= 0x7E for char in version) or version[0] == " ":
            raise ValueError(
                'the banner version must be printable ASCII (e.g. "OpenSSH_6.2 CiscoTunnels1")'
            )
        return version

    def path(self, value: str) -> Path:
        """A configured path, relative to the config file."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.source.parent / path


def load_relay_config(path: Path) -> RelayConfig:
    """Read and check the relay config; errors name the file, the line and the field."""
    path = path.expanduser().resolve()
    data, text = read_toml(path)
    try:
        return RelayConfig.model_validate({**data, "source": path})
    except ValidationError as error:
        raise validation_error(path, text, error) from None
