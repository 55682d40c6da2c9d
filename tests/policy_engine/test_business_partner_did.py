"""Factory-X BusinessPartnerDID: the caller's authenticated DID against one DID (eq/neq) or a list
(isAnyOf/isNoneOf); a right operand that is not a DID is refused naming the field; it needs no
credential, so the DCP scopes of a policy using it ask for none."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector.identity.auth import Participant
from connector.identity.dcp_messages import scopes_for_policy
from connector.policy import EvaluationContext, compile_policy, policy_from_compact_dsp, validate
from connector.policy.profile import FX_POLICY_NS, lookup

NOW = datetime(2026, 12, 6, tzinfo=UTC)
IRI = FX_POLICY_NS + "BusinessPartnerDID"
FX_CONTEXT = Path(__file__).resolve().parents[3] / "shared" / "reference" / "factoryx" / "contexts" / "fx-policy-v1.jsonld"


def _doc(left: str, op: str, right: object) -> dict:
    return {"@context": ["https://w3id.org/dspace/2025/1/odrl-profile.jsonld",
                         "https://w3id.org/catenax/2025/9/policy/context.jsonld"],
            "@type": "Set", "@id": "p", "permission": [{"action": "access", "constraint": [
                {"leftOperand": left, "operator": op, "rightOperand": right}]}]}


def _policy(left: str, op: str, right: object) -> object:
    return policy_from_compact_dsp(_doc(left, op, right))


def _ctx(did: str | None) -> EvaluationContext:
    return EvaluationContext(now=NOW, claims={} if did is None else {"did": did})


@pytest.mark.skipif(not FX_CONTEXT.exists(), reason="../shared/reference/factoryx is absent")
def test_the_fx_policy_context_term_is_known() -> None:
    context = json.loads(FX_CONTEXT.read_text())["@context"]
    assert lookup(context["BusinessPartnerDID"].replace("fx-policy:", context["fx-policy"])).name == "BusinessPartnerDID"


@pytest.mark.parametrize("left", [IRI, "BusinessPartnerDID", "fx-policy:BusinessPartnerDID"])
def test_full_iri_and_compact_terms_are_the_operand(left: str) -> None:
    policy = _policy(left, "isAnyOf", ["did:web:a.test", "did:web:b.test"])
    assert validate(policy) == []
    compiled = compile_policy(policy)
    assert compiled.evaluate(_ctx("did:web:b.test")).allowed
    [denial] = compiled.evaluate(_ctx("did:web:x.test")).denials
    assert denial.reason == "the caller is did:web:x.test, the policy admits did:web:a.test, did:web:b.test"
    assert denial.text.startswith("BusinessPartnerDID isAnyOf [did:web:a.test, did:web:b.test] failed: ")


def test_the_four_operators() -> None:
    for op, right, did, allowed in (("eq", "did:web:a.test", "did:web:a.test", True),
                                    ("eq", "did:web:a.test", "did:web:x.test", False),
                                    ("neq", "did:web:a.test", "did:web:x.test", True),
                                    ("neq", "did:web:a.test", "did:web:a.test", False),
                                    ("isNoneOf", ["did:web:a.test"], "did:web:x.test", True),
                                    ("isNoneOf", ["did:web:a.test"], "did:web:a.test", False)):
        policy = _policy(IRI, op, right)
        assert validate(policy) == [], op
        assert compile_policy(policy).evaluate(_ctx(did)).allowed is allowed, (op, did)
    [denial] = compile_policy(_policy(IRI, "isNoneOf", ["did:web:a.test"])).evaluate(_ctx("did:web:a.test")).denials
    assert denial.reason == "the caller is did:web:a.test, the policy excludes did:web:a.test"


def test_a_caller_without_a_did_is_denied_as_missing() -> None:
    [denial] = compile_policy(_policy(IRI, "eq", "did:web:a.test")).evaluate(_ctx(None)).denials
    assert denial.missing and denial.reason == "the caller's DID is not known, the policy admits did:web:a.test"


def test_a_right_operand_that_is_not_a_did_is_refused_naming_the_field() -> None:
    [v] = validate(_policy(IRI, "isAnyOf", ["did:web:a.test", "BPNL000000000001"]))
    assert v.path == "permission[0].constraint[0].rightOperand[1]" and v.code == "right-operand"
    assert "a DID (did:method:id" in v.expected and "BusinessPartnerDID" in v.expected
    [v] = validate(_policy(IRI, "eq", "https://a.test"))
    assert v.path == "permission[0].constraint[0].rightOperand"
    [v] = validate(_policy(IRI, "eq", ["did:web:a.test", "did:web:b.test"]))  # eq takes one DID
    assert 'one value for "eq"' in v.expected
    [v] = validate(_policy(IRI, "lt", "did:web:a.test"))
    assert v.code == "operator"


def test_the_authenticated_id_is_the_did_claim_whatever_else_is_claimed() -> None:
    caller = Participant("did:web:achsen.test", {"bpn": "BPNL00000ACHSEAG", "did": "did:web:forged.test"})
    assert caller.claims["did"] == "did:web:achsen.test" and caller.bpn == "BPNL00000ACHSEAG"


@pytest.mark.parametrize("dataspace", ["factory-x", "both", "catena-x"])
def test_no_credential_is_asked_for_it(dataspace: str) -> None:
    doc = _doc(IRI, "isAnyOf", ["did:web:a.test"])
    assert scopes_for_policy(doc, dataspace=dataspace) == scopes_for_policy(None, dataspace=dataspace)
