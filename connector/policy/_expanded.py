"""Reading a JSON-LD *expanded* policy node into the typed model.

Expanded form is what pyld's ``expand()`` outputs: keys are full IRIs, every
value is a list of ``{"@id": ...}``, ``{"@value": ...}``, ``{"@list": [...]}``
or nested node objects. The compact fast path (``_compact_in``) lifts its
input into this same shape, so both entry points share these checks and
give the same errors.

Error paths use the compact names ("permission[0].constraint[1].operator"),
which is what a user or a peer wrote and can find.
"""

from __future__ import annotations

from typing import Any

from .errors import PolicyFormatError
from .model import AtomicConstraint, Constraint, IriRef, LogicalConstraint, Policy, Rule, TypedLiteral
from .vocabulary import LOGICAL_OPERATORS, ODRL_NS, SET_OPERATORS

_P = ODRL_NS  # short alias: every property we read is in the ODRL namespace

# Features whose meaning we do not model. Silently dropping any of them would
# change what the policy permits, so they are rejected instead.
_UNSUPPORTED_POLICY = ("inheritFrom", "conflict")
_UNSUPPORTED_RULE = ("remedy", "consequence", "refinement", "failure")
_UNSUPPORTED_CONSTRAINT = ("unit", "dataType", "rightOperandReference", "status")

_ATOMIC_KEYS = ("leftOperand", "operator", "rightOperand")
_RULE_KINDS = (("permission", "permissions"), ("prohibition", "prohibitions"), ("obligation", "obligations"))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _reject_unsupported(node: dict[str, Any], path: str, names: tuple[str, ...], what: str) -> None:
    for name in names:
        if _P + name in node:
            raise PolicyFormatError(_join(path, name), f"{what} '{name}' is not supported by this connector")


def _node_list(node: dict[str, Any], name: str, path: str) -> list[tuple[dict[str, Any], str]]:
    """The node objects under property ``name``, each with its path ("constraint[0]" ...)."""
    values = node.get(_P + name, [])
    if not isinstance(values, list):
        raise PolicyFormatError(_join(path, name), "expected an array (expanded JSON-LD)")
    # An ordered property may come as a single {"@list": [...]} (andSequence).
    if len(values) == 1 and isinstance(values[0], dict) and "@list" in values[0]:
        values = values[0]["@list"]
        if not isinstance(values, list):
            raise PolicyFormatError(_join(path, name), "expected @list to hold an array")
    out = []
    for i, item in enumerate(values):
        item_path = f"{_join(path, name)}[{i}]"
        if not isinstance(item, dict) or "@value" in item or "@list" in item:
            raise PolicyFormatError(item_path, "expected a JSON object")
        out.append((item, item_path))
    return out


def _single_iri(node: dict[str, Any], name: str, path: str, example: str) -> str:
    """The one IRI value of a @vocab property such as action/leftOperand/operator."""
    field = _join(path, name)
    if _P + name not in node:
        raise PolicyFormatError(field, f"missing; expected exactly one {name} such as {example}")
    values = node[_P + name]
    if not isinstance(values, list) or len(values) != 1:
        raise PolicyFormatError(field, f"expected exactly one {name} such as {example}")
    value = values[0]
    if not isinstance(value, dict):
        raise PolicyFormatError(field, f"expected an IRI such as {example}")
    if "@id" not in value:
        if "@value" in value:
            raise PolicyFormatError(field, f"expected an IRI such as {example}, got the literal {value['@value']!r}")
        if name == "action":
            raise PolicyFormatError(field, "action refinements are not supported; expected a plain action such as \"use\"")
        raise PolicyFormatError(field, f"expected an IRI such as {example}")
    if set(value) - {"@id", "@type"}:
        # e.g. {"@id": "odrl:use", "odrl:refinement": [...]}
        raise PolicyFormatError(field, f"expected a plain {name} IRI such as {example}, got extra properties")
    iri = value["@id"]
    if not isinstance(iri, str) or not iri:
        raise PolicyFormatError(field, f"expected a non-empty IRI string such as {example}")
    return iri


