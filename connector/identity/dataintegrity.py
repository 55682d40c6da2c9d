"""W3C Data Integrity proofs with Ed25519: ``eddsa-rdfc-2022`` and ``eddsa-jcs-2022``.

:func:`sign` adds a ``DataIntegrityProof``; :func:`verify` checks every proof of a
document (a proof *set*; proofs naming a ``previousProof`` form a *chain* and sign the
proofs they name). Both reproduce the W3C vc-di-eddsa vectors byte for byte.

- ``eddsa-rdfc-2022``: ``hash = SHA-256(RDFC-1.0(proofConfig)) ‖ SHA-256(RDFC-1.0(doc))``,
  where ``proofConfig`` is the proof without ``proofValue`` and with the document's
  ``@context`` (proof hash first). Canonicalization runs in safe mode
  (:mod:`connector.identity.contexts`): allowlisted contexts only, and undefined terms,
  relative IRIs or ``@direction`` are refused with a reason instead of being silently
  left unsigned.
- ``eddsa-jcs-2022``: the same hash over RFC 8785 (JCS) serializations; the proof
  carries a copy of the document's ``@context``, and on verification the document's
  ``@context`` must start with it. JCS signs the JSON itself, so dropped terms cannot be
  altered unnoticed; the JSON-LD safety check still runs by default (``check_jsonld``)
  so that what we sign is also clean JSON-LD, and can be switched off for bulk data.

``proofValue`` is ``"z" + base58btc(signature)``. Verification never raises for a bad
document or proof: it returns a :class:`VerificationResult` with ``ok`` False and a
``reason``. :func:`sign` raises :class:`SigningError`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .canon import CanonicalizationError, DataIntegrityError, Limits, canonicalize_quads
from .contexts import SigningContextLoader, default_loader
from .keys import SigningKey, now_timestamp
from .multikey import KeyFormatError, b58encode, multibase_decode, public_key_from_vm
from .signing_rdf import document_quads

RDFC = "eddsa-rdfc-2022"
JCS = "eddsa-jcs-2022"
CRYPTOSUITES = (RDFC, JCS)
PROOF_TYPE = "DataIntegrityProof"
_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")

ResolveKey = Callable[[str], Any]


class SigningError(DataIntegrityError):
    code = "signing"


class VerificationError(DataIntegrityError):
    code = "verification"


@dataclass(frozen=True)
class ProofResult:
    proof: dict[str, Any]
    ok: bool
    reason: str | None = None


@dataclass(frozen=True)
class VerificationResult:
    """``ok`` only if there is at least one proof and every proof verifies. Truthy iff ``ok``."""

    ok: bool
    proofs: list[ProofResult]
    reason: str | None = None

    def __bool__(self) -> bool:
        return self.ok

    def raise_for_failure(self) -> None:
        if not self.ok:
            raise VerificationError(self.reason or "verification failed")


@dataclass(frozen=True)
class _Options:
    loader: SigningContextLoader
    allow_inline: bool
    check_jsonld: bool
    limits: Limits | None


def _hash_rdfc(document: dict, opts: _Options) -> bytes:
    quads = document_quads(document, opts.loader, allow_inline=opts.allow_inline)
    canonical = canonicalize_quads(quads, limits=opts.limits) if opts.limits else canonicalize_quads(quads)
    return hashlib.sha256(canonical.encode("utf-8")).digest()


def _hash_jcs(document: dict, opts: _Options) -> bytes:
    if opts.check_jsonld:
        document_quads(document, opts.loader, allow_inline=opts.allow_inline)
    try:
        return hashlib.sha256(rfc8785.dumps(document)).digest()
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise CanonicalizationError(f"document cannot be JCS-canonicalized: {exc}",
                                    code="invalid_document") from None


def _proof_config(proof: dict, document: dict, cryptosuite: str) -> dict:
    config = {k: v for k, v in proof.items() if k != "proofValue"}
    if cryptosuite == RDFC:
        config.pop("@context", None)
        if "@context" in document:
            config["@context"] = document["@context"]
    return config


def _hash_data(document: dict, config: dict, cryptosuite: str, opts: _Options,
               doc_hash: bytes | None = None) -> bytes:
    hasher = _hash_rdfc if cryptosuite == RDFC else _hash_jcs
    try:
        proof_hash = hasher(config, opts)
    except CanonicalizationError as exc:
        if exc.code == "undefined_term":
            raise CanonicalizationError(
                f"the proof: {exc.reason} (the document's @context must define the Data Integrity terms, "
                "e.g. https://www.w3.org/ns/credentials/v2 or https://w3id.org/security/data-integrity/v2)",
                code=exc.code) from None
        raise
    return proof_hash + (doc_hash if doc_hash is not None else hasher(document, opts))


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _matching_proofs(previous: Any, proofs: list) -> list[dict]:
    """The proofs a ``previousProof`` names (by id); LookupError if one is missing."""
    ids = _as_list(previous)
    if not ids or not all(isinstance(i, str) for i in ids):
        raise LookupError("previousProof must be a proof id or a list of them")
    by_id = {p.get("id"): p for p in proofs if isinstance(p, dict)}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise LookupError(f"previousProof {missing!r} not found among the document's proofs")
    return [by_id[i] for i in ids]


def sign(document: dict, key: SigningKey | Ed25519PrivateKey, *, cryptosuite: str = RDFC,
         verification_method: str | None = None, proof_purpose: str = "assertionMethod",
         created: str | None = None, previous_proof: str | list[str] | None = None,
         proof_id: str | None = None, expires: str | None = None, loader: SigningContextLoader | None = None,
         allow_inline_contexts: bool = False, check_jsonld: bool = True,
         limits: Limits | None = None) -> dict:
    """Return a copy of ``document`` with a new proof (added to the proof set if it has one).

    ``verification_method`` defaults to ``key.id`` for a :class:`SigningKey`; ``created``
    defaults to now (UTC, seconds). ``previous_proof`` names existing proofs by id: they
    are signed along with the document (a proof chain). Raises :class:`SigningError`
    (its ``code`` tells an unsafe document, e.g. ``undefined_term``, from a bad argument).
    """
    if cryptosuite not in CRYPTOSUITES:
        raise SigningError(f"unsupported cryptosuite {cryptosuite!r} (supported: {', '.join(CRYPTOSUITES)})")
    if not isinstance(document, dict):
        raise SigningError("the document to sign must be a JSON object")
    if isinstance(key, SigningKey):
        verification_method = verification_method or key.id
        private = key.private_key
    elif isinstance(key, Ed25519PrivateKey):
        private = key
    else:
        raise SigningError("key must be a SigningKey or an Ed25519PrivateKey")
    if not isinstance(verification_method, str) or ":" not in verification_method:
        raise SigningError("verification_method must be an absolute URL (e.g. did:web:example.com#key-1)")
    if not isinstance(proof_purpose, str) or not proof_purpose:
        raise SigningError("proof_purpose must be a non-empty string")
    created = created if created is not None else now_timestamp()
    for name, value in (("created", created), ("expires", expires)):
        if value is not None and not (isinstance(value, str) and _DATETIME.match(value)):
            raise SigningError(f"{name} must be an XML Schema dateTimeStamp (with time zone), not {value!r}")

    existing = document.get("proof")
    proofs = [] if existing is None else _as_list(existing)
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    to_sign = unsecured
    if previous_proof is not None:
        try:
            to_sign = {**unsecured, "proof": _matching_proofs(previous_proof, proofs)}
        except LookupError as exc:
            raise SigningError(str(exc)) from None

    proof: dict[str, Any] = {"type": PROOF_TYPE}
    if proof_id is not None:
        proof["id"] = proof_id
    proof.update({"cryptosuite": cryptosuite, "created": created, "verificationMethod": verification_method,
                  "proofPurpose": proof_purpose})
    if expires is not None:
        proof["expires"] = expires
    if previous_proof is not None:
        proof["previousProof"] = previous_proof
    if cryptosuite == JCS and "@context" in unsecured:
        proof["@context"] = unsecured["@context"]

    opts = _Options(loader or default_loader(), allow_inline_contexts, check_jsonld, limits)
    try:
        hash_data = _hash_data(to_sign, _proof_config(proof, to_sign, cryptosuite), cryptosuite, opts)
    except CanonicalizationError as exc:
        raise SigningError(f"cannot sign: {exc.reason}", code=exc.code) from None
    proof["proofValue"] = "z" + b58encode(private.sign(hash_data))
    return {**unsecured, "proof": proof if not proofs else [*proofs, proof]}


def _public_key(resolved: Any, vm_url: str, purpose: str) -> Ed25519PublicKey:
    """Interpret what ``resolve_key`` returned: a key, raw bytes, a verification method, or a
    controller document (then the method must be listed under the proof's purpose)."""
    if isinstance(resolved, Ed25519PublicKey):
        return resolved
    if isinstance(resolved, (bytes, bytearray)):
        return Ed25519PublicKey.from_public_bytes(bytes(resolved))
    if not isinstance(resolved, dict):
        raise KeyFormatError(f"resolve_key returned {type(resolved).__name__}, not a key or a method")
    if "verificationMethod" in resolved:  # a controller document
        base = resolved.get("id", "")

        def absolute(ref: Any) -> Any:  # "#key-1" is relative to the controller document
            return base + ref if isinstance(ref, str) and ref.startswith("#") else ref

        methods = {absolute(vm.get("id")): vm for vm in _as_list(resolved["verificationMethod"])
                   if isinstance(vm, dict)}
        related = [absolute(r if isinstance(r, str) else r.get("id"))
                   for r in _as_list(resolved.get(purpose, [])) if isinstance(r, (str, dict))]
        if vm_url not in related:
            raise KeyFormatError(f"{vm_url} is not authorized for {purpose!r} by its controller document")
        embedded = [r for r in _as_list(resolved.get(purpose, [])) if isinstance(r, dict)]
        methods.update({absolute(r.get("id")): r for r in embedded})
        if vm_url not in methods:
            raise KeyFormatError(f"controller document has no verification method {vm_url}")
        resolved = methods[vm_url]
    elif resolved.get("id") not in (None, vm_url):
        raise KeyFormatError(f"resolve_key returned method {resolved.get('id')!r} for {vm_url!r}")
    if "revoked" in resolved:
        raise KeyFormatError(f"verification method {vm_url} was revoked at {resolved['revoked']}")
    return public_key_from_vm(resolved)


def verify(document: dict, resolve_key: ResolveKey, *, proof_purpose: str | None = "assertionMethod",
           loader: SigningContextLoader | None = None, allow_inline_contexts: bool = False,
           check_jsonld: bool = True, limits: Limits | None = None) -> VerificationResult:
    """Verify every proof on ``document``. ``resolve_key(verificationMethod)`` returns an
    Ed25519 public key, its 32 raw bytes, a Multikey/JsonWebKey verification method, or a
    controller document; it may raise to refuse. Only for a controller document is the
    method's authorization for the proof purpose checked here (its ``assertionMethod`` etc.);
    a resolver returning a bare key or method vouches for that itself. Whether the method's
    controller is the document's issuer is the caller's policy. ``proof_purpose`` None
    accepts any purpose."""
    if not isinstance(document, dict) or "proof" not in document:
        return VerificationResult(False, [], "document has no proof")
    proofs = _as_list(document["proof"])
    if not proofs:
        return VerificationResult(False, [], "document has an empty proof set")
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    opts = _Options(loader or default_loader(), allow_inline_contexts, check_jsonld, limits)
    doc_hashes: dict[str, bytes] = {}  # one canonicalization per distinct signed document
    results = []
    for proof in proofs:
        try:
            _verify_one(proof, proofs, unsecured, resolve_key, proof_purpose, opts, doc_hashes)
            results.append(ProofResult(proof, True))
        except (VerificationError, CanonicalizationError) as exc:
            results.append(ProofResult(proof, False, exc.reason))
    failed = [(i, r) for i, r in enumerate(results) if not r.ok]
    if not failed:
        return VerificationResult(True, results)
    index, first = failed[0]
    where = f"proof {index + 1} of {len(results)}: " if len(results) > 1 else ""
    return VerificationResult(False, results, where + (first.reason or "invalid"))


def _verify_one(proof: Any, proofs: list, unsecured: dict, resolve_key: ResolveKey, purpose: str | None,
                opts: _Options, doc_hashes: dict[str, bytes]) -> None:
    def fail(reason: str) -> VerificationError:
        return VerificationError(reason)

    if not isinstance(proof, dict):
        raise fail("proof is not a JSON object")
    if proof.get("type") != PROOF_TYPE:
        raise fail(f"unsupported proof type {proof.get('type')!r}")
    suite = proof.get("cryptosuite")
    if suite not in CRYPTOSUITES:
        raise fail(f"unsupported cryptosuite {suite!r}")
    vm_url, value = proof.get("verificationMethod"), proof.get("proofValue")
    if not isinstance(vm_url, str) or not isinstance(value, str):
        raise fail("proof lacks verificationMethod or proofValue")
    if purpose is not None and proof.get("proofPurpose") != purpose:
        raise fail(f"proof purpose is {proof.get('proofPurpose')!r}, expected {purpose!r}")
    for member in ("created", "expires"):
        if member in proof and not (isinstance(proof[member], str) and _DATETIME.match(proof[member])):
            raise fail(f"proof {member} is not a dateTimeStamp")
    if "expires" in proof and _parse_time(proof["expires"]) < _parse_time(now_timestamp()):
        raise fail(f"proof expired at {proof['expires']}")

    signed = unsecured
    if "previousProof" in proof:
        try:
            signed = {**unsecured, "proof": _matching_proofs(proof["previousProof"], proofs)}
        except LookupError as exc:
            raise fail(str(exc)) from None
    if suite == JCS and "@context" in proof:
        doc_ctx, proof_ctx = _as_list(signed.get("@context", [])), _as_list(proof["@context"])
        if doc_ctx[: len(proof_ctx)] != proof_ctx:
            raise fail("the document's @context does not start with the proof's @context")
        signed = {**signed, "@context": proof["@context"]}

    try:
        signature = multibase_decode(value)
    except KeyFormatError as exc:
        raise fail(f"proofValue: {exc}") from None
    if len(signature) != 64:
        raise fail(f"proofValue holds {len(signature)} bytes, not a 64-byte Ed25519 signature")
    try:
        public_key = _public_key(resolve_key(vm_url), vm_url, str(proof.get("proofPurpose") or ""))
    except Exception as exc:  # noqa: BLE001 - a resolver refusing or failing fails the proof, with a reason
        raise fail(f"verification method {vm_url}: {exc}") from None

    key = json.dumps([suite, signed.get("proof"), signed.get("@context")], sort_keys=True, default=repr)
    hasher = _hash_rdfc if suite == RDFC else _hash_jcs
    if key not in doc_hashes:
        doc_hashes[key] = hasher(signed, opts)
    hash_data = _hash_data(signed, _proof_config(proof, signed, suite), suite, opts, doc_hashes[key])
    try:
        public_key.verify(signature, hash_data)
    except InvalidSignature:
        raise fail("signature does not match: the document or proof was altered, "
                   "or a different key signed it") from None


def _parse_time(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise VerificationError(f"unreadable timestamp {value!r}") from None
