"""The demo data space: three companies, one supply chain (see /design/demo-story.md).

Names, BPNs and figures are the shared story's: Nordguss (tier-2 foundry), Achsen (tier-1 axle
modules) and Motorwerke (OEM). Everything here is data; ``demo.py`` tells the story with it.
"""

from __future__ import annotations

from dataclasses import dataclass

EDC = "https://w3id.org/edc/v0.0.1/ns/"
MGMT_CONTEXT = [
    "https://w3id.org/catenax/2025/9/policy/context.jsonld",
    "https://w3id.org/dspace/2025/1/odrl-profile.jsonld",
    {"@vocab": EDC},
]
PROTOCOL = "dataspace-protocol-http:2025-1"


@dataclass(frozen=True)
class Company:
    key: str
    name: str
    role: str
    bpn: str
    # does the issuer give it a DataExchangeGovernance credential at the start?
    governance: bool


NORDGUSS = Company("nordguss", "Nordguss GmbH", "tier-2 supplier (aluminium foundry)", "BPNL0000000NGUSS", True)
ACHSEN = Company("achsen", "Achsen AG", "tier-1 supplier (rear-axle modules)", "BPNL00000ACHSEAG", True)
MOTORWERKE = Company("motorwerke", "Motorwerke AG", "OEM (vehicles)", "BPNL00000MOTORWK", False)
COMPANIES = (NORDGUSS, ACHSEN, MOTORWERKE)

PCF_PURPOSE = "cx.pcf.base:1"
PARTS_PURPOSE = "cx.core.industrycore:1"
FILE_MB = 50

# asset and policy ids
CASTING_PCF, CASTING_FILE, MODULE_PCF = "nordguss-pcf-NG-WC-400", "nordguss-casting-NG-WC-400-scan", "achsen-pcf-AX-RM-7"
NORDGUSS_ACCESS, NORDGUSS_USAGE = "nordguss-customers-access", "nordguss-pcf-usage"
ACHSEN_ACCESS, ACHSEN_USAGE = "achsen-customers-access", "achsen-pcf-usage"


def access_constraints(customer_bpns: list[str]) -> list[dict]:
    return [{"and": [
        {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"},
        {"leftOperand": "BusinessPartnerNumber", "operator": "isAnyOf", "rightOperand": list(customer_bpns)},
    ]}]


def access_policy(policy_id: str, customer_bpns: list[str]) -> dict:
    """Only the named customers, and only as active Catena-X members, see the offer."""
    return {
        "@context": MGMT_CONTEXT, "@type": "PolicyDefinition", "@id": policy_id,
        "policy": {"@type": "Set", "permission": [{"action": "access",
                                                   "constraint": access_constraints(customer_bpns)}]},
    }


def usage_policy(policy_id: str, purpose: str) -> dict:
    """The CX-0136 usage policy: the governance framework, membership, and one purpose."""
    return {
        "@context": MGMT_CONTEXT, "@type": "PolicyDefinition", "@id": policy_id,
        "policy": {"@type": "Set", "permission": [{"action": "use", "constraint": [{"and": [
            {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
            {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"},
            {"leftOperand": "UsagePurpose", "operator": "isAnyOf", "rightOperand": [purpose]},
        ]}]}]},
    }


def pcf_document(company: Company, part_id: str, name: str, kg: float, description: str, uuid: str) -> dict:
    """A PCF (Catena-X PCF data model 8.0.0), cut to the fields the story needs."""
    return {
        "specVersion": ["urn:io.catenax.pcf:datamodel:version:8.0.0"], "id": uuid, "version": 0,
        "status": "Active", "created": "2026-11-07T08:00:00Z", "companyName": company.name,
        "companyIds": [f"urn:{company.bpn}"], "productIds": [f"urn:mpn:{part_id}"],
        "productNameCompany": name, "productDescription": description, "partialFullPcf": "Cradle-to-gate",
        "pcf": {"declaredUnitOfMeasurement": "piece", "declaredUnitAmount": 1.0, "geographyCountry": "DE",
                "crossSectoralStandards": ["ISO 14067"], "ipccCharacterizationFactors": "AR6",
                "pcfExcludingBiogenicUptake": kg, "pcfIncludingBiogenicUptake": kg, "fossilGhgEmissions": kg,
                "biogenicCO2Uptake": 0, "boundaryProcessesDescription": description},
    }


CASTING_DOC = pcf_document(NORDGUSS, "NG-WC-400", "Wheel-carrier casting NG-WC-400", 12.5,
                           "Melting, casting, heat treatment and machining at the Nordguss foundry",
                           "6f3b1a52-9c1e-4f0a-8d55-2b7e1c9a4e01")
MODULE_DOC = pcf_document(ACHSEN, "AX-RM-7", "Rear-axle module AX-RM-7", 58.6,
                          "Own process 30 kg + 2 x 12.5 kg castings (Nordguss) + 2 x 1.8 kg bearings",
                          "0d7c2e91-4b8a-4e62-9f1d-7a3c5b2e8f10")


def _asset(asset_id: str, title: str, part_id: str, data_address: dict) -> dict:
    return {
        "@context": {"@vocab": EDC, "dct": "http://purl.org/dc/terms/", "cx-taxo": "https://w3id.org/catenax/taxonomy#"},
        "@id": asset_id,
        "properties": {"dct:title": title, "dct:type": {"@id": "cx-taxo:PcfExchange"}, "manufacturerPartId": part_id},
        "dataAddress": {"@type": "DataAddress", **data_address},
    }


def pcf_asset(asset_id: str, part_id: str, title: str, document: dict) -> dict:
    """A PCF stored in the connector itself; "@json" keeps JSON-LD expansion off the document."""
    return _asset(asset_id, title, part_id, {"type": "PontisDocument", "contentType": "application/json",
                                             "document": {"@type": "@json", "@value": document}})


def file_asset(asset_id: str, part_id: str, title: str, path: str) -> dict:
    """A file under the provider's [dataplane] files_dir, streamed by its data plane."""
    return _asset(asset_id, title, part_id, {"type": "PontisFile", "path": path,
                                             "contentType": "application/octet-stream"})


def contract_definition(cd_id: str, asset_id: str, access_id: str, usage_id: str) -> dict:
    return {
        "@context": {"@vocab": EDC}, "@id": cd_id, "accessPolicyId": access_id, "contractPolicyId": usage_id,
        "assetsSelector": [{"operandLeft": EDC + "id", "operator": "=", "operandRight": asset_id}],
    }


# what each company publishes: (asset, access policy, usage policy)
NORDGUSS_OFFERS = [
    pcf_asset(CASTING_PCF, "NG-WC-400", "PCF of wheel-carrier casting NG-WC-400", CASTING_DOC),
    file_asset(CASTING_FILE, "NG-WC-400", f"CT scan of casting NG-WC-400 ({FILE_MB} MB)", "ng-wc-400-ct-scan.bin"),
]
ACHSEN_OFFERS = [pcf_asset(MODULE_PCF, "AX-RM-7", "PCF of rear-axle module AX-RM-7", MODULE_DOC)]
