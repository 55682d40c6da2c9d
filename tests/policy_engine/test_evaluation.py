"""compile_policy / evaluate: allow and deny, with the exact denial content."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connector.identity.auth import Participant
from connector.policy import Denial, EvaluationContext, compile_policy
from connector.policy.model import AtomicConstraint, Policy, Rule
from connector.policy.vocabulary import cx, odrl

from ._build import FA, MEMBER, PCF, c, doc, policy, usage_doc

UTC = UTC
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BPN = "BPNL00000003AYRE"
OTHER = "BPNL00000003CML1"
GOOD = {"bpn": BPN, "membership": True, "frameworkAgreements": {"DataExchangeGovernance": "1.0"}}


def ctx(claims=None, **kw) -> EvaluationContext:
    kw.setdefault("now", NOW)
    return EvaluationContext(claims=GOOD if claims is None else claims, **kw)


def decide(d: dict, **kw):
    return compile_policy(policy(d)).evaluate(ctx(**kw))


def test_allowed_with_good_claims():
    dec = decide(usage_doc(FA, MEMBER, PCF))
    assert dec.allowed and dec.denials == () and dec.scope == "contract.negotiation"
    assert dec.unchecked == ("permission[0].constraint[0].and[2]: UsagePurpose isAnyOf [cx.pcf.base:1] "
                             "(agreed by accepting the offer, not proven)",)


def test_framework_agreement_missing():
    dec = decide(usage_doc(FA, PCF), claims={"bpn": BPN})
    assert not dec.allowed
    assert dec.denials == (Denial(
        rule="permission[0]", path="permission[0].constraint[0].and[0]", left_operand="FrameworkAgreement",
        operator="eq", right_operand="DataExchangeGovernance:1.0", found=None, missing=True,
        reason="the requester has no DataExchangeGovernance credential", code="missing"),)
    assert dec.denials[0].text == ("FrameworkAgreement eq DataExchangeGovernance:1.0 failed: "
                                   "the requester has no DataExchangeGovernance credential")


def test_framework_agreement_wrong_version_and_credentials():
    d = usage_doc(FA, PCF)
    [den] = decide(d, claims={"frameworkAgreements": {"DataExchangeGovernance": "0.9"}}).denials
    assert (den.found, den.missing, den.reason) == ("0.9", False, "the requester's DataExchangeGovernance credential has version 0.9, not 1.0")
    assert decide(d, claims={"credentials": ["DataExchangeGovernanceCredential"]}).allowed
    # A version claim is more specific than the bare credential type.
    assert not decide(d, claims={"credentials": ["DataExchangeGovernanceCredential"],
                                 "frameworkAgreements": {"DataExchangeGovernance": "0.9"}}).allowed
    assert decide(d, claims={"frameworkAgreements": {"dataexchangegovernance": "1.0"}}).allowed


@pytest.mark.parametrize("claims,allowed,found,reason", [
    ({"membership": True}, True, None, None),
    ({"membership": "Active"}, True, None, None),
    ({"credentials": ["MembershipCredential"]}, True, None, None),
    ({"membership": "inactive"}, False, "inactive", "the requester's membership is inactive, not active"),
    ({"membership": False}, False, False, "the requester's membership is false, not active"),
    ({}, False, None, "the requester has no membership claim and no MembershipCredential"),
])
def test_membership(claims, allowed, found, reason):
    dec = decide(doc("access", MEMBER), claims=claims)
    assert dec.allowed is allowed
    if not allowed:
        [den] = dec.denials
        assert (den.found, den.reason, den.missing) == (found, reason, found is None)


def test_bpn_any_and_none_of():
    anyof = doc("access", c("BusinessPartnerNumber", "isAnyOf", [BPN]))
    noneof = doc("access", c("BusinessPartnerNumber", "isNoneOf", [BPN]))
    assert decide(anyof).allowed and not decide(noneof).allowed
    [den] = decide(anyof, claims={"bpn": OTHER}).denials
    assert (den.found, den.reason, den.right_operand) == (OTHER, f"the requester's BPN {OTHER} is not in the list", [BPN])
    [den] = decide(noneof).denials
    assert den.reason == f"the requester's BPN {BPN} is in the list"
    for d in (anyof, noneof):  # no bpn claim: neither can be shown
        [den] = decide(d, claims={}).denials
        assert (den.missing, den.code, den.reason) == (True, "missing", "the requester has no bpn claim")


def test_business_partner_groups():
    anyof = doc("access", c("BusinessPartnerGroup", "isAnyOf", ["gold", "silver"]))
    noneof = doc("access", c("BusinessPartnerGroup", "isNoneOf", ["blocked"]))
    assert decide(anyof, groups={"silver", "x"}).allowed
    [den] = decide(anyof, groups={"bronze"}).denials
    assert (den.found, den.reason) == (["bronze"], "the requester is in none of the listed groups (its groups: [bronze])")
    assert decide(noneof, groups=set()).allowed
    [den] = decide(noneof, groups={"blocked"}).denials
    assert den.reason == "the requester is in [blocked]"
    [den] = decide(noneof).denials  # groups not resolved: fail closed
    assert (den.missing, den.reason) == (True, "the requester's business partner groups were not resolved")


def test_end_date_time_is_an_argument():
    d = usage_doc(MEMBER, c("DataUsageEndDate", "eq", "2026-03-01T12:00:00Z"))
    assert decide(d, now=NOW + timedelta(milliseconds=999)).allowed  # same second
    dec = decide(d, now=NOW + timedelta(seconds=1))
    [den] = dec.denials
    assert den.reason == "data usage ends at 2026-03-01T12:00:00Z; now is 2026-03-01T12:00:01+00:00"
    assert den.found == "2026-03-01T12:00:01+00:00" and den.code == "failed"


def test_provisioning_end_date_in_obligation():
    d = usage_doc(FA, MEMBER)
    d["obligation"] = [{"action": "use", "constraint": [c("DataProvisioningEndDate", "eq", "2026-01-01T00:00:00+01:00")]}]
    [den] = decide(d).denials
    assert den.rule == "obligation[0]" and den.path == "obligation[0].constraint[0]"
    assert den.reason.startswith("data provisioning ends at 2026-01-01T00:00:00+01:00")
    # 00:00 at +01:00 is 23:00 UTC; the end second itself is still inside.
    assert decide(d, now=datetime(2025, 12, 31, 23, 0, 0, 999999, tzinfo=UTC)).allowed
    assert not decide(d, now=datetime(2025, 12, 31, 23, 0, 1, tzinfo=UTC)).allowed


def test_duration_days_counted_from_agreement_day():
    d = usage_doc(MEMBER, c("DataUsageEndDurationDays", "eq", 30))
    start = datetime(2026, 1, 10, 18, 30, tzinfo=UTC)  # counts from 2026-01-10T00:00Z
    t = "transfer.process"
    assert decide(d, scope=t, agreement_start=start, now=datetime(2026, 2, 8, 23, 59, tzinfo=UTC)).allowed
    [den] = decide(d, scope=t, agreement_start=start, now=datetime(2026, 2, 9, tzinfo=UTC)).denials
    assert den.reason == ("the limit is 30 days after the agreement's start day = 2026-02-09T00:00:00+00:00; "
                          "now is 2026-02-09T00:00:00+00:00")
    [den] = decide(d, scope=t).denials
    assert (den.missing, den.code) == (True, "missing")
    assert den.reason == "no agreement start is known, so 30 days after the agreement's start day cannot be computed"
    # Before the agreement exists, the limit is noted, not checked.
    dec = decide(d, scope="contract.negotiation")
    assert dec.allowed and any("not checked in contract.negotiation" in u for u in dec.unchecked)


def test_provisioning_duration_and_elapsed_time():
    d = usage_doc(MEMBER, FA)
    d["permission"][0]["duty"] = [{"action": "use", "constraint": [c("DataProvisioningEndDurationDays", "eq", 1)]}]
    d["permission"][0]["constraint"].append(c("elapsedTime", "lteq", "P1M"))
    start = datetime(2026, 1, 31, tzinfo=UTC)
    assert decide(d, scope="transfer.process", agreement_start=start, now=start + timedelta(hours=23)).allowed
    dec = decide(d, scope="transfer.process", agreement_start=start, now=datetime(2026, 2, 28, tzinfo=UTC))
    [den] = dec.denials  # P1M from Jan 31 is Feb 28 (clamped): elapsedTime still holds at 00:00
    assert den.rule == "permission[0].duty[0]" and den.left_operand == "DataProvisioningEndDurationDays"
    dec = decide(d, scope="transfer.process", agreement_start=start, now=datetime(2026, 3, 1, tzinfo=UTC))
    assert [x.left_operand for x in dec.denials] == ["elapsedTime", "DataProvisioningEndDurationDays"]


def test_odrl_datetime_operators():
    for op, expected in (("lt", False), ("lteq", True), ("eq", True), ("gteq", True), ("gt", False), ("neq", False)):
        d = doc("access", c("dateTime", op, "2026-03-01T13:00+01:00"))
        assert decide(d).allowed is expected, op
    [den] = decide(doc("access", c("dateTime", "gt", "2026-03-01T12:00:00Z"))).denials
    assert den.reason == "now must be gt 2026-03-01T12:00:00Z; now is 2026-03-01T12:00:00+00:00"


def test_or_reports_every_branch():
    d = doc("access", MEMBER, {"or": [c("BusinessPartnerNumber", "isAnyOf", [OTHER]),
                                      c("BusinessPartnerGroup", "isAnyOf", ["gold"])]})
    dec = decide(d, groups={"tin"})
    [den] = dec.denials
    assert (den.path, den.logical, den.code, den.reason) == (
        "permission[0].constraint[0].and[1].or", "or", "no-alternative", "none of the 2 alternatives holds")
    assert [[b.left_operand for b in branch] for branch in den.branches] == [["BusinessPartnerNumber"], ["BusinessPartnerGroup"]]
    assert den.branches[0][0].path == "permission[0].constraint[0].and[1].or[0]"
    assert den.branches[1][0].reason == "the requester is in none of the listed groups (its groups: [tin])"
    assert decide(d, groups={"gold"}).allowed


def test_xone_and_and_sequence():
    x = doc("access", {"xone": [MEMBER, c("BusinessPartnerNumber", "isAnyOf", [BPN])]})
    assert decide(x, claims={"bpn": BPN}).allowed
    [den] = decide(x).denials  # both hold
    assert den.logical == "xone" and den.branches == ()
    assert den.reason == ("2 alternatives hold (permission[0].constraint[0].xone[0], permission[0].constraint[0].xone[1]); "
                          "xone allows exactly one")
    seq = doc("access", {"andSequence": [MEMBER, c("BusinessPartnerNumber", "isAnyOf", [OTHER])]})
    assert [d.left_operand for d in decide(seq, claims={}).denials] == ["Membership"]  # stops at the first


def test_prohibition_applies_only_when_proven():
    d = doc("access", MEMBER)
    d["prohibition"] = [{"action": "use", "constraint": [c("BusinessPartnerNumber", "isAnyOf", [BPN])]}]
    [den] = decide(d).denials
    assert (den.rule, den.code, den.found) == ("prohibition[0]", "prohibited", BPN)
    assert den.text == f"prohibition[0] applies: BusinessPartnerNumber isAnyOf [{BPN}] holds: the requester's BPN {BPN} is in the list"
    assert decide(d, claims={**GOOD, "bpn": OTHER}).allowed
    # A prohibition made of agreed terms binds the consumer but never denies.
    d["prohibition"] = [{"action": "use", "constraint": [c("UsageRestriction", "isAllOf", ["cx.thirdParty.forbidden:1"]),
                                                        c("BusinessPartnerNumber", "isAnyOf", [BPN])]}]
    assert decide(d).allowed


def test_unconditional_prohibition_denies():
    p = Policy(prohibitions=(Rule(odrl("use")),))
    [den] = compile_policy(p).evaluate(ctx()).denials
    assert (den.rule, den.left_operand, den.reason) == ("prohibition[0]", None, "the action is prohibited without conditions")


def test_every_permission_must_hold():
    d = doc("access", MEMBER)
    d["permission"].append({"action": "access", "constraint": [c("BusinessPartnerNumber", "isAnyOf", [OTHER])]})
    [den] = decide(d).denials
    assert den.rule == "permission[1]"
    assert compile_policy(Policy()).evaluate(ctx()).allowed  # no rules: nothing forbids


def test_unknown_or_unusable_constraints_fail_closed():
    p = Policy(permissions=(Rule(odrl("use"), (
        AtomicConstraint("https://example.com/Colour", odrl("eq"), "blue"),
        AtomicConstraint(cx("DataUsageEndDate"), odrl("eq"), "soon"),
        AtomicConstraint(cx("Membership"), odrl("neq"), "active"),
    )),), prohibitions=(Rule(odrl("use"), (AtomicConstraint("urn:x:Unknown", odrl("eq"), 1),)),))
    dec = compile_policy(p).evaluate(ctx())
    assert [(d.code, d.rule) for d in dec.denials] == [
        ("unknown-operand", "prohibition[0]"), ("unknown-operand", "permission[0]"),
        ("invalid-operand", "permission[0]"), ("invalid-operand", "permission[0]")]
    assert dec.denials[1].reason == "'https://example.com/Colour' is not a left operand this connector knows"
    assert dec.denials[3].reason == "operator neq is not defined for Membership (allowed: eq)"


def test_scope_and_context_checks():
    with pytest.raises(ValueError):
        ctx(scope="request")
    with pytest.raises(ValueError):
        EvaluationContext(now=datetime(2026, 1, 1))  # naive: "now" must say its zone
    assert ctx(groups=["a", "a"]).groups == frozenset({"a"})


def test_claims_from_a_verified_participant():
    who = Participant("did:web:consumer", {"bpn": BPN, "membership": "active"})
    d = doc("access", MEMBER, c("BusinessPartnerNumber", "isAnyOf", [BPN]))
    assert compile_policy(policy(d)).evaluate(EvaluationContext(now=NOW, claims=who.claims, scope="catalog")).allowed


def test_compiled_policy_is_reusable_and_independent_of_calls():
    compiled = compile_policy(policy(doc("access", c("BusinessPartnerNumber", "isAnyOf", [BPN]))))
    results = [compiled.evaluate(ctx(claims={"bpn": b})).allowed for b in (BPN, OTHER, BPN)]
    assert results == [True, False, True]
