"""io.catenax.pcf 7.0.0, 8.0.0 and 9.0.0 in our own words (see generate.py)."""

from __future__ import annotations

from pcf_schema_blocks import (ABOVE_0, AT_LEAST_0, AT_MOST_0, BOOL, COUNTRY, CX_UNITS_7, CX_UNITS_8, NON_EMPTY, NUMBER,
                               PERCENT, REGION, RETRO_8, RETRO_9, SUBDIVISION, TEXT, TIMESTAMP, URI, UUID, array,
                               cx_defs, document, enum, obj, within)


# ---- io.catenax.pcf 7.0.0 ----------------------------------------------------------------------
def cx7() -> dict:
    pcf = obj({
        "declaredUnit": enum(*CX_UNITS_7),
        "unitaryProductAmount": ABOVE_0,
        "productMassPerDeclaredUnit": AT_LEAST_0,
        "exemptedEmissionsPercent": within(0, 5),
        "exemptedEmissionsDescription": TEXT,
        "boundaryProcessesDescription": TEXT,
        "geographyCountrySubdivision": SUBDIVISION,
        "geographyCountry": COUNTRY,
        "geographyRegionOrSubregion": REGION,
        "referencePeriodStart": TIMESTAMP,
        "referencePeriodEnd": TIMESTAMP,
        "crossSectoralStandardsUsed": array(obj({"crossSectoralStandard": enum(
            "ISO Standard 14067", "ISO Standard 14044", "Pathfinder v1", "Pathfinder v2", "PAS 2050",
            "ISO Standard 14040", "ISO Standard 14041", "ISO Standard 14042", "ISO Standard 14043", "PEF",
            "Other", "GHG Protocol Product Standard")}, ["crossSectoralStandard"])),
        "productOrSectorSpecificRules": array(obj({
            "extWBCSD_operator": enum("PEF", "EPD International", "Other"),
            "productOrSectorSpecificRules": array(obj({"ruleName": NON_EMPTY}, ["ruleName"]),
                                                  uniqueItems=True, minItems=1),
            "extWBCSD_otherOperatorName": NON_EMPTY,
        }, ["extWBCSD_operator", "productOrSectorSpecificRules"]), uniqueItems=True),
        "extWBCSD_characterizationFactors": enum("AR5", "AR6"),
        "extWBCSD_allocationRulesDescription": TEXT,
        "extTFS_allocationWasteIncineration": enum("cut-off", "reverse cut-off", "system expansion"),
        "primaryDataShare": PERCENT,
        "secondaryEmissionFactorSources": array(obj({"secondaryEmissionFactorSource": TEXT},
                                                    ["secondaryEmissionFactorSource"]), uniqueItems=True),
        "dataQualityRating": obj({"coveragePercent": PERCENT, **{k: within(1, 3) for k in (
            "technologicalDQR", "temporalDQR", "geographicalDQR", "completenessDQR", "reliabilityDQR")}}),
        "extWBCSD_packagingEmissionsIncluded": BOOL,
        "pcfExcludingBiogenic": AT_LEAST_0,
        "pcfIncludingBiogenic": NUMBER,
        "fossilGhgEmissions": AT_LEAST_0,
        "biogenicCarbonEmissionsOtherThanCO2": AT_LEAST_0,
        "biogenicCarbonWithdrawal": AT_MOST_0,
        "dlucGhgEmissions": AT_LEAST_0,
        "extTFS_luGhgEmissions": NUMBER,
        "aircraftGhgEmissions": AT_LEAST_0,
        "extWBCSD_packagingGhgEmissions": AT_LEAST_0,
        "distributionStagePcfExcludingBiogenic": AT_LEAST_0,
        "distributionStagePcfIncludingBiogenic": NUMBER,
        "distributionStageFossilGhgEmissions": AT_LEAST_0,
        "distributionStageBiogenicCarbonEmissionsOtherThanCO2": AT_LEAST_0,
        "distributionStageBiogenicCarbonWithdrawal": AT_MOST_0,
        "extTFS_distributionStageDlucGhgEmissions": AT_LEAST_0,
        "extTFS_distributionStageLuGhgEmissions": NUMBER,
        "carbonContentTotal": AT_LEAST_0,
        "extWBCSD_fossilCarbonContent": AT_LEAST_0,
        "carbonContentBiogenic": AT_LEAST_0,
        "distributionStageAircraftGhgEmissions": AT_LEAST_0,
    }, ["declaredUnit", "unitaryProductAmount", "productMassPerDeclaredUnit", "exemptedEmissionsPercent",
        "geographyRegionOrSubregion", "referencePeriodStart", "referencePeriodEnd", "crossSectoralStandardsUsed",
        "productOrSectorSpecificRules", "extWBCSD_characterizationFactors", "extTFS_allocationWasteIncineration",
        "secondaryEmissionFactorSources", "extWBCSD_packagingEmissionsIncluded", "pcfExcludingBiogenic"])
    top = obj({
        "id": UUID,
        "specVersion": TEXT,
        "partialFullPcf": enum("Cradle-to-gate", "Cradle-to-grave"),
        "precedingPfIds": array(obj({"id": UUID}, ["id"])),
        "version": AT_LEAST_0,
        "created": TIMESTAMP,
        "extWBCSD_pfStatus": enum("Active", "Deprecated"),
        "validityPeriodStart": TIMESTAMP,
        "validityPeriodEnd": TIMESTAMP,
        "comment": TEXT,
        "companyName": NON_EMPTY,
        "companyIds": array(URI, minItems=1),
        "productDescription": TEXT,
        "productIds": array(URI, minItems=1),
        "extWBCSD_productCodeCpc": TEXT,
        "productName": NON_EMPTY,
        "pcfLegalStatement": TEXT,
        "pcf": pcf,
    }, ["id", "specVersion", "partialFullPcf", "version", "created", "extWBCSD_pfStatus", "companyName",
        "companyIds", "productIds", "extWBCSD_productCodeCpc", "productName", "pcf"])
    return document("io.catenax.pcf-7.0.0", top, cx_defs())


