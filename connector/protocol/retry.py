"""Retry schedule for outgoing messages, as data: the caller passes ``now`` and stores the result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff. ``limit`` counts attempts in all, the first one included."""

    base_seconds: float = 0.5
    factor: float = 2.0
    cap_seconds: float = 60.0
    limit: int = 7

    def delay(self, attempts: int) -> float:
        """Seconds to wait after ``attempts`` failed attempts (attempts >= 1)."""
        return min(self.cap_seconds, self.base_seconds * self.factor ** max(0, attempts - 1))

    def next_attempt(self, attempts: int, now: datetime) -> datetime | None:
        """When to try again after ``attempts`` failures, or None once the limit is spent."""
        if attempts >= self.limit:
            return None
        return now + timedelta(seconds=self.delay(attempts))
