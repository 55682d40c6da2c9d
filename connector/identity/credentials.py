"""Verifiable credentials (VC Data Model 2.0): the Catena-X ones, secured two ways, and their checks.

**Credentials** (:func:`build_credential`), after tractusx's shapes, with
``@context: ["https://www.w3.org/ns/credentials/v2", {<inline Catena-X terms>}]``: the inline
context (:data:`CX_CREDENTIALS_CONTEXT`) maps the types and subject terms into
``https://w3id.org/catenax/credentials/``. It is inline because the pinned credentials v2
context has no ``@vocab`` and the Catena-X context URL is not among our pinned contexts; Data
Integrity signing and verification of credentials therefore allow inline contexts (still with
the undefined-term and relative-IRI checks):

- ``MembershipCredential``: subject ``{id, holderIdentifier: <BPN>?, memberOf: "Catena-X"}``
  (backs ``Membership eq active``);
- ``BpnCredential``: subject ``{id, holderIdentifier: <BPN>, bpn: <BPN>}`` (``BusinessPartnerNumber``);
- ``DataExchangeGovernanceCredential``: subject ``{id, holderIdentifier?, group: "UseCaseFramework",
  useCase: "DataExchangeGovernance", contractTemplate, contractVersion: "1.0"}``
  (``FrameworkAgreement eq DataExchangeGovernance:1.0``).

**Securing**: as ``vc+jwt`` (VC-JOSE-COSE: the JWS payload *is* the credential JSON; header
``alg: EdDSA``, ``typ: vc+jwt``, ``cty: vc``, ``kid`` = the issuer's full DID URL), which DCP
presentations carry; and with an ``eddsa-rdfc-2022`` Data Integrity proof (``proofPurpose:
assertionMethod``). :func:`verify_credential` accepts either, or an
``EnvelopedVerifiableCredential`` (``data:application/vc+jwt,<jws>``).

**Revocation**: W3C Bitstring Status List. Each credential has a ``credentialStatus`` of type
``BitstringStatusListEntry`` (``statusPurpose: revocation``, ``statusListIndex``,
``statusListCredential`` = the URL the issuer publishes). That URL serves a
``BitstringStatusListCredential`` as ``vc+jwt``, signed by the same issuer; its subject's
``encodedList`` is ``"u" + base64url(gzip(bits))`` over at least 131,072 bits, bit 0 being the
most significant bit of the first byte; a set bit means revoked. :class:`StatusLists` fetches
(https, or http to localhost when allowed), verifies and caches lists for a TTL; an unreachable
or invalid list fails the credential (fail closed).

Checks, in order (each failure is a :class:`CredentialError` with a ``code``): issuer trusted
(before anything is fetched, so a token cannot make us fetch arbitrary URLs), signature by a
method in the issuer's ``assertionMethod`` whose controller is the issuer, context and types,
``validFrom``/``validUntil`` (with a leeway), subject == the holder, status.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .contexts import CREDENTIALS_V2, SigningContextLoader
from .dataintegrity import RDFC, sign, verify
from .did import CredentialError, DidResolver, IdentityError
from .jws import did_of, jws_encode, jws_unverified, jws_verify
from .keys import SigningKey
from .status_list import bit_is_set, decode_status_list, encode_status_list, set_bit
from .vc11 import VC11, open_vc11

__all__ = ["CredentialError", "bit_is_set", "decode_status_list", "did_of", "encode_status_list", "jws_encode",
           "jws_unverified", "jws_verify", "set_bit"]  # and what is defined here

MEMBERSHIP, BPN, DEG = "MembershipCredential", "BpnCredential", "DataExchangeGovernanceCredential"
CREDENTIAL_TYPES = {"Membership": MEMBERSHIP, "Bpn": BPN, "DataExchangeGovernance": DEG}
STATUS_LIST_BITS = 131072
STATUS_ENTRY_TYPES = {"BitstringStatusListEntry": "BitstringStatusListCredential",
                      "StatusList2021Entry": "StatusList2021Credential"}
VC_JWT_TYPES = ("vc+jwt", "vc+ld+json+jwt")  # the second is VC-JOSE-COSE drafts', still seen
ENVELOPED_PREFIX = "data:application/vc+jwt,"
DEFAULT_LEEWAY = timedelta(seconds=60)
GOVERNANCE_TEMPLATE = "https://catenax-ev.github.io/docs/regulatory-framework/governance-framework"
CX_CREDENTIALS_NS = "https://w3id.org/catenax/credentials/"
# Inline, so that every JSON-LD processor reads the credentials alike without fetching anything:
# the pinned credentials v2 context has no @vocab, and the Catena-X context URL is not pinned here.
CX_CREDENTIALS_CONTEXT: dict[str, Any] = {
    "cx": CX_CREDENTIALS_NS,
    **{t: f"cx:{t}" for t in (MEMBERSHIP, BPN, DEG, "holderIdentifier", "bpn", "memberOf", "group", "useCase",
                              "contractVersion")},
    "contractTemplate": {"@id": "cx:contractTemplate", "@type": "@id"},
}


# --- time -----------------------------------------------------------------------------------

def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Any, what: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise CredentialError(f"{what} {value!r} is not a dateTimeStamp") from None
    if parsed.tzinfo is None:
        raise CredentialError(f"{what} {value!r} has no time zone")
    return parsed


# --- building and securing -------------------------------------------------------------------------

def build_credential(kind: str, *, issuer: str, subject: str, bpn: str | None = None,
                     contract_version: str = "1.0", dataspace: str = "Catena-X", credential_id: str,
                     valid_from: datetime, valid_until: datetime | None,
                     status: dict | None = None) -> dict[str, Any]:
    """An unsecured credential of ``kind`` (a full type name, or Membership / Bpn / DataExchangeGovernance)."""
    type_ = CREDENTIAL_TYPES.get(kind, kind)
    claims: dict[str, Any] = {"id": subject}
    if bpn:
        claims["holderIdentifier"] = bpn
    if type_ == MEMBERSHIP:
        claims["memberOf"] = dataspace
    elif type_ == BPN:
        if not bpn:
            raise CredentialError("a BpnCredential needs a BPN (--bpn)")
        claims["bpn"] = bpn
    elif type_ == DEG:
        claims.update({"group": "UseCaseFramework", "useCase": "DataExchangeGovernance",
                       "contractTemplate": GOVERNANCE_TEMPLATE, "contractVersion": contract_version})
    else:
        raise CredentialError(f"unknown credential type {kind!r} (one of {', '.join(CREDENTIAL_TYPES)})")
    credential: dict[str, Any] = {"@context": [CREDENTIALS_V2, CX_CREDENTIALS_CONTEXT], "id": credential_id,
                                  "type": ["VerifiableCredential", type_], "issuer": issuer,
                                  "validFrom": format_time(valid_from)}
    if valid_until is not None:
        credential["validUntil"] = format_time(valid_until)
    credential["credentialSubject"] = claims
    if status is not None:
        credential["credentialStatus"] = status
    return credential


def secure_jwt(credential: dict, key: SigningKey, kid: str) -> str:
    """The credential as ``vc+jwt``; ``kid`` is the issuer's method (its JsonWebKey twin)."""
    return jws_encode(credential, key, typ="vc+jwt", cty="vc", kid=kid)


