"""A connector's own identity: its DID, its keys, the credentials it holds; signing agreements.

**Wallet file** (JSON, mode 0600, next to the key file; written by ``connector issuer issue
--wallet`` or :meth:`Wallet.add`)::

    {"type": "PontisWallet", "version": 1,
     "credentials": [{"id": "urn:uuid:...", "type": ["VerifiableCredential", "BpnCredential"],
                      "issuer": "did:web:...", "subject": "did:web:...", "validUntil": "...",
                      "jwt": "<vc+jwt>", "dataIntegrity": {<the credential with an eddsa-rdfc-2022 proof>}}]}

The ``jwt`` form is what DCP presentations carry; the Data Integrity form is kept for JSON-LD
consumers and for display.

**Agreements** are signed with Data Integrity ``eddsa-rdfc-2022``, ``proofPurpose:
assertionMethod``, by the *Multikey* method of each party's DID: the provider (the agreement's
``assigner``) signs when it agrees (:meth:`LocalIdentity.sign_agreement`), the consumer (the
``assignee``) adds its proof when it verifies (:meth:`LocalIdentity.countersign_agreement`).
The two proofs form a proof *set* (independent proofs over the same document).
:func:`verify_agreement` checks every proof and says which party signed. Because the proof
configuration takes the document's ``@context``, that context must define the Data Integrity
terms: the signing functions append ``https://w3id.org/security/data-integrity/v2`` when
neither it nor credentials v2 is present (the returned document is the one that was signed).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .contexts import CREDENTIALS_V2, SigningContextLoader
from .dataintegrity import RDFC, SigningError, VerificationResult, sign, verify
from .did import DidResolver, build_did_document, jwk_vm_id
from .keys import KEY_SET_TYPE, KeyFileError, KeySet, SigningKey, _read_private, _write_private

PASSPHRASE_ENV = "PONTIS_KEY_PASSPHRASE"
WALLET_TYPE = "PontisWallet"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"


def passphrase_from_env(variable: str = PASSPHRASE_ENV) -> str | None:
    """The key-file passphrase from the environment (never from a config file)."""
    return os.environ.get(variable) or None


def load_keys(path: Path | str, passphrase: str | bytes | None = None) -> KeySet:
    """A key set from a key-set file or a single-key file (``connector init`` writes a key set)."""
    data = _read_private(path, strict_permissions=True)
    if isinstance(data, dict) and data.get("type") == KEY_SET_TYPE:
        return KeySet.from_json(data, passphrase)
    return KeySet(SigningKey.from_json(data, passphrase))


def new_key_file(path: Path | str, controller: str, *, passphrase: str | None = None,
                 fragment: str = "key-1") -> KeySet:
    """Generate an Ed25519 key set for ``controller`` (a DID) and write it 0600."""
    keys = KeySet(SigningKey.generate(f"{controller}#{fragment}", controller)) if not \
        controller.startswith("did:key:") else KeySet(SigningKey.generate())
    keys.save(path, passphrase)
    return keys


# --- wallet ----------------------------------------------------------------------------------------

class Wallet:
    """The credentials a connector holds, in one JSON file."""

    def __init__(self, path: Path | str | None = None, entries: Iterable[dict] = ()) -> None:
        self.path = Path(path) if path is not None else None
        self.entries: list[dict[str, Any]] = [dict(e) for e in entries]
        self._stamp = self._file_stamp()

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat() if self.path is not None else None
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size) if stat else None

    def refresh(self) -> None:
        """Re-read the file if it changed since (a credential issued with ``--wallet`` to a running
        connector is presented from its next token on, without a restart)."""
        stamp = self._file_stamp()
        if stamp is not None and stamp != self._stamp and self.path is not None:
            self.entries = Wallet.load(self.path).entries
            self._stamp = stamp

    @classmethod
    def load(cls, path: Path | str) -> Wallet:
        """The wallet at ``path``; an absent file is an empty wallet."""
        path = Path(path)
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise KeyFileError(f"cannot read wallet {path}: {exc}") from None
        if not isinstance(data, dict) or data.get("type") != WALLET_TYPE or \
                not isinstance(data.get("credentials"), list):
            raise KeyFileError(f"{path} is not a {WALLET_TYPE} file")
        return cls(path, data["credentials"])

    def add(self, entry: Any) -> None:
        """Add (or replace, by id) a credential entry; an IssuedCredential is converted."""
        entry = entry.to_json() if hasattr(entry, "to_json") else dict(entry)
        if not isinstance(entry.get("jwt"), str):
            raise KeyFileError("a wallet entry needs the credential as 'jwt' (vc+jwt)")
        self.entries = [e for e in self.entries if e.get("id") != entry.get("id")] + [entry]

    def remove(self, credential_id: str) -> bool:
        before = len(self.entries)
        self.entries = [e for e in self.entries if e.get("id") != credential_id]
        return len(self.entries) != before

    def jwts(self) -> list[str]:
        return [e["jwt"] for e in self.entries if isinstance(e.get("jwt"), str)]

    def types(self) -> list[str]:
        return sorted({t for e in self.entries for t in e.get("type", []) if t != "VerifiableCredential"})

    def save(self, path: Path | str | None = None) -> Path:
        target = Path(path) if path is not None else self.path
        if target is None:
            raise KeyFileError("this wallet has no file")
        written = _write_private(target, {"type": WALLET_TYPE, "version": 1, "credentials": self.entries})
        if target == self.path:
            self._stamp = self._file_stamp()
        return written


# --- the connector's identity ---------------------------------------------------------------------------

def with_proof_context(document: dict) -> dict:
    """``document`` whose ``@context`` defines the Data Integrity terms (appending data-integrity v2)."""
    ctx = document.get("@context")
    contexts = ctx if isinstance(ctx, list) else ([] if ctx is None else [ctx])
    if DATA_INTEGRITY_V2 in contexts or CREDENTIALS_V2 in contexts:
        return document
    return {**document, "@context": [*contexts, DATA_INTEGRITY_V2]}


def _party(agreement: dict, name: str) -> str | None:
    value = agreement.get(name, agreement.get(f"odrl:{name}"))
    value = value.get("@id") if isinstance(value, dict) else value
    return value if isinstance(value, str) else None


def agreement_parties(agreement: dict) -> tuple[str | None, str | None]:
    """(provider, consumer): the agreement's ``assigner`` and ``assignee``."""
    return _party(agreement, "assigner"), _party(agreement, "assignee")


