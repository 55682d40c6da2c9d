"""The config tables of a connector's own work: server, peers, PACT, data plane, identity,
provenance. Every table refuses a key it does not know (``_Section``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


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
    # serve HTTPS with this certificate and key (PEM; relative paths are relative to the config)
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    # make a self-signed certificate for host/localhost at those paths when they are missing (development)
    tls_self_signed: bool = False
    # finished outgoing DSP messages and the stored answers to received ones are kept this long
    # (a peer replaying a message within the window gets the stored answer), then pruned
    replay_window_hours: float = Field(default=168.0, gt=0)

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert_file and self.tls_key_file)


class PactClient(_Section):
    """``[[pact.clients]]``: one PACT client (a customer's tool), tied to that customer's BPN, so it
    sees what that BPN's policies allow and nothing else."""

    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=16)
    bpn: str = Field(pattern=r"^BPNL[0-9A-Za-z]{12}$")
    # where asynchronous requests are answered: the client's own PACT events endpoint (…/3/events) and
    # the credentials its token endpoint (default: <that host>/auth/token) gives us
    events_url: str | None = None
    events_auth_url: str | None = None
    events_client_id: str | None = None
    events_client_secret: str | None = None


class PactSettings(_Section):
    """``[pact]``: the PACT API (/auth/token, /2 and /3 footprints and events) for PACT tools."""

    clients: list[PactClient] = Field(default_factory=list)
    token_ttl_seconds: int = Field(default=3600, ge=60)
    # PACT requires HTTPS; true serves it over plain HTTP too (only behind a TLS-terminating proxy)
    allow_http: bool = False
    # footprints (a JSON array, any version `connector pcf import` reads) published at start if not yet
    # published, and a file that gets {"base_url", "client_id", "client_secret"} of the first client
    # once the API answers: for examples and conformance tools. Relative to the config file.
    footprints_file: str | None = None
    endpoints_file: str | None = None

    @field_validator("clients")
    @classmethod
    def _unique_clients(cls, value: list[PactClient]) -> list[PactClient]:
        seen: set[str] = set()
        for client in value:
            if client.client_id in seen:
                raise ValueError(f"client_id {client.client_id!r} appears twice; one entry per client")
            seen.add(client.client_id)
        return value


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
    # the key that signs EDR tokens, 0600 (default: next to the [identity] key file, or next to the
    # SQLite database; PONTIS_EDR_SIGNING_KEY overrides it). Relative paths: to the config file
    edr_key_file: str | None = None
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
                    raise ValueError(f"allowlist entry {entry!r}: expected a host name, an IP address or a CIDR") from None
        return value


AUTH_MODES = ("static-token", "dcp", "dcp-embedded")


class IdentitySettings(_Section):
    """``[identity]``: our keys and credentials, and how DSP callers are authenticated.

    The key-file passphrase is never configured here: it comes from ``PONTIS_KEY_PASSPHRASE``.
    """

    # "static-token" (dev, tests, the TCK profile); "dcp" (DCP v1.0: self-issued ID tokens whose access
    # token lets the verifier query our Credential Service, connector.identity.presentation); or
    # "dcp-embedded" (our peers only: the whole presentation inside the token, connector.identity.dcp)
    auth_mode: str = "static-token"
    # DCP: an external Secure Token Service (OAuth2 client credentials, POST form to this URL) instead
    # of the built-in one; its client secret comes from $PONTIS_STS_CLIENT_SECRET, never from here
    sts_url: str | None = None
    sts_client_id: str | None = None
    # DCP: what we ask a caller's Credential Service for: "jwt" (scopes, a vp+jwt: what Tractus-X
    # wallets answer) or "ldp" (a presentation definition asking a Data Integrity presentation)
    presentation_format: Literal["jwt", "ldp"] = "jwt"
    # DCP: the presentation profiles accepted from callers and presented in by our Credential Service
    # ("vc11-sl2021/jwt", "vc20-bssl/jwt"); unset: vc11-sl2021/jwt alone under [profile] dataspace =
    # "factory-x" (Factory-X ADR 003), both otherwise
    presentation_profiles: list[str] | None = None
    # our Ed25519 key set (0600), written by `connector init`; relative paths are relative to the config
    key_file: str | None = None
    # create key_file (0600) at start when it is missing: for examples and development setups
    generate_key: bool = False
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
    # every offer in our catalog carries our proof in this suite ("off": unsigned offers)
    offer_cryptosuite: Literal["eddsa-jcs-2022", "eddsa-rdfc-2022", "off"] = "eddsa-jcs-2022"
    # as consumer, an offer's proof is checked before we negotiate: "require" (unsigned offers are
    # refused), "verify-if-present" or "ignore"
    offer_verification: Literal["require", "verify-if-present", "ignore"] = "verify-if-present"

    @field_validator("auth_mode")
    @classmethod
    def _known_auth_mode(cls, value: str) -> str:
        if value not in AUTH_MODES:
            import difflib

            near = difflib.get_close_matches(value, AUTH_MODES, n=1, cutoff=0.3)
            hint = f"did you mean {near[0]!r}?" if near else f"expected one of {', '.join(AUTH_MODES)}"
            raise ValueError(f"unknown auth_mode {value!r}; {hint}")
        return value

    @field_validator("presentation_profiles")
    @classmethod
    def _known_profiles(cls, value: list[str] | None) -> list[str] | None:
        import difflib

        from connector.identity.vc11 import PROFILES

        for profile in value or []:
            if profile not in PROFILES:
                near = difflib.get_close_matches(profile, PROFILES, n=1, cutoff=0.3)
                hint = f"did you mean {near[0]!r}? " if near else ""
                raise ValueError(f"unknown DCP presentation profile {profile!r}; {hint}expected one of "
                                 f"{', '.join(PROFILES)}")
        if value is not None and not value:
            raise ValueError(f"presentation_profiles is empty: name at least one of {', '.join(PROFILES)}")
        return value

    @property
    def dcp(self) -> bool:
        """Either DCP mode: callers are known by their DIDs and credentials."""
        return self.auth_mode in ("dcp", "dcp-embedded")
    # DCP issuance (connector.identity.holder): ask the issuer for a fresh credential this many days
    # before a held one expires (0: never), checking every credential_check_seconds
    credential_renewal_days: float = Field(default=30.0, ge=0)
    credential_check_seconds: float = Field(default=3600.0, gt=0)
    # a BPN-DID directory (Catena-X BDRS API, e.g. an issuer's .../api/directory) for partners' DIDs
    # by BPN beyond [[peers]]; fetched with our MembershipCredential and cached this long
    bpn_directory_url: str | None = None
    bpn_directory_cache_seconds: float = Field(default=600.0, gt=0)


class ProvenanceSettings(_Section):
    """``[provenance]``: traversal jobs (connector.provenance): how long they and their calls may take."""

    model_config = {"extra": "forbid"}

    # a job still running after this is ended (ERROR) with what it had found; unreached parts become tombstones
    job_deadline_seconds: float = 120.0
    # each call to a peer (catalog, registry, submodel) and each negotiation wait
    call_timeout_seconds: float = 10.0
    negotiation_timeout_seconds: float = 30.0
    # a relationship aspect naming more children than this is not followed (the node gets a tombstone)
    max_children_per_node: int = Field(default=10_000, ge=1)
    # answers larger than this are refused (bytes)
    max_answer_bytes: int = Field(default=32 << 20, ge=1024)
    # calls in flight per job, and jobs run at once by this connector
    concurrency: int = Field(default=32, ge=1)
    jobs_at_once: int = Field(default=4, ge=1)
