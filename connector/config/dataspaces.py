"""The config tables of the other data spaces a company belongs to: ``[gaiax]`` and ``[profile]``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .sections import _Section


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
