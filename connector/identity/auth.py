"""Authentication of DSP callers, and the token we present to peers."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Participant:
    """A verified caller: its participant id and the claims the policy engine may use."""

    id: str
    claims: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # the authenticated id is the caller's DID for the policy engine (claim "did", Factory-X
        # BusinessPartnerDID): set here, so no configured or presented claim can say otherwise
        object.__setattr__(self, "claims", {**self.claims, "did": self.id})

    @property
    def bpn(self) -> str | None:
        value = self.claims.get("bpn")
        return value if isinstance(value, str) else None


class Authenticator(Protocol):
    def authenticate(self, authorization: str | None) -> Participant | None:
        """The caller behind an Authorization header, or None when it proves nothing."""

    def outgoing_token(self, counterparty_id: str | None) -> str | None:
        """The Authorization header value to send to a peer."""


def presented_token(authorization: str | None) -> str | None:
    """The bare token of an Authorization header (with or without ``Bearer``), or None."""
    if not authorization:
        return None
    token = authorization.strip()
    return token[7:].strip() if token.lower().startswith("bearer ") else token


class StaticTokenAuthenticator:
    """Maps configured tokens to participant ids. For dev, tests and the TCK profile only."""

    def __init__(self, tokens: dict[str, Participant], own_token: str | None) -> None:
        self._tokens = dict(tokens)
        self._own_token = own_token

    def authenticate(self, authorization: str | None) -> Participant | None:
        token = presented_token(authorization)
        return self.participant_for(token) if token else None

    def participant_for(self, token: str) -> Participant | None:
        """The participant a bare token names (subclasses look elsewhere, e.g. the peer directory)."""
        for known, participant in self._tokens.items():
            # constant-time compare: a token is a secret
            if hmac.compare_digest(known.encode(), token.encode()):
                return participant
        return None

    def outgoing_token(self, counterparty_id: str | None) -> str | None:
        return self._own_token
