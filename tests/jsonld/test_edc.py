"""EDC management API payloads (our own fixtures) against the Tractus-X EDC contexts."""

from __future__ import annotations

import copy

import pytest

from connector.jsonld import expand
from connector.jsonld.terms import CX_POLICY_NS, DCT, EDC_CONTEXT, EDC_NS, ODRL_NS, TX_AUTH_NS

from .conftest import (
    CX_CONTEXT,
    DSPACE_ODRL,
    OFFICIAL_CX_TRACTUSX,
    OFFICIAL_EDC,
    TX_AUTH_CONTEXT,
    iris_in,
    official,
    requires_shared,
)

ASSET_BODY = {
    "@id": "asset-pcf-1",
    "@type": "Asset",
    "properties": {
        "name": "PCF data of part 4711",
        "contenttype": "application/json",
        "dct:type": {"@id": "https://w3id.org/catenax/taxonomy#PcfExchange"},
    },
    "privateProperties": {"owner": "team-a"},
    "dataAddress": {
        "@type": "DataAddress",
        "type": "HttpData",
        "baseUrl": "https://backend.example.com/pcf",
        "proxyPath": "true",
        "proxyQueryParams": "true",
    },
}
ASSET_VOCAB = {"@context": {"@vocab": EDC_NS, "dct": DCT}, **ASSET_BODY}
ASSET_EDC_CONTEXT = {"@context": [EDC_CONTEXT, {"dct": DCT}], **ASSET_BODY}

POLICY_DEFINITION = {
    "@context": [EDC_CONTEXT],
    "@type": "PolicyDefinition",
    "@id": "policy-1",
    "policy": {
        "@type": "Set",
        "permission": [
            {
                "action": "use",
                "constraint": [{"leftOperand": "edc:inForceDate", "operator": "gteq", "rightOperand": "2025-01-01"}],
            }
        ],
    },
}

# The shape Tractus-X 2025-1 documents for policy definitions.
CX_POLICY_DEFINITION = {
    "@context": [CX_CONTEXT, DSPACE_ODRL, {"@vocab": EDC_NS}],
    "@type": "PolicyDefinition",
    "@id": "cx-usage-1",
    "policy": {
        "@type": "Set",
        "permission": [
            {
                "action": "use",
                "constraint": [
                    {
                        "and": [
                            {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
                            {"leftOperand": "UsagePurpose", "operator": "isAnyOf", "rightOperand": ["cx.pcf.base:1"]},
                        ]
                    }
                ],
            }
        ],
    },
}

EDR_DATA_ADDRESS = {
    "@context": [TX_AUTH_CONTEXT, {"@vocab": EDC_NS}],
    "@type": "DataAddress",
    "endpoint": "https://provider.example.com/api/public",
    "authorization": "eyJhbGciOi...",
    "refreshToken": "eyJyZWZyZXNo...",
    "refreshEndpoint": "https://provider.example.com/api/public/token",
    "expiresIn": "300",
}


@requires_shared
@pytest.mark.parametrize("doc", [ASSET_VOCAB, ASSET_EDC_CONTEXT], ids=["vocab", "edc-context"])
def test_asset_expands_like_the_reference_edc_context(doc):
    mine = expand(copy.deepcopy(doc))
    assert mine == official(OFFICIAL_EDC).expand(doc)
    assert {EDC_NS + "Asset", EDC_NS + "dataAddress", EDC_NS + "baseUrl", DCT + "type"} <= iris_in(mine)


def test_both_asset_forms_mean_the_same():
    assert expand(copy.deepcopy(ASSET_VOCAB)) == expand(copy.deepcopy(ASSET_EDC_CONTEXT))


@requires_shared
def test_policy_definition_uses_the_scoped_odrl_profile():
    mine = expand(copy.deepcopy(POLICY_DEFINITION))
    assert mine == official(OFFICIAL_EDC).expand(POLICY_DEFINITION)
    policy = mine[0][EDC_NS + "policy"][0]
    assert policy["@type"] == [ODRL_NS + "Set"]
    assert ODRL_NS + "permission" in policy, "policy terms must come from the odrl profile, not @vocab"


@requires_shared
def test_catenax_policy_definition_matches_tractusx():
    mine = expand(copy.deepcopy(CX_POLICY_DEFINITION))
    assert mine == official({**OFFICIAL_EDC, **OFFICIAL_CX_TRACTUSX}).expand(CX_POLICY_DEFINITION)
    assert {CX_POLICY_NS + "FrameworkAgreement", CX_POLICY_NS + "UsagePurpose"} <= iris_in(mine)


@requires_shared
def test_edr_data_address_uses_tx_auth_terms():
    mine = expand(copy.deepcopy(EDR_DATA_ADDRESS))
    assert mine == official(OFFICIAL_EDC).expand(EDR_DATA_ADDRESS)
    assert {TX_AUTH_NS + "refreshToken", TX_AUTH_NS + "expiresIn", EDC_NS + "endpoint"} <= iris_in(mine)
