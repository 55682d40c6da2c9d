"""An aspect's value-only JSON as an IDTA-01002-3-0-3 ``Submodel`` (the GetSubmodel HTTP binding that
Factory-X ADR 008 requires): objects become SubmodelElementCollections, arrays
SubmodelElementLists, scalars Properties with their xs: value type. ``$value`` is the JSON itself."""

from __future__ import annotations

import re
from typing import Any


def _reference(iri: str) -> dict[str, Any]:
    return {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": iri}]}


def id_short(key: str) -> str:
    """A JSON key as a valid 3.0.3 idShort (a letter, then letters, digits or _; at most 128)."""
    cleaned = re.sub(r"[^a-zA-Z0-9_]", "_", key)
    if not cleaned or not cleaned[0].isalpha() or not cleaned[0].isascii():
        cleaned = "e" + cleaned
    return cleaned[:128]


def _value_type(value: Any) -> str:
    if isinstance(value, bool):
        return "xs:boolean"
    if isinstance(value, int):
        return "xs:long"
    if isinstance(value, float):
        return "xs:double"
    return "xs:string"


def _element(value: Any, name: str | None) -> dict[str, Any]:
    named = {"idShort": id_short(name)} if name is not None else {}
    if isinstance(value, dict):
        # an empty object or array has no "value": the metamodel wants at least one element there
        return {**named, "modelType": "SubmodelElementCollection",
                **({"value": [_element(v, k) for k, v in value.items()]} if value else {})}
    if isinstance(value, list):
        return {**named, "modelType": "SubmodelElementList", "typeValueListElement": _list_type(value),
                **({"value": [_element(v, None) for v in value]} if value else {}),
                **({"valueTypeListElement": _value_type(value[0])} if value and _list_type(value) == "Property" else {})}
    if value is None:
        return {**named, "modelType": "Property", "valueType": "xs:string"}
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return {**named, "modelType": "Property", "valueType": _value_type(value), "value": text}


def _list_type(items: list[Any]) -> str:
    if items and all(isinstance(i, dict) for i in items):
        return "SubmodelElementCollection"
    if items and all(isinstance(i, list) for i in items):
        return "SubmodelElementList"
    return "Property"


def as_submodel(payload: dict[str, Any], submodel_id: str, semantic_id: str) -> dict[str, Any]:
    """The Submodel whose ``$value`` is ``payload`` (a proof, if any, is not part of the model)."""
    body = {k: v for k, v in payload.items() if k not in ("proof", "@context")}
    return {"modelType": "Submodel", "id": submodel_id, "idShort": id_short(semantic_id.rsplit("#", 1)[-1]),
            "kind": "Instance", "semanticId": _reference(semantic_id),
            **({"submodelElements": [_element(v, k) for k, v in body.items()]} if body else {})}
