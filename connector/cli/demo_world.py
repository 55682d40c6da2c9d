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
# the footprint assets are made by `connector pcf import` / `rollup --publish`: pcf-<manufacturerPartId>
CASTING_PCF, CASTING_FILE, MODULE_PCF = "pcf-NG-WC-400", "nordguss-casting-NG-WC-400-scan", "pcf-AX-RM-7"
EXCHANGE_ASSET = "pcf-exchange"  # each company's CX-0136 PCF exchange API
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


def _asset(asset_id: str, title: str, part_id: str, data_address: dict) -> dict:
    return {
        "@context": {"@vocab": EDC, "dct": "http://purl.org/dc/terms/", "cx-taxo": "https://w3id.org/catenax/taxonomy#"},
        "@id": asset_id,
        "properties": {"dct:title": title, "manufacturerPartId": part_id},
        "dataAddress": {"@type": "DataAddress", **data_address},
    }


def file_asset(asset_id: str, part_id: str, title: str, path: str) -> dict:
    """A file under the provider's [dataplane] files_dir, streamed by its data plane."""
    return _asset(asset_id, title, part_id, {"type": "PontisFile", "path": path,
                                             "contentType": "application/octet-stream"})


def contract_definition(cd_id: str, asset_id: str, access_id: str, usage_id: str) -> dict:
    return {
        "@context": {"@vocab": EDC}, "@id": cd_id, "accessPolicyId": access_id, "contractPolicyId": usage_id,
        "assetsSelector": [{"operandLeft": EDC + "id", "operator": "=", "operandRight": asset_id}],
    }


# what Nordguss publishes besides its footprint
NORDGUSS_OFFERS = [
    file_asset(CASTING_FILE, "NG-WC-400", f"CT scan of casting NG-WC-400 ({FILE_MB} MB)", "ng-wc-400-ct-scan.bin"),
]

# the footprints: Nordguss's casting (a CSV row), Achsen's in-house bearing (from its PACT tool), and the
# bills of materials Achsen and Motorwerke roll theirs up from; 58.6 kg is computed, never written here
CASTING_CSV = ("productId,productName,declaredUnit,pcfExcludingBiogenicUptake,productMassPerDeclaredUnit,"
               "geographyCountry,description\n"
               "NG-WC-400,Wheel-carrier casting NG-WC-400,piece,12.5,4.2,DE,"
               "Melting casting heat treatment and machining at the Nordguss foundry\n")
BEARING = {"product_id": "AX-BRG-62", "product_name": "Wheel bearing AX-BRG-62", "declared_unit": "piece",
           "pcf_excluding_biogenic_uptake": 1.8, "product_mass_per_declared_unit": 0.9, "geography_country": "DE",
           "description": "Bearings made in-house at Achsen"}
MODULE_BOM = {"productId": "AX-RM-7", "productName": "Rear-axle module AX-RM-7", "declaredUnit": "piece",
              "ownEmissions": {"pcfExcludingBiogenicUptake": 30}, "components": [
                  {"productId": "NG-WC-400", "supplierBpn": NORDGUSS.bpn, "quantity": 2, "unit": "piece"},
                  {"productId": "AX-BRG-62", "supplierBpn": ACHSEN.bpn, "quantity": 2, "unit": "piece"}]}
VEHICLE_BOM = {"productId": "MW-EV-1", "productName": "Vehicle MW-EV-1 (VIN WMW00000000000001)",
               "declaredUnit": "piece", "ownEmissions": {"pcfExcludingBiogenicUptake": 4850},
               "components": [{"productId": "AX-RM-7", "supplierBpn": ACHSEN.bpn, "quantity": 1, "unit": "piece"}]}

# PACT tools reading Nordguss's footprints over its PACT API: Achsen's (a customer its policies let in)
# and a stranger's (a BPN no policy names, so it sees nothing)
PACT_CLIENTS = [("achsen-pact-tool", "achsen-pact-tool-demo-secret", ACHSEN.bpn),
                ("stranger-pact-tool", "stranger-pact-tool-demo-secret", "BPNL0000STRANGER")]


def pact_section(clients: list[tuple[str, str, str]]) -> str:
    """The [pact] config of the demo: plain HTTP on the demo's localhost (PACT wants HTTPS in production)."""
    lines = ["[pact]", "allow_http = true"]
    for client_id, secret, bpn in clients:
        lines += ["[[pact.clients]]", f'client_id = "{client_id}"', f'client_secret = "{secret}"', f'bpn = "{bpn}"']
    return "\n".join(lines)
