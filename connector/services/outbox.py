"""Outgoing messages as rows: enqueue inside the caller's transaction, claim with a lease, finish.

A claim takes a row lease (owner + expiry), so replicas sharing PostgreSQL never send the same
message at once; a crashed sender's lease runs out and another picks the row up. Only the oldest
pending message of a process is claimable, so a process's messages leave in order.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session, select

from connector.store.models import OutgoingMessage

_CLAIMABLE = """
SELECT o.id FROM outgoing_message o
WHERE o.status = 'pending' AND o.next_attempt_at <= :now AND o.lease_until < :now
  AND NOT EXISTS (
    SELECT 1 FROM outgoing_message o2
    WHERE o2.process_id = o.process_id AND o2.status = 'pending' AND o2.id < o.id)
ORDER BY o.next_attempt_at, o.id
LIMIT :limit
"""


def enqueue(session: Session, process_id: str, kind: str, url: str, body: dict, now: int) -> OutgoingMessage:
    message = OutgoingMessage(
        process_id=process_id, kind=kind, url=url, body=body, next_attempt_at=now, created_at=now
    )
    session.add(message)
    return message


def claim(session: Session, owner: str, now: int, limit: int, lease_ms: int, postgres: bool) -> list[OutgoingMessage]:
    """Lease up to ``limit`` due messages to ``owner``; the caller's transaction makes it stick."""
    sql = _CLAIMABLE + (" FOR UPDATE SKIP LOCKED" if postgres else "")
    ids = [row[0] for row in session.execute(text(sql), {"now": now, "limit": limit})]
    if not ids:
        return []
    rows = list(session.exec(select(OutgoingMessage).where(OutgoingMessage.id.in_(ids))))
    for row in rows:
        row.lease_owner = owner
        row.lease_until = now + lease_ms
        session.add(row)
    return sorted(rows, key=lambda r: r.id or 0)


def pending_for(session: Session, process_id: str) -> list[OutgoingMessage]:
    stmt = (
        select(OutgoingMessage)
        .where(OutgoingMessage.process_id == process_id, OutgoingMessage.status == "pending")
        .order_by(OutgoingMessage.id)
    )
    return list(session.exec(stmt))


def cancel_pending(session: Session, process_id: str, reason: str) -> None:
    for row in pending_for(session, process_id):
        row.status = "cancelled"
        row.last_error = reason
        session.add(row)


def release(session: Session, owner: str) -> int:
    """Give up every pending lease held by ``owner`` (a node that restarted after a crash)."""
    rows = list(session.exec(select(OutgoingMessage).where(
        OutgoingMessage.lease_owner == owner, OutgoingMessage.status == "pending")))
    for row in rows:
        row.lease_owner, row.lease_until = None, 0
        session.add(row)
    return len(rows)
