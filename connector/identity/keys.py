"""Ed25519 signing keys: generation, key files, and key sets with rotation.

**Key file** (JSON, written with mode 0600, atomically)::

    {"type": "PontisEd25519Key", "version": 1,
     "id": "<verification method id, the kid>", "controller": "<DID>", "created": "<dateTime>",
     "publicKeyMultibase": "z6Mk...",
     "secretKeyMultibase": "z3u2..."}            # without a passphrase, or instead:
     "encryptedSecretKey": {"kdf": "scrypt", "n": 32768, "r": 8, "p": 1, "salt": "<b64url>",
                            "cipher": "AES-256-GCM", "nonce": "<b64url>", "ciphertext": "<b64url>"}

With a passphrase the 32-byte seed is sealed with AES-256-GCM under a scrypt-derived key
(n=2^15, r=8, p=1: ~32 MiB and ~0.1 s per attempt). The GCM associated data is the
file's ``id``, ``controller`` and ``publicKeyMultibase``, so swapping those fields in
an encrypted file makes it undecryptable rather than silently re-labelled; the public
key is also re-derived and compared on every load. A JSON envelope was chosen over
PKCS#8 PEM so that one file carries the kid and controller with the key.

**Key set**: one active signing key plus the public verification methods of retired
keys, so that signatures made before a rotation still verify (:meth:`KeySet.resolve`
is a ``resolve_key`` for :func:`connector.identity.dataintegrity.verify`). Revoking a
method (key compromise) marks it ``revoked`` and makes it unresolvable.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from .multikey import (
    KeyFormatError,
    decode_public_multikey,
    decode_secret_multikey,
    did_key,
    did_key_vm_id,
    encode_public_multikey,
    encode_secret_multikey,
    multikey_vm,
    public_key_from_vm,
)

KEY_FILE_TYPE = "PontisEd25519Key"
KEY_SET_TYPE = "PontisKeySet"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


class KeyFileError(ValueError):
    """A key file cannot be read, decrypted or trusted."""


def now_timestamp() -> str:
    """The current UTC time as an XML Schema dateTimeStamp with second precision."""
    return datetime.now(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 private key together with the verification method that publishes it."""

    id: str
    controller: str
    private_key: Ed25519PrivateKey = field(repr=False)
    created: str | None = None

    @classmethod
    def generate(cls, vm_id: str | None = None, controller: str | None = None) -> SigningKey:
        """A fresh key. Without ids it is a did:key; with only a controller the id is
        ``<controller>#<publicKeyMultibase>``."""
        private = Ed25519PrivateKey.generate()
        public = private.public_key()
        if controller is None:
            controller = did_key(public) if vm_id is None else vm_id.split("#", 1)[0]
        if vm_id is None:
            vm_id = did_key_vm_id(public) if controller.startswith("did:key:") else (
                f"{controller}#{encode_public_multikey(public)}")
        return cls(vm_id, controller, private, now_timestamp())

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def public_key_multibase(self) -> str:
        return encode_public_multikey(self.public_key)

    def verification_method(self) -> dict[str, Any]:
        """The public ``Multikey`` verification method for a controller document."""
        return multikey_vm(self.id, self.controller, self.public_key)

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data)

    def to_json(self, passphrase: str | bytes | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"type": KEY_FILE_TYPE, "version": 1, "id": self.id,
                                "controller": self.controller}
        if self.created:
            data["created"] = self.created
        data["publicKeyMultibase"] = self.public_key_multibase
        if passphrase is None:
            data["secretKeyMultibase"] = encode_secret_multikey(self.private_key)
        else:
            seed = self.private_key.private_bytes_raw()
            data["encryptedSecretKey"] = _seal(seed, _passphrase(passphrase), _aad(data))
        return data

    @classmethod
    def from_json(cls, data: Any, passphrase: str | bytes | None = None) -> SigningKey:
        if not isinstance(data, dict) or data.get("type") != KEY_FILE_TYPE or data.get("version") != 1:
            raise KeyFileError(f"not a {KEY_FILE_TYPE} version 1 document")
        for member in ("id", "controller", "publicKeyMultibase"):
            if not isinstance(data.get(member), str):
                raise KeyFileError(f"key file member {member!r} is missing or not a string")
        try:
            if "encryptedSecretKey" in data:
                if passphrase is None:
                    raise KeyFileError("the key is encrypted: a passphrase is required")
                seed = _open(data["encryptedSecretKey"], _passphrase(passphrase), _aad(data))
                private = Ed25519PrivateKey.from_private_bytes(seed)
            elif "secretKeyMultibase" in data:
                private = decode_secret_multikey(data["secretKeyMultibase"])
            else:
                raise KeyFileError("key file holds no secret key")
            expected = decode_public_multikey(data["publicKeyMultibase"])
        except KeyFormatError as exc:
            raise KeyFileError(f"malformed key: {exc}") from None
        if encode_public_multikey(private.public_key()) != encode_public_multikey(expected):
            raise KeyFileError("the secret key does not match publicKeyMultibase")
        return cls(data["id"], data["controller"], private, data.get("created"))


