"""Ed25519 key encodings: base58btc, Multikey, did:key and JWK (OKP/Ed25519).

Everything here is pure computation on bytes and JSON, no I/O:

- **Multikey** (W3C Controlled Identifiers): ``"z" + base58btc(multicodec header + key)``.
  Ed25519 public keys use the header ``0xed 0x01`` (``z6Mk...``); Ed25519 secret
  keys (the 32-byte RFC 8032 seed) use ``0x80 0x26`` (``z3u2...``).
- **did:key**: ``did:key:<public multikey>``; its DID document is derived from the
  key alone (one verification method ``<did>#<multikey>`` in every relationship),
  so "resolution" is decoding.
- **JWK**: ``{"kty": "OKP", "crv": "Ed25519", "x": b64url(pub)}`` (+ ``"d"`` for the
  seed), as used by ``JsonWebKey`` verification methods and by JOSE (RFC 8037).
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519_PUB_HEADER = b"\xed\x01"
ED25519_PRIV_HEADER = b"\x80\x26"
KEY_LENGTH = 32

DID_V1_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_V1_CONTEXT = "https://w3id.org/security/multikey/v1"
JWK_V1_CONTEXT = "https://w3id.org/security/jwk/v1"
DID_KEY_RELATIONSHIPS = ("authentication", "assertionMethod", "capabilityInvocation", "capabilityDelegation")

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}


class KeyFormatError(ValueError):
    """A key, multibase string, did:key or JWK is malformed or not Ed25519."""


# --- base58btc (Bitcoin alphabet) -------------------------------------------------

def b58encode(data: bytes) -> str:
    """base58btc: the bytes as one big-endian number in base 58; each leading zero byte is a '1'."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rem = divmod(number, 58)
        digits.append(_ALPHABET[rem])
    return "1" * zeros + "".join(reversed(digits))


def b58decode(text: str) -> bytes:
    """Inverse of :func:`b58encode`; rejects characters outside the alphabet (0, O, I, l, ...)."""
    number = 0
    for char in text:
        try:
            number = number * 58 + _INDEX[char]
        except KeyError:
            raise KeyFormatError(f"invalid base58btc character {char!r}") from None
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def multibase_encode(data: bytes) -> str:
    """Multibase with the base58btc prefix ``z`` (the only base the eddsa suites use)."""
    return "z" + b58encode(data)


def multibase_decode(text: str) -> bytes:
    if not isinstance(text, str) or not text.startswith("z"):
        raise KeyFormatError("expected a base58btc multibase string starting with 'z'")
    return b58decode(text[1:])


# --- Multikey ----------------------------------------------------------------------

def _raw_public(key: Ed25519PublicKey | bytes) -> bytes:
    raw = key.public_bytes_raw() if isinstance(key, Ed25519PublicKey) else bytes(key)
    if len(raw) != KEY_LENGTH:
        raise KeyFormatError(f"an Ed25519 public key has {KEY_LENGTH} bytes, not {len(raw)}")
    return raw


def _raw_private(key: Ed25519PrivateKey | bytes) -> bytes:
    if isinstance(key, Ed25519PrivateKey):
        return key.private_bytes_raw()
    if len(key) != KEY_LENGTH:
        raise KeyFormatError(f"an Ed25519 seed has {KEY_LENGTH} bytes, not {len(key)}")
    return bytes(key)


def encode_public_multikey(key: Ed25519PublicKey | bytes) -> str:
    return multibase_encode(ED25519_PUB_HEADER + _raw_public(key))


def decode_public_multikey(text: str) -> Ed25519PublicKey:
    data = multibase_decode(text)
    if data[:2] != ED25519_PUB_HEADER or len(data) != 2 + KEY_LENGTH:
        raise KeyFormatError("not an Ed25519 public Multikey (header 0xed01 + 32 bytes)")
    return Ed25519PublicKey.from_public_bytes(data[2:])


def encode_secret_multikey(key: Ed25519PrivateKey | bytes) -> str:
    return multibase_encode(ED25519_PRIV_HEADER + _raw_private(key))


def decode_secret_multikey(text: str) -> Ed25519PrivateKey:
    data = multibase_decode(text)
    if data[:2] != ED25519_PRIV_HEADER or len(data) != 2 + KEY_LENGTH:
        raise KeyFormatError("not an Ed25519 secret Multikey (header 0x8026 + 32 bytes)")
    return Ed25519PrivateKey.from_private_bytes(data[2:])


