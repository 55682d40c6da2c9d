"""Configuration: a TOML file per company, read into typed settings.

Environment variables prefixed ``PONTIS_`` override the file (``DATABASE_URL`` overrides the
database URL), so one file can serve on a laptop and in production.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .dataspaces import GaiaxSettings, ProfileSettings
from .mqtt import MqttSettings
from .operations import (
    AuditSettings,
    LimitsSettings,
    LogSettings,
    ManagementSettings,
    MetricsSettings,
    OidcSettings,
    StaffKey,
)
from .sections import (
    AUTH_MODES,
    ConfigError,
    DataPlaneSettings,
    IdentitySettings,
    PactClient,
    PactSettings,
    Peer,
    ProvenanceSettings,
    ServerSettings,
)

__all__ = [
    "AUTH_MODES", "DSP_PATH", "DSP_VERSION", "MANAGEMENT_PATH", "AuditSettings", "ConfigError", "DataPlaneSettings",
    "GaiaxSettings", "IdentitySettings", "LimitsSettings", "LogSettings", "ManagementSettings", "MetricsSettings",
    "MqttSettings", "OidcSettings", "PactClient", "PactSettings", "Peer", "ProfileSettings", "ProvenanceSettings", "ServerSettings",
    "Settings", "StaffKey", "describe_error", "load_settings",
]

DSP_VERSION = "2025-1"
DSP_PATH = "/api/dsp/2025-1"
MANAGEMENT_PATH = "/management"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PONTIS_", env_nested_delimiter="__", extra="forbid")

    participant_id: str
    bpn: str | None = None
    name: str | None = None
    server: ServerSettings = Field(default_factory=ServerSettings)
    database_url: str = "sqlite:///var/pontis.db"
    api_key: str
    # the static token we present to peers (static-token mode, for dev, tests and the TCK)
    token: str | None = None
    peers: list[Peer] = Field(default_factory=list)
    max_body_bytes: int = 1_048_576
    # the TCK profile: scripted counter-party actions keyed by dataset or agreement id
    playbook: dict[str, dict[str, str]] = Field(default_factory=dict)
    # how long scripted (playbook) actions wait before they are sent; the TCK profile needs ~500 ms
    playbook_delay_ms: int = 0
    seed_file: str | None = None
    # how policies are checked when written: "catena-x" (the 2025-09 profile) or "lenient"
    # (unknown constraints are still refused, the profile's structure rules are not enforced)
    policy_profile: Literal["catena-x", "lenient"] = "catena-x"
    # serve the DSP TCK's consumer trigger endpoints under /tck (test profile only)
    tck: bool = False
    # outgoing transport: "aiohttp" (fast) or "httpx" (the stock transport, mockable by pytest-httpx)
    transport: str = "aiohttp"
    worker_batch: int = 64
    # how long a replica holds the outgoing messages it claimed (above the DSP timeout, 10 s): a dead
    # replica's are taken over after this
    worker_lease_seconds: float = Field(default=30.0, gt=0)
    # how long an EDR token (the pull consumer's key to our data plane) is valid
    edr_ttl_seconds: int = 300
    # the consumer's EDR cache: refresh an EDR this long before it expires; check STARTED pull
    # transfers for expired EDRs this often; terminate one whose refresh endpoint stays unreachable
    # this long after expiry (services.edr_cache)
    edr_refresh_margin_seconds: int = 30
    edr_sweep_seconds: float = 30.0
    edr_refresh_grace_seconds: int = 300
    dataplane: DataPlaneSettings = Field(default_factory=DataPlaneSettings)
    # the PACT API for PACT (WBCSD Pathfinder) tools; absent = not served
    pact: PactSettings | None = None
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    provenance: ProvenanceSettings = Field(default_factory=ProvenanceSettings)
    profile: ProfileSettings = Field(default_factory=ProfileSettings)
    # Gaia-X participant credentials and partners' labels (connector.gaiax); absent = not used
    gaiax: GaiaxSettings | None = None
    # the connector's own MQTT broker and its AAS events (connector.mqtt); off unless enabled
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    management: ManagementSettings = Field(default_factory=ManagementSettings)
    # names this replica's row leases; a restarted replica takes back what it held when it died.
    # Replicas sharing one PostgreSQL database need distinct node ids.
    node_id: str | None = None
    retry_limit: int = 7
    retry_base_seconds: float = 0.5
    # a peer's callbackAddress must be on its own server (its dsp_url, or the DSP URL its DID
    # document announces); true lets it name another server (the SSRF guard still applies)
    allow_foreign_callbacks: bool = False

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgres")):
            raise ValueError("expected a sqlite:/// or postgresql:// URL")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> Settings:
        """Credentials that would let one party pass for another are refused at start."""
        if not self.api_key.strip():
            raise ValueError("api_key: must not be empty: it is what staff send as X-Api-Key "
                             "(`connector init` writes a random one)")
        holders: dict[str, str] = {}
        if self.token:
            holders[self.token] = "token (the one we present to peers)"
        for i, peer in enumerate(self.peers):
            if peer.token is not None and not peer.token.strip():
                raise ValueError(f"peers[{i}].token: must not be empty; leave it out if {peer.id} has no token")
            if peer.token and peer.token in holders:
                raise ValueError(f"peers[{i}].token: {peer.id} has the same token as {holders[peer.token]}; "
                                 "each peer needs its own, or the connector cannot tell who is calling")
            if peer.token:
                holders[peer.token] = f"peers[{i}] ({peer.id})"
        return self

    @property
    def public_url(self) -> str:
        scheme = "https" if self.server.tls else "http"
        return (self.server.public_url or f"{scheme}://{self.server.host}:{self.server.port}").rstrip("/")

    @property
    def worker_owner(self) -> str:
        return self.node_id or f"{self.participant_id}@{self.server.host}:{self.server.port}"

    @property
    def dsp_url(self) -> str:
        return self.public_url + DSP_PATH

    def peer_by_token(self, token: str) -> Peer | None:
        for peer in self.peers:
            if peer.token is not None and peer.token == token:
                return peer
        return None

    def peer_by_id(self, participant_id: str) -> Peer | None:
        for peer in self.peers:
            if peer.id == participant_id:
                return peer
        return None


def load_settings(path: str | Path, **overrides: Any) -> Settings:
    """Read a TOML config; ``DATABASE_URL`` in the environment wins over the file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such config file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    database = data.pop("database", None)
    if isinstance(database, dict):
        extra = sorted(set(database) - {"url"})
        if extra:  # [database] has one key; a misspelt one must not fall back to the default database
            raise ConfigError(f"{path}: [database] {extra[0]}: unknown key; the only key there is 'url'")
        if "url" in database:
            data.setdefault("database_url", database["url"])
    elif database is not None:
        raise ConfigError(f"{path}: database: expected a table [database] with url = \"...\"")
    if os.environ.get("DATABASE_URL"):
        data["database_url"] = os.environ["DATABASE_URL"]
    data.update(overrides)
    base = path.resolve().parent
    # relative SQLite paths and seed files are relative to the config file, not the cwd
    url = data.get("database_url", "")
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and ":memory:" not in url:
        data["database_url"] = "sqlite:///" + str(base / url[len("sqlite:///"):])
    if data.get("seed_file") and not Path(data["seed_file"]).is_absolute():
        data["seed_file"] = str(base / data["seed_file"])
    server = data.get("server")
    if isinstance(server, dict):  # TLS files are relative to the config file too
        for key in ("tls_cert_file", "tls_key_file"):
            if isinstance(server.get(key), str) and not Path(server[key]).is_absolute():
                server[key] = str(base / server[key])
    pact = data.get("pact")
    if isinstance(pact, dict):
        for key in ("footprints_file", "endpoints_file"):
            if isinstance(pact.get(key), str) and not Path(pact[key]).is_absolute():
                pact[key] = str(base / pact[key])
    identity = data.get("identity")
    if isinstance(identity, dict):  # key, wallet and issuer paths are relative to the config file too
        for key in ("key_file", "credentials_file", "issuer_dir"):
            if isinstance(identity.get(key), str) and not Path(identity[key]).is_absolute():
                identity[key] = str(base / identity[key])
    gaiax = data.get("gaiax")
    if isinstance(gaiax, dict):  # key, chain and shapes files are relative to the config file too
        for key in ("key_file", "chain_file", "shapes_file", "ontology_file"):
            if isinstance(gaiax.get(key), str) and not Path(gaiax[key]).is_absolute():
                gaiax[key] = str(base / gaiax[key])
    mqtt = data.get("mqtt")
    if isinstance(mqtt, dict):  # the broker's certificate and key are relative to the config file too
        for key in ("cert_file", "key_file"):
            if isinstance(mqtt.get(key), str) and not Path(mqtt[key]).is_absolute():
                mqtt[key] = str(base / mqtt[key])
    dataplane = data.get("dataplane")
    if isinstance(dataplane, dict) and isinstance(dataplane.get("edr_key_file"), str) \
            and not Path(dataplane["edr_key_file"]).is_absolute():
        dataplane["edr_key_file"] = str(base / dataplane["edr_key_file"])
    try:
        return Settings(**data)
    except ValidationError as exc:  # re-say it with the file's name, one line per problem
        raise ConfigError(f"{path}: " + "; ".join(describe_error(e) for e in exc.errors())) from None


