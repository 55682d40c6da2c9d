"""Who we know and what proves it: peers added at run time, the shared jti replay cache, our
Gaia-X credentials."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from ._columns import _json, _ms


class StoredPeer(SQLModel, table=True):
    """A peer added at run time (``connector peer add``, ``/v3/peers``), beside the config's
    read-only ``[[peers]]``; the same fields. ``token`` is the static token the peer presents to us."""

    __tablename__ = "peer"

    id: str = Field(primary_key=True, max_length=512)
    token: str | None = Field(default=None, max_length=512)
    dsp_url: str | None = Field(default=None, max_length=2048)
    bpn: str | None = Field(default=None, max_length=64)
    claims: dict[str, Any] = _json(nullable=False)
    created_at: int = _ms()


class UsedTokenId(SQLModel, table=True):
    """A self-issued token's ``jti`` (with its issuer), kept until the token expires: the replay cache
    every replica shares (connector.services.replay). Rows past ``expires_at`` are pruned."""

    __tablename__ = "used_token_id"
    __table_args__ = (Index("ix_used_token_id_expires_at", "expires_at"),)

    # "<issuer DID> <jti>", hashed: a DID and a jti may each be long
    key: str = Field(primary_key=True, max_length=64)
    expires_at: int = _ms()


class GaiaxCredential(SQLModel, table=True):
    """Our Gaia-X credentials (connector.gaiax): the label and the VC-JWTs it covers, plus the
    offering credentials. Written all at once when an onboarding succeeds, replacing the previous
    set, so a half-finished onboarding leaves nothing behind."""

    __tablename__ = "gaiax_credential"

    id: str = Field(primary_key=True, max_length=1024)
    # label, legal-person, issuer, registration, service-offering, data-product
    kind: str = Field(max_length=32, index=True)
    jwt: str = Field(sa_column=Column(Text, nullable=False))
    valid_until: str | None = Field(default=None, max_length=64)
    created_at: int = _ms()
