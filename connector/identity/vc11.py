"""DCP profile ``vc11-sl2021/jwt``: VC Data Model 1.1 credentials and presentations as JWTs, revoked
through StatusList2021 (what Factory-X ADR 003 mandates and Tractus-X wallets speak).

**Credential** (VCDM 1.1 §6.3.1, "JWT encoding"): a compact JWS, header ``{"alg": "EdDSA",
"typ": "JWT", "kid": <issuer's method>}``, claims ``{"iss": <issuer>, "sub": <subject>, "jti":
<credential id>, "nbf"/"iat": <issuanceDate>, "exp": <expirationDate>, "vc": <the credential>}``;
the credential has ``@context`` ``[https://www.w3.org/2018/credentials/v1, ...]``,
``issuanceDate``/``expirationDate`` and a ``credentialStatus`` of type ``StatusList2021Entry``.

**Status list**: a ``StatusList2021Credential`` (same JWT encoding) whose subject
(``type: StatusList2021``) carries ``encodedList`` = base64url(gzip(bits)), without the multibase
prefix Bitstring Status List adds; bit order as there (bit 0 the first byte's most significant).

**Presentation**: a JWS, header ``typ: JWT``, ``kid`` the holder's method, claims ``{"iss",
"sub": <holder>, "aud", "jti", "nonce", "iat", "nbf", "exp", "vp": {"@context":
[credentials v1], "type": ["VerifiablePresentation"], "holder", "verifiableCredential":
[<credential JWTs>]}}``. One data model per presentation: a ``vc11`` presentation holds only
``vc11`` credentials.

:func:`credential_profile` and :func:`presentation_profile` tell the two JWT profiles apart;
``vc20-bssl/jwt`` (VCDM 2.0, ``vc+jwt``/``vp+jwt``) is :mod:`connector.identity.credentials`.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from .contexts import CREDENTIALS_V1
from .did import CredentialError, DidResolver, IdentityError
from .jws import did_of, jws_encode, jws_unverified, jws_verify
from .keys import SigningKey
from .status_list import encode_status_list

VC11, VC20 = "vc11-sl2021/jwt", "vc20-bssl/jwt"
PROFILES = (VC11, VC20)
VP_JWT_TYPES = ("vp+jwt", "vp+ld+json+jwt")
VC_JWT_TYPES = ("vc+jwt", "vc+ld+json+jwt")


def _epoch(value: Any, what: str) -> int:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise CredentialError(f"{what} {value!r} is not a dateTime", code="malformed") from None
    if parsed.tzinfo is None:
        raise CredentialError(f"{what} {value!r} has no time zone", code="malformed")
    return int(parsed.timestamp())


# --- which profile ---------------------------------------------------------------------------------

def credential_profile(secured: Any) -> str | None:
    """``vc11-sl2021/jwt`` for a JWT with a ``vc`` claim, ``vc20-bssl/jwt`` for a ``vc+jwt`` or an
    enveloped one; None for anything else (e.g. a Data Integrity credential)."""
    if isinstance(secured, dict) and secured.get("type") == "EnvelopedVerifiableCredential":
        return VC20
    if not isinstance(secured, str):
        return None
    try:
        header, claims = jws_unverified(secured, "credential")
    except CredentialError:
        return None
    if isinstance(claims.get("vc"), dict):
        return VC11
    return VC20 if header.get("typ") in VC_JWT_TYPES else None


def presentation_profile(header: dict, claims: dict) -> str | None:
    if isinstance(claims.get("vp"), dict):
        return VC11
    return VC20 if header.get("typ") in VP_JWT_TYPES else None


def profiles_for(dataspace: str, configured: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """The DCP presentation profiles we accept (and present in): ``[identity] presentation_profiles``
    when set, else ``vc11-sl2021/jwt`` alone for Factory-X (ADR 003) and both for Catena-X or both
    data spaces (Catena-X wallets are moving between them)."""
    if configured:
        return tuple(configured)
    return (VC11,) if dataspace == "factory-x" else (VC20, VC11)


def did_methods_for(dataspace: str) -> tuple[str, ...] | None:
    """Factory-X ADR 003: every participant claims a did:web; elsewhere any method we can resolve."""
    return ("did:web",) if dataspace == "factory-x" else None


# --- issuing -------------------------------------------------------------------------------------

def status_entry_2021(list_url: str, index: int, purpose: str = "revocation") -> dict[str, str]:
    return {"id": f"{list_url}#{index}", "type": "StatusList2021Entry", "statusPurpose": purpose,
            "statusListIndex": str(index), "statusListCredential": list_url}


def as_vc11(credential: dict[str, Any]) -> dict[str, Any]:
    """A VCDM 2.0 credential (connector.identity.credentials.build_credential) in VCDM 1.1 terms:
    the v1 context, ``issuanceDate``/``expirationDate``."""
    out: dict[str, Any] = {"@context": [CREDENTIALS_V1, *credential["@context"][1:]]}
    for key, value in credential.items():
        if key == "@context":
            continue
        out[{"validFrom": "issuanceDate", "validUntil": "expirationDate"}.get(key, key)] = value
    return out


def secure_vc11(credential: dict[str, Any], key: SigningKey, kid: str) -> str:
    """The credential as a VCDM 1.1 JWT (``vc`` claim), signed by the issuer's method ``kid``."""
    subject = credential.get("credentialSubject")
    claims: dict[str, Any] = {"iss": credential["issuer"], "jti": credential.get("id") or f"urn:uuid:{uuid.uuid4()}"}
    if isinstance(subject, dict) and isinstance(subject.get("id"), str):
        claims["sub"] = subject["id"]
    issued = _epoch(credential["issuanceDate"], "issuanceDate")
    claims.update(nbf=issued, iat=issued)
    if "expirationDate" in credential:
        claims["exp"] = _epoch(credential["expirationDate"], "expirationDate")
    claims["vc"] = credential
    return jws_encode(claims, key, typ="JWT", kid=kid)


