"""Factory-X BusinessPartnerDID in dcp mode, between two connector processes in the factory-x profile
(test_adr003's Hercules pair): the provider compares the DID it verified (the issuer of the consumer's
self-issued token) with the policy. The policy naming the consumer's DID lets it negotiate, one naming
another DID refuses it with the explained reason; no credential is asked for the operand."""

from __future__ import annotations

import pytest

from connector.identity.dcp_messages import scopes_for_policy
from tests.identity_service.test_dcp_presentation_integration import offer_for

from . import test_adr003 as hercules

pytestmark = pytest.mark.integration
fx = hercules.fx  # the module-scoped pair, started for this module
FX_DID = "https://w3id.org/factoryx/policy/v1.0/BusinessPartnerDID"


def _publish(pair: hercules.Hercules, asset_id: str, admitted: list[str]) -> None:
    provider = pair.provider
    policy = {"@type": "Set", "permission": [{"action": "use", "constraint": [{"and": [
        {"leftOperand": FX_DID, "operator": "isAnyOf", "rightOperand": admitted},
        {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"}]}]}]}
    for path, body in (
        ("/v3/policydefinitions", {"@context": hercules.CX, "@type": "PolicyDefinition", "@id": f"by-did-{asset_id}",
                                   "policy": policy}),
        ("/v3/assets", {"@context": hercules.EDC, "@id": asset_id, "properties": {"name": "PCF"},
                        "dataAddress": {"type": "PontisDocument", "document": {"@type": "@json", "@value": {"a": 1}}}}),
        ("/v3/contractdefinitions", {"@context": hercules.EDC, "@id": f"cd-{asset_id}", "accessPolicyId": "members",
                                     "contractPolicyId": f"by-did-{asset_id}", "assetsSelector": [
                                         {"operandLeft": "https://w3id.org/edc/v0.0.1/ns/id", "operator": "=",
                                          "operandRight": asset_id}]})):
        r = provider.management("POST", path, body)
        assert r.status_code == 200, r.text
    assert scopes_for_policy({"@context": hercules.CX[:2], **policy}, dataspace="factory-x") == [
        "org.factoryx.vc.type:MembershipCredential:read",
        "org.factoryx.vc.type:DataExchangeGovernanceCredential:read"]  # none for BusinessPartnerDID


def _negotiate(pair: hercules.Hercules, asset_id: str) -> dict:
    created = pair.consumer.management("POST", "/v3/contractnegotiations", {
        "@context": hercules.CX, "@type": "ContractRequest", "counterPartyAddress": pair.provider.dsp,
        "protocol": "dataspace-protocol-http:2025-1", "policy": offer_for(pair.consumer, pair.provider, asset_id)})
    assert created.status_code == 200, created.text
    return pair.consumer.wait_state(created.json()["@id"], ("FINALIZED", "TERMINATED"))


def test_the_verified_did_is_admitted_and_another_refused(fx: hercules.Hercules) -> None:
    consumer_did = fx.consumer.participant_id
    _publish(fx, "pcf-by-did", [consumer_did])
    _publish(fx, "pcf-other-did", ["did:web:elsewhere.test"])
    assert _negotiate(fx, "pcf-by-did")["state"] == "FINALIZED"
    refused = _negotiate(fx, "pcf-other-did")
    assert refused["state"] == "TERMINATED", refused
    assert f"the caller is {consumer_did}, the policy admits did:web:elsewhere.test" in refused["errorDetail"], refused
