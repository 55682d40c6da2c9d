"""io.catenax.pcf 7.0.0 (flat, PACT v2 names with extWBCSD_/extTFS_ prefixes) <-> 8.0.0."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

from connector.pcf.formats.common import MISSING, put, standard_names, unique

SPEC_7 = "urn:io.catenax.pcf:datamodel:version:7.0.0"
SPEC_8 = "urn:io.catenax.pcf:datamodel:version:8.0.0"
CPC_URN = "urn:pact:productclassification:cpc:"
RETROSPECTIVE_8 = "Retrospective PCF, Prospective PCF without forerunner"

# Same meaning, other name (7.0.0 name, 8.0.0 name); everything not named is the same in both.
TOP_RENAMES = {"extWBCSD_pfStatus": "status", "productName": "productNameCompany"}
TOP_SAME = ("id", "partialFullPcf", "precedingPfIds", "version", "created", "validityPeriodStart",
            "validityPeriodEnd", "comment", "companyName", "companyIds", "productDescription",
            "productIds", "pcfLegalStatement")
PCF_RENAMES = {
    "declaredUnit": "declaredUnitOfMeasurement",
    "unitaryProductAmount": "declaredUnitAmount",
    "extWBCSD_characterizationFactors": "ipccCharacterizationFactors",
    "extWBCSD_allocationRulesDescription": "allocationRulesDescription",
    "extTFS_allocationWasteIncineration": "allocationWasteIncineration",
    "extWBCSD_packagingEmissionsIncluded": "packagingEmissionsIncluded",
    "pcfExcludingBiogenic": "pcfExcludingBiogenicUptake",
    "pcfIncludingBiogenic": "pcfIncludingBiogenicUptake",
    "biogenicCarbonEmissionsOtherThanCO2": "biogenicNonCO2Emissions",
    "biogenicCarbonWithdrawal": "biogenicCO2Uptake",
    "dlucGhgEmissions": "landUseChangeGhgEmissions",
    "extWBCSD_packagingGhgEmissions": "packagingPcfExcludingBiogenicUptake",
    "distributionStagePcfExcludingBiogenic": "distributionStagePcfExcludingBiogenicUptake",
    "distributionStagePcfIncludingBiogenic": "distributionStagePcfIncludingBiogenicUptake",
    "distributionStageBiogenicCarbonEmissionsOtherThanCO2": "distributionStageBiogenicNonCO2Emissions",
    "distributionStageBiogenicCarbonWithdrawal": "distributionStageBiogenicCO2Uptake",
    "extTFS_distributionStageDlucGhgEmissions": "distributionStageLandUseChangeGhgEmissions",
    "extWBCSD_fossilCarbonContent": "fossilCarbonContent",
    "carbonContentBiogenic": "biogenicCarbonContent",
}
PCF_SAME = ("productMassPerDeclaredUnit", "exemptedEmissionsPercent", "exemptedEmissionsDescription",
            "boundaryProcessesDescription", "geographyCountrySubdivision", "geographyCountry",
            "geographyRegionOrSubregion", "referencePeriodStart", "referencePeriodEnd",
            "primaryDataShare", "fossilGhgEmissions", "aircraftGhgEmissions",
            "distributionStageFossilGhgEmissions", "carbonContentTotal",
            "distributionStageAircraftGhgEmissions")
DQR_SAME = ("technologicalDQR", "temporalDQR", "geographicalDQR")


def _three_years_after(timestamp: str) -> str:
    """PACT v2: without a validity period a footprint is valid 3 years after its reference period."""
    try:
        end = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
        later = end.replace(year=end.year + 3)
    except ValueError:
        later = datetime.fromisoformat(timestamp.replace("Z", "+00:00")) + timedelta(days=3 * 365)
    text = later.isoformat()
    return text.replace("+00:00", "Z")


def to_8(doc: dict) -> dict:
    pcf7 = doc.get("pcf", {})
    out: dict = {"specVersion": [SPEC_8]}
    for key in TOP_SAME:
        put(out, key, copy.deepcopy(doc.get(key, MISSING)))
    for old, new in TOP_RENAMES.items():
        put(out, new, doc.get(old, MISSING))
    for key in ("companyIds", "productIds"):  # 8.0.0 wants them unique, 7.0.0 did not say
        if isinstance(out.get(key), list):
            out[key] = unique(out[key])
    cpc = doc.get("extWBCSD_productCodeCpc")
    if cpc:
        out["productClassifications"] = [CPC_URN + cpc]
    if "validityPeriodEnd" not in out and "referencePeriodEnd" in pcf7:
        out["validityPeriodEnd"] = _three_years_after(pcf7["referencePeriodEnd"])
    out["retroOrProspectivePcfType"] = RETROSPECTIVE_8
    out["ccsTechnologicalCO2CaptureIncluded"] = False

    pcf: dict = {}
    for key in PCF_SAME:
        put(pcf, key, pcf7.get(key, MISSING))
    for old, new in PCF_RENAMES.items():
        put(pcf, new, pcf7.get(old, MISSING))
    pcf["crossSectoralStandards"] = [
        s.get("crossSectoralStandard") for s in pcf7.get("crossSectoralStandardsUsed", [])]
    pcf["productOrSectorSpecificRules"] = [
        rule.get("ruleName") for group in pcf7.get("productOrSectorSpecificRules", [])
        for rule in group.get("productOrSectorSpecificRules", [])]
    pcf["secondaryEmissionFactorSources"] = [
        s.get("secondaryEmissionFactorSource") for s in pcf7.get("secondaryEmissionFactorSources", [])]
    if "dataQualityRating" in pcf7:
        pcf["dataQualityRating"] = {k: v for k, v in pcf7["dataQualityRating"].items() if k in DQR_SAME}
    pcf.setdefault("pcfIncludingBiogenicUptake", pcf.get("pcfExcludingBiogenicUptake"))
    pcf["massBalancingUsed"] = False
    pcf["distributionStageIncluded"] = any(k.startswith("distributionStage") for k in pcf)
    pcf["packagingPcfIncludingBiogenicUptake"] = pcf.get("packagingPcfExcludingBiogenicUptake", 0)
    out["pcf"] = pcf
    return out


def from_8(doc8: dict) -> dict:
    pcf8 = doc8.get("pcf", {})
    out: dict = {"specVersion": SPEC_7}
    for key in TOP_SAME:
        put(out, key, copy.deepcopy(doc8.get(key, MISSING)))
    for old, new in TOP_RENAMES.items():
        put(out, old, doc8.get(new, MISSING))
    classifications = doc8.get("productClassifications") or []
    cpc = next((c[len(CPC_URN):] for c in classifications if c.startswith(CPC_URN)), None)
    out["extWBCSD_productCodeCpc"] = cpc if cpc is not None else (classifications[0] if classifications else "")

    pcf: dict = {}
    for key in PCF_SAME:
        put(pcf, key, pcf8.get(key, MISSING))
    for old, new in PCF_RENAMES.items():
        put(pcf, old, pcf8.get(new, MISSING))
    pcf["crossSectoralStandardsUsed"] = [
        {"crossSectoralStandard": s} for s in standard_names(pcf8.get("crossSectoralStandards", []), "cx-7.0.0")]
    rules = pcf8.get("productOrSectorSpecificRules", [])
    pcf["productOrSectorSpecificRules"] = [{
        "extWBCSD_operator": "Other",
        "productOrSectorSpecificRules": [{"ruleName": r} for r in rules]}] if rules else []
    pcf["secondaryEmissionFactorSources"] = [
        {"secondaryEmissionFactorSource": s} for s in pcf8.get("secondaryEmissionFactorSources", [])]
    if "dataQualityRating" in pcf8:
        # 7.0.0 rates 1-3, 8.0.0 and PACT 3 rate 1-5: a rating above 3 has no 7.0.0 value, so it is left out.
        pcf["dataQualityRating"] = {k: v for k, v in pcf8["dataQualityRating"].items()
                                    if k in DQR_SAME and isinstance(v, (int, float)) and 1 <= v <= 3}
    out["pcf"] = pcf
    return out
