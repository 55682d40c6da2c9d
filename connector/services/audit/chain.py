"""The audit chain's arithmetic: an entry's hash, a signed checkpoint, and verifying either a stored
chain or an extract given to an auditor (which needs nothing but the file: it carries the public
keys, and the auditor compares their controller with the connector's DID document)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import rfc8785

from connector.identity.dataintegrity import JCS, sign, verify
from connector.identity.keys import SigningKey

GENESIS = "0" * 64
CHECKPOINT_TYPE = "PontisAuditCheckpoint"
EXTRACT_TYPE = "PontisAuditExtract"
HASHED = ("seq", "at", "actor", "kind", "subject", "details", "prev_hash")

ResolveKey = Callable[[str], Any]


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 (hex) over the RFC 8785 form of the entry's content and its predecessor's hash."""
    return hashlib.sha256(rfc8785.dumps({name: entry[name] for name in HASHED})).hexdigest()


def checkpoint_document(connector: str, seq: int, head: str, created: str) -> dict[str, Any]:
    return {"type": CHECKPOINT_TYPE, "connector": connector, "seq": seq, "hash": head, "created": created}


def signed(document: dict[str, Any], key: SigningKey | None, created: str) -> dict[str, Any]:
    """``document`` with an eddsa-jcs-2022 proof by ``key``; unchanged without a key."""
    if key is None:
        return document
    return sign(document, key, cryptosuite=JCS, created=created, check_jsonld=False)


@dataclass
class ChainReport:
    """What verifying found: ``problems`` name the entry or checkpoint; empty means intact."""

    entries: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    checkpoints: int = 0
    unsigned_checkpoints: int = 0
    signers: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _proof_signer(document: Mapping[str, Any]) -> str | None:
    proof = document.get("proof")
    return proof.get("verificationMethod") if isinstance(proof, dict) else None


def verify_chain(entries: Iterable[Mapping[str, Any]], checkpoints: Sequence[Mapping[str, Any]],
                 resolve_key: ResolveKey | None, *, starts_at_genesis: bool = True) -> ChainReport:
    """Walk ``entries`` in ``seq`` order: contiguous numbers, each hash recomputed, each link to its
    predecessor. Then each checkpoint: its proof, and the entry it names must carry its hash.
    ``starts_at_genesis`` False (an extract) trusts the first entry's ``prev_hash``."""
    report = ChainReport()
    hashes: dict[int, str] = {}
    expected: int | None = 1 if starts_at_genesis else None
    previous = GENESIS if starts_at_genesis else None
    for entry in entries:
        seq = int(entry["seq"])
        report.entries += 1
        report.first_seq = seq if report.first_seq is None else report.first_seq
        if expected is not None and seq != expected:
            report.problems.append(f"entry {expected}: missing (the next entry is {seq}); entries were removed"
                                   if seq > expected else f"entry {seq}: out of order after entry {expected - 1}")
        if entry_hash(entry) != entry["hash"]:
            report.problems.append(f"entry {seq}: changed (its content does not match its hash)")
        if previous is not None and entry["prev_hash"] != previous:
            report.problems.append(f"entry {seq}: its previous-hash does not match the entry before it "
                                   "(an entry was removed, inserted or reordered)")
        previous, expected = str(entry["hash"]), seq + 1
        hashes[seq] = str(entry["hash"])
        report.last_seq = seq
    for document in checkpoints:
        seq = int(document["seq"])
        report.checkpoints += 1
        if "proof" not in document:
            report.unsigned_checkpoints += 1
        elif resolve_key is None:
            report.problems.append(f"checkpoint {seq}: signed, but no key is known to check it with")
        else:
            result = verify(dict(document), resolve_key, check_jsonld=False)
            if not result.ok:
                report.problems.append(f"checkpoint {seq}: its signature does not verify ({result.reason})")
            signer = _proof_signer(document)
            if signer:
                report.signers.add(signer)
        if seq in hashes:
            if hashes[seq] != document["hash"]:
                report.problems.append(f"checkpoint {seq}: entry {seq} no longer has the signed hash "
                                       "(the chain up to it was rewritten)")
        elif report.last_seq is not None and seq > report.last_seq:
            report.problems.append(f"checkpoint {seq}: entries {report.last_seq + 1}..{seq} were removed "
                                   "from the end of the log")
    return report


def key_resolver(methods: Iterable[Mapping[str, Any]]) -> ResolveKey:
    """Resolve a proof's verificationMethod among ``methods`` (Multikey documents); others are refused."""
    known = {str(m["id"]): dict(m) for m in methods if isinstance(m, Mapping) and "id" in m}

    def resolve(vm_id: str) -> dict[str, Any]:
        if vm_id not in known:
            raise LookupError(f"{vm_id} is not one of the extract's keys")
        return known[vm_id]
    return resolve


def build_extract(connector: str, entries: list[dict[str, Any]], checkpoints: list[dict[str, Any]],
                  methods: list[dict[str, Any]], key: SigningKey | None, created: str,
                  window: Mapping[str, Any]) -> dict[str, Any]:
    document = {"type": EXTRACT_TYPE, "connector": connector, "created": created, "window": dict(window),
                "entries": entries, "checkpoints": checkpoints, "verificationMethods": methods}
    return signed(document, key, created)


def verify_extract(document: Any) -> ChainReport:
    """Check an extract offline: its own proof, then its entries and checkpoints as a chain."""
    if not isinstance(document, dict) or document.get("type") != EXTRACT_TYPE:
        return ChainReport(problems=[f"not an audit extract: expected an object with type {EXTRACT_TYPE!r}"])
    resolve = key_resolver(document.get("verificationMethods") or [])
    entries = document.get("entries")
    checkpoints = document.get("checkpoints")
    if not isinstance(entries, list) or not isinstance(checkpoints, list):
        return ChainReport(problems=["entries and checkpoints: expected lists"])
    report = verify_chain(entries, checkpoints, resolve, starts_at_genesis=False)
    if "proof" not in document:
        report.problems.insert(0, "extract: not signed (the connector had no [identity] key_file)")
    else:
        result = verify(document, resolve, check_jsonld=False)
        if not result.ok:
            report.problems.insert(0, f"extract: its signature does not verify ({result.reason}); "
                                   "an entry was changed, added or removed after export")
        signer = _proof_signer(document)
        if signer:
            report.signers.add(signer)
    return report
