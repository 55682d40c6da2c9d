"""Configuration: a TOML file per company, read into typed settings.

Environment variables prefixed ``PONTIS_`` override the file (``DATABASE_URL`` overrides the
database URL), so one file can serve on a laptop and in production.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DSP_VERSION = "2025-1"
DSP_PATH = "/api/dsp/2025-1"
MANAGEMENT_PATH = "/management"


class ConfigError(ValueError):
    """A configuration file that cannot be used, with the field and what was expected."""


class _Section(BaseModel):
    """A config table: a key it does not know is refused (a misspelt ``authmode`` must not fall back
    to a default silently), and ``load_settings`` names the closest valid key."""

    model_config = ConfigDict(extra="forbid")


class Peer(_Section):
    """Another company's connector that this one knows."""

    id: str = Field(description="the peer's participant id (DID or BPN)")
    token: str | None = Field(default=None, description="the static token this peer presents to us")
    dsp_url: str | None = Field(default=None, description="the peer's versioned DSP base")
    bpn: str | None = None
    claims: dict[str, Any] = Field(default_factory=dict)


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = 8181
    public_url: str | None = Field(default=None, description="the URL peers use to reach us")


class DataPlaneSettings(_Section):
    """The provider's data plane: which private backends it may reach, and how long EDRs live."""

    # hosts ("backend.internal", "localhost") or addresses/CIDRs ("127.0.0.1", "10.0.0.0/8") that a
    # data address or push destination may point at although they are loopback/private/link-local
    allowlist: list[str] = Field(default_factory=list)
    # how long a refresh token is good for; a pull transfer not refreshed in that time is terminated
    refresh_ttl_seconds: int = 86_400
    # where PontisFile data addresses are read from (relative paths are relative to the cwd)
    files_dir: str | None = None
    # pushes running at once, and how often STARTED pull transfers are checked for expiry
    push_concurrency: int = 8
    sweep_seconds: float = 30.0
    # JSON documents served from the connector (PontisDocument) carry our eddsa-jcs-2022 proof, so
    # the consumer can prove to anyone where they came from (needs the [identity] key file)
    sign_documents: bool = False

    @field_validator("allowlist")
    @classmethod
    def _allowlist(cls, value: list[str]) -> list[str]:
        import ipaddress
        import re

        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?", entry):
                    raise ValueError(f"allowlist entry {entry!r}: expected a host name, an IP address or a CIDR")
        return value


class IdentitySettings(_Section):
    """``[identity]``: our keys and credentials, and how DSP callers are authenticated.

    The key-file passphrase is never configured here: it comes from ``PONTIS_KEY_PASSPHRASE``.
    """

    # "static-token" (dev, tests, the TCK profile) or "dcp" (self-issued ID tokens + credentials)
    auth_mode: Literal["static-token", "dcp"] = "static-token"
    # our Ed25519 key set (0600), written by `connector init`; relative paths are relative to the config
    key_file: str | None = None
    # our credentials (the wallet); default: next to the key file, <name>.credentials.json
    credentials_file: str | None = None
    # the DIDs of the issuers whose credentials we accept
    trusted_issuers: list[str] = Field(default_factory=list)
    # resolve did:web:localhost%3APORT over plain http (development only)
    allow_insecure_did_web: bool = False
    # serve this issuer folder's DID document and status list (`connector issuer init`)
    issuer_dir: str | None = None
    token_ttl_seconds: int = 120
    # clock skew tolerated on token and credential times
    leeway_seconds: int = 10
    did_cache_seconds: float = 300.0
    # how long a fetched status list is trusted; a revocation takes at most this long to bite
    status_list_cache_seconds: float = 300.0
    # credential types every DSP caller must present in dcp mode
    required_credentials: list[str] = Field(default_factory=lambda: ["MembershipCredential"])
    # refuse agreements a provider has not signed (peers without keys cannot then agree with us)
    require_signed_agreements: bool = False


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
    # how long an EDR token (the pull consumer's key to our data plane) is valid
    edr_ttl_seconds: int = 300
    # the consumer's EDR cache: refresh an EDR this long before it expires; check STARTED pull
    # transfers for expired EDRs this often; terminate one whose refresh endpoint stays unreachable
    # this long after expiry (services.consumer_edrs)
    edr_refresh_margin_seconds: int = 30
    edr_sweep_seconds: float = 30.0
    edr_refresh_grace_seconds: int = 300
    dataplane: DataPlaneSettings = Field(default_factory=DataPlaneSettings)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    # names this replica's row leases; a restarted replica takes back what it held when it died.
    # Replicas sharing one PostgreSQL database need distinct node ids.
    node_id: str | None = None
    retry_limit: int = 7
    retry_base_seconds: float = 0.5

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgres")):
            raise ValueError("expected a sqlite:/// or postgresql:// URL")
        return value

    @property
    def public_url(self) -> str:
        return (self.server.public_url or f"http://{self.server.host}:{self.server.port}").rstrip("/")

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
    identity = data.get("identity")
    if isinstance(identity, dict):  # key, wallet and issuer paths are relative to the config file too
        for key in ("key_file", "credentials_file", "issuer_dir"):
            if isinstance(identity.get(key), str) and not Path(identity[key]).is_absolute():
                identity[key] = str(base / identity[key])
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
        annotation = field.annotation
        args = typing.get_args(annotation)
        model = args[0] if typing.get_origin(annotation) is list and args else annotation
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _where(loc: tuple) -> str:
    """A config location as the TOML reads: ``[identity] authmode``, ``[[peers]] #2 tokn``, ``api_key``."""
    parts = [p for p in loc]
    if len(parts) == 1:
        return str(parts[0])
    section = str(parts[0])
    if len(parts) >= 3 and isinstance(parts[1], int):
        return f"[[{section}]] #{parts[1] + 1} " + ".".join(str(p) for p in parts[2:])
    return f"[{section}] " + ".".join(str(p) for p in parts[1:])


def describe_error(error: dict) -> str:
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
