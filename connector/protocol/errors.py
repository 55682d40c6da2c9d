"""Protocol errors, drawn once.

    ProtocolError            a message does not fit the state machine
    ├── LocalProtocolError   we were asked to send something the protocol forbids (our caller's fault)
    └── RemoteProtocolError  the peer sent something the protocol forbids (DSP answers 400)

Both carry the state and the message, so every refusal can say exactly what was wrong.
"""

from __future__ import annotations


class ProtocolError(Exception):
    def __init__(self, state: str | None, message: str, detail: str) -> None:
        self.state = state
        self.message = message
        self.detail = detail
        super().__init__(detail)

    def __str__(self) -> str:
        return self.detail


class LocalProtocolError(ProtocolError):
    """Raised when our own side tries a transition the table does not allow."""


class RemoteProtocolError(ProtocolError):
    """Raised when a peer's message does not fit the current state."""
