"""Usage policies: the typed ODRL model, its codec to and from JSON-LD shapes, and (later) evaluation."""

from .codec import contexts_for, iter_iris, policy_from_compact_dsp, policy_from_expanded, policy_to_compact
from .errors import PolicyError, PolicyFormatError
from .model import (
    AtomicConstraint,
    Constraint,
    IriRef,
    LogicalConstraint,
    Policy,
    RightOperand,
    Rule,
    TypedLiteral,
    canonical_key,
    equivalent,
)

__all__ = [
    "AtomicConstraint",
    "Constraint",
    "IriRef",
    "LogicalConstraint",
    "Policy",
    "PolicyError",
    "PolicyFormatError",
    "RightOperand",
    "Rule",
    "TypedLiteral",
    "canonical_key",
    "contexts_for",
    "equivalent",
    "iter_iris",
    "policy_from_compact_dsp",
    "policy_from_expanded",
    "policy_to_compact",
]
