"""Factory-X BusinessPartnerDID over DSP, between two in-process connectors in the factory-x profile: the
provider's contract policy admits callers by their authenticated DID (here the static-token peer's
configured id). The consumer it names negotiates; a policy naming another DID refuses it, and the
consumer's negotiation carries the provider's explained reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from connector.config import ProfileSettings
from tests.transfers.conftest import CONSUMER_ID, CX, VOCAB, Pair, make_pair, ok

FACTORY_X = {"profile": ProfileSettings(dataspace="factory-x")}
FX_DID = "https://w3id.org/factoryx/policy/v1.0/BusinessPartnerDID"
NEGOTIATIONS = "/management/v3/contractnegotiations"


def _fx_pair(tmp_path: Path) -> Iterator[Pair]:
    return make_pair(tmp_path, consumer_extra=FACTORY_X, provider_extra=FACTORY_X)


def _publish(two: Pair, admitted: list[str]) -> None:
    ok(two.provider.post("/management/v3/policydefinitions", json={
        "@context": CX, "@type": "PolicyDefinition", "@id": "fx-by-did", "policy": {
            "@type": "Set", "permission": [{"action": "use", "constraint": [{"and": [
                {"leftOperand": FX_DID, "operator": "isAnyOf", "rightOperand": admitted},
                {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
            ]}]}]}}))
    two.publish("pcf-fx")
    ok(two.provider.put("/management/v3/contractdefinitions", json={
        "@context": VOCAB, "@id": "cd-pcf-fx", "accessPolicyId": "pcf-usage", "contractPolicyId": "fx-by-did",
        "assetsSelector": [{"operandLeft": "https://w3id.org/edc/v0.0.1/ns/id", "operator": "=",
                            "operandRight": "pcf-fx"}]}), 204)


def _negotiate(two: Pair) -> dict:
    created = ok(two.consumer.post(NEGOTIATIONS, json=two.contract_request("pcf-fx")))
    return two.wait(two.consumer, f"{NEGOTIATIONS}/{created['@id']}")


def test_the_admitted_did_negotiates(tmp_path: Path) -> None:
    for two in _fx_pair(tmp_path):
        _publish(two, [CONSUMER_ID, "did:web:elsewhere.test"])
        done = _negotiate(two)
        assert done["state"] == "FINALIZED", done
        assert done.get("contractAgreementId")


def test_another_did_is_refused_with_the_reason(tmp_path: Path) -> None:
    for two in _fx_pair(tmp_path):
        _publish(two, ["did:web:a.test", "did:web:b.test"])
        done = _negotiate(two)
        assert done["state"] == "TERMINATED", done
        why = f"the caller is {CONSUMER_ID}, the policy admits did:web:a.test, did:web:b.test"
        assert why in done["errorDetail"], done


def test_the_admins_dry_run_knows_a_peers_did_before_it_calls(tmp_path: Path) -> None:
    for two in _fx_pair(tmp_path):
        _publish(two, ["did:web:a.test"])
        explained = ok(two.provider.post("/management/v3/policydefinitions/fx-by-did/explain", json={
            "counterPartyId": CONSUMER_ID}))
        assert explained["claimsSource"] == "the peer entry" and not explained["allowed"]
        assert any(f"the caller is {CONSUMER_ID}, the policy admits did:web:a.test" in line
                   for line in explained["explanation"]), explained
