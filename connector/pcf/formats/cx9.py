"""io.catenax.pcf 9.0.0 <-> 8.0.0: the same leaves, regrouped into nested one-element arrays."""

from __future__ import annotations

import copy

from connector.pcf.formats.common import MISSING, get_path, put

SPEC_9 = "urn:io.catenax.pcf:datamodel:version:9.0.0"
SPEC_8 = "urn:io.catenax.pcf:datamodel:version:8.0.0"

# 8.0.0 spells "Retrospective PCF" with a second value glued on; 9.0.0 has it alone.
RETRO_8_TO_9 = {"Retrospective PCF, Prospective PCF without forerunner": "Retrospective PCF"}
RETRO_9_TO_8 = {v: k for k, v in RETRO_8_TO_9.items()}

T, P, Q = "top", "pcf", "dqr"  # where the leaf lives in 8.0.0: top level, pcf, pcf.dataQualityRating

# group -> subgroups (dict) or leaves (tuple of (where, key)); every group is an array of one object.
LAYOUT: dict = {
    "scopeOfPcfForm": ((T, "specVersion"), (T, "partialFullPcf")),
    "companyAndProductInformation": {
        "companyInformation": ((T, "companyName"), (T, "companyIds")),
        "productInformation": ((T, "productNameCompany"), (T, "productIds"),
                               (T, "productClassifications"), (T, "productDescription"),
                               (P, "declaredUnitOfMeasurement"), (P, "declaredUnitAmount"),
                               (P, "productMassPerDeclaredUnit")),
    },
    "pcfAssessmentAndMethodology": {
        "pcfAssessmentInformation": {
            "idAndVersion": ((T, "id"), (T, "version"), (T, "status"),
                             (T, "retroOrProspectivePcfType"), (T, "precedingPfIds")),
            "boundarySpecifications": ((P, "exemptedEmissionsPercent"), (P, "exemptedEmissionsDescription")),
            "technology": ((T, "ccsTechnologicalCO2CaptureIncluded"), (P, "boundaryProcessesDescription")),
            "geography": ((P, "geographyRegionOrSubregion"), (P, "geographyCountrySubdivision"),
                          (P, "geographyCountry")),
            "time": ((P, "referencePeriodStart"), (P, "referencePeriodEnd"), (T, "created"),
                     (T, "validityPeriodEnd"), (T, "validityPeriodStart")),
        },
        "pcfMethodology": {
            "standards": ((P, "crossSectoralStandards"), (P, "productOrSectorSpecificRules")),
            "gwpCharacterizationFactorDetails": ((P, "ipccCharacterizationFactors"),),
            "massBalancingInformation": ((P, "massBalancingUsed"), (P, "freeAttributionInMassBalancing"),
                                         (P, "massBalancingCertificateScheme")),
            "allocationInForeground": ((P, "allocationWasteIncineration"), (P, "allocationRulesDescription"),
                                       (P, "allocationRecycledCarbon")),
        },
        "dataSourcesAndQuality": ((P, "primaryDataShare"), (P, "secondaryEmissionFactorSources"),
                                  (Q, "technologicalDQR"), (Q, "temporalDQR"), (Q, "geographicalDQR")),
        "verificationAndCertificationShares": (
            (P, "programCertificationShare"), (P, "productVerificationShare1stParty"),
            (P, "productVerificationShare2ndParty"), (P, "productVerificationShare3rdParty")),
    },
    "general": ((T, "comment"), (T, "pcfLegalStatement")),
    "carbonContent": ((P, "carbonContentTotal"), (P, "fossilCarbonContent"), (P, "biogenicCarbonContent"),
                      (P, "packagingBiogenicCarbonContent"), (P, "recycledCarbonContent")),
    "productLifeCycleStagesAndEmissions": {
        "productionStage": tuple((P, k) for k in (
            "pcfIncludingBiogenicUptake", "pcfExcludingBiogenicUptake", "fossilGhgEmissions",
            "biogenicNonCO2Emissions", "biogenicCO2Uptake", "landUseChangeGhgEmissions",
            "landManagementBiogenicCO2Emissions", "landManagementBiogenicCO2Removals",
            "aircraftGhgEmissions")),
        "packagingStage": tuple((P, k) for k in (
            "packagingEmissionsIncluded", "packagingPcfIncludingBiogenicUptake",
            "packagingPcfExcludingBiogenicUptake", "packagingFossilGhgEmissions",
            "packagingBiogenicNonCO2Emissions", "packagingBiogenicCO2Uptake",
            "packagingLandUseChangeGhgEmissions", "packagingLandManagementBiogenicCO2Emissions",
            "packagingLandManagementBiogenicCO2Removals", "packagingAircraftGhgEmissions")),
        "distributionStage": tuple((P, k) for k in (
            "distributionStageIncluded", "distributionStagePcfIncludingBiogenicUptake",
            "distributionStagePcfExcludingBiogenicUptake", "distributionStageFossilGhgEmissions",
            "distributionStageBiogenicNonCO2Emissions", "distributionStageBiogenicCO2Uptake",
            "distributionStageLandUseChangeGhgEmissions", "distributionStageLandManagementBiogenicCO2Emissions",
            "distributionStageLandManagementBiogenicCO2Removals", "distributionStageAircraftGhgEmissions")),
    },
}
# 9.0.0 also lists this one under productionStage; 8.0.0 has it once, and it is a packaging figure.
EXTRA_PRODUCTION_LEAF = "packagingLandManagementBiogenicCO2Emissions"
NOT_APPLICABLE = "not applicable"


