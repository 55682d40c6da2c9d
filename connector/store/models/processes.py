"""The DSP processes and what they leave behind: negotiations, agreements, the outbox and the
answers to received messages, transfer processes, EDR grants and data flows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from ._columns import _json, _ms


class Negotiation(SQLModel, table=True):
    """A contract negotiation, in either role. ``id`` is our own process id (our *Pid)."""

    __tablename__ = "negotiation"
    __table_args__ = (
        UniqueConstraint("role", "counterparty_id", "consumer_pid", name="uq_negotiation_consumer_pid"),
        Index("ix_negotiation_provider_pid", "provider_pid"),
        Index("ix_negotiation_consumer_pid", "consumer_pid"),
    )

    id: str = Field(primary_key=True, max_length=200)
    role: str = Field(max_length=16)
    # the DSP wire state; INITIAL until the peer has acknowledged our first message
    state: str = Field(max_length=32)
    provider_pid: str | None = Field(default=None, max_length=512)
    consumer_pid: str | None = Field(default=None, max_length=512)
    counterparty_id: str = Field(max_length=512)
    # where the peer's DSP endpoints are: the provider's base, or the consumer's callbackAddress
    counterparty_address: str = Field(max_length=2048)
    offer_id: str | None = Field(default=None, max_length=1024)
    asset_id: str | None = Field(default=None, max_length=512)
    contract_definition_id: str | None = Field(default=None, max_length=512)
    # the latest offer on the table, DSP compact form
    offer: dict[str, Any] | None = _json(nullable=True)
    agreement_id: str | None = Field(default=None, max_length=512)
    error_detail: str | None = Field(default=None)
    # the structured reason behind a termination: {code, reasons: [...], by: local|peer}
    error: dict[str, Any] | None = _json(nullable=True)
    callback_addresses: list[Any] | None = _json(nullable=True)
    created_at: int = _ms()
    updated_at: int = _ms()


class Agreement(SQLModel, table=True):
    __tablename__ = "agreement"

    id: str = Field(primary_key=True, max_length=512)
    negotiation_id: str = Field(max_length=200, index=True)
    asset_id: str = Field(max_length=512, index=True)
    provider_id: str = Field(max_length=512)
    consumer_id: str = Field(max_length=512)
    # the Agreement in DSP compact form, as exchanged
    policy: dict[str, Any] = _json(nullable=False)
    signing_date: int = _ms()
    created_at: int = _ms()


class OutgoingMessage(SQLModel, table=True):
    """A DSP message waiting to be sent, with its retry schedule and lease stored as data."""

    __tablename__ = "outgoing_message"
    __table_args__ = (Index("ix_outgoing_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    process_id: str = Field(max_length=200, index=True)
    kind: str = Field(max_length=64)
    url: str = Field(max_length=2048)
    body: dict[str, Any] = _json(nullable=False)
    # pending → done | cancelled | failed
    status: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0)
    next_attempt_at: int = _ms()
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_until: int = _ms()
    last_error: str | None = Field(default=None)
    created_at: int = _ms()


class ReceivedMessage(SQLModel, table=True):
    """The answer given to a DSP message, so that a replay gets the same answer and changes nothing."""

    __tablename__ = "received_message"

    digest: str = Field(primary_key=True, max_length=64)
    process_id: str = Field(max_length=200, index=True)
    status_code: int
    response: dict[str, Any] | None = _json(nullable=True)
    created_at: int = _ms()


class TransferProcess(SQLModel, table=True):
    """A transfer process, in either role. ``id`` is our own process id (our *Pid)."""

    __tablename__ = "transfer_process"
    __table_args__ = (
        UniqueConstraint("role", "counterparty_id", "consumer_pid", name="uq_transfer_consumer_pid"),
        Index("ix_transfer_provider_pid", "provider_pid"),
        Index("ix_transfer_agreement", "agreement_id"),
    )

    id: str = Field(primary_key=True, max_length=200)
    role: str = Field(max_length=16)
    # the DSP wire state; INITIAL until the provider has acknowledged our request
    state: str = Field(max_length=32)
    provider_pid: str | None = Field(default=None, max_length=512)
    consumer_pid: str | None = Field(default=None, max_length=512)
    counterparty_id: str = Field(max_length=512)
    counterparty_address: str = Field(max_length=2048)
    agreement_id: str = Field(max_length=512)
    asset_id: str | None = Field(default=None, max_length=512)
    # the DSP format, e.g. HttpData-PULL or HttpData-PUSH
    transfer_type: str = Field(max_length=128)
    # push: where the provider sends the data (the consumer's DataAddress)
    data_destination: dict[str, Any] | None = _json(nullable=True)
    # pull: the endpoint and token the provider issued (consumer side: what it received)
    data_address: dict[str, Any] | None = _json(nullable=True)
    error: dict[str, Any] | None = _json(nullable=True)
    error_detail: str | None = Field(default=None)
    private_properties: dict[str, Any] | None = _json(nullable=True)
    callback_addresses: list[Any] | None = _json(nullable=True)
    created_at: int = _ms()
    updated_at: int = _ms()


class ConnectorSecret(SQLModel, table=True):
    """Secrets every replica of this connector shares, such as the key that signs EDR tokens."""

    __tablename__ = "connector_secret"

    name: str = Field(primary_key=True, max_length=128)
    value: dict[str, Any] = _json(nullable=False)
    created_at: int = _ms()


class EdrGrant(SQLModel, table=True):
    """One generation of a pull transfer's EDR: an access token (by its ``jti``) and its refresh token.

    The access token works only while its grant is ``active``; refreshing rotates the grant
    (single use), and ending the transfer revokes it. Only a hash of the refresh token is kept.
    """

    __tablename__ = "edr_grant"

    id: str = Field(primary_key=True, max_length=64)  # the access token's jti
    transfer_id: str = Field(max_length=200, index=True)
    refresh_hash: str = Field(max_length=64, unique=True)  # sha256 hex of the refresh token
    # active → rotated (refreshed) | revoked (the transfer ended, or the agreement no longer holds)
    status: str = Field(default="active", max_length=16)
    issued_at: int = _ms()
    expires_at: int = _ms()
    refresh_expires_at: int = _ms(index=True)
    reason: str | None = Field(default=None)


class DataFlow(SQLModel, table=True):
    """A provider push waiting to run, running (with a lease), or finished, keyed by its transfer."""

    __tablename__ = "data_flow"
    __table_args__ = (Index("ix_data_flow_due", "status", "lease_until"),)

    transfer_id: str = Field(primary_key=True, max_length=200)
    # pending → running → done | failed; cancelled when its transfer ended before it ran
    status: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0)
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_until: int = _ms()
    bytes_sent: int = _ms()
    error: str | None = Field(default=None)
    created_at: int = _ms()
    updated_at: int = _ms()