def generate_key(vm_id: str | None = None, controller: str | None = None) -> SigningKey:
    return SigningKey.generate(vm_id, controller)


def _passphrase(value: str | bytes) -> bytes:
    data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    if not data:
        raise KeyFileError("an empty passphrase is not a passphrase")
    return data


def _aad(data: dict[str, Any]) -> bytes:
    bound = {k: data[k] for k in ("id", "controller", "publicKeyMultibase")}
    return json.dumps(bound, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise KeyFileError("encrypted key field is not a string")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _seal(seed: bytes, passphrase: bytes, aad: bytes, n: int = SCRYPT_N) -> dict[str, Any]:
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    key = Scrypt(salt=salt, length=32, n=n, r=SCRYPT_R, p=SCRYPT_P).derive(passphrase)
    return {"kdf": "scrypt", "n": n, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt),
            "cipher": "AES-256-GCM", "nonce": _b64(nonce),
            "ciphertext": _b64(AESGCM(key).encrypt(nonce, seed, aad))}


def _open(envelope: Any, passphrase: bytes, aad: bytes) -> bytes:
    if not isinstance(envelope, dict):
        raise KeyFileError("encryptedSecretKey must be an object")
    if envelope.get("kdf") != "scrypt" or envelope.get("cipher") != "AES-256-GCM":
        raise KeyFileError("unsupported key encryption (expected scrypt + AES-256-GCM)")
    n, r, p = (envelope.get(k) for k in "nrp")
    # bounds: a hostile file must not make us allocate gigabytes
    if not (isinstance(n, int) and isinstance(r, int) and isinstance(p, int)) or \
            not (2**10 <= n <= 2**20 and 0 < r <= 32 and 0 < p <= 16):
        raise KeyFileError("scrypt parameters out of range")
    try:
        key = Scrypt(salt=_unb64(envelope.get("salt")), length=32, n=n, r=r, p=p).derive(passphrase)
        seed = AESGCM(key).decrypt(_unb64(envelope.get("nonce")), _unb64(envelope.get("ciphertext")), aad)
    except InvalidTag:
        raise KeyFileError("wrong passphrase, or the key file was altered") from None
    except ValueError as exc:
        raise KeyFileError(f"malformed encrypted key: {exc}") from None
    if len(seed) != 32:
        raise KeyFileError("decrypted secret key has the wrong length")
    return seed


# --- files ---------------------------------------------------------------------------

