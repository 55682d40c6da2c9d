"""``/v3/contractdefinitions``: selectors, the single-asset index, and what the catalog then offers."""

from __future__ import annotations

from connector.store.models import ContractDefinition
from tests.management.helpers import EDC, VOCAB, access_policy, asset, contract_definition, ok, publish, usage_policy

BASE = "/management/v3/contractdefinitions"


def row(api, cd_id: str) -> ContractDefinition | None:
    with api.app.state.services.db.read() as session:
        return session.get(ContractDefinition, cd_id)


def prerequisites(api, *asset_ids: str, usages: tuple[str, ...] = ()) -> None:
    """The policies and assets a contract definition names: references are checked on write."""
    for body in (access_policy("access-1"), usage_policy("usage-1"), *map(usage_policy, usages)):
        ok(api.post("/management/v3/policydefinitions", json=body))
    for asset_id in asset_ids:
        ok(api.post("/management/v3/assets", json=asset(asset_id)))


def test_create_get_and_the_single_asset_index(api):
    prerequisites(api, "asset-1")
    created = ok(api.post(BASE, json=contract_definition("cd-1", "asset-1")))
    assert created["@type"] == "IdResponse" and created["@id"] == "cd-1"
    got = ok(api.get(f"{BASE}/cd-1"))
    assert got["@type"] == "ContractDefinition"
    assert (got["accessPolicyId"], got["contractPolicyId"]) == ("access-1", "usage-1")
    assert got["assetsSelector"] == [{"@type": "Criterion", "operandLeft": EDC + "id", "operator": "=",
                                      "operandRight": "asset-1"}]
    assert row(api, "cd-1").asset_id == "asset-1"


def test_a_general_selector_has_no_asset_id_and_one_criterion_may_come_unwrapped(api):
    prerequisites(api)
    body = contract_definition("cd-general", "x")
    body["assetsSelector"] = {"operandLeft": "name", "operator": "like", "operandRight": "pcf-%"}
    ok(api.post(BASE, json=body))
    assert row(api, "cd-general").asset_id is None
    assert ok(api.get(f"{BASE}/cd-general"))["assetsSelector"][0]["operator"] == "like"


def test_no_selector_selects_every_asset(api):
    prerequisites(api)
    body = contract_definition("cd-all", "x")
    del body["assetsSelector"]
    ok(api.post(BASE, json=body))
    assert row(api, "cd-all").assets_selector == [] and row(api, "cd-all").asset_id is None


def test_the_catalog_offers_what_a_definition_selects(api):
    publish(api, "pcf-1", "cd-1")
    ok(api.post("/management/v3/assets", json=asset("pcf-2")))
    body = contract_definition("cd-like", "x")
    body["assetsSelector"] = [{"operandLeft": EDC + "name", "operator": "like", "operandRight": "pcf-%"}]
    ok(api.post(BASE, json=body))
    from connector.identity import Participant
    member = Participant("did:web:member.test", {"membership": True})  # the access policy asks for Membership
    catalog, _ = api.app.state.services.catalog.page(member, None, 100)
    offers = {d["@id"]: len(d["hasPolicy"]) for d in catalog["dataset"]}
    assert offers == {"pcf-1": 2, "pcf-2": 1}


def test_bad_criteria_are_400_naming_the_criterion_and_nothing_is_stored(api):
    body = contract_definition("cd-bad", "x")
    body["assetsSelector"] = [{"operandLeft": EDC + "id", "operator": "=", "operandRight": "a"},
                              {"operandLeft": EDC + "id", "operator": "~", "operandRight": "a"}]
    r = api.post(BASE, json=body)
    assert r.status_code == 400
    [error] = r.json()
    assert error["path"] == "assetsSelector[1].operator" and "like" in error["message"]
    assert row(api, "cd-bad") is None


def test_policy_ids_are_required(api):
    body = contract_definition("cd-nopol", "x")
    del body["contractPolicyId"]
    r = api.post(BASE, json=body)
    assert r.status_code == 400 and r.json()[0]["path"] == "contractPolicyId"
    assert row(api, "cd-nopol") is None


def test_duplicate_update_delete(api):
    prerequisites(api, "a", "b", usages=("usage-2",))
    ok(api.post(BASE, json=contract_definition("cd-1", "a")))
    assert api.post(BASE, json=contract_definition("cd-1", "b")).status_code == 409
    assert api.put(BASE, json=contract_definition("cd-1", "b", usage="usage-2")).status_code == 204
    got = ok(api.get(f"{BASE}/cd-1"))
    assert got["contractPolicyId"] == "usage-2" and got["assetsSelector"][0]["operandRight"] == "b"
    assert row(api, "cd-1").asset_id == "b"
    assert api.put(BASE, json=contract_definition("cd-none", "b")).status_code == 404
    assert api.delete(f"{BASE}/cd-1").status_code == 204
    assert api.get(f"{BASE}/cd-1").status_code == 404
    assert api.delete(f"{BASE}/cd-1").status_code == 404


def test_query_by_policy_id(api):
    prerequisites(api, "a", "b", usages=("u-1", "u-2"))
    ok(api.post(BASE, json=contract_definition("cd-a", "a", usage="u-1")))
    ok(api.post(BASE, json=contract_definition("cd-b", "b", usage="u-2")))
    got = ok(api.post(f"{BASE}/request", json={"@context": VOCAB, "filterExpression": [
        {"operandLeft": "contractPolicyId", "operator": "=", "operandRight": "u-2"}]}))
    assert [c["@id"] for c in got] == ["cd-b"]


def test_references_are_checked_on_write_naming_the_closest(api):
    prerequisites(api, "asset-1")
    r = api.post(BASE, json=contract_definition("cd-x", "asset-1", usage="usage-l"))
    assert r.status_code == 400 and r.json()[0]["path"] == "contractPolicyId"
    assert "no policy definition 'usage-l'" in r.json()[0]["message"] and "did you mean 'usage-1'" in r.text
    r = api.post(BASE, json=contract_definition("cd-x", "asset-1", access="nope"))
    assert r.status_code == 400 and r.json()[0]["path"] == "accessPolicyId"
    r = api.post(BASE, json=contract_definition("cd-x", "aset-1"))
    assert r.status_code == 400 and r.json()[0]["path"] == "assetsSelector" and "did you mean 'asset-1'" in r.text
    assert row(api, "cd-x") is None
    ok(api.post(BASE, json=contract_definition("cd-x", "asset-1")))
    assert api.put(BASE, json=contract_definition("cd-x", "asset-1", usage="gone")).status_code == 400
    assert row(api, "cd-x").contract_policy_id == "usage-1"


def test_an_allow_all_policy_can_grant_access_but_cannot_be_the_contract_policy(api):
    prerequisites(api, "asset-1")
    ok(api.post("/management/v3/policydefinitions",
                json={"@context": VOCAB, "@id": "open", "policy": {"@type": "Set", "allowAll": True}}))
    r = api.post(BASE, json=contract_definition("cd-open", "asset-1", usage="open"))
    assert r.status_code == 400 and r.json()[0]["path"] == "contractPolicyId" and "no offer" in r.text
    ok(api.post(BASE, json=contract_definition("cd-open", "asset-1", access="open")))
