"""Request bodies and small helpers shared by the management API tests."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient

API_KEY = "test-api-key"
EDC = "https://w3id.org/edc/v0.0.1/ns/"
VOCAB = {"@vocab": EDC}
CX_CONTEXTS = ["https://w3id.org/catenax/2025/9/policy/context.jsonld",
               "https://w3id.org/dspace/2025/1/odrl-profile.jsonld", VOCAB]
CONSUMER_ID, PROVIDER_ID = "did:web:consumer.test", "did:web:provider.test"


def asset(asset_id: str, **props) -> dict:
    return {
        "@context": {**VOCAB, "dct": "http://purl.org/dc/terms/"},
        "@type": "Asset",
        "@id": asset_id,
        "properties": {"name": asset_id, **props},
        "privateProperties": {"secretNote": "internal"},
        "dataAddress": {"@type": "DataAddress", "type": "HttpData", "baseUrl": f"https://backend.invalid/{asset_id}",
                        "proxyPath": "true"},
    }


def usage_policy(policy_id: str) -> dict:
    return {
        "@context": CX_CONTEXTS,
        "@type": "PolicyDefinition",
        "@id": policy_id,
        "policy": {"@type": "Set", "permission": [{
            "action": "use",
            "constraint": [{"and": [
                {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
                {"leftOperand": "UsagePurpose", "operator": "isAnyOf", "rightOperand": ["cx.pcf.base:1"]},
            ]}],
        }]},
    }


def access_policy(policy_id: str) -> dict:
    return {
        "@context": CX_CONTEXTS,
        "@id": policy_id,
        "policy": {"@type": "Set", "permission": [{
            "action": "access",
            "constraint": [{"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"}],
        }]},
    }


def contract_definition(cd_id: str, asset_id: str, access: str = "access-1", usage: str = "usage-1") -> dict:
    return {
        "@context": VOCAB,
        "@type": "ContractDefinition",
        "@id": cd_id,
        "accessPolicyId": access,
        "contractPolicyId": usage,
        "assetsSelector": [{"operandLeft": EDC + "id", "operator": "=", "operandRight": asset_id}],
    }


def ok(response: httpx.Response, status: int = 200):  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def publish(client: TestClient, asset_id: str = "asset-1", cd_id: str = "cd-1") -> None:
    """An asset offered under an access and a usage policy."""
    for body in (access_policy("access-1"), usage_policy("usage-1")):
        r = client.post("/management/v3/policydefinitions", json=body)
        assert r.status_code in (200, 409), r.text
    ok(client.post("/management/v3/assets", json=asset(asset_id)))
    ok(client.post("/management/v3/contractdefinitions", json=contract_definition(cd_id, asset_id)))