def secure_data_integrity(credential: dict, key: SigningKey, *, created: str | None = None,
                          loader: SigningContextLoader | None = None) -> dict:
    """The credential with an ``eddsa-rdfc-2022`` proof by ``key`` (its Multikey method)."""
    return sign(credential, key, cryptosuite=RDFC, proof_purpose="assertionMethod", created=created, loader=loader,
                allow_inline_contexts=True)


def enveloped(jwt: str) -> dict[str, str]:
    return {"id": ENVELOPED_PREFIX + jwt, "type": "EnvelopedVerifiableCredential"}


# --- bitstring status lists (the bits themselves: status_list) ----------------------------------

def status_entry(list_url: str, index: int, purpose: str = "revocation") -> dict[str, str]:
    return {"id": f"{list_url}#{index}", "type": "BitstringStatusListEntry", "statusPurpose": purpose,
            "statusListIndex": str(index), "statusListCredential": list_url}


def status_list_credential(issuer: str, list_url: str, bits: bytes, *, valid_from: datetime,
                           purpose: str = "revocation") -> dict[str, Any]:
    return {"@context": [CREDENTIALS_V2], "id": list_url,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"], "issuer": issuer,
            "validFrom": format_time(valid_from),
            "credentialSubject": {"id": f"{list_url}#list", "type": "BitstringStatusList",
                                  "statusPurpose": purpose, "encodedList": encode_status_list(bits)}}


