"""Alembic environment: the engine is handed in by connector.store.migrate (no alembic.ini)."""

from alembic import context
from sqlmodel import SQLModel

import connector.store.models  # noqa: F401  (registers the tables)

target_metadata = SQLModel.metadata
engine = context.config.attributes.get("engine")
if engine is None:  # `alembic` run by hand: take the URL from the environment
    import os

    from connector.store.db import Database

    engine = Database(os.environ.get("DATABASE_URL", "sqlite:///var/pontis.db")).engine

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
