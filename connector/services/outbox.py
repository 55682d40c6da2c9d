"""Outgoing messages as rows: enqueue inside the caller's transaction, claim with a lease, finish.

A claim takes a row lease (owner + expiry), so replicas sharing PostgreSQL never send the same
message at once; a crashed sender's lease runs out and another picks the row up. Only the oldest
pending message of a process is claimable, so a process's messages leave in order.

``Dispatch`` is the short cut: a message queued on this node, due now and first of its process,
is stored already leased to this node's sender and handed to it in memory once the transaction
has committed, so no claim transaction is needed. The row stays the truth: after a crash the
lease is released (same owner) or runs out (another replica), and the message is claimed as any.
"""

from __future__ import annotations

import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable

from sqlalchemy import bindparam, delete, insert, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, select

from connector.store.models import OutgoingMessage, ReceivedMessage

_CLAIMABLE = """
SELECT o.id FROM outgoing_message o
WHERE o.status = 'pending' AND o.next_attempt_at <= :now AND o.lease_until < :now
  AND NOT EXISTS (
    SELECT 1 FROM outgoing_message o2
    WHERE o2.process_id = o.process_id AND o2.status = 'pending' AND o2.id < o.id)
ORDER BY o.next_attempt_at, o.id
LIMIT :limit
"""


# statements of the hot path, built once: building one (operators, cache key) costs more than running it
_TABLE = OutgoingMessage.__table__  # type: ignore[attr-defined]
_PENDING_IDS = sa_select(_TABLE.c.id).where(_TABLE.c.process_id == bindparam("process_id"),
                                            _TABLE.c.status == "pending")
_INSERT = insert(_TABLE).returning(_TABLE.c.id)
_INSERT_KEYS = tuple(c.key for c in _TABLE.columns if c.key != "id")


def enqueue(session: Session, process_id: str, kind: str, url: str, body: dict,
            now: int) -> OutgoingMessage:
    message = OutgoingMessage(
        process_id=process_id, kind=kind, url=url, body=body, next_attempt_at=now, created_at=now
    )
    session.add(message)
    return message


def any_due(session: Session, now: int) -> bool:
    """A read (no lock): is any message due? An idle sender asks this before it takes the write lock."""
    return session.execute(text(_CLAIMABLE), {"now": now, "limit": 1}).first() is not None


def claim(session: Session, owner: str, now: int, limit: int, lease_ms: int, postgres: bool) -> list[OutgoingMessage]:
    """Lease up to ``limit`` due messages to ``owner``; the caller's transaction makes it stick."""
    sql = _CLAIMABLE + (" FOR UPDATE SKIP LOCKED" if postgres else "")
    ids = [row[0] for row in session.execute(text(sql), {"now": now, "limit": limit})]
    if not ids:
        return []
    rows = list(session.exec(select(OutgoingMessage).where(OutgoingMessage.id.in_(ids))))  # type: ignore[union-attr]
    for row in rows:
        row.lease_owner = owner
        row.lease_until = now + lease_ms
        session.add(row)
    return sorted(rows, key=lambda r: r.id or 0)


def has_pending(session: Session, process_id: str) -> bool:
    """Whether the process has a pending message, as this transaction sees it, without an autoflush:
    the stored rows (Core), less those this session has finished but not yet flushed, plus new ones."""
    for obj in session.new:
        if isinstance(obj, OutgoingMessage) and obj.process_id == process_id and obj.status == "pending":
            return True
    for (message_id,) in session.connection().execute(_PENDING_IDS, {"process_id": process_id}):
        loaded = session.identity_map.get(identity_key(OutgoingMessage, message_id))
        if loaded is None or getattr(loaded, "status", "pending") == "pending":
            return True
    return False


def insert_row(session: Session, message: OutgoingMessage) -> OutgoingMessage:
    """Store ``message`` with one Core INSERT (no unit-of-work bookkeeping); it stays out of the session."""
    values = {key: getattr(message, key) for key in _INSERT_KEYS}
    message.id = session.connection().execute(_INSERT, values).scalar_one()
    return message


def pending(session: Session, message_id: int) -> OutgoingMessage | None:
    """The message if it is still pending (else its result was already recorded)."""
    row = session.get(OutgoingMessage, message_id)
    return row if row is not None and row.status == "pending" else None


def pending_for(session: Session, process_id: str) -> list[OutgoingMessage]:
    stmt = (
        select(OutgoingMessage)
        .where(OutgoingMessage.process_id == process_id, OutgoingMessage.status == "pending")
        .order_by(OutgoingMessage.id)  # type: ignore[arg-type]
    )
    return list(session.exec(stmt))


