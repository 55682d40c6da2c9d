"""Engine and sessions for SQLite (embedded default) and PostgreSQL (production).

SQLite: WAL, a busy timeout, and ``BEGIN IMMEDIATE`` for write transactions, so that a
read-modify-write of a negotiation is serialized exactly as ``SELECT ... FOR UPDATE`` does it on
PostgreSQL. Reads use plain deferred transactions and never block writers.

``group_write`` is group commit: threads that want a short write at the same moment hand their
work to one of them (the leader), which runs it all in one transaction, each piece under its
own savepoint (one piece's error undoes that piece only), and commits once. Every caller
returns only after the commit that holds its work.

Replicas on one PostgreSQL can deadlock on each other's rows, or lose a serialization check; the
server then aborts one side. A piece (or a whole batch) that lost that way is run again after the
batch, each piece alone in its own transaction, a few times with a short, jittered pause: it is
the other replica's turn first. ``work`` must therefore be safe to run again from the start (it
sees only the rolled-back state; its caller acts on the result only after ``group_write`` returns).
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

T = TypeVar("T")


class _Job(Generic[T]):
    __slots__ = ("work", "done", "lead", "result", "error")

    def __init__(self, work: Callable[[Session], T]) -> None:
        self.work = work
        self.done = threading.Event()
        self.lead = False
        self.result: Any = None
        self.error: BaseException | None = None


def lost_to_another_transaction(exc: BaseException) -> bool:
    """A deadlock or serialization failure (PostgreSQL): the work was right, the moment was not."""
    try:
        from psycopg import errors
    except ImportError:  # SQLite only: a single writer never deadlocks
        return False
    orig = getattr(exc, "orig", exc)  # SQLAlchemy wraps the driver's error
    return isinstance(orig, (errors.DeadlockDetected, errors.SerializationFailure))


def now_ms() -> int:
    return int(time.time() * 1000)


def _private_sqlite_files(database: str) -> None:
    """The database and its -wal and -shm files readable by the owner only: they hold live EDR
    tokens and agreements. SQLite gives -wal and -shm the mode of the database file, so creating
    that one 0600 (before SQLite does, with the umask's 0644) covers all three."""
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for name in (database, database + "-wal", database + "-shm", database + "-journal"):
        try:
            if os.stat(name).st_mode & 0o077:
                os.chmod(name, 0o600)  # an older install's world-readable files
        except FileNotFoundError:
            pass


def _sqlite_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
        _private_sqlite_files(parsed.database)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=8,
        max_overflow=8,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # take transaction control away from pysqlite so that we can say BEGIN IMMEDIATE
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        write = conn.get_execution_options().get("pontis_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def normalize_url(url: str) -> str:
    """Accept the URLs people write (postgres://, postgresql://) and use psycopg 3 for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


class Database:
    """One engine, two kinds of session: ``read()`` and ``write()``."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self._write_lock = threading.Lock()
        self._group_lock = threading.Lock()
        self._group: list[_Job[Any]] = []
        self._group_busy = False
        self.group_limit = 64
        # how often a piece that lost a deadlock or serialization check runs again, alone
        self.retry_limit = 5
        self.retry_pause = 0.02
        if self.is_sqlite:
            self.engine = _sqlite_engine(self.url)
        else:
            self.engine = create_engine(self.url, pool_size=10, max_overflow=10, pool_pre_ping=True)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction commits on exit and rolls back on any exception."""
        if self.is_sqlite:
            # SQLite has one writer at a time. Threads of this process queue on a lock, handed
            # over at once; left to SQLite's busy handler they would sleep in 10-100 ms steps.
            with self._write_lock:
                with self._write_session() as session:
                    yield session
        else:
            with self._write_session() as session:
                yield session

    def group_write(self, work: Callable[[Session], T]) -> T:
        """Run ``work(session)`` in a write transaction shared with concurrent callers (group commit)."""
        job: _Job[T] = _Job(work)
        with self._group_lock:
            self._group.append(job)
            lead = not self._group_busy
            self._group_busy = True
        if not lead:
            job.done.wait()
        if lead or job.lead:
            self._lead()
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[no-any-return]

    def _lead(self) -> None:
        with self._group_lock:
            batch, self._group = self._group[:self.group_limit], self._group[self.group_limit:]
        self._run_batch(batch)
        for job in batch:
            if job.error is not None and lost_to_another_transaction(job.error):
                self._run_alone(job)
        with self._group_lock:
            if self._group:  # those who queued meanwhile: the first of them leads the next batch
                self._group[0].lead = True
                self._group[0].done.set()
            else:
                self._group_busy = False
        for job in batch:
            job.done.set()

    def _run_alone(self, job: _Job[Any]) -> None:
        """Run a piece that lost to another transaction again, in its own transaction, a few times."""
        for attempt in range(1, self.retry_limit + 1):
            time.sleep(self.retry_pause * attempt * (0.5 + random.random()))  # the winner commits first
            job.error = job.result = None
            try:
                with self.write() as session:
                    job.result = job.work(session)
                return
            except Exception as exc:
                job.error = exc
                if not lost_to_another_transaction(exc):
                    return

    def _run_batch(self, batch: list[_Job[Any]]) -> None:
        try:
            with self.write() as session:
                if len(batch) == 1:
                    batch[0].result = batch[0].work(session)
                else:
                    for job in batch:
                        try:
                            with session.begin_nested():
                                job.result = job.work(session)
                        except Exception as exc:  # this job's error, the others go on
                            job.error = exc
        except BaseException as exc:  # the commit failed: nothing of the batch holds
            for job in batch:
                job.error = job.error or exc

    @contextmanager
    def _write_session(self) -> Iterator[Session]:
        with self.engine.connect() as conn:
            conn.execution_options(pontis_write=True)
            with Session(bind=conn, expire_on_commit=False) as session:
                try:
                    yield session
                    session.commit()
                except BaseException:
                    session.rollback()
                    raise

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        from connector.store.migrate import upgrade

        upgrade(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