@dataclass
class LocalIdentity:
    """This connector's DID, keys and wallet. The DID must control the keys."""

    did: str
    keys: KeySet
    wallet: Wallet = field(default_factory=Wallet)
    # how we resolve peers' DIDs (for tokens, agreements, signed data); our own document is pinned
    resolver: DidResolver = field(default_factory=DidResolver)

    def __post_init__(self) -> None:
        if self.keys.active.controller != self.did:
            raise KeyFileError(f"the key file's key belongs to {self.keys.active.controller}, "
                               f"but this connector is {self.did}")
        if self.did.startswith("did:web:"):
            self.resolver.pin(self.did_document())

    @property
    def key(self) -> SigningKey:
        return self.keys.active

    @property
    def kid(self) -> str:
        """The ``kid`` of our JWTs: the active key's JsonWebKey method."""
        return jwk_vm_id(self.key.id) if self.did.startswith("did:web:") else self.key.id

    def did_document(self, services: Iterable[dict] = (), extra_methods: Iterable[dict] = ()) -> dict[str, Any]:
        return build_did_document(self.did, self.keys, services=services, extra_methods=extra_methods)

    def sign(self, document: dict, *, cryptosuite: str = RDFC, created: str | None = None,
             loader: SigningContextLoader | None = None, **options: Any) -> dict:
        """``document`` with a new proof by our active key (added to any proof set); its ``@context``
        gains data-integrity v2 if it does not define the proof terms yet."""
        return sign(with_proof_context(document), self.key, cryptosuite=cryptosuite, created=created,
                    loader=loader, **options)

    def sign_agreement(self, agreement: dict, *, created: str | None = None,
                       loader: SigningContextLoader | None = None) -> dict:
        """Provider: sign an agreement whose ``assigner`` is us. Raises SigningError otherwise."""
        provider, _ = agreement_parties(agreement)
        if provider != self.did:
            raise SigningError(f"only the provider signs first: the agreement's assigner is {provider}, not {self.did}")
        if "proof" in agreement:
            raise SigningError("the agreement is already signed; the consumer counter-signs with countersign_agreement")
        return self.sign(agreement, created=created, loader=loader)

    def countersign_agreement(self, signed: dict, *, created: str | None = None,
                              loader: SigningContextLoader | None = None) -> dict:
        """Consumer: add our proof to the provider-signed agreement (verify it first with
        :func:`verify_agreement`). Raises SigningError if we are not its ``assignee``."""
        _, consumer = agreement_parties(signed)
        if consumer != self.did:
            raise SigningError(f"the agreement's assignee is {consumer}, not {self.did}")
        if "proof" not in signed:
            raise SigningError("the agreement carries no provider proof to counter-sign")
        return self.sign(signed, created=created, loader=loader)

    def verify_agreement(self, signed: dict, *, require_consumer: bool = False,
                         loader: SigningContextLoader | None = None) -> AgreementCheck:
        """:func:`verify_agreement` with our resolver (peers' did:web fetched and cached)."""
        return verify_agreement(signed, self.resolver.resolve_key, loader=loader, require_consumer=require_consumer)

    def verify_signed(self, document: dict, *, signer: str | None = None, **options: Any) -> VerificationResult:
        """:func:`verify_signed` with our resolver: e.g. a received PCF, ``signer`` = the provider's DID."""
        return verify_signed(document, self.resolver.resolve_key, signer=signer, **options)

    def export_agreement(self, signed: dict) -> dict[str, Any]:
        """:func:`agreement_bundle` with the current DID documents of both parties."""
        return agreement_bundle(signed, [self.resolver.resolve(d) for d in agreement_parties(signed) if d])


