"""Writing the audit chain: entries appended in the same transaction as the change they record.

Agreements, transfer state changes and policy denials are seen as the rows change (a SQLAlchemy
``before_flush`` hook on the sessions of an audited database), so the process engine needs no call
of its own and an entry is never written for a change that was rolled back. Data-plane accesses and
management writes are recorded by their HTTP edges through :meth:`AuditTrail.record`.

Appends are serialized (one chain): SQLite has one writer anyway; on PostgreSQL a transaction-scoped
advisory lock is taken before the head is read.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.base import PASSIVE_NO_INITIALIZE
from sqlmodel import Session, col, select

from connector.services.audit.chain import (
    GENESIS,
    ChainReport,
    build_extract,
    checkpoint_document,
    entry_hash,
    signed,
    verify_chain,
)
from connector.store import Database
from connector.store.models import AuditCheckpoint, AuditEntry, Negotiation, TransferProcess

log = logging.getLogger("pontis.audit")

# who is acting: the staff member of a management request (set by its edge), else the connector itself
_actor: ContextVar[str | None] = ContextVar("pontis_audit_actor", default=None)
# the data-plane request being served: its edge counts the bytes, the data flow names the transfer
data_access: ContextVar[dict[str, Any] | None] = ContextVar("pontis_data_access", default=None)
_LOCK_KEY = 0x504F4E54  # "PONT": the PostgreSQL advisory lock that serializes appends
_HEAD = "pontis_audit_head"
_trails: weakref.WeakKeyDictionary[Engine, AuditTrail] = weakref.WeakKeyDictionary()
TRANSFER_STATES = {"STARTED": "transfer.started", "COMPLETED": "transfer.completed",
                   "TERMINATED": "transfer.terminated", "SUSPENDED": "transfer.suspended"}


@contextmanager
def acting_as(actor: str | None) -> Iterator[None]:
    """Entries written inside (in this task and the threads it starts) name ``actor``."""
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


def note_transfer(transfer_id: str) -> None:
    """The data flow's hook: this request's token named ``transfer_id`` (no-op outside an audit)."""
    holder = data_access.get()
    if holder is not None:
        holder["transfer"] = transfer_id


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def as_dict(entry: AuditEntry) -> dict[str, Any]:
    return {"seq": entry.seq, "at": entry.at, "actor": entry.actor, "kind": entry.kind,
            "subject": dict(entry.subject or {}), "details": dict(entry.details or {}),
            "prev_hash": entry.prev_hash, "hash": entry.hash}


class AuditTrail:
    """The audit chain of one connector's database."""

    def __init__(self, db: Database, connector: str, *, identity: Any = None, checkpoint_every: int = 1000,
                 clock: Callable[[], int]) -> None:
        self.db = db
        self.connector = connector
        self.identity = identity  # connector.identity.wallet.LocalIdentity: signs checkpoints and extracts
        self.checkpoint_every = checkpoint_every
        self.clock = clock
        # told of each entry as it is appended (kind, details), e.g. the metrics' denial counter
        self.listeners: list[Callable[[str, Mapping[str, Any]], None]] = []

    def install(self) -> AuditTrail:
        """Audit the rows written through this database's sessions from now on."""
        _trails[self.db.engine] = self
        if not event.contains(Session, "before_flush", _before_flush):
            event.listen(Session, "before_flush", _before_flush)
            event.listen(Session, "after_commit", _forget_head)
            # also after a savepoint's rollback (a failed piece of a group commit): the head it
            # appended went with it, and the next piece reads the head again
            event.listen(Session, "after_rollback", _forget_head)
        return self

    def uninstall(self) -> None:
        _trails.pop(self.db.engine, None)

    # --- appending -------------------------------------------------------------------------------

    def _head(self, session: Session) -> tuple[int, str]:
        head = session.info.get(_HEAD)
        if head is None:
            conn = session.connection()
            if not self.db.is_sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            row = conn.execute(select(AuditEntry.seq, AuditEntry.hash)
                               .order_by(col(AuditEntry.seq).desc()).limit(1)).first()
            head = (int(row[0]), str(row[1])) if row is not None else (0, GENESIS)
        return head

    def append(self, session: Session, kind: str, subject: Mapping[str, Any], details: Mapping[str, Any],
               actor: str | None = None) -> AuditEntry:
        """Add an entry to ``session``'s transaction (committed with it); a checkpoint every N."""
        seq, previous = self._head(session)
        now = self.clock()
        content: dict[str, Any] = {
            "seq": seq + 1, "at": now, "actor": actor or _actor.get() or "connector", "kind": kind,
            "subject": {k: v for k, v in subject.items() if v is not None},
            "details": {k: v for k, v in details.items() if v is not None}, "prev_hash": previous}
        entry = AuditEntry(**content, hash=entry_hash(content))
        session.add(entry)
        session.info[_HEAD] = (entry.seq, entry.hash)
        for listener in self.listeners:
            listener(kind, content["details"])
        if self.checkpoint_every and entry.seq % self.checkpoint_every == 0:
            self._checkpoint(session, entry.seq, entry.hash, now)
        return entry

    def record(self, kind: str, subject: Mapping[str, Any], details: Mapping[str, Any],
               actor: str | None = None) -> None:
        """Append one entry for an HTTP edge: in a write transaction shared with concurrent writers
        (group commit), committed when this returns."""
        who = actor or _actor.get()  # read here: the group's leader may run the append in another thread
        self.db.group_write(lambda session: self.append(session, kind, subject, details, who))

    def record_access(self, transfer_id: str, details: Mapping[str, Any]) -> None:
        """A data-plane access: who (the transfer's consumer), which agreement, how many bytes."""
        with self.db.write() as session:
            transfer = session.get(TransferProcess, transfer_id)
            subject = {"transfer": transfer_id, "agreement": transfer.agreement_id if transfer else None,
                       "asset": transfer.asset_id if transfer else None}
            actor = transfer.counterparty_id if transfer is not None else None
            self.append(session, "dataplane.access", subject, details, actor)

    def _checkpoint(self, session: Session, seq: int, head: str, now: int) -> dict[str, Any]:
        created = iso(now)[:19] + "Z"
        key = self.identity.key if self.identity is not None else None
        document = signed(checkpoint_document(self.connector, seq, head, created), key, created)
        if session.get(AuditCheckpoint, seq) is None:
            session.add(AuditCheckpoint(seq=seq, hash=head, document=document, created_at=now))
        return document

    def checkpoint(self) -> dict[str, Any] | None:
        """Sign the chain's head now (``connector audit checkpoint``); None when the log is empty."""
        with self.db.write() as session:
            seq, head = self._head(session)
            return self._checkpoint(session, seq, head, self.clock()) if seq else None

    # --- reading ---------------------------------------------------------------------------------

    def _resolve(self) -> Callable[[str], Any] | None:
        return self.identity.keys.resolve if self.identity is not None else None

    def verify(self) -> ChainReport:
        """The whole stored chain and every checkpoint."""
        with self.db.read() as session:
            rows = session.exec(select(AuditEntry).order_by(col(AuditEntry.seq))
                                .execution_options(yield_per=2000))
            entries = (as_dict(row) for row in rows)
            checkpoints = [c.document for c in session.exec(select(AuditCheckpoint)
                                                            .order_by(col(AuditCheckpoint.seq)))]
            return verify_chain(entries, checkpoints, self._resolve())

    def export(self, start_ms: int | None, end_ms: int | None) -> dict[str, Any]:
        """The entries with ``start_ms <= at < end_ms`` and the checkpoints among them, signed."""
        with self.db.read() as session:
            query = select(AuditEntry).order_by(col(AuditEntry.seq))
            if start_ms is not None:
                query = query.where(col(AuditEntry.at) >= start_ms)
            if end_ms is not None:
                query = query.where(col(AuditEntry.at) < end_ms)
            entries = [as_dict(row) for row in session.exec(query)]
            checkpoints: list[dict[str, Any]] = []
            if entries:
                checkpoints = [c.document for c in session.exec(
                    select(AuditCheckpoint).where(col(AuditCheckpoint.seq) >= entries[0]["seq"],
                                                  col(AuditCheckpoint.seq) <= entries[-1]["seq"])
                    .order_by(col(AuditCheckpoint.seq)))]
        key = self.identity.key if self.identity is not None else None
        methods = self.identity.keys.verification_methods() if self.identity is not None else []
        window = {"from": iso(start_ms) if start_ms is not None else None,
                  "to": iso(end_ms) if end_ms is not None else None}
        return build_extract(self.connector, entries, checkpoints, methods, key, iso(self.clock())[:19] + "Z",
                             window)

    # --- what the rows say -----------------------------------------------------------------------

    def observe(self, session: Session, row: Any) -> None:
        # two attributes' histories, without building the row's whole attribute view
        tracked = instance_state(row)
        state = tracked.get_history("state", PASSIVE_NO_INITIALIZE).added
        new_state = state[0] if state else None
        if isinstance(row, Negotiation):
            subject = {"negotiation": row.id, "agreement": row.agreement_id, "asset": row.asset_id}
            details: dict[str, Any] = {"role": row.role, "counterparty": row.counterparty_id}
            error = tracked.get_history("error", PASSIVE_NO_INITIALIZE).added
            if error and isinstance(error[0], dict) and error[0].get("denials"):
                self.append(session, "policy.denied", subject, {**details, "code": error[0].get("code"),
                            "reasons": error[0].get("reasons"), "denials": error[0].get("denials")})
            if new_state == "FINALIZED":
                self.append(session, "agreement.finalized", subject, details)
            elif new_state == "TERMINATED":
                self.append(session, "negotiation.terminated", subject, {**details, "error": row.error})
        elif isinstance(row, TransferProcess) and new_state in TRANSFER_STATES:
            self.append(session, TRANSFER_STATES[new_state],
                        {"transfer": row.id, "agreement": row.agreement_id, "asset": row.asset_id},
                        {"role": row.role, "counterparty": row.counterparty_id, "type": row.transfer_type,
                         "error": row.error if new_state == "TERMINATED" else None})


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    if not _trails:
        return
    try:
        bind = session.get_bind()
    except Exception:  # noqa: BLE001  (an unbound session writes nothing we audit)
        return
    trail = _trails.get(bind.engine)
    if trail is None:
        return
    for row in [*session.new, *session.dirty]:
        if isinstance(row, Negotiation | TransferProcess):
            trail.observe(session, row)


def _forget_head(session: Session) -> None:
    session.info.pop(_HEAD, None)
