"""Data Integrity: the official vectors byte for byte, round trips, tampering, safe mode."""

from __future__ import annotations

import copy
import hashlib
import json
import time

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connector.identity import dataintegrity as di
from connector.identity.canon import CanonicalizationError, DataIntegrityError
from connector.identity.contexts import canonicalize_document
from connector.identity.keys import generate_key
from connector.identity.multikey import (
    b58decode,
    decode_secret_multikey,
    did_key_document,
    did_key_vm_id,
    jwk_vm,
    resolve_did_key,
)

from .conftest import load_json, requires_shared, vectors_dir

CREATED = "2023-02-24T23:36:38Z"
CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
DI_V2 = "https://w3id.org/security/data-integrity/v2"
DSPACE = "https://w3id.org/dspace/2025/1/context.jsonld"


def text(relative: str) -> str:
    return (vectors_dir() / relative).read_text(encoding="utf-8")


# --- the official vectors ----------------------------------------------------------------

SUITES = {
    di.RDFC: ("eddsa-rdfc-2022", "DataInt", "signedDataInt.json"),
    di.JCS: ("eddsa-jcs-2022", "JCS", "signedJCS.json"),
}


@requires_shared
@pytest.mark.parametrize("suite", sorted(SUITES))
def test_official_vector_byte_for_byte(suite, vector_loader, vector_key):
    folder, tag, signed_name = SUITES[suite]
    unsigned = load_json(vectors_dir() / "unsigned.json")
    vm = did_key_vm_id(vector_key.public_key())
    signed = di.sign(unsigned, vector_key, cryptosuite=suite, verification_method=vm, created=CREATED,
                     loader=vector_loader)

    # the proof configuration: the proof without proofValue, with the document's @context
    config = {k: v for k, v in signed["proof"].items() if k != "proofValue"}
    config.setdefault("@context", unsigned["@context"])
    assert config == load_json(vectors_dir() / folder / f"proofConfig{tag}.json")

    # canonical forms, byte for byte
    if suite == di.RDFC:
        canon_doc = canonicalize_document(unsigned, vector_loader)
        canon_proof = canonicalize_document(config, vector_loader)
    else:
        canon_doc, canon_proof = rfc8785.dumps(unsigned).decode(), rfc8785.dumps(config).decode()
    assert canon_doc.encode() == text(f"{folder}/canonDoc{tag}.txt").encode()
    assert canon_proof.encode() == text(f"{folder}/proofCanon{tag}.txt").encode()

    # hashes: proof config hash first
    doc_hash = hashlib.sha256(canon_doc.encode()).hexdigest()
    proof_hash = hashlib.sha256(canon_proof.encode()).hexdigest()
    assert doc_hash == text(f"{folder}/docHash{tag}.txt").strip()
    assert proof_hash == text(f"{folder}/proofHash{tag}.txt").strip()
    assert proof_hash + doc_hash == text(f"{folder}/combinedHash{tag}.txt").strip()

    # signature: hex, base58btc, and that it is the signature of the combined hash
    value = signed["proof"]["proofValue"]
    assert value == text(f"{folder}/sigBTC58{tag}.txt").strip()
    assert b58decode(value[1:]).hex() == text(f"{folder}/sigHex{tag}.txt").strip()
    vector_key.public_key().verify(b58decode(value[1:]), bytes.fromhex(proof_hash + doc_hash))

    # the secured document, including member order
    expected = load_json(vectors_dir() / folder / signed_name)
    assert signed == expected
    assert json.dumps(signed) == json.dumps(expected)
    assert di.verify(expected, resolve_did_key, loader=vector_loader).ok


