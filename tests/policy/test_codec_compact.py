"""typed -> compact -> typed round trips, the exact compact shapes we write,
and the @context list a message needs."""

from __future__ import annotations

import pytest

from connector.policy import (
    AtomicConstraint,
    IriRef,
    LogicalConstraint,
    Policy,
    PolicyError,
    Rule,
    TypedLiteral,
    contexts_for,
    policy_from_compact_dsp,
    policy_to_compact,
)
from connector.policy.vocabulary import CX_POLICY_CONTEXT, DSP_CONTEXT, cx, odrl

USE = odrl("use")
EQ = odrl("eq")

FA = AtomicConstraint(cx("FrameworkAgreement"), EQ, "DataExchangeGovernance:1.0")
PURPOSE = AtomicConstraint(cx("UsagePurpose"), odrl("isAnyOf"), ("cx.core.industrycore:1", "cx.pcf.base:1"))
BPN = AtomicConstraint(cx("BusinessPartnerNumber"), odrl("isAnyOf"), ("BPNL000000000001",))
DATE = AtomicConstraint(odrl("dateTime"), odrl("lteq"), TypedLiteral("2030-01-01T00:00:00Z", "http://www.w3.org/2001/XMLSchema#dateTime"))

RICH = Policy(
    permissions=(
        Rule(USE, (LogicalConstraint("and", (FA, PURPOSE)),), duties=(Rule(odrl("delete"), (DATE,)),)),
        Rule(cx("access"), (LogicalConstraint("or", (AtomicConstraint(cx("Membership"), EQ, "active"), BPN)),)),
        Rule(USE),
    ),
    prohibitions=(
        Rule(USE, (AtomicConstraint(cx("UsageRestriction"), odrl("isAllOf"), ("cx.thirdParty.forbidden:1",)),)),
    ),
    obligations=(Rule(USE, (AtomicConstraint(cx("DataProvisioningEndDurationDays"), EQ, 30),)),),
    profile=("https://w3id.org/catenax/2025/9/policy/profile",),
)


def roundtrip(policy: Policy, policy_type: str = "Offer") -> Policy:
    return policy_from_compact_dsp(policy_to_compact(policy, policy_type=policy_type, policy_id="urn:uuid:1"))


@pytest.mark.parametrize(
    "policy",
    [
        pytest.param(RICH, id="rich"),
        pytest.param(Policy(permissions=(Rule(USE, (FA,)),)), id="permission"),
        pytest.param(Policy(prohibitions=(Rule(USE, (FA,)),)), id="prohibition"),
        pytest.param(Policy(obligations=(Rule(USE, (FA,)),)), id="obligation"),
        pytest.param(
            Policy(
                permissions=(
                    Rule(
                        USE,
                        (
                            LogicalConstraint(
                                "xone",
                                (
                                    LogicalConstraint("andSequence", (PURPOSE, FA, BPN)),
                                    LogicalConstraint("or", (LogicalConstraint("and", (FA, BPN)), PURPOSE)),
                                ),
                            ),
                            DATE,
                        ),
                    ),
                )
            ),
            id="nested-logical",
        ),
        pytest.param(
            Policy(
                permissions=(
                    Rule(
                        USE,
                        (
                            AtomicConstraint("urn:op:a", EQ, ("x", 1, 2.5, True, IriRef("urn:thing"))),
                            AtomicConstraint("urn:op:b", odrl("neq"), IriRef("http://example.org/EU")),
                            AtomicConstraint("urn:op:c", EQ, TypedLiteral("hallo", language="de")),
                            AtomicConstraint("urn:op:d", EQ, False),
                        ),
                    ),
                )
            ),
            id="value-kinds",
        ),
        pytest.param(Policy(), id="empty"),
    ],
)
def test_typed_compact_typed_round_trip_is_exact(policy):
    assert roundtrip(policy) == policy
    assert roundtrip(policy, "Agreement") == policy


