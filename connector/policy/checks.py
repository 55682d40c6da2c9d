"""The checks behind each kind of constraint: (constraint, operator name) -> (test, explain).

A test answers fast (a bool); its explain says why, for a denial. Values are read once, when
the policy is compiled (connector.policy.evaluation), never per request.
"""

from __future__ import annotations

import operator as _op
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from .decision import (
    CLAIM_BPN,
    CLAIM_CREDENTIALS,
    CLAIM_FRAMEWORKS,
    CLAIM_MEMBERSHIP,
    EvaluationContext,
    Explain,
    Explanation,
    Test,
)
from .model import AtomicConstraint
from .profile import OperandSpec, lookup, parse_datetime, parse_duration, plain, show

Compare = Callable[[Any, Any], bool]
COMPARE: dict[str, Compare] = {"eq": _op.eq, "neq": _op.ne, "lt": _op.lt, "lteq": _op.le, "gt": _op.gt, "gteq": _op.ge}
_ONE_SECOND = timedelta(seconds=1)
Check = tuple[Test, Explain]


def _known(c: AtomicConstraint) -> OperandSpec:
    spec = lookup(c.left_operand)
    if spec is None:  # the compiler hands only known operands to a check
        raise ValueError(f"{c.left_operand!r} is not a left operand this connector knows")
    return spec


def _membership(c: AtomicConstraint, op: str) -> Check:
    if plain(c.right_operand) != "active":
        raise ValueError('Membership is only defined as eq "active"')

    def test(ctx: EvaluationContext) -> bool:
        m = ctx.claims.get(CLAIM_MEMBERSHIP)
        if m is True or (m.__class__ is str and m.lower() == "active"):
            return True
        return "MembershipCredential" in (ctx.claims.get(CLAIM_CREDENTIALS) or ())

    def explain(ctx: EvaluationContext) -> Explanation:
        m = ctx.claims.get(CLAIM_MEMBERSHIP)
        if test(ctx):
            return True, m if m is not None else "MembershipCredential", False, "the requester is an active member"
        if m is None:
            return False, None, True, "the requester has no membership claim and no MembershipCredential"
        return False, m, False, f"the requester's membership is {show(m)}, not active"

    return test, explain


def _framework(c: AtomicConstraint, op: str) -> Check:
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
        return credential in (ctx.claims.get(CLAIM_CREDENTIALS) or ())

    def explain(ctx: EvaluationContext) -> Explanation:
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


def _bpn(c: AtomicConstraint, op: str) -> Check:
    listed, anyof = _string_set(c), op == "isAnyOf"

    def test(ctx: EvaluationContext) -> bool:
        bpn = ctx.claims.get(CLAIM_BPN)
        return bpn is not None and (bpn in listed) is anyof

    def explain(ctx: EvaluationContext) -> Explanation:
        bpn = ctx.claims.get(CLAIM_BPN)
        if bpn is None:
            return False, None, True, "the requester has no bpn claim"
        return test(ctx), bpn, False, f"the requester's BPN {bpn} is {'' if bpn in listed else 'not '}in the list"

    return test, explain


def _groups(c: AtomicConstraint, op: str) -> Check:
    listed, anyof = _string_set(c), op == "isAnyOf"

    def test(ctx: EvaluationContext) -> bool:
        g = ctx.groups
        return g is not None and (not g.isdisjoint(listed)) is anyof

    def explain(ctx: EvaluationContext) -> Explanation:
        g = ctx.groups
        if g is None:
            return False, None, True, "the requester's business partner groups were not resolved"
        shared, found = tuple(sorted(g & listed)), sorted(g)
        where = f"in {show(shared)}" if shared else f"in none of the listed groups (its groups: {show(tuple(found))})"
        return test(ctx), found, False, f"the requester is {where}"

    return test, explain


def _time(c: AtomicConstraint, op: str) -> Check:
    spec, right = _known(c), plain(c.right_operand)
    if spec.source == "cx":
        # "eq <date>" means "until <date>": allowed while now is not after it, to the second.
        cmp: Compare = _op.lt
        at = parse_datetime(right, pattern=spec.pattern) + _ONE_SECOND
        what = f"data {'usage' if spec.name.startswith('DataUsage') else 'provisioning'} ends at {right}"
    else:
        at, cmp, what = parse_datetime(right), COMPARE[op], f"now must be {op} {right}"

    def test(ctx: EvaluationContext) -> bool:
        return cmp(ctx.now, at)

    def explain(ctx: EvaluationContext) -> Explanation:
        return test(ctx), ctx.now.isoformat(), False, f"{what}; now is {ctx.now.isoformat()}"

    return test, explain


def _duration(c: AtomicConstraint, op: str) -> Check:
    spec = _known(c)
    right = plain(c.right_operand)
    if spec.source == "cx":
        days = int(right) if not isinstance(right, bool) and float(right) == int(float(right)) else None
        if days is None:
            raise ValueError("expected a whole number of days")

        def deadline(start: datetime) -> datetime:
            day = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            return day + timedelta(days=days)

        cmp: Compare = _op.lt
        text = f"{days} days after the agreement's start day"
    else:
        length = parse_duration(right)
        deadline, cmp, text = length.after, COMPARE[op], f"the agreement's start + {right}"

    # The last (start, deadline) pair, swapped as one tuple so threads never see a mix.
    memo: list[Any] = [(None, None)]

    def test(ctx: EvaluationContext) -> bool:
        start = ctx.agreement_start
        if start is None:
            return False
        last = memo[0]
        if last[0] is not start:
            last = memo[0] = (start, deadline(start))
        return cmp(ctx.now, last[1])

    def explain(ctx: EvaluationContext) -> Explanation:
        start = ctx.agreement_start
        if start is None:
            return False, None, True, f"no agreement start is known, so {text} cannot be computed"
        return (test(ctx), ctx.now.isoformat(), False,
                f"the limit is {text} = {deadline(start).isoformat()}; now is {ctx.now.isoformat()}")

    return test, explain


CHECKS: dict[str, Callable[[AtomicConstraint, str], Check]] = {"Membership": _membership, "FrameworkAgreement": _framework, "BusinessPartnerNumber": _bpn,
              "BusinessPartnerGroup": _groups, "time": _time, "duration": _duration}

from .dataspace_operands import FACTORIES as _DATASPACE_FACTORIES  # noqa: E402  (Gaia-X, Factory-X operands)

CHECKS.update(_DATASPACE_FACTORIES)
