"""The demo data space: three companies, one supply chain (see README, "The demo").

Names, BPNs and figures are the shared story's: Nordguss (tier-2 foundry), Achsen (tier-1 axle
modules) and Motorwerke (OEM). Everything here is data; ``demo.py`` tells the story with it.
"""

from __future__ import annotations

from dataclasses import dataclass

MGMT_CONTEXT = [
    "https://w3id.org/catenax/2025/9/policy/context.jsonld",
    "https://w3id.org/dspace/2025/1/odrl-profile.jsonld",
    {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"},
]


@dataclass(frozen=True)
class Company:
    key: str
    name: str
    role: str
    bpn: str


NORDGUSS = Company("nordguss", "Nordguss GmbH", "tier-2 supplier (aluminium foundry)", "BPNL0000000NGUSS")
ACHSEN = Company("achsen", "Achsen AG", "tier-1 supplier (rear-axle modules)", "BPNL00000ACHSEAG")
MOTORWERKE = Company("motorwerke", "Motorwerke AG", "OEM (vehicles)", "BPNL00000MOTORWK")
COMPANIES = (NORDGUSS, ACHSEN, MOTORWERKE)

PCF_PURPOSE = "cx.pcf.base:1"
PARTS_PURPOSE = "cx.core.industrycore:1"


def access_policy(policy_id: str, customer_bpn: str) -> dict:
    """Only the named customer, and only as an active Catena-X member, sees the offer."""
    return {
        "@context": MGMT_CONTEXT,
        "@type": "PolicyDefinition",
        "@id": policy_id,
        "policy": {
            "@type": "Set",
            "permission": [{
                "action": "access",
                "constraint": [{"and": [
                    {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"},
                    {"leftOperand": "BusinessPartnerNumber", "operator": "isAnyOf", "rightOperand": [customer_bpn]},
                ]}],
            }],
        },
    }


def usage_policy(policy_id: str, purpose: str) -> dict:
    """The CX-0136 usage policy: the governance framework, membership, and one purpose."""
    return {
        "@context": MGMT_CONTEXT,
        "@type": "PolicyDefinition",
        "@id": policy_id,
        "policy": {
            "@type": "Set",
            "permission": [{
                "action": "use",
                "constraint": [{"and": [
                    {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
                    {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"},
                    {"leftOperand": "UsagePurpose", "operator": "isAnyOf", "rightOperand": [purpose]},
                ]}],
            }],
        },
    }


def pcf_asset(asset_id: str, part_id: str, title: str) -> dict:
    return {
        "@context": {"@vocab": "https://w3id.org/edc/v0.0.1/ns/", "dct": "http://purl.org/dc/terms/",
                     "cx-taxo": "https://w3id.org/catenax/taxonomy#"},
        "@id": asset_id,
        "properties": {
            "dct:title": title,
            "dct:type": {"@id": "cx-taxo:PcfExchange"},
            "manufacturerPartId": part_id,
        },
        "dataAddress": {"@type": "DataAddress", "type": "HttpData", "baseUrl": f"https://backend.invalid/pcf/{part_id}"},
    }


def contract_definition(cd_id: str, asset_id: str, access_id: str, usage_id: str) -> dict:
    return {
        "@context": {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"},
        "@id": cd_id,
        "accessPolicyId": access_id,
        "contractPolicyId": usage_id,
        "assetsSelector": [{
            "operandLeft": "https://w3id.org/edc/v0.0.1/ns/id", "operator": "=", "operandRight": asset_id,
        }],
    }