def status_list_2021_jwt(issuer: str, list_url: str, bits: bytes, key: SigningKey, kid: str, *,
                         issued: str, purpose: str = "revocation") -> str:
    listed = {"@context": [CREDENTIALS_V1, "https://w3id.org/vc/status-list/2021/v1"], "id": list_url,
              "type": ["VerifiableCredential", "StatusList2021Credential"], "issuer": issuer,
              "issuanceDate": issued,
              "credentialSubject": {"id": f"{list_url}#list", "type": "StatusList2021", "statusPurpose": purpose,
                                    "encodedList": encode_status_list(bits)[1:]}}  # no multibase prefix in 2021
    return secure_vc11(listed, key, kid)


def create_vc11_presentation(did: str, key: SigningKey, kid: str, audience: str, nonce: str, *, now: int,
                             ttl: int, credentials: list[str]) -> str:
    """A ``vc11-sl2021/jwt`` presentation of ``credentials`` (VCDM 1.1 JWTs), bound to ``audience`` and ``nonce``."""
    vp = {"@context": [CREDENTIALS_V1], "type": ["VerifiablePresentation"], "holder": did,
          "verifiableCredential": list(credentials)}
    claims = {"iss": did, "sub": did, "aud": audience, "jti": str(uuid.uuid4()), "nonce": nonce,
              "iat": now, "nbf": now, "exp": now + ttl, "vp": vp}
    return jws_encode(claims, key, typ="JWT", kid=kid)


# --- verifying -----------------------------------------------------------------------------------

def open_vc11(token: str, resolver: DidResolver, *, trusted: set[str] | None, now: datetime,
              leeway: timedelta) -> dict[str, Any]:
    """The credential of a VCDM 1.1 JWT once issuer trust, signature, shape and dates are checked;
    :class:`CredentialError` (with a ``code``) otherwise."""
    header, claims = jws_unverified(token, "credential JWT")
    credential = claims.get("vc")
    if not isinstance(credential, dict):
        raise CredentialError("the credential JWT has no vc claim", code="malformed")
    issuer = credential.get("issuer")
    issuer = issuer.get("id") if isinstance(issuer, dict) else issuer
    if not isinstance(issuer, str) or not issuer.startswith("did:"):
        raise CredentialError(f"the credential's issuer {issuer!r} is not a DID", code="malformed")
    if claims.get("iss", issuer) != issuer:
        raise CredentialError(f"the JWT iss {claims.get('iss')!r} differs from the credential's issuer {issuer}",
                              code="malformed")
    if trusted is not None and issuer not in trusted:
        raise CredentialError(f"issuer {issuer} is not a trusted issuer", code="untrusted_issuer")
    if did_of(header.get("kid"), "credential JWT") != issuer:
        raise CredentialError(f"the credential is signed by {header.get('kid')}, not by its issuer {issuer}",
                              code="bad_signature")
    try:
        jws_verify(token, resolver.public_key(header["kid"], "assertionMethod"), "credential JWT")
    except IdentityError as exc:
        raise CredentialError(f"credential from {issuer}: {exc.reason}", code=exc.code) from None
    context = credential.get("@context")
    if not isinstance(context, list) or not context or context[0] != CREDENTIALS_V1:
        raise CredentialError(f"a vc11-sl2021/jwt credential's @context must start with {CREDENTIALS_V1}",
                              code="malformed")
    types = credential.get("type")
    if "VerifiableCredential" not in (types if isinstance(types, list) else [types]):
        raise CredentialError("the credential's type does not include VerifiableCredential", code="malformed")
    subject = credential.get("credentialSubject")
    if not isinstance(subject, (dict, list)):
        raise CredentialError("the credential has no credentialSubject", code="malformed")
    first = subject[0] if isinstance(subject, list) and subject else subject
    if "sub" in claims and isinstance(first, dict) and first.get("id", claims["sub"]) != claims["sub"]:
        raise CredentialError("the JWT sub differs from the credentialSubject id", code="malformed")
    _check_dates(claims, credential, now, leeway)
    return credential


def _check_dates(claims: dict, credential: dict, now: datetime, leeway: timedelta) -> None:
    what = f"credential {credential.get('id') or ''}".strip()
    start = claims.get("nbf", claims.get("iat"))
    end = claims.get("exp")
    for name, value in (("nbf", start), ("exp", end)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value)):
            raise CredentialError(f"{what}: {name} is not a NumericDate", code="malformed")
    if start is None and "issuanceDate" in credential:
        start = _epoch(credential["issuanceDate"], "issuanceDate")
    if end is None and "expirationDate" in credential:
        end = _epoch(credential["expirationDate"], "expirationDate")
    at, slack = now.timestamp(), leeway.total_seconds()
    if start is not None and start > at + slack:
        raise CredentialError(f"{what} is not valid before {datetime.fromtimestamp(start, UTC).isoformat()}",
                              code="not_yet_valid")
    if end is not None and end < at - slack:
        raise CredentialError(f"{what} expired at {credential.get('expirationDate') or end}", code="expired")
