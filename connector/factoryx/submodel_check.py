"""Is a GetSubmodel answer an IDTA-01002-3-0-3 ``Submodel``? Our own structural check (Factory-X ADR 008),
and the value-only JSON of a Submodel that passed it.

``submodel_problems`` walks the document and names every problem by its path
(``submodelElements[2].value[0].valueType``). It checks what the Part 1 metamodel (3.0.3) schema checks
for the parts a Submodel is made of: ``modelType``, ``id`` (1..2000 characters), ``idShort``
(``^[a-zA-Z][a-zA-Z0-9_]*$``, at most 128), ``kind``, references (``type`` and non-empty ``keys``), the
element kinds, ``valueType`` from the xs: types, collections and lists with at least one element when
they have a ``value``. It adds three metamodel constraints the schema cannot say: an element of a
Submodel or a collection has an ``idShort`` unique among its siblings (AASd-117, AASd-022), an element
of a list has none (AASd-120), and a list's elements are of its ``typeValueListElement`` (AASd-108).
tests/factoryx/test_adr008.py compares the verdicts with the official schema's.
"""

from __future__ import annotations

import re
from typing import Any

ID_SHORT = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]*$")
ELEMENT_KINDS = ("AnnotatedRelationshipElement", "BasicEventElement", "Blob", "Capability", "Entity", "File",
                 "MultiLanguageProperty", "Operation", "Property", "Range", "ReferenceElement",
                 "RelationshipElement", "SubmodelElementCollection", "SubmodelElementList")
LIST_ELEMENT_KINDS = (*ELEMENT_KINDS, "DataElement", "EventElement", "SubmodelElement")
XSD = ("xs:anyURI", "xs:base64Binary", "xs:boolean", "xs:byte", "xs:date", "xs:dateTime", "xs:decimal", "xs:double",
       "xs:duration", "xs:float", "xs:gDay", "xs:gMonth", "xs:gMonthDay", "xs:gYear", "xs:gYearMonth",
       "xs:hexBinary", "xs:int", "xs:integer", "xs:long", "xs:negativeInteger", "xs:nonNegativeInteger",
       "xs:nonPositiveInteger", "xs:positiveInteger", "xs:short", "xs:string", "xs:time", "xs:unsignedByte",
       "xs:unsignedInt", "xs:unsignedLong", "xs:unsignedShort")
KEY_TYPES = ("AnnotatedRelationshipElement", "AssetAdministrationShell", "BasicEventElement", "Blob", "Capability",
             "ConceptDescription", "DataElement", "Entity", "EventElement", "File", "FragmentReference",
             "GlobalReference", "Identifiable", "MultiLanguageProperty", "Operation", "Property", "Range", "Referable",
             "ReferenceElement", "RelationshipElement", "Submodel", "SubmodelElement", "SubmodelElementCollection",
             "SubmodelElementList")
INTEGERS = ("xs:byte", "xs:int", "xs:integer", "xs:long", "xs:negativeInteger", "xs:nonNegativeInteger",
            "xs:nonPositiveInteger", "xs:positiveInteger", "xs:short", "xs:unsignedByte", "xs:unsignedInt",
            "xs:unsignedLong", "xs:unsignedShort")
NUMBERS = ("xs:decimal", "xs:double", "xs:float")


class SubmodelSchemaError(ValueError):
    """A document that is not an IDTA-01002-3-0-3 Submodel; ``problems`` name each path."""

    def __init__(self, where: str, problems: list[str]) -> None:
        self.problems = problems
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        super().__init__(f"{where} is not an IDTA-01002-3-0-3 Submodel: {'; '.join(problems[:3])}{more}")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _text(doc: dict, name: str, path: str, out: list[str], *, required: bool = False, limit: int = 2000) -> None:
    value = doc.get(name)
    if value is None:
        if required:
            out.append(f"{_join(path, name)}: required")
        return
    if not isinstance(value, str) or not 1 <= len(value) <= limit:
        out.append(f"{_join(path, name)}: expected a string of 1 to {limit} characters, got {value!r:.80}")


def _reference(value: Any, path: str, out: list[str]) -> None:
    if not isinstance(value, dict):
        out.append(f"{path}: expected a Reference object, got {value!r:.80}")
        return
    if value.get("type") not in ("ExternalReference", "ModelReference"):
        out.append(f"{path}.type: expected ExternalReference or ModelReference, got {value.get('type')!r:.80}")
    keys = value.get("keys")
    if not isinstance(keys, list) or not keys:
        out.append(f"{path}.keys: expected at least one key")
        return
    for i, key in enumerate(keys):
        where = f"{path}.keys[{i}]"
        if not isinstance(key, dict):
            out.append(f"{where}: expected an object with type and value")
            continue
        if key.get("type") not in KEY_TYPES:
            out.append(f"{where}.type: expected a KeyTypes value (e.g. GlobalReference), got {key.get('type')!r:.80}")
        _text(key, "value", where, out, required=True)


def _id_short(doc: dict, path: str, out: list[str], *, required: bool) -> None:
    value = doc.get("idShort")
    if value is None:
        if required:
            out.append(f"{_join(path, 'idShort')}: required for an element of a Submodel or a collection (AASd-117)")
        return
    if not isinstance(value, str) or len(value) > 128 or not ID_SHORT.match(value):
        out.append(f"{_join(path, 'idShort')}: expected a letter then letters, digits or _ (at most 128), "
                   f"got {value!r:.80}")


