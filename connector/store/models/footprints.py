"""Carbon footprints (connector.services.footprints, connector.services.pcf_exchange)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from ._columns import _json, _ms


class Footprint(SQLModel, table=True):
    """A PCF this company publishes: the io.catenax.pcf 8.0.0 document and the signed copy served.

    An update never edits a row: a new footprint (new id) names the old one in precedingPfIds and
    the old row turns Deprecated (PACT v3 lifecycle).
    """

    __tablename__ = "footprint"

    id: str = Field(primary_key=True, max_length=64)
    # the manufacturerPartId the footprint is for (its first product id, without urn prefixes)
    product_id: str = Field(max_length=512, index=True)
    product_ids: list[Any] = _json(nullable=False)
    # Active | Deprecated
    status: str = Field(max_length=16, index=True)
    document: dict[str, Any] = _json(nullable=False)
    signed: dict[str, Any] = _json(nullable=False)
    # the version it was imported in (cx7, cx8, cx9, pact2, pact3)
    source_format: str = Field(max_length=16)
    asset_id: str = Field(max_length=512)
    preceding_ids: list[Any] = _json(nullable=False)
    superseded_by: str | None = Field(default=None, max_length=64)
    created_at: int = _ms()
    updated_at: int = _ms()


class FootprintRecipient(SQLModel, table=True):
    """Who received which of our footprints: they are told when it is replaced (CX-0136 update=true)."""

    __tablename__ = "footprint_recipient"
    __table_args__ = (UniqueConstraint("footprint_id", "recipient_id", name="uq_footprint_recipient"),)

    id: int | None = Field(default=None, primary_key=True)
    footprint_id: str = Field(max_length=64, index=True)
    recipient_id: str = Field(max_length=512)
    recipient_bpn: str | None = Field(default=None, max_length=64)
    received_at: int = _ms()


class ReceivedFootprint(SQLModel, table=True):
    """A supplier's signed PCF as we received it (proof kept), for roll-ups and for showing others."""

    __tablename__ = "received_footprint"
    __table_args__ = (UniqueConstraint("supplier_id", "footprint_id", name="uq_received_footprint"),
                      Index("ix_received_footprint_product", "supplier_id", "product_id"))

    id: int | None = Field(default=None, primary_key=True)
    footprint_id: str = Field(max_length=64)
    supplier_id: str = Field(max_length=512)
    supplier_bpn: str | None = Field(default=None, max_length=64)
    product_id: str = Field(max_length=512)
    # Active | Deprecated (a later update from the supplier deprecates it)
    status: str = Field(max_length=16)
    signed: dict[str, Any] = _json(nullable=False)
    # the verification method that signed it
    signer: str = Field(max_length=1024)
    # pull (synchronous), response (CX-0136 PUT), update (CX-0136 PUT update=true)
    via: str = Field(max_length=16)
    request_id: str | None = Field(default=None, max_length=128, index=True)
    received_at: int = _ms()


class PcfExchangeRequest(SQLModel, table=True):
    """One CX-0136 asynchronous exchange, in either role, with its delivery state stored as data.

    customer: we asked (``GET /footprintExchange/{requestId}``) and wait for the supplier's PUT.
    supplier: a customer asked, or a footprint it received was replaced; the worker sends the PUT.
    """

    __tablename__ = "pcf_exchange_request"
    __table_args__ = (UniqueConstraint("role", "counterparty_id", "request_id", name="uq_pcf_exchange_request"),
                      Index("ix_pcf_exchange_due", "role", "status", "next_attempt_at"))

    id: int | None = Field(default=None, primary_key=True)
    role: str = Field(max_length=16)
    request_id: str = Field(max_length=128)
    counterparty_id: str = Field(max_length=512)
    counterparty_bpn: str | None = Field(default=None, max_length=64)
    product_id: str = Field(max_length=512)
    # pending → done | failed
    status: str = Field(default="pending", max_length=16)
    # an unsolicited update (update=true) rather than the answer to a request
    update: bool = Field(default=False)
    # legacy form (/productIds/{id}) when the customer asked that way
    legacy: bool = Field(default=False)
    footprint_id: str | None = Field(default=None, max_length=64)
    message: str | None = Field(default=None)
    error: str | None = Field(default=None)
    attempts: int = Field(default=0)
    next_attempt_at: int = _ms()
    created_at: int = _ms()
    updated_at: int = _ms()