def _first(value):
    return value[0] if isinstance(value, list) and value and isinstance(value[0], dict) else {}


def _read(node: dict, layout, top: dict, pcf: dict, dqr: dict) -> None:
    if isinstance(layout, dict):
        for name, sub in layout.items():
            _read(_first(node.get(name)), sub, top, pcf, dqr)
        return
    for where, key in layout:
        target = {T: top, P: pcf, Q: dqr}[where]
        put(target, key, copy.deepcopy(node.get(key, MISSING)))


def to_8(doc: dict) -> dict:
    top: dict = {}
    pcf: dict = {}
    dqr: dict = {}
    for name, sub in LAYOUT.items():
        _read(_first(doc.get(name)), sub, top, pcf, dqr)
    production = get_path(doc, ["productLifeCycleStagesAndEmissions", 0, "productionStage", 0])
    if isinstance(production, dict) and EXTRA_PRODUCTION_LEAF in production:
        pcf.setdefault(EXTRA_PRODUCTION_LEAF, production[EXTRA_PRODUCTION_LEAF])
    top["specVersion"] = [SPEC_8]
    if "attestationOfConformance" in doc:
        top["attestationOfConformance"] = copy.deepcopy(doc["attestationOfConformance"])
    if "retroOrProspectivePcfType" in top:
        top["retroOrProspectivePcfType"] = RETRO_9_TO_8.get(top["retroOrProspectivePcfType"],
                                                           top["retroOrProspectivePcfType"])
    if "precedingPfIds" in top:
        # 9.0.0 declares the entries without properties; 8.0.0 needs an id in each.
        top["precedingPfIds"] = [p for p in top["precedingPfIds"] if isinstance(p, dict) and "id" in p]
        if not top["precedingPfIds"]:
            del top["precedingPfIds"]
    if dqr:
        pcf["dataQualityRating"] = dqr
    if not pcf.get("massBalancingUsed"):
        for key in ("freeAttributionInMassBalancing", "massBalancingCertificateScheme"):
            if pcf.get(key) == NOT_APPLICABLE:
                del pcf[key]
    top["pcf"] = pcf
    return top


def _write(layout, top: dict, pcf: dict, dqr: dict) -> dict:
    node: dict = {}
    if isinstance(layout, dict):
        for name, sub in layout.items():
            child = _write(sub, top, pcf, dqr)
            if child:
                node[name] = [child]
        return node
    for where, key in layout:
        put(node, key, copy.deepcopy({T: top, P: pcf, Q: dqr}[where].get(key, MISSING)))
    return node


def from_8(doc8: dict) -> dict:
    top = dict(doc8)
    pcf = dict(doc8.get("pcf", {}))
    dqr = dict(pcf.get("dataQualityRating", {}))
    top["specVersion"] = SPEC_9
    if "retroOrProspectivePcfType" in top:
        top["retroOrProspectivePcfType"] = RETRO_8_TO_9.get(top["retroOrProspectivePcfType"],
                                                           top["retroOrProspectivePcfType"])
    if not pcf.get("massBalancingUsed"):
        # 9.0.0 requires the whole mass-balancing group; without mass balancing it does not apply.
        pcf.setdefault("freeAttributionInMassBalancing", NOT_APPLICABLE)
        pcf.setdefault("massBalancingCertificateScheme", NOT_APPLICABLE)
    out: dict = {}
    for name, sub in LAYOUT.items():
        out[name] = [_write(sub, top, pcf, dqr)]
    if "attestationOfConformance" in doc8:
        out["attestationOfConformance"] = copy.deepcopy(doc8["attestationOfConformance"])
    return out
