"""The typed ODRL policy model (pure: no I/O, no JSON-LD).

IRIs are always stored expanded (``http://www.w3.org/ns/odrl/2/eq``, never
``"eq"``), so two policies written with different contexts compare equal.
The one exception is a word that no context defines (the official DSP examples
use ``"dateTime"`` and ``"partner"``): JSON-LD keeps such a word as a relative
IRI and so do we, verbatim.

Right operands are JSON values made hashable:

* a JSON string / number / boolean  -> ``str`` / ``int`` / ``float`` / ``bool``
  (so ``"1"`` and ``1`` stay different);
* a JSON array                       -> ``tuple`` of the items (flat);
* ``{"@id": iri}``                   -> ``IriRef(iri)``;
* ``{"@value": v, "@type": dt}`` or ``{"@value": v, "@language": l}``
                                     -> ``TypedLiteral(v, datatype, language)``.

Set-based operators (isAnyOf/isAllOf/isNoneOf) get a tuple from the codec
even for a single value. Because Python has ``True == 1 == 1.0``,
``AtomicConstraint`` and ``TypedLiteral`` compare right operands by type and value.

``equivalent`` and ``canonical_key`` compare policies by meaning, see their
docstrings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from .vocabulary import LOGICAL_OPERATORS, SET_OPERATORS

Scalar = str | int | float | bool
LogicalOperator = Literal["and", "or", "xone", "andSequence"]


def _strict(value: Any) -> Any:
    """A key that keeps bool, int, float and str apart (Python mixes them up)."""
    if isinstance(value, tuple):
        return ("list", tuple(_strict(v) for v in value))
    return (type(value).__name__, value)


@dataclass(frozen=True, slots=True, eq=False)
class TypedLiteral:
    """A literal with a datatype IRI or a language tag (JSON-LD value object)."""

    value: Scalar
    datatype: str | None = None
    language: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.value, (str, int, float, bool)):
            raise TypeError(f"TypedLiteral value must be a JSON scalar, got {type(self.value).__name__}")
        if self.datatype is not None and self.language is not None:
            raise ValueError("a literal has a datatype or a language, not both")

    def _key(self) -> tuple[Any, ...]:
        return (_strict(self.value), self.datatype, self.language)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TypedLiteral) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


@dataclass(frozen=True, slots=True)
class IriRef:
    """A right operand that is an IRI node reference (``{"@id": ...}``), not a string."""

    iri: str


RightOperand = Scalar | IriRef | TypedLiteral | tuple[Any, ...]


def _freeze_operand(value: Any) -> Any:
    # Accept lists for convenience but store tuples, so the model stays hashable.
    if isinstance(value, (list, tuple)):
        items = tuple(_freeze_operand(v) for v in value)
        if any(isinstance(v, tuple) for v in items):
            raise TypeError("right operand lists cannot be nested")
        return items
    if isinstance(value, (str, int, float, bool, IriRef, TypedLiteral)):
        return value
    raise TypeError(
        f"right operand must be a JSON scalar, IriRef, TypedLiteral or a list of those, got {type(value).__name__}"
    )


@dataclass(frozen=True, slots=True, eq=False)
class AtomicConstraint:
    """``leftOperand operator rightOperand``; operands and operator are full IRIs."""

    left_operand: str
    operator: str
    right_operand: Any

    def __post_init__(self) -> None:
        if not self.left_operand or not self.operator:
            raise ValueError("left_operand and operator must be non-empty IRIs")
        object.__setattr__(self, "right_operand", _freeze_operand(self.right_operand))

    def _key(self) -> tuple[Any, ...]:
        return (self.left_operand, self.operator, _strict(self.right_operand))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AtomicConstraint) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


@dataclass(frozen=True, slots=True)
class LogicalConstraint:
    """``and`` / ``or`` / ``xone`` / ``andSequence`` over one or more constraints."""

    operator: LogicalOperator
    constraints: tuple[Constraint, ...]

    def __post_init__(self) -> None:
        if self.operator not in LOGICAL_OPERATORS:
            raise ValueError(f"logical operator must be one of {LOGICAL_OPERATORS}, got {self.operator!r}")
        object.__setattr__(self, "constraints", tuple(self.constraints))
        if not self.constraints:
            raise ValueError(f"a logical {self.operator!r} needs at least one constraint")


Constraint = AtomicConstraint | LogicalConstraint


@dataclass(frozen=True, slots=True)
class Rule:
    """A permission, prohibition, obligation or duty: an action under constraints."""

    action: str
    constraints: tuple[Constraint, ...] = ()
    duties: tuple[Rule, ...] = ()

    def __post_init__(self) -> None:
        if not self.action:
            raise ValueError("a rule needs an action IRI")
        object.__setattr__(self, "constraints", tuple(self.constraints))
        object.__setattr__(self, "duties", tuple(self.duties))


@dataclass(frozen=True, slots=True)
class Policy:
    """The rules of an ODRL policy. Ids, type, target and parties are envelope data
    that the codec takes as arguments, so the same rules can be an Offer or an Agreement."""

    permissions: tuple[Rule, ...] = ()
    prohibitions: tuple[Rule, ...] = ()
    obligations: tuple[Rule, ...] = ()
    profile: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("permissions", "prohibitions", "obligations", "profile"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    def is_empty(self) -> bool:
        """True when the policy has no rules at all (an "allow everything" Set)."""
        return not (self.permissions or self.prohibitions or self.obligations)


# --- semantic comparison -------------------------------------------------------------


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _norm_value(value: Any) -> Any:
    if isinstance(value, IriRef):
        return {"@id": value.iri}
    if isinstance(value, TypedLiteral):
        out: dict[str, Any] = {"@value": value.value}
        if value.datatype is not None:
            out["@type"] = value.datatype
        if value.language is not None:
            out["@language"] = value.language
        return out
    return value  # JSON keeps "1", 1, 1.0 and true apart


def _norm_operand(operator: str, value: Any) -> Any:
    if isinstance(value, tuple):
        # ["x"] and "x" mean the same (JSON-LD cannot even tell them apart).
        if len(value) == 1:
            return _norm_value(value[0])
        items = [_norm_value(v) for v in value]
        # A set operator's operand is a set: order carries no meaning there.
        if operator in SET_OPERATORS:
            items.sort(key=_json)
        return {"list": items}
    return _norm_value(value)


def _norm_constraint(c: Constraint) -> Any:
    if isinstance(c, AtomicConstraint):
        return ["atomic", c.left_operand, c.operator, _norm_operand(c.operator, c.right_operand)]
    children = [_norm_constraint(x) for x in c.constraints]
    if c.operator != "andSequence":  # andSequence is ordered by definition
        children.sort(key=_json)
    return [c.operator, children]


def _norm_rules(rules: tuple[Rule, ...]) -> list[Any]:
    out = []
    for r in rules:
        # A rule's constraint list is a conjunction, so its order is irrelevant too.
        constraints = sorted((_norm_constraint(c) for c in r.constraints), key=_json)
        out.append({"action": r.action, "constraint": constraints, "duty": _norm_rules(r.duties)})
    return sorted(out, key=_json)


def _normalize(policy: Policy) -> dict[str, Any]:
    return {
        "permission": _norm_rules(policy.permissions),
        "prohibition": _norm_rules(policy.prohibitions),
        "obligation": _norm_rules(policy.obligations),
        "profile": sorted(set(policy.profile)),
    }


def canonical_key(policy: Policy) -> str:
    """A stable string, identical for equivalent policies (compact JSON of a
    normalized form). Suitable for dedup and as input to a hash."""
    return _json(_normalize(policy))


def equivalent(a: Policy, b: Policy) -> bool:
    """Semantic equality, used to check that a requested offer is the published one.

    Ignored: the order of rules, of a rule's constraints, of the members of
    and/or/xone, of the values of a set operator, and of profiles; a one-item
    list vs the bare item. Not ignored: order inside andSequence, value types
    (``"1"`` vs ``1``), operators, and duplicated rules or constraints.
    """
    # Compare the JSON text, not the structures: in Python True == 1 == 1.0.
    return canonical_key(a) == canonical_key(b)
