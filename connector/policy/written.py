"""Checks on a policy *as written*, before it is stored: the typed model alone cannot see them.

The typed reader keeps what it understands and leaves the rest, so a misspelt rule array
(``permissions``, ``constraints``) would read as "no rules" or "no constraints", a policy that
lets everyone in. On write that is refused:

* an unknown term on the policy or on a rule is refused, naming the closest valid term;
* a policy with no rule at all is refused unless it is marked ``"allowAll": true`` (on the
  policy object, beside ``@type``): the documented way to say "everyone may", on purpose.
  The marker is refused on a policy that has rules, where it would mean nothing.

``validate_policy_document`` is the whole check of a policy in the compact DSP/Catena-X form
(what ``connector policy validate`` reads and the console's editor sends): shape, terms, the
allow-all rule and the Catena-X profile, each problem a ``Violation`` with its field path.
"""

from __future__ import annotations

from typing import Any, Literal

from ._compact_in import lift_policy
from .errors import PolicyFormatError
from .suggest import closest as closest  # re-exported: management.peers uses it
from .validation import Kind, Violation, validate
from .vocabulary import ODRL_NS

ALLOW_ALL = "allowAll"
# the marker may arrive under @vocab edc (management bodies), bare (compact DSP) or in our namespace
_MARKER_NAMESPACES = ("", "https://w3id.org/edc/v0.0.1/ns/", "https://w3id.org/pontis/v1/", ODRL_NS)
POLICY_TERMS = ("permission", "prohibition", "obligation", "profile", "target", "assigner", "assignee", "uid",
                "inheritFrom", "conflict")
RULE_TERMS = ("action", "constraint", "duty", "target", "assigner", "assignee", "uid",
              "remedy", "consequence", "refinement", "failure")
CONSTRAINT_TERMS = ("leftOperand", "operator", "rightOperand", "and", "or", "xone", "andSequence",
                    "unit", "dataType", "rightOperandReference", "status", "uid")
# the profile check still applies in lenient mode to these codes (see management.policies)
WRITTEN_CODES = frozenset({"unknown-term", "no-rule"})


def _local(key: str) -> str:
    for ns in _MARKER_NAMESPACES[1:]:
        if key.startswith(ns):
            return key[len(ns):]
    return key.rsplit("#", 1)[-1].rsplit("/", 1)[-1] if "://" in key else key.split(":")[-1]


def _is_marker(key: str) -> bool:
    return any(key == ns + ALLOW_ALL for ns in _MARKER_NAMESPACES) or key == "pontis:" + ALLOW_ALL


def _marker_value(values: Any) -> Any:
    items = values if isinstance(values, list) else [values]
    if len(items) == 1 and isinstance(items[0], dict) and "@value" in items[0]:
        return items[0]["@value"]
    return items[0] if len(items) == 1 else items


def _expected(word: str, choices: tuple[str, ...]) -> str:
    near = closest(word, choices)
    listed = ", ".join(choices)
    return (f"'{near}' (the closest term); the terms here are {listed}" if near
            else f"one of the terms {listed}")


def _unknown(node: dict[str, Any], path: str, terms: tuple[str, ...], out: list[Violation], *, policy_level: bool) -> None:
    for key in node:
        if key.startswith("@") or (policy_level and _is_marker(key)):
            continue
        local = _local(key)
        if key == ODRL_NS + local and local in terms:
            continue
        where = f"{path}.{local}" if path else local
        out.append(Violation(where, f"the unknown term '{local}'", _expected(local, terms), "unknown-term"))


def _rules(node: dict[str, Any], name: str) -> list[tuple[int, dict[str, Any]]]:
    values = node.get(ODRL_NS + name, [])
    values = values if isinstance(values, list) else [values]
    if len(values) == 1 and isinstance(values[0], dict) and isinstance(values[0].get("@list"), list):
        values = values[0]["@list"]
    return [(i, v) for i, v in enumerate(values) if isinstance(v, dict)]


