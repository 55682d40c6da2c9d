"""The Gaia-X key: P-256 (ES256), published in our did:web document as a ``JsonWebKey2020`` method
whose ``publicKeyJwk.x5u`` names the PEM certificate chain we serve, leaf first, root last.

Gaia-X trusts a key only through that chain (an eIDAS/EV/Registry-listed trust anchor at its
root), so the key file and the chain file go together: :func:`check_key_matches_chain` is the
self-test that the JWK is the leaf certificate's key. :class:`CertificateAuthority` makes chains
for development and for the mock trust anchor (``connector.gaiax.mock``).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

CHAIN_PATH = "/.well-known/x509CertificateChain.pem"
GX_KEY_FRAGMENT = "gx-es256"


class ChainError(ValueError):
    """A certificate chain Gaia-X would refuse, with the reason."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_jwk(key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey) -> dict[str, str]:
    """The public JWK of a P-256 or RSA key."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise ChainError(f"only P-256 EC keys are supported, not {key.curve.name}")
        nums = key.public_numbers()
        return {"kty": "EC", "crv": "P-256", "x": _b64(nums.x.to_bytes(32, "big")),
                "y": _b64(nums.y.to_bytes(32, "big")), "alg": "ES256"}
    nums_r = key.public_numbers()
    return {"kty": "RSA", "n": _b64(nums_r.n.to_bytes((nums_r.n.bit_length() + 7) // 8, "big")),
            "e": _b64(nums_r.e.to_bytes((nums_r.e.bit_length() + 7) // 8, "big")), "alg": "PS256"}


@dataclass(frozen=True)
class GaiaxKey:
    """Our P-256 private key, the verification method id (the JWT ``kid``) and the chain URL."""

    private_key: ec.EllipticCurvePrivateKey
    kid: str
    x5u: str

    @property
    def did(self) -> str:
        return self.kid.split("#", 1)[0]

    def jwk(self) -> dict[str, str]:
        return {**public_jwk(self.private_key.public_key()), "x5u": self.x5u}

    def verification_method(self) -> dict[str, Any]:
        """The ``JsonWebKey2020`` method for our DID document."""
        return {"id": self.kid, "type": "JsonWebKey2020", "controller": self.did, "publicKeyJwk": self.jwk()}


def generate_private_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def write_private_pem(path: Path | str, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> Path:
    """Write a PKCS#8 PEM readable by the owner only (0600 from the start, renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_private_pem(path: Path | str) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise ChainError(f"cannot read the Gaia-X key {path}: {exc} (`connector gaiax init` makes one)") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ChainError(f"{path}: expected a P-256 EC private key (ES256)")
    return key


def load_gaiax_key(key_file: Path | str, did: str, x5u: str) -> GaiaxKey:
    return GaiaxKey(load_private_pem(key_file), f"{did}#{GX_KEY_FRAGMENT}", x5u)


# --- chains ------------------------------------------------------------------------------------

def parse_chain(pem: bytes | str) -> list[x509.Certificate]:
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise ChainError(f"not a PEM certificate chain: {exc}") from None
    if not certs:
        raise ChainError("the chain holds no certificate")
    return certs


def chain_pem(certs: Iterable[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def verify_chain(certs: list[x509.Certificate], trusted_roots: Iterable[x509.Certificate], now: dt.datetime) -> None:
    """Leaf first: each certificate is signed by the next and valid at ``now``; the last is (or is
    signed by) one of ``trusted_roots``. Raises :class:`ChainError` naming the failing link."""
    roots = {fingerprint(r): r for r in trusted_roots}
    if not certs:
        raise ChainError("the chain holds no certificate")
    for i, cert in enumerate(certs):
        name = cert.subject.rfc4514_string()
        if not (cert.not_valid_before_utc <= now <= cert.not_valid_after_utc):
            raise ChainError(f"certificate {i} ({name}) is not valid at {now.isoformat()}: valid from "
                             f"{cert.not_valid_before_utc.isoformat()} to {cert.not_valid_after_utc.isoformat()}")
        issuer = certs[i + 1] if i + 1 < len(certs) else next(
            (r for r in roots.values() if r.subject == cert.issuer), None)
        if issuer is None:
            raise ChainError(f"certificate {i} ({name}) was issued by {cert.issuer.rfc4514_string()}, "
                             "which is not a trusted anchor")
        try:
            cert.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature) as exc:
            raise ChainError(f"certificate {i} ({name}) is not signed by {issuer.subject.rfc4514_string()}: "
                             f"{str(exc) or type(exc).__name__}") from None
        if fingerprint(cert) in roots or fingerprint(issuer) in roots:
            return  # reached an anchor (the chain may or may not include the root itself)
    raise ChainError(f"the chain ends at {certs[-1].subject.rfc4514_string()}, which is not a trusted anchor")


def check_key_matches_chain(jwk: dict[str, Any], certs: list[x509.Certificate]) -> None:
    """The JWK a DID document publishes must be the leaf certificate's key."""
    leaf = certs[0].public_key()
    if not isinstance(leaf, (ec.EllipticCurvePublicKey, rsa.RSAPublicKey)):
        raise ChainError("the leaf certificate's key is neither EC P-256 nor RSA")
    expected = public_jwk(leaf)
    got = {k: jwk.get(k) for k in expected if k != "alg"}
    if got != {k: v for k, v in expected.items() if k != "alg"}:
        raise ChainError("the publicKeyJwk is not the key of the chain's leaf certificate")


# --- a certificate authority (development chains, the mock trust anchor) ------------------------

@dataclass(frozen=True)
class CertificateAuthority:
    """A root CA: its key and self-signed certificate."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @classmethod
    def create(cls, name: str, now: dt.datetime, days: int = 3650) -> CertificateAuthority:
        key = generate_private_key()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
                .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
                .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
                .sign(key, hashes.SHA256()))
        return cls(key, cert)

    def issue(self, public_key: ec.EllipticCurvePublicKey, subject: str, now: dt.datetime,
              days: int = 365) -> list[x509.Certificate]:
        """A leaf certificate for ``public_key``: the chain ``[leaf, root]``."""
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        leaf = (x509.CertificateBuilder().subject_name(name).issuer_name(self.certificate.subject)
                .public_key(public_key).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .sign(self.key, hashes.SHA256()))
        return [leaf, self.certificate]

    def save(self, folder: Path | str) -> None:
        folder = Path(folder)
        write_private_pem(folder / "root.key.pem", self.key)
        (folder / "root.pem").write_bytes(chain_pem([self.certificate]))

    @classmethod
    def load(cls, folder: Path | str) -> CertificateAuthority:
        folder = Path(folder)
        return cls(load_private_pem(folder / "root.key.pem"), parse_chain((folder / "root.pem").read_bytes())[0])

    @classmethod
    def load_or_create(cls, folder: Path | str, name: str, now: dt.datetime) -> CertificateAuthority:
        if (Path(folder) / "root.pem").exists():
            return cls.load(folder)
        ca = cls.create(name, now)
        ca.save(folder)
        return ca
