"""Business-partner groups: which named groups a BPN belongs to (BusinessPartnerGroup constraints).

Managed by the provider's admin through the management API, read by the policy checks.
"""

from __future__ import annotations

import re

from sqlmodel import Session, select

from connector.services.errors import InvalidRequest, NotFound
from connector.store import Database
from connector.store.models import BusinessPartnerGroup

BPN = re.compile(r"^BPN[LSA][A-Za-z0-9]{12}$")


def check_bpn(bpn: str, path: str = "@id") -> str:
    if not isinstance(bpn, str) or not BPN.match(bpn):
        raise InvalidRequest("bpn", f"a Business Partner Number like BPNL00000003AYRE, got {bpn!r}", path=path)
    return bpn


def groups_of(session: Session, bpn: str | None) -> frozenset[str]:
    if not bpn:
        return frozenset()
    row = session.get(BusinessPartnerGroup, bpn)
    return frozenset(row.groups) if row else frozenset()


class GroupService:
    def __init__(self, db: Database, clock) -> None:
        self.db = db
        self.clock = clock

    def put(self, bpn: str, groups: list[str], *, create: bool | None = None) -> None:
        """Set a BPN's groups; ``create`` True refuses an existing entry, False a missing one."""
        check_bpn(bpn)
        if not isinstance(groups, list) or not all(isinstance(g, str) and g for g in groups):
            raise InvalidRequest("groups", "a list of group names (non-empty strings)", path="tx:groups")
        with self.db.write() as session:
            row = session.get(BusinessPartnerGroup, bpn)
            if create is True and row is not None:
                from connector.services.errors import Conflict

                raise Conflict("bpn.exists", f"{bpn} already has groups; use PUT to change them")
            if create is False and row is None:
                raise NotFound("bpn.unknown", f"{bpn} has no groups")
            row = row or BusinessPartnerGroup(bpn=bpn, groups=[])
            row.groups = sorted(set(groups))
            row.updated_at = self.clock()
            session.add(row)

    def get(self, bpn: str) -> list[str]:
        with self.db.read() as session:
            row = session.get(BusinessPartnerGroup, bpn)
            if row is None:
                raise NotFound("bpn.unknown", f"{bpn} has no groups")
            return list(row.groups)

    def delete(self, bpn: str) -> None:
        with self.db.write() as session:
            row = session.get(BusinessPartnerGroup, bpn)
            if row is None:
                raise NotFound("bpn.unknown", f"{bpn} has no groups")
            session.delete(row)

    def members(self, group: str) -> list[str]:
        with self.db.read() as session:
            return sorted(r.bpn for r in session.exec(select(BusinessPartnerGroup)) if group in (r.groups or []))
