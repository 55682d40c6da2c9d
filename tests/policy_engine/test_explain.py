"""Explanations: text lines, DSP error, management dicts, and the evaluation plan."""

from __future__ import annotations

import json

import pytest

from connector.policy import (
    Violation,
    compile_policy,
    decision_to_dict,
    dsp_error,
    evaluation_plan,
    explain_lines,
    validate,
    violations_error,
    violations_to_dict,
)

from ._build import FA, MEMBER, PCF, c, doc, policy, usage_doc
from .test_evaluation import BPN, OTHER, ctx

OR_POLICY = doc("access", MEMBER, {"or": [c("BusinessPartnerNumber", "isAnyOf", [OTHER]),
                                          c("BusinessPartnerGroup", "isAnyOf", ["gold"])]})


def denied():
    return compile_policy(policy(OR_POLICY)).evaluate(ctx(claims={"bpn": BPN}, groups={"tin"}, scope="catalog"))


def test_lines_for_a_denial_with_or_branches():
    assert explain_lines(denied()) == [
        "denied in scope catalog:",
        "  permission[0].constraint[0].and[0]: Membership eq active failed: "
        "the requester has no membership claim and no MembershipCredential",
        "  permission[0].constraint[0].and[1].or: or failed: none of the 2 alternatives holds",
        "    alternative 1:",
        "      permission[0].constraint[0].and[1].or[0]: BusinessPartnerNumber isAnyOf [BPNL00000003CML1] failed: "
        "the requester's BPN BPNL00000003AYRE is not in the list",
        "    alternative 2:",
        "      permission[0].constraint[0].and[1].or[1]: BusinessPartnerGroup isAnyOf [gold] failed: "
        "the requester is in none of the listed groups (its groups: [tin])",
    ]


def test_lines_for_an_allowed_decision_name_what_was_not_proven():
    dec = compile_policy(policy(usage_doc(FA, PCF))).evaluate(ctx())
    assert explain_lines(dec) == [
        "allowed in scope contract.negotiation",
        "not proven by the requester (agreed terms, or not checked in this scope):",
        "  permission[0].constraint[0].and[1]: UsagePurpose isAnyOf [cx.pcf.base:1] (agreed by accepting the offer, not proven)",
    ]


def test_dsp_error_has_one_self_contained_reason_per_denial():
    code, reasons = dsp_error(denied())
    assert code == "policy-denied"
    assert reasons == [
        "permission[0].constraint[0].and[0]: Membership eq active failed: "
        "the requester has no membership claim and no MembershipCredential",
        "permission[0].constraint[0].and[1].or: or failed: none of the 2 alternatives holds: "
        "(1) permission[0].constraint[0].and[1].or[0]: BusinessPartnerNumber isAnyOf [BPNL00000003CML1] failed: "
        "the requester's BPN BPNL00000003AYRE is not in the list; "
        "(2) permission[0].constraint[0].and[1].or[1]: BusinessPartnerGroup isAnyOf [gold] failed: "
        "the requester is in none of the listed groups (its groups: [tin])",
    ]
    allowed = compile_policy(policy(doc("access", MEMBER))).evaluate(ctx())
    with pytest.raises(ValueError):
        dsp_error(allowed)


def test_decision_dict_is_json_and_structured():
    out = decision_to_dict(denied())
    json.dumps(out)  # JSON-ready
    assert (out["allowed"], out["scope"], out["unchecked"]) == (False, "catalog", [])
    first, second = out["denials"]
    assert first == {
        "rule": "permission[0]", "path": "permission[0].constraint[0].and[0]", "code": "missing",
        "text": "Membership eq active failed: the requester has no membership claim and no MembershipCredential",
        "reason": "the requester has no membership claim and no MembershipCredential",
        "leftOperand": "Membership", "operator": "eq", "rightOperand": "active", "found": None, "missing": True,
    }
    assert second["logical"] == "or" and [b[0]["found"] for b in second["branches"]] == [BPN, ["tin"]]


def test_violations_as_error_and_dict():
    found = validate(policy(doc("access", PCF)))
    code, reasons = violations_error(found)
    assert code == "policy-invalid"
    assert reasons == ["permission[0].constraint[0].leftOperand: UsagePurpose in an access policy permission; expected "
                       "UsagePurpose only in: usage policy permission. Allowed here: Membership, FrameworkAgreement, "
                       "BusinessPartnerNumber, BusinessPartnerGroup, dateTime"]
    assert violations_to_dict([]) == {"valid": True, "violations": []}
    assert violations_to_dict([Violation("p", "f", "e", "structure")]) == {
        "valid": False, "violations": [{"path": "p", "found": "f", "expected": "e", "code": "structure"}]}


def test_evaluation_plan():
    d = usage_doc(FA, PCF, c("DataUsageEndDurationDays", "eq", 30), c("DataUsageEndDate", "eq", "2030-01-01T00:00:00Z"))
    d["prohibition"] = [{"action": "use", "constraint": [c("UsageRestriction", "isAllOf", ["cx.thirdParty.forbidden:1"])]}]
    plan = evaluation_plan(policy(d))
    perm, proh = plan["rules"]
    assert (perm["rule"], perm["action"], perm["effect"]) == ("permission[0]", "use", "its checked constraints must hold")
    group = perm["constraints"][0]
    assert group["logical"] == "and" and group["path"] == "permission[0].constraint[0].and"
    fa, purpose, days, end = group["constraints"]
    assert fa == {
        "path": "permission[0].constraint[0].and[0]", "leftOperand": "FrameworkAgreement", "operator": "eq",
        "rightOperand": "DataExchangeGovernance:1.0", "check": "claim-backed",
        "how": "claim 'frameworkAgreements'[name] equals the version, or credentials include <Name>Credential",
        "scopes": ["catalog", "contract.negotiation", "transfer.process"],
    }
    assert (purpose["check"], purpose["scopes"]) == ("agreed-only", [])
    assert (days["check"], days["scopes"]) == ("time-backed", ["transfer.process"])
    assert (end["check"], end["scopes"]) == ("time-backed", ["catalog", "contract.negotiation", "transfer.process"])
    assert proh["effect"] == "binds the consumer; never denies a request (it has agreed-only terms)"
    assert plan["checkedIn"]["catalog"] == ["permission[0].constraint[0].and[0]", "permission[0].constraint[0].and[3]"]
    assert plan["checkedIn"]["transfer.process"][-2:] == ["permission[0].constraint[0].and[2]", "permission[0].constraint[0].and[3]"]
    assert plan["agreedOnly"] == ["permission[0].constraint[0].and[1]", "prohibition[0].constraint[0]"]


def test_plan_marks_unknown_operands_and_duties():
    d = usage_doc(MEMBER, c("Colour", "eq", "blue"))
    d["permission"][0]["duty"] = [{"action": "use", "constraint": [c("DataProvisioningEndDurationDays", "eq", 5)]}]
    plan = evaluation_plan(policy(d))
    colour = plan["rules"][0]["constraints"][0]["constraints"][1]
    assert colour["check"] == "unknown" and "every evaluation denies" in colour["how"]
    assert plan["rules"][0]["duties"][0]["constraints"][0]["scopes"] == ["transfer.process"]
    assert "permission[0].duty[0].constraint[0]" in plan["checkedIn"]["transfer.process"]
