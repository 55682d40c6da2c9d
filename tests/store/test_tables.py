"""Every table round-trips on both engines: JSON columns, epoch milliseconds, constraints, rollback."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, select

from connector.store import Database
from connector.store.models import (
    AcceptedPolicy,
    Agreement,
    Asset,
    AuditCheckpoint,
    AuditEntry,
    BusinessPartnerGroup,
    ConnectorSecret,
    ContractDefinition,
    DataFlow,
    EdrGrant,
    Footprint,
    FootprintRecipient,
    GaiaxCredential,
    Negotiation,
    OfferProof,
    OutgoingMessage,
    PartTwin,
    PcfExchangeRequest,
    PolicyDefinition,
    ProvenanceJob,
    ReceivedFootprint,
    ReceivedMessage,
    SignedOffer,
    StoredPeer,
    TransferProcess,
    TwinAssetId,
    TwinSubmodel,
    UsedTokenId,
)

# beyond 2**31 (an INTEGER column would overflow on PostgreSQL) and beyond 2**32 ms
MS = 1_790_000_000_123
LATE_MS = 2**53 - 1

# nested objects and lists, unicode in keys and values, every JSON scalar
NESTED = {
    "@context": ["https://w3id.org/dspace/2025/1/context.jsonld", {"cx": "https://w3id.org/catenax/"}],
    "name": "Bremsscheibe Ø 330 mm — 制动盘 🚗",
    "Größe": {"wert": 3.25, "einheit": "mm", "tags": ["α", "β", {"γ": None}]},
    "flags": [True, False, None, 0, -1, 1.5e300],
    "empty": {"list": [], "object": {}, "string": ""},
    "quote\"and\\backslash": "line\nbreak\ttab",
}


def negotiation(id: str = "urn:uuid:n1", **kw) -> Negotiation:  # type: ignore[no-untyped-def]
    fields = dict(
        id=id, role="PROVIDER", state="REQUESTED", provider_pid=id, consumer_pid="urn:uuid:c1",
        counterparty_id="did:web:consumer", counterparty_address="https://consumer.example/dsp",
        created_at=MS, updated_at=MS,
    )
    fields.update(kw)
    return Negotiation(**fields)


ROWS: list[SQLModel] = [
    Asset(id="asset-ä", properties=NESTED, private_properties={"secret": "ß"},
          data_address={"type": "HttpData", "baseUrl": "https://backend.example/ü", "headers": {"X-A": ["1", "2"]}},
          created_at=MS),
    PolicyDefinition(id="policy-1", policy={"@type": "Set", "permission": [{"action": "use", "constraint": [NESTED]}]},
                     private_properties={}, created_at=MS),
    ContractDefinition(id="cd-1", access_policy_id="policy-1", contract_policy_id="policy-1",
                       assets_selector=[{"operandLeft": "id", "operator": "=", "operandRight": "asset-ä"}],
                       asset_id="asset-ä", private_properties={"note": "ünïcödé"}, created_at=MS),
    negotiation(offer_id="offer:1", asset_id="asset-ä", contract_definition_id="cd-1", offer=NESTED,
                agreement_id="agr-1", error_detail="nichts", error={"by": "peer", "code": "x", "reasons": ["ä", "b"]},
                callback_addresses=[{"uri": "https://cb.example", "events": ["contract.negotiation"]}],
                updated_at=LATE_MS),
    Agreement(id="agr-1", negotiation_id="urn:uuid:n1", asset_id="asset-ä", provider_id="did:web:p",
              consumer_id="did:web:c", policy=NESTED, signing_date=LATE_MS, created_at=MS),
    OutgoingMessage(process_id="urn:uuid:n1", kind="ContractAgreementMessage", url="https://consumer.example/dsp/x",
                    body=NESTED, status="pending", attempts=3, next_attempt_at=LATE_MS, lease_owner="worker-ü",
                    lease_until=MS, last_error="timeout — again", created_at=MS),
    ReceivedMessage(digest="ab" * 32, process_id="urn:uuid:n1", status_code=201, response=NESTED, created_at=MS),
    TransferProcess(id="urn:uuid:t1", role="CONSUMER", state="STARTED", provider_pid="urn:uuid:p1",
                    consumer_pid="urn:uuid:t1", counterparty_id="did:web:p", counterparty_address="https://p/dsp",
                    agreement_id="agr-1", asset_id="asset-ä", transfer_type="HttpData-PULL",
                    data_destination={"@type": "DataAddress", "endpointType": "HTTP"}, data_address=NESTED,
                    error={"by": "local", "code": "x", "reasons": ["ü"]}, error_detail="ü",
                    private_properties={"consumerClaims": {"bpn": "BPNL00000ACHSEAG"}}, callback_addresses=[],
                    created_at=MS, updated_at=LATE_MS),
    ConnectorSecret(name="edr-signing-key", value={"seed": "AAAA", "note": "ß"}, created_at=MS),
    BusinessPartnerGroup(bpn="BPNL00000ACHSEAG", groups=["gold", "tier-1 ü"], updated_at=LATE_MS),
    AcceptedPolicy(id="pcf-terms", policy=NESTED, created_at=MS),
    StoredPeer(id="did:web:partner.example.com", token="t" * 32, dsp_url="https://partner.example.com/api/dsp/2025-1",
               bpn="BPNL000000000002", claims=NESTED, created_at=MS),
    UsedTokenId(key="ab" * 32, expires_at=LATE_MS),
    GaiaxCredential(id="https://partner.example.com/gaiax/credentials/label-ü.json", kind="label",
                    jwt="eyJ" + "x" * 5000, valid_until="2027-12-06T00:00:00Z", created_at=MS),
    EdrGrant(id="jti-1", transfer_id="urn:uuid:t1", refresh_hash="cd" * 32, status="active", issued_at=MS,
             expires_at=LATE_MS, refresh_expires_at=LATE_MS, reason="ü"),
    DataFlow(transfer_id="urn:uuid:t1", status="running", attempts=2, lease_owner="node-ü", lease_until=LATE_MS,
             bytes_sent=LATE_MS, error="receiver said 500 — ü", created_at=MS, updated_at=MS),
    Footprint(id="3893bb5d-da16-4dc1-9185-11d97476c254", product_id="NG-WC-400", product_ids=["urn:mpn:NG-WC-400"],
              status="Active", document=NESTED, signed=NESTED, source_format="pact-3", asset_id="pcf-NG-WC-400",
              preceding_ids=["ö-1"], superseded_by=None, created_at=MS, updated_at=LATE_MS),
    FootprintRecipient(footprint_id="3893bb5d-da16-4dc1-9185-11d97476c254", recipient_id="did:web:ü",
                       recipient_bpn="BPNL00000ACHSEAG", received_at=LATE_MS),
    ReceivedFootprint(footprint_id="f-1", supplier_id="did:web:nordguss", supplier_bpn="BPNL0000000NGUSS",
                      product_id="NG-WC-400", status="Deprecated", signed=NESTED, signer="did:web:nordguss#key-1",
                      via="update", request_id="r-ü", received_at=LATE_MS),
    PcfExchangeRequest(role="supplier", request_id="r-1", counterparty_id="did:web:achsen", counterparty_bpn=None,
                       product_id="NG-WC-400", status="pending", update=True, legacy=True, footprint_id="f-1",
                       message="bitte — ü", error=None, attempts=2, next_attempt_at=LATE_MS, created_at=MS,
                       updated_at=MS),
    PartTwin(id="urn:uuid:twin-1", global_key="5b1d0e8a-3c2f-4a6b-9d7e-1f0a2b3c4d5e", descriptor=NESTED,
             created_at=MS, updated_at=LATE_MS),
    TwinAssetId(twin_id="urn:uuid:twin-1", name="partInstanceId", value="AX-2026-000123 ü"),
    TwinSubmodel(id="urn:uuid:sm-1", twin_id="urn:uuid:twin-1", semantic_id="urn:samm:io.catenax.batch:4.0.0#Batch",
                 descriptor=NESTED, payload=NESTED, created_at=MS, updated_at=LATE_MS),
    OfferProof(offer_id="cd-1:asset-ä:" + "h" * 64, asset_id="asset-ä", verification_method="did:web:ü#key-1",
               cryptosuite="eddsa-jcs-2022", proof=NESTED, created_at=LATE_MS),
    SignedOffer(negotiation_id="urn:uuid:n1", offer_id="cd-1:asset-ä:h", provider_id="did:web:nordguss",
                document=NESTED, created_at=MS),
    ProvenanceJob(id="job-ü", state="RUNNING", global_asset_id="urn:uuid:twin-1", bpn="BPNL00000MOTORWK",
                  parameter=NESTED, result=NESTED, summary=None, exception=None, lease_owner="node-ü",
                  lease_until=LATE_MS, attempts=3, deadline_at=LATE_MS, created_at=MS, started_at=MS,
                  completed_at=None, updated_at=LATE_MS),
    AuditEntry(seq=LATE_MS, at=MS, actor="staff:ü", kind="management.write", subject=NESTED, details=NESTED,
               prev_hash="0" * 64, hash="f" * 64),
    AuditCheckpoint(seq=LATE_MS, hash="f" * 64, document=NESTED, created_at=MS),
]
AUTO_ID = (OutgoingMessage, FootprintRecipient, ReceivedFootprint, PcfExchangeRequest, TwinAssetId)


def key(row: SQLModel):  # type: ignore[no-untyped-def]
    if isinstance(row, ReceivedMessage):
        return row.digest
    if isinstance(row, ConnectorSecret):
        return row.name
    if isinstance(row, BusinessPartnerGroup):
        return row.bpn
    if isinstance(row, DataFlow):
        return row.transfer_id
    if isinstance(row, OfferProof):
        return row.offer_id
    if isinstance(row, UsedTokenId):
        return row.key
    if isinstance(row, SignedOffer):
        return row.negotiation_id
    if isinstance(row, AuditEntry | AuditCheckpoint):
        return row.seq
    return row.id  # type: ignore[attr-defined]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: type(r).__tablename__)
def test_round_trip(db: Database, row: SQLModel) -> None:
    model = type(row)
    written = row.model_dump()
    with db.write() as session:
        stored = model.model_validate(written)
        session.add(stored)
        session.flush()
        ident = key(stored)
    assert ident is not None

    with db.read() as session:
        loaded = session.get(model, ident)
        assert loaded is not None
        read = loaded.model_dump()
    if model in AUTO_ID:
        assert isinstance(read.pop("id"), int)
        written.pop("id")
    assert read == written
    for name, value in read.items():
        assert type(value) is type(written[name]), name  # an int comes back an int, not a str or Decimal

    # update: JSON columns are replaced as a whole, numbers keep their width
    with db.write() as session:
        loaded = session.get(model, ident)
        for name, value in written.items():
            if isinstance(value, (dict, list)):
                setattr(loaded, name, {"replaced": ["ü", {"n": 1}]} if isinstance(value, dict) else [{"ü": 2}])
            elif name in ("created_at", "updated_at", "signing_date", "next_attempt_at", "lease_until"):
                setattr(loaded, name, value + 1)
        session.add(loaded)
    with db.read() as session:
        again = session.get(model, ident).model_dump()
    for name, value in written.items():
        if isinstance(value, dict):
            assert again[name] == {"replaced": ["ü", {"n": 1}]}, name
        elif isinstance(value, list):
            assert again[name] == [{"ü": 2}], name
        elif name in ("created_at", "updated_at", "signing_date", "next_attempt_at", "lease_until"):
            assert again[name] == value + 1, name

    with db.write() as session:
        session.delete(session.get(model, ident))
    with db.read() as session:
        assert session.get(model, ident) is None
        assert session.exec(select(func.count()).select_from(model)).one() == 0


def test_every_table_is_covered() -> None:
    assert {type(r).__tablename__ for r in ROWS} == set(SQLModel.metadata.tables)


def test_nullable_columns_take_none(db: Database) -> None:
    with db.write() as session:
        session.add(negotiation(provider_pid=None, consumer_pid=None))
    with db.read() as session:
        neg = session.get(Negotiation, "urn:uuid:n1")
        assert (neg.provider_pid, neg.consumer_pid, neg.offer, neg.error, neg.callback_addresses) == (None,) * 5


def test_outgoing_message_ids_are_assigned_in_order(db: Database) -> None:
    with db.write() as session:
        rows = [OutgoingMessage(process_id="p", kind="k", url="u", body={"i": i}) for i in range(3)]
        session.add_all(rows)
        session.flush()
        ids = [r.id for r in rows]
    assert ids == sorted(ids) and len(set(ids)) == 3
    with db.read() as session:
        loaded = session.exec(select(OutgoingMessage).order_by(OutgoingMessage.id)).all()
        assert [m.body["i"] for m in loaded] == [0, 1, 2]
        assert {(m.status, m.attempts, m.lease_owner) for m in loaded} == {("pending", 0, None)}


def test_a_second_process_for_the_same_consumer_pid_is_refused(db: Database) -> None:
    with db.write() as session:
        session.add(negotiation("urn:uuid:n1"))
    with pytest.raises(IntegrityError):
        with db.write() as session:
            session.add(negotiation("urn:uuid:n2"))
    # the same consumerPid from another counterparty, or in the other role, is another process
    with db.write() as session:
        session.add(negotiation("urn:uuid:n3", counterparty_id="did:web:other"))
        session.add(negotiation("urn:uuid:n4", role="CONSUMER"))
    with db.read() as session:
        assert sorted(session.exec(select(Negotiation.id)).all()) == ["urn:uuid:n1", "urn:uuid:n3", "urn:uuid:n4"]


def test_a_primary_key_is_unique(db: Database) -> None:
    with db.write() as session:
        session.add(ReceivedMessage(digest="d", process_id="p", status_code=200))
    with pytest.raises(IntegrityError):
        with db.write() as session:
            session.add(ReceivedMessage(digest="d", process_id="q", status_code=201))
    with db.read() as session:
        assert session.get(ReceivedMessage, "d").process_id == "p"


class Boom(Exception):
    pass


def test_write_rolls_back_on_exception(db: Database) -> None:
    with db.write() as session:
        session.add(negotiation(state="REQUESTED"))
    with pytest.raises(Boom):
        with db.write() as session:
            neg = session.get(Negotiation, "urn:uuid:n1", with_for_update=True)
            neg.state = "AGREED"
            session.add(neg)
            session.add(Agreement(id="agr-1", negotiation_id=neg.id, asset_id="a", provider_id="p",
                                  consumer_id="c", policy={}))
            session.add(OutgoingMessage(process_id=neg.id, kind="k", url="u", body={}))
            session.flush()  # the rows reached the database inside the transaction
            raise Boom()
    with db.read() as session:
        assert session.get(Negotiation, "urn:uuid:n1").state == "REQUESTED"
        assert session.exec(select(Agreement)).all() == []
        assert session.exec(select(OutgoingMessage)).all() == []
    # and the store is usable afterwards (no lock or transaction left behind)
    with db.write() as session:
        session.get(Negotiation, "urn:uuid:n1", with_for_update=True).state = "AGREED"
    with db.read() as session:
        assert session.get(Negotiation, "urn:uuid:n1").state == "AGREED"


def test_write_commits_on_success(db: Database) -> None:
    with db.write() as session:
        session.add(negotiation())
    other = Database(db.url)  # another engine: nothing is served from a cache or an open transaction
    try:
        with other.read() as session:
            assert session.get(Negotiation, "urn:uuid:n1") is not None
    finally:
        other.dispose()
