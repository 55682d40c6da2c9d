"""Reading compact input: accepted spellings, and PolicyFormatError paths and
messages for bad shapes."""

from __future__ import annotations

import pickle

import pytest

from connector.policy import (
    AtomicConstraint,
    LogicalConstraint,
    Policy,
    PolicyError,
    PolicyFormatError,
    Rule,
    TypedLiteral,
    policy_from_compact_dsp,
)
from connector.policy.vocabulary import cx, odrl

USE = odrl("use")
EQ = odrl("eq")
FA = AtomicConstraint(cx("FrameworkAgreement"), EQ, "DataExchangeGovernance:1.0")
EXPECTED = Policy(permissions=(Rule(USE, (FA,)),))


@pytest.mark.parametrize(
    "doc",
    [
        {"permission": [{"action": "use", "constraint": [{"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"}]}]},
        {"odrl:permission": [{"odrl:action": "odrl:use", "odrl:constraint": [{"odrl:leftOperand": "cx-policy:FrameworkAgreement", "odrl:operator": "odrl:eq", "odrl:rightOperand": "DataExchangeGovernance:1.0"}]}]},
        {
            odrl("permission"): [
                {
                    odrl("action"): {"@id": odrl("use")},
                    odrl("constraint"): [{odrl("leftOperand"): {"@id": cx("FrameworkAgreement")}, odrl("operator"): {"@id": "odrl:eq"}, odrl("rightOperand"): {"@value": "DataExchangeGovernance:1.0"}}],
                }
            ]
        },
        # single objects instead of one-element arrays, plus envelope keys that are ignored
        {"@context": ["x"], "@id": "urn:o", "@type": "Offer", "target": "urn:t", "permission": {"@type": "Permission", "action": "use", "constraint": {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"}}},
    ],
    ids=["terms", "curies", "full-iris", "single-objects"],
)
def test_accepted_spellings_give_the_same_policy(doc):
    assert policy_from_compact_dsp(doc) == EXPECTED


def test_value_objects_lists_and_set_operators():
    doc = {
        "permission": [
            {
                "action": "use",
                "constraint": [
                    {"andSequence": {"@list": [{"leftOperand": "a", "operator": "eq", "rightOperand": 1}, {"leftOperand": "b", "operator": "eq", "rightOperand": "1"}]}},
                    {"leftOperand": "odrl:dateTime", "operator": "lt", "rightOperand": {"@value": "2030-01-01T00:00:00Z", "@type": "xsd:dateTime"}},
                    {"leftOperand": "BusinessPartnerNumber", "operator": "isAnyOf", "rightOperand": "BPNL000000000001"},
                ],
            }
        ]
    }
    rule = policy_from_compact_dsp(doc).permissions[0]
    assert rule.constraints[0] == LogicalConstraint(
        "andSequence", (AtomicConstraint("a", EQ, 1), AtomicConstraint("b", EQ, "1"))
    )
    assert rule.constraints[1].right_operand == TypedLiteral("2030-01-01T00:00:00Z", "http://www.w3.org/2001/XMLSchema#dateTime")
    # A set operator always gets a tuple, so it is written back as the array CX schemas require.
    assert rule.constraints[2].right_operand == ("BPNL000000000001",)


def test_empty_rule_arrays_are_accepted_as_no_rules():
    policy = policy_from_compact_dsp({"@type": "Set", "permission": [], "prohibition": [], "obligation": []})
    assert policy == Policy() and policy.is_empty()


def error_for(doc) -> PolicyFormatError:
    with pytest.raises(PolicyFormatError) as info:
        policy_from_compact_dsp(doc)
    return info.value


def with_constraints(*constraints):
    return {"permission": [{"action": "use", "constraint": list(constraints)}]}


OK = {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"}


def test_constraint_without_operator_names_the_operator_field():
    err = error_for(with_constraints(OK, {"leftOperand": "Membership", "rightOperand": "active"}))
    assert err.path == "permission[0].constraint[1].operator"
    assert "missing" in err.expected and "operator" in err.expected


def test_error_path_inside_logical_constraints():
    err = error_for(with_constraints(OK, {"or": [OK, {"and": [OK, {"leftOperand": "Membership", "operator": "eq"}]}]}))
    assert err.path == "permission[0].constraint[1].or[1].and[1].rightOperand"


def test_and_plus_or_on_one_constraint_is_a_clear_error():
    err = error_for(with_constraints({"and": [OK], "or": [OK]}))
    assert err.path == "permission[0].constraint[0]"
    assert "exactly one of and/or/xone/andSequence" in err.expected and "and and or" in err.expected


def test_logical_and_atomic_fields_together_are_refused():
    err = error_for(with_constraints({"and": [OK], "leftOperand": "Membership"}))
    assert "either logical (and) or atomic (leftOperand)" in err.expected


@pytest.mark.parametrize(
    ("rule", "path", "fragment"),
    [
        ({"constraint": [OK]}, "permission[0].action", "missing"),
        ({"action": 7}, "permission[0].action", "expected an IRI"),
        ({"action": ["use", "odrl:read"]}, "permission[0].action", "exactly one action"),
        ({"action": {"rdf:value": {"@id": "odrl:print"}, "refinement": [OK]}}, "permission[0].action", "refinement"),
        ({"action": "use", "remedy": [{"action": "odrl:delete"}]}, "permission[0].remedy", "not supported"),
        ({"action": "use", "constraint": ["Membership"]}, "permission[0].constraint[0]", "JSON object"),
        ({"action": "use", "constraint": [{"and": []}]}, "permission[0].constraint[0].and", "at least one"),
        ({"action": "use", "constraint": [{}]}, "permission[0].constraint[0]", "atomic constraint"),
        ({"action": "use", "constraint": [dict(OK, rightOperand={"foo": "bar"})]}, "permission[0].constraint[0].rightOperand", "@value"),
        ({"action": "use", "constraint": [dict(OK, rightOperand=None)]}, "permission[0].constraint[0].rightOperand", "missing"),
        ({"action": "use", "constraint": [dict(OK, **{"odrl:operator": "neq"})]}, "permission[0].constraint[0].operator", "exactly one"),
        ({"action": "use", "constraint": [dict(OK, unit="odrl:m")]}, "permission[0].constraint[0].unit", "not supported"),
    ],
)
def test_rule_shape_errors(rule, path, fragment):
    err = error_for({"permission": [rule]})
    assert err.path == path
    assert fragment in err.expected


def test_non_object_inputs():
    assert error_for("not a policy").path == ""
    assert error_for({"permission": "use"}).path == "permission[0]"


def test_error_type_string_and_pickling():
    err = error_for(with_constraints({"leftOperand": "Membership", "rightOperand": "active"}))
    assert isinstance(err, PolicyError) and isinstance(err, ValueError)
    assert str(err).startswith("permission[0].constraint[0].operator: missing; expected")
    again = pickle.loads(pickle.dumps(err))
    assert (again.path, again.expected, str(again)) == (err.path, err.expected, str(err))
    assert str(PolicyFormatError("", "expected a policy object")) == "(policy): expected a policy object"
