"""The Factory-X policy operands (FX-6) and GaiaxLabelLevel: names against the Factory-X EDC policy
context, evaluation with explained denials."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector.policy import EvaluationContext, compile_policy, policy_from_compact_dsp, validate
from connector.policy.profile import FX_POLICY_NS, lookup

NOW = datetime(2026, 12, 6, tzinfo=UTC)
FX_CONTEXT = Path(__file__).resolve().parents[3] / "shared" / "reference" / "factoryx" / "contexts" / "fx-policy-v1.jsonld"


def _policy(left: str, op: str, right: object) -> object:
    return policy_from_compact_dsp({
        "@context": ["https://w3id.org/dspace/2025/1/odrl-profile.jsonld",
                     "https://w3id.org/catenax/2025/9/policy/context.jsonld"],
        "@type": "Set", "@id": "p", "permission": [{"action": "access", "constraint": [
            {"leftOperand": left, "operator": op, "rightOperand": right}]}]})


@pytest.mark.skipif(not FX_CONTEXT.exists(), reason="../shared/reference/factoryx is absent")
def test_the_fx_policy_context_terms_are_known() -> None:
    context = json.loads(FX_CONTEXT.read_text())["@context"]
    assert context["fx-policy"] == FX_POLICY_NS
    for term in ("Membership", "CertificationType"):
        assert lookup(context[term].replace("fx-policy:", FX_POLICY_NS)) is not None, term


def test_fx_membership_both_spellings() -> None:
    for left in (FX_POLICY_NS + "Membership", FX_POLICY_NS + "FxMembership"):
        policy = _policy(left, "eq", "active")
        assert validate(policy) == []
        compiled = compile_policy(policy)
        assert compiled.evaluate(EvaluationContext(now=NOW, claims={"credentials": ["FxMembershipCredential"]})).allowed
        assert compiled.evaluate(EvaluationContext(now=NOW, claims={"fxMembership": "active"})).allowed
        denied = compiled.evaluate(EvaluationContext(now=NOW, claims={}))
        assert denied.denials[0].reason == "the requester has no fxMembership claim and no (Fx)MembershipCredential"
    assert validate(_policy(FX_POLICY_NS + "Membership", "eq", "inactive")) != []


def test_fx_certification_type() -> None:
    compiled = compile_policy(_policy(FX_POLICY_NS + "CertificationType", "eq", "ISO9001"))
    assert compiled.evaluate(EvaluationContext(now=NOW, claims={"certificationTypes": ["ISO9001", "ISO14001"]})).allowed
    denied = compiled.evaluate(EvaluationContext(now=NOW, claims={"certificationTypes": ["ISO14001"]}))
    assert denied.denials[0].reason == "the requester's certifications [ISO14001] do not include ISO9001"
    neq = compile_policy(_policy(FX_POLICY_NS + "CertificationType", "neq", "ISO9001"))
    assert neq.evaluate(EvaluationContext(now=NOW, claims={"certificationTypes": ["ISO14001"]})).allowed


def test_gaiax_label_level_ordering() -> None:
    claims = {"gaiaxLabelLevel": "L1", "gaiaxLabelValidUntil": "2027-01-01T00:00:00Z"}
    for op, right, allowed in (("gteq", "SC", True), ("gteq", "L1", True), ("gt", "L1", False), ("eq", "L2", False),
                               ("lt", "L2", True)):
        compiled = compile_policy(_policy("https://w3id.org/pontis/v1/GaiaxLabelLevel", op, right))
        assert compiled.evaluate(EvaluationContext(now=NOW, claims=claims)).allowed is allowed, (op, right)