def _constraints(node: dict[str, Any], path: str, out: list[Violation], name: str = "constraint") -> None:
    """Unknown terms in the constraints under ``node`` (and in the members of logical ones)."""
    for i, constraint in _rules(node, name):
        where = f"{path}.{name}[{i}]"
        _unknown(constraint, where, CONSTRAINT_TERMS, out, policy_level=False)
        for operator in ("and", "or", "xone", "andSequence"):
            _constraints(constraint, where, out, operator)


def written_violations(node: dict[str, Any]) -> list[Violation]:
    """Unknown terms, and a missing rule without the allow-all marker, in an expanded policy node
    whose ODRL properties are ODRL IRIs (the management edge's normalized node, or a lifted
    compact policy). Paths are the compact names: ``permissions``, ``permission[0].constraints``."""
    out: list[Violation] = []
    if not isinstance(node, dict):
        return out
    _unknown(node, "", POLICY_TERMS, out, policy_level=True)
    count = 0
    for kind in ("permission", "prohibition", "obligation"):
        for i, rule in _rules(node, kind):
            count += 1
            _unknown(rule, f"{kind}[{i}]", RULE_TERMS, out, policy_level=False)
            _constraints(rule, f"{kind}[{i}]", out)
            for j, duty in _rules(rule, "duty"):
                _unknown(duty, f"{kind}[{i}].duty[{j}]", RULE_TERMS, out, policy_level=False)
                _constraints(duty, f"{kind}[{i}].duty[{j}]", out)
    marker = next((k for k in node if _is_marker(k)), None)
    marked = marker is not None and _marker_value(node[marker]) is True
    if marker is not None and not marked:
        out.append(Violation(ALLOW_ALL, f"{ALLOW_ALL} = {_marker_value(node[marker])!r}",
                             f"{ALLOW_ALL}: true, on a policy without rules, or no {ALLOW_ALL} at all", "no-rule"))
    elif marked and count:
        out.append(Violation(ALLOW_ALL, f"{ALLOW_ALL}: true on a policy with {count} rule(s)",
                             f"either rules or \"{ALLOW_ALL}\": true (a policy that lets everyone in), not both",
                             "no-rule"))
    elif not count and not marked and not any(v.code == "unknown-term" for v in out):
        out.append(Violation("", "a policy without any rule (it would let everyone in)",
                             "at least one permission, prohibition or obligation; or, to let everyone in on "
                             f"purpose, \"{ALLOW_ALL}\": true on the policy", "no-rule"))
    return out


def validate_policy_document(doc: Any, *, kind: Kind | None = None,
                             profile: Literal["catena-x", "lenient"] = "catena-x") -> list[Violation]:
    """Every problem of a policy in the compact DSP / Catena-X form, each with its field path:
    its shape, unknown terms, the allow-all rule, then the profile (``lenient``: only unknown
    operands, operators, right operands and duplicates). [] when it may be stored."""
    from .codec import policy_from_compact_dsp

    if isinstance(doc, dict) and isinstance(doc.get("policy"), dict):
        doc = doc["policy"]  # a whole policy definition ({"@id", "policy": {...}})
    if not isinstance(doc, dict):
        return [Violation("", f"a JSON {type(doc).__name__}", "a policy object ({\"permission\": [...]})", "shape")]
    try:
        lifted = lift_policy(doc)
        policy = policy_from_compact_dsp(doc)
    except PolicyFormatError as exc:
        return [Violation(exc.path, "a malformed policy", exc.expected, "shape")]
    written = written_violations(lifted)
    if written:
        return written
    if not (policy.permissions or policy.prohibitions or policy.obligations):
        return []  # allow-all on purpose: nothing for the profile to check
    violations = validate(policy, kind=kind) if kind else validate(policy)
    if profile == "lenient":
        violations = [v for v in violations if v.code in LENIENT_CODES]
    return violations


# what the lenient profile still refuses: never silently accept a constraint nobody can evaluate
LENIENT_CODES = frozenset({"unknown-operand", "operator", "right-operand", "duplicate"}) | WRITTEN_CODES
