"""Reading JSON-LD expanded policies, from fixtures written by hand (no JSON-LD
processor involved)."""

from __future__ import annotations

import pytest

from connector.policy import (
    AtomicConstraint,
    IriRef,
    LogicalConstraint,
    Policy,
    PolicyFormatError,
    Rule,
    TypedLiteral,
    policy_from_compact_dsp,
    policy_from_expanded,
)
from connector.policy.vocabulary import cx, odrl

O = "http://www.w3.org/ns/odrl/2/"
XSD_DATE = "http://www.w3.org/2001/XMLSchema#dateTime"


def iri(value):
    return [{"@id": value}]


def atomic(left, op, *values):
    return {O + "leftOperand": iri(left), O + "operator": iri(op), O + "rightOperand": list(values)}


# The CX access-policy sample, expanded by hand.
ACCESS_EXPANDED = {
    "@id": "some-id",
    "@type": [O + "Set"],
    O + "permission": [
        {
            O + "action": iri(cx("access")),
            O + "constraint": [
                {
                    O + "and": [
                        atomic(cx("Membership"), odrl("eq"), {"@value": "active"}),
                        atomic(cx("BusinessPartnerNumber"), odrl("isAnyOf"), {"@value": "BPNL012345678910"}),
                    ]
                }
            ],
        }
    ],
}
ACCESS_COMPACT = {
    "@type": "Set",
    "@id": "some-id",
    "permission": [
        {
            "action": "access",
            "constraint": [
                {
                    "and": [
                        {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"},
                        {"leftOperand": "BusinessPartnerNumber", "operator": "isAnyOf", "rightOperand": ["BPNL012345678910"]},
                    ]
                }
            ],
        }
    ],
}


def test_expanded_cx_access_policy_equals_the_compact_reading():
    expected = Policy(
        permissions=(
            Rule(
                cx("access"),
                (
                    LogicalConstraint(
                        "and",
                        (
                            AtomicConstraint(cx("Membership"), odrl("eq"), "active"),
                            AtomicConstraint(cx("BusinessPartnerNumber"), odrl("isAnyOf"), ("BPNL012345678910",)),
                        ),
                    ),
                ),
            ),
        )
    )
    assert policy_from_expanded(ACCESS_EXPANDED) == expected
    assert policy_from_compact_dsp(ACCESS_COMPACT) == expected
    assert policy_from_expanded([ACCESS_EXPANDED]) == expected  # pyld returns a list


def test_all_rule_kinds_duties_profile_and_value_kinds():
    node = {
        O + "profile": iri("urn:profile"),
        O + "permission": [
            {
                O + "action": iri(odrl("use")),
                O + "duty": [{O + "action": iri(odrl("delete"))}],
                O + "constraint": [
                    atomic("urn:left:multi", odrl("eq"), {"@value": "a"}, {"@value": 2}, {"@id": "urn:thing"}),
                    atomic("urn:left:typed", odrl("lt"), {"@value": "2030-01-01T00:00:00Z", "@type": XSD_DATE}),
                    atomic("urn:left:lang", odrl("eq"), {"@value": "hallo", "@language": "de"}),
                    atomic("urn:left:list", odrl("eq"), {"@list": [{"@value": "x"}]}),
                ],
            }
        ],
        O + "prohibition": [{O + "action": iri(odrl("use"))}],
        O + "obligation": [{O + "action": iri(odrl("use")), O + "constraint": [atomic("urn:d", odrl("eq"), {"@value": 30})]}],
    }
    policy = policy_from_expanded(node)
    rule = policy.permissions[0]
    assert policy.profile == ("urn:profile",)
    assert rule.duties == (Rule(odrl("delete")),)
    assert [c.right_operand for c in rule.constraints] == [
        ("a", 2, IriRef("urn:thing")),
        TypedLiteral("2030-01-01T00:00:00Z", XSD_DATE),
        TypedLiteral("hallo", language="de"),
        ("x",),
    ]
    assert policy.prohibitions == (Rule(odrl("use")),)
    assert policy.obligations[0].constraints == (AtomicConstraint("urn:d", odrl("eq"), 30),)


@pytest.mark.parametrize("as_list", [True, False], ids=["@list", "plain-array"])
def test_and_sequence_keeps_order_with_or_without_list(as_list):
    members = [atomic("urn:b", odrl("eq"), {"@value": 1}), atomic("urn:a", odrl("eq"), {"@value": 2})]
    value = [{"@list": members}] if as_list else members
    node = {O + "permission": [{O + "action": iri(odrl("use")), O + "constraint": [{O + "andSequence": value}]}]}
    (constraint,) = policy_from_expanded(node).permissions[0].constraints
    assert constraint == LogicalConstraint(
        "andSequence", (AtomicConstraint("urn:b", odrl("eq"), 1), AtomicConstraint("urn:a", odrl("eq"), 2))
    )


def expanded_error(node) -> PolicyFormatError:
    with pytest.raises(PolicyFormatError) as info:
        policy_from_expanded(node)
    return info.value


def rule_with(*constraints, **extra):
    return {O + "permission": [{O + "action": iri(odrl("use")), O + "constraint": list(constraints), **extra}]}


def test_expanded_missing_operator_path():
    bad = {O + "leftOperand": iri("urn:x"), O + "rightOperand": [{"@value": "y"}]}
    err = expanded_error(rule_with({O + "and": [atomic("urn:a", odrl("eq"), {"@value": 1}), bad]}))
    assert err.path == "permission[0].constraint[0].and[1].operator"


def test_expanded_action_refinement_is_rejected_clearly():
    nested_action = {O + "action": iri(odrl("print")), O + "refinement": [atomic("urn:r", odrl("eq"), {"@value": 1})]}
    err = expanded_error({O + "permission": [{O + "action": [nested_action]}]})
    assert err.path == "permission[0].action"
    assert "refinement" in err.expected


@pytest.mark.parametrize(
    ("node", "path", "fragment"),
    [
        (rule_with({O + "leftOperand": [{"@value": "urn:x"}], O + "operator": iri(odrl("eq")), O + "rightOperand": [{"@value": 1}]}), "permission[0].constraint[0].leftOperand", "expected an IRI"),
        (rule_with(atomic("urn:x", odrl("eq"), {"@value": {"nested": 1}})), "permission[0].constraint[0].rightOperand", "string, number or boolean"),
        (rule_with(atomic("urn:x", odrl("eq"), {"@value": "{}", "@type": "@json"})), "permission[0].constraint[0].rightOperand", "@json"),
        (rule_with({O + "xone": [{"@list": "nope"}]}), "permission[0].constraint[0].xone", "@list"),
        ({O + "permission": {"not": "a list"}}, "permission", "array"),
        ({O + "conflict": iri(odrl("perm"))}, "conflict", "not supported"),
        ({O + "profile": [{"@value": "urn:p"}]}, "profile[0]", "profile IRI"),
        ("nope", "", "policy node"),
    ],
)
def test_expanded_shape_errors(node, path, fragment):
    err = expanded_error(node)
    assert err.path == path
    assert fragment in err.expected
