"""The audit log (connector.services.audit): append-only, hash-chained, signed checkpoints."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from ._columns import _json, _ms


class AuditEntry(SQLModel, table=True):
    """One audited event. ``hash`` is SHA-256 over the JCS form of the entry with ``prev_hash``, so a
    changed, removed or reordered entry breaks the chain (``connector audit verify``)."""

    __tablename__ = "audit_entry"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    at: int = _ms(index=True)
    actor: str = Field(max_length=512)
    kind: str = Field(max_length=64, index=True)
    # the ids the event is about: {"negotiation": ..., "agreement": ..., "transfer": ...}
    subject: dict[str, Any] = _json(nullable=False)
    details: dict[str, Any] = _json(nullable=False)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditCheckpoint(SQLModel, table=True):
    """The chain's head at entry ``seq``, signed with the connector's key (a Data Integrity proof)."""

    __tablename__ = "audit_checkpoint"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: str = Field(max_length=64)
    # {"type": "PontisAuditCheckpoint", connector, seq, hash, created, proof?}
    document: dict[str, Any] = _json(nullable=False)
    created_at: int = _ms()
