"""The fleet inventory (one TOML file): relay settings and appliances, validated with pydantic."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import asyncssh
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from tui.engine.bounded_files import CONFIG_LIMIT, KEY_LIMIT, UnreadableFile, read_bounded
from tui.engine.durations import parse_duration
from tui.engine.errors import ConfigError, PortNotAllowedError, UnknownApplianceError
from tui.engine.http_proxy import ProxyRoute, parse_proxy_url
from tui.engine.locations import default_inventory_path
from tui.engine.nameserver_address import parse_nameserver
from tui.engine.states import Mode
from tui.engine.toml_source import config_error, read_toml, validation_error

RELAY_PORTS = (22, 25, 53, 80, 443, 4766)
DEFAULT_PORT = 25
DEFAULT_LIFETIME = 7 * 86400.0
BUILTIN_SERVICE = "builtin"


class Series(StrEnum):
    """Appliance series: C and X email, M management, S web."""

    C = "C"
    X = "X"
    M = "M"
    S = "S"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _nameserver(value: str) -> str:
    parse_nameserver(value)
    return value


class RelaySettings(_Strict):
    """Where the vendor's relay is and how to reach it."""

    domain: str | None = None
    hosts: dict[Series, str] = Field(default_factory=dict)
    ports: tuple[int, ...] = RELAY_PORTS
    default_port: int = DEFAULT_PORT
    port_map: dict[str, Annotated[int, Field(gt=0, lt=65536)]] = Field(default_factory=dict)
    nameservers: tuple[str, ...] = ()
    known_hosts: str = "known_hosts"
    support_ca: str
    fallback: bool = False
    lifetime: float = DEFAULT_LIFETIME
    # TCP connect and the relay's first bytes; the SSH handshake has its own budget, from
    # `handshake_timeout` up to `handshake_timeout_max` as the link measures slow.
    connect_timeout: float = Field(default=10.0, gt=0, allow_inf_nan=False)
    handshake_timeout: float = Field(default=10.0, gt=0, allow_inf_nan=False)
    handshake_timeout_max: float = Field(default=120.0, gt=0, allow_inf_nan=False)
    # Probe the relay after this long quiet; give up after this long silent (0 turns it off).
    keepalive_interval: float = Field(default=15.0, ge=0, allow_inf_nan=False)
    keepalive_timeout: float = Field(default=19.0, ge=0, allow_inf_nan=False)
    proxy: str | None = Field(default=None, repr=False)  # may hold a password
    recordings: bool = True
    recording_cap_mib: int = Field(default=64, gt=0)
    connections: int = Field(default=1, ge=1, le=3)
    """Tunnels each appliance holds, each to a different relay node (2 for a cluster)."""

    @field_validator("proxy")
    @classmethod
    def _proxy_url(cls, value: str | None) -> str | None:
        if value is not None:
            parse_proxy_url(value)
        return value

    @property
    def proxy_route(self) -> ProxyRoute | None:
        """The HTTP CONNECT proxy the agents go through, if any."""
        return parse_proxy_url(self.proxy) if self.proxy else None

    @field_validator("keepalive_timeout")
    @classmethod
    def _timeout_outlasts_interval(cls, value: float, info: ValidationInfo) -> float:
        return outlasts_interval(value, info.data.get("keepalive_interval"), "keepalive")

    @field_validator("ports")
    @classmethod
    def _ports_in_range(cls, ports: tuple[int, ...]) -> tuple[int, ...]:
        if not ports:
            raise ValueError("list at least one port")
        for port in ports:
            if not 0 < port < 65536:
                raise ValueError(f"port {port} is outside 1-65535")
        return ports

    @field_validator("nameservers")
    @classmethod
    def _nameservers_are_addresses(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_nameserver(value) for value in values)

    @field_validator("lifetime", mode="before")
    @classmethod
    def _lifetime_duration(cls, value: Any) -> float:
        return parse_duration(value)


