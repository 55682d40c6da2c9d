"""Validation of a footprint against the project's own schema for its format (schemas/pcf/).

Two validators on the same schema: fastjsonschema (compiled to Python, ~10x faster) answers the
common case, a valid document; only a document it rejects goes through jsonschema, which names
every problem with its path and is the judge (so the two can only differ in speed). ``format``
keywords are annotations here, as in the official schemas: neither validator checks them.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from pathlib import Path

from jsonschema import Draft202012Validator

try:  # a dependency in pyproject.toml; a venv made before it was added still validates, only slower
    import fastjsonschema
except ImportError:  # pragma: no cover - depends on the environment
    fastjsonschema = None  # type: ignore[assignment]  # the slower jsonschema path checks for None
    logging.getLogger("pontis.pcf").warning("fastjsonschema is not installed: footprints are validated by "
                                            "jsonschema alone (slower); run make install")

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "schemas" / "pcf"
DRAFT_07 = "http://json-schema.org/draft-07/schema#"


@cache
def schema(fmt: str) -> dict:
    return json.loads((SCHEMA_DIR / f"{fmt}.schema.json").read_text(encoding="utf-8"))


@cache
def validator(fmt: str) -> Draft202012Validator:
    return Draft202012Validator(schema(fmt))


def _without_formats(node):
    if isinstance(node, dict):
        return {k: _without_formats(v) for k, v in node.items() if not (k == "format" and isinstance(v, str))}
    if isinstance(node, list):
        return [_without_formats(v) for v in node]
    return node


@cache
def _fast(fmt: str):
    # our schemas use only keywords that mean the same in draft-07, which fastjsonschema compiles
    return fastjsonschema.compile({**_without_formats(schema(fmt)), "$schema": DRAFT_07})


def is_valid(doc, fmt: str) -> bool:
    if fastjsonschema is None:
        return validator(str(fmt)).is_valid(doc)
    try:
        _fast(str(fmt))(doc)
        return True
    except fastjsonschema.JsonSchemaValueException:
        return validator(str(fmt)).is_valid(doc)


def json_path(steps) -> str:
    out = ""
    for step in steps:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def problems(doc, fmt: str) -> list[tuple[str, str]]:
    """(path, message) for every schema violation, deepest first, one per path."""
    if is_valid(doc, fmt):
        return []
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