def _literal(item: Any, path: str) -> Any:
    expected = 'expected {"@value": ...}, {"@id": ...} or a list of them'
    if not isinstance(item, dict):
        raise PolicyFormatError(path, expected)
    if "@id" in item:
        if set(item) - {"@id", "@type"} or not isinstance(item["@id"], str):
            raise PolicyFormatError(path, 'expected a plain IRI reference {"@id": "..."}')
        return IriRef(item["@id"])
    if "@value" not in item:
        raise PolicyFormatError(path, expected)
    value = item["@value"]
    if not isinstance(value, (str, int, float, bool)):
        raise PolicyFormatError(path, "expected a string, number or boolean @value")
    datatype, language = item.get("@type"), item.get("@language")
    if datatype == "@json":
        raise PolicyFormatError(path, "JSON literals (@json) are not supported as right operands")
    if (datatype is not None and not isinstance(datatype, str)) or (language is not None and not isinstance(language, str)):
        raise PolicyFormatError(path, "expected @type / @language to be strings")
    if datatype is None and language is None:
        return value
    return TypedLiteral(value, datatype, language)


def _right_operand(node: dict[str, Any], path: str, operator: str) -> Any:
    field = _join(path, "rightOperand")
    values = node.get(_P + "rightOperand")
    if not values:
        raise PolicyFormatError(field, "missing; expected a value or a list of values")
    if not isinstance(values, list):
        raise PolicyFormatError(field, "expected an array (expanded JSON-LD)")
    if len(values) == 1 and isinstance(values[0], dict) and "@list" in values[0]:
        items = values[0]["@list"]
        if not isinstance(items, list) or not items:
            raise PolicyFormatError(field, "expected @list to hold a non-empty array")
        return tuple(_literal(v, f"{field}[{i}]") for i, v in enumerate(items))
    parsed = tuple(_literal(v, f"{field}[{i}]" if len(values) > 1 else field) for i, v in enumerate(values))
    if len(parsed) == 1 and operator not in SET_OPERATORS:
        return parsed[0]
    return parsed


def parse_constraint(node: dict[str, Any], path: str) -> Constraint:
    logical = [op for op in LOGICAL_OPERATORS if _P + op in node]
    atomic = [k for k in _ATOMIC_KEYS if _P + k in node]
    if len(logical) > 1:
        raise PolicyFormatError(
            path, f"a logical constraint takes exactly one of and/or/xone/andSequence, found {' and '.join(logical)}"
        )
    if logical and atomic:
        raise PolicyFormatError(
            path, f"a constraint is either logical ({logical[0]}) or atomic ({', '.join(atomic)}), not both"
        )
    if logical:
        op = logical[0]
        members = _node_list(node, op, path)
        if not members:
            raise PolicyFormatError(_join(path, op), "expected at least one constraint")
        return LogicalConstraint(op, tuple(parse_constraint(n, p) for n, p in members))  # type: ignore[arg-type]  # op is a logical operator: found among them above
    if not atomic:
        raise PolicyFormatError(
            path, "expected an atomic constraint (leftOperand, operator, rightOperand) or one of and/or/xone/andSequence"
        )
    _reject_unsupported(node, path, _UNSUPPORTED_CONSTRAINT, "constraint property")
    left = _single_iri(node, "leftOperand", path, '"FrameworkAgreement"')
    operator = _single_iri(node, "operator", path, '"eq" or "isAnyOf"')
    return AtomicConstraint(left, operator, _right_operand(node, path, operator))


def parse_rule(node: dict[str, Any], path: str) -> Rule:
    _reject_unsupported(node, path, _UNSUPPORTED_RULE, "rule property")
    action = _single_iri(node, "action", path, '"use"')
    constraints = tuple(parse_constraint(n, p) for n, p in _node_list(node, "constraint", path))
    duties = tuple(parse_rule(n, p) for n, p in _node_list(node, "duty", path))
    return Rule(action, constraints, duties)


def parse_policy(node: Any, path: str = "") -> Policy:
    if isinstance(node, list) and len(node) == 1:
        node = node[0]  # pyld's expand() returns a one-element list
    if not isinstance(node, dict):
        raise PolicyFormatError(path, "expected a policy node (a JSON object)")
    _reject_unsupported(node, path, _UNSUPPORTED_POLICY, "policy property")
    rules = {
        attr: tuple(parse_rule(n, p) for n, p in _node_list(node, name, path)) for name, attr in _RULE_KINDS
    }
    profile = []
    items = node.get(_P + "profile", [])
    if not isinstance(items, list):
        raise PolicyFormatError(_join(path, "profile"), "expected an array (expanded JSON-LD)")
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("@id"), str):
            raise PolicyFormatError(f"{_join(path, 'profile')}[{i}]", "expected a profile IRI")
        profile.append(item["@id"])
    return Policy(profile=tuple(profile), **rules)
