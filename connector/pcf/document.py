"""Writing io.catenax.pcf 8.0.0 documents: a new footprint from its key figures, and its successor.

``new_footprint`` fills every field the 8.0.0 model requires, from the few a supplier knows (what,
per which unit, how many kg CO2e) and defaults that say what they are (cradle-to-gate, ISO 14067,
AR6, the reporting year). ``successor`` is the PACT v3 update rule: a new id, the old id in
``precedingPfIds``, ``version`` 0. Product ids are written ``urn:mpn:<manufacturerPartId>`` unless
they already are a URN; ``part_id`` reads one back.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

SPEC_VERSION = "urn:io.catenax.pcf:datamodel:version:8.0.0"
DEFAULT_STANDARDS = ["ISO 14067"]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def product_urn(product_id: str) -> str:
    """``NG-WC-400`` → ``urn:mpn:NG-WC-400``; a URN (or any URI) stays as it is."""
    return product_id if ":" in product_id else f"urn:mpn:{product_id}"


def part_id(product_id: str) -> str:
    """The manufacturerPartId in a product id: ``urn:mpn:NG-WC-400`` → ``NG-WC-400``."""
    return product_id.rsplit(":", 1)[-1] if product_id.startswith("urn:") else product_id


def company_urn(bpn: str) -> str:
    return bpn if bpn.startswith("urn:") else f"urn:{bpn}"


def number(value: Decimal | float | int) -> float | int:
    """A JSON number for a Decimal, without float noise (58.6, not 58.599999999999994)."""
    value = Decimal(str(value)).normalize()
    return int(value) if value == value.to_integral_value() and abs(value) < 10**15 else float(value)


def new_footprint(*, product_id: str, product_name: str, company_name: str, company_bpn: str,
                  declared_unit: str, pcf_excluding_biogenic_uptake: Decimal | float,
                  now: datetime, footprint_id: str | None = None, declared_unit_amount: Decimal | float = 1,
                  product_mass_per_declared_unit: Decimal | float = 0,
                  pcf_including_biogenic_uptake: Decimal | float | None = None,
                  description: str | None = None, preceding_ids: Sequence[str] = (),
                  geography_country: str | None = None, geography_region: str = "Europe",
                  reference_period: tuple[str, str] | None = None, validity_end: str | None = None,
                  standards: list[str] | None = None, partial_full: str = "Cradle-to-gate") -> dict[str, Any]:
    """A complete 8.0.0 footprint. Emissions are kg CO2e per ``declared_unit_amount`` of ``declared_unit``."""
    year = now.astimezone(UTC).year
    start, end = reference_period or (f"{year - 1}-01-01T00:00:00Z", f"{year - 1}-12-31T23:59:59Z")
    excluding = number(pcf_excluding_biogenic_uptake)
    including = excluding if pcf_including_biogenic_uptake is None else number(pcf_including_biogenic_uptake)
    pcf: dict[str, Any] = {
        "declaredUnitOfMeasurement": declared_unit,
        "declaredUnitAmount": number(declared_unit_amount),
        "productMassPerDeclaredUnit": number(product_mass_per_declared_unit),
        "exemptedEmissionsPercent": 0,
        "geographyRegionOrSubregion": geography_region,
        "referencePeriodStart": start,
        "referencePeriodEnd": end,
        "crossSectoralStandards": list(standards or DEFAULT_STANDARDS),
        "productOrSectorSpecificRules": ["Catena-X PCF Rulebook v4"],
        "ipccCharacterizationFactors": "AR6",
        "allocationWasteIncineration": "cut-off",
        "secondaryEmissionFactorSources": ["ecoinvent 3.10"],
        "packagingEmissionsIncluded": False,
        "pcfExcludingBiogenicUptake": excluding,
        "pcfIncludingBiogenicUptake": including,
        "fossilGhgEmissions": excluding,
        "biogenicCO2Uptake": 0,
        # PACT requires the carbon contents; a supplier who knows them overwrites these
        "fossilCarbonContent": 0,
        "biogenicCarbonContent": 0,
        "massBalancingUsed": False,
        "packagingPcfIncludingBiogenicUptake": 0,
        "distributionStageIncluded": False,
        "boundaryProcessesDescription": description or "Cradle-to-gate emissions of the product",
    }
    if geography_country:
        pcf["geographyCountry"] = geography_country
    document: dict[str, Any] = {
        "specVersion": [SPEC_VERSION],
        "id": footprint_id or str(uuid.uuid4()),
        "version": 0,
        "status": "Active",
        "created": iso(now),
        "validityPeriodStart": iso(now),
        "validityPeriodEnd": validity_end or f"{year + 1}-12-31T23:59:59Z",
        "companyName": company_name,
        "companyIds": [company_urn(company_bpn)],
        "productIds": [product_urn(product_id)],
        "productNameCompany": product_name,
        "partialFullPcf": partial_full,
        "retroOrProspectivePcfType": "Retrospective PCF, Prospective PCF without forerunner",
        "ccsTechnologicalCO2CaptureIncluded": False,
        "pcf": pcf,
    }
    if description:
        document["productDescription"] = description
    if preceding_ids:
        document["precedingPfIds"] = [{"id": pid} for pid in preceding_ids]
    return document


def preceding_ids(document: dict) -> list[str]:
    """The ids in an 8.0.0 document's ``precedingPfIds`` (``[{id}]``)."""
    out = []
    for item in document.get("precedingPfIds") or []:
        value = item.get("id") if isinstance(item, dict) else item
        if isinstance(value, str):
            out.append(value)
    return out


def successor(document: dict, predecessor_id: str) -> dict:
    """``document`` as the update of ``predecessor_id``: that id added to precedingPfIds (PACT v3)."""
    updated = copy.deepcopy(document)
    ids = preceding_ids(updated)
    if predecessor_id not in ids:
        ids.append(predecessor_id)
    updated["precedingPfIds"] = [{"id": pid} for pid in ids]
    return updated
