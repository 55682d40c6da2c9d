"""The Dataspace Protocol's state machines and messages, pure: no I/O, no clock, no database.

Every change of a negotiation's state goes through ``negotiation.transition``; a message that
matches no row of the table is refused with an error naming the state and the message.
"""

from connector.protocol.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from connector.protocol.negotiation import (
    TERMINAL_STATES,
    NegotiationMessage,
    NegotiationState,
    Role,
    next_state,
    receive,
    send,
)

__all__ = [
    "LocalProtocolError",
    "NegotiationMessage",
    "NegotiationState",
    "ProtocolError",
    "RemoteProtocolError",
    "Role",
    "TERMINAL_STATES",
    "next_state",
    "receive",
    "send",
]