# ---- io.catenax.pcf 8.0.0 and 9.0.0 share their leaves ------------------------------------------
def cx8_leaves() -> dict:
    """Every 8.0.0 leaf with its constraint; 9.0.0 regroups the same leaves."""
    return {
        "id": UUID, "specVersion": array(TEXT, uniqueItems=True), "partialFullPcf": enum("Cradle-to-gate", "Cradle-to-grave"),
        "precedingPfIds": array(obj({"id": UUID}, ["id"])), "version": AT_LEAST_0, "created": TIMESTAMP,
        "status": enum("Active", "Deprecated"), "validityPeriodStart": TIMESTAMP, "validityPeriodEnd": TIMESTAMP,
        "pcfLegalStatement": TEXT, "companyName": NON_EMPTY, "companyIds": array(URI, uniqueItems=True),
        "productDescription": TEXT, "productIds": array(URI, uniqueItems=True), "productNameCompany": NON_EMPTY,
        "productClassifications": array(TEXT, uniqueItems=True), "retroOrProspectivePcfType": enum(*RETRO_8),
        "ccsTechnologicalCO2CaptureIncluded": BOOL, "comment": TEXT,
        "attestationOfConformance": array(obj({
            "attestationType": TEXT, "standardName": TEXT, "attestationStandard": TEXT,
            "attestationOfConformanceId": TEXT, "providerName": TEXT, "attestationOfConformanceLink": TEXT,
            "providerId": TEXT, "completedAt": TIMESTAMP},
            ["attestationType", "standardName", "attestationStandard", "attestationOfConformanceId", "providerName"])),
        # pcf
        "declaredUnitOfMeasurement": enum(*CX_UNITS_8), "declaredUnitAmount": ABOVE_0,
        "productMassPerDeclaredUnit": AT_LEAST_0, "exemptedEmissionsPercent": within(0, 10),
        "exemptedEmissionsDescription": TEXT, "boundaryProcessesDescription": TEXT,
        "geographyCountrySubdivision": SUBDIVISION, "geographyCountry": COUNTRY, "geographyRegionOrSubregion": REGION,
        "referencePeriodStart": TIMESTAMP, "referencePeriodEnd": TIMESTAMP,
        "crossSectoralStandards": array(TEXT), "productOrSectorSpecificRules": array(TEXT, uniqueItems=True),
        "ipccCharacterizationFactors": enum("AR5", "AR6", "AR4", "unspecified"),
        "allocationRulesDescription": TEXT,
        "allocationWasteIncineration": enum("cut-off", "reverse cut-off", "system expansion", "polluter pays principle"),
        "primaryDataShare": PERCENT, "secondaryEmissionFactorSources": array(TEXT, uniqueItems=True),
        "technologicalDQR": within(1, 5), "temporalDQR": within(1, 5), "geographicalDQR": within(1, 5),
        "packagingEmissionsIncluded": BOOL, "pcfExcludingBiogenicUptake": AT_LEAST_0,
        "pcfIncludingBiogenicUptake": NUMBER, "fossilGhgEmissions": AT_LEAST_0, "biogenicNonCO2Emissions": AT_LEAST_0,
        "landUseChangeGhgEmissions": AT_LEAST_0, "aircraftGhgEmissions": AT_LEAST_0,
        "packagingPcfExcludingBiogenicUptake": AT_LEAST_0,
        "distributionStagePcfExcludingBiogenicUptake": AT_LEAST_0, "distributionStagePcfIncludingBiogenicUptake": NUMBER,
        "distributionStageFossilGhgEmissions": AT_LEAST_0, "distributionStageBiogenicNonCO2Emissions": AT_LEAST_0,
        "distributionStageLandUseChangeGhgEmissions": AT_LEAST_0, "carbonContentTotal": AT_LEAST_0,
        "fossilCarbonContent": AT_LEAST_0, "biogenicCO2Uptake": AT_MOST_0,
        "distributionStageAircraftGhgEmissions": AT_LEAST_0,
        "allocationRecycledCarbon": enum("upstream system expansion", "cut-off"), "massBalancingUsed": BOOL,
        "freeAttributionInMassBalancing": enum("true", "false", "not applicable"),
        "massBalancingCertificateScheme": NON_EMPTY,
        "programCertificationShare": PERCENT, "productVerificationShare3rdParty": PERCENT,
        "productVerificationShare2ndParty": PERCENT, "productVerificationShare1stParty": PERCENT,
        "packagingPcfIncludingBiogenicUptake": AT_LEAST_0, "packagingFossilGhgEmissions": AT_LEAST_0,
        "packagingBiogenicNonCO2Emissions": AT_LEAST_0, "packagingAircraftGhgEmissions": AT_LEAST_0,
        "packagingLandUseChangeGhgEmissions": AT_LEAST_0, "packagingLandManagementBiogenicCO2Emissions": AT_LEAST_0,
        "landManagementBiogenicCO2Removals": AT_MOST_0, "landManagementBiogenicCO2Emissions": AT_LEAST_0,
        "packagingLandManagementBiogenicCO2Removals": AT_MOST_0, "packagingBiogenicCO2Uptake": AT_MOST_0,
        "distributionStageIncluded": BOOL, "distributionStageBiogenicCO2Uptake": NUMBER,
        "distributionStageLandManagementBiogenicCO2Emissions": AT_LEAST_0,
        "distributionStageLandManagementBiogenicCO2Removals": AT_MOST_0,
        "biogenicCarbonContent": AT_LEAST_0, "packagingBiogenicCarbonContent": AT_LEAST_0,
        "recycledCarbonContent": AT_LEAST_0,
    }


