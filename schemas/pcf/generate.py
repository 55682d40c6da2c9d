"""Writes the project's JSON schemas for footprints (schemas/pcf/*.schema.json).

Written from the models' documentation (io.catenax.pcf 7.0.0/8.0.0/9.0.0 SAMM models, PACT Technical
Specifications 2.3 and 3.0): the same fields, required lists and value constraints, in JSON Schema
2020-12. Run `python schemas/pcf/generate.py` after editing; tests/pcf checks the files match and
that they accept and reject the same documents as the official schemas.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent
DIALECT = "https://json-schema.org/draft/2020-12/schema"

# ---- building blocks -------------------------------------------------------------------------
TEXT = {"type": "string"}
NON_EMPTY = {"type": "string", "minLength": 1}
BOOL = {"type": "boolean"}
NUMBER = {"type": "number"}
AT_LEAST_0 = {"type": "number", "minimum": 0}
AT_MOST_0 = {"type": "number", "maximum": 0}
ABOVE_0 = {"type": "number", "exclusiveMinimum": 0}
PERCENT = {"type": "number", "minimum": 0, "maximum": 100}
URI = {"type": "string", "format": "uri"}
TIMESTAMP = {"$ref": "#/$defs/timestamp"}
UUID = {"$ref": "#/$defs/uuid"}
REGION = {"$ref": "#/$defs/region"}
PACT_DATE = {"type": "string", "format": "date-time"}
PACT_UUID = {"type": "string", "format": "uuid"}
URN = {"type": "string", "format": "urn", "pattern": "^[uU][rR][nN]:"}
PACT_SPEC = {"type": "string", "pattern": r"^\d+\.\d+\.\d+(-\d{8})?$"}
# PACT v3 decimals are strings of these shapes
DEC = {"type": "string", "format": "decimal", "pattern": r"^[+-]?\d+(\.\d+)?$"}
DEC_AT_LEAST_0 = {"type": "string", "format": "decimal", "pattern": r"^[+]?\d+(\.\d+)?$"}
DEC_AT_MOST_0 = {"type": "string", "format": "decimal", "pattern": r"^(-\d+(\.\d+)?|0+(\.0+)?)$"}
DEC_ABOVE_0 = {"type": "string", "format": "decimal",
               "pattern": r"^[+]?(\d*[1-9]\d*(\.\d+)?|0+\.\d*[1-9]\d*)$"}
V2_DEC = {"type": "string", "format": "decimal"}

REGIONS = ["Africa", "Americas", "Asia", "Europe", "Oceania", "Australia and New Zealand", "Central Asia",
           "Eastern Asia", "Eastern Europe", "Latin America and the Caribbean", "Melanesia", "Micronesia",
           "Northern Africa", "Northern America", "Northern Europe", "Polynesia", "South-eastern Asia",
           "Southern Asia", "Southern Europe", "Sub-Saharan Africa", "Western Asia", "Western Europe"]
CX_UNITS_7 = ["liter", "kilogram", "cubic meter", "kilowatt hour", "megajoule", "ton kilometer",
              "square meter", "piece"]
CX_UNITS_8 = CX_UNITS_7 + ["hour", "megabit", "second"]
PACT_UNITS_2 = CX_UNITS_7[:-1]
PACT_UNITS_3 = CX_UNITS_7 + ["hour", "megabit second"]
RETRO_8 = ["Retrospective PCF, Prospective PCF without forerunner", "Prospective PCF without forerunner",
           "Prospective PCF of further developed product with forerunner",
           "Prospective PCF for current product for future production date", "Progressive PCF"]
RETRO_9 = ["Retrospective PCF"] + RETRO_8[1:]


def enum(*values):
    return {"type": "string", "enum": list(values)}


def array(items, **constraints):
    return {"type": "array", "items": items, **constraints}


def obj(properties: dict, required=(), **more):
    out = {"type": "object", "properties": properties}
    if required:
        out["required"] = list(required)
    out.update(more)
    return out


def strict(properties: dict, optional=(), **more):
    """An object whose properties are all required except the ones named optional."""
    return obj(properties, [k for k in properties if k not in optional], **more)


def within(low, high):
    return {"type": "number", "minimum": low, "maximum": high}


def cx_defs():
    return {
        "timestamp": {"type": "string", "pattern": (
            r"^-?([1-9]\d{3,}|0\d{3})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T"
            r"(([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?|24:00:00(\.0+)?)"
            r"(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))?$")},
        "uuid": {"type": "string", "pattern": (
            r"^(urn:uuid:)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")},
        "region": enum(*REGIONS, "Global", "Several"),
        "country": {"type": "string", "pattern": "[A-Z]{2}"},
        "subdivision": {"type": "string", "pattern": "([A-Z]{2}-[A-Z0-9]{1,3}|)"},
    }


COUNTRY = {"$ref": "#/$defs/country"}
SUBDIVISION = {"$ref": "#/$defs/subdivision"}


def document(title: str, body: dict, defs: dict | None = None) -> dict:
    out = {"$schema": DIALECT, "$id": f"https://pontis.example/schemas/pcf/{title}.schema.json",
           "title": title}
    out.update(body)
    if defs:
        out["$defs"] = defs
    return out


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
CX9_OPTIONAL_GROUPS = ("attestationOfConformance",)


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


# ---- PACT v2 and v3 ------------------------------------------------------------------------
def pact_geography(properties: dict) -> dict:
    """PACT: at most one geography granularity."""
    keys = ("geographyRegionOrSubregion", "geographyCountry", "geographyCountrySubdivision")
    return {"oneOf": [{"oneOf": [{"required": [k]} for k in keys]},
                      {"not": {"anyOf": [{"required": [k]} for k in keys]}}], **properties}


def pact_rules():
    return array(obj({"operator": enum("PEF", "EPD International", "Other"),
                      "ruleNames": array(NON_EMPTY, minItems=1, uniqueItems=True),
                      "otherOperatorName": NON_EMPTY}, ["operator", "ruleNames"]), minItems=1, uniqueItems=True)


def pact_sources():
    return array(obj({"name": NON_EMPTY, "version": NON_EMPTY}, ["name", "version"]), minItems=1)


def pact_extensions():
    return array(obj({"specVersion": TEXT, "dataSchema": URI, "documentation": URI, "data": {"type": "object"}},
                     ["specVersion", "dataSchema", "data"]))


def pact_top(pcf: dict, version: int) -> dict:
    props = {
        "id": PACT_UUID, "specVersion": PACT_SPEC,
        "precedingPfIds": array(PACT_UUID, minItems=1, uniqueItems=True),
        "version": {"type": "integer", "minimum": 0}, "created": PACT_DATE, "updated": PACT_DATE,
        "status": enum("Active", "Deprecated"), "statusComment": TEXT,
        "validityPeriodStart": PACT_DATE, "validityPeriodEnd": PACT_DATE,
        "companyName": NON_EMPTY, "companyIds": array(URN, minItems=1, uniqueItems=True),
        "productDescription": TEXT, "productIds": array(URN, minItems=1, uniqueItems=True),
        "productClassifications": array(URN, minItems=1, uniqueItems=True),
        "productCategoryCpc": NON_EMPTY, "productNameCompany": NON_EMPTY, "comment": TEXT,
        "pcf": pcf, "extensions": pact_extensions(),
    }
    if version == 3:
        for key in ("version", "updated", "statusComment", "productCategoryCpc"):
            del props[key]
        required = ["id", "specVersion", "created", "status", "companyName", "companyIds", "productDescription",
                    "productIds", "productNameCompany", "pcf"]
    else:
        required = ["id", "specVersion", "version", "created", "status", "comment", "companyName", "companyIds",
                    "productDescription", "productIds", "productCategoryCpc", "productNameCompany", "pcf"]
    return obj(props, required)


def pact2() -> dict:
    pcf = obj({
        "declaredUnit": enum(*PACT_UNITS_2), "unitaryProductAmount": V2_DEC, "productMassPerDeclaredUnit": V2_DEC,
        "pCfExcludingBiogenic": V2_DEC, "pCfIncludingBiogenic": V2_DEC, "fossilGhgEmissions": V2_DEC,
        "fossilCarbonContent": V2_DEC, "biogenicCarbonContent": V2_DEC, "dLucGhgEmissions": V2_DEC,
        "landManagementGhgEmissions": V2_DEC, "otherBiogenicGhgEmissions": V2_DEC, "iLucGhgEmissions": V2_DEC,
        "biogenicCarbonWithdrawal": V2_DEC, "aircraftGhgEmissions": V2_DEC, "packagingEmissionsIncluded": BOOL,
        "packagingGhgEmissions": V2_DEC, "characterizationFactors": enum("AR6", "AR5"),
        "ipccCharacterizationFactorsSources": array({"type": "string", "pattern": r"^AR\d+$"},
                                                    minItems=1, uniqueItems=True),
        "crossSectoralStandardsUsed": array(enum("GHG Protocol Product standard", "ISO Standard 14067",
                                                 "ISO Standard 14044"), minItems=1, uniqueItems=True),
        "crossSectoralStandards": array(enum("ISO14067", "ISO14083", "ISO14040-44", "GHGP-Product", "PEF",
                                             "PACT-1.0", "PACT-2.0", "PACT-3.0"), minItems=1, uniqueItems=True),
        "productOrSectorSpecificRules": pact_rules(),
        "biogenicAccountingMethodology": enum("PEF", "ISO", "GHGP", "Quantis"),
        "boundaryProcessesDescription": TEXT, "referencePeriodStart": PACT_DATE, "referencePeriodEnd": PACT_DATE,
        "geographyRegionOrSubregion": enum(*REGIONS), "geographyCountry": {"type": "string", "pattern": "^[A-Z]{2}$"},
        "geographyCountrySubdivision": {"type": "string", "pattern": "^[A-Z]{2}-[A-Z0-9]{1,3}$"},
        "secondaryEmissionFactorSources": pact_sources(), "exemptedEmissionsPercent": PERCENT,
        "exemptedEmissionsDescription": TEXT, "allocationRulesDescription": TEXT,
        "uncertaintyAssessmentDescription": TEXT, "primaryDataShare": PERCENT,
        "dqi": strict({"coveragePercent": PERCENT, **{k: within(1, 3) for k in (
            "technologicalDQR", "temporalDQR", "geographicalDQR", "completenessDQR", "reliabilityDQR")}}),
        "assurance": obj({"assurance": BOOL,
                          "coverage": enum("corporate level", "product line", "PCF system", "product level"),
                          "level": enum("limited", "reasonable"), "boundary": enum("Gate-to-Gate", "Cradle-to-Gate"),
                          "providerName": TEXT, "completedAt": PACT_DATE, "standardName": TEXT, "comments": TEXT},
                         ["assurance", "providerName"]),
    }, ["declaredUnit", "unitaryProductAmount", "referencePeriodStart", "referencePeriodEnd", "pCfExcludingBiogenic",
        "fossilGhgEmissions", "fossilCarbonContent", "biogenicCarbonContent", "characterizationFactors",
        "ipccCharacterizationFactorsSources", "crossSectoralStandardsUsed", "boundaryProcessesDescription",
        "exemptedEmissionsPercent", "exemptedEmissionsDescription", "packagingEmissionsIncluded"])
    return document("pact-2-product-footprint", pact_top(pact_geography(pcf), 2))


def pact3() -> dict:
    pcf = obj({
        "declaredUnitOfMeasurement": enum(*PACT_UNITS_3), "declaredUnitAmount": DEC_ABOVE_0,
        "productMassPerDeclaredUnit": DEC, "referencePeriodStart": PACT_DATE, "referencePeriodEnd": PACT_DATE,
        "geographyRegionOrSubregion": enum(*REGIONS), "geographyCountry": {"type": "string", "pattern": "^[A-Z]{2}$"},
        "geographyCountrySubdivision": {"type": "string", "pattern": "^[A-Z]{2}-[A-Z0-9]{1,3}$"},
        "boundaryProcessesDescription": TEXT, "pcfExcludingBiogenicUptake": DEC, "pcfIncludingBiogenicUptake": DEC,
        **{k: DEC_AT_LEAST_0 for k in (
            "fossilCarbonContent", "biogenicCarbonContent", "recycledCarbonContent", "fossilGhgEmissions",
            "landUseChangeGhgEmissions", "landCarbonLeakage", "landManagementFossilGhgEmissions",
            "landManagementBiogenicCO2Emissions")},
        "landManagementBiogenicCO2Removals": DEC_AT_MOST_0, "biogenicCO2Uptake": DEC_AT_MOST_0,
        "biogenicNonCO2Emissions": DEC_AT_LEAST_0, "landAreaOccupation": DEC_AT_LEAST_0,
        "aircraftGhgEmissions": DEC_AT_LEAST_0, "packagingEmissionsIncluded": BOOL,
        "packagingGhgEmissions": DEC_AT_LEAST_0, "packagingBiogenicCarbonContent": DEC_AT_LEAST_0,
        "outboundLogisticsGhgEmissions": DEC_AT_LEAST_0, "ccsTechnologicalCO2CaptureIncluded": BOOL,
        "ccsTechnologicalCO2Capture": DEC_AT_MOST_0, "technologicalCO2CaptureOrigin": TEXT,
        "technologicalCO2Removals": DEC_AT_MOST_0, "ccuCarbonContent": DEC_AT_LEAST_0,
        "ccuCalculationApproach": enum("Cut-off", "Credit"), "ccuCreditCertification": URI,
        "ipccCharacterizationFactors": array({"type": "string", "pattern": r"^AR\d+$"}, minItems=1, uniqueItems=True),
        "crossSectoralStandards": array(TEXT, minItems=1, uniqueItems=True),
        "productOrSectorSpecificRules": pact_rules(), "exemptedEmissionsPercent": DEC,
        "exemptedEmissionsDescription": TEXT, "allocationRulesDescription": TEXT,
        "secondaryEmissionFactorSources": pact_sources(), "primaryDataShare": DEC,
        "dqi": strict({k: DEC for k in ("technologicalDQR", "geographicalDQR", "temporalDQR")}),
        "verification": obj({"coverage": enum("PCF calculation model", "PCF program", "product level"),
                             "providerName": TEXT, "completedAt": PACT_DATE, "standardName": TEXT, "comments": TEXT}),
    }, ["declaredUnitOfMeasurement", "declaredUnitAmount", "productMassPerDeclaredUnit", "referencePeriodStart",
        "referencePeriodEnd", "pcfExcludingBiogenicUptake", "pcfIncludingBiogenicUptake", "fossilGhgEmissions",
        "fossilCarbonContent", "ipccCharacterizationFactors", "crossSectoralStandards", "exemptedEmissionsPercent"])
    return document("pact-3-product-footprint", pact_top(pact_geography(pcf), 3))


SCHEMAS = {"cx-7.0.0": cx7, "cx-8.0.0": cx8, "cx-9.0.0": cx9, "pact-2": pact2, "pact-3": pact3}


def render(name: str) -> str:
    return json.dumps(SCHEMAS[name](), indent=1, ensure_ascii=False) + "\n"


def main() -> None:
    for name in SCHEMAS:
        (HERE / f"{name}.schema.json").write_text(render(name), encoding="utf-8")


if __name__ == "__main__":
    main()