@requires_shared
def test_official_proof_set_and_chain_vectors_reproduce(vector_loader):
    folder = vectors_dir() / "proof-set-chain"
    pairs = load_json(folder / "multiKeyPairs.json")
    keys = [decode_secret_multikey(pairs[f"keyPair{i}"]["privateKeyMultibase"]) for i in range(1, 5)]

    def add(document, key, config_name, **kwargs):
        config = load_json(folder / config_name)
        return di.sign(document, key, verification_method=config["verificationMethod"], created=config["created"],
                       proof_id=config.get("id"), previous_proof=config.get("previousProof"),
                       loader=vector_loader, **kwargs)

    document = load_json(folder / "unsigned.json")
    document = add(document, keys[0], "proofSetConfig1.json")
    assert document == load_json(folder / "signedProofSet1.json")
    document = add(document, keys[1], "proofSetConfig2.json")
    assert document == load_json(folder / "signedProofSet2.json")
    document = add(document, keys[2], "proofChainConfig1.json")
    assert document == load_json(folder / "signedProofChain1.json")
    document = add(document, keys[3], "proofChainConfig2.json")
    assert document == load_json(folder / "signedProofChain2.json")
    assert json.dumps(document) == json.dumps(load_json(folder / "signedProofChain2.json"))

    for name in ("signedProofSet1.json", "signedProofSet2.json", "signedProofChain1.json", "signedProofChain2.json"):
        result = di.verify(load_json(folder / name), resolve_did_key, loader=vector_loader)
        assert result.ok, (name, result.reason)
        assert all(p.ok for p in result.proofs)

    # the chain signs the proofs it names: dropping one breaks the later proofs
    broken = load_json(folder / "signedProofChain2.json")
    broken["proof"] = [p for p in broken["proof"] if p.get("id") != "urn:uuid:26329423-bec9-4b2e-88cb-a7c7d9dc4544"]
    result = di.verify(broken, resolve_did_key, loader=vector_loader)
    assert not result.ok and "previousProof" in result.reason and "not found" in result.reason
    # and altering a named proof breaks the proof that chains to it
    altered = load_json(folder / "signedProofChain2.json")
    altered["proof"][2]["created"] = "2023-02-26T22:06:39Z"
    result = di.verify(altered, resolve_did_key, loader=vector_loader)
    assert [p.ok for p in result.proofs] == [True, True, False, False]


@requires_shared
def test_employ_vector_needs_a_context_we_do_not_have(vector_loader):
    signed = load_json(vectors_dir() / "eddsa-rdfc-2022" / "employ" / "signedDataInt.json")
    result = di.verify(signed, resolve_did_key, loader=vector_loader)
    assert not result.ok and "citizenship/v4rc1" in result.reason  # refused, never fetched


@requires_shared
def test_legacy_ed25519signature2020_is_not_accepted(vector_loader):
    result = di.verify(load_json(vectors_dir() / "Ed25519Signature2020" / "signedEdSig.json"), resolve_did_key,
                       loader=vector_loader)
    assert not result.ok and "unsupported proof type" in result.reason


# --- our own documents ---------------------------------------------------------------------

def credential() -> dict:
    return {
        "@context": [CREDENTIALS_V2], "id": "urn:uuid:3b1e8f3a-6f0f-4a57-9d58-8f3f7f8a6c21",
        "type": ["VerifiableCredential"], "name": "Part carbon footprint attestation",
        "description": "PCF of part P-1 ready for exchange", "issuer": "did:web:supplier.example",
        "validFrom": "2025-01-01T00:00:00Z", "validUntil": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "urn:uuid:6d7e0c1a-5a55-4d3b-a0e1-3c2b8b4f9e77", "name": "Housing P-1",
                              "description": "cradle-to-gate, 2.31 kg CO2e per piece"},
        "relatedResource": [{"id": "https://supplier.example/pcf/P-1.json", "mediaType": "application/json",
                             "digestMultibase": "uEiBZlVztZpfWHgPyslVv6-UwirFoQoRvW1htfX963sknNA"}],
    }


def policy() -> dict:
    """A DSP catalog: not a credential, so the proof terms come from our data-integrity context."""
    return {"@context": [DSPACE, DI_V2], "@id": "urn:uuid:1f0c3b7e-9a34-4f4c-8a9e-0f7b6b6e2d10",
            "@type": "Catalog", "participantId": "did:web:supplier.example", "dataset": [
                {"@id": "urn:uuid:9d4f6a2c-2b3f-4e6a-9c1d-7a5e3f2b1c0d", "@type": "Dataset",
                 "hasPolicy": [{"@id": "urn:uuid:7c2e", "@type": "Offer",
                                "permission": [{"action": "use"}]}]}]}


