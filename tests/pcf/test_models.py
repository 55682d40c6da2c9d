"""Footprint models: formats, validation, mapping and facts (no reference files needed)."""

from __future__ import annotations

import copy
import importlib.util
import json
from decimal import Decimal
from pathlib import Path

import pytest

from connector.pcf.formats.common import same
from connector.pcf.models import (
    CARRIED_KEY,
    FootprintError,
    FootprintFacts,
    PcfFormat,
    Problem,
    detect_format,
    facts,
    from_internal,
    to_internal,
    validate,
)

ROOT = Path(__file__).resolve().parents[2]


def casting(**changes) -> dict:
    """An io.catenax.pcf 8.0.0 footprint of a casting (Nordguss's NG-WC-400)."""
    doc = {
        "specVersion": ["urn:io.catenax.pcf:datamodel:version:8.0.0"],
        "id": "5e4b1c3a-8d2f-4a6b-9c0d-1e2f3a4b5c6d",
        "partialFullPcf": "Cradle-to-gate",
        "version": 0,
        "created": "2026-11-02T08:00:00Z",
        "status": "Active",
        "validityPeriodStart": "2026-11-02T08:00:00Z",
        "validityPeriodEnd": "2027-12-31T23:59:59Z",
        "companyName": "Nordguss GmbH",
        "companyIds": ["urn:BPNL0000000NGUSS"],
        "productIds": ["urn:pontis:nordguss:NG-WC-400"],
        "productNameCompany": "Wheel carrier casting NG-WC-400",
        "productClassifications": ["urn:pact:productclassification:cpc:41532"],
        "productDescription": "Cast iron wheel carrier",
        "retroOrProspectivePcfType": "Retrospective PCF, Prospective PCF without forerunner",
        "ccsTechnologicalCO2CaptureIncluded": False,
        "pcf": {
            "declaredUnitOfMeasurement": "piece",
            "declaredUnitAmount": 1,
            "productMassPerDeclaredUnit": 12.5,
            "exemptedEmissionsPercent": 0.5,
            "geographyRegionOrSubregion": "Western Europe",
            "geographyCountry": "DE",
            "referencePeriodStart": "2025-01-01T00:00:00Z",
            "referencePeriodEnd": "2025-12-31T23:59:59Z",
            "crossSectoralStandards": ["ISO 14067"],
            "productOrSectorSpecificRules": ["Catena-X PCF Rulebook v4"],
            "ipccCharacterizationFactors": "AR6",
            "allocationWasteIncineration": "cut-off",
            "secondaryEmissionFactorSources": ["ecoinvent 3.10"],
            "packagingEmissionsIncluded": False,
            "pcfExcludingBiogenicUptake": 21.4,
            "pcfIncludingBiogenicUptake": 21.1,
            "fossilGhgEmissions": 21.0,
            "biogenicCO2Uptake": -0.3,
            "fossilCarbonContent": 0,
            "biogenicCarbonContent": 0,
            "massBalancingUsed": False,
            "packagingPcfIncludingBiogenicUptake": 0,
            "distributionStageIncluded": False,
            "dataQualityRating": {"technologicalDQR": 2, "temporalDQR": 1.5, "geographicalDQR": 2},
        },
    }
    for path, value in changes.items():
        node = doc
        *parents, last = path.split("__")
        for step in parents:
            node = node[step]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    return doc


DELETE = object()


def paths(error: FootprintError) -> list[str]:
    return [p.path for p in error.problems]


