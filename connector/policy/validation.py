"""Validating a policy against the Catena-X 2025-09 profile, on write.

``validate(policy, kind=...)`` returns every ``Violation`` it finds (an empty list
means valid); it does not stop at the first one, so a user can fix a policy in one go.
Each violation names the field (``permission[0].constraint[0].and[1].leftOperand``),
what was found and what was expected.

What is checked, following the profile's JSON schemas (``profile.py`` has the table):

* access policies: only permissions, action ``access``, atomic constraints from
  the access set (Membership, FrameworkAgreement, BusinessPartnerNumber/Group);
* usage policies: at least one rule, action ``use``; a permission carries at least
  two constraints, a prohibition or obligation at least one; each constraint must be
  allowed in its rule type (e.g. UsageRestriction only in prohibitions);
* every atomic constraint: a known left operand (else the closest ones are named),
  an allowed operator, a right operand of the right type / value / pattern;
* constraint arrays hold no duplicates (the schemas' ``uniqueItems``);
* logical constraints: the profile only has ``and``. ``or``/``xone``/``andSequence``
  and the ODRL ``dateTime``/``elapsedTime`` operands are accepted as extensions
  (the evaluator enforces them) unless ``extensions=False`` asks for the strict profile.

Deliberately stricter than the JSON schemas: end dates must be real calendar dates
(the schema's pattern accepts 2023-02-30T00:00:00Z, which no clock ever reaches), and an
access policy may not carry duties (the schemas ignore them; there is nothing to oblige).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .model import AtomicConstraint, Constraint, LogicalConstraint, Policy, Rule, TypedLiteral
from .profile import (
    ACCESS_ACTIONS,
    ACCESS_PERMISSION,
    DID_PATTERN,
    LEGACY_NAMESPACES,
    PLACE_NAMES,
    SPECS,
    USAGE_OBLIGATION,
    USAGE_PERMISSION,
    USAGE_PROHIBITION,
    USE_ACTION,
    XSD_DATETIME,
    XSD_DURATION,
    OperandSpec,
    Place,
    allowed_at,
    local_name,
    lookup,
    operator_name,
    parse_datetime,
    parse_duration,
    show,
)
from .suggest import unknown_operand_expected
from .vocabulary import compact_iri

Kind = Literal["access", "usage"]


@dataclass(frozen=True, slots=True)
class Violation:
    """One reason a policy is not valid under the profile."""

    path: str  # e.g. "permission[0].constraint[0].and[1].leftOperand"; "" = the policy itself
    found: str
    expected: str
    code: str = "invalid"  # unknown-operand, operator, right-operand, placement, structure, duplicate

    def __str__(self) -> str:
        return f"{self.path or '(policy)'}: {self.found}; expected {self.expected}"

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "found": self.found, "expected": self.expected, "code": self.code}


def infer_kind(policy: Policy) -> Kind:
    """"access" when every rule is an access permission (or there are none), else "usage"."""
    if policy.prohibitions or policy.obligations:
        return "usage"
    if all(r.action in ACCESS_ACTIONS for r in policy.permissions):
        return "access"
    return "usage"


def validate(policy: Policy, *, kind: Kind | None = None, extensions: bool = True,
             dataspace: str | None = None, gaiax: bool = False) -> list[Violation]:
    """All violations of the CX 2025-09 profile in ``policy``; [] when it is valid.

    ``kind`` is "access" or "usage"; None infers it from the actions (``infer_kind``).
    ``extensions=False`` rejects what the profile's schemas do not list (or/xone/
    andSequence, odrl:dateTime/elapsedTime), for policies that must pass any CX validator.
    ``dataspace`` (``[profile] dataspace``, with ``gaiax`` when ``[gaiax]`` is set): an unknown left
    operand is answered with the closest operand of those data spaces first (``suggest``'s rule,
    as the console's editor answers); None names the closest operands of every data space.
    """
    if kind is None:
        kind = infer_kind(policy)
    if kind not in ("access", "usage"):
        raise ValueError(f'kind must be "access", "usage" or None, got {kind!r}')
    v = _Validator(extensions, dataspace, gaiax)
    if kind == "access":
        v.access(policy)
    else:
        v.usage(policy)
    return v.out


def _suggest(word: str, choices: list[str], n: int = 3) -> list[str]:
    # Case-insensitive: "membership" should still suggest "Membership".
    lowered = {c.lower(): c for c in choices}
    return [lowered[m] for m in difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.5)]


def _names(specs: tuple[OperandSpec, ...] | list[OperandSpec]) -> str:
    return ", ".join(s.name for s in specs) or "none"


class _Validator:
    def __init__(self, extensions: bool, dataspace: str | None = None, gaiax: bool = False) -> None:
        self.extensions, self.dataspace, self.gaiax = extensions, dataspace, gaiax
        self.out: list[Violation] = []

    def add(self, path: str, found: str, expected: str, code: str) -> None:
        self.out.append(Violation(path, found, expected, code))

    # --- policy and rules --------------------------------------------------------------

    def access(self, policy: Policy) -> None:
        for name, rules in (("prohibition", policy.prohibitions), ("obligation", policy.obligations)):
            for i, _ in enumerate(rules):
                self.add(f"{name}[{i}]", f"{_a(name)} in an access policy",
                         "an access policy to have permissions only", "structure")
        for i, rule in enumerate(policy.permissions):
            path = f"permission[{i}]"
            self.action(rule, path, '"access"', ACCESS_ACTIONS)
            for j, _ in enumerate(rule.duties):
                self.add(f"{path}.duty[{j}]", "a duty in an access policy", "no duties in an access policy", "structure")
            self.constraints(rule.constraints, path, ACCESS_PERMISSION)

    def usage(self, policy: Policy) -> None:
        if policy.is_empty():
            self.add("", "a usage policy without rules",
                     "at least one permission, prohibition or obligation", "structure")
        for name, rules, place in (
            ("permission", policy.permissions, USAGE_PERMISSION),
            ("prohibition", policy.prohibitions, USAGE_PROHIBITION),
            ("obligation", policy.obligations, USAGE_OBLIGATION),
        ):
            for i, rule in enumerate(rules):
                path = f"{name}[{i}]"
                self.action(rule, path, '"use"', frozenset({USE_ACTION}))
                self.rule_size(rule, path, 2 if name == "permission" else 1)
                self.constraints(rule.constraints, path, place)
                for j, duty in enumerate(rule.duties):
                    # The profile has no duties; one attached to a rule takes obligation terms.
                    self.constraints(duty.constraints, f"{path}.duty[{j}]", USAGE_OBLIGATION)

    def action(self, rule: Rule, path: str, expected: str, allowed: frozenset[str]) -> None:
        if rule.action not in allowed:
            self.add(f"{path}.action", f'"{compact_iri(rule.action, vocab=True)}"', f"{expected} in this policy", "structure")

    def rule_size(self, rule: Rule, path: str, minimum: int) -> None:
        # The permission schema's minItems 2 is read as "two terms": the official samples
        # put all their terms into one "and", so the members of top-level ands are counted.
        count = sum(len(_flatten_and(c)) for c in rule.constraints)
        if count < minimum:
            what = "constraints" if minimum > 1 else "constraint"
            self.add(f"{path}.constraint", f"{count} constraint(s)", f"at least {minimum} {what} in this rule", "structure")

    def constraints(self, constraints: tuple[Constraint, ...], path: str, place: Place) -> None:
        seen: dict[Constraint, int] = {}
        for i, c in enumerate(constraints):
            cpath = f"{path}.constraint[{i}]"
            if c in seen:
                self.add(cpath, f"a duplicate of constraint[{seen[c]}]", "distinct constraints", "duplicate")
            seen.setdefault(c, i)
            self.constraint(c, cpath, place)

    def constraint(self, c: Constraint, path: str, place: Place) -> None:
        if isinstance(c, LogicalConstraint):
            if c.operator != "and" and not self.extensions:
                self.add(f"{path}.{c.operator}", f'a logical "{c.operator}"',
                         'only "and" (the Catena-X profile has no other logical constraint)', "structure")
            for i, member in enumerate(c.constraints):
                self.constraint(member, f"{path}.{c.operator}[{i}]", place)
            return
        self.atomic(c, path, place)

    # --- atomic constraints --------------------------------------------------------------

    def atomic(self, c: AtomicConstraint, path: str, place: Place) -> None:
        here = allowed_at(place, extensions=self.extensions)
        spec = lookup(c.left_operand)
        if spec is None or (spec.source != "cx" and not self.extensions):
            self.unknown(c, path, place, here, spec)
            return
        if place not in spec.places:
            where = "; ".join(PLACE_NAMES[p] for p in sorted(spec.places))
            self.add(f"{path}.leftOperand", f"{spec.name} in {_a(PLACE_NAMES[place])}",
                     f"{spec.name} only in: {where}. Allowed here: {_names(here)}", "placement")
        op = operator_name(c.operator)
        if c.operator not in spec.operator_iris:
            self.add(f"{path}.operator", f'"{op}" for {spec.name}',
                     " or ".join(f'"{o}"' for o in spec.operators), "operator")
        self.right(spec, c.right_operand, f"{path}.rightOperand", op)

    def unknown(self, c: AtomicConstraint, path: str, place: Place, here: tuple[Any, ...], spec: OperandSpec | None) -> None:
        name = local_name(c.left_operand)
        text = f"{show(c.left_operand)} {operator_name(c.operator)} {show(c.right_operand)}"
        if spec is not None:  # an ODRL extension while extensions are off
            self.add(f"{path}.leftOperand", f"{name} (an ODRL operand outside the Catena-X 2025-09 profile) in {text}",
                     f"a profile operand; allowed here: {_names(here)}", "unknown-operand")
            return
        found = f"unknown left operand {c.left_operand!r} in the constraint {text}"
        legacy = c.left_operand.startswith(LEGACY_NAMESPACES)
        if self.dataspace is not None and self.extensions and not legacy:
            self.add(f"{path}.leftOperand", found, unknown_operand_expected(c.left_operand, self.dataspace, self.gaiax),
                     "unknown-operand")
            return
        candidates = [s.name for s in SPECS if s.source == "cx" or self.extensions]
        close = _suggest(name, candidates)
        hint = f"closest: {', '.join(close)}" if close else f"allowed here: {_names(here)}"
        if legacy:
            hint += "; the 2025-09 profile's namespace is https://w3id.org/catenax/2025/9/policy/"
        self.add(f"{path}.leftOperand", found, f"a Catena-X 2025-09 left operand ({hint})", "unknown-operand")

    def right(self, spec: OperandSpec, value: Any, path: str, op: str = "") -> None:
        if spec.value == "strings":  # one value for eq/neq, a list for the set operators
            if op in ("eq", "neq") and isinstance(value, tuple):
                self.add(path, f"the list {show(value)}", f'one value for "{op}" with {spec.name} '
                         '(isAnyOf/isNoneOf take a list)', "right-operand")
                return
            if isinstance(value, tuple) or op in ("isAnyOf", "isNoneOf"):
                self.right_list(spec, value, path)
            else:
                self.string(spec, value, path)
        elif spec.value == "list":
            self.right_list(spec, value, path)
        elif spec.value == "string":
            self.string(spec, value, path)
        elif spec.value == "integer":
            # JSON Schema's "integer": whole numbers, including 2.0, never booleans or strings.
            ok = (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and value.is_integer())
            if not ok:
                self.add(path, f"{_kind_of(value)} {value!r}", f"a JSON integer (number of days/months) for {spec.name}", "right-operand")
        elif spec.value == "dateTime":
            self.temporal(spec, value, path, XSD_DATETIME, lambda s: parse_datetime(s, pattern=spec.pattern))
        elif spec.value == "duration":
            self.temporal(spec, value, path, XSD_DURATION, parse_duration)

    def right_list(self, spec: OperandSpec, value: Any, path: str) -> None:
        if not isinstance(value, tuple) or not value:
            self.add(path, f"{_kind_of(value)} {show(value)}", f"a non-empty list for {spec.name}", "right-operand")
            return
        for i, item in enumerate(value):
            if value.index(item) != i and spec.unique:
                self.add(f"{path}[{i}]", f"the duplicate {item!r}", f"distinct values for {spec.name}", "right-operand")
            self.string(spec, item, f"{path}[{i}]")

    def string(self, spec: OperandSpec, value: Any, path: str) -> None:
        if not isinstance(value, str):
            self.add(path, f"{_kind_of(value)} {show(value)}", f"a string for {spec.name}", "right-operand")
            return
        if spec.values and not spec.free_text and value not in spec.values:
            close = _suggest(value, sorted(spec.values), n=1)
            hint = f" (closest: {close[0]})" if close else ""
            self.add(path, f"{value!r}", f"one of {', '.join(sorted(spec.values))}{hint}", "right-operand")
        if spec.pattern and re.fullmatch(spec.pattern.strip("^$"), value, re.ASCII) is None:
            what = "a DID (did:method:id, e.g. did:web:example.com)" if spec.pattern == DID_PATTERN else \
                f"a value matching {spec.pattern}"
            self.add(path, f"{value!r}", f"{what} for {spec.name}", "right-operand")

    def temporal(self, spec: OperandSpec, value: Any, path: str, datatype: str, parse: Callable[[str], Any]) -> None:
        # The CX operands take a bare string (their schema says so); the ODRL ones may also
        # carry the XSD datatype as a JSON-LD value object.
        if isinstance(value, TypedLiteral) and spec.source == "odrl" and value.datatype == datatype:
            value = value.value
        kind = "xsd:dateTime" if datatype == XSD_DATETIME else "xsd:duration"
        if not isinstance(value, str):
            self.add(path, f"{_kind_of(value)} {show(value)}", f"an {kind} string for {spec.name}", "right-operand")
            return
        try:
            parse(value)
        except ValueError as exc:
            example = "2026-12-31T23:59:59Z" if datatype == XSD_DATETIME else "P30D"
            self.add(path, f"{value!r} ({exc})", f"an {kind} such as {example} for {spec.name}", "right-operand")


def _flatten_and(c: Constraint) -> list[Constraint]:
    if isinstance(c, LogicalConstraint) and c.operator == "and":
        return [x for member in c.constraints for x in _flatten_and(member)]
    return [c]


def _a(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "the boolean"
    if isinstance(value, (int, float)):
        return "the number"
    if isinstance(value, str):
        return "the string"
    if isinstance(value, tuple):
        return "the list"
    if isinstance(value, TypedLiteral):
        return f"the typed literal ({value.datatype or value.language})"
    return "the IRI"
