"""The Gaia-X credentials Pontis issues about itself, built from ``[gaiax]`` and the catalog.

- ``gx:LegalPerson`` (self-signed) and ``gx:Issuer`` with the T&C hash (self-signed), research §1.4;
- the registration-number request for the Notary (kind, value, the VC id and subject id to use);
- ``gx:ServiceOffering`` for the connector itself (the DSP endpoint) and one ``gx:DataProduct`` per
  offered asset, research §2.2 (our mapping: no public profile fixes it).

Every credential gets its own id ``<public url>/gaiax/credentials/<name>.json`` (served there once
stored) and its subject ``<id>#cs``. anyURI fields are typed values (research §1.4.4 trap 3).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .jose import GX_CONTEXT, VC_V2_CONTEXT

CREDENTIALS_PATH = "/gaiax/credentials"
EXTRA_PREFIXES = {"schema": "https://schema.org/", "vcard": "http://www.w3.org/2006/vcard/ns#",
                  "dcterms": "http://purl.org/dc/terms/", "dcat": "http://www.w3.org/ns/dcat#"}
CONTEXT = [VC_V2_CONTEXT, GX_CONTEXT, EXTRA_PREFIXES]
DSP_SPEC = "https://eclipse-dataspace-protocol-base.github.io/DataspaceProtocol/2025-1/"
# the class each Notary path issues (research §1.4.2)
REGISTRATION_TYPES = {"vat-id": "gx:VatID", "lei-code": "gx:LeiCode", "eori": "gx:EORI", "euid": "gx:EUID",
                      "tax-id": "gx:TaxID"}
REGISTRATION_KEYS = {"vat-id": "gx:vatID", "lei-code": "schema:leiCode", "eori": "gx:eori", "euid": "gx:euid",
                     "tax-id": "schema:taxID"}


def stamp(when: datetime) -> str:
    """An XML Schema dateTimeStamp in UTC, to the second (validFrom, validUntil)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def any_uri(value: str) -> dict[str, str]:
    return {"@value": value, "@type": "xsd:anyURI"}


@dataclass(frozen=True)
class Issuing:
    """Who issues and when: our DID, where our credentials are served, the clock, and their validity."""

    did: str
    public_url: str
    now: datetime
    validity_days: int = 90

    def new_id(self, name: str) -> str:
        return f"{self.public_url.rstrip('/')}{CREDENTIALS_PATH}/{name}-{uuid.uuid4().hex[:12]}.json"

    def credential(self, gx_type: str, name: str, subject: dict[str, Any]) -> dict[str, Any]:
        vc_id = self.new_id(name)
        return {"@context": CONTEXT, "type": ["VerifiableCredential", gx_type], "id": vc_id, "issuer": self.did,
                "validFrom": stamp(self.now), "validUntil": stamp(self.now + timedelta(days=self.validity_days)),
                "credentialSubject": {"id": vc_id + "#cs", "type": gx_type, **subject}}


def _address(country: str, locality: str | None = None) -> dict[str, Any]:
    address: dict[str, Any] = {"type": "gx:Address", "gx:countryCode": country}
    if locality:
        address["vcard:locality"] = locality
    return address


def legal_person(issuing: Issuing, gx: Any, registration_subject_id: str) -> dict[str, Any]:
    """``gx:LegalPerson``: name, legal and headquarters address, and the link to the Notary's
    registration-number subject (the id we passed as ``subjectId``)."""
    return issuing.credential("gx:LegalPerson", "legal-person", {
        "schema:name": gx.legal_name,
        "gx:registrationNumber": {"id": registration_subject_id},
        "gx:legalAddress": _address(gx.country_code, gx.locality),
        "gx:headquartersAddress": _address(gx.headquarters_country_code or gx.country_code),
    })


def terms_issuer(issuing: Issuing, terms_hash: str) -> dict[str, Any]:
    """``gx:Issuer``: we accept the Gaia-X Terms & Conditions (their SHA-256)."""
    return issuing.credential("gx:Issuer", "issuer", {"gx:gaiaxTermsAndConditions": terms_hash})


@dataclass(frozen=True)
class RegistrationRequest:
    kind: str
    value: str
    vc_id: str

    @property
    def subject_id(self) -> str:
        return self.vc_id + "#cs"


