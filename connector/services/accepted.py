"""The consumer's accepted-policy store: offers we agree to only if they fit a policy we accept.

As IRS's accepted-policy store: an admin registers the policies the company is willing to sign.
With none registered every offer is acceptable (an empty store restricts nothing); once one
is, an offer whose constraints are not contained in one of them is refused with the constraint.
"""

from __future__ import annotations

from sqlmodel import Session, select

from connector.policy import Policy, is_contained, policy_from_compact_dsp, policy_to_compact
from connector.services.errors import Conflict, InvalidRequest, NotFound
from connector.store import Database
from connector.store.models import AcceptedPolicy


def check_acceptable(session: Session, offer: Policy) -> str | None:
    """None when the offer fits an accepted policy (or none are registered), else the reason."""
    accepted = [policy_from_compact_dsp(row.policy) for row in session.exec(select(AcceptedPolicy))]
    if not accepted:
        return None
    ok, reason = is_contained(offer, accepted)
    return None if ok else reason


class AcceptedPolicies:
    def __init__(self, db: Database, clock) -> None:
        self.db = db
        self.clock = clock

    def add(self, policy_id: str, policy: Policy) -> AcceptedPolicy:
        if policy.is_empty():
            raise InvalidRequest("policy", "an accepted policy needs at least one permission", path="policy")
        with self.db.write() as session:
            if session.get(AcceptedPolicy, policy_id) is not None:
                raise Conflict("accepted-policy.exists", f"accepted policy {policy_id!r} exists")
            row = AcceptedPolicy(id=policy_id, created_at=self.clock(),
                                 policy=policy_to_compact(policy, policy_type="Set", policy_id=policy_id))
            session.add(row)
            return row

    def all(self) -> list[AcceptedPolicy]:
        with self.db.read() as session:
            return list(session.exec(select(AcceptedPolicy).order_by(AcceptedPolicy.id)))

    def delete(self, policy_id: str) -> None:
        with self.db.write() as session:
            row = session.get(AcceptedPolicy, policy_id)
            if row is None:
                raise NotFound("accepted-policy.unknown", f"no accepted policy {policy_id!r}")
            session.delete(row)
