"""5xx the fuzzing found on the management API (tests/fuzz), each pinned as a plain 400 naming the field."""

from __future__ import annotations

import pytest

BOM = {"productId": "NG-WC-400", "declaredUnit": "kilogram", "ownEmissions": {"pcfExcludingBiogenicUptake": 1},
       "components": []}


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(api, constant: str) -> None:
    """Python's json read them, and the 400 echoing the value back then failed to serialise: a 500."""
    body = '{"supplier": "BPNL000000000002", "productId": "p", "timeoutSeconds": CONSTANT}'.replace("CONSTANT", constant)
    refused = api.post("/management/v3/pcf/requests", content=body, headers={"Content-Type": "application/json"})
    assert refused.status_code == 400
    [error] = refused.json()
    assert error["path"] == "body" and f"{constant.lstrip('-')} is not a JSON number" in error["message"]
    asset = '{"@id": "a", "dataAddress": {"type": "PontisDocument", "document": {"v": CONSTANT}}}'
    refused = api.post("/management/v3/assets", content=asset.replace("CONSTANT", constant),
                       headers={"Content-Type": "application/json"})
    assert refused.status_code == 400 and refused.json()[0]["path"] == "body"


@pytest.mark.parametrize("field,value", [
    ("ownEmissions.pcfExcludingBiogenicUptake", "1e999999"),
    ("ownEmissions.pcfExcludingBiogenicUptake", 1e308),
    ("components[0].quantity", "1e400")])
def test_a_bom_number_beyond_json_is_refused(api, field: str, value: object) -> None:
    """1e999999 is a finite Decimal, but its float is inf and the answer could not be written: a 500."""
    bom: dict[str, object] = {**BOM, "ownEmissions": {"pcfExcludingBiogenicUptake": value if field.startswith("own") else 1}}
    if field.startswith("components"):
        bom["components"] = [{"productId": "c", "supplierBpn": "BPNL000000000002", "quantity": value,
                              "unit": "kilogram"}]
    refused = api.post("/management/v3/pcf/rollups", json=bom)
    assert refused.status_code == 400, refused.text
    [error] = refused.json()
    assert error["path"] == field and "at most 1E+12" in error["message"]


@pytest.mark.parametrize("bpn", [[], {"a": {"b": []}}, 2**70, 7])
def test_an_explain_with_a_bpn_claim_that_is_no_string_is_refused(api, bpn: object) -> None:
    """The claim keys the business-partner-group lookup; a list, object or huge int broke the query (a 500)."""
    policy = {"@context": {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"}, "@id": "bpn-access",
              "policy": {"@context": ["https://w3id.org/catenax/2025/9/policy/context.jsonld",
                                      "https://w3id.org/dspace/2025/1/odrl-profile.jsonld"],
                         "@type": "Set", "permission": [{"action": "access", "constraint": [
                             {"leftOperand": "BusinessPartnerNumber", "operator": "isAnyOf",
                              "rightOperand": ["BPNL000000000002"]}]}]}}
    assert api.post("/management/v3/policydefinitions", json=policy).status_code == 200
    refused = api.post("/management/v3/policydefinitions/bpn-access/explain",
                       json={"participantId": "did:web:peer.test", "claims": {"bpn": bpn}})
    assert refused.status_code == 400, refused.text
    assert refused.json()[0]["path"] == "claims.bpn"
    allowed = api.post("/management/v3/policydefinitions/bpn-access/explain",
                       json={"participantId": "did:web:peer.test", "claims": {"bpn": "BPNL000000000002"}})
    assert allowed.status_code == 200, allowed.text
