"""Hypothesis on the policy engine: random ODRL policies built from the vocabulary (and beside it)
are read, validated, explained and evaluated without any error but the engine's own, and the same
request always gets the same decision."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.policy import (
    EvaluationContext,
    PolicyError,
    compile_policy,
    decision_to_dict,
    evaluation_plan,
    explain_lines,
    policy_from_compact_dsp,
    policy_to_compact,
    validate,
)
from connector.policy.vocabulary import CX_LEFT_OPERAND_TERMS, LOGICAL_OPERATORS

FUZZ = settings(max_examples=300, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SCOPES = ("catalog", "contract.negotiation", "transfer.process")
OPERATORS = ("eq", "neq", "lt", "lteq", "gt", "gteq", "isA", "hasPart", "isPartOf", "isAllOf", "isAnyOf",
             "isNoneOf", "odrl:eq", "http://www.w3.org/ns/odrl/2/isAnyOf")
LEFT_OPERANDS = (*sorted(CX_LEFT_OPERAND_TERMS), "odrl:dateTime", "odrl:elapsedTime", "cx-policy:Membership",
                 "https://w3id.org/catenax/2025/9/policy/BusinessPartnerNumber")
WORDS = ("active", "BPNL000000000002", "BPNL00000000000X", "gold", "DataExchangeGovernance:1.0",
         "cx.pcf.base:1", "2026-12-06T00:00:00Z", "2020-01-01", "P30D", "PT1H", "30", "", "1.0")

scalars = st.one_of(st.sampled_from(WORDS), st.text(max_size=12), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=True), st.booleans(), st.none())
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(("@value", "@type", "@id", "x")), inner,
                                                 max_size=2)), max_leaves=6)


def _maybe(strategy: st.SearchStrategy, junk: st.SearchStrategy = json_values) -> st.SearchStrategy:
    """Mostly the vocabulary, sometimes anything at all."""
    return st.one_of(strategy, strategy, strategy, junk)


atomic = st.fixed_dictionaries({
    "leftOperand": _maybe(st.sampled_from(LEFT_OPERANDS)),
    "operator": _maybe(st.sampled_from(OPERATORS)),
    "rightOperand": st.one_of(st.sampled_from(WORDS), st.lists(st.sampled_from(WORDS), max_size=3), json_values),
})
constraints = st.recursive(atomic, lambda inner: st.builds(
    lambda op, items: {op: items}, _maybe(st.sampled_from(LOGICAL_OPERATORS), st.text(max_size=5)),
    st.one_of(st.lists(inner, max_size=3), inner)), max_leaves=5)
rules = st.fixed_dictionaries({"action": _maybe(st.sampled_from(("use", "access", "odrl:use", "cx-policy:access")))},
                              optional={"constraint": st.one_of(st.lists(constraints, max_size=3), constraints),
                                        "duty": st.lists(st.fixed_dictionaries({"action": st.just("use")}, optional={
                                            "constraint": st.lists(constraints, max_size=2)}), max_size=1)})
policies = st.fixed_dictionaries({"@type": _maybe(st.sampled_from(("Set", "Offer", "Agreement")))}, optional={
    "permission": st.one_of(st.lists(rules, max_size=3), rules, json_values),
    "prohibition": st.lists(rules, max_size=2), "obligation": st.lists(rules, max_size=2)})
claims = st.fixed_dictionaries({}, optional={
    "bpn": st.one_of(st.sampled_from(("BPNL000000000002", "BPNL000000000003")), json_values),
    "membership": st.one_of(st.booleans(), st.just("active"), json_values),
    "frameworkAgreements": st.one_of(st.just({"DataExchangeGovernance": "1.0"}), json_values),
    "credentials": st.one_of(st.just(["MembershipCredential"]), json_values)})
NOW = datetime(2026, 12, 6, 5, 0, tzinfo=UTC)


def _read(doc: dict) -> Any:
    try:
        return policy_from_compact_dsp(doc)
    except PolicyError:
        return None


@FUZZ
@given(doc=policies)
def test_reading_and_validating_any_policy_raises_only_policy_errors(doc: dict) -> None:
    policy = _read(doc)
    if policy is None:
        return
    for kind in (None, "access", "usage"):
        assert all(v.path is not None for v in validate(policy, kind=kind))
    validate(policy, extensions=False)
    json.dumps(evaluation_plan(policy), default=str)
    # what we write, we read back as the same policy
    assert policy_from_compact_dsp(policy_to_compact(policy, policy_type="Set", policy_id="p")) == policy


@FUZZ
@given(doc=policies, claims=claims, groups=st.one_of(st.none(), st.frozensets(st.sampled_from(("gold", "x")))),
       started_days_ago=st.one_of(st.none(), st.integers(0, 400)))
def test_evaluation_never_crashes_and_is_deterministic(doc: dict, claims: dict, groups: frozenset[str] | None,
                                                       started_days_ago: int | None) -> None:
    policy = _read(doc)
    if policy is None:
        return
    start = NOW - timedelta(days=started_days_ago) if started_days_ago is not None else None
    for scope in SCOPES:
        ctx = EvaluationContext(now=NOW, claims=claims, groups=groups, agreement_start=start, scope=scope)
        first = compile_policy(policy).evaluate(ctx)
        again = compile_policy(policy)
        assert again.evaluate(ctx) == first == again.evaluate(ctx)
        assert first.allowed == (not first.denials)
        explain_lines(first)
        json.dumps(decision_to_dict(first), default=str)