@pytest.fixture(scope="module")
def key():
    return generate_key("did:web:supplier.example#key-1")


def resolver(key):
    return lambda url: key.verification_method() if url == key.id else (_ for _ in ()).throw(LookupError(url))


@pytest.mark.parametrize("suite", di.CRYPTOSUITES)
@pytest.mark.parametrize("make", [credential, policy], ids=["credential", "dsp-catalog"])
def test_round_trip(suite, make, key):
    document = make()
    original = copy.deepcopy(document)
    signed = di.sign(document, key, cryptosuite=suite)
    assert document == original, "sign must not modify its input"
    proof = signed["proof"]
    assert proof["type"] == "DataIntegrityProof" and proof["cryptosuite"] == suite
    assert proof["verificationMethod"] == key.id and proof["proofPurpose"] == "assertionMethod"
    assert proof["proofValue"].startswith("z") and len(b58decode(proof["proofValue"][1:])) == 64
    assert ("@context" in proof) == (suite == di.JCS)
    result = di.verify(signed, resolver(key))
    assert result.ok and result and result.reason is None and len(result.proofs) == 1
    result.raise_for_failure()


@pytest.mark.parametrize("suite", di.CRYPTOSUITES)
@pytest.mark.parametrize("tamper", [
    lambda d: d["credentialSubject"].update(description="cradle-to-gate, 1.31 kg CO2e per piece"),
    lambda d: d.update(validUntil="2036-01-01T00:00:00Z"),
    lambda d: d["type"].append("VerifiablePresentation"),
    lambda d: d["relatedResource"][0].update(digestMultibase="uEiBZlVztZpfWHgPyslVv6-UwirFoQoRvW1htfX963sknNB"),
    lambda d: d["proof"].update(created="2030-01-01T00:00:00Z"),
    lambda d: d["proof"].update(proofPurpose="authentication"),
], ids=["subject", "validity", "type", "digest", "proof-created", "proof-purpose"])
def test_tampering_is_detected(suite, tamper, key):
    signed = di.sign(credential(), key, cryptosuite=suite)
    tamper(signed)
    result = di.verify(signed, resolver(key), proof_purpose=None)
    assert not result.ok and not result
    assert "signature does not match" in result.reason
    with pytest.raises(di.VerificationError, match="signature does not match"):
        result.raise_for_failure()


def test_undefined_term_added_after_signing_is_refused_not_ignored(key):
    """Plain pyld would drop the new key and the signature would still verify."""
    signed = di.sign(credential(), key)
    signed["credentialSubject"]["pcfExcludingBiogenic"] = 0.01
    result = di.verify(signed, resolver(key))
    assert not result.ok and "undefined term 'pcfExcludingBiogenic'" in result.reason


def test_jcs_covers_the_bytes_even_without_the_json_ld_check(key):
    signed = di.sign(credential(), key, cryptosuite=di.JCS)
    signed["credentialSubject"]["extra"] = "x"
    assert "undefined term 'extra'" in di.verify(signed, resolver(key)).reason
    assert "signature does not match" in di.verify(signed, resolver(key), check_jsonld=False).reason


def test_jcs_context_prefix_rule(key):
    signed = di.sign(policy(), key, cryptosuite=di.JCS)
    assert signed["proof"]["@context"] == [DSPACE, DI_V2]
    changed = copy.deepcopy(signed)
    changed["@context"] = [DI_V2, DSPACE]
    assert "does not start with the proof's @context" in di.verify(changed, resolver(key)).reason
    # appending a context after signing is what the suite allows; the signed part is unchanged
    appended = copy.deepcopy(signed)
    appended["@context"] = [DSPACE, DI_V2, "https://w3id.org/edc/v0.0.1"]
    assert di.verify(appended, resolver(key)).ok


