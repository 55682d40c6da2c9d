"""Admin explanations (policy and hidden offer) and the business-partner group store."""

from tests.management.helpers import access_policy, asset, contract_definition, ok, usage_policy

GROUPS = "/management/v3/business-partner-groups"


def publish(api):
    ok(api.post("/management/v3/policydefinitions", json=access_policy("access-1")))
    ok(api.post("/management/v3/policydefinitions", json=usage_policy("usage-1")))
    ok(api.post("/management/v3/assets", json=asset("pcf-1")))
    ok(api.post("/management/v3/contractdefinitions", json=contract_definition("cd-1", "pcf-1")))


def test_explain_policy_for_a_hypothetical_requester_names_the_failed_constraint(api):
    publish(api)
    result = ok(api.post("/management/v3/policydefinitions/usage-1/explain", json={
        "participantId": "did:web:motorwerke.test", "claims": {"membership": True}}))
    assert result["allowed"] is False and result["claimsSource"] == "given"
    assert any("FrameworkAgreement" in line for line in result["explanation"])
    granted = ok(api.post("/management/v3/policydefinitions/usage-1/explain", json={
        "participantId": "did:web:motorwerke.test",
        "claims": {"membership": True, "frameworkAgreements": {"DataExchangeGovernance": "1.0"}}}))
    assert granted["allowed"] is True


def test_explain_offer_tells_the_admin_why_it_is_hidden(api):
    publish(api)
    result = ok(api.post("/management/v3/catalog/explain", json={
        "counterPartyId": "did:web:stranger.test", "assetId": "pcf-1"}))
    [offer] = result["offers"]
    assert offer["contractDefinitionId"] == "cd-1" and offer["visible"] is False
    assert any("Membership" in line for line in offer["access"]["explanation"])
    assert "none known" in offer["access"]["claimsSource"]


def test_explain_refuses_bad_input(api):
    publish(api)
    assert api.post("/management/v3/policydefinitions/usage-1/explain", json={}).status_code == 400
    r = api.post("/management/v3/policydefinitions/usage-1/explain",
                 json={"participantId": "x", "scope": "everywhere"})
    assert r.status_code == 400 and "scope" in r.text
    assert api.post("/management/v3/policydefinitions/nope/explain", json={"participantId": "x"}).status_code == 404


def test_group_store_round_trip(api):
    body = {"@context": {"tx": "https://w3id.org/tractusx/v0.0.1/ns/"}, "@id": "BPNL00000ACHSEAG",
            "tx:groups": ["gold", "tier1"]}
    assert api.post(GROUPS, json=body).status_code == 204
    assert api.post(GROUPS, json=body).status_code == 409
    assert ok(api.get(f"{GROUPS}/BPNL00000ACHSEAG"))["tx:groups"] == ["gold", "tier1"]
    assert ok(api.get(f"{GROUPS}/group/gold")) == ["BPNL00000ACHSEAG"]
    assert api.put(GROUPS, json={**body, "tx:groups": ["silver"]}).status_code == 204
    assert ok(api.get(f"{GROUPS}/group/gold")) == []
    assert api.delete(f"{GROUPS}/BPNL00000ACHSEAG").status_code == 204
    assert api.get(f"{GROUPS}/BPNL00000ACHSEAG").status_code == 404


def test_group_store_refuses_bad_input_and_stores_nothing(api):
    r = api.post(GROUPS, json={"@id": "not-a-bpn", "tx:groups": ["gold"]})
    assert r.status_code == 400 and "Business Partner Number" in r.text
    assert api.post(GROUPS, json={"@id": "BPNL00000ACHSEAG", "tx:groups": [1]}).status_code == 400
    assert api.put(GROUPS, json={"@id": "BPNL00000ACHSEAG", "tx:groups": ["x"]}).status_code == 404
    assert api.get(f"{GROUPS}/BPNL00000ACHSEAG").status_code == 404


def test_accepted_policies_round_trip_and_refuse_bad_input(api):
    body = {"@context": ["https://w3id.org/catenax/2025/9/policy/context.jsonld",
                         "https://w3id.org/dspace/2025/1/odrl-profile.jsonld",
                         {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"}],
            "@id": "pcf-terms", "policy": {"@type": "Set", "permission": [{"action": "use", "constraint": [
                {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"}]}]}}
    assert ok(api.post("/management/v3/acceptedpolicies", json=body))["@id"] == "pcf-terms"
    assert api.post("/management/v3/acceptedpolicies", json=body).status_code == 409
    [stored] = ok(api.get("/management/v3/acceptedpolicies"))
    assert stored["@id"] == "pcf-terms"
    assert api.post("/management/v3/acceptedpolicies", json={"@id": "x"}).status_code == 400
    assert api.delete("/management/v3/acceptedpolicies/pcf-terms").status_code == 204
    assert api.delete("/management/v3/acceptedpolicies/pcf-terms").status_code == 404
