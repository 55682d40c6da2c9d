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

Claim keys read from ``ctx.claims`` (the verified identity, see connector.identity):
``"bpn"`` (the requester's BPNL); ``"membership"`` (True or "active"); ``"frameworkAgreements"``
({"DataExchangeGovernance": "1.0"}: agreement name -> signed contract version); and
``"credentials"`` (types held, e.g. ["MembershipCredential", "DataExchangeGovernanceCredential"]:
a type alone satisfies Membership, and FrameworkAgreement unless a version claim disagrees).
"""

from __future__ import annotations

import operator as _op
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .model import AtomicConstraint, Constraint, LogicalConstraint, Policy, Rule
from .profile import SCOPES, local_name, lookup, operator_name, parse_datetime, parse_duration, plain, show

CLAIM_BPN, CLAIM_MEMBERSHIP = "bpn", "membership"
CLAIM_FRAMEWORKS, CLAIM_CREDENTIALS = "frameworkAgreements", "credentials"

_COMPARE = {"eq": _op.eq, "neq": _op.ne, "lt": _op.lt, "lteq": _op.le, "gt": _op.gt, "gteq": _op.ge}
_ONE_SECOND = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class EvaluationContext:
    """Everything a decision may depend on. ``now`` is passed in: the engine never reads a clock."""

    now: datetime
    claims: Mapping[str, Any] = field(default_factory=dict)
    groups: frozenset[str] | None = None  # None: not resolved (group constraints then fail)
    agreement_start: datetime | None = None
    scope: str = "contract.negotiation"

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or (self.agreement_start is not None and self.agreement_start.tzinfo is None):
            raise ValueError("now and agreement_start must be timezone-aware datetimes")
        if self.scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}, got {self.scope!r}")
        if self.groups is not None and not isinstance(self.groups, frozenset):
            object.__setattr__(self, "groups", frozenset(self.groups))


@dataclass(frozen=True, slots=True)
class Denial:
    """Why one constraint (or rule) stood in the way."""

    rule: str  # "permission[0]", "prohibition[1]", "permission[0].duty[0]"
    path: str  # the constraint: "permission[0].constraint[0].and[1]"
    left_operand: str | None  # profile term, e.g. "FrameworkAgreement"; None for a whole rule
    operator: str | None
    right_operand: Any  # what the policy requires, as plain JSON
    found: Any = None  # what the requester had
    missing: bool = False  # the requester had nothing for it (claim, groups, agreement date)
    reason: str = ""
    code: str = "failed"  # failed, missing, prohibited, no-alternative, unknown-operand, invalid-operand
    logical: str | None = None  # "or"/"xone" when the branches explain it
    branches: tuple[tuple[Denial, ...], ...] = ()

    @property
    def constraint(self) -> str:
        if self.logical:
            return self.logical
        if self.left_operand is None:
            return "the rule"
        return f"{self.left_operand} {self.operator} {show(self.right_operand)}"

    @property
    def text(self) -> str:
        if self.logical:
            return f"{self.logical} failed: {self.reason}"
        if self.code == "prohibited":
            return f"{self.rule} applies: {self.constraint} holds: {self.reason}"
        return f"{self.constraint} failed: {self.reason}"


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    denials: tuple[Denial, ...]
    scope: str
    unchecked: tuple[str, ...] = ()  # constraints agreed or not checkable in this scope, as text


Explain = Callable[[EvaluationContext], tuple[bool, Any, bool, str]]  # holds, found, missing, reason


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
            holds, found, missing, reason = self.explain(ctx)  # type: ignore[misc]
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

    def __init__(self, path: str, op: str, children: list, value: Any) -> None:
        self.path, self.op, self.children, self.value = path, op, children, value

    def why_not(self, rule: str, ctx: EvaluationContext) -> list[Denial]:
        failing = [ch for ch in self.children if not _value(ch, ctx)]
        if self.op in ("and", "andSequence"):
            # In a sequence the later members are never reached, so only the first failure counts.
            failing = failing[:1] if self.op == "andSequence" else failing
            return [d for ch in failing for d in ch.why_not(rule, ctx)]
        holding = [ch.path for ch in self.children if _value(ch, ctx)]
        if holding:  # only an xone fails with holding branches
            branches: tuple = ()
            reason = f"{len(holding)} alternatives hold ({', '.join(holding)}); xone allows exactly one"
        else:
            branches = tuple(tuple(ch.why_not(rule, ctx)) for ch in self.children)
            reason = f"none of the {len(self.children)} alternatives holds"
        return [Denial(rule, self.path, None, None, None, reason=reason, code="no-alternative",
                       logical=self.op, branches=branches)]

    def why_holds(self, rule: str, ctx: EvaluationContext) -> list[Denial]:
        return [d for ch in self.children if _value(ch, ctx) for d in ch.why_holds(rule, ctx)]


def _value(node, ctx: EvaluationContext) -> bool:
    v = node.value
    return v if v.__class__ is bool else v(ctx)


# --- combining tests: a test is True/False (known at compile time) or a function of ctx -----


def _all(tests: list) -> Any:
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


def _any(tests: list) -> Any:
    if any(t is True for t in tests):
        return True
    fns = tuple(t for t in tests if t is not False)
    if not fns:
        return False
    if len(fns) == 1:
        return fns[0]
    return lambda ctx: any(f(ctx) for f in fns)


def _one(tests: list) -> Any:
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
    nodes: list
    duties: list
    value: Any


class CompiledPolicy:
    """A policy ready to evaluate; build it with ``compile_policy`` and reuse it."""

    __slots__ = ("policy", "_scopes")

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        # each scope is compiled when first asked for: a catalog needs only "catalog"
        self._scopes: dict[str, tuple] = {}

    def _compiled(self, scope: str) -> tuple:
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

    def policy(self, policy: Policy) -> tuple:
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

    def node(self, c: Constraint, path: str, unproven: bool):
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
            test, explain = _FACTORIES[spec.check if spec.check != "claim" else spec.name](c, operator_name(c.operator))
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


# --- one factory per way of checking: (constraint, operator name) -> (test, explain) ----------


def _membership(c: AtomicConstraint, op: str):
    if plain(c.right_operand) != "active":
        raise ValueError('Membership is only defined as eq "active"')

    def test(ctx: EvaluationContext) -> bool:
        m = ctx.claims.get(CLAIM_MEMBERSHIP)
        if m is True or (m.__class__ is str and m.lower() == "active"):
            return True
        creds = ctx.claims.get(CLAIM_CREDENTIALS)
        return bool(creds) and "MembershipCredential" in creds

    def explain(ctx: EvaluationContext):
        m = ctx.claims.get(CLAIM_MEMBERSHIP)
        if test(ctx):
            return True, m if m is not None else "MembershipCredential", False, "the requester is an active member"
        if m is None:
            return False, None, True, "the requester has no membership claim and no MembershipCredential"
        return False, m, False, f"the requester's membership is {show(m)}, not active"

    return test, explain


def _framework(c: AtomicConstraint, op: str):
    right = plain(c.right_operand)
    if not isinstance(right, str) or not right:
        raise ValueError("expected Name:version")
    name, _, version = right.partition(":")
    credential, folded = name[:1].upper() + name[1:] + "Credential", name.casefold()

    def version_of(claims: Mapping[str, Any]) -> Any:
        agreements = claims.get(CLAIM_FRAMEWORKS) or {}
        found = agreements.get(name)
        if found is None:  # legacy policies write "pcf:1.0" for the "Pcf" agreement
            found = next((v for k, v in agreements.items() if k.casefold() == folded), None)
        return found

    def test(ctx: EvaluationContext) -> bool:
        found = version_of(ctx.claims)
        if found is not None:
            return not version or str(found) == version
        creds = ctx.claims.get(CLAIM_CREDENTIALS)
        return bool(creds) and credential in creds

    def explain(ctx: EvaluationContext):
        found = version_of(ctx.claims)
        if test(ctx):
            return True, found if found is not None else credential, False, f"the requester holds {credential}"
        if found is None:
            return False, None, True, f"the requester has no {name} credential"
        return False, found, False, f"the requester's {name} credential has version {found}, not {version}"

    return test, explain


def _string_set(c: AtomicConstraint) -> frozenset[str]:
    values = plain(c.right_operand)
    return frozenset(values if isinstance(values, list) else [values])


def _bpn(c: AtomicConstraint, op: str):
    listed, anyof = _string_set(c), op == "isAnyOf"

    def test(ctx: EvaluationContext) -> bool:
        bpn = ctx.claims.get(CLAIM_BPN)
        return bpn is not None and (bpn in listed) is anyof

    def explain(ctx: EvaluationContext):
        bpn = ctx.claims.get(CLAIM_BPN)
        if bpn is None:
            return False, None, True, "the requester has no bpn claim"
        return test(ctx), bpn, False, f"the requester's BPN {bpn} is {'' if bpn in listed else 'not '}in the list"

    return test, explain


def _groups(c: AtomicConstraint, op: str):
    listed, anyof = _string_set(c), op == "isAnyOf"

    def test(ctx: EvaluationContext) -> bool:
        g = ctx.groups
        return g is not None and (not g.isdisjoint(listed)) is anyof

    def explain(ctx: EvaluationContext):
        g = ctx.groups
        if g is None:
            return False, None, True, "the requester's business partner groups were not resolved"
        shared, found = tuple(sorted(g & listed)), sorted(g)
        where = f"in {show(shared)}" if shared else f"in none of the listed groups (its groups: {show(tuple(found))})"
        return test(ctx), found, False, f"the requester is {where}"

    return test, explain


def _time(c: AtomicConstraint, op: str):
    spec, right = lookup(c.left_operand), plain(c.right_operand)
    if spec.source == "cx":  # type: ignore[union-attr]
        # "eq <date>" means "until <date>": allowed while now is not after it, to the second.
        at, cmp = parse_datetime(right, pattern=spec.pattern) + _ONE_SECOND, _op.lt  # type: ignore[union-attr]
        what = f"data {'usage' if spec.name.startswith('DataUsage') else 'provisioning'} ends at {right}"  # type: ignore[union-attr]
    else:
        at, cmp, what = parse_datetime(right), _COMPARE[op], f"now must be {op} {right}"

    def test(ctx: EvaluationContext) -> bool:
        return cmp(ctx.now, at)

    def explain(ctx: EvaluationContext):
        return test(ctx), ctx.now.isoformat(), False, f"{what}; now is {ctx.now.isoformat()}"

    return test, explain


def _duration(c: AtomicConstraint, op: str):
    spec = lookup(c.left_operand)
    right = plain(c.right_operand)
    if spec.source == "cx":  # type: ignore[union-attr]
        days = int(right) if not isinstance(right, bool) and float(right) == int(float(right)) else None
        if days is None:
            raise ValueError("expected a whole number of days")

        def deadline(start: datetime) -> datetime:
            day = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            return day + timedelta(days=days)

        cmp, text = _op.lt, f"{days} days after the agreement's start day"
    else:
        length = parse_duration(right)
        deadline, cmp, text = length.after, _COMPARE[op], f"the agreement's start + {right}"

    # The last (start, deadline) pair, swapped as one tuple so threads never see a mix.
    memo: list = [(None, None)]

    def test(ctx: EvaluationContext) -> bool:
        start = ctx.agreement_start
        if start is None:
            return False
        last = memo[0]
        if last[0] is not start:
            last = memo[0] = (start, deadline(start))
        return cmp(ctx.now, last[1])

    def explain(ctx: EvaluationContext):
        start = ctx.agreement_start
        if start is None:
            return False, None, True, f"no agreement start is known, so {text} cannot be computed"
        return (test(ctx), ctx.now.isoformat(), False,
                f"the limit is {text} = {deadline(start).isoformat()}; now is {ctx.now.isoformat()}")

    return test, explain


_FACTORIES = {"Membership": _membership, "FrameworkAgreement": _framework, "BusinessPartnerNumber": _bpn,
              "BusinessPartnerGroup": _groups, "time": _time, "duration": _duration}

from .dataspace_operands import FACTORIES as _DATASPACE_FACTORIES  # noqa: E402  (Gaia-X, Factory-X operands)

_FACTORIES.update(_DATASPACE_FACTORIES)