@pytest.mark.parametrize("suite", di.CRYPTOSUITES)
def test_signing_refuses_unsafe_documents_with_reasons(suite, key):
    cases = [
        ({**credential(), "colour": "red"}, "undefined_term", "'colour'"),
        ({**credential(), "issuer": "supplier"}, "relative_iri", "'supplier'"),
        ({**credential(), "@context": [CREDENTIALS_V2, "https://www.w3.org/ns/credentials/examples/v2"]},
         "unknown_context", "examples/v2"),
        ({**credential(), "@context": [CREDENTIALS_V2, {"@vocab": "https://x.example/"}]}, "inline_context", "inline"),
    ]
    for document, code, needle in cases:
        with pytest.raises(di.SigningError) as caught:
            di.sign(document, key, cryptosuite=suite)
        assert caught.value.code == code and needle in caught.value.reason
        assert isinstance(caught.value, DataIntegrityError) and isinstance(caught.value, ValueError)


def test_proof_terms_need_a_context_that_defines_them(key):
    document = {k: v for k, v in policy().items()}
    document["@context"] = [DSPACE]
    with pytest.raises(di.SigningError, match="data-integrity/v2") as caught:
        di.sign(document, key)
    assert caught.value.code == "undefined_term"


def test_verification_reports_unknown_contexts(key):
    signed = di.sign(credential(), key)
    signed["@context"] = [CREDENTIALS_V2, "https://evil.example/context"]
    result = di.verify(signed, resolver(key))
    assert not result.ok and "unknown JSON-LD context 'https://evil.example/context'" in result.reason


def test_proof_set_with_two_keys_and_one_bad_proof(key):
    other = generate_key("did:web:auditor.example#key-9")
    both = {key.id: key.verification_method(), other.id: other.verification_method()}
    signed = di.sign(di.sign(credential(), key), other, cryptosuite=di.JCS)
    assert isinstance(signed["proof"], list) and len(signed["proof"]) == 2
    result = di.verify(signed, both.__getitem__)
    assert result.ok and [p.ok for p in result.proofs] == [True, True]
    signed["proof"][1]["proofValue"] = signed["proof"][0]["proofValue"]
    result = di.verify(signed, both.__getitem__)
    assert not result.ok and [p.ok for p in result.proofs] == [True, False]
    assert result.reason.startswith("proof 2 of 2:")


def test_chain_signs_the_previous_proof(key):
    other = generate_key("did:web:auditor.example#key-9")
    methods = {key.id: key.verification_method(), other.id: other.verification_method()}
    first = di.sign(credential(), key, proof_id="urn:uuid:proof-1")
    chained = di.sign(first, other, previous_proof="urn:uuid:proof-1")
    assert chained["proof"][1]["previousProof"] == "urn:uuid:proof-1"
    assert di.verify(chained, methods.__getitem__).ok
    with pytest.raises(di.SigningError, match="not found"):
        di.sign(first, other, previous_proof="urn:uuid:nope")


def test_purpose_expiry_and_malformed_proofs(key):
    signed = di.sign(credential(), key)
    assert "expected 'authentication'" in di.verify(signed, resolver(key), proof_purpose="authentication").reason
    expired = di.sign(credential(), key, expires="2020-01-01T00:00:00Z")
    assert "expired" in di.verify(expired, resolver(key)).reason
    assert di.verify(di.sign(credential(), key, expires="2999-01-01T00:00:00Z"), resolver(key)).ok
    for change, needle in [
        ({"proofValue": "u" + signed["proof"]["proofValue"][1:]}, "proofValue"),
        ({"proofValue": "z3FXQ"}, "not a 64-byte"),
        ({"cryptosuite": "ecdsa-rdfc-2019"}, "unsupported cryptosuite"),
        ({"type": "Ed25519Signature2020"}, "unsupported proof type"),
        ({"created": "yesterday"}, "dateTimeStamp"),
    ]:
        broken = {**signed, "proof": {**signed["proof"], **change}}
        assert needle in di.verify(broken, resolver(key)).reason
    assert di.verify(credential(), resolver(key)).reason == "document has no proof"
    assert di.verify({**credential(), "proof": []}, resolver(key)).reason == "document has an empty proof set"


def test_sign_argument_errors(key):
    with pytest.raises(di.SigningError, match="unsupported cryptosuite"):
        di.sign(credential(), key, cryptosuite="ecdsa-rdfc-2019")
    with pytest.raises(di.SigningError, match="dateTimeStamp"):
        di.sign(credential(), key, created="2025-01-01")  # no time zone
    with pytest.raises(di.SigningError, match="absolute URL"):
        di.sign(credential(), key.private_key)  # a bare key needs an explicit method
    with pytest.raises(di.SigningError, match="JSON object"):
        di.sign([credential()], key)  # type: ignore[arg-type]


