"""validate(): every operand's accept/reject, placement, structure, messages."""

from __future__ import annotations

import pytest

from connector.policy import Violation, infer_kind, validate
from connector.policy.model import AtomicConstraint, Policy, Rule, TypedLiteral
from connector.policy.profile import SPECS, XSD_DATETIME, XSD_DURATION
from connector.policy.vocabulary import cx, odrl

from ._build import FA, MEMBER, PCF, c, doc, policy, usage_doc

# A valid (operator, right operand) per operand, and where it goes.
VALID = {
    "Membership": ("eq", "active"),
    "FrameworkAgreement": ("eq", "DataExchangeGovernance:1.0"),
    "BusinessPartnerNumber": ("isNoneOf", ["BPNL00000003AYRE", "BPNL00000003CML1"]),
    "BusinessPartnerGroup": ("isAnyOf", ["tier1-suppliers"]),
    "UsagePurpose": ("isAnyOf", ["cx.pcf.base:1", "an individually agreed purpose"]),
    "ContractReference": ("isAllOf", ["frame-contract-42"]),
    "AffiliatesRegion": ("isAnyOf", ["cx.region.europe:1", "cx.region.asia:1"]),
    "AffiliatesBpnl": ("isAnyOf", ["BPNL00000003AYRE"]),
    "ManagedLegalEntityRegion": ("isAnyOf", ["cx.region.all:1"]),
    "ManagedLegalEntityBpnl": ("isAnyOf", ["BPNL00000003CML1"]),
    "DataFrequency": ("eq", "cx.dataFrequency.once:1"),
    "VersionChanges": ("eq", "cx.versionChanges.major:1"),
    "ContractTermination": ("eq", "cx.data.deletion:1"),
    "ConfidentialInformationMeasures": ("eq", "cx.confidentiality.measures:1"),
    "ConfidentialInformationSharing": ("isAnyOf", ["cx.sharing.affiliates:1"]),
    "ExclusiveUsage": ("eq", "cx.exclusiveUsage.dataConsumer:1"),
    "Warranty": ("eq", "cx.warranty.none:1"),
    "WarrantyDefinition": ("eq", "cx.warranty.contractEndDate:1"),
    "WarrantyDurationMonths": ("eq", 12),
    "Liability": ("eq", "cx.slightNegligence:1"),
    "JurisdictionLocation": ("eq", "Stuttgart"),
    "JurisdictionLocationReference": ("eq", "cx.location.dataConsumer:1"),
    "Precedence": ("eq", "cx.precedence.rcAgreement:1"),
    "DataUsageEndDefinition": ("eq", "cx.dataUsageEnd.unlimited:1"),
    "DataUsageEndDate": ("eq", "2027-01-31T23:59:59+01:00"),
    "DataUsageEndDurationDays": ("eq", 30),
    "DataProvisioningEndDate": ("eq", "2027-01-31T23:59:59Z"),
    "DataProvisioningEndDurationDays": ("eq", 365),
    "UsageRestriction": ("isAllOf", ["cx.thirdParty.forbidden:1", "cx.derivations.forbidden:1"]),
    "dateTime": ("lteq", "2027-01-01T00:00Z"),
    "elapsedTime": ("lteq", "P30D"),
    "GaiaxLabelLevel": ("gteq", "L1"),
    "FxMembership": ("eq", "active"),
    "FxCertificationType": ("eq", "ISO9001"),
    "BusinessPartnerDID": ("isAnyOf", ["did:web:a.test", "did:web:b.test"]),
}

# Wrong right operands per operand (each must be rejected at ...rightOperand...).
INVALID_RIGHT = {
    "Membership": ["inactive", 1, "Active"],
    "FrameworkAgreement": ["Pcf:1.0", "DataExchangeGovernance:2.0"],
    "BusinessPartnerNumber": [["bpnl00000003ayre"], ["BPNS00000003AYRE"], ["BPNL1"], ["BPNL00000003AYRE", "BPNL00000003AYRE"], [1]],
    "BusinessPartnerGroup": [["g", "g"], [7]],
    "UsagePurpose": [[3]],
    "ContractReference": [["a", "a"]],
    "AffiliatesRegion": [["cx.region.europe"], ["europe"]],
    "AffiliatesBpnl": [["BPNL0000000"], ["x", "y"]],
    "ManagedLegalEntityRegion": [["cx.region.mars:1"]],
    "ManagedLegalEntityBpnl": [["BPNL00000003CML1", "BPNL00000003CML1"]],
    "DataFrequency": ["cx.dataFrequency.twice:1"],
    "VersionChanges": ["minor"],
    "ContractTermination": ["cx.data.keeping"],
    "ConfidentialInformationMeasures": ["yes"],
    "ConfidentialInformationSharing": [["cx.sharing.everyone:1"]],
    "ExclusiveUsage": ["cx.exclusiveUsage.dataProvider:1"],
    "Warranty": ["cx.warranty.full:1"],
    "WarrantyDefinition": ["cx.warranty.none:1"],
    "WarrantyDurationMonths": ["6", 2.5, True],
    "Liability": ["cx.noNegligence:1"],
    "JurisdictionLocation": [42],
    "JurisdictionLocationReference": ["cx.location.dataProvider:1"],
    "Precedence": ["cx.precedence.none:1"],
    "DataUsageEndDefinition": ["cx.dataUsageEnd.unlimited"],
    "DataUsageEndDate": ["2027-01-31", "2027-01-31T23:59Z", "2027-02-30T00:00:00Z", "2027-01-31T23:59:59"],
    "DataUsageEndDurationDays": ["30", 1.5],
    "DataProvisioningEndDate": ["tomorrow"],
    "DataProvisioningEndDurationDays": ["P30D"],
    "UsageRestriction": [["cx.thirdParty.forbidden"], ["ThirdPartyForbiddenRightOperand"]],
    "dateTime": ["2027-01-01", "2027-01-01T00:00:00", "next year", 5],
    "elapsedTime": ["30 days", "P", "-P1D", 30],
    "GaiaxLabelLevel": ["L7", "sc", 1],
    "FxMembership": ["inactive", True],
    "FxCertificationType": [5],
    "BusinessPartnerDID": [["BPNL00000003AYRE", "did:web:a.test"], ["did:web:a.test", "did:web:a.test"], [7, "did:x:y"]],
}