# --- verification -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class VerifiedCredential:
    id: str | None
    types: tuple[str, ...]
    issuer: str
    subject: dict[str, Any]
    valid_until: str | None
    secured_as: str
    credential: dict[str, Any] = field(repr=False, default_factory=dict)


def _issuer_of(credential: dict) -> str:
    issuer = credential.get("issuer")
    issuer = issuer.get("id") if isinstance(issuer, dict) else issuer
    if not isinstance(issuer, str) or not issuer.startswith("did:"):
        raise CredentialError(f"the credential's issuer {issuer!r} is not a DID", code="malformed")
    return issuer


def _check_shape(credential: dict, now: datetime, leeway: timedelta) -> tuple[str, ...]:
    ctx = credential.get("@context")
    if not isinstance(ctx, list) or not ctx or ctx[0] != CREDENTIALS_V2:
        raise CredentialError(f"the credential's @context must start with {CREDENTIALS_V2}", code="malformed")
    types = credential.get("type")
    types = types if isinstance(types, list) else [types]
    if "VerifiableCredential" not in types:
        raise CredentialError("the credential's type does not include VerifiableCredential", code="malformed")
    if not isinstance(credential.get("credentialSubject"), (dict, list)):
        raise CredentialError("the credential has no credentialSubject", code="malformed")
    what = f"credential {credential.get('id') or ''}".strip()
    if "validFrom" in credential and parse_time(credential["validFrom"], "validFrom") > now + leeway:
        raise CredentialError(f"{what} is not valid before {credential['validFrom']}", code="not_yet_valid")
    if "validUntil" in credential and parse_time(credential["validUntil"], "validUntil") < now - leeway:
        raise CredentialError(f"{what} expired at {credential['validUntil']}", code="expired")
    return tuple(t for t in types if isinstance(t, str) and t != "VerifiableCredential")


def _unwrap(secured: Any) -> Any:
    if isinstance(secured, dict) and secured.get("type") == "EnvelopedVerifiableCredential":
        value = secured.get("id", "")
        if not isinstance(value, str) or not value.startswith(ENVELOPED_PREFIX):
            raise CredentialError(f"an EnvelopedVerifiableCredential's id must start with {ENVELOPED_PREFIX}",
                                  code="malformed")
        return value[len(ENVELOPED_PREFIX):]
    return secured


