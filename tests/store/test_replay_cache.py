"""The jti replay cache is the database's: replicas sharing it refuse each other's used tokens until they expire."""

from __future__ import annotations

from sqlmodel import select

from connector.services.replay import DatabaseReplayCache
from connector.store import Database
from connector.store.models import UsedTokenId


def test_a_token_id_seen_by_one_replica_is_a_replay_at_the_other(db: Database) -> None:
    replica_a, replica_b = DatabaseReplayCache(db), DatabaseReplayCache(db)
    assert replica_a.first_use("did:web:a jti-1", expires_at=1_000.0, now=900.0)
    assert not replica_b.first_use("did:web:a jti-1", expires_at=1_000.0, now=950.0)
    assert not replica_a.first_use("did:web:a jti-1", expires_at=1_000.0, now=999.0)
    assert replica_b.first_use("did:web:b jti-1", expires_at=1_000.0, now=950.0)  # another issuer's id


def test_an_expired_id_may_be_used_again(db: Database) -> None:
    cache = DatabaseReplayCache(db)
    assert cache.first_use("k", expires_at=100.0, now=50.0)
    assert cache.first_use("k", expires_at=300.0, now=200.0)
    assert not cache.first_use("k", expires_at=300.0, now=250.0)


def test_expired_ids_are_pruned(db: Database) -> None:
    cache = DatabaseReplayCache(db, prune_seconds=60)
    for n in range(5):
        assert cache.first_use(f"old-{n}", expires_at=100.0, now=10.0)
    assert cache.first_use("live", expires_at=10_000.0, now=20.0)
    assert cache.prune(now=500.0) == 5
    with db.read() as session:
        assert len(session.exec(select(UsedTokenId)).all()) == 1
    # the next use after prune_seconds prunes by itself
    assert cache.first_use("old-again", expires_at=600.0, now=550.0)
    assert cache.first_use("later", expires_at=9_000.0, now=700.0)  # 60 s after the last prune: old-again (expired at 600) goes
    with db.read() as session:
        keys = len(session.exec(select(UsedTokenId)).all())
    assert keys == 2  # live and later


def test_keys_are_stored_hashed_whatever_their_length(db: Database) -> None:
    cache = DatabaseReplayCache(db)
    long_key = "did:web:" + "x" * 3000 + " " + "j" * 500
    assert cache.first_use(long_key, expires_at=100.0, now=1.0)
    assert not cache.first_use(long_key, expires_at=100.0, now=2.0)