def _place(name: str) -> str:
    spec = next(s for s in SPECS if s.name == name)
    kind, rule = sorted(spec.places)[0]
    return "access" if kind == "access" else rule


def _doc_for(name: str, op: str, right) -> dict:
    place = _place(name)
    if place == "permission":
        return usage_doc(c(name, op, right))
    return doc(place, c(name, op, right))


def test_every_operand_has_examples():
    assert set(VALID) == set(INVALID_RIGHT) == {s.name for s in SPECS}


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_example_accepted(name):
    op, right = VALID[name]
    assert validate(policy(_doc_for(name, op, right))) == []


@pytest.mark.parametrize("name,right", [(n, r) for n, rs in sorted(INVALID_RIGHT.items()) for r in rs])
def test_wrong_right_operand_rejected(name, right):
    op, _ = VALID[name]
    found = validate(policy(_doc_for(name, op, right)))
    assert found, f"{name} {op} {right!r} was accepted"
    assert all(".rightOperand" in v.path and v.code == "right-operand" for v in found), found


@pytest.mark.parametrize("name", sorted(VALID))
def test_wrong_operator_rejected(name):
    spec = next(s for s in SPECS if s.name == name)
    op, right = VALID[name]
    wrong = next(o for o in ("neq", "isPartOf", "hasPart") if o not in spec.operators)
    found = validate(policy(_doc_for(name, wrong, right)))
    ops = [v for v in found if v.code == "operator"]
    assert len(ops) == 1 and ops[0].path.endswith(".operator")
    assert ops[0].found == f'"{wrong}" for {name}'


def test_typed_literals_for_odrl_time_operands():
    for left, value in ((odrl("dateTime"), TypedLiteral("2027-01-01T00:00:00Z", XSD_DATETIME)),
                        (odrl("elapsedTime"), TypedLiteral("P1Y2M", XSD_DURATION))):
        p = Policy(permissions=(Rule(odrl("use"), (AtomicConstraint(left, odrl("lteq"), value),
                                                   AtomicConstraint(cx("Membership"), odrl("eq"), "active"))),))
        assert validate(p) == []
    # ... but a CX end date is a plain string (its schema says "type": "string")
    p = Policy(obligations=(Rule(odrl("use"), (AtomicConstraint(
        cx("DataProvisioningEndDate"), odrl("eq"), TypedLiteral("2027-01-01T00:00:00Z", XSD_DATETIME)),)),))
    assert [v.code for v in validate(p)] == ["right-operand"]


def test_unknown_left_operand_names_constraint_and_closest():
    d = doc("access", MEMBER, c("BusinessPartnerNumbr", "isAnyOf", ["BPNL00000003AYRE"]))
    [v] = validate(policy(d))
    assert v.path == "permission[0].constraint[0].and[1].leftOperand"
    assert v.code == "unknown-operand"
    assert v.found == "unknown left operand 'BusinessPartnerNumbr' in the constraint BusinessPartnerNumbr isAnyOf [BPNL00000003AYRE]"
    assert v.expected == ("a Catena-X 2025-09 left operand (closest: BusinessPartnerNumber, BusinessPartnerGroup, "
                          "BusinessPartnerDID)")


def test_unknown_left_operand_without_close_match_lists_operands_allowed_here():
    [v] = validate(policy(doc("access", c("Colour", "eq", "blue"))))
    assert "allowed here: Membership, FrameworkAgreement, BusinessPartnerNumber, BusinessPartnerGroup, dateTime" in v.expected


def test_legacy_namespace_gets_a_hint():
    d = usage_doc(c("https://w3id.org/catenax/policy/UsagePurpose", "eq", "cx.core.industrycore:1"), FA)
    [v] = validate(policy(d))
    assert "closest: UsagePurpose" in v.expected and "https://w3id.org/catenax/2025/9/policy/" in v.expected


