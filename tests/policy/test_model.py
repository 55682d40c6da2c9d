"""The typed model: immutability, coercions, strict value equality, and the
semantic comparison (equivalent / canonical_key)."""

from __future__ import annotations

import dataclasses

import pytest

from connector.policy import (
    AtomicConstraint,
    IriRef,
    LogicalConstraint,
    Policy,
    Rule,
    TypedLiteral,
    canonical_key,
    equivalent,
)
from connector.policy.vocabulary import cx, odrl

USE = odrl("use")
EQ = odrl("eq")


def fa(value="DataExchangeGovernance:1.0", op=EQ):
    return AtomicConstraint(cx("FrameworkAgreement"), op, value)


def member():
    return AtomicConstraint(cx("Membership"), EQ, "active")


def purpose(*values):
    return AtomicConstraint(cx("UsagePurpose"), odrl("isAnyOf"), values)


def one_rule_policy(*constraints):
    return Policy(permissions=(Rule(USE, constraints),))


# --- model basics ----------------------------------------------------------------------


def test_model_objects_are_frozen_and_hashable():
    p = one_rule_policy(LogicalConstraint("and", (fa(), purpose("cx.pcf.base:1"))))
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.permissions = ()  # type: ignore[misc]
    assert hash(p) == hash(one_rule_policy(LogicalConstraint("and", (fa(), purpose("cx.pcf.base:1")))))
    assert len({p, p}) == 1


def test_lists_are_coerced_to_tuples():
    rule = Rule(USE, [fa()], [Rule(odrl("delete"))])  # type: ignore[arg-type]
    assert isinstance(rule.constraints, tuple) and isinstance(rule.duties, tuple)
    assert purpose(*["a", "b"]).right_operand == ("a", "b")
    assert AtomicConstraint("x", EQ, ["a", "b"]).right_operand == ("a", "b")
    assert isinstance(Policy(permissions=[rule]).permissions, tuple)  # type: ignore[arg-type]


def test_right_operand_rejects_unhashable_or_nested_values():
    with pytest.raises(TypeError):
        AtomicConstraint("x", EQ, {"@id": "urn:a"})
    with pytest.raises(TypeError):
        AtomicConstraint("x", EQ, [["a"]])
    with pytest.raises(TypeError):
        AtomicConstraint("x", EQ, None)


def test_value_types_are_kept_apart_even_where_python_mixes_them():
    assert AtomicConstraint("x", EQ, "1") != AtomicConstraint("x", EQ, 1)
    assert AtomicConstraint("x", EQ, True) != AtomicConstraint("x", EQ, 1)
    assert AtomicConstraint("x", EQ, 1.0) != AtomicConstraint("x", EQ, 1)
    assert AtomicConstraint("x", EQ, 1) == AtomicConstraint("x", EQ, 1)
    assert TypedLiteral(True) != TypedLiteral(1)
    assert IriRef("urn:a") != "urn:a"


def test_logical_constraint_validates_operator_and_members():
    with pytest.raises(ValueError):
        LogicalConstraint("nand", (fa(),))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        LogicalConstraint("and", ())


def test_is_empty():
    assert Policy().is_empty()
    assert not Policy(prohibitions=(Rule(USE),)).is_empty()
    assert not Policy(obligations=(Rule(USE),)).is_empty()
    # A profile alone grants or forbids nothing.
    assert Policy(profile=("urn:profile",)).is_empty()


# --- equivalent ----------------------------------------------------------------------


def test_rule_order_is_ignored():
    a = Policy(permissions=(Rule(USE, (fa(),)), Rule(cx("access"), (member(),))))
    b = Policy(permissions=(Rule(cx("access"), (member(),)), Rule(USE, (fa(),))))
    assert a != b
    assert equivalent(a, b)


@pytest.mark.parametrize("op", ["and", "or", "xone"])
def test_member_order_inside_unordered_logical_operators_is_ignored(op):
    a = one_rule_policy(LogicalConstraint(op, (fa(), member())))
    b = one_rule_policy(LogicalConstraint(op, (member(), fa())))
    assert equivalent(a, b)


def test_order_is_ignored_at_every_nesting_level():
    inner_a = LogicalConstraint("or", (member(), purpose("x")))
    inner_b = LogicalConstraint("or", (purpose("x"), member()))
    a = one_rule_policy(LogicalConstraint("and", (fa(), inner_a)), member())
    b = one_rule_policy(member(), LogicalConstraint("and", (inner_b, fa())))
    assert equivalent(a, b)


