"""The ready policy templates in policies/: valid for our validator and for the profile's schemas."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from connector.policy import EvaluationContext, compile_policy, infer_kind, policy_from_compact_dsp, validate

from ._refs import (
    ATOMIC_SCHEMA,
    CONTEXT_SCHEMA,
    POLICY_SCHEMA,
    TEMPLATES,
    requires_shared,
    schema_accepts,
    schema_errors,
)

NAMES = sorted(p.name for p in TEMPLATES.glob("*.json"))
KINDS = {"bpn-restricted-access.json": "access", "member-access.json": "access", "fx-member-access.json": "access"}
# Factory-X templates use the Factory-X operands (profile.SPECS source "factory-x"), outside the CX schemas
CX_NAMES = [n for n in NAMES if not n.startswith("fx-")]


def _atoms(node):
    if isinstance(node, dict):
        if "leftOperand" in node:
            yield node
        for v in node.values():
            yield from _atoms(v)
    elif isinstance(node, list):
        for v in node:
            yield from _atoms(v)


def test_templates_exist_and_are_documented():
    assert NAMES == ["bpn-restricted-access.json", "fx-member-access.json", "industry-core-usage.json",
                     "member-access.json", "pcf-exchange-usage.json", "time-limited-usage.json"]
    readme = (TEMPLATES / "README.md").read_text(encoding="utf-8")
    assert all(name in readme for name in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_template_is_valid_under_our_validator(name):
    doc = json.loads((TEMPLATES / name).read_text(encoding="utf-8"))
    policy = policy_from_compact_dsp(doc)
    kind = KINDS.get(name, "usage")
    assert infer_kind(policy) == kind
    assert validate(policy, kind=kind, extensions=name.startswith("fx-")) == []


@requires_shared
@pytest.mark.parametrize("name", CX_NAMES)
def test_template_is_valid_under_the_profile_schemas(name):
    doc = json.loads((TEMPLATES / name).read_text(encoding="utf-8"))
    kind = KINDS.get(name, "usage")
    assert schema_errors(doc, POLICY_SCHEMA, intended=False) == []  # exactly as published
    assert schema_accepts(doc, kind)  # with the intended per-kind rules
    assert schema_errors(doc["@context"], CONTEXT_SCHEMA) == []
    for atom in _atoms(doc):
        assert schema_errors(atom, ATOMIC_SCHEMA, intended=False) == [], atom


def test_pcf_template_evaluates_like_cx_0136_expects():
    policy = policy_from_compact_dsp(json.loads((TEMPLATES / "pcf-exchange-usage.json").read_text(encoding="utf-8")))
    compiled = compile_policy(policy)
    now = datetime(2026, 5, 1, tzinfo=UTC)
    member = {"membership": "active", "frameworkAgreements": {"DataExchangeGovernance": "1.0"}}
    assert compiled.evaluate(EvaluationContext(now=now, claims=member)).allowed
    denied = compiled.evaluate(EvaluationContext(now=now, claims={"membership": "active"}))
    assert [d.left_operand for d in denied.denials] == ["FrameworkAgreement"]


def test_time_limited_template_expires():
    policy = policy_from_compact_dsp(json.loads((TEMPLATES / "time-limited-usage.json").read_text(encoding="utf-8")))
    claims = {"membership": True, "credentials": ["DataExchangeGovernanceCredential"]}
    compiled = compile_policy(policy)
    before = EvaluationContext(now=datetime(2027, 12, 31, 23, 59, 59, tzinfo=UTC), claims=claims)
    after = EvaluationContext(now=datetime(2028, 1, 1, tzinfo=UTC), claims=claims)
    assert compiled.evaluate(before).allowed
    assert [d.left_operand for d in compiled.evaluate(after).denials] == ["DataUsageEndDate", "DataProvisioningEndDate"]


def test_the_factory_x_member_template_admits_factory_x_members_only():
    policy = policy_from_compact_dsp(json.loads((TEMPLATES / "fx-member-access.json").read_text(encoding="utf-8")))
    compiled = compile_policy(policy)
    now = datetime(2026, 12, 6, tzinfo=UTC)
    assert compiled.evaluate(EvaluationContext(now=now, claims={"credentials": ["FxMembershipCredential"]})).allowed
    denied = compiled.evaluate(EvaluationContext(now=now, claims={"membership": True}))  # a Catena-X member
    assert [d.left_operand for d in denied.denials] == ["FxMembership"]
