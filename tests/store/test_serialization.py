"""A read-modify-write inside db.write() with a row lock loses no update, on either engine.

PostgreSQL serializes it with SELECT ... FOR UPDATE; SQLite with BEGIN IMMEDIATE. The pause
between the read and the write leaves room for the other thread: without the lock, updates get
lost (PostgreSQL) or the transactions collide (SQLite).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from connector.store import Database
from connector.store.models import Negotiation

THREADS = 2
INCREMENTS = 50


def test_concurrent_increments_lose_no_update(db: Database) -> None:
    with db.write() as session:
        session.add(Negotiation(id="n", role="PROVIDER", state="REQUESTED", counterparty_id="c",
                                counterparty_address="https://c.example", updated_at=0))
    start = threading.Barrier(THREADS)

    def work(_: int) -> None:
        start.wait(timeout=10)
        for _ in range(INCREMENTS):
            with db.write() as session:
                neg = session.get(Negotiation, "n", with_for_update=True)
                seen = neg.updated_at
                time.sleep(0.0005)
                neg.updated_at = seen + 1
                session.add(neg)

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(work, range(THREADS), timeout=60))

    with db.read() as session:
        assert session.get(Negotiation, "n").updated_at == THREADS * INCREMENTS


def test_a_reader_is_not_blocked_by_a_writer(db: Database) -> None:
    """Reads see the last committed state while a write transaction is open (WAL on SQLite)."""
    with db.write() as session:
        session.add(Negotiation(id="n", role="PROVIDER", state="REQUESTED", counterparty_id="c",
                                counterparty_address="https://c.example", updated_at=1))
    locked, release = threading.Event(), threading.Event()

    def writer() -> None:
        with db.write() as session:
            neg = session.get(Negotiation, "n", with_for_update=True)
            neg.updated_at = 2
            session.add(neg)
            session.flush()
            locked.set()
            assert release.wait(timeout=10)

    with ThreadPoolExecutor(1) as pool:
        done = pool.submit(writer)
        assert locked.wait(timeout=10)
        try:
            started = time.monotonic()
            with db.read() as session:
                assert session.get(Negotiation, "n").updated_at == 1
            assert time.monotonic() - started < 2
        finally:
            release.set()
        done.result(timeout=10)
    with db.read() as session:
        assert session.get(Negotiation, "n").updated_at == 2
