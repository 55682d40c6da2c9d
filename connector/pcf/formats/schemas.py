"""Validation of a footprint against the project's own schema for its format (schemas/pcf/)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "schemas" / "pcf"


@lru_cache(maxsize=None)
def schema(fmt: str) -> dict:
    return json.loads((SCHEMA_DIR / f"{fmt}.schema.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def validator(fmt: str) -> Draft202012Validator:
    return Draft202012Validator(schema(fmt))


def json_path(steps) -> str:
    out = ""
    for step in steps:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def problems(doc, fmt: str) -> list[tuple[str, str]]:
    """(path, message) for every schema violation, deepest first, one per path."""
    found: dict[str, str] = {}
    for error in sorted(validator(str(fmt)).iter_errors(doc), key=lambda e: (-len(e.absolute_path), e.message)):
        path = json_path(error.absolute_path)
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else error.message
            path = json_path([*error.absolute_path, missing])
            message = "is required"
        elif error.validator == "enum":
            message = f"{error.instance!r} is not one of {', '.join(map(str, error.validator_value))}"
        elif error.validator == "oneOf" and path.endswith("pcf"):
            message = "give at most one of geographyRegionOrSubregion, geographyCountry, geographyCountrySubdivision"
        else:
            message = error.message
        found.setdefault(path, message)
    return list(found.items())
