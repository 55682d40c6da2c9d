"""Our stored Gaia-X credentials (table ``gaiax_credential``): replaced as one set, read by kind."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, delete, select

from connector.store.db import Database, now_ms
from connector.store.models import GaiaxCredential

from .jose import peek


@dataclass(frozen=True)
class StoredCredential:
    id: str
    kind: str
    jwt: str
    valid_until: str | None


def replace_all(db: Database, credentials: list[tuple[str, str]]) -> None:
    """Store ``(kind, vc_jwt)`` pairs as our whole credential set, in one transaction."""
    rows = []
    for kind, token in credentials:
        payload = peek(token)[1]
        rows.append(GaiaxCredential(id=str(payload.get("id")), kind=kind, jwt=token,
                                    valid_until=payload.get("validUntil"), created_at=now_ms()))
    with db.write() as session:
        session.exec(delete(GaiaxCredential))
        for row in rows:
            session.add(row)


def add(db: Database, kind: str, tokens: list[str]) -> None:
    """Add (or replace, by id) credentials of one kind, e.g. offering credentials after onboarding."""
    with db.write() as session:
        session.exec(delete(GaiaxCredential).where(col(GaiaxCredential.kind) == kind))
        for token in tokens:
            payload = peek(token)[1]
            session.add(GaiaxCredential(id=str(payload.get("id")), kind=kind, jwt=token,
                                        valid_until=payload.get("validUntil"), created_at=now_ms()))


def load(db: Database, kind: str | None = None) -> list[StoredCredential]:
    with db.read() as session:
        query = select(GaiaxCredential)
        if kind is not None:
            query = query.where(GaiaxCredential.kind == kind)
        return [StoredCredential(r.id, r.kind, r.jwt, r.valid_until)
                for r in session.exec(query.order_by(GaiaxCredential.created_at, GaiaxCredential.id))]  # type: ignore[arg-type]


def by_id(db: Database, credential_id: str) -> StoredCredential | None:
    with db.read() as session:
        row = session.get(GaiaxCredential, credential_id)
        return StoredCredential(row.id, row.kind, row.jwt, row.valid_until) if row else None
