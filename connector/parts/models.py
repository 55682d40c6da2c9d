"""The Industry Core aspect models: which ones we know, their validation, and the typed objects read from them.

Each supported aspect is named by its SAMM URN with version (``ASPECTS``). Payloads are checked
with our own JSON schemas in ``schemas/parts/`` (stricter than the generated official ones in one
way: an unknown property is refused, naming the closest known one). 3.x models name the part
``catenaXId``, 4.0.0 (and PartTypeInformation 2.0.0) ``globalAssetId``; inside, both are ``Part``
and ``Relationship``, whatever version they came in. Pure: no I/O beyond reading the schemas once.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from connector.jsonld.loader import schemas_dir


def schemas() -> Path:
    """``schemas/parts``, under the schemas folder the JSON-LD loader uses (``$PONTIS_SCHEMAS_DIR``)."""
    return schemas_dir() / "parts"


IDENTITY, BOM, USAGE = "identity", "bom", "usage"
PART_INSTANCE, PART_TYPE = "PartInstance", "PartType"
AS_BUILT = "asBuilt"


@dataclass(frozen=True, slots=True)
class AspectModel:
    urn: str  # urn:samm:io.catenax.serial_part:3.0.1#SerialPart
    role: str  # identity (a part's own data), bom (children) or usage (parents)
    twin_type: str | None = None  # PartInstance / PartType for identity aspects

    @property
    def name(self) -> str:
        return self.urn.rsplit("#", 1)[1]

    @property
    def namespace(self) -> str:
        return self.urn.split(":")[2]

    @property
    def version(self) -> str:
        return self.urn.split(":")[3].split("#")[0]

    @property
    def id_key(self) -> str:
        """The payload's own id field: catenaXId (3.x, PartTypeInformation 1.0.0) or globalAssetId."""
        return "catenaXId" if "catenaXId" in self.schema()["properties"] else "globalAssetId"

    @property
    def asset_id(self) -> str:
        """The connector asset that serves this aspect of every twin (one per aspect type)."""
        return f"submodels-{self.name}-{self.version}"

    def schema(self) -> dict:
        return _schema(self.urn)


def _model(namespace: str, version: str, name: str, role: str, twin_type: str | None = None) -> AspectModel:
    return AspectModel(f"urn:samm:io.catenax.{namespace}:{version}#{name}", role, twin_type)


ASPECTS: dict[str, AspectModel] = {m.urn: m for m in (
    _model("serial_part", "3.0.1", "SerialPart", IDENTITY, PART_INSTANCE),
    _model("serial_part", "4.0.0", "SerialPart", IDENTITY, PART_INSTANCE),
    _model("batch", "3.0.1", "Batch", IDENTITY, PART_INSTANCE),
    _model("batch", "4.0.0", "Batch", IDENTITY, PART_INSTANCE),
    _model("part_type_information", "1.0.0", "PartTypeInformation", IDENTITY, PART_TYPE),
    _model("part_type_information", "2.0.0", "PartTypeInformation", IDENTITY, PART_TYPE),
    _model("single_level_bom_as_built", "3.0.0", "SingleLevelBomAsBuilt", BOM),
    _model("single_level_bom_as_built", "4.0.0", "SingleLevelBomAsBuilt", BOM),
    _model("single_level_usage_as_built", "3.0.0", "SingleLevelUsageAsBuilt", USAGE),
    _model("single_level_usage_as_built", "4.0.0", "SingleLevelUsageAsBuilt", USAGE),
)}


class PartDataError(ValueError):
    """A payload or aspect name that cannot be used: ``field`` (a JSON path) and what was expected."""

    def __init__(self, field: str, expected: str, value: Any = None) -> None:
        self.field = field
        self.expected = expected
        self.value = value
        super().__init__(f"{field}: {expected}")


def aspect(urn: Any, field: str = "aspect") -> AspectModel:
    """The model an aspect URN names, or PartDataError naming the closest supported one."""
    if isinstance(urn, str) and urn in ASPECTS:
        return ASPECTS[urn]
    namespace = str(urn).split(":")[2] if str(urn).count(":") >= 3 else None
    versions = sorted(u for u, a in ASPECTS.items() if a.namespace == namespace)
    close = versions or difflib.get_close_matches(str(urn), list(ASPECTS), n=1, cutoff=0.6)
    hint = f"closest: {' or '.join(close)}" if close else "supported: " + ", ".join(sorted(ASPECTS))
    raise PartDataError(field, f"an aspect model URN with version that this connector knows ({hint})", urn)


@cache
def _schema(urn: str) -> dict:
    model = ASPECTS[urn]
    return json.loads((schemas() / f"{model.namespace.removeprefix('io.catenax.')}-{model.version}.json").read_text())


@cache
def _validator(urn: str) -> Draft202012Validator:
    return Draft202012Validator(_schema(urn), format_checker=FormatChecker())


def json_path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out.lstrip(".")