def cancel_pending(session: Session, process_id: str, reason: str) -> None:
    """One UPDATE; rows already in the session see it too."""
    session.execute(update(OutgoingMessage).where(
        OutgoingMessage.process_id == process_id, OutgoingMessage.status == "pending",  # type: ignore[arg-type]
    ).values(status="cancelled", last_error=reason))


def release(session: Session, owner: str) -> int:
    """Give up every pending lease held by ``owner`` (a node that restarted after a crash)."""
    rows = list(session.exec(select(OutgoingMessage).where(
        OutgoingMessage.lease_owner == owner, OutgoingMessage.status == "pending")))
    for row in rows:
        row.lease_owner, row.lease_until = None, 0
        session.add(row)
    return len(rows)


_FINISHED = ("done", "cancelled", "failed")


def prunable(session: Session, before: int) -> bool:
    """A read: is any finished message or received-message record older than ``before``?"""
    old_out = select(OutgoingMessage.id).where(
        OutgoingMessage.status.in_(_FINISHED), OutgoingMessage.created_at < before).limit(1)  # type: ignore[attr-defined]
    old_in = select(ReceivedMessage.digest).where(ReceivedMessage.created_at < before).limit(1)
    return session.exec(old_out).first() is not None or session.exec(old_in).first() is not None


def prune(session: Session, before: int, batch: int = 1000) -> int:
    """Delete up to ``batch`` finished messages and ``batch`` received-message records older than
    ``before``; returns how many went. Pending messages stay whatever their age (they are work),
    and so does every record a replay within the retention window needs."""
    old_out = select(OutgoingMessage.id).where(
        OutgoingMessage.status.in_(_FINISHED), OutgoingMessage.created_at < before).limit(batch)  # type: ignore[attr-defined]
    old_in = select(ReceivedMessage.digest).where(ReceivedMessage.created_at < before).limit(batch)
    out_ids = list(session.exec(old_out))
    in_ids = list(session.exec(old_in))
    if out_ids:
        session.execute(delete(OutgoingMessage).where(OutgoingMessage.id.in_(out_ids)))  # type: ignore[union-attr]
    if in_ids:
        session.execute(delete(ReceivedMessage).where(ReceivedMessage.digest.in_(in_ids)))  # type: ignore[attr-defined]
    return len(out_ids) + len(in_ids)


class Dispatch:
    """This node's sender as the services see it: what they queue goes to it in memory.

    ``enqueue`` stores the row; if the row is due now and no older message of its process is
    pending, it is stored leased to ``owner``. ``hand_over`` (after the commit) passes those rows
    to the sender, which ``take``s them without a claim. Until a sender ``listen``s, nothing is
    leased here and every row waits for a claim, as before.
    """

    def __init__(self, owner: str | None = None, lease_ms: int = 30_000) -> None:
        self.owner = owner or f"worker-{uuid.uuid4()}"
        self.lease_ms = lease_ms
        self._handed: deque[OutgoingMessage] = deque()
        self._wake: Callable[[], None] | None = None
        self._lock = threading.Lock()
        self.claim_wanted = False

    def listen(self, wake: Callable[[], None]) -> None:
        self._wake = wake

    def enqueue(self, session: Session, process_id: str, kind: str, url: str, body: dict,
                now: int, delay_ms: int = 0) -> OutgoingMessage:
        direct = self._wake is not None and delay_ms <= 0 and not has_pending(session, process_id)
        message = OutgoingMessage(process_id=process_id, kind=kind, url=url, body=body,
                                  next_attempt_at=now + max(0, delay_ms), created_at=now)
        if direct:
            message.lease_owner, message.lease_until = self.owner, now + self.lease_ms
        return insert_row(session, message)

    def hand_over(self, messages: Iterable[OutgoingMessage], now: int) -> None:
        """After the commit: our leased rows go to the sender; any queued row wakes it."""
        if self._wake is None:
            return
        with self._lock:
            for message in messages:
                if message.lease_owner == self.owner and message.status == "pending":
                    self._handed.append(message)
                else:  # stored for a claim: look at once rather than after the idle period
                    self.claim_wanted = True
        self._wake()

    def take(self, limit: int) -> list[OutgoingMessage]:
        with self._lock:
            return [self._handed.popleft() for _ in range(min(limit, len(self._handed)))]
