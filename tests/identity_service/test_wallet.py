"""Our identity on disk (keys, wallet), agreements signed as a proof set, and building from settings."""

from __future__ import annotations

import copy
import os

import pytest

from connector.identity.dataintegrity import SigningError
from connector.identity.did import DidResolver
from connector.identity.keys import KeyFileError, KeySet, SigningKey
from connector.identity.wallet import (
    LocalIdentity,
    Wallet,
    agreement_bundle,
    default_wallet_path,
    identity_from_settings,
    load_keys,
    new_key_file,
    verify_agreement,
)

PROVIDER, CONSUMER = "did:web:provider.example", "did:web:consumer.example"
POLICY_CONTEXT = ["https://w3id.org/catenax/2025/9/policy/context.jsonld",
                  "https://w3id.org/dspace/2025/1/odrl-profile.jsonld"]


def identity(did: str) -> LocalIdentity:
    return LocalIdentity(did, KeySet(SigningKey.generate(f"{did}#key-1", did)))


def agreement() -> dict:
    return {"@context": list(POLICY_CONTEXT), "@type": "Agreement", "@id": "urn:uuid:agreement-1",
            "target": "urn:asset:pcf-NG-WC-400", "assigner": PROVIDER, "assignee": CONSUMER,
            "permission": [{"action": "use", "constraint": [{"and": [
                {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
                {"leftOperand": "UsagePurpose", "operator": "isAnyOf", "rightOperand": ["cx.pcf.base:1"]}]}]}]}


@pytest.fixture
def parties():
    provider, consumer = identity(PROVIDER), identity(CONSUMER)
    resolver = DidResolver(offline=True, documents=[provider.did_document(), consumer.did_document()])
    return provider, consumer, resolver


def test_provider_signs_consumer_countersigns_both_verify(parties):
    provider, consumer, resolver = parties
    signed = provider.sign_agreement(agreement())
    assert signed["@context"][-1] == "https://w3id.org/security/data-integrity/v2"
    check = verify_agreement(signed, resolver.resolve_key)
    assert check.ok and check.provider_signed and not check.consumer_signed
    assert not verify_agreement(signed, resolver.resolve_key, require_consumer=True)
    both = consumer.countersign_agreement(signed)
    assert [p["verificationMethod"] for p in both["proof"]] == [f"{PROVIDER}#key-1", f"{CONSUMER}#key-1"]
    check = verify_agreement(both, resolver.resolve_key, require_consumer=True)
    assert check.ok and check.signers == [PROVIDER, CONSUMER]


def test_a_tampered_agreement_fails(parties):
    provider, consumer, resolver = parties
    both = consumer.countersign_agreement(provider.sign_agreement(agreement()))
    tampered = copy.deepcopy(both)
    tampered["permission"][0]["constraint"][0]["and"][1]["rightOperand"] = ["cx.core.industrycore:1"]
    check = verify_agreement(tampered, resolver.resolve_key)
    assert not check.ok and "signature does not match" in check.reason


def test_only_the_parties_may_sign(parties):
    provider, consumer, resolver = parties
    with pytest.raises(SigningError, match="assigner"):
        consumer.sign_agreement(agreement())
    signed = provider.sign_agreement(agreement())
    with pytest.raises(SigningError, match="assignee"):
        provider.countersign_agreement(signed)
    with pytest.raises(SigningError, match="already signed"):
        provider.sign_agreement(signed)
    with pytest.raises(SigningError, match="no provider proof"):
        consumer.countersign_agreement(agreement())
    stranger = identity("did:web:stranger.example")
    resolver.pin(stranger.did_document())
    extra = stranger.sign(signed)
    check = verify_agreement(extra, resolver.resolve_key)
    assert not check.ok and "neither the provider" in check.reason


def test_consumer_only_signature_is_not_enough(parties):
    provider, consumer, resolver = parties
    signed_by_consumer = consumer.sign(agreement())
    check = verify_agreement(signed_by_consumer, resolver.resolve_key)
    assert not check.ok and "has not signed" in check.reason


def test_rotated_provider_key_still_verifies_old_agreements(parties):
    provider, consumer, _ = parties
    signed = provider.sign_agreement(agreement())
    provider.keys.rotate()
    resolver = DidResolver(offline=True, documents=[provider.did_document()])
    assert verify_agreement(signed, resolver.resolve_key)
    # but a rotated-out key can no longer authenticate
    old_jwk = f"{PROVIDER}#key-1-jwk"
    assert old_jwk not in provider.did_document()["capabilityInvocation"]


def test_bundle_shape(parties):
    provider, consumer, _ = parties
    signed = provider.sign_agreement(agreement())
    bundle = agreement_bundle(signed, [provider.did_document()])
    assert bundle["signedAgreement"] is signed and bundle["didDocuments"][0]["id"] == PROVIDER


def test_wallet_round_trip(tmp_path):
    wallet = Wallet.load(tmp_path / "w.json")
    assert wallet.entries == []
    wallet.add({"id": "urn:1", "type": ["VerifiableCredential", "MembershipCredential"], "jwt": "a.b.c"})
    wallet.add({"id": "urn:1", "type": ["VerifiableCredential", "MembershipCredential"], "jwt": "d.e.f"})
    wallet.save()
    assert oct(os.stat(tmp_path / "w.json").st_mode & 0o777) == "0o600"
    again = Wallet.load(tmp_path / "w.json")
    assert again.jwts() == ["d.e.f"] and again.types() == ["MembershipCredential"]
    assert again.remove("urn:1") and not again.remove("urn:1")
    with pytest.raises(KeyFileError):
        wallet.add({"id": "urn:2"})
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(KeyFileError):
        Wallet.load(tmp_path / "bad.json")


def test_key_files_with_and_without_passphrase(tmp_path):
    keys = new_key_file(tmp_path / "a.keys.json", PROVIDER)
    assert keys.active.id == f"{PROVIDER}#key-1"
    assert oct(os.stat(tmp_path / "a.keys.json").st_mode & 0o777) == "0o600"
    assert load_keys(tmp_path / "a.keys.json").active.id == keys.active.id
    new_key_file(tmp_path / "b.keys.json", PROVIDER, passphrase="s3cret")
    with pytest.raises(KeyFileError, match="passphrase"):
        load_keys(tmp_path / "b.keys.json")
    with pytest.raises(KeyFileError):
        load_keys(tmp_path / "b.keys.json", "wrong")
    assert load_keys(tmp_path / "b.keys.json", "s3cret").active.controller == PROVIDER
    from connector.identity.keys import save_key

    save_key(SigningKey.generate(f"{PROVIDER}#k", PROVIDER), tmp_path / "single.json")
    assert load_keys(tmp_path / "single.json").active.id == f"{PROVIDER}#k"  # a single-key file is accepted
    os.chmod(tmp_path / "a.keys.json", 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_keys(tmp_path / "a.keys.json")


def test_identity_from_settings(tmp_path, monkeypatch):
    from connector.config import Settings

    new_key_file(tmp_path / "p.keys.json", PROVIDER, passphrase="pw")
    settings = Settings(participant_id=PROVIDER, api_key="k",
                        identity={"key_file": str(tmp_path / "p.keys.json")})
    monkeypatch.setenv("PONTIS_KEY_PASSPHRASE", "pw")
    local = identity_from_settings(settings)
    assert local.did == PROVIDER and local.kid == f"{PROVIDER}#key-1-jwk"
    assert local.wallet.path == default_wallet_path(tmp_path / "p.keys.json") == tmp_path / "p.credentials.json"
    assert identity_from_settings(Settings(participant_id=PROVIDER, api_key="k")) is None
    wrong = Settings(participant_id=CONSUMER, api_key="k", identity={"key_file": str(tmp_path / "p.keys.json")})
    with pytest.raises(KeyFileError, match="belongs to"):
        identity_from_settings(wrong)


def test_dcp_mode_is_built_by_the_container(tmp_path):
    from connector.config import Settings
    from connector.identity.dcp import DcpAuthenticator
    from connector.identity.keys import KeyFileError  # noqa: F401
    from connector.services.container import build

    new_key_file(tmp_path / "p.keys.json", PROVIDER)
    base = dict(participant_id=PROVIDER, api_key="k", database_url=f"sqlite:///{tmp_path}/db.sqlite")
    from connector.identity.presentation import DcpPresentationAuthenticator
    from connector.services.replay import DatabaseReplayCache

    for mode, kind in (("dcp", DcpPresentationAuthenticator), ("dcp-embedded", DcpAuthenticator)):
        container = build(Settings(**base, identity={"auth_mode": mode, "key_file": str(tmp_path / "p.keys.json"),
                                                     "trusted_issuers": ["did:web:issuer.example"]}))
        assert isinstance(container.authenticator, kind)
        assert container.identity.did == PROVIDER
        assert container.authenticator.trusted_issuers == {"did:web:issuer.example"}
        assert isinstance(container.replay, DatabaseReplayCache)  # shared by replicas
        assert container.credential_service is not None
    static = build(Settings(**base))
    assert not isinstance(static.authenticator, DcpAuthenticator) and static.identity is None
    from connector.identity.did import IdentityError

    with pytest.raises(IdentityError, match="key_file"):
        build(Settings(**base, identity={"auth_mode": "dcp"}))


def test_verify_signed_checks_the_signer(parties):
    from connector.identity.dataintegrity import JCS
    from connector.identity.wallet import verify_signed

    provider, consumer, resolver = parties
    pcf = {"@context": ["https://www.w3.org/ns/credentials/v2"], "id": "urn:pcf:1", "type": ["VerifiableCredential"],
           "issuer": PROVIDER, "credentialSubject": {"id": "urn:part:NG-WC-400"}}
    signed = provider.sign(pcf, cryptosuite=JCS)
    assert verify_signed(signed, resolver.resolve_key, signer=PROVIDER)
    wrong = verify_signed(signed, resolver.resolve_key, signer=CONSUMER)
    assert not wrong.ok and f"not by {CONSUMER}" in wrong.reason
    consumer.resolver.pin(provider.did_document())
    assert consumer.verify_signed(signed, signer=PROVIDER)


def test_identity_verifies_and_exports_agreements_with_its_resolver(parties):
    provider, consumer, _ = parties
    consumer.resolver.pin(provider.did_document())
    signed = provider.sign_agreement(agreement())
    assert consumer.verify_agreement(signed).ok
    both = consumer.countersign_agreement(signed)
    bundle = consumer.export_agreement(both)
    assert [d["id"] for d in bundle["didDocuments"]] == [PROVIDER, CONSUMER]
    offline = DidResolver(offline=True, documents=bundle["didDocuments"])
    assert verify_agreement(bundle["signedAgreement"], offline.resolve_key, require_consumer=True)


def test_wallet_refresh_sees_credentials_added_to_the_file(tmp_path):
    wallet = Wallet(tmp_path / "w.json")
    wallet.save()
    other = Wallet.load(tmp_path / "w.json")  # e.g. `connector issuer issue --wallet` in another process
    other.add({"id": "urn:9", "type": ["VerifiableCredential", "BpnCredential"], "jwt": "x.y.z"})
    other.save()
    assert wallet.jwts() == []
    wallet.refresh()
    assert wallet.jwts() == ["x.y.z"]