def registration_request(issuing: Issuing, gx: Any) -> RegistrationRequest:
    return RegistrationRequest(gx.registration_number_kind, gx.registration_number, issuing.new_id("registration"))


def service_offering(issuing: Issuing, provider_subject_id: str, dsp_url: str, terms_url: str,
                     terms_hash: str, name: str) -> dict[str, Any]:
    """The connector as a ``gx:ServiceOffering``: provided by our LegalPerson, its endpoint the DSP base."""
    return issuing.credential("gx:ServiceOffering", "service-offering", {
        "schema:name": name,
        "gx:providedBy": {"id": provider_subject_id},
        "gx:serviceOfferingTermsAndConditions": {"type": "gx:TermsAndConditions", "gx:url": any_uri(terms_url),
                                                 "gx:hash": terms_hash},
        "gx:endpoint": {"type": "gx:Endpoint", "gx:endpointURL": any_uri(dsp_url), "gx:standardConformity": [
            {"type": "gx:StandardConformity", "dcterms:title": "Dataspace Protocol 2025-1",
             "gx:standardReference": any_uri(DSP_SPEC)}]},
        "gx:servicePolicy": {"type": "gx:AccessUsagePolicy", "gx:policyLanguage": "ODRL",
                             "gx:policyDocument": dsp_url.rstrip("/") + "/catalog/request"},
    })


def asset_title(properties: dict[str, Any], asset_id: str) -> tuple[str, str]:
    """A dataset's name and description from an asset's properties (EDC or DCT spellings)."""
    def first(*keys: str) -> str | None:
        for key in keys:
            value = properties.get(key)
            if isinstance(value, str) and value.strip():
                return value
        return None
    edc = "https://w3id.org/edc/v0.0.1/ns/"
    name = first("name", edc + "name", "dct:title", "http://purl.org/dc/terms/title") or asset_id
    description = first("description", edc + "description", "dct:description",
                        "http://purl.org/dc/terms/description") or f"dataset {asset_id} offered over DSP"
    return name, description


def data_product(issuing: Issuing, provider_subject_id: str, dsp_url: str, asset_id: str,
                 properties: dict[str, Any], terms_url: str, terms_hash: str) -> dict[str, Any]:
    """One offered asset as a ``gx:DataProduct``; ``dcat:Dataset`` holds the DSP dataset IRI."""
    name, description = asset_title(properties, asset_id)
    terms = {"gx:url": any_uri(terms_url), "gx:hash": terms_hash}
    return issuing.credential("gx:DataProduct", "data-product", {
        "gx:digitalServiceOfferingName": name,
        "gx:digitalServiceOfferingShortDescription": description,
        "gx:digitalServiceOfferingProvider": {"id": provider_subject_id},
        "gx:digitalServiceOfferingIdentifier": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{dsp_url}#{asset_id}")),
        "gx:digitalServiceOfferingLaunchDate": issuing.now.date().isoformat(),
        "gx:digitalServiceOfferingTermsAndConditions": {"type": "gx:ServiceTermsAndConditions", **terms},
        "gx:digitalServiceUsageTermsAndConditions": {"type": "gx:UsageTermsAndConditions", **terms},
        "gx:digitalServiceUsageDataPolicy": {"type": "gx:TermsAndConditions", **terms},
        "gx:digitalServiceLegalDocuments": {"type": "gx:LegalDocument", "gx:url": any_uri(terms_url)},
        "gx:dataProductDescription": {
            "type": "gx:DataProductDescription",
            "dcat:Dataset": f"{dsp_url.rstrip('/')}/catalog/datasets/{asset_id}",
            "gx:dataProductConfigurationParameters": {
                "type": "gx:DataProductConfigurationParameter", "gx:parameterName": "access",
                "gx:parameterDescription": "negotiated over the Dataspace Protocol; the offer's ODRL policy applies",
                "gx:parameterAdmissibleValues": "HttpData-PULL"}},
    })


def subjects_of(credentials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The credential subjects (what the shapes check; never the envelopes)."""
    out: list[dict[str, Any]] = []
    for credential in credentials:
        subject = credential.get("credentialSubject")
        out += subject if isinstance(subject, list) else [subject] if isinstance(subject, dict) else []
    return out


def types_of(credential: dict[str, Any]) -> list[str]:
    value = credential.get("type")
    return [t for t in (value if isinstance(value, list) else [value]) if isinstance(t, str)]
