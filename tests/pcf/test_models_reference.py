"""The official footprint schemas and examples in ../shared/reference (tests that compare with them skip
when that folder is absent; nothing here is copied into the project)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
from jsonschema import Draft4Validator, Draft202012Validator

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"
CX_MODELS = REFERENCE / "catenax" / "semantic-models" / "io.catenax.pcf"
PACT_SPEC = REFERENCE / "pact" / "data-exchange-protocol" / "spec"

needs_reference = pytest.mark.skipif(not CX_MODELS.is_dir() or not PACT_SPEC.is_dir(),
                                     reason="../shared/reference (official PCF models and PACT spec) is absent")

CX_VERSIONS = {"cx-7.0.0": "7.0.0", "cx-8.0.0": "8.0.0", "cx-9.0.0": "9.0.0"}
PACT_VERSIONS = {"pact-2": "v2", "pact-3": "v3"}


@cache
def official_validator(fmt: str):
    if fmt in CX_VERSIONS:
        schema = json.loads((CX_MODELS / CX_VERSIONS[fmt] / "gen" / "Pcf-schema.json").read_text())
        return Draft4Validator(schema)
    import yaml
    spec = yaml.safe_load((PACT_SPEC / PACT_VERSIONS[fmt] / "openapi.yaml").read_text())
    schema = {"$ref": "#/components/schemas/ProductFootprint", "components": spec["components"]}
    return Draft202012Validator(schema)


def _footprints_in(data) -> list[dict]:
    if isinstance(data, dict) and "pcf" in data:
        return [data]
    if isinstance(data, dict) and "data" in data:
        inner = data["data"]
        return [x for x in (inner if isinstance(inner, list) else [inner]) if isinstance(x, dict) and "pcf" in x]
    return []


def official_examples() -> list[tuple[str, str, dict]]:
    """(name, format, footprint) for every footprint in every official example file."""
    if not CX_MODELS.is_dir() or not PACT_SPEC.is_dir():
        return []
    out = []
    for fmt, version in CX_VERSIONS.items():
        path = CX_MODELS / version / "gen" / "Pcf.json"
        out.append((f"io.catenax.pcf/{version}/Pcf.json", fmt, json.loads(path.read_text())))
    for fmt, version in PACT_VERSIONS.items():
        for path in sorted((PACT_SPEC / version / "examples").glob("*.json")):
            for index, footprint in enumerate(_footprints_in(json.loads(path.read_text()))):
                out.append((f"pact/{version}/{path.name}#{index}", fmt, footprint))
    return out


# ---- every official example round-trips -------------------------------------------------------
import copy  # noqa: E402

from connector.pcf.formats import schemas as our_schemas  # noqa: E402
from connector.pcf.formats.common import same  # noqa: E402
from connector.pcf.models import (  # noqa: E402
    CARRIED_KEY,
    FootprintError,
    PcfFormat,
    detect_format,
    from_internal,
    to_internal,
    validate,
)

# The PACT examples named "invalid-response-all-properties" are schema-valid but carry a timestamp
# "2023-1-08T14:47:32Z" that is not RFC 3339: our rules refuse it (the files are there to be refused).
INVALID_BY_DESIGN = "invalid-response-all-properties"
EXAMPLES = official_examples()
VALID_EXAMPLES = [e for e in EXAMPLES if INVALID_BY_DESIGN not in e[0]]


@needs_reference
def test_the_reference_has_examples_of_every_format():
    assert {fmt for _, fmt, _ in VALID_EXAMPLES} == {f.value for f in PcfFormat}
    assert len(VALID_EXAMPLES) >= 10


@needs_reference
@pytest.mark.parametrize("name, fmt, doc", VALID_EXAMPLES, ids=[e[0] for e in VALID_EXAMPLES])
def test_official_example_round_trips(name, fmt, doc):
    original = copy.deepcopy(doc)
    assert detect_format(doc) == PcfFormat(fmt)
    doc8 = to_internal(doc)
    assert doc == original  # reading does not touch the input
    assert validate({k: v for k, v in doc8.items() if k != CARRIED_KEY}, PcfFormat.CX8) == []
    assert official_validator("cx-8.0.0").is_valid(doc8)
    back = from_internal(doc8, PcfFormat(fmt))
    assert same(back, original), name
    assert json.dumps(back, sort_keys=True) == json.dumps(original, sort_keys=True)


@needs_reference
@pytest.mark.parametrize("name, fmt, doc", VALID_EXAMPLES, ids=[e[0] for e in VALID_EXAMPLES])
def test_what_we_write_in_another_format_is_valid_there_or_refused_with_reasons(name, fmt, doc):
    doc8 = to_internal(doc)
    for target in PcfFormat:
        try:
            written = from_internal(doc8, target)
        except FootprintError as error:
            assert error.problems and all(p.path for p in error.problems)
            continue
        assert official_validator(target.value).is_valid(written), (name, target)
        again = to_internal(written)
        assert again["pcf"]["pcfExcludingBiogenicUptake"] == doc8["pcf"]["pcfExcludingBiogenicUptake"]
        assert again["pcf"]["declaredUnitOfMeasurement"] == doc8["pcf"]["declaredUnitOfMeasurement"]
        assert again["id"] == doc8["id"]


@needs_reference
def test_the_invalid_by_design_examples_are_refused_naming_the_field():
    invalid = [e for e in EXAMPLES if INVALID_BY_DESIGN in e[0]]
    assert len(invalid) == 2
    for _name, fmt, doc in invalid:
        assert official_validator(fmt).is_valid(doc)  # the schema alone cannot see it
        with pytest.raises(FootprintError) as caught:
            to_internal(doc)
        assert [p.path for p in caught.value.problems] == ["updated"]


# ---- our schemas accept and reject what the official ones do --------------------------------------
def _leaves(doc, path=()):
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield path + (key,), value
            yield from _leaves(value, path + (key,))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield path + (index,), value
            yield from _leaves(value, path + (index,))


def _replaced(doc, path, value=None, delete=False):
    out = copy.deepcopy(doc)
    node = out
    for step in path[:-1]:
        node = node[step]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


def _wrong_values(value):
    """Values that break a field in the ways a schema can see: type, range, enum, pattern, size."""
    if isinstance(value, bool):
        return ["true", 1]
    if isinstance(value, (int, float)):
        return ["1", -1, 0, 1.5, 4, 101, 1e9]
    if isinstance(value, str):
        return [7, "", "zz-not-valid", "-1", "0", "1.5", "Africa", "AR7", "2024-01-01T00:00:00Z",
                "urn:pontis:x", "kilogram", "piece"]
    if isinstance(value, list):
        return [{}, [], value + value[:1]]
    if isinstance(value, dict):
        return [[], {}]
    return [0]


def mutations(doc):
    for path, value in _leaves(doc):
        if isinstance(path[-1], str):
            yield "/".join(map(str, path)) + " deleted", _replaced(doc, path, delete=True)
        for wrong in _wrong_values(value):
            yield "/".join(map(str, path)) + f" = {wrong!r}", _replaced(doc, path, wrong)
    yield "extra field", {**doc, "pontisExtra": 1}


# PACT v3's PositiveNonZeroDecimal and NegativeOrZeroDecimal patterns are alternations anchored on
# one side only ("^a|b$"), so they accept "2024-01-01T00:00:00Z" as an amount. Ours anchor both
# sides: stricter there on purpose, and only there.
UNANCHORED_PACT3 = {"declaredUnitAmount", "landManagementBiogenicCO2Removals", "biogenicCO2Uptake",
                    "ccsTechnologicalCO2Capture", "technologicalCO2Removals"}


def _deliberately_stricter(fmt: str, what: str, official_accepts: bool) -> bool:
    field = what.split(" ")[0].split("/")[-1]
    return fmt == "pact-3" and official_accepts and field in UNANCHORED_PACT3


@needs_reference
@pytest.mark.parametrize("name, fmt, doc", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_our_schema_accepts_and_rejects_what_the_official_one_does(name, fmt, doc):
    official = official_validator(fmt)
    ours = our_schemas.validator(fmt)
    fast = our_schemas._fast(fmt)
    assert ours.is_valid(doc) and official.is_valid(doc)
    disagreements = []
    rejected = 0
    for what, mutated in mutations(doc):
        verdict = official.is_valid(mutated)
        rejected += not verdict
        if ours.is_valid(mutated) != verdict and not _deliberately_stricter(fmt, what, verdict):
            disagreements.append(f"{what}: official {'accepts' if verdict else 'rejects'}")
        try:  # the fast path may only say "valid" where jsonschema does
            fast(mutated)
            if not ours.is_valid(mutated):
                disagreements.append(f"{what}: the fast path accepts what our schema rejects")
        except Exception:
            pass
    assert disagreements == []
    assert rejected > 50  # the mutations do break documents