# ---- the schema files are what generate.py writes -------------------------------------------------
def test_schema_files_are_generated_from_generate_py():
    spec = importlib.util.spec_from_file_location("generate", ROOT / "schemas" / "pcf" / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    for fmt in PcfFormat:
        on_disk = (ROOT / "schemas" / "pcf" / f"{fmt.value}.schema.json").read_text(encoding="utf-8")
        assert on_disk == generate.render(fmt.value), f"run python schemas/pcf/generate.py ({fmt.value})"


# ---- detect_format ------------------------------------------------------------------------------
def test_detect_format_of_each_format():
    doc8 = casting(pcf__declaredUnitOfMeasurement="kilogram")
    assert detect_format(doc8) == PcfFormat.CX8
    for fmt in PcfFormat:
        assert detect_format(from_internal(doc8, fmt)) == fmt


def test_detect_format_refuses_an_unknown_spec_version_naming_the_known_ones():
    with pytest.raises(FootprintError) as caught:
        detect_format({"specVersion": "urn:io.catenax.pcf:datamodel:version:6.0.0", "pcf": {}})
    assert paths(caught.value) == ["specVersion"]
    assert "7.0.0" in str(caught.value) and "3.x.y" in str(caught.value)
    with pytest.raises(FootprintError):
        detect_format(["not", "an", "object"])


# ---- validation ---------------------------------------------------------------------------------
def test_a_valid_footprint_has_no_problems():
    assert validate(casting(), PcfFormat.CX8) == []


def test_negative_pcf_excluding_biogenic_uptake_is_refused_in_every_format():
    bad8 = casting(pcf__pcfExcludingBiogenicUptake=-1)
    problems = validate(bad8, PcfFormat.CX8)
    assert [p.path for p in problems] == ["pcf.pcfExcludingBiogenicUptake"]
    pact3 = from_internal(casting(), PcfFormat.PACT3)
    pact3["pcf"]["pcfExcludingBiogenicUptake"] = "-1.5"
    assert [p.path for p in validate(pact3, PcfFormat.PACT3)] == ["pcf.pcfExcludingBiogenicUptake"]
    assert "negative" in validate(pact3, PcfFormat.PACT3)[0].message
    pact2 = from_internal(casting(pcf__declaredUnitOfMeasurement="kilogram"), PcfFormat.PACT2)
    pact2["pcf"]["pCfExcludingBiogenic"] = "-0.1"
    assert [p.path for p in validate(pact2, PcfFormat.PACT2)] == ["pcf.pCfExcludingBiogenic"]


def test_an_unknown_declared_unit_is_refused_naming_the_valid_ones():
    problems = validate(casting(pcf__declaredUnitOfMeasurement="pieces"), PcfFormat.CX8)
    assert [p.path for p in problems] == ["pcf.declaredUnitOfMeasurement"]
    assert "'pieces' is not one of" in problems[0].message and "piece" in problems[0].message


def test_an_unknown_field_is_refused_naming_the_closest_known_one():
    doc = casting()
    doc["pcf"]["geographyContry"] = "DE"
    problems = validate(doc, PcfFormat.CX8)
    assert problems == [Problem("pcf.geographyContry", "unknown field; did you mean 'geographyCountry'?")]


def test_pact_keeps_extra_fields_but_refuses_misspelt_ones():
    pact3 = from_internal(casting(), PcfFormat.PACT3)
    pact3["pcf"]["x-pontis-plant"] = "Gera"
    assert validate(pact3, PcfFormat.PACT3) == []
    doc8 = to_internal(pact3)
    assert same(from_internal(doc8, PcfFormat.PACT3), pact3)
    pact3["pcf"]["fossilGhgEmission"] = "1"
    assert [p.path for p in validate(pact3, PcfFormat.PACT3)] == ["pcf.fossilGhgEmission"]


def test_missing_required_fields_are_named_with_their_path():
    problems = validate(casting(pcf__declaredUnitAmount=DELETE, companyName=DELETE), PcfFormat.CX8)
    assert sorted(p.path for p in problems) == ["companyName", "pcf.declaredUnitAmount"]
    assert all(p.message == "is required" for p in problems)


def test_footprint_error_lists_every_problem_with_its_path():
    with pytest.raises(FootprintError) as caught:
        to_internal(casting(pcf__declaredUnitOfMeasurement="pieces", pcf__pcfExcludingBiogenicUptake=-2))
    text = str(caught.value)
    assert "pcf.declaredUnitOfMeasurement:" in text and "pcf.pcfExcludingBiogenicUptake:" in text
    assert len(caught.value.problems) == 2
    assert isinstance(caught.value, ValueError)


def test_pact_ids_and_timestamps_are_checked():
    pact3 = from_internal(casting(), PcfFormat.PACT3)
    pact3["id"] = "not-a-uuid"
    pact3["created"] = "2026-1-2T00:00:00Z"
    assert sorted(p.path for p in validate(pact3, PcfFormat.PACT3)) == ["created", "id"]


# ---- mapping ------------------------------------------------------------------------------------
def test_pact3_writes_decimals_as_strings_and_preceding_ids_as_plain_ids():
    doc8 = casting(precedingPfIds=[{"id": "0f9e8d7c-6b5a-4c3d-8e1f-2a3b4c5d6e7f"}])
    pact3 = from_internal(doc8, PcfFormat.PACT3)
    assert pact3["specVersion"] == "3.0.0"
    assert pact3["pcf"]["pcfExcludingBiogenicUptake"] == "21.4"
    assert pact3["pcf"]["declaredUnitAmount"] == "1"
    assert pact3["pcf"]["biogenicCO2Uptake"] == "-0.3"
    assert pact3["pcf"]["dqi"] == {"technologicalDQR": "2", "temporalDQR": "1.5", "geographicalDQR": "2"}
    assert pact3["precedingPfIds"] == ["0f9e8d7c-6b5a-4c3d-8e1f-2a3b4c5d6e7f"]
    assert pact3["pcf"]["ipccCharacterizationFactors"] == ["AR6"]
    assert pact3["pcf"]["crossSectoralStandards"] == ["ISO14067"]
    assert pact3["pcf"]["secondaryEmissionFactorSources"] == [{"name": "ecoinvent", "version": "3.10"}]
    assert pact3["pcf"]["geographyCountry"] == "DE" and "geographyRegionOrSubregion" not in pact3["pcf"]
    back = to_internal(pact3)
    assert back["precedingPfIds"] == [{"id": "0f9e8d7c-6b5a-4c3d-8e1f-2a3b4c5d6e7f"}]
    assert back["pcf"]["pcfExcludingBiogenicUptake"] == 21.4
    assert back["pcf"]["productMassPerDeclaredUnit"] == 12.5


def test_decimal_strings_never_use_an_exponent():
    doc8 = casting(pcf__pcfExcludingBiogenicUptake=1e-7, pcf__fossilGhgEmissions=1e21)
    pact3 = from_internal(doc8, PcfFormat.PACT3)
    assert pact3["pcf"]["pcfExcludingBiogenicUptake"] == "0.0000001"
    assert pact3["pcf"]["fossilGhgEmissions"] == "1000000000000000000000"


def test_pact2_uses_v2_names_and_the_cpc_code():
    doc8 = casting(pcf__declaredUnitOfMeasurement="kilogram")
    pact2 = from_internal(doc8, PcfFormat.PACT2)
    assert pact2["specVersion"].startswith("2.")
    assert pact2["version"] == 0
    assert pact2["productCategoryCpc"] == "41532"
    assert pact2["pcf"]["pCfExcludingBiogenic"] == "21.4"
    assert pact2["pcf"]["unitaryProductAmount"] == "1"
    assert pact2["pcf"]["characterizationFactors"] == "AR6"
    assert pact2["pcf"]["crossSectoralStandardsUsed"] == ["ISO Standard 14067"]
    back = to_internal(pact2)
    assert back["productClassifications"] == ["urn:pact:productclassification:cpc:41532"]


def test_a_footprint_per_piece_cannot_be_written_as_pact2_and_says_why():
    with pytest.raises(FootprintError) as caught:
        from_internal(casting(), PcfFormat.PACT2)
    assert paths(caught.value) == ["pcf.declaredUnit"]
    assert "'piece' is not one of" in str(caught.value) and "writing pact-2" in str(caught.value)


def test_cx7_uses_the_old_names_and_wraps_lists_in_objects():
    doc8 = casting(precedingPfIds=[{"id": "0f9e8d7c-6b5a-4c3d-8e1f-2a3b4c5d6e7f"}])
    cx7 = from_internal(doc8, PcfFormat.CX7)
    assert cx7["specVersion"] == "urn:io.catenax.pcf:datamodel:version:7.0.0"
    assert cx7["extWBCSD_pfStatus"] == "Active" and cx7["productName"] == doc8["productNameCompany"]
    assert cx7["extWBCSD_productCodeCpc"] == "41532"
    assert cx7["pcf"]["pcfExcludingBiogenic"] == 21.4
    assert cx7["pcf"]["declaredUnit"] == "piece" and cx7["pcf"]["unitaryProductAmount"] == 1
    assert cx7["pcf"]["crossSectoralStandardsUsed"] == [{"crossSectoralStandard": "ISO Standard 14067"}]
    assert cx7["pcf"]["secondaryEmissionFactorSources"] == [{"secondaryEmissionFactorSource": "ecoinvent 3.10"}]
    assert cx7["precedingPfIds"] == [{"id": "0f9e8d7c-6b5a-4c3d-8e1f-2a3b4c5d6e7f"}]
    back = to_internal(cx7)
    assert back["pcf"]["pcfExcludingBiogenicUptake"] == 21.4
    assert back["status"] == "Active"


def test_cx9_nests_the_same_leaves():
    doc8 = casting()
    cx9 = from_internal(doc8, PcfFormat.CX9)
    production = cx9["productLifeCycleStagesAndEmissions"][0]["productionStage"][0]
    assert production["pcfExcludingBiogenicUptake"] == 21.4
    id_and_version = cx9["pcfAssessmentAndMethodology"][0]["pcfAssessmentInformation"][0]["idAndVersion"][0]
    assert id_and_version["id"] == doc8["id"] and id_and_version["retroOrProspectivePcfType"] == "Retrospective PCF"
    back = to_internal(cx9)
    assert same({k: v for k, v in back.items() if k != CARRIED_KEY}, doc8)


@pytest.mark.parametrize("fmt", [PcfFormat.CX7, PcfFormat.CX9, PcfFormat.PACT3])
def test_internal_to_format_and_back_keeps_the_facts(fmt):
    doc8 = casting()
    again = to_internal(from_internal(doc8, fmt))
    assert facts(again) == facts(doc8)


@pytest.mark.parametrize("fmt", list(PcfFormat))
def test_what_we_write_round_trips_exactly(fmt):
    doc8 = casting(pcf__declaredUnitOfMeasurement="kilogram")
    written = from_internal(doc8, fmt)
    assert same(from_internal(to_internal(written), fmt), written)


def test_the_carried_values_never_overwrite_an_edited_figure():
    pact3 = from_internal(casting(), PcfFormat.PACT3)
    pact3["pcf"]["pcfExcludingBiogenicUptake"] = "21.40"  # written with a trailing zero: carried
    pact3["pcf"]["landAreaOccupation"] = "0.2"             # no 8.0.0 field: carried
    doc8 = to_internal(pact3)
    assert doc8[CARRIED_KEY]["format"] == "pact-3"
    assert same(from_internal(doc8, PcfFormat.PACT3), pact3)
    edited = copy.deepcopy(doc8)
    edited["pcf"]["pcfExcludingBiogenicUptake"] = 19.9
    out = from_internal(edited, PcfFormat.PACT3)
    assert out["pcf"]["pcfExcludingBiogenicUptake"] == "19.9"
    assert out["pcf"]["landAreaOccupation"] == "0.2"
    assert CARRIED_KEY not in from_internal(doc8, PcfFormat.CX8)
    assert "landAreaOccupation" not in json.dumps(from_internal(doc8, PcfFormat.CX7))


def test_pact_defaults_for_what_catena_x_requires():
    pact3 = from_internal(casting(), PcfFormat.PACT3)
    for key in ("validityPeriodEnd",):
        del pact3[key]
    del pact3["pcf"]["geographyCountry"]
    doc8 = to_internal(pact3)
    assert doc8["validityPeriodEnd"] == "2028-12-31T23:59:59Z"  # 3 years after the reference period
    assert doc8["pcf"]["geographyRegionOrSubregion"] == "Global"
    assert doc8["version"] == 0 and doc8["partialFullPcf"] == "Cradle-to-gate"


def test_to_internal_does_not_change_its_input_and_checks_an_explicit_format():
    doc = from_internal(casting(), PcfFormat.PACT3)
    before = copy.deepcopy(doc)
    to_internal(doc, PcfFormat.PACT3)
    assert doc == before
    with pytest.raises(FootprintError):
        to_internal(doc, PcfFormat.CX8)


# ---- facts --------------------------------------------------------------------------------------
def test_facts_of_a_footprint():
    doc8 = casting(precedingPfIds=[{"id": "0f9e8d7c-6b5a-4c3d-8e1f-2a3b4c5d6e7f"}])
    assert facts(doc8) == FootprintFacts(
        id="5e4b1c3a-8d2f-4a6b-9c0d-1e2f3a4b5c6d", product_ids=("urn:pontis:nordguss:NG-WC-400",),
        product_name="Wheel carrier casting NG-WC-400", company_ids=("urn:BPNL0000000NGUSS",),
        declared_unit="piece", declared_unit_amount=Decimal("1"), product_mass_per_declared_unit=Decimal("12.5"),
        pcf_excluding_biogenic_uptake=Decimal("21.4"), status="Active", version=0,
        preceding_pf_ids=("0f9e8d7c-6b5a-4c3d-8e1f-2a3b4c5d6e7f",), created="2026-11-02T08:00:00Z")


def test_facts_say_none_for_an_unknown_mass():
    assert facts(casting(pcf__productMassPerDeclaredUnit=0)).product_mass_per_declared_unit is None
