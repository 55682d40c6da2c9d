"""GX-6: a partner's label is verified (trusted issuer, digests of the covered credentials, dates,
subject) and gates an offer through the GaiaxLabelLevel operand, with explained denials."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connector.gaiax import store
from connector.gaiax.jose import sign_vc
from connector.gaiax.label import LabelRefused, bundle, digest_sri, label_credential, read_bundle, verify_label
from connector.gaiax.onboarding import onboard
from connector.gaiax.shapes import validator
from connector.policy import EvaluationContext, compile_policy, policy_from_compact_dsp, validate
from connector.store.db import Database

from .conftest import MockHandle, Participant, client_for, gx_settings, make_participant, resolver_for

POLICY = {"@context": ["https://w3id.org/dspace/2025/1/odrl-profile.jsonld",
                       "https://w3id.org/catenax/2025/9/policy/context.jsonld"],
          "@type": "Set", "@id": "gaiax-only",
          "permission": [{"action": "access", "constraint": [
              {"leftOperand": "https://w3id.org/pontis/v1/GaiaxLabelLevel", "operator": "gteq", "rightOperand": "SC"}]}]}


@pytest.fixture
def labelled(mock_gxdch: MockHandle, participant: Participant, db: Database, tmp_path: Path) -> dict[str, str]:
    onboard(gx_settings(mock_gxdch, tmp_path), participant.key, participant.public_url, client_for(mock_gxdch),
            resolver_for(participant), db, datetime.now(UTC), validator())
    return {c.kind: c.jwt for c in store.load(db)}


def _covered(creds: dict[str, str]) -> list[str]:
    return [creds["legal-person"], creds["issuer"], creds["registration"]]


def test_a_partners_label_gates_an_offer(mock_gxdch: MockHandle, participant: Participant,
                                         labelled: dict[str, str]) -> None:
    now = datetime.now(UTC)
    label_jwt, covered = read_bundle(bundle(labelled["label"], _covered(labelled)))
    verified = verify_label(label_jwt, covered, participant.did, resolver_for(participant),
                            [mock_gxdch.gxdch.did("compliance")], now, shapes=validator())
    policy = policy_from_compact_dsp(POLICY)
    assert validate(policy) == []
    compiled = compile_policy(policy)
    assert compiled.evaluate(EvaluationContext(now=now, claims=verified.claims(), scope="catalog")).allowed
    denied = compiled.evaluate(EvaluationContext(now=now, claims={"bpn": "BPNL000000000001"}, scope="catalog"))
    assert not denied.allowed
    assert denied.denials[0].text == "GaiaxLabelLevel gteq SC failed: the requester presented no verified Gaia-X label"
    later = now + timedelta(days=400)
    expired = compiled.evaluate(EvaluationContext(now=later, claims=verified.claims(), scope="catalog"))
    assert not expired.allowed and "expired at" in expired.denials[0].reason
    higher = compile_policy(policy_from_compact_dsp(
        {**POLICY, "permission": [{"action": "access", "constraint": [
            {"leftOperand": "https://w3id.org/pontis/v1/GaiaxLabelLevel", "operator": "gteq", "rightOperand": "L2"}]}]}))
    too_low = higher.evaluate(EvaluationContext(now=now, claims=verified.claims(), scope="catalog"))
    assert too_low.denials[0].reason == "the requester's Gaia-X label is SC, which is not gteq L2 (SC < L1 < L2 < L3)"


def test_refusals(mock_gxdch: MockHandle, participant: Participant, labelled: dict[str, str]) -> None:
    now, resolver = datetime.now(UTC), resolver_for(participant)
    trusted = [mock_gxdch.gxdch.did("compliance")]
    label, covered = labelled["label"], _covered(labelled)
    with pytest.raises(LabelRefused, match="not a trusted compliance service"):
        verify_label(label, covered, participant.did, resolver, ["did:web:other.example"], now)
    with pytest.raises(LabelRefused, match="expired at"):
        verify_label(label, covered, participant.did, resolver, trusted, now + timedelta(days=400))
    with pytest.raises(LabelRefused, match="a label for another subject"):
        verify_label(label, covered, "did:web:someone-else.example", resolver, trusted, now)
    with pytest.raises(LabelRefused, match="was not presented"):
        verify_label(label, covered[:2], participant.did, resolver, trusted, now)
    with pytest.raises(LabelRefused, match="does not match the label's digestSRI"):
        verify_label(label, covered, participant.did, resolver, trusted, now, digest="jcs")
    # the same credential id re-signed with other content: its digest no longer matches
    from connector.gaiax.jose import peek

    legal = peek(labelled["legal-person"])[1]
    legal["credentialSubject"]["schema:name"] = "Someone Else Ltd"
    swapped = [sign_vc(legal, participant.key), *covered[1:]]
    with pytest.raises(LabelRefused, match=f"digest of {legal['id']} does not match"):
        verify_label(label, swapped, participant.did, resolver, trusted, now)


def test_a_label_missing_a_covered_kind_and_the_jcs_digest(mock_gxdch: MockHandle, participant: Participant,
                                                           labelled: dict[str, str]) -> None:
    now, resolver = datetime.now(UTC), resolver_for(participant)
    compliance = mock_gxdch.gxdch.keys["compliance"]
    without_issuer = [labelled["legal-person"], labelled["registration"]]
    partial = sign_vc(label_credential(compliance.did, "https://l.example/1", without_issuer, "SC", now), compliance)
    with pytest.raises(LabelRefused, match="covers no gx:Issuer credential"):
        verify_label(partial, without_issuer, participant.did, resolver, [compliance.did], now)
    covered = _covered(labelled)
    jcs = sign_vc(label_credential(compliance.did, "https://l.example/2", covered, "L1", now, digest="jcs"), compliance)
    assert verify_label(jcs, covered, participant.did, resolver, [compliance.did], now, digest="jcs").level == "L1"
    assert digest_sri(covered[0], "jwt") != digest_sri(covered[0], "jcs")


def test_a_label_signed_by_an_impostor_is_refused(mock_gxdch: MockHandle, participant: Participant,
                                                  labelled: dict[str, str]) -> None:
    """Someone signs a label with their own key but names the compliance service as issuer."""
    now = datetime.now(UTC)
    impostor = make_participant(mock_gxdch, "impostor")
    forged = label_credential(impostor.did, "https://l.example/3", _covered(labelled), "L3", now)
    token = sign_vc(forged, impostor.key)
    with pytest.raises(LabelRefused, match="not a trusted compliance service"):
        verify_label(token, _covered(labelled), participant.did, resolver_for(participant, impostor),
                     [mock_gxdch.gxdch.did("compliance")], now)


def test_the_registry_checks_every_signers_chain(mock_gxdch: MockHandle, participant: Participant,
                                                 labelled: dict[str, str]) -> None:
    from connector.gaiax.label import registry_chain_check

    now, client = datetime.now(UTC), client_for(mock_gxdch)
    trusted = [mock_gxdch.gxdch.did("compliance")]
    verify_label(labelled["label"], _covered(labelled), participant.did, resolver_for(participant), trusted, now,
                 chain_check=registry_chain_check(client))
    mock_gxdch.files[participant.key.x5u] = b"not a chain"  # the partner's chain is gone or broken
    with pytest.raises(LabelRefused, match="does not trust the certificate chain"):
        verify_label(labelled["label"], _covered(labelled), participant.did, resolver_for(participant), trusted, now,
                     chain_check=registry_chain_check(client))


def test_verified_claims_go_into_a_stored_peer(db: Database) -> None:
    from connector.gaiax.onboarding import OnboardingError
    from connector.gaiax.service import store_peer_claims
    from connector.store.models import StoredPeer

    with pytest.raises(OnboardingError, match="no peer 'did:web:partner.example' was added"):
        store_peer_claims(db, "did:web:partner.example", {"gaiaxLabelLevel": "SC"})
    with db.write() as session:
        session.add(StoredPeer(id="did:web:partner.example", claims={"membership": True}, created_at=1))
    store_peer_claims(db, "did:web:partner.example", {"gaiaxLabelLevel": "SC"})
    with db.read() as session:
        assert session.get(StoredPeer, "did:web:partner.example").claims == {"membership": True,  # type: ignore[union-attr]
                                                                             "gaiaxLabelLevel": "SC"}
