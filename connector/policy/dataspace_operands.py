"""How the evaluator checks the left operands of other data spaces (see ``profile.SPECS``):

- ``GaiaxLabelLevel`` (``https://w3id.org/pontis/v1/GaiaxLabelLevel``): the requester's Gaia-X label
  level, from a verified label (connector.gaiax.label: claims ``gaiaxLabelLevel`` and
  ``gaiaxLabelValidUntil``), ordered SC < L1 < L2 < L3; a label past its validUntil counts as none.
- ``FxMembership`` (Factory-X ``fx-policy:Membership``/``FxMembership`` eq ``active``): the
  requester holds a (Fx)MembershipCredential, or claim ``fxMembership`` is true or "active".
- ``FxCertificationType`` (``fx-policy:CertificationType`` eq/neq): claim ``certificationTypes``
  (the ``certificationType`` of the requester's CertificationCredentials) includes the value.
- ``BusinessPartnerDID`` (``fx-policy:BusinessPartnerDID`` eq/neq one DID, isAnyOf/isNoneOf a list): the
  caller's DID, claim ``did``: the participant id the connector authenticated (in dcp mode the verified
  issuer of the self-issued token, with static tokens the configured peer's id; see
  ``connector.identity.auth.Participant``). It asks the identity itself, so no credential is needed.

Each factory takes (constraint, operator name) and returns (test, explain) like those of
``connector.policy.evaluation``; ``ctx`` is its ``EvaluationContext``.
"""

from __future__ import annotations

import operator as _op
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .model import AtomicConstraint
from .profile import plain, show

LEVELS = ("SC", "L1", "L2", "L3")
CLAIM_LEVEL, CLAIM_VALID_UNTIL = "gaiaxLabelLevel", "gaiaxLabelValidUntil"
CLAIM_FX_MEMBERSHIP, CLAIM_CERTIFICATIONS, CLAIM_CREDENTIALS = "fxMembership", "certificationTypes", "credentials"
CLAIM_DID = "did"
_COMPARE = {"eq": _op.eq, "neq": _op.ne, "lt": _op.lt, "lteq": _op.le, "gt": _op.gt, "gteq": _op.ge}
Check = tuple[Callable[[Any], bool], Callable[[Any], tuple[bool, Any, bool, str]]]


def _until(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def gaiax_label_level(c: AtomicConstraint, op: str) -> Check:
    right = plain(c.right_operand)
    if right not in LEVELS:
        raise ValueError(f"expected a Gaia-X label level ({', '.join(LEVELS)})")
    rank, compare = LEVELS.index(right), _COMPARE[op]

    def level(ctx: Any) -> tuple[str | None, str]:
        found = ctx.claims.get(CLAIM_LEVEL)
        if found is None:
            return None, "the requester presented no verified Gaia-X label"
        if found not in LEVELS:
            return None, f"the requester's Gaia-X label level {found!r} is not one of {', '.join(LEVELS)}"
        until = _until(ctx.claims.get(CLAIM_VALID_UNTIL))
        if until is None or until.tzinfo is None or ctx.now >= until:
            return None, (f"the requester's Gaia-X label {found} expired at {ctx.claims.get(CLAIM_VALID_UNTIL)}"
                          if until is not None else "the requester's Gaia-X label has no validUntil")
        return found, ""

    def test(ctx: Any) -> bool:
        found, _ = level(ctx)
        return found is not None and compare(LEVELS.index(found), rank)

    def explain(ctx: Any) -> tuple[bool, Any, bool, str]:
        found, why = level(ctx)
        if found is None:
            return False, ctx.claims.get(CLAIM_LEVEL), True, why
        holds = compare(LEVELS.index(found), rank)
        return holds, found, False, (f"the requester's Gaia-X label is {found}, which is "
                                     f"{'' if holds else 'not '}{op} {right} (SC < L1 < L2 < L3)")

    return test, explain


def fx_membership(c: AtomicConstraint, op: str) -> Check:
    if plain(c.right_operand) != "active":
        raise ValueError('Factory-X Membership is only defined as eq "active"')
    held = ("MembershipCredential", "FxMembershipCredential")

    def test(ctx: Any) -> bool:
        m = ctx.claims.get(CLAIM_FX_MEMBERSHIP)
        if m is True or (isinstance(m, str) and m.lower() == "active"):
            return True
        creds = ctx.claims.get(CLAIM_CREDENTIALS) or ()
        return any(h in creds for h in held)

    def explain(ctx: Any) -> tuple[bool, Any, bool, str]:
        if test(ctx):
            return True, "active", False, "the requester is an active Factory-X member"
        m = ctx.claims.get(CLAIM_FX_MEMBERSHIP)
        if m is None:
            return False, None, True, "the requester has no fxMembership claim and no (Fx)MembershipCredential"
        return False, m, False, f"the requester's Factory-X membership is {show(m)}, not active"

    return test, explain


def fx_certification(c: AtomicConstraint, op: str) -> Check:
    right = plain(c.right_operand)
    if not isinstance(right, str) or not right:
        raise ValueError("expected a certification type")
    wanted = op == "eq"

    def held(ctx: Any) -> list[str] | None:
        found = ctx.claims.get(CLAIM_CERTIFICATIONS)
        return None if found is None else [str(f) for f in (found if isinstance(found, list | tuple) else [found])]

    def test(ctx: Any) -> bool:
        found = held(ctx)
        return found is not None and (right in found) is wanted

    def explain(ctx: Any) -> tuple[bool, Any, bool, str]:
        found = held(ctx)
        if found is None:
            return False, None, True, "the requester has no CertificationCredential (claim certificationTypes)"
        return test(ctx), found, False, f"the requester's certifications {show(tuple(found))} " + (
            "include " if right in found else "do not include ") + right

    return test, explain


def fx_business_partner_did(c: AtomicConstraint, op: str) -> Check:
    right = plain(c.right_operand)
    listed = tuple(str(r) for r in (right if isinstance(right, list) else [right]))
    if not listed or not all(d.startswith("did:") for d in listed):
        raise ValueError("expected a DID (did:method:id) or a list of DIDs")
    admitted = frozenset(listed)
    wanted = op in ("eq", "isAnyOf")
    policy_says = ("admits " if wanted else "excludes ") + ", ".join(listed)

    def test(ctx: Any) -> bool:
        did = ctx.claims.get(CLAIM_DID)
        return isinstance(did, str) and (did in admitted) is wanted

    def explain(ctx: Any) -> tuple[bool, Any, bool, str]:
        did = ctx.claims.get(CLAIM_DID)
        if not isinstance(did, str):
            return False, did, True, f"the caller's DID is not known, the policy {policy_says}"
        return test(ctx), did, False, f"the caller is {did}, the policy {policy_says}"

    return test, explain


FACTORIES: dict[str, Callable[[AtomicConstraint, str], Check]] = {
    "GaiaxLabelLevel": gaiax_label_level, "FxMembership": fx_membership, "FxCertificationType": fx_certification,
    "BusinessPartnerDID": fx_business_partner_did}
