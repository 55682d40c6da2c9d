"""Service errors, drawn once. The HTTP edges turn them into their own error shapes.

    ServiceError
    ├── NotFound        no such thing, or not the caller's (DSP: 404)
    ├── InvalidRequest  the request is well-formed but cannot be done (400), e.g. an offer that
    │                   differs from the published one, or a message that fits no state
    └── Conflict        it collides with what exists (409), e.g. a duplicate id

Each carries a machine-readable ``code`` and human ``reasons``.
"""

from __future__ import annotations


class ServiceError(Exception):
    status = 400

    def __init__(self, code: str, *reasons: str, path: str | None = None) -> None:
        self.code = code
        self.reasons = [r for r in reasons if r] or [code]
        self.path = path
        super().__init__("; ".join(self.reasons))


class NotFound(ServiceError):
    status = 404


class InvalidRequest(ServiceError):
    status = 400


class Conflict(ServiceError):
    status = 409