def open_credential(secured: Any, resolver: DidResolver, *, trusted_issuers: Iterable[str] | None,
                    now: datetime, leeway: timedelta = DEFAULT_LEEWAY,
                    loader: SigningContextLoader | None = None) -> tuple[dict, str]:
    """Check issuer trust, signature, shape and validity period; returns (credential, how it was secured).
    ``trusted_issuers`` None trusts any issuer (offline inspection only)."""
    trusted = None if trusted_issuers is None else set(trusted_issuers)
    secured = _unwrap(secured)
    if isinstance(secured, str) and isinstance(jws_unverified(secured, "credential JWT")[1].get("vc"), dict):
        return open_vc11(secured, resolver, trusted=trusted, now=now, leeway=leeway), VC11
    if isinstance(secured, str):
        header, credential = jws_unverified(secured, "vc+jwt")
        if header.get("typ") not in VC_JWT_TYPES:
            raise CredentialError(f"the credential JWT has typ {header.get('typ')!r}, not vc+jwt", code="malformed")
        issuer = _issuer_of(credential)
        if trusted is not None and issuer not in trusted:
            raise CredentialError(f"issuer {issuer} is not a trusted issuer", code="untrusted_issuer")
        if did_of(header.get("kid"), "vc+jwt") != issuer:
            raise CredentialError(f"the credential is signed by {header['kid']}, not by its issuer {issuer}",
                                  code="bad_signature")
        if "iss" in credential and credential["iss"] != issuer:
            raise CredentialError("the vc+jwt iss differs from the credential's issuer", code="malformed")
        try:
            jws_verify(secured, resolver.public_key(header["kid"], "assertionMethod"), "vc+jwt")
        except IdentityError as exc:
            raise CredentialError(f"credential from {issuer}: {exc.reason}", code=exc.code) from None
        form = "vc+jwt"
    elif isinstance(secured, dict) and "proof" in secured:
        credential = secured
        issuer = _issuer_of(credential)
        if trusted is not None and issuer not in trusted:
            raise CredentialError(f"issuer {issuer} is not a trusted issuer", code="untrusted_issuer")
        proofs = secured["proof"] if isinstance(secured["proof"], list) else [secured["proof"]]
        signers = {str(p.get("verificationMethod", "")).split("#", 1)[0] for p in proofs if isinstance(p, dict)}
        if signers != {issuer}:
            raise CredentialError(f"the credential's proof is by {sorted(signers)}, not by its issuer {issuer}",
                                  code="bad_signature")
        result = verify(secured, resolver.resolve_key, proof_purpose="assertionMethod", loader=loader,
                        allow_inline_contexts=True)
        if not result.ok:
            raise CredentialError(f"credential from {issuer}: {result.reason}", code="bad_signature")
        credential = {k: v for k, v in secured.items() if k != "proof"}
        form = "+".join(sorted({str(p.get("cryptosuite")) for p in proofs}))
    else:
        raise CredentialError("not a secured credential (expected a vc+jwt, an EnvelopedVerifiableCredential "
                              "or a JSON credential with a Data Integrity proof)", code="malformed")
    _check_shape(credential, now, leeway)
    return credential, form


class StatusLists:
    """Fetches, verifies and caches issuers' status lists (thread-safe)."""

    def __init__(self, resolver: DidResolver, *, ttl_seconds: float = 300.0,
                 clock=time.monotonic) -> None:
        self.resolver = resolver
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._cache: dict[tuple[str, str, str], tuple[float, bytes]] = {}  # (url, issuer, purpose + kind)
        self._lock = threading.Lock()

    def check(self, entry: Any, issuer: str, now: datetime, what: str = "the credential") -> None:
        """Bitstring Status List (vc20-bssl) or StatusList2021 (vc11-sl2021) entries."""
        if not isinstance(entry, dict) or entry.get("type") not in STATUS_ENTRY_TYPES:
            kind = entry.get("type") if isinstance(entry, dict) else entry
            raise CredentialError(f"{what} has a credentialStatus of unsupported type {kind!r}", code="status_unavailable")
        url, purpose = entry.get("statusListCredential"), entry.get("statusPurpose")
        try:
            index = int(entry["statusListIndex"])
        except (KeyError, TypeError, ValueError):
            raise CredentialError(f"{what}: statusListIndex is not an integer", code="malformed") from None
        if not isinstance(url, str) or purpose not in ("revocation", "suspension"):
            raise CredentialError(f"{what}: credentialStatus needs statusListCredential and a revocation or "
                                  "suspension statusPurpose", code="malformed")
        bits = self._bits(url, issuer, purpose, now, STATUS_ENTRY_TYPES[entry["type"]])
        if not 0 <= index < len(bits) * 8:
            raise CredentialError(f"{what}: status index {index} is outside the list", code="malformed")
        if bit_is_set(bits, index):
            state = "revoked" if purpose == "revocation" else "suspended"
            raise CredentialError(f"{what} is {state} (status list {url}, index {index})", code=state)

    def _bits(self, url: str, issuer: str, purpose: str, now: datetime,
              kind: str = "BitstringStatusListCredential") -> bytes:
        key = (url, issuer, purpose + " " + kind)
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[0] > self.clock():
            return hit[1]
        try:
            body = self.resolver.fetch(url).decode("utf-8").strip()
            secured = json.loads(body) if body.startswith("{") else body
            listed, _ = open_credential(secured, self.resolver, trusted_issuers=[issuer], now=now)
        except (IdentityError, UnicodeDecodeError, ValueError) as exc:
            reason = getattr(exc, "reason", str(exc))
            raise CredentialError(f"status list {url} cannot be used: {reason}", code="status_unavailable") from None
        subject = listed.get("credentialSubject")
        types = listed.get("type") or []
        if kind not in types or not isinstance(subject, dict) or subject.get("statusPurpose") != purpose:
            raise CredentialError(f"{url} is not a {purpose} {kind}", code="status_unavailable")
        encoded = subject.get("encodedList")
        # StatusList2021 has plain base64 (issuers write either alphabet); Bitstring Status List the
        # multibase 'u' before base64url
        if kind == "StatusList2021Credential" and isinstance(encoded, str):
            encoded = "u" + encoded.translate(str.maketrans("+/", "-_"))
        bits = decode_status_list(encoded)
        with self._lock:
            self._cache[key] = (self.clock() + self.ttl_seconds, bits)
        return bits


