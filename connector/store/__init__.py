"""Persistence: one SQLModel store on SQLite (default) or PostgreSQL, with Alembic migrations.

Long processes (negotiations, their outgoing messages) are rows advanced by workers. Outgoing
messages carry their retry schedule and a row lease, so replicas sharing PostgreSQL never send
the same message twice at once.
"""

from connector.store.db import Database, now_ms

__all__ = ["Database", "now_ms"]