CX8_TOP = ("id", "specVersion", "partialFullPcf", "precedingPfIds", "version", "created", "status",
           "validityPeriodStart", "validityPeriodEnd", "pcfLegalStatement", "companyName", "companyIds",
           "productDescription", "productIds", "productNameCompany", "productClassifications",
           "retroOrProspectivePcfType", "ccsTechnologicalCO2CaptureIncluded", "comment", "attestationOfConformance")
CX8_TOP_REQUIRED = ("id", "specVersion", "partialFullPcf", "version", "created", "status", "validityPeriodEnd",
                    "companyName", "companyIds", "productIds", "productNameCompany", "pcf",
                    "retroOrProspectivePcfType", "ccsTechnologicalCO2CaptureIncluded")
CX8_PCF_REQUIRED = ("declaredUnitOfMeasurement", "declaredUnitAmount", "productMassPerDeclaredUnit",
                    "exemptedEmissionsPercent", "geographyRegionOrSubregion", "referencePeriodStart",
                    "referencePeriodEnd", "crossSectoralStandards", "productOrSectorSpecificRules",
                    "ipccCharacterizationFactors", "allocationWasteIncineration", "secondaryEmissionFactorSources",
                    "packagingEmissionsIncluded", "pcfExcludingBiogenicUptake", "pcfIncludingBiogenicUptake",
                    "massBalancingUsed", "packagingPcfIncludingBiogenicUptake", "distributionStageIncluded")