def test_and_sequence_order_matters():
    a = one_rule_policy(LogicalConstraint("andSequence", (fa(), member())))
    b = one_rule_policy(LogicalConstraint("andSequence", (member(), fa())))
    assert not equivalent(a, b)
    assert equivalent(a, one_rule_policy(LogicalConstraint("andSequence", (fa(), member()))))


def test_different_logical_operators_are_not_equivalent():
    a = one_rule_policy(LogicalConstraint("and", (fa(), member())))
    b = one_rule_policy(LogicalConstraint("or", (fa(), member())))
    assert not equivalent(a, b)


def test_different_operators_are_not_equivalent():
    assert not equivalent(one_rule_policy(fa(op=EQ)), one_rule_policy(fa(op=odrl("neq"))))


def test_different_right_operands_are_not_equivalent():
    assert not equivalent(one_rule_policy(fa("A:1.0")), one_rule_policy(fa("B:1.0")))
    assert not equivalent(one_rule_policy(purpose("a", "b")), one_rule_policy(purpose("a", "c")))


def test_string_one_and_number_one_differ():
    assert not equivalent(one_rule_policy(fa("1")), one_rule_policy(fa(1)))
    assert not equivalent(one_rule_policy(fa(True)), one_rule_policy(fa(1)))
    assert not equivalent(one_rule_policy(fa("urn:a")), one_rule_policy(fa(IriRef("urn:a"))))


def test_single_value_equals_one_item_list_only_for_the_same_value():
    assert equivalent(one_rule_policy(fa("x")), one_rule_policy(fa(("x",))))
    assert not equivalent(one_rule_policy(fa("x")), one_rule_policy(fa(("y",))))
    assert not equivalent(one_rule_policy(fa("x")), one_rule_policy(fa(("x", "x"))))


def test_value_order_is_ignored_for_set_operators_only():
    assert equivalent(one_rule_policy(purpose("a", "b")), one_rule_policy(purpose("b", "a")))
    ordered_a = AtomicConstraint("x", EQ, ("a", "b"))
    ordered_b = AtomicConstraint("x", EQ, ("b", "a"))
    assert not equivalent(one_rule_policy(ordered_a), one_rule_policy(ordered_b))


def test_rule_kind_action_duty_and_profile_matter():
    rule = Rule(USE, (fa(),))
    assert not equivalent(Policy(permissions=(rule,)), Policy(prohibitions=(rule,)))
    assert not equivalent(Policy(permissions=(rule,)), Policy(permissions=(Rule(cx("access"), (fa(),)),)))
    with_duty = Rule(USE, (fa(),), (Rule(odrl("delete")),))
    assert not equivalent(Policy(permissions=(rule,)), Policy(permissions=(with_duty,)))
    assert not equivalent(Policy(permissions=(rule,)), Policy(permissions=(rule,), profile=("urn:p",)))
    assert equivalent(Policy(profile=("urn:a", "urn:b")), Policy(profile=("urn:b", "urn:a")))


def test_duplicates_are_not_collapsed():
    rule = Rule(USE, (fa(),))
    assert not equivalent(Policy(permissions=(rule,)), Policy(permissions=(rule, rule)))
    assert not equivalent(one_rule_policy(fa()), one_rule_policy(fa(), fa()))


# --- canonical_key ---------------------------------------------------------------------


def test_canonical_key_matches_equivalence():
    a = Policy(permissions=(Rule(USE, (LogicalConstraint("and", (fa(), purpose("b", "a"))),)),))
    b = Policy(permissions=(Rule(USE, (LogicalConstraint("and", (purpose("a", "b"), fa())),)),))
    c = Policy(permissions=(Rule(USE, (LogicalConstraint("or", (purpose("a", "b"), fa())),)),))
    assert canonical_key(a) == canonical_key(b)
    assert canonical_key(a) != canonical_key(c)
    assert canonical_key(one_rule_policy(fa("1"))) != canonical_key(one_rule_policy(fa(1)))


def test_canonical_key_is_stable():
    # Stored keys must not change between releases; this pins the format.
    p = Policy(permissions=(Rule(USE, (member(),)),))
    assert canonical_key(p) == (
        '{"obligation":[],"permission":[{"action":"http://www.w3.org/ns/odrl/2/use",'
        '"constraint":[["atomic","https://w3id.org/catenax/2025/9/policy/Membership",'
        '"http://www.w3.org/ns/odrl/2/eq","active"]],"duty":[]}],"profile":[],"prohibition":[]}'
    )