def multikey_vm(vm_id: str, controller: str, key: Ed25519PublicKey | bytes) -> dict[str, Any]:
    """A ``Multikey`` verification method (without ``@context``: it lives in a controller document)."""
    return {"id": vm_id, "type": "Multikey", "controller": controller,
            "publicKeyMultibase": encode_public_multikey(key)}


# --- did:key -----------------------------------------------------------------------

def did_key(key: Ed25519PublicKey | bytes) -> str:
    return "did:key:" + encode_public_multikey(key)


def did_key_vm_id(key: Ed25519PublicKey | bytes) -> str:
    """The verification method id of a did:key: ``did:key:<mb>#<mb>``."""
    mb = encode_public_multikey(key)
    return f"did:key:{mb}#{mb}"


def did_key_document(key: Ed25519PublicKey | bytes | str) -> dict[str, Any]:
    """The DID document of an Ed25519 did:key (given a key, a public Multikey, or the DID)."""
    if isinstance(key, str):
        key = decode_public_multikey(key.removeprefix("did:key:").split("#", 1)[0])
    did = did_key(key)
    vm = multikey_vm(did_key_vm_id(key), did, key)
    doc: dict[str, Any] = {"@context": [DID_V1_CONTEXT, MULTIKEY_V1_CONTEXT], "id": did,
                           "verificationMethod": [vm]}
    for relationship in DID_KEY_RELATIONSHIPS:
        doc[relationship] = [vm["id"]]
    return doc


def resolve_did_key(did_url: str) -> dict[str, Any]:
    """Dereference a did:key DID (→ its document) or DID URL with fragment (→ the method).

    Only Ed25519 keys are supported; a fragment other than the key's own is an error.
    """
    if not isinstance(did_url, str) or not did_url.startswith("did:key:"):
        raise KeyFormatError(f"not a did:key: {did_url!r}")
    did, _, fragment = did_url.partition("#")
    document = did_key_document(did)
    if document["id"] != did:  # e.g. a non-canonical encoding of the same key
        raise KeyFormatError(f"did:key {did!r} is not in canonical form")
    if not fragment:
        return document
    vm = document["verificationMethod"][0]
    if vm["id"] != did_url:
        raise KeyFormatError(f"did:key document {did!r} has no verification method #{fragment}")
    return {"@context": document["@context"], **vm}


# --- JWK (RFC 8037 OKP) ------------------------------------------------------------

def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: Any, name: str) -> bytes:
    if not isinstance(text, str) or "=" in text:
        raise KeyFormatError(f"JWK member {name!r} must be unpadded base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError as exc:
        raise KeyFormatError(f"JWK member {name!r} is not base64url: {exc}") from None


def public_jwk(key: Ed25519PublicKey | bytes) -> dict[str, str]:
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(_raw_public(key))}


def private_jwk(key: Ed25519PrivateKey) -> dict[str, str]:
    return {**public_jwk(key.public_key()), "d": _b64url(_raw_private(key))}


def jwk_to_public(jwk: dict[str, Any]) -> Ed25519PublicKey:
    if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise KeyFormatError("only OKP/Ed25519 JWKs are supported")
    return Ed25519PublicKey.from_public_bytes(_raw_public(_unb64url(jwk.get("x"), "x")))


def jwk_to_private(jwk: dict[str, Any]) -> Ed25519PrivateKey:
    public = jwk_to_public(jwk)
    private = Ed25519PrivateKey.from_private_bytes(_raw_private(_unb64url(jwk.get("d"), "d")))
    if _raw_public(private.public_key()) != _raw_public(public):
        raise KeyFormatError("JWK 'd' does not belong to 'x'")
    return private


def jwk_vm(vm_id: str, controller: str, key: Ed25519PublicKey | bytes) -> dict[str, Any]:
    """A ``JsonWebKey`` verification method."""
    return {"id": vm_id, "type": "JsonWebKey", "controller": controller, "publicKeyJwk": public_jwk(key)}


def public_key_from_vm(vm: dict[str, Any]) -> Ed25519PublicKey:
    """The Ed25519 key of a ``Multikey`` or ``JsonWebKey`` verification method."""
    if not isinstance(vm, dict):
        raise KeyFormatError("a verification method must be a JSON object")
    if "publicKeyMultibase" in vm:
        return decode_public_multikey(vm["publicKeyMultibase"])
    if "publicKeyJwk" in vm:
        jwk = vm["publicKeyJwk"]
        if isinstance(jwk, dict) and "d" in jwk:  # a published secret is a leak, not a key
            raise KeyFormatError("verification method publishes a private JWK member 'd'")
        return jwk_to_public(jwk)
    raise KeyFormatError(f"verification method {vm.get('id')!r} has no publicKeyMultibase or publicKeyJwk")
