"""The identity commands through typer's CliRunner: sign/verify, agreement verify, keys, issuer, init."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli.main import app
from connector.identity.did import build_did_document
from connector.identity.keys import KeySet, SigningKey
from connector.identity.wallet import LocalIdentity, Wallet, load_keys

runner = CliRunner()
DOC = {"@context": ["https://www.w3.org/ns/credentials/v2"], "id": "urn:uuid:doc-1",
       "type": ["VerifiableCredential"], "issuer": "did:web:signer.example",
       "credentialSubject": {"id": "did:web:subject.example"}}


def run(*args: str, env: dict | None = None):
    return runner.invoke(app, [str(a) for a in args], env=env)


def write(path: Path, data) -> Path:
    path.write_text(json.dumps(data, indent=1))
    return path


@pytest.fixture
def did_key_file(tmp_path) -> Path:
    result = run("keys", "new", "--out", tmp_path / "k.json")
    assert result.exit_code == 0, result.output
    return tmp_path / "k.json"


@pytest.fixture
def did_web_signer(tmp_path):
    result = run("keys", "new", "--out", tmp_path / "w.keys.json", "--controller", "did:web:signer.example")
    assert result.exit_code == 0, result.output
    document = build_did_document("did:web:signer.example", load_keys(tmp_path / "w.keys.json"))
    return tmp_path / "w.keys.json", write(tmp_path / "signer-did.json", document)


@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
def test_sign_then_verify_round_trip_with_did_key(tmp_path, did_key_file, suite):
    signed_path = tmp_path / "signed.json"
    result = run("sign", write(tmp_path / "doc.json", DOC), "--key", did_key_file, "--cryptosuite", suite,
                 "--out", signed_path)
    assert result.exit_code == 0, result.output
    signed = json.loads(signed_path.read_text())
    assert signed["proof"]["cryptosuite"] == suite
    assert signed["proof"]["verificationMethod"].startswith("did:key:z6Mk")
    result = run("verify", signed_path)
    assert result.exit_code == 0, result.output
    assert f"ok: {suite} proof (assertionMethod) by did:key:" in result.output


@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
def test_a_tampered_file_fails_with_a_reason(tmp_path, did_key_file, suite):
    result = run("sign", write(tmp_path / "doc.json", DOC), "--key", did_key_file, "--cryptosuite", suite)
    signed = json.loads(result.stdout)
    signed["credentialSubject"]["id"] = "did:web:mallory.example"
    result = run("verify", write(tmp_path / "tampered.json", signed))
    assert result.exit_code == 1
    assert "verification failed" in result.output and "signature does not match" in result.output


def test_did_web_method_with_did_doc(tmp_path, did_web_signer):
    key_file, did_doc = did_web_signer
    result = run("sign", write(tmp_path / "doc.json", DOC), "--key", key_file)
    assert result.exit_code == 0, result.output
    signed = write(tmp_path / "signed.json", json.loads(result.stdout))
    assert json.loads(signed.read_text())["proof"]["verificationMethod"] == "did:web:signer.example#key-1"
    result = run("verify", signed, "--did-doc", did_doc)
    assert result.exit_code == 0, result.output
    result = run("verify", signed, "--offline")
    assert result.exit_code == 1 and "no DID document for did:web:signer.example" in result.output
    other = build_did_document("did:web:signer.example",
                               KeySet(SigningKey.generate("did:web:signer.example#key-1", "did:web:signer.example")))
    result = run("verify", signed, "--did-doc", write(tmp_path / "other-did.json", other))
    assert result.exit_code == 1 and "signature does not match" in result.output


def test_context_url_equals_file(tmp_path, did_key_file):
    url = "https://vocab.example.org/parts/v1"
    context = write(tmp_path / "parts.jsonld", {"@context": {"ex": "https://vocab.example.org/parts#",
                                                              "partNumber": "ex:partNumber", "Part": "ex:Part"}})
    doc = write(tmp_path / "part.json", {"@context": [url, "https://w3id.org/security/data-integrity/v2"],
                                          "id": "urn:part:NG-WC-400", "type": "Part", "partNumber": "NG-WC-400"})
    result = run("sign", doc, "--key", did_key_file)
    assert result.exit_code == 1 and "unknown JSON-LD context" in result.output
    result = run("sign", doc, "--key", did_key_file, "--context", f"{url}={context}", "--out", tmp_path / "s.json")
    assert result.exit_code == 0, result.output
    assert run("verify", tmp_path / "s.json", "--context", f"{url}={context}").exit_code == 0
    result = run("verify", tmp_path / "s.json")
    assert result.exit_code == 1 and "unknown JSON-LD context" in result.output
    result = run("verify", tmp_path / "s.json", "--context", "no-equals-sign")
    assert result.exit_code == 2 and "URL=FILE" in result.output
    shadow = run("verify", tmp_path / "s.json", "--context", f"https://www.w3.org/ns/credentials/v2={context}")
    assert shadow.exit_code == 2 and "shadow" in shadow.output


def test_undefined_terms_are_refused(tmp_path, did_key_file):
    result = run("sign", write(tmp_path / "doc.json", {**DOC, "sneaky": "unsigned?"}), "--key", did_key_file)
    assert result.exit_code == 1 and "undefined term 'sneaky'" in result.output


def test_usage_errors_exit_2(tmp_path, did_key_file):
    (tmp_path / "bad.json").write_text("{not json")
    assert run("verify", tmp_path / "bad.json").exit_code == 2
    assert run("verify", tmp_path / "missing.json").exit_code == 2
    assert run("sign", write(tmp_path / "doc.json", DOC)).exit_code == 2  # no key
    result = run("verify", write(tmp_path / "unsigned.json", DOC))
    assert result.exit_code == 1 and "no proof" in result.output


def test_sign_with_an_encrypted_key(tmp_path):
    env = {"PONTIS_KEY_PASSPHRASE": "correct horse"}
    assert run("keys", "new", "--out", tmp_path / "k.json", env=env).exit_code == 0
    assert "encryptedSecretKey" in (tmp_path / "k.json").read_text()
    doc = write(tmp_path / "doc.json", DOC)
    assert run("sign", doc, "--key", tmp_path / "k.json", env=env).exit_code == 0
    result = run("sign", doc, "--key", tmp_path / "k.json", env={"PONTIS_KEY_PASSPHRASE": "wrong"})
    assert result.exit_code == 2 and "passphrase" in result.output


def test_keys_rotate(tmp_path, did_web_signer):
    key_file, _ = did_web_signer
    result = run("keys", "rotate", "--key", key_file)
    assert result.exit_code == 0, result.output
    keys = load_keys(key_file)
    assert keys.active.id != "did:web:signer.example#key-1"
    assert keys.resolve("did:web:signer.example#key-1")  # the old method stays


# --- agreements -----------------------------------------------------------------------------------

PROVIDER, CONSUMER = "did:web:provider.example", "did:web:consumer.example"


def signed_agreement():
    provider = LocalIdentity(PROVIDER, KeySet(SigningKey.generate(f"{PROVIDER}#key-1", PROVIDER)))
    consumer = LocalIdentity(CONSUMER, KeySet(SigningKey.generate(f"{CONSUMER}#key-1", CONSUMER)))
    agreement = {"@context": ["https://w3id.org/catenax/2025/9/policy/context.jsonld",
                              "https://w3id.org/dspace/2025/1/odrl-profile.jsonld"],
                 "@type": "Agreement", "@id": "urn:uuid:agreement-7", "target": "urn:asset:pcf-1",
                 "assigner": PROVIDER, "assignee": CONSUMER,
                 "permission": [{"action": "use", "constraint": [
                     {"leftOperand": "FrameworkAgreement", "operator": "eq",
                      "rightOperand": "DataExchangeGovernance:1.0"}]}]}
    both = consumer.countersign_agreement(provider.sign_agreement(agreement))
    return both, provider.did_document(), consumer.did_document()


def test_agreement_verify_with_adjacent_did_documents(tmp_path):
    both, provider_doc, consumer_doc = signed_agreement()
    folder = tmp_path / "export"
    folder.mkdir()
    agreement = write(folder / "agreement.json", both)
    result = run("agreement", "verify", agreement)
    assert result.exit_code == 1 and "offline" in result.output  # no DID documents yet
    write(folder / "provider.did.json", provider_doc)
    write(folder / "consumer.did.json", consumer_doc)
    result = run("agreement", "verify", agreement, "--require-consumer")
    assert result.exit_code == 0, result.output
    assert f"provider {PROVIDER}: signed" in result.output and "counter-signed" in result.output


def test_agreement_verify_bundle_and_did_doc_option(tmp_path):
    both, provider_doc, consumer_doc = signed_agreement()
    bundle = write(tmp_path / "bundle.json", {"signedAgreement": both, "didDocuments": [provider_doc, consumer_doc]})
    assert run("agreement", "verify", bundle).exit_code == 0
    plain = write(tmp_path / "a.json", both)
    pd, cd = write(tmp_path / "p.json", provider_doc), write(tmp_path / "c.json", consumer_doc)
    assert run("agreement", "verify", plain, "--did-doc", pd, "--did-doc", cd).exit_code == 0


def test_a_tampered_agreement_fails_agreement_verify(tmp_path):
    both, provider_doc, consumer_doc = signed_agreement()
    both["target"] = "urn:asset:something-else"
    bundle = write(tmp_path / "bundle.json", {"signedAgreement": both, "didDocuments": [provider_doc, consumer_doc]})
    result = run("agreement", "verify", bundle)
    assert result.exit_code == 1 and "signature does not match" in result.output


def test_agreement_verify_require_consumer(tmp_path):
    both, provider_doc, _ = signed_agreement()
    provider_only = {**both, "proof": both["proof"][0]}
    bundle = write(tmp_path / "bundle.json", {"signedAgreement": provider_only, "didDocuments": [provider_doc]})
    result = run("agreement", "verify", bundle)
    assert result.exit_code == 0 and "not counter-signed" in result.output
    result = run("agreement", "verify", bundle, "--require-consumer")
    assert result.exit_code == 1 and "has not counter-signed" in result.output


# --- issuer and init --------------------------------------------------------------------------------

def test_issuer_init_issue_revoke(tmp_path):
    folder = tmp_path / "issuer"
    result = run("issuer", "init", "--dir", folder, "--did", "did:web:localhost%3A8181:issuer")
    assert result.exit_code == 0, result.output
    assert "http://localhost:8181/issuer/status-list" in result.output
    wallet = tmp_path / "acme.credentials.json"
    result = run("issuer", "issue", "--dir", folder, "--subject", "did:web:acme.example", "--type", "Bpn",
                 "--bpn", "BPNL00000000ACME", "--wallet", wallet)
    assert result.exit_code == 0, result.output
    entry = Wallet.load(wallet).entries[0]
    assert entry["type"] == ["VerifiableCredential", "BpnCredential"] and entry["dataIntegrity"]["proof"]
    result = run("issuer", "issue", "--dir", folder, "--subject", "did:web:acme.example", "--type", "Membership")
    assert result.exit_code == 0 and json.loads(result.stdout)["jwt"].count(".") == 2
    assert run("issuer", "revoke", "--dir", folder, "--id", entry["id"]).exit_code == 0
    result = run("issuer", "revoke", "--dir", folder, "--id", "urn:uuid:nope")
    assert result.exit_code == 2 and "issued no credential" in result.output
    result = run("issuer", "issue", "--dir", folder, "--subject", "did:web:acme.example", "--type", "Bpn")
    assert result.exit_code == 2 and "needs a BPN" in result.output
    assert run("issuer", "init", "--dir", folder, "--did", "did:web:x.example").exit_code == 2  # exists


def test_init_writes_a_0600_key_file_and_the_identity_section(tmp_path):
    out = tmp_path / "acme.toml"
    result = run("init", "--participant-id", "did:web:localhost%3A8181", "--out", out, "--auth", "dcp",
                 env={"PONTIS_KEY_PASSPHRASE": "pw"})
    assert result.exit_code == 0, result.output
    key_file = tmp_path / "acme.keys.json"
    assert oct(os.stat(key_file).st_mode & 0o777) == "0o600"
    assert "encryptedSecretKey" in key_file.read_text()
    from connector.config import load_settings

    settings = load_settings(out)
    assert settings.identity.auth_mode == "dcp" and settings.identity.key_file == str(key_file)
    assert settings.identity.allow_insecure_did_web is True
    assert load_keys(key_file, "pw").active.id == "did:web:localhost%3A8181#key-1"
    result = run("init", "--participant-id", "BPNL00000000ACME", "--out", tmp_path / "b.toml")
    assert result.exit_code == 0 and "did:key:" in result.output
    result = run("init", "--participant-id", "BPNL00000000ACME", "--out", tmp_path / "c.toml", "--auth", "dcp")
    assert result.exit_code == 2 and "did:web" in result.output
    result = run("init", "--participant-id", "did:web:localhost%3A8181", "--out", tmp_path / "d.toml",
                 "--auth", "dcp-embeded")
    assert result.exit_code == 2 and "did you mean 'dcp-embedded'?" in result.output
