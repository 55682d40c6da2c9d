"""What a policy decision is made from and what it says: the request's context, the decision,
and the denials that explain it (connector.policy.evaluation makes them).

Claim keys read from ``EvaluationContext.claims`` (the verified identity, see connector.identity):
``"bpn"`` (the requester's BPNL); ``"membership"`` (True or "active"); ``"frameworkAgreements"``
({"DataExchangeGovernance": "1.0"}: agreement name -> signed contract version); and
``"credentials"`` (types held, e.g. ["MembershipCredential", "DataExchangeGovernanceCredential"]:
a type alone satisfies Membership, and FrameworkAgreement unless a version claim disagrees); and
``"did"`` (the participant id the connector authenticated, set by ``connector.identity.auth.Participant``;
Factory-X BusinessPartnerDID reads it). The other data spaces' keys are in ``dataspace_operands``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .profile import SCOPES, show

CLAIM_BPN, CLAIM_MEMBERSHIP = "bpn", "membership"
CLAIM_FRAMEWORKS, CLAIM_CREDENTIALS = "frameworkAgreements", "credentials"


@dataclass(frozen=True, slots=True)
class EvaluationContext:
    """Everything a decision may depend on. ``now`` is passed in: the engine never reads a clock."""

    now: datetime
    claims: Mapping[str, Any] = field(default_factory=dict)
    groups: frozenset[str] | None = None  # None: not resolved (group constraints then fail)
    agreement_start: datetime | None = None
    scope: str = "contract.negotiation"

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or (self.agreement_start is not None and self.agreement_start.tzinfo is None):
            raise ValueError("now and agreement_start must be timezone-aware datetimes")
        if self.scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}, got {self.scope!r}")
        if self.groups is not None and not isinstance(self.groups, frozenset):
            object.__setattr__(self, "groups", frozenset(self.groups))


@dataclass(frozen=True, slots=True)
class Denial:
    """Why one constraint (or rule) stood in the way."""

    rule: str  # "permission[0]", "prohibition[1]", "permission[0].duty[0]"
    path: str  # the constraint: "permission[0].constraint[0].and[1]"
    left_operand: str | None  # profile term, e.g. "FrameworkAgreement"; None for a whole rule
    operator: str | None
    right_operand: Any  # what the policy requires, as plain JSON
    found: Any = None  # what the requester had
    missing: bool = False  # the requester had nothing for it (claim, groups, agreement date)
    reason: str = ""
    code: str = "failed"  # failed, missing, prohibited, no-alternative, unknown-operand, invalid-operand
    logical: str | None = None  # "or"/"xone" when the branches explain it
    branches: tuple[tuple[Denial, ...], ...] = ()

    @property
    def constraint(self) -> str:
        if self.logical:
            return self.logical
        if self.left_operand is None:
            return "the rule"
        return f"{self.left_operand} {self.operator} {show(self.right_operand)}"

    @property
    def text(self) -> str:
        if self.logical:
            return f"{self.logical} failed: {self.reason}"
        if self.code == "prohibited":
            return f"{self.rule} applies: {self.constraint} holds: {self.reason}"
        return f"{self.constraint} failed: {self.reason}"


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    denials: tuple[Denial, ...]
    scope: str
    unchecked: tuple[str, ...] = ()  # constraints agreed or not checkable in this scope, as text


Explanation = tuple[bool, Any, bool, str]  # holds, found, missing, reason
Explain = Callable[[EvaluationContext], Explanation]
Test = Callable[[EvaluationContext], bool]
