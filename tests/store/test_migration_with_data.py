"""A database that holds data at the first revision upgrades to the newest with nothing lost, and
the audit log starts on it (on both engines)."""

from __future__ import annotations

import json

from alembic import command
from sqlalchemy import text

from connector.services.audit import AuditTrail
from connector.store import Database
from connector.store.migrate import alembic_config
from connector.store.models import Agreement, Asset, AuditEntry, ContractDefinition, Negotiation

MS = 1_790_000_000_123


def test_an_upgrade_from_the_first_revision_keeps_the_data(database_url: str) -> None:
    db = Database(database_url)
    try:
        command.upgrade(alembic_config(db.engine), "0001")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO asset (id, properties, private_properties, data_address, created_at) "
                              "VALUES ('a-1', :p, '{}', :d, :ms)"),
                         {"p": json.dumps({"name": "ü"}), "d": json.dumps({"type": "HttpData"}), "ms": MS})
            conn.execute(text("INSERT INTO contract_definition (id, access_policy_id, contract_policy_id, "
                              "assets_selector, private_properties, created_at) VALUES ('cd-1', 'p', 'p', '[]', '{}', :ms)"),
                         {"ms": MS})
            conn.execute(text("INSERT INTO negotiation (id, role, state, counterparty_id, counterparty_address, "
                              "asset_id, agreement_id, created_at, updated_at) VALUES ('n-1', 'provider', 'FINALIZED', "
                              "'did:web:c', 'http://c', 'a-1', 'ag-1', :ms, :ms)"), {"ms": MS})
            conn.execute(text("INSERT INTO agreement (id, negotiation_id, asset_id, provider_id, consumer_id, policy, "
                              "signing_date, created_at) VALUES ('ag-1', 'n-1', 'a-1', 'did:web:p', 'did:web:c', :p, "
                              ":ms, :ms)"), {"p": json.dumps({"@type": "Agreement"}), "ms": MS})
        db.migrate()
        with db.read() as session:
            asset = session.get(Asset, "a-1")
            assert asset is not None and asset.properties == {"name": "ü"} and asset.created_at == MS
            definition = session.get(ContractDefinition, "cd-1")
            assert definition is not None and definition.asset_id is None  # a column added later
            agreement = session.get(Agreement, "ag-1")
            assert agreement is not None and agreement.policy == {"@type": "Agreement"}
        # the audit log starts on the upgraded database
        trail = AuditTrail(db, "did:web:p", clock=lambda: MS).install()
        try:
            with db.write() as session:
                negotiation = session.get(Negotiation, "n-1")
                assert negotiation is not None
                negotiation.state = "TERMINATED"
                session.add(negotiation)
            with db.read() as session:
                entries = list(session.query(AuditEntry).all())
            assert [(e.seq, e.kind, e.subject["negotiation"]) for e in entries] == [(1, "negotiation.terminated", "n-1")]
            assert trail.verify().ok
        finally:
            trail.uninstall()
    finally:
        db.dispose()