def _write_private(path: Path | str, data: dict[str, Any]) -> Path:
    """Write JSON readable by the owner only: created 0600 from the start (no umask race),
    in the target folder, then renamed over the target so readers never see half a key."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mkstemp creates 0600
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _read_private(path: Path | str, strict_permissions: bool) -> Any:
    path = Path(path)
    try:
        if strict_permissions and os.name == "posix" and path.stat().st_mode & 0o077:
            raise KeyFileError(f"{path} is accessible by group or others (mode "
                               f"{oct(path.stat().st_mode & 0o777)}); chmod 600 it")
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc}") from None
    except ValueError as exc:
        raise KeyFileError(f"key file {path} is not JSON: {exc}") from None


def save_key(key: SigningKey, path: Path | str, passphrase: str | bytes | None = None) -> Path:
    return _write_private(path, key.to_json(passphrase))


def load_key(path: Path | str, passphrase: str | bytes | None = None, *,
             strict_permissions: bool = True) -> SigningKey:
    """Read a key file; with ``strict_permissions`` (the default) refuse one others can read, as ssh does."""
    return SigningKey.from_json(_read_private(path, strict_permissions), passphrase)


# --- key sets -------------------------------------------------------------------------

class KeySet:
    """One active signing key and the published (public) methods of earlier keys."""

    def __init__(self, active: SigningKey, retired: Iterable[dict[str, Any]] = ()) -> None:
        self.active = active
        self._methods: dict[str, dict[str, Any]] = {}
        for vm in retired:
            public_key_from_vm(vm)  # validate now, not when an old signature is checked
            self._methods[vm["id"]] = dict(vm)
        self._methods[active.id] = active.verification_method()

    def rotate(self, new_key: SigningKey | None = None) -> SigningKey:
        """Make ``new_key`` (default: a fresh key of the same controller) the active one.
        The old key's public method stays resolvable; its secret is forgotten."""
        new_key = new_key or SigningKey.generate(controller=self.active.controller)
        if new_key.id in self._methods:
            raise ValueError(f"verification method {new_key.id!r} is already in the key set")
        self.active = new_key
        self._methods[new_key.id] = new_key.verification_method()
        return new_key

    def revoke(self, vm_id: str, when: str | None = None) -> None:
        """Mark a retired method revoked: signatures made with it stop verifying."""
        if vm_id == self.active.id:
            raise ValueError("rotate away from the active key before revoking it")
        self._methods[vm_id]["revoked"] = when or now_timestamp()

    def verification_methods(self) -> list[dict[str, Any]]:
        """All methods, for a controller (DID) document, the active one last."""
        return [dict(vm) for vm in self._methods.values()]

    def resolve(self, vm_url: str) -> dict[str, Any]:
        """``resolve_key`` for verification: the public method, unless unknown or revoked."""
        vm = self._methods.get(vm_url)
        if vm is None:
            raise LookupError(f"verification method {vm_url!r} is not in this key set")
        if "revoked" in vm:
            raise LookupError(f"verification method {vm_url!r} was revoked at {vm['revoked']}")
        return dict(vm)

    __call__ = resolve

    def to_json(self, passphrase: str | bytes | None = None) -> dict[str, Any]:
        retired = [vm for vid, vm in self._methods.items() if vid != self.active.id]
        return {"type": KEY_SET_TYPE, "version": 1, "active": self.active.to_json(passphrase),
                "retired": retired}

    @classmethod
    def from_json(cls, data: Any, passphrase: str | bytes | None = None) -> KeySet:
        if not isinstance(data, dict) or data.get("type") != KEY_SET_TYPE or data.get("version") != 1:
            raise KeyFileError(f"not a {KEY_SET_TYPE} version 1 document")
        retired = data.get("retired", [])
        if not isinstance(retired, list) or not all(isinstance(vm, dict) and "id" in vm for vm in retired):
            raise KeyFileError("key set 'retired' must be a list of verification methods")
        try:
            return cls(SigningKey.from_json(data.get("active"), passphrase), retired)
        except KeyFormatError as exc:
            raise KeyFileError(f"malformed retired verification method: {exc}") from None

    def save(self, path: Path | str, passphrase: str | bytes | None = None) -> Path:
        return _write_private(path, self.to_json(passphrase))


def load_keyset(path: Path | str, passphrase: str | bytes | None = None, *,
                strict_permissions: bool = True) -> KeySet:
    return KeySet.from_json(_read_private(path, strict_permissions), passphrase)