def identity_from_settings(settings: Any, fetch: Callable[[str], bytes] | None = None) -> LocalIdentity | None:
    """Our identity from ``settings.identity`` (key_file, credentials_file), or None without a key file.
    The key-file passphrase comes from ``PONTIS_KEY_PASSPHRASE``; ``fetch`` is the resolver's
    (guarded) HTTP GET, without which peers' DID documents are not fetched."""
    config = settings.identity
    if not config.key_file:
        return None
    if getattr(config, "generate_key", False) and not Path(config.key_file).exists():
        Path(config.key_file).parent.mkdir(parents=True, exist_ok=True)
        controller = settings.participant_id if settings.participant_id.startswith("did:") else "did:key:"
        new_key_file(config.key_file, controller, passphrase=passphrase_from_env())
    keys = load_keys(config.key_file, passphrase_from_env())
    resolver = DidResolver(allow_insecure_localhost=config.allow_insecure_did_web, ttl_seconds=config.did_cache_seconds,
                           fetch=fetch)
    # a participant id that is no DID (a BPN) signs as the key's own did:key
    did = settings.participant_id if settings.participant_id.startswith("did:") else keys.active.controller
    return LocalIdentity(did, keys,
                         Wallet.load(config.credentials_file or default_wallet_path(config.key_file)), resolver)


def default_wallet_path(key_file: Path | str) -> Path:
    """``acme.keys.json`` → ``acme.credentials.json``, in the same folder."""
    path = Path(key_file)
    base = path.name[: -len(".keys.json")] if path.name.endswith(".keys.json") else path.stem
    return path.with_name(base + ".credentials.json")


# --- verifying signed documents and agreements ----------------------------------------------------------

def verify_signed(document: dict, resolve_key: Callable[[str], Any], *, signer: str | None = None,
                  proof_purpose: str | None = "assertionMethod", loader: SigningContextLoader | None = None,
                  allow_inline_contexts: bool = False, check_jsonld: bool = True) -> VerificationResult:
    """Every proof verifies; with ``signer`` (a DID), every proof is by one of its methods.

    ``check_jsonld`` False is for plain JSON data (a PCF payload) secured with eddsa-jcs-2022."""
    result = verify(document, resolve_key, proof_purpose=proof_purpose, loader=loader,
                    allow_inline_contexts=allow_inline_contexts, check_jsonld=check_jsonld)
    if result.ok and signer is not None:
        others = sorted({str(p.proof.get("verificationMethod", "")).split("#", 1)[0] for p in result.proofs} - {signer})
        if others:
            return VerificationResult(False, result.proofs, f"signed by {', '.join(others)}, not by {signer}")
    return result


@dataclass(frozen=True)
class AgreementCheck:
    ok: bool
    reason: str | None
    provider: str | None
    consumer: str | None
    provider_signed: bool
    consumer_signed: bool
    signers: list[str]
    result: VerificationResult | None = None

    def __bool__(self) -> bool:
        return self.ok


def verify_agreement(document: dict, resolve_key: Callable[[str], Any], *,
                     loader: SigningContextLoader | None = None,
                     require_consumer: bool = False) -> AgreementCheck:
    """Every proof must verify (purpose ``assertionMethod``, the method listed there in its
    controller's DID document), each must be by the provider or the consumer, and the provider
    must have signed; with ``require_consumer`` the consumer's counter-signature too."""
    provider, consumer = agreement_parties(document) if isinstance(document, dict) else (None, None)

    def done(ok: bool, reason: str | None, signers: list[str] = [], result=None) -> AgreementCheck:  # noqa: B006
        return AgreementCheck(ok, reason, provider, consumer, provider in signers, consumer in signers,
                              signers, result)

    if not isinstance(document, dict):
        return done(False, "an agreement must be a JSON object")
    if not provider or not consumer:
        return done(False, "the agreement names no assigner (provider) or no assignee (consumer)")
    result = verify(document, resolve_key, proof_purpose="assertionMethod", loader=loader)
    proofs = [p.proof for p in result.proofs]
    signers = [str(p.get("verificationMethod", "")).split("#", 1)[0] if isinstance(p, dict) else "" for p in proofs]
    if not result.ok:
        return done(False, result.reason, signers, result)
    strangers = sorted({s for s in signers if s not in (provider, consumer)})
    if strangers:
        return done(False, f"signed by {', '.join(strangers)}, who is neither the provider {provider} "
                           f"nor the consumer {consumer}", signers, result)
    if provider not in signers:
        return done(False, f"the provider {provider} has not signed the agreement", signers, result)
    if require_consumer and consumer not in signers:
        return done(False, f"the consumer {consumer} has not counter-signed the agreement", signers, result)
    return done(True, None, signers, result)


def agreement_bundle(signed: dict, did_documents: Iterable[dict]) -> dict[str, Any]:
    """A self-contained export: the signed agreement and the signers' DID documents as they
    were, so that ``connector agreement verify`` can check it offline years later."""
    return {"signedAgreement": signed, "didDocuments": list(did_documents)}
