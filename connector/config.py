"""Configuration: a TOML file per company, read into typed settings.

Environment variables prefixed ``PONTIS_`` override the file (``DATABASE_URL`` overrides the
database URL), so one file can serve on a laptop and in production.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DSP_VERSION = "2025-1"
DSP_PATH = "/api/dsp/2025-1"
MANAGEMENT_PATH = "/management"


class ConfigError(ValueError):
    """A configuration file that cannot be used, with the field and what was expected."""


class Peer(BaseModel):
    """Another company's connector that this one knows."""

    id: str = Field(description="the peer's participant id (DID or BPN)")
    token: str | None = Field(default=None, description="the static token this peer presents to us")
    dsp_url: str | None = Field(default=None, description="the peer's versioned DSP base")
    bpn: str | None = None
    claims: dict[str, Any] = Field(default_factory=dict)


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8181
    public_url: str | None = Field(default=None, description="the URL peers use to reach us")


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
    # serve the DSP TCK's consumer trigger endpoints under /tck (test profile only)
    tck: bool = False
    # outgoing transport: "aiohttp" (fast) or "httpx" (the stock transport, mockable by pytest-httpx)
    transport: str = "aiohttp"
    worker_batch: int = 64
    # how long an EDR token (the pull consumer's key to our data plane) is valid
    edr_ttl_seconds: int = 300
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
    if isinstance(database, dict) and "url" in database:
        data.setdefault("database_url", database["url"])
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
    try:
        return Settings(**data)
    except Exception as exc:  # pydantic's ValidationError: re-say it with the file's name
        raise ConfigError(f"{path}: {exc}") from exc