def test_resolver_variants(key):
    signed = di.sign(credential(), key)
    controller = {"@context": ["https://www.w3.org/ns/did/v1"], "id": "did:web:supplier.example",
                  "verificationMethod": [{**key.verification_method(), "id": "#key-1"}],
                  "assertionMethod": ["#key-1"]}
    assert di.verify(signed, lambda url: controller).ok
    assert "not authorized for 'assertionMethod'" in di.verify(
        signed, lambda url: {**controller, "assertionMethod": []}).reason
    embedded = {"id": "did:web:supplier.example", "verificationMethod": [],
                "assertionMethod": [key.verification_method()]}
    assert di.verify(signed, lambda url: embedded).ok
    assert di.verify(signed, lambda url: jwk_vm(key.id, key.controller, key.public_key)).ok
    assert di.verify(signed, lambda url: key.public_key.public_bytes_raw()).ok
    assert di.verify(signed, lambda url: key.public_key).ok
    assert "returned method" in di.verify(signed, lambda url: {**key.verification_method(), "id": "did:x#y"}).reason
    assert "was revoked" in di.verify(signed, lambda url: {**key.verification_method(), "revoked": CREATED}).reason
    reason = di.verify(signed, lambda url: (_ for _ in ()).throw(ConnectionError("DID host unreachable"))).reason
    assert "DID host unreachable" in reason
    stranger = Ed25519PrivateKey.generate().public_key()
    assert "signature does not match" in di.verify(signed, lambda url: stranger).reason


def test_did_key_documents_as_controller_documents():
    private = Ed25519PrivateKey.generate()
    vm = did_key_vm_id(private.public_key())
    signed = di.sign(credential(), private, verification_method=vm, proof_purpose="authentication")
    assert di.verify(signed, resolve_did_key, proof_purpose="authentication").ok
    assert di.verify(signed, lambda url: did_key_document(url.split("#")[0]), proof_purpose="authentication").ok


def test_poison_graph_in_a_document_is_refused_quickly(key):
    nodes = [f"_:n{i}" for i in range(10)]
    clique = {"@context": [{"@vocab": "https://ex.example/"}], "@graph": [
        {"@id": n, "p": [{"@id": m} for m in nodes if m != n]} for n in nodes]}
    started = time.monotonic()
    with pytest.raises(di.SigningError) as caught:
        di.sign(clique, key, allow_inline_contexts=True)
    assert caught.value.code == "poison_graph" and time.monotonic() - started < 5
    assert isinstance(CanonicalizationError("x"), DataIntegrityError)


def test_control_characters_round_trip(key):
    document = credential()
    document["description"] = "line\x0bbreak\x1b[0m\x7f"
    signed = di.sign(document, key)
    assert di.verify(signed, resolver(key)).ok
    assert "\\u000B" in canonicalize_document(document)


def test_verify_fails_closed_on_malformed_json_ld(key):
    signed = di.sign(credential(), key)
    signed["id"] = 5
    result = di.verify(signed, resolver(key))
    assert not result.ok and "JSON-LD expansion failed" in result.reason


def test_concurrent_signing_and_verification_share_the_caches_safely(key):
    from concurrent.futures import ThreadPoolExecutor

    def work(i: int) -> bool:
        document = credential()
        document["credentialSubject"]["name"] = f"Housing P-{i}"
        document = policy() if i % 3 == 0 else document
        signed = di.sign(document, key, cryptosuite=di.CRYPTOSUITES[i % 2], created=CREATED)
        return di.verify(signed, resolver(key)).ok

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(work, range(48)))


def test_warm_caches_do_not_change_results(key):
    """Signing is deterministic: a fresh loader (cold caches) yields the same proof value."""
    from connector.identity.contexts import SigningContextLoader

    for document in (policy(), credential(), credential()):
        di.sign(document, key, created=CREATED)  # warms the default loader's memos
    warm = di.sign(credential(), key, created=CREATED)
    cold = di.sign(credential(), key, created=CREATED, loader=SigningContextLoader())
    assert warm == cold
