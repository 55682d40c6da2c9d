"""Database.group_write: a piece that lost a deadlock or serialization check to another replica runs again, alone."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from psycopg import errors
from sqlalchemy import text
from sqlmodel import select

from connector.store import Database
from connector.store.models import ReceivedMessage


def _record(digest: str, status: int = 200):  # type: ignore[no-untyped-def]
    def work(session):  # type: ignore[no-untyped-def]
        session.add(ReceivedMessage(digest=digest, process_id="p", status_code=status, response={}, created_at=1))
        session.flush()
        return digest
    return work


def _stored(db: Database) -> list[str]:
    with db.read() as session:
        return sorted(session.exec(select(ReceivedMessage.digest)))


@pytest.mark.parametrize("error", [errors.DeadlockDetected("deadlock detected"),
                                   errors.SerializationFailure("could not serialize access")])
def test_a_piece_that_lost_to_another_transaction_runs_again_and_its_first_attempt_leaves_nothing(
        db: Database, error: Exception) -> None:
    attempts: list[int] = []

    def loses_once(session):  # type: ignore[no-untyped-def]
        attempts.append(len(attempts) + 1)
        _record(f"try-{len(attempts)}")(session)
        if len(attempts) == 1:
            raise error
        return "done"

    assert db.group_write(loses_once) == "done"
    assert attempts == [1, 2]
    assert _stored(db) == ["try-2"]  # the lost attempt was rolled back; the caller returns after the commit


def test_in_a_batch_only_the_loser_runs_again_and_the_others_commit_once(db: Database) -> None:
    release = threading.Event()
    calls = {"slow": 0, "loser": 0}

    def slow_first(session):  # type: ignore[no-untyped-def]
        calls["slow"] += 1
        release.wait(10)  # the others queue behind this transaction and form one batch
        return _record("first")(session)

    def loser(session):  # type: ignore[no-untyped-def]
        calls["loser"] += 1
        _record(f"loser-{calls['loser']}")(session)
        if calls["loser"] == 1:
            raise errors.DeadlockDetected("deadlock detected")
        return "loser"

    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(db.group_write, slow_first)]
        while not db._group_busy:
            pass
        futures += [pool.submit(db.group_write, _record(f"d{i}")) for i in range(4)]
        futures.append(pool.submit(db.group_write, loser))
        while len(db._group) < 5:
            pass
        release.set()
        results = [f.result(timeout=30) for f in futures]
    assert results == ["first", "d0", "d1", "d2", "d3", "loser"]
    assert calls == {"slow": 1, "loser": 2}
    assert _stored(db) == ["d0", "d1", "d2", "d3", "first", "loser-2"]


def test_a_piece_that_keeps_losing_gives_up_with_the_error(db: Database) -> None:
    db.retry_pause = 0.001

    def always_loses(session):  # type: ignore[no-untyped-def]
        _record("never")(session)
        raise errors.DeadlockDetected("deadlock detected")

    with pytest.raises(errors.DeadlockDetected):
        db.group_write(always_loses)
    assert _stored(db) == []


@pytest.mark.postgres
def test_two_replicas_deadlocking_on_each_others_rows_both_commit(database_url: str) -> None:
    """A real deadlock on PostgreSQL: two Database objects (two replicas) lock two rows in opposite order."""
    if database_url.startswith("sqlite"):
        pytest.skip("one SQLite writer at a time: no deadlock between writers")
    replicas = [Database(database_url), Database(database_url)]
    try:
        replicas[0].migrate()
        for digest in ("a", "b"):
            replicas[0].group_write(_record(digest))
        both_hold_one = threading.Barrier(2, timeout=10)
        runs = {"a": 0, "b": 0}

        def lock_in_order(first: str, second: str):  # type: ignore[no-untyped-def]
            def work(session):  # type: ignore[no-untyped-def]
                runs[first] += 1
                session.execute(text("UPDATE received_message SET status_code = status_code + 1 WHERE digest = :d"),
                                {"d": first})
                if runs[first] == 1:  # the first attempt: wait until the other replica holds its row
                    both_hold_one.wait()
                session.execute(text("UPDATE received_message SET status_code = status_code + 1 WHERE digest = :d"),
                                {"d": second})
                return first
            return work

        with ThreadPoolExecutor(2) as pool:
            one = pool.submit(replicas[0].group_write, lock_in_order("a", "b"))
            other = pool.submit(replicas[1].group_write, lock_in_order("b", "a"))
            assert {one.result(timeout=60), other.result(timeout=60)} == {"a", "b"}
        # PostgreSQL aborted one side; it ran again (on a loaded machine, perhaps more than once)
        assert min(runs.values()) == 1 and max(runs.values()) >= 2, runs
        with replicas[0].read() as session:
            codes = {d: c for d, c in session.exec(select(ReceivedMessage.digest, ReceivedMessage.status_code)).all()}
        assert codes == {"a": 202, "b": 202}  # each replica's two updates, once each
    finally:
        for replica in replicas:
            replica.dispose()
