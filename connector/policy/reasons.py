"""Explaining policy decisions to people and peers, and the consumer-side containment check.

* ``explain_lines(decision)``: readable lines for logs and the UI;
* ``dsp_error(decision)``: the DSP error ``code`` and ``reason[]`` for a refused message;
* ``decision_to_dict(decision)``: the structured form for the management API;
* ``violations_error`` / ``violations_to_dict``: the same for validation results;
* ``evaluation_plan(policy)``: each rule and constraint, which scopes check it and how
  (claim-backed, time-backed, or agreed-only), so staff can see what a policy enforces;
* ``is_contained(offer, acceptable)``: a consumer accepts an offer only if each of its
  terms is covered by one policy the consumer registered as acceptable (as the IRS
  accepted-policy store does); the reason names the first term that is not covered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .evaluation import Decision, Denial
from .model import AtomicConstraint, Constraint, LogicalConstraint, Policy, Rule, canonical_key
from .profile import lookup, operand_name, operator_name, plain, show
from .validation import Violation
from .vocabulary import SET_OPERATORS, compact_iri

POLICY_DENIED = "policy-denied"
POLICY_INVALID = "policy-invalid"

_BASIS = {"claim": "claim-backed", "time": "time-backed", "duration": "time-backed", "agreed": "agreed-only"}


# --- decisions --------------------------------------------------------------------------


def _denial_lines(d: Denial, indent: str) -> list[str]:
    lines = [f"{indent}{d.path}: {d.text}"]
    for i, branch in enumerate(d.branches):
        lines.append(f"{indent}  alternative {i + 1}:")
        for inner in branch:
            lines.extend(_denial_lines(inner, indent + "    "))
    return lines


def explain_lines(decision: Decision) -> list[str]:
    """The decision as text, one finding per line (indented for or-branches)."""
    if decision.allowed:
        lines = [f"allowed in scope {decision.scope}"]
    else:
        lines = [f"denied in scope {decision.scope}:"]
        for d in decision.denials:
            lines.extend(_denial_lines(d, "  "))
    if decision.unchecked:
        lines.append("not proven by the requester (agreed terms, or not checked in this scope):")
        lines.extend(f"  {u}" for u in decision.unchecked)
    return lines


def _reason(d: Denial) -> str:
    if not d.branches:
        return f"{d.path}: {d.text}"
    parts = [f"({i + 1}) " + ", ".join(_reason(x) for x in branch) for i, branch in enumerate(d.branches)]
    return f"{d.path}: {d.text}: " + "; ".join(parts)


def dsp_error(decision: Decision) -> tuple[str, list[str]]:
    """``(code, reasons)`` for a DSP error body; one self-contained reason per denial."""
    if decision.allowed:
        raise ValueError("an allowed decision is not an error")
    return POLICY_DENIED, [_reason(d) for d in decision.denials] or ["the policy denies this request"]


def denial_to_dict(d: Denial) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule": d.rule, "path": d.path, "code": d.code, "text": d.text, "reason": d.reason,
        "leftOperand": d.left_operand, "operator": d.operator, "rightOperand": d.right_operand,
        "found": d.found, "missing": d.missing,
    }
    if d.logical:
        out["logical"] = d.logical
        out["branches"] = [[denial_to_dict(x) for x in branch] for branch in d.branches]
    return out


def decision_to_dict(decision: Decision) -> dict[str, Any]:
    """The decision for the management API (JSON-ready, camelCase keys)."""
    return {
        "allowed": decision.allowed,
        "scope": decision.scope,
        "denials": [denial_to_dict(d) for d in decision.denials],
        "unchecked": list(decision.unchecked),
    }


def violations_error(violations: Sequence[Violation]) -> tuple[str, list[str]]:
    """``(code, reasons)`` for refusing an invalid policy."""
    return POLICY_INVALID, [str(v) for v in violations]


def violations_to_dict(violations: Sequence[Violation]) -> dict[str, Any]:
    return {"valid": not violations, "violations": [v.to_dict() for v in violations]}


# --- the evaluation plan ------------------------------------------------------------------


def _plan_constraint(c: Constraint, path: str) -> dict[str, Any]:
    if isinstance(c, LogicalConstraint):
        return {"path": f"{path}.{c.operator}", "logical": c.operator,
                "constraints": [_plan_constraint(m, f"{path}.{c.operator}[{i}]") for i, m in enumerate(c.constraints)]}
    spec = lookup(c.left_operand)
    return {
        "path": path,
        "leftOperand": operand_name(c.left_operand),
        "operator": operator_name(c.operator),
        "rightOperand": plain(c.right_operand),
        "check": _BASIS[spec.check] if spec else "unknown",
        "how": spec.how if spec else "not a left operand this connector knows: every evaluation denies",
        "scopes": list(spec.scopes) if spec else ["catalog", "contract.negotiation", "transfer.process"],
    }


def _atoms(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for e in entries:
        out.extend(_atoms(e["constraints"]) if "logical" in e else [e])
    return out


def _plan_rule(rule: Rule, path: str, kind: str) -> dict[str, Any]:
    entries = [_plan_constraint(c, f"{path}.constraint[{i}]") for i, c in enumerate(rule.constraints)]
    if kind == "prohibition":
        agreed = any(a["check"] == "agreed-only" for a in _atoms(entries))
        effect = ("binds the consumer; never denies a request (it has agreed-only terms)" if agreed else
                  "denies when all its constraints are proven to hold")
    else:
        effect = "its checked constraints must hold"
    out = {"rule": path, "action": compact_iri(rule.action, vocab=True), "effect": effect, "constraints": entries}
    if rule.duties:
        out["duties"] = [_plan_rule(d, f"{path}.duty[{j}]", "duty") for j, d in enumerate(rule.duties)]
    return out


def evaluation_plan(policy: Policy) -> dict[str, Any]:
    """Each rule and constraint with how it is checked and in which scopes."""
    rules = [_plan_rule(r, f"{kind}[{i}]", kind)
             for kind, group in (("permission", policy.permissions), ("prohibition", policy.prohibitions),
                                 ("obligation", policy.obligations))
             for i, r in enumerate(group)]
    atoms = _atoms([e for r in rules for e in r["constraints"] + [c for d in r.get("duties", []) for c in d["constraints"]]])
    by_scope = {s: [a["path"] for a in atoms if s in a["scopes"]]
                for s in ("catalog", "contract.negotiation", "transfer.process")}
    return {"rules": rules, "checkedIn": by_scope, "agreedOnly": [a["path"] for a in atoms if a["check"] == "agreed-only"]}


# --- consumer side: is an offer within what we accept? -------------------------------------


def _terms(policy: Policy) -> list[tuple[str, str, str, Constraint]]:
    """(rule kind, action, path, term) for every term; members of an "and" are separate terms."""
    out: list[tuple[str, str, str, Constraint]] = []

    def walk(kind: str, action: str, c: Constraint, path: str) -> None:
        if isinstance(c, LogicalConstraint) and c.operator == "and":
            for i, m in enumerate(c.constraints):
                walk(kind, action, m, f"{path}.and[{i}]")
        else:
            out.append((kind, action, path, c))

    for kind, group in (("permission", policy.permissions), ("prohibition", policy.prohibitions),
                        ("obligation", policy.obligations)):
        for i, rule in enumerate(group):
            for j, c in enumerate(rule.constraints):
                walk(kind, rule.action, c, f"{kind}[{i}].constraint[{j}]")
            for k, duty in enumerate(rule.duties):  # a duty obliges like an obligation does
                for j, c in enumerate(duty.constraints):
                    walk("obligation", duty.action, c, f"{kind}[{i}].duty[{k}].constraint[{j}]")
    return out


def _operand_key(iri: str) -> str:
    spec = lookup(iri)
    return spec.iri if spec else iri  # aliases (WarrantyDuration...) compare equal


def _covers(accepted: Constraint, offered: Constraint) -> bool:
    if isinstance(accepted, AtomicConstraint) and isinstance(offered, AtomicConstraint):
        if _operand_key(accepted.left_operand) != _operand_key(offered.left_operand) or accepted.operator != offered.operator:
            return False
        if offered.operator in SET_OPERATORS:
            # Every value the offer names must be one the consumer accepted.
            have = {repr(v) for v in plain(accepted.right_operand)} if isinstance(accepted.right_operand, tuple) else {
                repr(plain(accepted.right_operand))}
            want = plain(offered.right_operand)
            return {repr(v) for v in (want if isinstance(want, list) else [want])} <= have
        return AtomicConstraint(accepted.left_operand, accepted.operator, offered.right_operand) == accepted
    # or/xone/andSequence: only the same logical term, written in any order, is covered.
    return canonical_key(Policy((Rule("x", (accepted,)),))) == canonical_key(Policy((Rule("x", (offered,)),)))


def _describe(c: Constraint) -> str:
    if isinstance(c, LogicalConstraint):
        return f"{c.operator}(" + ", ".join(_describe(m) for m in c.constraints) + ")"
    return f"{operand_name(c.left_operand)} {operator_name(c.operator)} {show(c.right_operand)}"


def is_contained(offer: Policy, acceptable: Sequence[Policy]) -> tuple[bool, str]:
    """Whether every term of ``offer`` is covered by one of the ``acceptable`` policies.

    A term is covered by a term of the same rule kind and action with the same left
    operand and operator and, for isAnyOf/isAllOf/isNoneOf, a superset of the offer's
    values (else the same value). Terms the offer leaves out are fine: it asks less.
    """
    if not acceptable:
        return False, "no acceptable policy is registered, so no offer can be accepted"
    offered = _terms(offer)
    best: tuple[int, list[Any]] | None = None
    for index, policy in enumerate(acceptable):
        accepted = _terms(policy)
        missing = [t for t in offered
                   if not any(a[0] == t[0] and a[1] == t[1] and _covers(a[3], t[3]) for a in accepted)]
        if not missing:
            return True, f"every term of the offer is covered by acceptable policy #{index}"
        if best is None or len(missing) < len(best[1]):
            best = (index, missing)
    assert best is not None  # acceptable is not empty and every policy left terms missing
    index, missing = best
    kind, _, path, term = missing[0]
    near = [a[3] for a in _terms(acceptable[index]) if a[0] == kind and isinstance(a[3], AtomicConstraint)
            and isinstance(term, AtomicConstraint) and _operand_key(a[3].left_operand) == _operand_key(term.left_operand)]
    has = f"; it has {', '.join(_describe(n) for n in near)}" if near else ""
    more = f" ({len(missing) - 1} more uncovered)" if len(missing) > 1 else ""
    return False, (f"{path}: {_describe(term)} is not covered by any acceptable policy "
                   f"(closest: acceptable policy #{index}{has}){more}")
