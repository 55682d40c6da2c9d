"""VC-JWT and VP-JWT as Gaia-X Loire uses them (research/gaiax.md §1.3).

The JWT payload *is* the credential (``@context``, ``id``, ``type``, ``issuer``, ``validFrom``,
``credentialSubject``): no ``vc``/``vp`` wrapper claim. The header carries ``alg`` (ES256 from us;
ES256/PS256/RS256 accepted), ``typ`` (``vc+jwt``/``vp+jwt``; the ICAM 24.07 spellings accepted),
``cty``, ``iss`` (the issuer's did:web: the compliance service refuses a VP without it) and ``kid``
(a DID URL under ``iss``). A VP bundles VC-JWTs as ``EnvelopedVerifiableCredential`` entries whose
``id`` is ``data:application/vc+jwt,<compact JWT>``.

:func:`verify_jwt` checks all of that, resolves the key from the issuer's DID document (a
``JsonWebKey2020`` with ``publicKeyJwk``), verifies the signature, and optionally runs the
``x5u`` chain check it is given. Every refusal is a :class:`JoseError` with its reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from connector.identity.credentials import parse_time
from connector.identity.did import CredentialError, DidResolutionError, DidResolver

from .keys import GaiaxKey

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
GX_CONTEXT = "https://w3id.org/gaia-x/development#"
ENVELOPED_PREFIX = "data:application/vc+jwt,"
ACCEPTED_ALGS = ("ES256", "PS256", "RS256")
TYP = {"vc": ("vc+jwt", "vc+ld+json+jwt", "vc+ld+jwt"), "vp": ("vp+jwt", "vp+ld+json+jwt", "vp+ld+jwt")}
CTY = {"vc": ("vc", "vc+ld+json", "vc+ld"), "vp": ("vp", "vp+ld+json", "vp+ld")}


class JoseError(ValueError):
    """A VC-JWT or VP-JWT that is refused, with the reason."""


@dataclass(frozen=True)
class VerifiedJwt:
    header: dict[str, Any]
    payload: dict[str, Any]
    compact: str

    @property
    def issuer(self) -> str:
        return str(self.header["iss"])


def sign_jwt(payload: dict[str, Any], key: GaiaxKey, kind: str) -> str:
    """Sign ``payload`` (the credential or presentation itself) as a compact JWS."""
    headers = {"typ": TYP[kind][0], "cty": CTY[kind][0], "iss": key.did, "kid": key.kid}
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return jwt.api_jws.encode(body, key.private_key, algorithm="ES256", headers=headers)


def sign_vc(credential: dict[str, Any], key: GaiaxKey) -> str:
    if credential.get("issuer") != key.did:
        raise JoseError(f"the credential's issuer {credential.get('issuer')!r} is not the signer {key.did}")
    return sign_jwt(credential, key, "vc")


def enveloped(vc_jwt: str) -> dict[str, str]:
    return {"@context": VC_V2_CONTEXT, "type": "EnvelopedVerifiableCredential", "id": ENVELOPED_PREFIX + vc_jwt}


def sign_vp(vc_jwts: list[str], key: GaiaxKey, vp_id: str) -> str:
    """A VP-JWT bundling ``vc_jwts`` as enveloped credentials, signed (and issued) by ``key``."""
    payload = {"@context": [VC_V2_CONTEXT, GX_CONTEXT], "id": vp_id, "type": "VerifiablePresentation",
               "issuer": key.did, "verifiableCredential": [enveloped(v) for v in vc_jwts]}
    return sign_jwt(payload, key, "vp")


def unenvelop(vp_payload: dict[str, Any]) -> list[str]:
    """The compact VC-JWTs a VP payload envelops."""
    entries = vp_payload.get("verifiableCredential")
    entries = entries if isinstance(entries, list) else [entries] if entries else []
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or entry.get("type") != "EnvelopedVerifiableCredential":
            raise JoseError(f"verifiableCredential[{i}]: expected an EnvelopedVerifiableCredential")
        ident = entry.get("id")
        if not isinstance(ident, str) or not ident.startswith(ENVELOPED_PREFIX):
            raise JoseError(f"verifiableCredential[{i}].id: expected {ENVELOPED_PREFIX}<compact JWT>")
        out.append(ident[len(ENVELOPED_PREFIX):])
    if not out:
        raise JoseError("the presentation holds no credential")
    return out


def peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and payload, unverified (for routing and error messages only)."""
    try:
        header = jwt.get_unverified_header(token)
        payload = json.loads(jwt.api_jws.PyJWS().decode_complete(token, options={"verify_signature": False})["payload"])
    except (jwt.exceptions.PyJWTError, ValueError) as exc:
        raise JoseError(f"the payload is not a valid JWT and was not decoded: {exc}") from None
    if not isinstance(payload, dict):
        raise JoseError("the JWT payload is not a JSON object")
    return header, payload


