"""The tables, one SQLModel class per entity. JSON columns hold compact, already-validated shapes.

Times are epoch milliseconds (int), the same on both engines and what EDC's API shows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def _json(**kw: Any) -> Any:
    return Field(default=None, sa_column=Column(JSON(none_as_null=True), **kw))


def _ms(**kw: Any) -> Any:
    return Field(default=0, sa_column=Column(BigInteger, nullable=False, **kw))


class Asset(SQLModel, table=True):
    __tablename__ = "asset"

    id: str = Field(primary_key=True, max_length=512)
    properties: dict[str, Any] = _json(nullable=False)
    private_properties: dict[str, Any] = _json(nullable=False)
    data_address: dict[str, Any] = _json(nullable=False)
    created_at: int = _ms()


class PolicyDefinition(SQLModel, table=True):
    __tablename__ = "policy_definition"

    id: str = Field(primary_key=True, max_length=512)
    # the policy in the DSP compact vocabulary (a Set), as connector.policy.codec writes it
    policy: dict[str, Any] = _json(nullable=False)
    private_properties: dict[str, Any] = _json(nullable=False)
    created_at: int = _ms()


class ContractDefinition(SQLModel, table=True):
    __tablename__ = "contract_definition"

    id: str = Field(primary_key=True, max_length=512)
    access_policy_id: str = Field(max_length=512)
    contract_policy_id: str = Field(max_length=512)
    # a list of criteria {operandLeft, operator, operandRight}, all of which must hold
    assets_selector: list[Any] = _json(nullable=False)
    # set when the selector is exactly ``id = X``: the catalog finds such definitions by index
    asset_id: str | None = Field(default=None, max_length=512, index=True)
    private_properties: dict[str, Any] = _json(nullable=False)
    created_at: int = _ms()


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


class BusinessPartnerGroup(SQLModel, table=True):
    """The groups a business partner (by BPN) belongs to, for BusinessPartnerGroup constraints."""

    __tablename__ = "business_partner_group"

    bpn: str = Field(primary_key=True, max_length=64)
    groups: list[Any] = _json(nullable=False)
    updated_at: int = _ms()


class AcceptedPolicy(SQLModel, table=True):
    """A policy this connector, as consumer, is willing to agree to (an offer must fit inside one)."""

    __tablename__ = "accepted_policy"

    id: str = Field(primary_key=True, max_length=512)
    # the policy in the DSP compact vocabulary, as connector.policy.codec writes it
    policy: dict[str, Any] = _json(nullable=False)
    created_at: int = _ms()


class OfferProof(SQLModel, table=True):
    """Provider: our Data Integrity proof over a catalog offer (with its target and assigner).

    Keyed by the offer id, which names the contract definition, the asset and a hash of the
    policy: a changed offer has a new id and gets a new proof; an unchanged one keeps its proof."""

    __tablename__ = "offer_proof"

    offer_id: str = Field(primary_key=True, max_length=2048)
    asset_id: str = Field(max_length=512, index=True)
    # the key (DID URL) and suite that made it: a rotated key or another suite means a new proof
    verification_method: str = Field(max_length=512)
    cryptosuite: str = Field(max_length=32)
    proof: dict[str, Any] = _json(nullable=False)
    created_at: int = _ms()


class SignedOffer(SQLModel, table=True):
    """Consumer: the provider-signed offer a negotiation started from, as verified (a standalone
    document with its proof); the agreement reached by that negotiation links to it."""

    __tablename__ = "signed_offer"

    negotiation_id: str = Field(primary_key=True, max_length=200)
    offer_id: str = Field(max_length=2048)
    provider_id: str = Field(max_length=512)
    document: dict[str, Any] = _json(nullable=False)
    created_at: int = _ms()
# --- carbon footprints (connector.services.footprints, connector.services.pcf_exchange) -------------


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


# --- part provenance: the Digital Twin Registry and the submodels we serve (connector.parts) ---------


class PartTwin(SQLModel, table=True):
    """A digital twin in our registry: its AAS shell descriptor, without its submodel descriptors."""

    __tablename__ = "part_twin"

    id: str = Field(primary_key=True, max_length=2048)  # the AAS id (urn:uuid:<random v4>)
    # the part's globalAssetId/catenaXId, lower case without urn:uuid: (both forms find it)
    global_key: str | None = Field(default=None, max_length=2048, unique=True)
    # the descriptor as the AAS API shows it to the owner (specificAssetIds with externalSubjectIds)
    descriptor: dict[str, Any] = _json(nullable=False)
    created_at: int = _ms()
    updated_at: int = _ms()


class TwinAssetId(SQLModel, table=True):
    """One specificAssetId of a twin, indexed for look-ups (its visibility is in the descriptor)."""

    __tablename__ = "twin_asset_id"
    __table_args__ = (Index("ix_twin_asset_id_name_value", "name", "value"),)

    id: int | None = Field(default=None, primary_key=True)
    twin_id: str = Field(max_length=2048, index=True)
    name: str = Field(max_length=64)
    value: str = Field(max_length=2048)


class TwinSubmodel(SQLModel, table=True):
    """A submodel descriptor of a twin and, when we serve it ourselves, the aspect payload."""

    __tablename__ = "twin_submodel"

    id: str = Field(primary_key=True, max_length=2048)  # the submodel descriptor's id
    twin_id: str = Field(max_length=2048, index=True)
    semantic_id: str | None = Field(default=None, max_length=512)  # the aspect URN
    descriptor: dict[str, Any] = _json(nullable=False)
    payload: dict[str, Any] | None = _json(nullable=True)
    created_at: int = _ms()
    updated_at: int = _ms()


# --- part provenance: traversal jobs (connector.provenance.jobs) -------------------------------------


class ProvenanceJob(SQLModel, table=True):
    """A traversal job (IRS RegisterJob): parameters, state, lease, and what it has found so far."""

    __tablename__ = "provenance_job"
    __table_args__ = (Index("ix_provenance_job_due", "state", "lease_until"),)

    id: str = Field(primary_key=True, max_length=64)
    # INITIAL → RUNNING → COMPLETED | CANCELED | ERROR
    state: str = Field(max_length=16)
    global_asset_id: str = Field(max_length=512)
    bpn: str = Field(max_length=64)
    parameter: dict[str, Any] = _json(nullable=False)
    # the item graph (relationships, shells, submodels, tombstones, bpns, nodes), partial while RUNNING
    result: dict[str, Any] | None = _json(nullable=True)
    summary: dict[str, Any] | None = _json(nullable=True)
    # {exception, errorDetail, exceptionDate} when it ended in ERROR
    exception: dict[str, Any] | None = _json(nullable=True)
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_until: int = _ms()
    attempts: int = Field(default=0)
    deadline_at: int = _ms()
    created_at: int = _ms()
    started_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    completed_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    updated_at: int = _ms()


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


# --- the audit log (connector.services.audit): append-only, hash-chained, signed checkpoints ----------


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
