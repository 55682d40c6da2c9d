"""Who is calling the management API: the staff member behind an ``X-Api-Key`` and their role."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from connector.config import Settings


@dataclass(frozen=True)
class Staff:
    name: str
    role: str  # admin | operator | read-only


def identify(settings: Settings, headers: Mapping[str, str]) -> Staff | None:
    """The staff member whose key is in ``X-Api-Key``, or None."""
    given = headers.get("x-api-key")
    if not given:
        return None
    if hmac.compare_digest(given.encode(), settings.api_key.encode()):
        return Staff("api_key", "admin")
    return None
