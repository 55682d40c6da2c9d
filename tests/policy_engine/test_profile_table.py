"""The profile table (connector/policy/profile.py) against the profile's own schema files."""

from __future__ import annotations

import pytest

from connector.policy.profile import (
    ACCESS_PERMISSION,
    BY_NAME,
    CX_DATE_PATTERN,
    SPECS,
    USAGE_OBLIGATION,
    USAGE_PERMISSION,
    USAGE_PROHIBITION,
    lookup,
)
from connector.policy.vocabulary import CX_LEFT_OPERAND_TERMS, cx, odrl

from ._refs import CX_SCHEMA, constraint_schemas, load, requires_shared

CX_SPECS = [s for s in SPECS if s.source == "cx"]


def _facts(schema: dict) -> dict:
    """What one constraint schema file says, read generically from its JSON."""
    defs = schema["definitions"]
    main_name = schema["allOf"][0]["$ref"].rsplit("/", 1)[-1]
    props = defs[main_name]["properties"]
    op = props["operator"]
    right = props["rightOperand"]
    is_list = right.get("type") == "array"
    holder = right["items"] if is_list else right
    options = holder.get("anyOf") or holder.get("oneOf") or [holder]
    resolved = [defs[o["$ref"].rsplit("/", 1)[-1]] if "$ref" in o else o for o in options]
    patterns = {d["pattern"] for d in resolved if "pattern" in d}
    return {
        "operators": {op["const"]} if "const" in op else set(op["enum"]),
        "list": is_list,
        "unique": bool(right.get("uniqueItems")),
        "min_items": right.get("minItems"),
        "integer": any(d.get("type") == "integer" for d in resolved),
        "pattern": patterns.pop() if patterns else None,
        "free": any(d.get("type") == "string" and "const" not in d and "pattern" not in d for d in resolved),
        "referenced": {d["const"] for d in resolved if "const" in d},
        # every named value the file defines (UsagePurpose defines one its anyOf forgets)
        "defined": {d["const"] for n, d in defs.items() if n != main_name and "const" in d}
        | {d["const"] for d in resolved if "const" in d},
    }


@requires_shared
def test_every_schema_file_has_a_spec_and_back():
    assert set(constraint_schemas()) == {s.name for s in CX_SPECS}


@requires_shared
@pytest.mark.parametrize("name", sorted(s.name for s in CX_SPECS))
def test_spec_matches_its_schema_file(name):
    spec, facts = BY_NAME[name], _facts(constraint_schemas()[name])
    assert set(spec.operators) == facts["operators"]
    assert (spec.value == "list") == facts["list"]
    if facts["list"]:
        assert facts["min_items"] == 1  # the validator's "non-empty list"
    assert spec.unique == facts["unique"]
    assert (spec.value == "integer") == facts["integer"]
    assert spec.pattern == facts["pattern"]
    assert (spec.value == "dateTime") == (facts["pattern"] == CX_DATE_PATTERN)
    assert spec.free_text == facts["free"]
    assert spec.values == facts["defined"]
    assert facts["referenced"] <= spec.values


def _refs(node) -> set[str]:
    if isinstance(node, dict):
        out = {node["$ref"]} if "$ref" in node else set()
        for v in node.values():
            out |= _refs(v)
        return out
    if isinstance(node, list):
        return set().union(*map(_refs, node)) if node else set()
    return set()


@requires_shared
def test_placements_match_atomic_constraint_schemas():
    by_id = {schema["$id"]: name for name, schema in constraint_schemas().items()}
    defs = load(CX_SCHEMA / "atomic-constraint-schemas.json")["definitions"]

    def operands(definition: str) -> set[str]:
        return {by_id[r] for r in _refs(defs[definition]) if r in by_id}

    expected = {
        ACCESS_PERMISSION: operands("AtomicAccessPermissionConstraint"),
        USAGE_PERMISSION: operands("AtomicUsagePermissionConstraint"),
        USAGE_PROHIBITION: operands("AtomicProhibitionConstraint"),
        USAGE_OBLIGATION: operands("AtomicObligationConstraint"),
    }
    for place, names in expected.items():
        assert {s.name for s in CX_SPECS if place in s.places} == names, place


@requires_shared
def test_policy_schema_actions_match():
    defs = load(CX_SCHEMA / "policy-schema.json")["definitions"]
    access = defs["AccessPolicy"]["permission"]["items"]["allOf"][1]["properties"]["action"]["const"]
    usage = defs["UsagePolicy"]["permission"]["items"]["allOf"][1]["properties"]["action"]["const"]
    assert lookup(cx("Membership")) is BY_NAME["Membership"]
    assert (access, usage) == ("access", "use")


def test_every_context_term_resolves():
    # The context file defines WarrantyDuration where the schema says WarrantyDurationMonths.
    for term in CX_LEFT_OPERAND_TERMS:
        assert lookup(cx(term)) is not None, term
    assert lookup(cx("WarrantyDuration")) is BY_NAME["WarrantyDurationMonths"]
    assert lookup("WarrantyDurationMonths") is BY_NAME["WarrantyDurationMonths"]


def test_odrl_time_operands_are_extensions():
    assert lookup(odrl("dateTime")).source == lookup("dateTime").source == "odrl"
    assert lookup(odrl("elapsedTime")).check == "duration"
    assert ACCESS_PERMISSION not in BY_NAME["elapsedTime"].places  # no agreement at access time


def test_scopes_follow_the_kind_of_check():
    assert BY_NAME["Membership"].scopes == ("catalog", "contract.negotiation", "transfer.process")
    assert BY_NAME["DataUsageEndDurationDays"].scopes == ("transfer.process",)
    assert BY_NAME["UsagePurpose"].scopes == ()
