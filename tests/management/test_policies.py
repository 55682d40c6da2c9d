"""``/v3/policydefinitions``: the dialects clients write, refusals with field paths, validate, plan."""

from __future__ import annotations

import pytest

from connector.store.models import PolicyDefinition
from tests.management.helpers import (
    CX_CONTEXTS,
    EDC,
    VOCAB,
    access_policy,
    asset,
    contract_definition,
    ok,
    usage_policy,
)

BASE = "/management/v3/policydefinitions"
ODRL = "http://www.w3.org/ns/odrl/2/"
FRAMEWORK = {"odrl:leftOperand": {"@id": "cx-policy:FrameworkAgreement"}, "odrl:operator": {"@id": "odrl:eq"},
             "odrl:rightOperand": "DataExchangeGovernance:1.0"}


def stored(api, policy_id: str) -> dict | None:
    with api.app.state.services.db.read() as session:
        row = session.get(PolicyDefinition, policy_id)
    return row.policy if row else None


def test_create_stores_the_compact_dsp_form_and_reads_back_edc_style(api):
    created = ok(api.post(BASE, json=usage_policy("usage-1")))
    assert created["@type"] == "IdResponse" and created["@id"] == "usage-1"
    assert stored(api, "usage-1") == {
        "@id": "usage-1", "@type": "Set",
        "permission": [{"action": "use", "constraint": [{"and": [
            {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
            {"leftOperand": "UsagePurpose", "operator": "isAnyOf", "rightOperand": ["cx.pcf.base:1"]},
        ]}]}],
    }
    got = ok(api.get(f"{BASE}/usage-1"))
    assert got["@type"] == "PolicyDefinition" and got["@id"] == "usage-1"
    policy = got["policy"]
    assert policy["@type"] == "odrl:Set"
    assert policy["odrl:prohibition"] == [] and policy["odrl:obligation"] == []
    [permission] = policy["odrl:permission"]
    assert permission["odrl:action"] == {"@id": "odrl:use"}
    [both] = permission["odrl:constraint"]
    assert both["odrl:and"][0] == FRAMEWORK
    assert both["odrl:and"][1]["odrl:rightOperand"] == ["cx.pcf.base:1"]


@pytest.mark.parametrize("body", [
    pytest.param({"@context": VOCAB, "policy": {"@type": "Set", "permission": [{"action": "use", "constraint": {
        "leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"}}]}},
        id="vocab-edc-only"),
    pytest.param({"@context": {**VOCAB, "odrl": ODRL}, "policy": {"@type": "odrl:Set", "odrl:permission": {
        "odrl:action": {"@id": "odrl:use"}, "odrl:constraint": {
            "odrl:leftOperand": {"@id": "https://w3id.org/catenax/2025/9/policy/FrameworkAgreement"},
            "odrl:operator": {"@id": "odrl:eq"}, "odrl:rightOperand": "DataExchangeGovernance:1.0"}}}},
        id="edc-prefixed"),
    pytest.param({"@context": ["https://w3id.org/edc/v0.0.1", "https://w3id.org/catenax/2025/9/policy/context.jsonld"],
                  "policy": {"@type": "Set", "permission": {"action": "use", "constraint": [{
                      "leftOperand": "FrameworkAgreement", "operator": "eq",
                      "rightOperand": "DataExchangeGovernance:1.0"}]}}},
        id="edc-context-iri"),
    pytest.param({"@context": ["https://w3id.org/catenax/2025/9/policy/odrl.jsonld",
                               "https://w3id.org/catenax/2025/9/policy/context.jsonld", VOCAB],
                  "@type": "PolicyDefinition",
                  "policy": {"@type": "Set", "permission": [{"action": "use", "constraint": {"and": [{
                      "leftOperand": "FrameworkAgreement", "operator": "eq",
                      "rightOperand": "DataExchangeGovernance:1.0"}]}}], "prohibition": [], "obligation": []}},
        id="tractusx-sdk-saturn"),
])
def test_every_dialect_means_the_same_policy(api, body):
    # one constraint is too few for a Catena-X usage policy; the dialects are what is under test
    api.app.state.services.settings.policy_profile = "lenient"
    ok(api.post(BASE, json={**body, "@id": "same"}))
    policy = ok(api.get(f"{BASE}/same"))["policy"]
    [permission] = policy["odrl:permission"]
    assert permission["odrl:action"] == {"@id": "odrl:use"}
    constraint = permission["odrl:constraint"][0]
    assert FRAMEWORK in (constraint, *constraint.get("odrl:and", []))


def test_a_malformed_policy_is_400_with_the_field_path_and_nothing_is_stored(api):
    body = usage_policy("broken")
    del body["policy"]["permission"][0]["constraint"][0]["and"][1]["operator"]
    r = api.post(BASE, json=body)
    assert r.status_code == 400
    [error] = r.json()
    assert error["path"] == "policy.permission[0].constraint[0].and[1].operator"
    assert "operator" in error["message"] and "expected" in error["message"]
    assert stored(api, "broken") is None and api.get(f"{BASE}/broken").status_code == 404


def test_an_unsupported_odrl_feature_is_refused_not_dropped(api):
    body = usage_policy("remedy")
    body["policy"]["permission"][0]["remedy"] = [{"action": "delete"}]
    r = api.post(BASE, json=body)
    assert r.status_code == 400 and r.json()[0]["path"] == "policy.permission[0].remedy"
    assert stored(api, "remedy") is None


def test_an_unknown_context_iri_is_400_naming_it_and_nothing_is_stored(api):
    body = usage_policy("ctx")
    body["@context"] = ["https://w3id.org/tractusx/policy/v1.0.0", VOCAB]
    r = api.post(BASE, json=body)
    assert r.status_code == 400
    [error] = r.json()
    assert error["path"] == "@context" and error["invalidValue"] == "https://w3id.org/tractusx/policy/v1.0.0"
    assert "https://w3id.org/tractusx/policy/v1.0.0" in error["message"]
    assert stored(api, "ctx") is None


def test_missing_policy_and_wrong_policy_type_are_400(api):
    r = api.post(BASE, json={"@context": VOCAB, "@id": "empty"})
    assert r.status_code == 400 and r.json()[0]["path"] == "policy"
    body = usage_policy("offer")
    body["policy"]["@type"] = "Agreement"
    r = api.post(BASE, json=body)
    assert r.status_code == 400 and r.json()[0]["path"] == "policy.@type"
    assert stored(api, "offer") is None


def test_an_empty_set_is_refused_unless_marked_allow_all(api):
    r = api.post(BASE, json={"@context": VOCAB, "@id": "open", "policy": {"@type": "Set"}})
    assert r.status_code == 400 and "without any rule" in r.json()[0]["message"] and '"allowAll": true' in r.json()[0]["message"]
    assert stored(api, "open") is None
    ok(api.post(BASE, json={"@context": VOCAB, "@id": "open", "policy": {"@type": "Set", "allowAll": True}}))
    assert ok(api.get(f"{BASE}/open"))["policy"]["odrl:permission"] == []
    # the marker means nothing beside rules, and false is no marker
    both = {"@type": "Set", "allowAll": True, "permission": [{"action": "access"}]}
    r = api.post(BASE, json={"@context": VOCAB, "@id": "both", "policy": both})
    assert r.status_code == 400 and r.json()[0]["path"] == "policy.allowAll"
    r = api.post(BASE, json={"@context": VOCAB, "@id": "no", "policy": {"@type": "Set", "allowAll": False}})
    assert r.status_code == 400 and stored(api, "no") is None


@pytest.mark.parametrize("policy, path, closest", [
    ({"@type": "Set", "permissions": [{"action": "use"}]}, "policy.permissions", "'permission'"),
    ({"@type": "Set", "permission": [{"action": "access", "constraints": [
        {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"}]}]},
     "policy.permission[0].constraints", "'constraint'"),
    ({"@type": "Set", "prohibitoin": [], "permission": [{"action": "access"}]}, "policy.prohibitoin", "'prohibition'"),
    ({"@type": "Set", "permission": [{"action": "access", "constraint": [{"and": [
        {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active", "rightOperandd": "x"}]}]}]},
     "policy.permission[0].constraint[0].and[0].rightOperandd", "'rightOperand'"),
])
def test_an_unknown_term_is_refused_naming_the_closest(api, policy, path, closest):
    r = api.post(BASE, json={"@context": CX_CONTEXTS, "@id": "typo", "policy": policy})
    assert r.status_code == 400, r.text
    [error] = [e for e in r.json() if e["path"] == path]
    assert closest in error["message"] and "unknown term" in error["message"]
    assert stored(api, "typo") is None
    # the same typo through the EDC dialect (@vocab edc only), and on update
    assert api.post(BASE, json={"@context": VOCAB, "@id": "typo", "policy": policy}).status_code == 400
    ok(api.post(BASE, json=access_policy("typo")))
    assert api.put(f"{BASE}/typo", json={"@context": VOCAB, "@id": "typo", "policy": policy}).status_code == 400


def test_duplicate_is_409(api):
    ok(api.post(BASE, json=usage_policy("twice")))
    r = api.post(BASE, json=usage_policy("twice"))
    assert r.status_code == 409 and r.json()[0]["type"] == "ObjectConflict"


def test_update_on_the_collection_path_as_tractusx_sdk_does_and_on_the_id_path(api):
    ok(api.post(BASE, json=usage_policy("upd")))
    assert api.put(BASE, json=access_policy("upd")).status_code == 204
    assert ok(api.get(f"{BASE}/upd"))["policy"]["odrl:permission"][0]["odrl:action"] == {"@id": "cx-policy:access"}
    assert api.put(f"{BASE}/upd", json=usage_policy("upd")).status_code == 204
    assert ok(api.get(f"{BASE}/upd"))["policy"]["odrl:permission"][0]["odrl:action"] == {"@id": "odrl:use"}
    r = api.put(f"{BASE}/upd", json=usage_policy("other"))
    assert r.status_code == 400 and r.json()[0]["path"] == "@id"
    assert api.put(BASE, json=usage_policy("missing")).status_code == 404


def test_a_bad_update_changes_nothing(api):
    ok(api.post(BASE, json=usage_policy("keep")))
    before = stored(api, "keep")
    body = usage_policy("keep")
    body["policy"]["permission"][0]["action"] = {"@value": 5}
    assert api.put(BASE, json=body).status_code == 400
    assert stored(api, "keep") == before


def test_delete_and_a_policy_in_use_cannot_be_deleted(api):
    ok(api.post(BASE, json=usage_policy("usage-1")))
    ok(api.post(BASE, json=access_policy("access-1")))
    ok(api.post("/management/v3/assets", json=asset("a1")))
    ok(api.post("/management/v3/contractdefinitions", json=contract_definition("cd-1", "a1")))
    r = api.delete(f"{BASE}/usage-1")
    assert r.status_code == 409 and "cd-1" in r.json()[0]["message"]
    assert api.delete("/management/v3/contractdefinitions/cd-1").status_code == 204
    assert api.delete(f"{BASE}/usage-1").status_code == 204
    assert api.get(f"{BASE}/usage-1").status_code == 404


def test_query_policies(api):
    for pid in ("q-b", "q-a", "q-c"):
        ok(api.post(BASE, json=usage_policy(pid)))
    got = ok(api.post(f"{BASE}/request", json={"@context": VOCAB, "@type": "QuerySpec", "sortField": "id",
                                                "sortOrder": "DESC", "limit": 2}))
    assert [p["@id"] for p in got] == ["q-c", "q-b"]
    got = ok(api.post(f"{BASE}/request", json={"@context": VOCAB, "filterExpression": [
        {"operandLeft": EDC + "id", "operator": "in", "operandRight": ["q-a", "q-c"]}]}))
    assert sorted(p["@id"] for p in got) == ["q-a", "q-c"]


def test_validate_answers_a_validation_result(api):
    ok(api.post(BASE, json=usage_policy("good")))
    result = ok(api.post(f"{BASE}/good/validate"))
    assert (result["@type"], result["isValid"], result["errors"], result["kind"]) == (
        "PolicyValidationResult", True, [], "usage")

    # a policy stored before it was checked (a seed file, an older version): /validate still says why
    from connector.policy import policy_from_compact_dsp, policy_to_compact
    odd = policy_from_compact_dsp({"@type": "Set", "permission": [{"action": "use", "constraint": [
        {"leftOperand": "partner", "operator": "eq", "rightOperand": "x"},
        {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": ["a", "b"]}]}]})
    from connector.store.models import PolicyDefinition
    with api.app.state.services.db.write() as session:
        session.add(PolicyDefinition(id="odd", policy=policy_to_compact(odd, policy_type="Set", policy_id="odd"),
                                     private_properties={}, created_at=1))
    result = ok(api.post(f"{BASE}/odd/validate"))
    assert result["isValid"] is False
    paths = [v["path"] for v in result["violations"]]
    assert "permission[0].constraint[0].leftOperand" in paths and "permission[0].constraint[1].rightOperand" in paths
    assert any("partner" in e for e in result["errors"])
    assert api.post(f"{BASE}/nope/validate").status_code == 404


def test_validate_warns_in_dcp_mode_about_an_access_policy_a_catalog_request_cannot_satisfy(database_url, tmp_path):
    from connector.config import IdentitySettings
    from connector.services.transport import DspClient, make_client
    from tests.management.conftest import client_for, make_settings

    access = {"@context": VOCAB, "@id": "members-with-deg", "policy": {"@type": "Set", "permission": [
        {"action": "access", "constraint": [{"and": [
            {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"},
            {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"}]}]}]}}
    for mode, expected in (("dcp", 1), ("static-token", 0)):
        settings = make_settings(database_url, transport="httpx", identity=IdentitySettings(
            auth_mode=mode, key_file=str(tmp_path / "key.json"), generate_key=True))
        with client_for(settings, DspClient(make_client("httpx"))) as api:
            api.post(BASE, json=access)
            result = ok(api.post(f"{BASE}/members-with-deg/validate"))
            assert (result["isValid"], result["kind"], len(result["warnings"])) == (True, "access", expected), mode
            if expected:
                assert "FrameworkAgreement" in result["warnings"][0] and "catalog" in result["warnings"][0]


def test_evaluation_plan_lists_each_rule_and_constraint_with_scopes(api):
    ok(api.post(BASE, json=usage_policy("usage-1")))
    body = {"@context": VOCAB, "@type": "PolicyEvaluationPlanRequest", "policyScope": "contract.negotiation"}
    plan = ok(api.post(f"{BASE}/usage-1/evaluationplan", json=body))
    assert plan["@type"] == "PolicyEvaluationPlan" and plan["policyScope"] == "contract.negotiation"
    [rule] = plan["rules"]
    assert rule["action"] == "use"
    [conjunction] = rule["constraints"]
    atoms = {c["leftOperand"]: c for c in conjunction["constraints"]}
    assert set(atoms) == {"FrameworkAgreement", "UsagePurpose"}
    assert "contract.negotiation" in atoms["FrameworkAgreement"]["scopes"]
    assert set(plan["checkedIn"]) == {"catalog", "contract.negotiation", "transfer.process"}
    assert plan["checkedInScope"] == plan["checkedIn"]["contract.negotiation"]

    everything = ok(api.post(f"{BASE}/usage-1/evaluationplan"))
    assert everything["policyScope"] is None and "checkedInScope" not in everything

    r = api.post(f"{BASE}/usage-1/evaluationplan", json={"@context": VOCAB, "policyScope": "everywhere"})
    assert r.status_code == 400 and r.json()[0]["path"] == "policyScope"
    assert api.post(f"{BASE}/nope/evaluationplan").status_code == 404


def test_a_policy_the_profile_refuses_is_400_naming_every_violation_and_nothing_is_stored(api):
    r = api.post(BASE, json={"@context": CX_CONTEXTS, "@id": "odd", "policy": {"@type": "Set", "permission": [{
        "action": "use", "constraint": [
            {"leftOperand": "Frameworkagreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
            {"leftOperand": "UsagePurpose", "operator": "eq", "rightOperand": ["cx.pcf.base:1"]},
        ]}]}})
    assert r.status_code == 400
    errors = r.json()
    paths = [e["path"] for e in errors]
    assert "policy.permission[0].constraint[0].leftOperand" in paths
    assert any("closest: FrameworkAgreement" in e["message"] for e in errors)
    assert any(p.startswith("policy.permission[0].constraint[1]") for p in paths)
    assert api.get(f"{BASE}/odd").status_code == 404


def test_the_lenient_profile_still_refuses_an_unknown_constraint(api):
    api.app.state.services.settings.policy_profile = "lenient"
    r = api.post(BASE, json={"@context": CX_CONTEXTS, "@id": "odd", "policy": {"@type": "Set", "permission": [{
        "action": "use", "constraint": [{"leftOperand": "Membersheep", "operator": "eq", "rightOperand": "active"}]}]}})
    assert r.status_code == 400 and "closest: Membership" in r.text
    simple = {"@context": CX_CONTEXTS, "@id": "simple", "policy": {"@type": "Set", "permission": [{
        "action": "use", "constraint": [{"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"}]}]}}
    assert api.post(BASE, json=simple).status_code == 200
