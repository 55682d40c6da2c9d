"""PACT ProductFootprint v2 and v3 in our own words (see generate.py)."""

from __future__ import annotations

from pcf_schema_blocks import (BOOL, DEC, DEC_ABOVE_0, DEC_AT_LEAST_0, DEC_AT_MOST_0, NON_EMPTY, PACT_DATE, PACT_SPEC,
                               PACT_UNITS_2, PACT_UNITS_3, PACT_UUID, PERCENT, REGIONS, TEXT, URI, URN, V2_DEC, array,
                               document, enum, obj, strict, within)


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
