"""The Alembic migrations build exactly the schema the models describe, on both engines."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import connector.store.models  # noqa: F401  (registers the tables)
from connector.store import Database
from connector.store.migrate import alembic_config

TABLES = {
    "asset", "policy_definition", "contract_definition", "negotiation", "agreement",
    "outgoing_message", "received_message", "transfer_process", "connector_secret",
    "edr_grant", "data_flow", "business_partner_group", "accepted_policy", "offer_proof", "signed_offer",
    "footprint", "footprint_recipient", "received_footprint", "pcf_exchange_request",
    "part_twin", "twin_asset_id", "twin_submodel", "provenance_job", "peer", "used_token_id", "gaiax_credential",
    "audit_entry", "audit_checkpoint",
}


def head(db: Database) -> str:
    return ScriptDirectory.from_config(alembic_config(db.engine)).get_current_head()


def tables(db: Database) -> set[str]:
    return set(inspect(db.engine).get_table_names())


def diff(db: Database) -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, SQLModel.metadata)


def test_the_fixture_database_starts_empty(database_url: str) -> None:
    db = Database(database_url)
    try:
        assert tables(db) == set()
    finally:
        db.dispose()


def test_migrations_apply_to_an_empty_database(database_url: str) -> None:
    db = Database(database_url)
    try:
        db.migrate()
        assert tables(db) == TABLES | {"alembic_version"}
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head(db)]
    finally:
        db.dispose()


def test_the_models_match_the_migrations(db: Database) -> None:
    assert set(SQLModel.metadata.tables) == TABLES, "a table was added: add it to TABLES and to a migration"
    assert diff(db) == []


def test_migrating_again_changes_nothing(db: Database) -> None:
    db.migrate()
    assert tables(db) == TABLES | {"alembic_version"}
    assert diff(db) == []


def test_downgrade_to_base_and_upgrade_again(db: Database) -> None:
    cfg = alembic_config(db.engine)
    command.downgrade(cfg, "base")
    assert tables(db) <= {"alembic_version"}
    command.upgrade(cfg, "head")
    assert tables(db) == TABLES | {"alembic_version"}
    assert diff(db) == []
