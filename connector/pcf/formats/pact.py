"""PACT ProductFootprint v2 (2.x) and v3 (3.0) <-> io.catenax.pcf 8.0.0 (research/catenax.md §1.4).

PACT writes decimals as strings and precedingPfIds as plain ids; Catena-X writes numbers and
[{"id"}]. What 8.0.0 requires and PACT does not say gets the documented default below.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

from connector.pcf.formats.common import MISSING, decimal_string, number_from_decimal_string, put, standard_names

SPEC_8 = "urn:io.catenax.pcf:datamodel:version:8.0.0"
CPC_URN = "urn:pact:productclassification:cpc:"
RETROSPECTIVE_8 = "Retrospective PCF, Prospective PCF without forerunner"
PACT_REGIONS = frozenset((
    "Africa", "Americas", "Asia", "Europe", "Oceania", "Australia and New Zealand", "Central Asia",
    "Eastern Asia", "Eastern Europe", "Latin America and the Caribbean", "Melanesia", "Micronesia",
    "Northern Africa", "Northern America", "Northern Europe", "Polynesia", "South-eastern Asia",
    "Southern Asia", "Southern Europe", "Sub-Saharan Africa", "Western Asia", "Western Europe"))
# Catena-X needs a region; a PACT footprint that names none (or only a country) claims no region.
DEFAULT_REGION = "Global"
# Catena-X requires these; PACT has no field for them. The defaults are the Rulebook's usual case.
DEFAULT_WASTE_INCINERATION = "cut-off"

TOP_SAME = ("id", "created", "status", "validityPeriodStart", "validityPeriodEnd", "companyName",
            "companyIds", "productDescription", "productIds", "productNameCompany", "comment")

# (PACT name, 8.0.0 name) of the pcf figures; v3 writes them all as decimal strings.
V3_DECIMALS = (
    ("declaredUnitAmount", "declaredUnitAmount"), ("productMassPerDeclaredUnit", "productMassPerDeclaredUnit"),
    ("pcfExcludingBiogenicUptake", "pcfExcludingBiogenicUptake"),
    ("pcfIncludingBiogenicUptake", "pcfIncludingBiogenicUptake"),
    ("fossilCarbonContent", "fossilCarbonContent"), ("biogenicCarbonContent", "biogenicCarbonContent"),
    ("recycledCarbonContent", "recycledCarbonContent"), ("fossilGhgEmissions", "fossilGhgEmissions"),
    ("landUseChangeGhgEmissions", "landUseChangeGhgEmissions"),
    ("landManagementBiogenicCO2Emissions", "landManagementBiogenicCO2Emissions"),
    ("landManagementBiogenicCO2Removals", "landManagementBiogenicCO2Removals"),
    ("biogenicCO2Uptake", "biogenicCO2Uptake"), ("biogenicNonCO2Emissions", "biogenicNonCO2Emissions"),
    ("aircraftGhgEmissions", "aircraftGhgEmissions"),
    ("packagingGhgEmissions", "packagingPcfExcludingBiogenicUptake"),
    ("packagingBiogenicCarbonContent", "packagingBiogenicCarbonContent"),
    ("exemptedEmissionsPercent", "exemptedEmissionsPercent"), ("primaryDataShare", "primaryDataShare"),
)
V2_DECIMALS = (
    ("unitaryProductAmount", "declaredUnitAmount"), ("productMassPerDeclaredUnit", "productMassPerDeclaredUnit"),
    ("pCfExcludingBiogenic", "pcfExcludingBiogenicUptake"), ("pCfIncludingBiogenic", "pcfIncludingBiogenicUptake"),
    ("fossilGhgEmissions", "fossilGhgEmissions"), ("fossilCarbonContent", "fossilCarbonContent"),
    ("biogenicCarbonContent", "biogenicCarbonContent"), ("dLucGhgEmissions", "landUseChangeGhgEmissions"),
    ("otherBiogenicGhgEmissions", "biogenicNonCO2Emissions"), ("biogenicCarbonWithdrawal", "biogenicCO2Uptake"),
    ("aircraftGhgEmissions", "aircraftGhgEmissions"), ("packagingGhgEmissions", "packagingPcfExcludingBiogenicUptake"),
)
V2_NUMBERS = (("exemptedEmissionsPercent", "exemptedEmissionsPercent"), ("primaryDataShare", "primaryDataShare"))
PCF_SAME = ("referencePeriodStart", "referencePeriodEnd", "boundaryProcessesDescription",
            "exemptedEmissionsDescription", "allocationRulesDescription", "packagingEmissionsIncluded")
DQR = ("technologicalDQR", "temporalDQR", "geographicalDQR")


def _three_years_after(timestamp: str) -> str:
    """PACT: without a validity period, a footprint is valid 3 years after its reference period."""
    end = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    try:
        later = end.replace(year=end.year + 3)
    except ValueError:  # 29 February
        later = end + timedelta(days=3 * 365)
    return later.isoformat().replace("+00:00", "Z")


def _number(text):
    return number_from_decimal_string(text) if isinstance(text, str) else text


def _rules_to_8(rules: list) -> list[str]:
    return [name for rule in rules for name in rule.get("ruleNames", [])]


def _rules_from_8(names: list[str]) -> list[dict]:
    return [{"operator": "Other", "ruleNames": list(names)}] if names else []


def _source_to_8(source: dict) -> str:
    return f"{source.get('name', '')} {source.get('version', '')}".strip()


def _source_from_8(text: str) -> dict:
    name, _, version = text.rpartition(" ")
    return {"name": name, "version": version} if name else {"name": text, "version": "unknown"}


def _rules_and_sources_to_8(pcf_in: dict, pcf: dict) -> None:
    pcf["productOrSectorSpecificRules"] = _rules_to_8(pcf_in.get("productOrSectorSpecificRules", []))
    pcf["secondaryEmissionFactorSources"] = [_source_to_8(s) for s in pcf_in.get("secondaryEmissionFactorSources", [])]


def _rules_and_sources_from_8(pcf8: dict, pcf: dict) -> None:
    """PACT wants these lists non-empty when present: an empty one is left out."""
    rules = _rules_from_8(pcf8.get("productOrSectorSpecificRules", []))
    if rules:
        pcf["productOrSectorSpecificRules"] = rules
    sources = [_source_from_8(s) for s in pcf8.get("secondaryEmissionFactorSources", [])]
    if sources:
        pcf["secondaryEmissionFactorSources"] = sources


def _geography_to_8(pcf_in: dict, pcf: dict) -> None:
    region = pcf_in.get("geographyRegionOrSubregion")
    pcf["geographyRegionOrSubregion"] = region or DEFAULT_REGION
    subdivision = pcf_in.get("geographyCountrySubdivision")
    put(pcf, "geographyCountrySubdivision", subdivision)
    country = pcf_in.get("geographyCountry") or (subdivision[:2] if subdivision else None)
    put(pcf, "geographyCountry", country)


def _geography_from_8(pcf8: dict, pcf: dict) -> None:
    """PACT allows one geography granularity: the most specific one Catena-X gives."""
    if pcf8.get("geographyCountrySubdivision"):
        pcf["geographyCountrySubdivision"] = pcf8["geographyCountrySubdivision"]
    elif pcf8.get("geographyCountry"):
        pcf["geographyCountry"] = pcf8["geographyCountry"]
    elif pcf8.get("geographyRegionOrSubregion") in PACT_REGIONS:
        pcf["geographyRegionOrSubregion"] = pcf8["geographyRegionOrSubregion"]


def _top_to_8(doc: dict) -> dict:
    out: dict = {"specVersion": [SPEC_8], "partialFullPcf": "Cradle-to-gate"}
    for key in TOP_SAME:
        put(out, key, copy.deepcopy(doc.get(key, MISSING)))
    if doc.get("precedingPfIds"):
        out["precedingPfIds"] = [{"id": pf_id} for pf_id in doc["precedingPfIds"]]
    put(out, "productClassifications", copy.deepcopy(doc.get("productClassifications", MISSING)))
    out["version"] = doc.get("version", 0)
    if "validityPeriodEnd" not in out and "referencePeriodEnd" in doc.get("pcf", {}):
        out["validityPeriodEnd"] = _three_years_after(doc["pcf"]["referencePeriodEnd"])
    out["retroOrProspectivePcfType"] = RETROSPECTIVE_8
    out["ccsTechnologicalCO2CaptureIncluded"] = bool(doc.get("pcf", {}).get("ccsTechnologicalCO2CaptureIncluded", False))
    return out


def _pcf_defaults(pcf: dict) -> None:
    pcf.setdefault("pcfIncludingBiogenicUptake", pcf.get("pcfExcludingBiogenicUptake"))
    pcf.setdefault("productMassPerDeclaredUnit", 0)
    pcf.setdefault("packagingEmissionsIncluded", False)
    pcf["packagingPcfIncludingBiogenicUptake"] = pcf.get("packagingPcfExcludingBiogenicUptake", 0)
    pcf["allocationWasteIncineration"] = DEFAULT_WASTE_INCINERATION
    pcf["massBalancingUsed"] = False
    pcf["distributionStageIncluded"] = False


def v3_to_8(doc: dict) -> dict:
    pcf_in = doc.get("pcf", {})
    out = _top_to_8(doc)
    pcf: dict = {"declaredUnitOfMeasurement": pcf_in.get("declaredUnitOfMeasurement")}
    for pact, cx in V3_DECIMALS:
        put(pcf, cx, _number(pcf_in.get(pact)))
    for key in PCF_SAME:
        put(pcf, key, pcf_in.get(key, MISSING))
    _geography_to_8(pcf_in, pcf)
    factors = pcf_in.get("ipccCharacterizationFactors") or []
    known = [f for f in factors if f in ("AR6", "AR5", "AR4")]
    pcf["ipccCharacterizationFactors"] = known[0] if known else "unspecified"
    pcf["crossSectoralStandards"] = list(pcf_in.get("crossSectoralStandards", []))
    _rules_and_sources_to_8(pcf_in, pcf)
    if isinstance(pcf_in.get("dqi"), dict):
        pcf["dataQualityRating"] = {k: _number(v) for k, v in pcf_in["dqi"].items() if k in DQR}
    _pcf_defaults(pcf)
    out["pcf"] = pcf
    return out


def v2_to_8(doc: dict) -> dict:
    pcf_in = doc.get("pcf", {})
    out = _top_to_8(doc)
    cpc = doc.get("productCategoryCpc")
    if cpc:
        out["productClassifications"] = [CPC_URN + cpc] + [
            c for c in out.get("productClassifications", []) if c != CPC_URN + cpc]
    pcf: dict = {"declaredUnitOfMeasurement": pcf_in.get("declaredUnit")}
    for pact, cx in V2_DECIMALS:
        put(pcf, cx, _number(pcf_in.get(pact)))
    for pact, cx in V2_NUMBERS:
        put(pcf, cx, pcf_in.get(pact, MISSING))
    for key in PCF_SAME:
        put(pcf, key, pcf_in.get(key, MISSING))
    _geography_to_8(pcf_in, pcf)
    pcf["ipccCharacterizationFactors"] = pcf_in.get("characterizationFactors", "unspecified")
    pcf["crossSectoralStandards"] = list(pcf_in.get("crossSectoralStandardsUsed", []))
    _rules_and_sources_to_8(pcf_in, pcf)
    if isinstance(pcf_in.get("dqi"), dict):
        pcf["dataQualityRating"] = {k: v for k, v in pcf_in["dqi"].items() if k in DQR}
    _pcf_defaults(pcf)
    out["pcf"] = pcf
    return out


def _top_from_8(doc8: dict, spec_version: str) -> dict:
    out: dict = {"id": doc8.get("id"), "specVersion": spec_version}
    for key in TOP_SAME:
        put(out, key, copy.deepcopy(doc8.get(key, MISSING)))
    pf_ids = [p["id"] for p in doc8.get("precedingPfIds", []) if isinstance(p, dict) and p.get("id")]
    if pf_ids:
        out["precedingPfIds"] = pf_ids
    if doc8.get("productClassifications"):
        out["productClassifications"] = list(doc8["productClassifications"])
    out.setdefault("productDescription", "")
    return out


def v3_from_8(doc8: dict) -> dict:
    pcf8 = doc8.get("pcf", {})
    out = _top_from_8(doc8, "3.0.0")
    pcf: dict = {"declaredUnitOfMeasurement": pcf8.get("declaredUnitOfMeasurement")}
    for pact, cx in V3_DECIMALS:
        if cx in pcf8:
            pcf[pact] = decimal_string(pcf8[cx])
    for key in PCF_SAME:
        put(pcf, key, pcf8.get(key, MISSING))
    _geography_from_8(pcf8, pcf)
    if doc8.get("ccsTechnologicalCO2CaptureIncluded"):
        pcf["ccsTechnologicalCO2CaptureIncluded"] = True
    factor = pcf8.get("ipccCharacterizationFactors")
    pcf["ipccCharacterizationFactors"] = [factor] if factor else []
    pcf["crossSectoralStandards"] = standard_names(pcf8.get("crossSectoralStandards", []), "pact-3")
    _rules_and_sources_from_8(pcf8, pcf)
    dqr = pcf8.get("dataQualityRating") or {}
    if all(k in dqr for k in DQR):
        pcf["dqi"] = {k: decimal_string(dqr[k]) for k in DQR}
    out["pcf"] = pcf
    return out


def v2_from_8(doc8: dict) -> dict:
    pcf8 = doc8.get("pcf", {})
    out = _top_from_8(doc8, "2.3.0")
    out["version"] = int(doc8.get("version", 0))
    out.setdefault("comment", "")
    classifications = doc8.get("productClassifications") or []
    cpc = next((c[len(CPC_URN):] for c in classifications if c.startswith(CPC_URN)), None)
    out["productCategoryCpc"] = cpc if cpc is not None else ""
    rest = [c for c in classifications if not c.startswith(CPC_URN)]
    if rest:
        out["productClassifications"] = rest
    else:
        out.pop("productClassifications", None)
    pcf: dict = {"declaredUnit": pcf8.get("declaredUnitOfMeasurement")}
    for pact, cx in V2_DECIMALS:
        if cx in pcf8:
            pcf[pact] = decimal_string(pcf8[cx])
    for pact, cx in V2_NUMBERS:
        put(pcf, pact, pcf8.get(cx, MISSING))
    for key in PCF_SAME:
        put(pcf, key, pcf8.get(key, MISSING))
    pcf.setdefault("boundaryProcessesDescription", "")
    pcf.setdefault("exemptedEmissionsDescription", "")
    _geography_from_8(pcf8, pcf)
    factor = pcf8.get("ipccCharacterizationFactors")
    pcf["characterizationFactors"] = factor
    pcf["ipccCharacterizationFactorsSources"] = [factor] if factor else []
    pcf["crossSectoralStandardsUsed"] = standard_names(pcf8.get("crossSectoralStandards", []), "pact-2")
    _rules_and_sources_from_8(pcf8, pcf)
    out["pcf"] = pcf
    return out
