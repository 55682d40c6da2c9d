"""The jti replay cache every replica shares: table ``used_token_id`` (SQLite or PostgreSQL).

A token id is recorded until its token expires (plus leeway); a second use before then is a
replay, whichever replica saw the first. Two replicas recording the same id at the same moment
race on the primary key: one insert fails, and that one answers "replay". Expired rows are
pruned by the replica that records an id at least ``prune_seconds`` after its last prune; the
tokens' short lifetime (minutes) bounds what the table holds.
"""

from __future__ import annotations

import hashlib
import logging
import threading

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from connector.store.db import Database
from connector.store.models import UsedTokenId

log = logging.getLogger("pontis.identity")


def _key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class DatabaseReplayCache:
    """``first_use`` backed by the database (the ``TokenIds`` of connector.identity.dcp)."""

    def __init__(self, db: Database, *, prune_seconds: float = 60.0) -> None:
        self.db = db
        self.prune_seconds = prune_seconds
        self._last_prune = float("-inf")
        self._lock = threading.Lock()

    def first_use(self, key: str, expires_at: float, now: float) -> bool:
        """Record ``key`` until ``expires_at`` (seconds); False if it is recorded and not expired yet."""
        self._maybe_prune(now)
        digest, until, now_ms = _key(key), int(expires_at * 1000), int(now * 1000)
        try:
            with self.db.write() as session:
                row = session.get(UsedTokenId, digest)
                if row is not None and row.expires_at > now_ms:
                    return False
                if row is not None:  # an old, expired use of the same id: the id may be used again
                    row.expires_at = until
                else:
                    session.add(UsedTokenId(key=digest, expires_at=until))
        except IntegrityError:  # another replica recorded it between our read and our insert
            return False
        return True

    def prune(self, now: float) -> int:
        """Delete the ids whose tokens have expired; how many were deleted."""
        with self.db.write() as session:
            result = session.execute(delete(UsedTokenId).where(UsedTokenId.expires_at <= int(now * 1000)))  # type: ignore[arg-type]
        return int(getattr(result, "rowcount", 0) or 0)

    def _maybe_prune(self, now: float) -> None:
        with self._lock:
            if now - self._last_prune < self.prune_seconds:
                return
            self._last_prune = now
        removed = self.prune(now)
        if removed:
            log.debug("replay cache: pruned %d expired token ids", removed)
