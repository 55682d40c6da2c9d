"""EDC criteria (``{operandLeft, operator, operandRight}``): asset selectors and QuerySpec filters.

A record is a flat dict keyed by full IRIs (plus ``@id``). Left operands come in the shapes EDC
clients write: ``id``, ``edc:id``, ``https://w3id.org/edc/v0.0.1/ns/id``, ``'iri'``,
``properties.'iri'``, ``privateProperties.'iri'``; they are all reduced to one IRI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

EDC_NS = "https://w3id.org/edc/v0.0.1/ns/"
PREFIXES = {
    "edc": EDC_NS,
    "dct": "http://purl.org/dc/terms/",
    "dcat": "http://www.w3.org/ns/dcat#",
    "odrl": "http://www.w3.org/ns/odrl/2/",
    "cx-common": "https://w3id.org/catenax/ontology/common#",
    "cx-taxo": "https://w3id.org/catenax/taxonomy#",
}
OPERATORS = ("=", "!=", "in", "not in", "like", "ilike", "contains", "<", "<=", ">", ">=")


class CriterionError(ValueError):
    def __init__(self, path: str, expected: str) -> None:
        self.path = path
        self.expected = expected
        super().__init__(f"{path}: {expected}")


@dataclass(frozen=True, slots=True)
class Criterion:
    left: str  # a full IRI, or "@id"
    operator: str
    right: Any
    private: bool = False

    def to_json(self) -> dict:
        return {"operandLeft": self.left, "operator": self.operator, "operandRight": self.right}


def expand_term(term: str) -> str:
    term = term.strip().strip("'\"")
    if term in ("@id", "id", "edc:id", EDC_NS + "id", "https://w3id.org/edc/v0.0.1/ns/@id"):
        return "@id"
    if "://" in term or term.startswith("urn:"):
        return term
    if ":" in term:
        prefix, _, local = term.partition(":")
        if prefix in PREFIXES:
            return PREFIXES[prefix] + local
        return term
    return EDC_NS + term


def parse_left(raw: str) -> tuple[str, bool]:
    """(IRI, private?) for a left operand; nested paths name the properties map they look in."""
    text = raw.strip()
    private = False
    for prefix, is_private in (
        ("privateProperties.", True),
        (EDC_NS + "privateProperties.", True),
        ("properties.", False),
        (EDC_NS + "properties.", False),
    ):
        if text.startswith(prefix):
            text, private = text[len(prefix):], is_private
            break
    # 'iri'.'iri' paths: we store flat properties, so the property is the last segment that is
    # not a JSON-LD value key ('iri'.'@id' means "the @id of property iri", as tractusx-sdk writes)
    segments = [seg for seg in re.findall(r"'([^']*)'", text)]
    while len(segments) > 1 and segments[-1] in ("@id", "@value"):
        segments.pop()
    if len(segments) > 1 or (segments and text.startswith("'")):
        text = segments[-1]
    return expand_term(text), private


def parse_criterion(raw: Any, path: str) -> Criterion:
    if not isinstance(raw, dict):
        raise CriterionError(path, "a criterion object {operandLeft, operator, operandRight}")

    def pick(name: str) -> Any:
        for key in (name, EDC_NS + name, f"edc:{name}"):
            if key in raw:
                return raw[key]
        return None

    left, operator = pick("operandLeft"), pick("operator")
    if not isinstance(left, str) or not left:
        raise CriterionError(f"{path}.operandLeft", "a property name or IRI (e.g. 'https://w3id.org/edc/v0.0.1/ns/id')")
    if not isinstance(operator, str) or operator.lower() not in OPERATORS:
        raise CriterionError(f"{path}.operator", f"one of {', '.join(OPERATORS)}; got {operator!r}")
    iri, private = parse_left(left)
    right = pick("operandRight")
    if operator.lower() in ("in", "not in") and not isinstance(right, list):
        right = [right]
    return Criterion(iri, operator.lower(), right, private)


def parse_criteria(raw: Any, path: str) -> list[Criterion]:
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    return [parse_criterion(item, f"{path}[{i}]") for i, item in enumerate(items)]


def _scalar(value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("@value", value.get("@id", value))
    if isinstance(value, list) and len(value) == 1:
        return _scalar(value[0])
    return value


def _like(pattern: str, value: str, ignore_case: bool) -> bool:
    regex = "^" + re.escape(pattern).replace("%", ".*").replace("_", ".") + "$"
    return re.match(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def matches(criterion: Criterion, record: dict) -> bool:
    """Whether ``record`` satisfies ``criterion``. A missing property satisfies nothing but !=."""
    value = _scalar(record.get(criterion.left))
    right = criterion.right
    op = criterion.operator
    if value is None:
        return op in ("!=", "not in")
    if op == "=":
        return str(value) == str(_scalar(right)) if not isinstance(value, (int, float)) else value == _scalar(right)
    if op == "!=":
        return str(value) != str(_scalar(right))
    if op == "in":
        return str(value) in {str(_scalar(r)) for r in right}
    if op == "not in":
        return str(value) not in {str(_scalar(r)) for r in right}
    if op in ("like", "ilike"):
        return _like(str(_scalar(right)), str(value), op == "ilike")
    if op == "contains":
        raw = record.get(criterion.left)
        return _scalar(right) in raw if isinstance(raw, list) else str(_scalar(right)) in str(value)
    try:
        x, y = float(value), float(_scalar(right))
    except (TypeError, ValueError):  # not both numbers: compared as text
        return _compare(op, str(value), str(_scalar(right)))
    return _compare(op, x, y)


def _compare(op: str, a: Any, b: Any) -> bool:
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def single_asset_id(criteria: list[Criterion]) -> str | None:
    """The asset id a selector names alone (``id = X``), for the catalog's fast path."""
    if len(criteria) == 1 and criteria[0].left == "@id" and criteria[0].operator == "=":
        return str(_scalar(criteria[0].right))
    return None
