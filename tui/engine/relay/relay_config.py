"""The relay's TOML config: where it listens, its host key, who may connect."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tui.engine.relay.cluster_config import ClusterConfig
from tui.engine.toml_source import read_toml, validation_error

RELAY_VERSION = "rac-relay_0.1"


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
    cluster: ClusterConfig | None = None
    """Several nodes sharing routes through Redis; absent: one node, routes in memory."""
    source: Path = Field(default=Path("relay.toml"), exclude=True)

    @field_validator("ports")
    @classmethod
    def _valid_ports(cls, ports: tuple[int, ...]) -> tuple[int, ...]:
        if not ports:
            raise ValueError("list at least one port")
        for port in ports:
            if not 0 <= port < 65536:
                raise ValueError(f"port {port} is outside 0-65535")
        return ports

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