def describe_error(error: Any) -> str:
    """What the schema wanted where ``error`` happened, in words."""
    if error.validator == "additionalProperties":
        known = list(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in known]
        words = []
        for name in extra:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
            words.append(f"unknown property {name!r}" + (f" (closest: {close[0]!r})" if close else
                                                          f" (known: {', '.join(known)})"))
        return "; ".join(words)
    if error.validator == "required":
        return f"the property {error.message.split(' is a required')[0]} is required"
    if error.validator == "pattern":
        described = error.schema.get("description")
        return f"expected {described or 'a value matching ' + error.schema['pattern']}, got {error.instance!r}"
    if error.validator == "enum":
        return f"expected one of {', '.join(map(str, error.schema['enum']))}; got {error.instance!r}"
    if error.validator == "format":
        return f"expected {error.schema.get('description') or error.schema['format']}, got {error.instance!r}"
    if error.validator == "uniqueItems":
        return "expected no repeated items"
    return f"expected {error.validator} {error.validator_value!r}: {error.message}"


def first_error(validator: Any, doc: Any, field: str) -> tuple[str, str] | None:
    """The shallowest schema error in ``doc`` as (JSON path under ``field``, what was expected)."""
    errors = sorted(validator.iter_errors(doc), key=lambda e: (len(e.absolute_path), json_path(e.absolute_path)))
    if not errors:
        return None
    error = errors[0]
    where = json_path(error.absolute_path)
    if error.validator == "required":
        name = error.message.split("'")[1]
        where = f"{where}.{name}" if where else name
    return (f"{field}.{where}" if where else field), describe_error(error)


def validate(model: AspectModel, payload: Any, field: str = "payload") -> dict:
    """The payload when it fits the aspect's schema, else PartDataError naming the first wrong field."""
    if not isinstance(payload, dict):
        raise PartDataError(field, f"a JSON object ({model.name} payload)", payload)
    found = first_error(_validator(model.urn), payload, field)
    if found is not None:
        raise PartDataError(found[0], found[1])
    return payload


def part_id(model: AspectModel, payload: dict) -> str:
    return payload[model.id_key]


def same_id(a: str, b: str) -> bool:
    """Two part ids name the same part (``urn:uuid:`` prefix and hex case aside)."""
    return normal_id(a) == normal_id(b)


def normal_id(value: str) -> str:
    return value.lower().removeprefix("urn:uuid:")


# --- typed objects ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Part:
    """What a SerialPart, Batch or PartTypeInformation says about one twin, in any version."""

    global_asset_id: str
    aspect: str  # the aspect URN it came in
    twin_type: str  # PartInstance / PartType
    manufacturer_part_id: str | None = None
    customer_part_id: str | None = None
    name: str | None = None  # the name at the manufacturer (or at the customer)
    local_ids: dict[str, str] = field(default_factory=dict)  # partInstanceId, batchId, van, ...

    @property
    def kind(self) -> str:
        return self.aspect.rsplit("#", 1)[1]


@dataclass(frozen=True, slots=True)
class Relationship:
    """One edge of the as-built tree, read from a BOM (down) or a usage (up) aspect."""

    parent_id: str
    child_id: str
    quantity: float | None
    unit: str | None
    lifecycle: str  # asBuilt
    bpn: str  # the business partner of the *other* end: the child's for a BOM, the parent's for a usage
    created_on: str | None = None
    direction: str = "downward"  # downward (from a BOM) or upward (from a usage)


def read_part(model: AspectModel, payload: dict) -> Part:
    info = payload.get("partTypeInformation") or {}
    local = {item["key"]: item["value"] for item in payload.get("localIdentifiers", [])}
    return Part(global_asset_id=part_id(model, payload), aspect=model.urn, twin_type=model.twin_type or PART_INSTANCE,
                manufacturer_part_id=info.get("manufacturerPartId"), customer_part_id=info.get("customerPartId"),
                name=info.get("nameAtManufacturer") or info.get("nameAtCustomer"), local_ids=local)


def relationships(urn: str, payload: dict) -> list[Relationship]:
    """The edges a relationship aspect names (an identity aspect names none)."""
    model = aspect(urn)
    own = part_id(model, payload)
    key = model.id_key
    out = []
    if model.role == BOM:
        for item in payload.get("childItems", []):
            qty = item.get("quantity") or {}
            out.append(Relationship(own, item[key], qty.get("value"), qty.get("unit"), AS_BUILT,
                                    item["businessPartner"], item.get("createdOn"), "downward"))
    elif model.role == USAGE:
        for item in payload.get("parentItems", []):
            qty = item.get("quantity") or {}
            out.append(Relationship(item[key], own, qty.get("value"), qty.get("unit"), AS_BUILT,
                                    item["businessPartner"], item.get("createdOn"), "upward"))
    return out


def read_submodel(urn: str, document: Any) -> Part | list[Relationship]:
    """A received submodel (its ``proof`` set aside) validated and read: a Part, or its relationships."""
    model = aspect(urn)
    payload = {k: v for k, v in document.items() if k != "proof"} if isinstance(document, dict) else document
    validate(model, payload)
    return read_part(model, payload) if model.role == IDENTITY else relationships(urn, payload)
