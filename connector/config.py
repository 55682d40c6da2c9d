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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
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


class GaiaxSettings(_Section):
    """``[gaiax]``: our Gaia-X participant credentials (connector.gaiax) and whose labels we trust.
    Relative paths are relative to the config file."""

    # our P-256 key (PKCS#8 PEM, 0600) and its certificate chain (PEM, leaf first), served at
    # /.well-known/x509CertificateChain.pem and named by the key's x5u in our DID document
    key_file: str
    chain_file: str
    # the LegalPerson: name, legal and headquarters country (ISO 3166-1), optional locality
    legal_name: str = Field(min_length=1)
    country_code: str = Field(pattern=r"^([A-Z]{2}|[A-Z]{3}|[0-9]{3})$")
    headquarters_country_code: str | None = Field(default=None, pattern=r"^([A-Z]{2}|[A-Z]{3}|[0-9]{3})$")
    locality: str | None = None
    # the registration number the Notary checks: vat-id, lei-code, eori, euid or tax-id
    registration_number_kind: Literal["vat-id", "lei-code", "eori", "euid", "tax-id"] = "vat-id"
    registration_number: str = Field(min_length=1)
    # SHA-256 of the Gaia-X Terms & Conditions (the 25.11 shapes allow two values; this is the current one)
    terms_and_conditions_hash: str = "067dcac5efd18c1927deb1ffed3feab6d0ad044c0a9a263e6d5d8bdc43224515"
    # the GXDCH services (e.g. https://www.delta-dao.com/notary/v2, …/compliance/v2, …/registry/v2)
    notary_url: str
    compliance_url: str
    registry_url: str
    # standard-compliance, label-level-1, label-level-2 or label-level-3
    compliance_level: Literal["standard-compliance", "label-level-1", "label-level-2", "label-level-3"] = \
        "standard-compliance"
    # how long our self-issued credentials are valid, and how long before the label's validUntil we renew
    credential_validity_days: int = Field(default=90, ge=1)
    renew_before_days: int = Field(default=14, ge=0)
    # partners' labels: the compliance-service DIDs whose labels we accept, and how a label's digestSRI
    # of a credential is computed ("jwt": SHA-256 of the compact VC-JWT; "jcs": of the JCS payload)
    trusted_label_issuers: list[str] = Field(default_factory=list)
    digest: Literal["jwt", "jcs"] = "jwt"
    # the official 25.11 shapes and ontology (gx.shacl.ttl, gx.owl.ttl) instead of Pontis's subset
    shapes_file: str | None = None
    ontology_file: str | None = None
    timeout_seconds: float = Field(default=60.0, gt=0)


class ProfileSettings(_Section):
    """``[profile]``: which data spaces' conventions the connector follows where they differ.

    "catena-x" (default): the Digital Twin Registry as Catena-X uses it (AAS 3.1 profiles; a
    submodel endpoint answers the aspect's value-only JSON at ``/submodel``). "factory-x": the
    MX-Port (Hercules) profile (connector.factoryx): AAS 3.0.3 Registry SSP-002 + Discovery SSP-001
    announced, ``/submodel`` answers an IDTA-01002-3-0-3 Submodel, ``/submodel/$value`` the value-only
    JSON. "both": both profile sets announced; ``/submodel`` stays value-only (Catena-X clients read it),
    ``/submodel/$value`` too. Policies accept the Gaia-X and Factory-X operands in every profile."""

    dataspace: Literal["catena-x", "factory-x", "both"] = "catena-x"


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
    # this long after expiry (services.consumer_edrs)
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