def test_usage_operand_in_access_policy():
    [v] = validate(policy(doc("access", MEMBER, PCF)))
    assert v == Violation(
        "permission[0].constraint[0].and[1].leftOperand",
        "UsagePurpose in an access policy permission",
        "UsagePurpose only in: usage policy permission. Allowed here: Membership, FrameworkAgreement, "
        "BusinessPartnerNumber, BusinessPartnerGroup, dateTime",
        "placement",
    )


@pytest.mark.parametrize("place,constraint", [
    ("permission", c("BusinessPartnerNumber", "isAnyOf", ["BPNL00000003AYRE"])),  # access only
    ("permission", c("UsageRestriction", "isAllOf", ["cx.thirdParty.forbidden:1"])),  # prohibition only
    ("prohibition", PCF),
    ("obligation", c("DataUsageEndDate", "eq", "2027-01-01T00:00:00Z")),
    ("access", c("elapsedTime", "lteq", "P1D")),
])
def test_operand_in_the_wrong_rule(place, constraint):
    d = usage_doc(constraint) if place == "permission" else doc(place, constraint)
    found = validate(policy(d), kind="access" if place == "access" else "usage")
    assert [v.code for v in found] == ["placement"]


def test_access_policy_structure():
    d = doc("access", MEMBER)
    d["prohibition"] = [{"action": "use", "constraint": [PCF]}]
    d["permission"][0]["action"] = "use"
    found = validate(policy(d), kind="access")
    assert [(v.path, v.code) for v in found] == [
        ("prohibition[0]", "structure"), ("permission[0].action", "structure")]
    assert found[1].found == '"use"' and found[1].expected == '"access" in this policy'


def test_usage_permission_needs_two_terms():
    [v] = validate(policy(doc("permission", FA)))
    assert (v.path, v.found, v.expected) == (
        "permission[0].constraint", "1 constraint(s)", "at least 2 constraints in this rule")
    assert validate(policy(doc("permission", {"and": [FA, PCF]}))) == []  # one "and" with two members


def test_prohibition_and_obligation_need_a_constraint():
    d = {"@id": "x", "prohibition": [{"action": "use"}], "obligation": [{"action": "use"}]}
    assert [v.path for v in validate(policy(d))] == ["prohibition[0].constraint", "obligation[0].constraint"]


def test_empty_usage_policy_rejected_but_empty_access_policy_allowed():
    assert [v.code for v in validate(Policy(), kind="usage")] == ["structure"]
    assert validate(Policy(), kind="access") == []
    assert validate(Policy()) == []  # inferred: access


def test_duplicate_constraints():
    d = doc("permission", FA, PCF, FA, wrap=False)
    [v] = validate(policy(d))
    assert (v.path, v.found, v.code) == ("permission[0].constraint[2]", "a duplicate of constraint[0]", "duplicate")


def test_logical_operators_are_extensions():
    d = doc("access", {"or": [MEMBER, c("BusinessPartnerGroup", "isAnyOf", ["g"])]})
    assert validate(policy(d)) == []
    [v] = validate(policy(d), extensions=False)
    assert (v.path, v.code) == ("permission[0].constraint[0].or", "structure")


def test_odrl_operands_rejected_in_strict_mode():
    d = doc("access", c("dateTime", "lt", "2030-01-01T00:00:00Z"))
    assert validate(policy(d)) == []
    [v] = validate(policy(d), extensions=False)
    assert v.code == "unknown-operand" and "outside the Catena-X 2025-09 profile" in v.found


def test_infer_kind():
    assert infer_kind(policy(doc("access", MEMBER))) == "access"
    assert infer_kind(policy(usage_doc(MEMBER))) == "usage"
    assert infer_kind(policy(doc("prohibition", c("UsageRestriction", "isAllOf", ["cx.thirdParty.forbidden:1"])))) == "usage"
    with pytest.raises(ValueError):
        validate(Policy(), kind="catalog")  # type: ignore[arg-type]


def test_duty_takes_obligation_terms():
    d = usage_doc(MEMBER)
    d["permission"][0]["duty"] = [{"action": "use", "constraint": [c("DataProvisioningEndDurationDays", "eq", 10)]}]
    assert validate(policy(d)) == []
    d["permission"][0]["duty"][0]["constraint"] = [PCF]
    assert [v.path for v in validate(policy(d))] == ["permission[0].duty[0].constraint[0].leftOperand"]


def test_violation_text_and_dict():
    v = Violation("permission[0].operator", '"eq" for X', '"isAnyOf"', "operator")
    assert str(v) == 'permission[0].operator: "eq" for X; expected "isAnyOf"'
    assert v.to_dict() == {"path": "permission[0].operator", "found": '"eq" for X', "expected": '"isAnyOf"', "code": "operator"}
    assert str(Violation("", "a usage policy without rules", "a rule")) == "(policy): a usage policy without rules; expected a rule"