DQR = ("technologicalDQR", "temporalDQR", "geographicalDQR")


def cx8() -> dict:
    leaves = cx8_leaves()
    pcf_props = {k: v for k, v in leaves.items() if k not in CX8_TOP and k not in DQR}
    pcf_props["dataQualityRating"] = obj({k: leaves[k] for k in DQR})
    top = obj({**{k: leaves[k] for k in CX8_TOP}, "pcf": obj(pcf_props, CX8_PCF_REQUIRED)}, CX8_TOP_REQUIRED)
    return document("io.catenax.pcf-8.0.0", top, cx_defs())


# 9.0.0: group -> (subgroups | leaves), with the required ones; every group is an array of objects.
CX9_LAYOUT = {
    "scopeOfPcfForm": (("specVersion", "partialFullPcf"), ()),
    "companyAndProductInformation": ({
        "companyInformation": (("companyName", "companyIds"), ()),
        "productInformation": (("productNameCompany", "productIds", "declaredUnitOfMeasurement",
                                "declaredUnitAmount", "productMassPerDeclaredUnit", "productClassifications",
                                "productDescription"), ("productClassifications", "productDescription")),
    }, ("companyInformation", "productInformation")),
    "pcfAssessmentAndMethodology": ({
        "dataSourcesAndQuality": (("primaryDataShare", "secondaryEmissionFactorSources", *DQR),
                                  ("primaryDataShare", "secondaryEmissionFactorSources", *DQR)),
        "pcfAssessmentInformation": ({
            "technology": (("ccsTechnologicalCO2CaptureIncluded", "boundaryProcessesDescription"),
                           ("boundaryProcessesDescription",)),
            "idAndVersion": (("id", "version", "status", "retroOrProspectivePcfType", "precedingPfIds"),
                             ("precedingPfIds",)),
            "boundarySpecifications": (("exemptedEmissionsPercent", "exemptedEmissionsDescription"),
                                       ("exemptedEmissionsDescription",)),
            "geography": (("geographyRegionOrSubregion", "geographyCountrySubdivision", "geographyCountry"),
                          ("geographyCountrySubdivision", "geographyCountry")),
            "time": (("referencePeriodStart", "referencePeriodEnd", "created", "validityPeriodEnd",
                      "validityPeriodStart"), ("validityPeriodStart",)),
        }, ()),
        "verificationAndCertificationShares": (("programCertificationShare", "productVerificationShare3rdParty",
                                                "productVerificationShare2ndParty", "productVerificationShare1stParty"),
                                               ("programCertificationShare", "productVerificationShare3rdParty",
                                                "productVerificationShare2ndParty", "productVerificationShare1stParty")),
        "pcfMethodology": ({
            "massBalancingInformation": (("massBalancingUsed", "freeAttributionInMassBalancing",
                                          "massBalancingCertificateScheme"), ()),
            "standards": (("crossSectoralStandards", "productOrSectorSpecificRules"), ()),
            "gwpCharacterizationFactorDetails": (("ipccCharacterizationFactors",), ()),
            "allocationInForeground": (("allocationWasteIncineration", "allocationRulesDescription",
                                        "allocationRecycledCarbon"),
                                       ("allocationRulesDescription", "allocationRecycledCarbon")),
        }, ()),
    }, ("pcfAssessmentInformation", "verificationAndCertificationShares", "pcfMethodology")),
    "general": (("comment", "pcfLegalStatement"), ("comment", "pcfLegalStatement")),
    "carbonContent": (("carbonContentTotal", "fossilCarbonContent", "biogenicCarbonContent",
                       "packagingBiogenicCarbonContent", "recycledCarbonContent"),
                      ("carbonContentTotal", "fossilCarbonContent", "biogenicCarbonContent",
                       "packagingBiogenicCarbonContent", "recycledCarbonContent")),
    "productLifeCycleStagesAndEmissions": ({
        "productionStage": (("pcfIncludingBiogenicUptake", "pcfExcludingBiogenicUptake", "fossilGhgEmissions",
                             "biogenicNonCO2Emissions", "biogenicCO2Uptake", "landUseChangeGhgEmissions",
                             "landManagementBiogenicCO2Emissions", "packagingLandManagementBiogenicCO2Emissions",
                             "landManagementBiogenicCO2Removals", "aircraftGhgEmissions"),
                            ("fossilGhgEmissions", "biogenicNonCO2Emissions", "biogenicCO2Uptake",
                             "landUseChangeGhgEmissions", "landManagementBiogenicCO2Emissions",
                             "packagingLandManagementBiogenicCO2Emissions", "landManagementBiogenicCO2Removals",
                             "aircraftGhgEmissions")),
        "distributionStage": (("distributionStageIncluded", "distributionStagePcfIncludingBiogenicUptake",
                               "distributionStagePcfExcludingBiogenicUptake", "distributionStageFossilGhgEmissions",
                               "distributionStageBiogenicNonCO2Emissions", "distributionStageBiogenicCO2Uptake",
                               "distributionStageLandUseChangeGhgEmissions",
                               "distributionStageLandManagementBiogenicCO2Emissions",
                               "distributionStageLandManagementBiogenicCO2Removals",
                               "distributionStageAircraftGhgEmissions"), "all-but-first"),
        "packagingStage": (("packagingEmissionsIncluded", "packagingPcfIncludingBiogenicUptake",
                            "packagingPcfExcludingBiogenicUptake", "packagingFossilGhgEmissions",
                            "packagingBiogenicNonCO2Emissions", "packagingBiogenicCO2Uptake",
                            "packagingLandUseChangeGhgEmissions", "packagingLandManagementBiogenicCO2Emissions",
                            "packagingLandManagementBiogenicCO2Removals", "packagingAircraftGhgEmissions"),
                           "all-but-first"),
    }, ()),
}
def _cx9_group(spec, leaves: dict) -> dict:
    content, optional = spec
    if isinstance(content, dict):
        props = {name: array(_cx9_group(sub, leaves)) for name, sub in content.items()}
        return obj(props, [k for k in props if k not in optional])
    if optional == "all-but-first":
        optional = content[1:]
    props = {}
    for key in content:
        props[key] = leaves[key]
    return obj(props, [k for k in props if k not in optional])


def cx9() -> dict:
    leaves = dict(cx8_leaves())
    leaves["specVersion"] = TEXT
    leaves["retroOrProspectivePcfType"] = enum(*RETRO_9)
    leaves["precedingPfIds"] = array({"type": "object"})  # 9.0.0 declares the entry without properties
    leaves["distributionStageBiogenicCO2Uptake"] = NUMBER
    props = {name: array(_cx9_group(spec, leaves)) for name, spec in CX9_LAYOUT.items()}
    props["attestationOfConformance"] = leaves["attestationOfConformance"]
    return document("io.catenax.pcf-9.0.0", obj(props, list(CX9_LAYOUT)), cx_defs())
