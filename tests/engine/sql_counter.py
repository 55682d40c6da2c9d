"""Counting what a piece of work costs the database: SQL statements and write transactions.

A *write transaction* is one that took the write lock (SQLite's ``BEGIN IMMEDIATE``, the
``pontis_write`` execution option) or changed a row; a read-only transaction is not one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

_WRITES = ("INSERT", "UPDATE", "DELETE")
_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@dataclass
class Counts:
    statements: int = 0
    write_transactions: int = 0
    transactions: int = 0
    _writing: set[int] = field(default_factory=set)
    log: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.write_transactions} write transactions, {self.statements} statements"


@contextmanager
def counting(engine: Engine) -> Iterator[Counts]:
    counts = Counts()

    def on_execute(conn: Connection, cursor: Any, statement: str, *args: Any) -> None:
        head = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if head in _CONTROL or head == "PRAGMA":
            return
        counts.statements += 1
        counts.log.append(" ".join(statement.split())[:110])
        if head in _WRITES or conn.get_execution_options().get("pontis_write"):
            counts._writing.add(id(conn))

    def on_begin(conn: Connection) -> None:
        counts.transactions += 1
        if conn.get_execution_options().get("pontis_write"):
            counts._writing.add(id(conn))

    def on_end(conn: Connection) -> None:
        if id(conn) in counts._writing:
            counts._writing.discard(id(conn))
            counts.write_transactions += 1

    def on_rollback(conn: Connection) -> None:
        counts._writing.discard(id(conn))

    listeners = [("before_cursor_execute", on_execute), ("begin", on_begin), ("commit", on_end),
                 ("rollback", on_rollback)]
    for name, fn in listeners:
        event.listen(engine, name, fn)
    try:
        yield counts
    finally:
        for name, fn in listeners:
            event.remove(engine, name, fn)
