"""Compact JWS with EdDSA only, as credentials, presentations and DCP tokens use it.

``jws_unverified`` reads header and payload without checking anything but their shape (only
to learn who claims to have signed); ``jws_verify`` checks the signature. Errors are
``CredentialError`` with a ``code``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.api_jws import PyJWS
from jwt.exceptions import InvalidTokenError

from .did import CredentialError
from .keys import SigningKey

_JWS = PyJWS(options={"verify_signature": True})


def jws_encode(payload: dict, key: SigningKey | Ed25519PrivateKey, *, typ: str, kid: str,
               cty: str | None = None) -> str:
    private = key.private_key if isinstance(key, SigningKey) else key
    headers = {"typ": typ, "kid": kid, **({"cty": cty} if cty else {})}
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return _JWS.encode(body, private, algorithm="EdDSA", headers=headers)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python would read NaN/Infinity, which poison comparisons


def _b64json(part: str, what: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)), parse_constant=_no_constants)
    except (ValueError, RecursionError):
        raise CredentialError(f"the {what} is not base64url JSON", code="malformed") from None


def jws_unverified(token: Any, what: str = "JWT") -> tuple[dict, dict]:
    """Header and payload, *unverified*: only to learn who claims to have signed."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise CredentialError(f"the {what} is not a compact JWS (three dot-separated parts)", code="malformed")
    header_part, payload_part, _ = token.split(".")
    header, payload = _b64json(header_part, f"{what} header"), _b64json(payload_part, f"{what} payload")
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise CredentialError(f"the {what} header and payload must be JSON objects", code="malformed")
    if header.get("alg") != "EdDSA":
        raise CredentialError(f"the {what} uses alg {header.get('alg')!r}; only EdDSA is accepted", code="malformed")
    if "crit" in header:  # we implement no extensions, so we may not ignore critical ones
        raise CredentialError(f"the {what} has critical header parameters {header['crit']!r}", code="malformed")
    return header, payload


def jws_verify(token: str, public_key: Ed25519PublicKey, what: str = "JWT") -> None:
    try:
        _JWS.decode_complete(token, public_key, algorithms=["EdDSA"])
    except InvalidTokenError as exc:
        raise CredentialError(f"the {what} signature does not verify ({exc}): forged or altered",
                              code="bad_signature") from None


def did_of(kid: Any, what: str) -> str:
    if not isinstance(kid, str) or not kid.startswith("did:") or "#" not in kid:
        raise CredentialError(f"the {what} kid {kid!r} is not a full DID URL (did:...#fragment)", code="malformed")
    return kid.split("#", 1)[0]