class ApplianceConfig(_Strict):
    """One appliance of the fleet."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
    series: Series
    model: str = ""
    serial: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{3,63}$")
    mode: Mode = Mode.TUNNEL
    gateway: str | None = None
    service: str = BUILTIN_SERVICE
    port: int | None = None

    @field_validator("mode", mode="before")
    @classmethod
    def _mode_any_case(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("series", mode="before")
    @classmethod
    def _series_any_case(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("service")
    @classmethod
    def _service_target(cls, value: str) -> str:
        if value == BUILTIN_SERVICE:
            return value
        parts = urlsplit(value)
        if parts.scheme != "ssh" or not parts.hostname:
            raise ValueError('use "builtin" or "ssh://HOST:PORT"')
        try:
            _ = parts.port
        except ValueError:
            raise ValueError(f"{value!r} has a port outside 1-65535") from None
        return value

    @property
    def service_address(self) -> tuple[str, int] | None:
        """(host, port) of a real sshd target, or None for the built-in endpoint."""
        if self.service == BUILTIN_SERVICE:
            return None
        parts = urlsplit(self.service)
        return parts.hostname or "", parts.port or 22


class Inventory(_Strict):
    """The whole file, plus where it came from (relative paths resolve from there)."""

    relay: RelaySettings
    appliance: tuple[ApplianceConfig, ...] = ()
    source: Path = Path("inventory.toml")

    def get(self, name: str) -> ApplianceConfig:
        """The appliance called `name`, or an error listing the ones that exist."""
        for appliance in self.appliance:
            if appliance.name == name:
                return appliance
        known = ", ".join(a.name for a in self.appliance) or "none"
        raise UnknownApplianceError(
            f"No appliance named {name!r} in {self.source} (known: {known})."
        )

    def relay_host(self, appliance: ApplianceConfig) -> str:
        """The relay name this appliance dials: its series host, as the reference does."""
        configured = self.relay.hosts.get(appliance.series)
        if configured:
            return configured
        return f"{appliance.series.lower()}.tunnels.{self.relay.domain}"

    def port_for(self, appliance: ApplianceConfig) -> int:
        """The nominal port an appliance uses unless the operator picks another."""
        return appliance.port or self.relay.default_port

    def check_port(self, port: int) -> int:
        """Return `port` if the relay accepts it, else say which ports are allowed."""
        if port not in self.relay.ports:
            allowed = ", ".join(str(p) for p in self.relay.ports)
            raise PortNotAllowedError(f"Port {port} is not a relay port: use one of {allowed}.")
        return port

    def real_port(self, nominal: int) -> int:
        """The TCP port actually dialled for a nominal port (the lab maps 25 → a free port)."""
        return self.relay.port_map.get(str(nominal), nominal)

    def resolve_path(self, value: str) -> Path:
        """A path from the file, relative to the file's own folder."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.source.parent / path

    @property
    def known_hosts_path(self) -> Path:
        """The pinned relay host keys."""
        return self.resolve_path(self.relay.known_hosts)


def load_inventory(path: Path | None) -> Inventory:
    """Read and check an inventory (None: the default one in the user config dir); every
    error names the file, the line and the field."""
    if path is None:
        path = default_inventory_path()
        if not path.exists():
            raise ConfigError(
                f"No inventory at {path}: give one with --inventory FILE "
                "(or run `rac` alone for the built-in lab)."
            )
    path = path.expanduser().resolve()
    data, text = read_toml(path)
    try:
        inventory = Inventory.model_validate({**data, "source": path})
    except ValidationError as error:
        raise validation_error(path, text, error) from None
    _check_relations(inventory, text)
    _check_support_ca(inventory, text)
    _check_known_hosts(inventory, text)
    return inventory


def _check_support_ca(inventory: Inventory, text: str) -> None:
    """The support CA must be a readable public key: without it nobody can get in."""
    ca_path = inventory.resolve_path(inventory.relay.support_ca)
    try:
        asyncssh.import_public_key(read_bounded(ca_path, KEY_LIMIT))
    except (UnreadableFile, asyncssh.KeyImportError, ValueError) as error:
        reason = str(error)
        raise config_error(
            inventory.source,
            text,
            ["relay", "support_ca"],
            f"{ca_path} is not a readable SSH public key ({reason})",
        ) from None


