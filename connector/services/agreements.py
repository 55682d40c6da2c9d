"""Signed contract agreements: the provider signs when it agrees, the consumer counter-signs.

The agreement as exchanged in DSP has no ``@context`` of its own (the message's applies) and a
``timestamp`` only the message's context defines. What is signed is a standalone copy that a
third party can check years later: the agreement's terms with the ODRL profile context (plus the
Catena-X policy context where its terms appear) and Data Integrity v2, without the timestamp
(the proof's ``created`` dates the signature), and with ids that are not IRIs (EDC asset ids, BPNs)
written under ``ID_BASE`` so that they are signed rather than dropped. Both proofs form a proof set.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote

from connector.policy import contexts_for, policy_from_compact_dsp

ODRL_PROFILE = "https://w3id.org/dspace/2025/1/odrl-profile.jsonld"
CX_POLICY = "https://w3id.org/catenax/2025/9/policy/context.jsonld"
DATA_INTEGRITY = "https://w3id.org/security/data-integrity/v2"
# asset and participant ids are often not absolute IRIs (EDC asset ids, BPNs); in the signed copy
# they are written as IRIs under this base, so they are signed instead of dropped as relative IRIs
ID_BASE = "https://w3id.org/pontis/v1/id/"
IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
UNSIGNED_KEYS = ("@context", "timestamp", "proof")
log = logging.getLogger("pontis.agreements")


class AgreementSignatureError(ValueError):
    pass


def standalone(agreement: dict) -> dict:
    """The signed form of an agreement node (any ``proof`` on it is carried over)."""
    policy = policy_from_compact_dsp({k: v for k, v in agreement.items() if k not in UNSIGNED_KEYS})
    contexts = [ODRL_PROFILE] + ([CX_POLICY] if CX_POLICY in contexts_for(policy) else []) + [DATA_INTEGRITY]
    doc: dict[str, Any] = {"@context": contexts}
    doc.update({k: v for k, v in agreement.items() if k not in UNSIGNED_KEYS})
    for key in ("@id", "target", "assigner", "assignee"):
        if isinstance(doc.get(key), str):
            doc[key] = as_iri(doc[key])
    if agreement.get("proof") is not None:
        doc["proof"] = agreement["proof"]
    return doc


def as_iri(value: str) -> str:
    return value if IRI.match(value) else ID_BASE + quote(value, safe="")


def provider_sign(identity: Any, agreement: dict) -> dict:
    """The agreement node with our (the provider's) proof added."""
    signed = identity.sign_agreement(standalone({k: v for k, v in agreement.items() if k != "proof"}))
    return {**agreement, "proof": signed["proof"]}


def unresolvable_signer(identity: Any, agreement: dict) -> str | None:
    """Why a signer's DID document cannot be had (e.g. did:web:example.com, not served by anyone), or None."""
    from connector.identity.did import IdentityError

    proofs = agreement.get("proof")
    for proof in proofs if isinstance(proofs, list) else [proofs] if proofs else []:
        method = proof.get("verificationMethod") if isinstance(proof, dict) else None
        if isinstance(method, str):
            try:
                identity.resolver.resolve(method.split("#", 1)[0])
            except IdentityError as exc:
                return f"{method.split('#', 1)[0]}: {exc}"
    return None


def check(identity: Any, agreement: dict, *, require_consumer: bool = False,
          unresolvable_ok: bool = False) -> str | None:
    """None when every proof on the agreement verifies as the parties' own, else why not.

    ``unresolvable_ok`` (static-token mode, where the peer is known by its configured token and
    signed agreements are not required): a signer whose DID document cannot be fetched does not
    stop the agreement; it is kept with its proofs, unchecked, and a warning says so. A proof
    that can be checked and fails is refused in every mode."""
    if unresolvable_ok:
        why = unresolvable_signer(identity, agreement)
        if why is not None:
            log.warning("agreement %s: signature not checked, the signer's DID document cannot be read (%s); "
                        "accepted because peers are authenticated by static tokens", agreement.get("@id"), why)
            return None
    result = identity.verify_agreement(standalone(agreement), require_consumer=require_consumer)
    return None if result.ok else (result.reason or "the agreement's proof does not verify")


def consumer_countersign(identity: Any, agreement: dict) -> tuple[dict, dict]:
    """(our proof, the agreement node with the proof set) for a provider-signed agreement."""
    signed = identity.countersign_agreement(standalone(agreement))
    proofs = signed["proof"] if isinstance(signed["proof"], list) else [signed["proof"]]
    return proofs[-1], {**agreement, "proof": proofs}


def with_consumer_proof(agreement: dict, proof: dict) -> dict:
    existing = agreement.get("proof")
    proofs = existing if isinstance(existing, list) else ([existing] if existing else [])
    return {**agreement, "proof": [*proofs, proof]}