def test_compact_shape_uses_terms_curies_and_iris_like_a_jsonld_processor():
    policy = Policy(
        permissions=(
            Rule(
                USE,
                (
                    FA,  # CX term
                    AtomicConstraint(odrl("dateTime"), odrl("lteq"), "2030-01-01"),  # odrl IRI without a DSP term
                    AtomicConstraint(cx("NotInContext"), EQ, "x"),  # CX namespace, undefined term
                    AtomicConstraint("https://example.com/vocab/region", odrl("isA"), IriRef("http://purl.org/dc/terms/Location")),
                    AtomicConstraint("dateTime", EQ, "kept as written"),  # undefined word, relative IRI
                ),
            ),
            Rule(cx("access")),
        )
    )
    out = policy_to_compact(policy, policy_type="Offer", policy_id="urn:uuid:offer-1")
    assert out == {
        "@id": "urn:uuid:offer-1",
        "@type": "Offer",
        "permission": [
            {
                "action": "use",
                "constraint": [
                    {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
                    {"leftOperand": "odrl:dateTime", "operator": "lteq", "rightOperand": "2030-01-01"},
                    {"leftOperand": "cx-policy:NotInContext", "operator": "eq", "rightOperand": "x"},
                    {
                        "leftOperand": "https://example.com/vocab/region",
                        "operator": "isA",
                        "rightOperand": {"@id": "dct:Location"},
                    },
                    {"leftOperand": "dateTime", "operator": "eq", "rightOperand": "kept as written"},
                ],
            },
            {"action": "access"},
        ],
    }


def test_empty_rule_arrays_and_context_are_never_written():
    out = policy_to_compact(Policy(prohibitions=(Rule(USE),)), policy_type="Set", policy_id="urn:x")
    assert out == {"@id": "urn:x", "@type": "Set", "prohibition": [{"action": "use"}]}
    assert policy_to_compact(Policy(), policy_type="Set", policy_id="urn:x") == {"@id": "urn:x", "@type": "Set"}


def test_list_right_operands_stay_lists_and_single_values_stay_scalars():
    out = policy_to_compact(Policy(permissions=(Rule(USE, (BPN, FA)),)), policy_type="Set", policy_id="urn:x")
    constraints = out["permission"][0]["constraint"]
    assert constraints[0]["rightOperand"] == ["BPNL000000000001"]
    assert constraints[1]["rightOperand"] == "DataExchangeGovernance:1.0"


def test_envelope_fields_and_extra():
    out = policy_to_compact(
        Policy(permissions=(Rule(USE),), profile=("urn:p1", "urn:p2")),
        policy_type="Agreement",
        policy_id="urn:uuid:a",
        target="urn:uuid:asset",
        assigner="did:web:provider",
        assignee="did:web:consumer",
        extra={"timestamp": "2025-01-01T00:00:00Z"},
    )
    assert out == {
        "@id": "urn:uuid:a",
        "@type": "Agreement",
        "profile": ["urn:p1", "urn:p2"],
        "target": "urn:uuid:asset",
        "assigner": "did:web:provider",
        "assignee": "did:web:consumer",
        "timestamp": "2025-01-01T00:00:00Z",
        "permission": [{"action": "use"}],
    }
    single = policy_to_compact(Policy(profile=("urn:p1",)), policy_type="Set", policy_id="urn:x")
    assert single["profile"] == "urn:p1"


def test_bad_writer_arguments_are_refused():
    with pytest.raises(ValueError):
        policy_to_compact(Policy(), policy_type="Contract", policy_id="urn:x")
    with pytest.raises(ValueError):
        policy_to_compact(Policy(), policy_type="Offer", policy_id="")
    with pytest.raises(ValueError):
        policy_to_compact(Policy(), policy_type="Offer", policy_id="urn:x", extra={"permission": []})


def test_relative_iri_that_would_read_back_as_a_term_is_refused():
    # "use" as a relative IRI would come back as odrl:use: silently changing meaning.
    with pytest.raises(PolicyError):
        policy_to_compact(Policy(permissions=(Rule("use"),)), policy_type="Set", policy_id="urn:x")


def test_contexts_for():
    assert contexts_for(Policy(permissions=(Rule(USE, (DATE,)),))) == [DSP_CONTEXT]
    assert contexts_for(Policy()) == [DSP_CONTEXT]
    assert contexts_for(RICH) == [DSP_CONTEXT, CX_POLICY_CONTEXT]
    assert contexts_for(Policy(permissions=(Rule(cx("access")),))) == [DSP_CONTEXT, CX_POLICY_CONTEXT]
    nested = Policy(
        obligations=(
            Rule(USE, duties=(Rule(USE, (LogicalConstraint("or", (AtomicConstraint("urn:a", EQ, IriRef(cx("x"))),)),)),)),
        )
    )
    assert contexts_for(nested) == [DSP_CONTEXT, CX_POLICY_CONTEXT]
