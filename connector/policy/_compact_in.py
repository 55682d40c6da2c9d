"""Lifting a compact DSP policy into expanded shape, without a JSON-LD processor.

This is the fast path for catalog and negotiation requests. It understands
exactly the DSP ODRL profile terms and the CX 2025-09 policy terms (plus
``odrl:``/``cx-policy:``/... CURIEs and full IRIs) and applies their type
coercions, which is all a JSON-LD processor would do for these documents.
The result goes through the same checks as real expanded input
(``_expanded``), so both entry points agree on results and errors.

Two deliberate differences from a JSON-LD processor:

* CX terms are always understood, even if the document's @context does not
  list the CX context (they do not clash with any DSP term);
* bare ``remedy``/``refinement``/... keys are rejected as unsupported rather
  than silently dropped as undefined terms, because their author meant them.
"""

from __future__ import annotations

from typing import Any

from ._expanded import _UNSUPPORTED_CONSTRAINT, _UNSUPPORTED_POLICY, _UNSUPPORTED_RULE
from .errors import PolicyFormatError
from .vocabulary import ODRL_NS, expand_iri

# Properties whose string values are IRIs in @vocab position (terms apply).
_VOCAB_PROPS = frozenset(ODRL_NS + n for n in ("action", "leftOperand", "operator"))
# Properties whose string values are IRIs in @id position (only CURIEs apply).
_ID_PROPS = frozenset(ODRL_NS + n for n in ("profile", "target", "assigner", "assignee", "hasPolicy"))
_MEANT_AS_ODRL = frozenset(_UNSUPPORTED_POLICY + _UNSUPPORTED_RULE + _UNSUPPORTED_CONSTRAINT)


def _key_iri(key: str) -> str:
    if key in _MEANT_AS_ODRL:
        return ODRL_NS + key
    return expand_iri(key, vocab=True)


def _lift_value(prop: str, item: Any, path: str) -> Any:
    """One compact value of property ``prop`` -> its expanded form."""
    if isinstance(item, dict):
        if "@list" in item:
            inner = item["@list"]
            if not isinstance(inner, list):
                raise PolicyFormatError(path, "expected @list to hold an array")
            return {"@list": [_lift_value(prop, v, f"{path}[{i}]") for i, v in enumerate(inner)]}
        if "@value" in item:
            out = dict(item)
            if isinstance(item.get("@type"), str):
                out["@type"] = expand_iri(item["@type"], vocab=True)
            return out
        if "@id" in item and isinstance(item["@id"], str):
            lifted = lift_node(item, path)
            lifted["@id"] = expand_iri(item["@id"], vocab=False)
            return lifted
        return lift_node(item, path)
    if isinstance(item, str) and prop in _VOCAB_PROPS:
        return {"@id": expand_iri(item, vocab=True)}
    if isinstance(item, str) and prop in _ID_PROPS:
        return {"@id": expand_iri(item, vocab=False)}
    # Strings of other properties (rightOperand) are plain literals, and so are
    # numbers and booleans anywhere; the parser rejects them where a node is due.
    return {"@value": item}


def _lift_values(prop: str, value: Any, path: str, out: list[Any]) -> None:
    if value is None:
        return  # JSON-LD drops nulls; the parser then reports the field as missing
    if isinstance(value, list):
        for i, item in enumerate(value):
            # Nested arrays are flattened, as JSON-LD expansion does.
            _lift_values(prop, item, f"{path}[{i}]", out)
        return
    out.append(_lift_value(prop, value, path))


def lift_node(node: dict[str, Any], path: str) -> dict[str, Any]:
    """A compact node object -> the same node with IRI keys and list values."""
    out: dict[str, list[Any]] = {}
    for key, value in node.items():
        if key.startswith("@"):
            continue  # @context/@id/@type of the policy or a rule: envelope data
        prop = _key_iri(key)
        field = f"{path}.{key}" if path else key
        # Several spellings of one property ("operator", "odrl:operator") merge,
        # so a doubled operator is then reported as "exactly one" by the parser.
        _lift_values(prop, value, field, out.setdefault(prop, []))
    return out


def lift_policy(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise PolicyFormatError("", "expected a policy object")
    return lift_node(doc, "")
