"""Usage policies applied by the services: compile once, evaluate with the caller's claims and time.

The policy engine (``connector.policy``) is pure; this module feeds it what only services know:
the verified caller's claims, the business-partner groups, the agreement's start, and now.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache

from connector.policy import EvaluationContext, Policy, compile_policy, dsp_error, policy_from_compact_dsp
from connector.policy.evaluation import CompiledPolicy, Decision
from connector.services.errors import InvalidRequest
from connector.store.models import Agreement


def when(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, timezone.utc)


@lru_cache(maxsize=4096)
def _compiled(key: str, policy: Policy) -> CompiledPolicy:
    return compile_policy(policy)


def compiled(policy: Policy) -> CompiledPolicy:
    """Compiled policies are cached: the same policy serves many requests (and catalog rows)."""
    return _compiled(repr(policy), policy)


def evaluate(policy: Policy, *, scope: str, now_ms: int, claims: dict | None = None,
             groups: frozenset[str] | None = None, agreement_start_ms: int | None = None) -> Decision:
    ctx = EvaluationContext(
        now=when(now_ms), claims=claims or {}, groups=groups, scope=scope,
        agreement_start=when(agreement_start_ms) if agreement_start_ms is not None else None,
    )
    return compiled(policy).evaluate(ctx)


def check_agreement_in_force(agreement: Agreement, now_ms: int, claims: dict | None = None) -> None:
    """Refuse a transfer (start, resume, or data-plane request) the agreement no longer allows."""
    policy = policy_from_compact_dsp(agreement.policy)
    decision = evaluate(policy, scope="transfer.process", now_ms=now_ms, claims=claims,
                        agreement_start_ms=agreement.signing_date)
    if not decision.allowed:
        code, reasons = dsp_error(decision)
        raise InvalidRequest(code, *[f"agreement {agreement.id}: {r}" for r in reasons], path="agreementId")
