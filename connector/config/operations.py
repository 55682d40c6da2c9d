"""The config tables of running in production: ``[audit]``, ``[log]``, ``[metrics]``, ``[limits]``,
``[management]`` (staff keys and OIDC)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from .sections import _Section


class AuditSettings(_Section):
    """``[audit]``: the tamper-evident audit log (connector.services.audit)."""

    enabled: bool = True
    # the chain's head is signed with the [identity] key every this many entries (and on
    # `connector audit checkpoint`)
    checkpoint_every: int = Field(default=1000, ge=1)


class LogSettings(_Section):
    """``[log]``: how `connector serve` writes its log."""

    # "json": one object a line (time, level, logger, message, correlation_id) for a log shipper
    format: Literal["text", "json"] = "text"


class MetricsSettings(_Section):
    """``[metrics]``: Prometheus ``/metrics`` on the public port."""

    enabled: bool = True
    # /metrics needs a management key (X-Api-Key, or Authorization: Bearer <key> as Prometheus
    # sends it) because it shows business volumes; true serves it to anyone (a private scrape network)
    public: bool = False


class LimitsSettings(_Section):
    """``[limits]``: how much one peer may ask of us (``max_body_bytes`` caps each request's body)."""

    # DSP requests a second per peer (its participant id once authenticated, else its address), and
    # how many it may send at once after a quiet spell; beyond that: 429 with Retry-After (our own
    # worker retries a 429 later). 0, the default: no limit; 50 with a burst of 200 suits most companies
    peer_requests_per_second: float = Field(default=0.0, ge=0)
    peer_burst: int = Field(default=200, ge=1)


class StaffKey(_Section):
    """``[[management.keys]]``: one staff member's management key, stored as its hash only
    (``connector staff key`` makes a key and prints this entry)."""

    name: str = Field(min_length=1, max_length=128)
    role: Literal["admin", "operator", "read-only"]
    hash: str = Field(pattern=r"^sha256:[0-9a-f]{64}$", description="sha256:<hex> of the key")


class OidcSettings(_Section):
    """``[management.oidc]``: staff sign in at the company's identity provider and send its access
    token as ``Authorization: Bearer``; it is verified against the issuer's JWKS."""

    issuer: str = Field(min_length=1)
    audience: str = Field(min_length=1)
    jwks_url: str = Field(pattern=r"^https?://", description="where the issuer publishes its signing keys")
    # the claim that holds the caller's roles (a string or a list; dots reach into objects, as in
    # Keycloak's realm_access.roles), and which of its values mean which role here
    role_claim: str = "roles"
    role_map: dict[str, Literal["admin", "operator", "read-only"]] = Field(default_factory=dict)
    name_claim: str = "preferred_username"
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256", "EdDSA"])
    leeway_seconds: int = Field(default=30, ge=0)
    jwks_cache_seconds: float = Field(default=300.0, ge=0)


class ManagementSettings(_Section):
    """``[management]``: who may use the management API besides ``api_key`` (an admin)."""

    keys: list[StaffKey] = Field(default_factory=list)
    oidc: OidcSettings | None = None

    @field_validator("keys")
    @classmethod
    def _unique_names(cls, value: list[StaffKey]) -> list[StaffKey]:
        seen: set[str] = set()
        for key in value:
            if key.name in seen or key.name == "api_key":
                raise ValueError(f"name {key.name!r} is taken; each key needs its own name (the audit log shows it)")
            seen.add(key.name)
        return value