def _key_from_jwk(jwk_data: Any) -> Any:
    if not isinstance(jwk_data, dict):
        raise JoseError("the verification method has no publicKeyJwk")
    try:
        if jwk_data.get("kty") == "EC":
            return ECAlgorithm.from_jwk(json.dumps(jwk_data))
        if jwk_data.get("kty") == "RSA":
            return RSAAlgorithm.from_jwk(json.dumps(jwk_data))
    except (jwt.exceptions.PyJWTError, ValueError) as exc:
        raise JoseError(f"the publicKeyJwk is not usable: {exc}") from None
    raise JoseError(f"publicKeyJwk kty {jwk_data.get('kty')!r}: expected EC or RSA")


def _time(payload: dict[str, Any], name: str) -> datetime | None:
    value = payload.get(name)
    if value is None:
        return None
    try:  # the same reading as every other credential's dates
        return parse_time(value, name)
    except CredentialError as exc:
        raise JoseError(str(exc)) from None


def check_dates(payload: dict[str, Any], now: datetime, what: str = "credential", leeway: float = 0) -> None:
    """``validFrom <= now < validUntil``; ``leeway`` seconds of clock skew are forgiven at the start."""
    start, end = _time(payload, "validFrom"), _time(payload, "validUntil")
    if start is not None and now < start - timedelta(seconds=leeway):
        raise JoseError(f"the {what} {payload.get('id')} is not valid before {payload['validFrom']}")
    if end is not None and now >= end:
        raise JoseError(f"the {what} {payload.get('id')} expired at {payload['validUntil']}")


def verify_jwt(token: str, kind: str, resolver: DidResolver, now: datetime, *,
               chain_check: Callable[[str], None] | None = None, leeway: float = 60) -> VerifiedJwt:
    """Check a VC-JWT (``kind="vc"``) or VP-JWT (``"vp"``) the Gaia-X way; see the module docstring.
    ``chain_check(x5u)`` is called with the signing key's chain URL (the trust-anchor check)."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise JoseError("the payload is not a valid JWT and was not decoded")
    header, payload = peek(token)
    alg, typ, cty, iss, kid = (header.get(k) for k in ("alg", "typ", "cty", "iss", "kid"))
    if alg not in ACCEPTED_ALGS:
        raise JoseError(f"alg {alg!r} is not accepted (expected one of {', '.join(ACCEPTED_ALGS)})")
    if typ not in TYP[kind]:
        raise JoseError(f"typ {typ!r}: expected {TYP[kind][0]!r} for a {'credential' if kind == 'vc' else 'presentation'}")
    if cty is not None and cty not in CTY[kind]:
        raise JoseError(f"cty {cty!r}: expected {CTY[kind][0]!r}")
    if not iss:
        raise JoseError("The iss header referencing the issuer's DID is missing")
    if not isinstance(iss, str) or not iss.startswith("did:web:"):
        raise JoseError(f"iss {iss!r}: Gaia-X issuers must be did:web")
    if not isinstance(kid, str) or not kid.startswith(iss + "#"):
        raise JoseError(f"kid {kid!r} is not a verification method of the issuer {iss}")
    for wrapper in ("vc", "vp"):
        if wrapper in payload:
            raise JoseError(f"the payload has a {wrapper!r} wrapper claim; Gaia-X credentials are the payload itself")
    claimed = payload.get("issuer")
    claimed = claimed.get("id") if isinstance(claimed, dict) else claimed
    if kind == "vc" and claimed != iss:
        raise JoseError(f"the payload's issuer {claimed!r} is not the header's iss {iss}")
    if kind == "vp" and claimed is not None and claimed != iss:
        raise JoseError(f"the presentation's issuer {claimed!r} is not the header's iss {iss}")
    try:
        vm = resolver.verification_method(kid, "assertionMethod")
    except DidResolutionError as exc:
        raise JoseError(f"the signing key {kid} cannot be resolved: {exc.reason}") from None
    jwk_data = vm.get("publicKeyJwk")
    key = _key_from_jwk(jwk_data)
    try:
        jwt.api_jws.PyJWS().decode_complete(token, key=key, algorithms=[alg])
    except jwt.exceptions.InvalidSignatureError:
        raise JoseError(f"the signature does not verify with {kid} (tampered, or signed by another key)") from None
    except jwt.exceptions.PyJWTError as exc:
        raise JoseError(f"the JWS does not verify: {exc}") from None
    if chain_check is not None:
        x5u = jwk_data.get("x5u") if isinstance(jwk_data, dict) else None
        if not isinstance(x5u, str):
            raise JoseError(f"{kid}'s publicKeyJwk has no x5u: Gaia-X needs a certificate chain (x5c is not accepted)")
        chain_check(x5u)
    if kind == "vc":
        check_dates(payload, now, leeway=leeway)
    return VerifiedJwt(header, payload, token)
