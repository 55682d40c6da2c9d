"""Evaluating a policy for one request: compile once, evaluate fast, explain a denial.

``compile_policy`` turns each atomic constraint into a closure (IRIs, dates and sets are
resolved once), so an allowed ``evaluate(ctx)`` is a few function calls. Only a denial walks
the policy again to build ``Denial`` records: rule, constraint, what the requester had (or
that it was missing), and why that is not enough.

Semantics (tractusx-edc's, plus plain ODRL where the profile says nothing): the policy
permits when every permission's constraints hold, no prohibition applies, and the
obligations' and duties' time limits hold. End dates hold while now is not after them (to
the second); *DurationDays while now is before (agreement start day, UTC) + N days, and
odrl:elapsedTime compares now - agreement start with its duration; these need the agreement,
so they are checked in transfer.process only. Agreed terms (UsagePurpose, ContractReference,
...) never decide, and ``Decision.unchecked`` lists them. A prohibition applies only when
all its constraints are proven, so one made of agreed terms binds the consumer but never
denies. An operand or value this connector cannot interpret denies (fail closed).

The context, decision and denial types live in ``decision``; the checks per kind of
constraint in ``checks``. Both are importable from here as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .checks import CHECKS
from .decision import (
    CLAIM_BPN,
    CLAIM_CREDENTIALS,
    CLAIM_FRAMEWORKS,
    CLAIM_MEMBERSHIP,
    Decision,
    Denial,
    EvaluationContext,
    Explain,
)
from .model import AtomicConstraint, Constraint, LogicalConstraint, Policy, Rule
from .profile import local_name, lookup, operator_name, plain, show

__all__ = ["CLAIM_BPN", "CLAIM_CREDENTIALS", "CLAIM_FRAMEWORKS", "CLAIM_MEMBERSHIP", "CompiledPolicy", "Decision",
           "Denial", "EvaluationContext", "compile_policy"]


class _Atom:
    __slots__ = ("path", "c", "name", "value", "explain", "broken")

    def __init__(self, path: str, c: AtomicConstraint, name: str, value: Any, explain: Explain | None, broken: str = "") -> None:
        self.path, self.c, self.name, self.value, self.explain, self.broken = path, c, name, value, explain, broken

    def _denial(self, rule: str, ctx: EvaluationContext, code: str) -> Denial:
        c = self.c
        if self.broken:
            holds, found, missing, reason = False, None, False, self.broken
            code = "unknown-operand" if lookup(c.left_operand) is None else "invalid-operand"
        else:
            assert self.explain is not None  # every readable atom has one
            holds, found, missing, reason = self.explain(ctx)
            if code == "failed" and missing:
                code = "missing"
        return Denial(rule, self.path, self.name, operator_name(c.operator), plain(c.right_operand),
                      found, missing, reason, code)

    def why_not(self, rule: str, ctx: EvaluationContext) -> list[Denial]:
        return [self._denial(rule, ctx, "failed")]

    def why_holds(self, rule: str, ctx: EvaluationContext) -> list[Denial]:
        return [self._denial(rule, ctx, "prohibited")]


class _Logic:
    __slots__ = ("path", "op", "children", "value")

    def __init__(self, path: str, op: str, children: list[Any], value: Any) -> None:
        self.path, self.op, self.children, self.value = path, op, children, value

    def why_not(self, rule: str, ctx: EvaluationContext) -> list[Denial]:
        failing = [ch for ch in self.children if not _value(ch, ctx)]
        if self.op in ("and", "andSequence"):
            # In a sequence the later members are never reached, so only the first failure counts.
            failing = failing[:1] if self.op == "andSequence" else failing
            return [d for ch in failing for d in ch.why_not(rule, ctx)]
        holding = [ch.path for ch in self.children if _value(ch, ctx)]
        if holding:  # only an xone fails with holding branches
            branches: tuple[Any, ...] = ()
            reason = f"{len(holding)} alternatives hold ({', '.join(holding)}); xone allows exactly one"
        else:
            branches = tuple(tuple(ch.why_not(rule, ctx)) for ch in self.children)
            reason = f"none of the {len(self.children)} alternatives holds"
        return [Denial(rule, self.path, None, None, None, reason=reason, code="no-alternative",
                       logical=self.op, branches=branches)]

    def why_holds(self, rule: str, ctx: EvaluationContext) -> list[Denial]:
        return [d for ch in self.children if _value(ch, ctx) for d in ch.why_holds(rule, ctx)]


def _value(node: _Atom | _Logic | _Rule, ctx: EvaluationContext) -> bool:
    v = node.value
    return v if v.__class__ is bool else v(ctx)


# --- combining tests: a test is True/False (known at compile time) or a function of ctx -----


def _all(tests: list[Any]) -> Any:
    if any(t is False for t in tests):
        return False
    fns = tuple(t for t in tests if t is not True)
    if not fns:
        return True
    if len(fns) == 1:
        return fns[0]

    def all_(ctx: EvaluationContext) -> bool:
        for f in fns:
            if not f(ctx):
                return False
        return True

    return all_


def _any(tests: list[Any]) -> Any:
    if any(t is True for t in tests):
        return True
    fns = tuple(t for t in tests if t is not False)
    if not fns:
        return False
    if len(fns) == 1:
        return fns[0]
    return lambda ctx: any(f(ctx) for f in fns)


def _one(tests: list[Any]) -> Any:
    fixed = sum(1 for t in tests if t is True)
    fns = tuple(t for t in tests if t.__class__ is not bool)
    if fixed > 1 or not fns:
        return fixed == 1
    return lambda ctx: fixed + sum(1 for f in fns if f(ctx)) == 1


_COMBINE = {"and": _all, "andSequence": _all, "or": _any, "xone": _one}


# --- compiling ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Rule:
    path: str
    nodes: list[Any]
    duties: list[Any]
    value: Any


# one scope compiled: (fast test, rules that must hold, prohibitions, the allowed decision, unreadable atoms)
_Scope = tuple[Any, list[_Rule], list[_Rule], Decision, tuple[tuple[str, _Atom], ...]]


class CompiledPolicy:
    """A policy ready to evaluate; build it with ``compile_policy`` and reuse it."""

    __slots__ = ("policy", "_scopes")

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        # each scope is compiled when first asked for: a catalog needs only "catalog"
        self._scopes: dict[str, _Scope] = {}

    def _compiled(self, scope: str) -> _Scope:
        compiled = self._scopes.get(scope)
        if compiled is None:
            compiled = self._scopes[scope] = _Compiler(scope).policy(self.policy)
        return compiled

    def evaluate(self, ctx: EvaluationContext) -> Decision:
        fast, must, must_not, allowed, broken = self._compiled(ctx.scope)
        if fast is True or (fast is not False and fast(ctx)):
            return allowed  # immutable, so one instance per scope serves every call
        # Fail closed: a prohibition term we cannot read denies, though it cannot "apply".
        denials: list[Denial] = [d for rule, atom in broken for d in atom.why_not(rule, ctx)]
        for rule in must:
            denials.extend(_rule_why_not(rule, ctx))
        for rule in must_not:
            if _value(rule, ctx):
                denials.extend([d for n in rule.nodes for d in n.why_holds(rule.path, ctx)] or [
                    Denial(rule.path, rule.path, None, None, None, reason="the action is prohibited without conditions",
                           code="prohibited")])
        return Decision(False, tuple(denials), ctx.scope, allowed.unchecked)


def compile_policy(policy: Policy) -> CompiledPolicy:
    """Compile ``policy`` once; evaluate the result for as many requests as needed."""
    return CompiledPolicy(policy)


def _rule_why_not(rule: _Rule, ctx: EvaluationContext) -> list[Denial]:
    out = [d for n in rule.nodes if not _value(n, ctx) for d in n.why_not(rule.path, ctx)]
    for duty in rule.duties:
        out.extend(_rule_why_not(duty, ctx))
    return out


class _Compiler:
    """Builds the nodes for one scope. ``unproven`` is the value a term that cannot be
    proven (agreed, or out of scope) takes: True where constraints must hold, False in a
    prohibition, which applies only when everything in it is proven."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        self.unchecked: list[str] = []
        self.broken: list[tuple[str, _Atom]] = []  # unreadable atoms inside prohibitions
        self.rule_path = ""

    def policy(self, policy: Policy) -> _Scope:
        must = [self.rule(r, f"permission[{i}]", True) for i, r in enumerate(policy.permissions)]
        must += [self.rule(r, f"obligation[{i}]", True) for i, r in enumerate(policy.obligations)]
        must_not = [self.rule(r, f"prohibition[{i}]", False) for i, r in enumerate(policy.prohibitions)]
        tests = [r.value for r in must] + [_negate(r.value) for r in must_not]
        fast = False if self.broken else _all(tests)
        allowed = Decision(True, (), self.scope, tuple(self.unchecked))
        return fast, must, must_not, allowed, tuple(self.broken)

    def rule(self, rule: Rule, path: str, unproven: bool) -> _Rule:
        self.rule_path = path
        nodes = [self.node(c, f"{path}.constraint[{i}]", unproven) for i, c in enumerate(rule.constraints)]
        duties = [self.rule(d, f"{path}.duty[{j}]", True) for j, d in enumerate(rule.duties)]
        return _Rule(path, nodes, duties, _all([n.value for n in nodes] + [d.value for d in duties]))

    def node(self, c: Constraint, path: str, unproven: bool) -> _Atom | _Logic:
        if isinstance(c, LogicalConstraint):
            children = [self.node(m, f"{path}.{c.operator}[{i}]", unproven) for i, m in enumerate(c.constraints)]
            return _Logic(f"{path}.{c.operator}", c.operator, children, _COMBINE[c.operator]([ch.value for ch in children]))
        return self.atom(c, path, unproven)

    def atom(self, c: AtomicConstraint, path: str, unproven: bool) -> _Atom:
        spec = lookup(c.left_operand)
        name = spec.name if spec else local_name(c.left_operand)
        text = f"{path}: {name} {operator_name(c.operator)} {show(c.right_operand)}"
        if spec is None:
            return self.bad(_Atom(path, c, name, False, None, f"{c.left_operand!r} is not a left operand this connector knows"), unproven)
        if spec.check == "agreed" or (spec.check == "duration" and self.scope != "transfer.process"):
            why = ("agreed by accepting the offer, not proven" if spec.check == "agreed" else
                   f"not checked in {self.scope}: it needs the agreement's start (checked at transfer.process)")
            self.unchecked.append(f"{text} ({why})")
            return _Atom(path, c, name, unproven, lambda ctx: (unproven, None, False, why))
        if c.operator not in spec.operator_iris:
            return self.bad(_Atom(path, c, name, False, None, f"operator {operator_name(c.operator)} is not defined "
                                  f"for {name} (allowed: {', '.join(spec.operators)})"), unproven)
        try:
            test, explain = CHECKS[spec.check if spec.check != "claim" else spec.name](c, operator_name(c.operator))
        except (ValueError, TypeError) as exc:
            reason = f"the policy's right operand {show(c.right_operand)} is not usable: {exc}"
            return self.bad(_Atom(path, c, name, False, None, reason), unproven)
        return _Atom(path, c, name, test, explain)

    def bad(self, atom: _Atom, unproven: bool) -> _Atom:
        if not unproven:  # in a prohibition a False atom would just make it not apply
            self.broken.append((self.rule_path, atom))
        return atom


def _negate(value: Any) -> Any:
    return (not value) if value.__class__ is bool else (lambda ctx: not value(ctx))
