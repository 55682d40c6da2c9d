"""is_contained: the consumer's check that an offer stays within an acceptable policy."""

from __future__ import annotations

from connector.policy import is_contained
from connector.policy.model import AtomicConstraint, Policy, Rule
from connector.policy.vocabulary import cx, odrl

from ._build import FA, MEMBER, PCF, c, doc, policy, usage_doc

ACCEPT_PCF = policy(usage_doc(FA, MEMBER, c("UsagePurpose", "isAnyOf", ["cx.pcf.base:1", "cx.quality.base:1"])))
ACCEPT_IC = policy(usage_doc(FA, c("UsagePurpose", "isAnyOf", ["cx.core.industrycore:1"])))


def test_offer_with_a_subset_of_terms_and_values_is_contained():
    ok, reason = is_contained(policy(usage_doc(FA, PCF)), [ACCEPT_IC, ACCEPT_PCF])
    assert ok and reason == "every term of the offer is covered by acceptable policy #1"


def test_uncovered_value_names_the_constraint_and_the_closest_policy():
    offer = policy(usage_doc(FA, c("UsagePurpose", "isAnyOf", ["cx.pcf.base:1", "cx.dcm.base:1"])))
    ok, reason = is_contained(offer, [ACCEPT_IC, ACCEPT_PCF])
    assert not ok
    assert reason == ("permission[0].constraint[0].and[1]: UsagePurpose isAnyOf [cx.pcf.base:1, cx.dcm.base:1] is not "
                      "covered by any acceptable policy (closest: acceptable policy #0; it has UsagePurpose isAnyOf "
                      "[cx.core.industrycore:1])")


def test_extra_term_in_the_offer_is_not_covered():
    offer = policy(usage_doc(FA, PCF, c("ContractReference", "isAllOf", ["contract-7"])))
    ok, reason = is_contained(offer, [ACCEPT_PCF])
    assert not ok and reason.startswith("permission[0].constraint[0].and[2]: ContractReference isAllOf [contract-7] is not covered")


def test_rule_kind_matters():
    restriction = c("UsageRestriction", "isAllOf", ["cx.thirdParty.forbidden:1"])
    offer = usage_doc(FA, PCF)
    offer["prohibition"] = [{"action": "use", "constraint": [restriction]}]
    accepting = usage_doc(FA, PCF)
    assert not is_contained(policy(offer), [policy(accepting)])[0]
    accepting["prohibition"] = [{"action": "use", "constraint": [restriction]}]
    assert is_contained(policy(offer), [policy(accepting)])[0]


def test_scalar_values_must_match_exactly():
    offer = policy(usage_doc(FA, PCF, c("DataUsageEndDate", "eq", "2027-01-01T00:00:00Z")))
    accepting = policy(usage_doc(FA, PCF, c("DataUsageEndDate", "eq", "2028-01-01T00:00:00Z")))
    ok, reason = is_contained(offer, [accepting])
    assert not ok and "it has DataUsageEndDate eq 2028-01-01T00:00:00Z" in reason
    assert is_contained(offer, [offer])[0]


def test_logical_terms_need_an_equivalent_term():
    alt = {"or": [c("BusinessPartnerNumber", "isAnyOf", ["BPNL00000003AYRE"]), MEMBER]}
    swapped = {"or": [MEMBER, c("BusinessPartnerNumber", "isAnyOf", ["BPNL00000003AYRE"])]}
    assert is_contained(policy(doc("access", alt)), [policy(doc("access", swapped))])[0]
    assert not is_contained(policy(doc("access", alt)), [policy(doc("access", MEMBER))])[0]


def test_aliases_of_an_operand_compare_equal():
    offer = Policy(permissions=(Rule(odrl("use"), (AtomicConstraint("WarrantyDurationMonths", odrl("eq"), 6),)),))
    accepting = Policy(permissions=(Rule(odrl("use"), (AtomicConstraint(cx("WarrantyDuration"), odrl("eq"), 6),)),))
    assert is_contained(offer, [accepting])[0]


def test_nothing_registered():
    assert is_contained(policy(usage_doc(FA, PCF)), []) == (
        False, "no acceptable policy is registered, so no offer can be accepted")
    assert is_contained(Policy(), [ACCEPT_PCF])[0]  # an offer without terms asks nothing