def _section_model(loc: tuple) -> type[BaseModel] | None:
    """The settings model that holds the key at ``loc`` (``("identity", "authmode")`` → IdentitySettings)."""
    import typing

    model: Any = Settings
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return None
        # list[X] and X | None name the model X
        candidates = [field.annotation, *typing.get_args(field.annotation)]
        candidates += [inner for c in candidates for inner in typing.get_args(c)]
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _where(loc: tuple) -> str:
    """A config location as the TOML reads: ``[identity] authmode``, ``[[peers]] #2 tokn``, ``api_key``."""
    parts = [p for p in loc]
    if len(parts) == 1:
        return str(parts[0])
    section = str(parts[0])
    if len(parts) >= 3 and isinstance(parts[1], int):
        return f"[[{section}]] #{parts[1] + 1} " + ".".join(str(p) for p in parts[2:])
    if len(parts) >= 4 and isinstance(parts[2], int):  # [[pact.clients]] #1 events_url
        return f"[[{section}.{parts[1]}]] #{parts[2] + 1} " + ".".join(str(p) for p in parts[3:])
    return f"[{section}] " + ".".join(str(p) for p in parts[1:])


def describe_error(error: Mapping[str, Any]) -> str:
    """One pydantic error as one line that names the key and, for an unknown key, the closest valid one."""
    import difflib

    loc = tuple(error.get("loc", ()))
    where = _where(loc) if loc else "(config)"
    if error.get("type") == "extra_forbidden" and loc:
        model = _section_model(loc)
        valid = sorted(model.model_fields) if model is not None else []
        near = difflib.get_close_matches(str(loc[-1]).lower(), valid, n=1, cutoff=0.5)
        hint = f"did you mean {near[0]!r}?" if near else f"valid keys: {', '.join(valid)}"
        return f"{where}: unknown key; {hint}"
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {message}"
