"""Per-peer rate limits: a token bucket per caller (its participant id once authenticated, its
address before), refilled at ``rate`` a second up to ``burst``. Time is an argument (``take``'s
``now_ms``); the edge passes ``clock()``, a monotonic clock unless a test sets another."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


class RateLimited(Exception):
    """Too many requests from one caller; ``retry_after`` seconds until one more is allowed."""

    def __init__(self, caller: str, retry_after: int) -> None:
        self.caller = caller
        self.retry_after = retry_after
        super().__init__(f"{caller}: too many requests; retry after {retry_after} s")


@dataclass
class _Bucket:
    tokens: float
    at_ms: int


class RateLimiter:
    # buckets of callers idle this long are forgotten (a full bucket is what a new one is)
    FORGET_MS = 600_000

    def __init__(self, rate: float, burst: int, clock: Callable[[], int] | None = None) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock or (lambda: int(time.monotonic() * 1000))
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, caller: str, now_ms: int) -> None:
        """Spend one request of ``caller``'s bucket, or raise RateLimited."""
        with self._lock:
            bucket = self._buckets.get(caller)
            if bucket is None:
                if len(self._buckets) > 100_000:
                    self._forget(now_ms)
                bucket = self._buckets[caller] = _Bucket(float(self.burst), now_ms)
            elapsed = max(0, now_ms - bucket.at_ms) / 1000
            bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate)
            bucket.at_ms = now_ms
            if bucket.tokens < 1:
                raise RateLimited(caller, max(1, math.ceil((1 - bucket.tokens) / self.rate)))
            bucket.tokens -= 1

    def _forget(self, now_ms: int) -> None:
        for caller in [c for c, b in self._buckets.items() if now_ms - b.at_ms > self.FORGET_MS]:
            del self._buckets[caller]
