"""Access policies decide what a requester sees; contract policies whether it may agree; both explained."""

from dataclasses import replace

import httpx

from connector.policy import policy_from_compact_dsp, policy_to_compact
from connector.protocol.messages import read_offer
from connector.services.container import static_authenticator
from connector.store.models import Asset, ContractDefinition, Negotiation, PolicyDefinition
from tests.dsp.conftest import run, settle

CATALOG = {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "CatalogRequestMessage"}
MEMBER = {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"}
FRAMEWORK = {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"}
PURPOSE = {"leftOperand": "UsagePurpose", "operator": "isAnyOf", "rightOperand": ["cx.pcf.base:1"]}


def publish(services, asset_id, access_constraints, usage_constraints):
    with services.db.write() as s:
        for pid, action, constraints in (("access-" + asset_id, "access", access_constraints),
                                         ("usage-" + asset_id, "use", usage_constraints)):
            typed = policy_from_compact_dsp({"permission": [{"action": action, "constraint": constraints}]})
            s.add(PolicyDefinition(id=pid, policy=policy_to_compact(typed, policy_type="Set", policy_id=pid),
                                   private_properties={}, created_at=1))
        s.add(Asset(id=asset_id, properties={}, private_properties={}, data_address={"type": "HttpData"}, created_at=1))
        s.add(ContractDefinition(id="cd-" + asset_id, access_policy_id="access-" + asset_id,
                                 contract_policy_id="usage-" + asset_id, asset_id=asset_id, private_properties={},
                                 assets_selector=[{"operandLeft": "@id", "operator": "=", "operandRight": asset_id}],
                                 created_at=1))


def catalog_ids(world):
    async def go():
        async with httpx.AsyncClient(transport=world["router"]) as client:
            r = await client.post(world["provider"].dsp + "/catalog/request", json=CATALOG,
                                  headers={"Authorization": "consumer-token"})
            return r.json()
    body = run(go())
    return {d["@id"]: d for d in body.get("dataset", [])}


def negotiate(world, offer_json, asset_id):
    provider, consumer = world["provider"], world["consumer"]
    offer = read_offer({"offer": dict(offer_json, target=asset_id)})
    neg = consumer.services.negotiations.request(
        counterparty_address=provider.dsp, counterparty_id=provider.settings.participant_id, offer=offer)
    settle(consumer, provider)
    with consumer.services.db.read() as s:
        return s.get(Negotiation, neg.id)


def set_consumer_claims(world, **claims):
    provider = world["provider"]
    peer = provider.settings.peers[0]
    provider.settings.peers[0] = peer.model_copy(update={"claims": claims})
    # the container is built once: a provider with other claims for its peer is a new container
    provider.services = provider.app.state.services = replace(
        provider.services, authenticator=static_authenticator(provider.settings))


def test_access_policy_hides_the_offer_and_says_nothing_to_the_requester(world, caplog):
    provider = world["provider"]
    publish(provider.services, "for-motorwerke", [{"and": [MEMBER, {
        "leftOperand": "BusinessPartnerNumber", "operator": "isAnyOf", "rightOperand": ["BPNL00000MOTORWK"]}]}],
        [FRAMEWORK, PURPOSE])
    publish(provider.services, "for-members", [MEMBER], [FRAMEWORK, PURPOSE])
    with caplog.at_level("INFO", logger="pontis.catalog"):
        visible = catalog_ids(world)
    assert set(visible) == {"for-members"}
    # the provider's log names the constraint that hid it; the requester's answer does not
    assert any("for-motorwerke" in r.message and "BusinessPartnerNumber" in r.message for r in caplog.records)
    # asking for the hidden offer anyway looks exactly like asking for one that does not exist
    import base64
    offer = dict(visible["for-members"]["hasPolicy"][0])
    offer["@id"] = ":".join([base64.b64encode(b"cd-for-motorwerke").decode(),
                             base64.b64encode(b"for-motorwerke").decode(), "eA=="])
    neg = negotiate(world, offer, "for-motorwerke")
    assert neg.state == "TERMINATED" and "is not offered here" in neg.error_detail
    assert "BusinessPartnerNumber" not in neg.error_detail


def test_contract_policy_denial_names_the_constraint_then_passes_once_fixed(world):
    provider = world["provider"]
    publish(provider.services, "pcf", [MEMBER], [FRAMEWORK, MEMBER, PURPOSE])
    set_consumer_claims(world, membership=True)  # a member, but without the governance framework
    offer = catalog_ids(world)["pcf"]["hasPolicy"][0]
    refused = negotiate(world, offer, "pcf")
    assert refused.state == "TERMINATED"
    assert "FrameworkAgreement" in refused.error_detail and "DataExchangeGovernance" in refused.error_detail
    assert refused.error["by"] == "peer" and refused.error["code"] == "policy-denied"
    with provider.services.db.read() as s:
        theirs = s.get(Negotiation, refused.provider_pid)
    assert theirs.state == "TERMINATED" and theirs.error["denials"][0]["leftOperand"] == "FrameworkAgreement"

    set_consumer_claims(world, membership=True, frameworkAgreements={"DataExchangeGovernance": "1.0"})
    assert negotiate(world, offer, "pcf").state == "FINALIZED"


def test_business_partner_group_comes_from_the_group_store(world):
    provider = world["provider"]
    publish(provider.services, "gold-only", [{"leftOperand": "BusinessPartnerGroup", "operator": "isAnyOf",
                                              "rightOperand": ["gold"]}], [FRAMEWORK, PURPOSE])
    assert "gold-only" not in catalog_ids(world)
    from connector.services.groups import GroupService
    groups = GroupService(provider.services.db, lambda: 1)
    groups.put("BPNL00000ACHSEAG", ["gold"])
    assert "gold-only" in catalog_ids(world)
    groups.delete("BPNL00000ACHSEAG")
    assert "gold-only" not in catalog_ids(world)


def test_consumer_accepts_only_offers_within_its_accepted_policies(world):
    import pytest

    from connector.services.accepted import AcceptedPolicies
    from connector.services.errors import InvalidRequest

    provider, consumer = world["provider"], world["consumer"]
    publish(provider.services, "pcf", [MEMBER], [FRAMEWORK, MEMBER, PURPOSE])
    offer = catalog_ids(world)["pcf"]["hasPolicy"][0]
    accepted = AcceptedPolicies(consumer.services.db, lambda: 1)
    accepted.add("pcf-terms", policy_from_compact_dsp({"permission": [{"action": "use", "constraint": [
        FRAMEWORK, PURPOSE]}]}))
    with pytest.raises(InvalidRequest, match="Membership") as refused:
        negotiate(world, offer, "pcf")
    assert "not within the policies this company accepts" in str(refused.value)
    accepted.add("member-terms", policy_from_compact_dsp({"permission": [{"action": "use", "constraint": [
        FRAMEWORK, MEMBER, PURPOSE]}]}))
    assert negotiate(world, offer, "pcf").state == "FINALIZED"
