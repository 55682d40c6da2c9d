"""Usage policies applied by the services: compile once, evaluate with the caller's claims and time.

The policy engine (``connector.policy``) is pure; this module feeds it what only services know:
the verified caller's claims, the business-partner groups, the agreement's start, and now.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache

from connector.policy import EvaluationContext, Policy, compile_policy, dsp_error, policy_from_compact_dsp
from connector.policy.evaluation import CompiledPolicy, Decision
from connector.services.errors import InvalidRequest
from connector.store.models import Agreement


def when(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@lru_cache(maxsize=65536)
def compiled(policy: Policy) -> CompiledPolicy:
    """Compiled policies are cached: the same policy serves many requests (and catalog rows)."""
    return compile_policy(policy)


@lru_cache(maxsize=65536)
def _parsed(text: str) -> Policy:
    return policy_from_compact_dsp(json.loads(text))


def stored_policy(doc: dict) -> Policy:
    """A stored policy (compact DSP JSON) as a typed Policy, parsed once per distinct policy.

    A catalog page reads a hundred stored policies; parsing each anew costs more than the page.
    """
    return _parsed(json.dumps(doc, sort_keys=True, separators=(",", ":")))


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


class AccessGate:
    """Who may see an offer (access policy) and who may agree to it (contract policy).

    An access denial hides the offer: the requester learns nothing, the provider's log and
    ``explain`` say which constraint failed. A contract denial is told to the requester, who saw
    the requirement in the offer.
    """

    def __init__(self, clock) -> None:
        self.clock = clock
        # the claims each participant last proved to us, for the admin's "why was it hidden?"
        self.last_claims: dict[str, dict] = {}

    def remember(self, participant_id: str, claims: dict) -> None:
        """Keep what ``participant_id`` proved. In the DCP presentation flow a call proves only what its
        policy asked (a catalog request: membership), so a narrower proof adds to the earlier ones
        instead of erasing them: credential types and framework agreements accumulate, the rest is replaced."""
        previous = self.last_claims.get(participant_id, {})
        merged = {**previous, **claims}
        if isinstance(previous.get("credentials"), list) and isinstance(claims.get("credentials"), list):
            merged["credentials"] = sorted({*previous["credentials"], *claims["credentials"]})
        if isinstance(previous.get("frameworkAgreements"), dict) and isinstance(claims.get("frameworkAgreements"), dict):
            merged["frameworkAgreements"] = {**previous["frameworkAgreements"], **claims["frameworkAgreements"]}
        self.last_claims[participant_id] = merged

    def decide(self, policy: Policy, claims: dict, groups: frozenset[str] | None, scope: str,
               now_ms: int | None = None) -> Decision:
        return evaluate(policy, scope=scope, now_ms=now_ms if now_ms is not None else self.clock(),
                        claims=claims, groups=groups)
