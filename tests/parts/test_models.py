"""The aspect models: our schemas against the official examples and mutated copies, and the typed reading.

The comparisons with the official schemas skip when ../shared is absent; the behaviour tests do not.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft4Validator, FormatChecker

from connector.parts import models as m

REF = Path(__file__).resolve().parents[3] / "shared" / "reference" / "catenax" / "semantic-models"
needs_ref = pytest.mark.skipif(not REF.is_dir(), reason="../shared/reference is absent: no official files to compare")

BOM3 = "urn:samm:io.catenax.single_level_bom_as_built:3.0.0#SingleLevelBomAsBuilt"
BOM4 = "urn:samm:io.catenax.single_level_bom_as_built:4.0.0#SingleLevelBomAsBuilt"
USAGE4 = "urn:samm:io.catenax.single_level_usage_as_built:4.0.0#SingleLevelUsageAsBuilt"
SERIAL4 = "urn:samm:io.catenax.serial_part:4.0.0#SerialPart"


def official(model: m.AspectModel) -> tuple[dict, dict]:
    base = REF / model.namespace / model.version / "gen"
    return (json.loads((base / f"{model.name}-schema.json").read_text()),
            json.loads((base / f"{model.name}.json").read_text()))


def ours_accepts(model: m.AspectModel, payload: dict) -> bool:
    try:
        m.validate(model, payload)
        return True
    except m.PartDataError:
        return False


def theirs_accepts(schema: dict, payload: dict) -> bool:
    return Draft4Validator(schema, format_checker=FormatChecker()).is_valid(payload)


def mutations(model: m.AspectModel, example: dict) -> list[tuple[str, dict]]:
    """Copies of the example, each broken in one way both schemas should refuse."""
    key = model.id_key
    out = []

    def mutate(name, change):  # type: ignore[no-untyped-def]
        doc = copy.deepcopy(example)
        change(doc)
        out.append((name, doc))

    mutate("no id", lambda d: d.pop(key))
    mutate("id not a UUID", lambda d: d.__setitem__(key, "part-17"))
    mutate("id a number", lambda d: d.__setitem__(key, 17))
    if model.role == m.BOM:
        mutate("no childItems", lambda d: d.pop("childItems"))
        mutate("child BPN malformed", lambda d: d["childItems"][0].__setitem__("businessPartner", "BPNX123"))
        mutate("child unit unknown", lambda d: d["childItems"][0]["quantity"].__setitem__("unit", "unit:bucket"))
        mutate("child quantity text", lambda d: d["childItems"][0]["quantity"].__setitem__("value", "20"))
        mutate("child no hasAlternatives", lambda d: d["childItems"][0].pop("hasAlternatives"))
        mutate("child id missing", lambda d: d["childItems"][0].pop(key))
    elif model.role == m.USAGE:
        mutate("no customers", lambda d: d.pop("customers"))
        mutate("customer malformed", lambda d: d.__setitem__("customers", ["ACME"]))
        mutate("parent flag text", lambda d: d["parentItems"][0].__setitem__("isOnlyPotentialParent", "no"))
        mutate("parent BPN missing", lambda d: d["parentItems"][0].pop("businessPartner"))
    else:
        mutate("no partTypeInformation", lambda d: d.pop("partTypeInformation"))
        mutate("no manufacturerPartId" if "manufacturerPartId" in example["partTypeInformation"] else "name a number",
               lambda d: d["partTypeInformation"].__setitem__("nameAtManufacturer", 7))
        if "manufacturingInformation" in example:
            mutate("no manufacturingInformation", lambda d: d.pop("manufacturingInformation"))
            mutate("country of 2 letters", lambda d: d["manufacturingInformation"].__setitem__("country", "DE"))
            mutate("site function unknown",
                   lambda d: d["manufacturingInformation"]["sites"][0].__setitem__("function", "assembly"))
            mutate("local id key unknown", lambda d: d["localIdentifiers"][0].__setitem__("key", "serialNo"))
        if "partSitesInformationAsPlanned" in example:
            site = "siteId" if "siteId" in example["partSitesInformationAsPlanned"][0] else "catenaXsiteId"
            mutate("planned site not a BPNS",
                   lambda d: d["partSitesInformationAsPlanned"][0].__setitem__(site, "BPNL1234567890ZZ"))
    return out


@needs_ref
@pytest.mark.parametrize("urn", sorted(m.ASPECTS))
def test_official_example_is_accepted_by_both(urn: str) -> None:
    model = m.ASPECTS[urn]
    schema, example = official(model)
    assert schema["x-samm-aspect-model-urn"] == urn  # we name each model as its publisher does
    assert theirs_accepts(schema, example)
    assert ours_accepts(model, example)


@needs_ref
@pytest.mark.parametrize("urn", sorted(m.ASPECTS))
def test_mutated_examples_are_refused_by_both(urn: str) -> None:
    model = m.ASPECTS[urn]
    schema, example = official(model)
    cases = mutations(model, example)
    assert len(cases) >= 4
    for name, doc in cases:
        assert not theirs_accepts(schema, doc), f"official schema accepted mutation {name!r}"
        assert not ours_accepts(model, doc), f"our schema accepted mutation {name!r}"


@needs_ref
@pytest.mark.parametrize("urn", sorted(m.ASPECTS))
def test_an_unknown_property_is_where_ours_is_stricter(urn: str) -> None:
    # the generated official schemas let unknown properties through; we refuse them (house rule)
    model = m.ASPECTS[urn]
    schema, example = official(model)
    doc = dict(example, catenaXIdd="x") if model.id_key == "catenaXId" else dict(example, globalAssetID="x")
    assert theirs_accepts(schema, doc)
    with pytest.raises(m.PartDataError) as caught:
        m.validate(model, doc)
    assert f"closest: {model.id_key!r}" in caught.value.expected


def test_the_schema_names_its_aspect_and_each_version_has_its_id_key() -> None:
    for urn, model in m.ASPECTS.items():
        assert model.schema()["x-aspect-urn"] == urn
        assert model.id_key == ("globalAssetId" if model.version in ("4.0.0", "2.0.0") else "catenaXId")


def test_an_unknown_aspect_names_the_closest() -> None:
    with pytest.raises(m.PartDataError) as caught:
        m.aspect("urn:samm:io.catenax.serial_part:3.0.0#SerialPart")
    assert caught.value.field == "aspect"
    assert "closest: urn:samm:io.catenax.serial_part:3.0.1#SerialPart" in caught.value.expected


def test_an_error_names_the_field_and_what_was_expected() -> None:
    payload = {"globalAssetId": "urn:uuid:6c3a8f6e-1d1e-4c7e-9a55-2f4b7d9c0a11", "childItems": [
        {"globalAssetId": "urn:uuid:0f5b3a8e-9d6c-4e2a-8b1f-7a6c5d4e3f21", "businessPartner": "BPNL0000000NGUSS",
         "quantity": {"value": 2, "unit": "unit:piece"}, "hasAlternatives": False, "createdOn": "yesterday"}]}
    with pytest.raises(m.PartDataError) as caught:
        m.validate(m.aspect(BOM4), payload)
    assert caught.value.field == "payload.childItems[0].createdOn"
    assert "date-time" in caught.value.expected and "'yesterday'" in caught.value.expected
    del payload["childItems"][0]["createdOn"]
    with pytest.raises(m.PartDataError) as caught:
        m.validate(m.aspect(BOM4), payload)
    assert caught.value.field == "payload.childItems[0].createdOn"
    assert "required" in caught.value.expected


def test_relationships_read_the_same_from_either_version() -> None:
    parent, child = "urn:uuid:6c3a8f6e-1d1e-4c7e-9a55-2f4b7d9c0a11", "urn:uuid:0f5b3a8e-9d6c-4e2a-8b1f-7a6c5d4e3f21"
    item = {"businessPartner": "BPNL0000000NGUSS", "quantity": {"value": 2.0, "unit": "unit:piece"},
            "hasAlternatives": False, "createdOn": "2026-11-07T08:00:00Z"}
    v3 = m.relationships(BOM3, {"catenaXId": parent, "childItems": [dict(item, catenaXId=child)]})
    v4 = m.relationships(BOM4, {"globalAssetId": parent, "childItems": [dict(item, globalAssetId=child)]})
    assert v3 == v4 == [m.Relationship(parent, child, 2.0, "unit:piece", "asBuilt", "BPNL0000000NGUSS",
                                       "2026-11-07T08:00:00Z", "downward")]
    up = m.relationships(USAGE4, {"globalAssetId": child, "customers": ["BPNL00000ACHSEAG"], "parentItems": [
        {"globalAssetId": parent, "businessPartner": "BPNL00000ACHSEAG", "isOnlyPotentialParent": False,
         "createdOn": "2026-11-08T08:00:00Z"}]})
    assert up == [m.Relationship(parent, child, None, None, "asBuilt", "BPNL00000ACHSEAG",
                                 "2026-11-08T08:00:00Z", "upward")]
    assert m.relationships(SERIAL4, {"globalAssetId": parent}) == []


def test_a_received_submodel_is_read_with_its_proof_set_aside() -> None:
    parent, child = "urn:uuid:6c3a8f6e-1d1e-4c7e-9a55-2f4b7d9c0a11", "urn:uuid:0f5b3a8e-9d6c-4e2a-8b1f-7a6c5d4e3f21"
    doc = {"globalAssetId": parent, "childItems": [
        {"globalAssetId": child, "businessPartner": "BPNL0000000NGUSS", "quantity": {"value": 2, "unit": "unit:piece"},
         "hasAlternatives": False, "createdOn": "2026-11-07T08:00:00Z"}], "proof": {"type": "DataIntegrityProof"}}
    assert [r.child_id for r in m.read_submodel(BOM4, doc)] == [child]
    with pytest.raises(m.PartDataError):
        m.read_submodel(BOM4, {"proof": {}, "childItems": []})
