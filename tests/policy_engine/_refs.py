"""Where the read-only reference data lives, and the JSON-schema oracle built from it.

The profile's schemas are loaded from ``<repo>/../shared`` (never copied into the repo).
``schema_accepts`` validates a compact policy against them; see ``intended_policy_schema``
for the three upstream defects it has to work around, each explained there.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CX_REF = SHARED / "reference" / "catenax" / "cx-odrl-profile"
CX_SCHEMA = CX_REF / "schema"
DSP_REF = SHARED / "reference" / "dsp" / "2025-1"
REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "policies"

requires_shared = pytest.mark.skipif(
    not CX_SCHEMA.is_dir() or not DSP_REF.is_dir(),
    reason=f"Catena-X/DSP reference schemas not found under {SHARED} (read-only checkout of /work/shared)",
)

POLICY_SCHEMA = "https://w3id.org/catenax/2025/9/policy/schema/policy-schema.json"
ATOMIC_SCHEMA = "https://w3id.org/catenax/2025/9/policy/schema/atomic-constraint-schemas.json"
CONTEXT_SCHEMA = "https://w3id.org/catenax/2025/9/policy/schema/context-schema.json"
DSP_CONTRACT = "https://w3id.org/dspace/2025/1/negotiation/contract-schema.json"


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def constraint_schemas() -> dict[str, dict]:
    """leftOperand name -> its constraint schema file (schema/constraint/*.json)."""
    out = {}
    for path in sorted((CX_SCHEMA / "constraint").glob("*.json")):
        schema = load(path)
        main = schema["definitions"][schema["allOf"][0]["$ref"].rsplit("/", 1)[-1]]
        out[main["properties"]["leftOperand"]["const"]] = schema
    return out


def intended_policy_schema(schema: dict) -> dict:
    """policy-schema.json as its authors evidently meant it.

    As published, AccessPolicy/UsagePolicy put "permission"/"prohibition"/"obligation" next
    to "properties" instead of inside it, so JSON Schema ignores them (the schema then
    accepts an access policy with action "use" and any operand), and the obligation rule says
    "minitems"/"maxitems" (ignored: lower case). Here they are moved into "properties".
    Two readings follow the official samples, which would fail the literal text:
    a usage permission's "minItems: 2" may be met by one "and" with two members, and an
    obligation's constraint may be wrapped in "and". Prohibitions and obligations need at
    least one constraint ("required", and the typed model cannot tell [] from absent).
    """
    schema = copy.deepcopy(schema)
    defs = schema["definitions"]
    for name in ("AccessPolicy", "UsagePolicy"):
        d = defs[name]
        d["properties"] = {k: d.pop(k) for k in ("permission", "prohibition", "obligation")}
    usage = defs["UsagePolicy"]["properties"]
    perm = usage["permission"]["items"]["allOf"][1]["properties"]["constraint"]
    del perm["minItems"]
    perm["anyOf"] = [{"minItems": 2}, {"items": {"required": ["and"], "properties": {"and": {"minItems": 2}}}}]
    usage["prohibition"]["items"]["allOf"][1]["properties"]["constraint"]["minItems"] = 1
    obl = usage["obligation"]["items"]["allOf"][1]["properties"]["constraint"]
    obl.pop("minitems", None)
    obl.pop("maxitems", None)
    obl["minItems"] = 1
    atoms = obl["items"]["anyOf"]
    obl["items"] = {"anyOf": [*atoms, {"type": "object", "required": ["and"], "additionalProperties": False,
                                        "properties": {"and": {"type": "array", "items": {"anyOf": atoms}}}}]}
    return schema


@lru_cache(maxsize=2)
def registry(intended: bool):
    """All DSP and CX schemas by $id. ``intended`` also lets DSP right operands be numbers:
    the CX duration schemas require JSON integers, which DSP's RightOperand (string, object
    or array) forbids, so no duration constraint could pass both as published."""
    from referencing import Registry, Resource

    resources = []
    paths = [*DSP_REF.glob("*/*-schema.json"), *CX_SCHEMA.glob("*.json"), *(CX_SCHEMA / "constraint").glob("*.json")]
    for path in paths:
        schema = load(path)
        if intended and schema.get("$id") == POLICY_SCHEMA:
            schema = intended_policy_schema(schema)
        if intended and schema.get("$id") == DSP_CONTRACT:
            schema = copy.deepcopy(schema)
            schema["definitions"]["RightOperand"]["oneOf"].append({"type": "number"})
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


def schema_errors(doc: Any, ref: str, *, intended: bool = True) -> list[str]:
    from jsonschema import Draft201909Validator

    validator = Draft201909Validator({"$ref": ref}, registry=registry(intended))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator.iter_errors(doc)]


def schema_accepts(doc: dict, kind: str, *, intended: bool = True) -> bool:
    """The profile's verdict on a whole compact policy of ``kind`` ("access"/"usage")."""
    definition = "AccessPolicy" if kind == "access" else "UsagePolicy"
    from jsonschema import Draft201909Validator

    schema = {"allOf": [{"$ref": f"{DSP_CONTRACT}#/definitions/PolicyClass"},
                        {"$ref": f"{POLICY_SCHEMA}#/definitions/{definition}"}]}
    return Draft201909Validator(schema, registry=registry(intended)).is_valid(doc)


def constraint_accepted(constraint: dict) -> bool:
    """The verdict of the constraint's own schema file (plus the DSP rule that all three
    fields are present); used where the DSP right-operand conflict would hide the CX rule."""
    from jsonschema import Draft201909Validator

    schemas = constraint_schemas()
    name = constraint.get("leftOperand")
    if name not in schemas or not all(k in constraint for k in ("leftOperand", "operator", "rightOperand")):
        return False
    return Draft201909Validator({"$ref": schemas[name]["$id"]}, registry=registry(False)).is_valid(constraint)