def _check_known_hosts(inventory: Inventory, text: str) -> None:
    """The pinned relay keys, if the file exists yet, must be a small regular file: agents
    read it at every connection, and a FIFO or a device there would block or exhaust them."""
    path = inventory.known_hosts_path
    try:
        data = read_bounded(path, CONFIG_LIMIT)
    except UnreadableFile as error:
        if not path.exists() and not path.is_symlink():
            return  # made on the first accepted host key
        raise config_error(
            inventory.source, text, ["relay", "known_hosts"], f"{path} {error}"
        ) from None
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        try:
            asyncssh.import_known_hosts(line)
        except (ValueError, asyncssh.KeyImportError):
            # The entry itself is not quoted: a key file given here by mistake is a secret.
            raise config_error(
                inventory.source,
                text,
                ["relay", "known_hosts"],
                f"{path}, line {number}, is not an OpenSSH known_hosts entry (HOSTS KEYTYPE KEY)",
            ) from None


def _check_relations(inventory: Inventory, text: str) -> None:
    """Checks that span fields: unique names, known gateways, allowed ports, named relays."""
    path = inventory.source
    relay = inventory.relay
    if relay.default_port not in relay.ports:
        raise config_error(
            path,
            text,
            ["relay", "default_port"],
            f"{relay.default_port} is not one of the relay ports",
        )
    for key in relay.port_map:
        if not key.isdigit() or int(key) not in relay.ports:
            raise config_error(
                path, text, ["relay", "port_map", key], f"{key!r} is not one of the relay ports"
            )
    names: set[str] = set()
    serials: set[str] = set()
    by_name = {a.name: a for a in inventory.appliance}
    for index, appliance in enumerate(inventory.appliance):

        def where(field: str, index: int = index) -> list[str | int]:
            return ["appliance", index, field]

        if appliance.name in names:
            raise config_error(path, text, where("name"), f"{appliance.name!r} is used twice")
        if appliance.serial.lower() in serials:
            raise config_error(
                path, text, where("serial"), f"serial {appliance.serial!r} is used twice"
            )
        names.add(appliance.name)
        serials.add(appliance.serial.lower())
        if appliance.port is not None and appliance.port not in relay.ports:
            raise config_error(
                path, text, where("port"), f"{appliance.port} is not one of the relay ports"
            )
        if appliance.mode is Mode.SSHACCESS:
            gateway = by_name.get(appliance.gateway or "")
            if appliance.gateway is None:
                raise config_error(
                    path, text, where("gateway"), "an SSHACCESS appliance needs a gateway"
                )
            if gateway is None:
                raise config_error(
                    path, text, where("gateway"), f"no appliance named {appliance.gateway!r}"
                )
            if gateway.mode is not Mode.TUNNEL:
                raise config_error(
                    path, text, where("gateway"), f"{gateway.name!r} is not in TUNNEL mode"
                )
        elif appliance.gateway is not None:
            raise config_error(
                path, text, where("gateway"), "only an SSHACCESS appliance has a gateway"
            )
        if (
            appliance.mode is Mode.TUNNEL
            and appliance.series not in relay.hosts
            and not relay.domain
        ):
            raise config_error(
                path,
                text,
                ["relay", "domain"],
                f"set a domain or relay.hosts.{appliance.series} for {appliance.name!r}",
            )


def outlasts_interval(timeout: float, interval: float | None, prefix: str) -> float:
    """A keepalive timeout shorter than the heartbeat interval would drop every idle tunnel."""
    if timeout and interval and timeout <= interval:
        raise ValueError(
            f"must be longer than {prefix}_interval ({interval:g} s): the peer "
            "sends a heartbeat only that often"
        )
    return timeout
