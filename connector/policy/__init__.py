"""Usage policies: the typed ODRL model, its codec to and from JSON-LD shapes, the Catena-X
2025-09 profile (validation on write), evaluation with explanations, and containment."""

from .codec import contexts_for, iter_iris, policy_from_compact_dsp, policy_from_expanded, policy_to_compact
from .errors import PolicyError, PolicyFormatError
from .evaluation import CompiledPolicy, Decision, Denial, EvaluationContext, compile_policy
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
from .profile import OperandSpec
from .reasons import (
    decision_to_dict,
    dsp_error,
    evaluation_plan,
    explain_lines,
    is_contained,
    violations_error,
    violations_to_dict,
)
from .validation import Violation, infer_kind, validate

__all__ = [
    "AtomicConstraint",
    "canonical_key",
    "compile_policy",
    "CompiledPolicy",
    "Constraint",
    "contexts_for",
    "Decision",
    "decision_to_dict",
    "Denial",
    "dsp_error",
    "equivalent",
    "evaluation_plan",
    "EvaluationContext",
    "explain_lines",
    "infer_kind",
    "IriRef",
    "is_contained",
    "iter_iris",
    "LogicalConstraint",
    "OperandSpec",
    "Policy",
    "policy_from_compact_dsp",
    "policy_from_expanded",
    "policy_to_compact",
    "PolicyError",
    "PolicyFormatError",
    "RightOperand",
    "Rule",
    "TypedLiteral",
    "validate",
    "Violation",
    "violations_error",
    "violations_to_dict",
]
