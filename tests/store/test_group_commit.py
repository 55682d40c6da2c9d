"""Database.group_write: concurrent writers share one transaction; each keeps its own result or error."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import select

from connector.store import Database
from connector.store.models import ReceivedMessage
from tests.engine.sql_counter import counting


def _record(digest: str):  # type: ignore[no-untyped-def]
    def work(session):  # type: ignore[no-untyped-def]
        session.add(ReceivedMessage(digest=digest, process_id="p", status_code=200, response={}, created_at=1))
        session.flush()
        return digest
    return work


def test_concurrent_writes_share_commits_and_one_failure_undoes_only_itself(db: Database) -> None:
    first_in = threading.Event()

    def slow_first(session):  # type: ignore[no-untyped-def]
        first_in.set()
        deadline = time.monotonic() + 10
        while len(db._group) < 8 and time.monotonic() < deadline:  # the others queue behind this transaction
            time.sleep(0.001)
        return _record("d0")(session)

    def failing(session):  # type: ignore[no-untyped-def]
        _record("bad")(session)
        raise ValueError("refused")

    with counting(db.engine) as counts, ThreadPoolExecutor(9) as pool:
        futures = [pool.submit(db.group_write, slow_first)]
        assert first_in.wait(10)
        for i in range(1, 8):
            futures.append(pool.submit(db.group_write, _record(f"d{i}")))
        bad = pool.submit(db.group_write, failing)
        results = [f.result(timeout=30) for f in futures]
        with pytest.raises(ValueError, match="refused"):
            bad.result(timeout=30)
    assert results == [f"d{i}" for i in range(8)]
    with db.read() as session:
        assert sorted(session.exec(select(ReceivedMessage.digest))) == [f"d{i}" for i in range(8)]
    # nine writers, two commits: the eight that queued behind the first committed together
    assert counts.write_transactions == 2


def test_an_error_alone_rolls_its_transaction_back(db: Database) -> None:
    def failing(session):  # type: ignore[no-untyped-def]
        _record("x")(session)
        raise KeyError("nope")

    with pytest.raises(KeyError):
        db.group_write(failing)
    assert db.group_write(_record("y")) == "y"
    with db.read() as session:
        assert list(session.exec(select(ReceivedMessage.digest))) == ["y"]