def _elements(value: Any, path: str, out: list[str], *, in_list: str | None = None) -> None:
    if not isinstance(value, list) or not value:
        out.append(f"{path}: expected a non-empty array of submodel elements")
        return
    seen: set[str] = set()
    for i, element in enumerate(value):
        where = f"{path}[{i}]"
        _element(element, where, out, in_list=in_list)
        name = element.get("idShort") if isinstance(element, dict) else None
        if isinstance(name, str) and in_list is None:
            if name in seen:
                out.append(f"{where}.idShort: {name!r} again; siblings have distinct idShorts (AASd-022)")
            seen.add(name)


def _element(element: Any, path: str, out: list[str], *, in_list: str | None) -> None:
    if not isinstance(element, dict):
        out.append(f"{path}: expected a submodel element object, got {element!r:.80}")
        return
    kind = element.get("modelType")
    if kind not in ELEMENT_KINDS:
        out.append(f"{path}.modelType: expected a submodel element kind ({', '.join(ELEMENT_KINDS[:4])}, ...), "
                   f"got {kind!r:.80}")
        return
    if in_list is not None:
        if "idShort" in element:
            out.append(f"{path}.idShort: an element of a SubmodelElementList has no idShort (AASd-120)")
        if in_list in ELEMENT_KINDS and kind != in_list:
            out.append(f"{path}.modelType: the list holds {in_list} elements (typeValueListElement), got {kind}")
    else:
        _id_short(element, path, out, required=True)
    if "semanticId" in element:
        _reference(element["semanticId"], f"{path}.semanticId", out)
    if kind in ("Property", "Range"):
        if element.get("valueType") not in XSD:
            out.append(f"{path}.valueType: expected an xs: data type (e.g. xs:string), got {element.get('valueType')!r:.80}")
        for name in ("value",) if kind == "Property" else ("min", "max"):
            if name in element and not isinstance(element[name], str):
                out.append(f"{path}.{name}: expected the value as a string, got {element[name]!r:.80}")
    elif kind == "MultiLanguageProperty" and "value" in element:
        texts = element["value"]
        if not isinstance(texts, list) or not texts or not all(
                isinstance(t, dict) and isinstance(t.get("language"), str) and isinstance(t.get("text"), str)
                for t in texts):
            out.append(f"{path}.value: expected a non-empty array of {{language, text}}")
    elif kind == "SubmodelElementCollection" and "value" in element:
        _elements(element["value"], f"{path}.value", out)
    elif kind == "SubmodelElementList":
        member = element.get("typeValueListElement")
        if member not in LIST_ELEMENT_KINDS:
            out.append(f"{path}.typeValueListElement: expected a submodel element kind, got {member!r:.80}")
        if element.get("valueTypeListElement") is not None and element["valueTypeListElement"] not in XSD:
            out.append(f"{path}.valueTypeListElement: expected an xs: data type, got "
                       f"{element['valueTypeListElement']!r:.80}")
        if "value" in element:
            _elements(element["value"], f"{path}.value", out, in_list=str(member))


def submodel_problems(doc: Any) -> list[str]:
    """Every way ``doc`` is not an IDTA-01002-3-0-3 Submodel, each naming its path; [] when it is one."""
    if not isinstance(doc, dict):
        return [f"(document): expected a Submodel object, got {type(doc).__name__}"]
    out: list[str] = []
    if doc.get("modelType") != "Submodel":
        out.append(f"modelType: expected 'Submodel', got {doc.get('modelType')!r:.80}")
    _text(doc, "id", "", out, required=True)
    _id_short(doc, "", out, required=False)
    if "kind" in doc and doc["kind"] not in ("Instance", "Template"):
        out.append(f"kind: expected Instance or Template, got {doc['kind']!r:.80}")
    if "semanticId" in doc:
        _reference(doc["semanticId"], "semanticId", out)
    if "submodelElements" in doc:
        _elements(doc["submodelElements"], "submodelElements", out)
    return out


def check_submodel(doc: Any, where: str) -> dict:
    """``doc`` itself when it is a Submodel; SubmodelSchemaError naming the paths otherwise."""
    problems = submodel_problems(doc)
    if problems:
        raise SubmodelSchemaError(where, problems)
    assert isinstance(doc, dict)
    return doc


def _scalar(element: dict) -> Any:
    value, kind = element.get("value"), element.get("valueType")
    if value is None:
        return None
    try:
        if kind == "xs:boolean":
            return value == "true" or value == "1"
        if kind in INTEGERS:
            return int(value)
        if kind in NUMBERS:
            return float(value)
    except ValueError:
        return value
    return value


def _value(element: dict) -> Any:
    kind = element.get("modelType")
    if kind == "Property":
        return _scalar(element)
    if kind == "SubmodelElementCollection":
        return {e["idShort"]: _value(e) for e in element.get("value") or []}
    if kind == "SubmodelElementList":
        return [_value(e) for e in element.get("value") or []]
    if kind == "MultiLanguageProperty":
        return [{t["language"]: t["text"]} for t in element.get("value") or []]
    if kind == "Range":
        return {"min": element.get("min"), "max": element.get("max")}
    return None


def value_only(submodel: dict) -> dict:
    """The ValueOnly JSON of a checked Submodel (what ``$value`` answers): collections become objects,
    lists arrays, properties their typed values."""
    return {e["idShort"]: _value(e) for e in submodel.get("submodelElements") or []}