def verify_credential(secured: Any, resolver: DidResolver, *, trusted_issuers: Iterable[str],
                      status_lists: StatusLists | None, holder: str | None = None,
                      now: datetime | None = None, leeway: timedelta = DEFAULT_LEEWAY,
                      loader: SigningContextLoader | None = None) -> VerifiedCredential:
    """Everything a verifier checks about one credential; raises :class:`CredentialError`.
    ``status_lists`` None skips revocation (offline inspection only)."""
    now = now or utcnow()
    credential, form = open_credential(secured, resolver, trusted_issuers=trusted_issuers, now=now,
                                       leeway=leeway, loader=loader)
    issuer = _issuer_of(credential)
    listed = credential.get("type")
    types = _check_shape(credential, now, leeway) if form != VC11 else tuple(
        t for t in (listed if isinstance(listed, list) else [listed]) if isinstance(t, str) and t != "VerifiableCredential")
    subjects = credential["credentialSubject"]
    subject = subjects[0] if isinstance(subjects, list) and subjects else subjects
    what = f"{'/'.join(types) or 'credential'} {credential.get('id') or ''}".strip()
    if holder is not None and (not isinstance(subject, dict) or subject.get("id") != holder):
        got = subject.get("id") if isinstance(subject, dict) else None
        raise CredentialError(f"{what} is about {got}, not about the caller {holder}", code="subject_mismatch")
    if status_lists is not None:
        statuses = credential.get("credentialStatus")
        for entry in statuses if isinstance(statuses, list) else ([statuses] if statuses else []):
            status_lists.check(entry, issuer, now, what)
    return VerifiedCredential(credential.get("id"), types, issuer, subject if isinstance(subject, dict) else {},
                              credential.get("validUntil") or credential.get("expirationDate"), form, credential)


def participant_claims(credentials: Iterable[VerifiedCredential]) -> dict[str, Any]:
    """The policy engine's claims (connector.policy.evaluation) from verified credentials."""
    credentials = list(credentials)
    claims: dict[str, Any] = {"credentials": sorted({t for c in credentials for t in c.types})}
    bpns = {v for c in credentials for k in ("bpn", "holderIdentifier") if isinstance(v := c.subject.get(k), str)}
    if len(bpns) > 1:
        raise CredentialError(f"the credentials disagree on the holder's BPN: {sorted(map(str, bpns))}",
                              code="conflicting_claims")
    if bpns:
        claims["bpn"] = bpns.pop()
    if MEMBERSHIP in claims["credentials"]:
        claims["membership"] = "active"
    frameworks: dict[str, Any] = {}
    for c in credentials:
        version = c.subject.get("contractVersion")
        for t in c.types:
            if version is not None and t.endswith("Credential") and t not in (MEMBERSHIP, BPN):
                frameworks.setdefault(t[: -len("Credential")], str(version))
    if frameworks:
        claims["frameworkAgreements"] = frameworks
    return claims
