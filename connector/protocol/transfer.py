"""The transfer-process state machine of DSP 2025-1 as a pure transition table.

Keyed by (state, message, sender) like the negotiation table. SUSPENDED → COMPLETED is illegal,
and COMPLETED and TERMINATED are final. Either side may start (resume), suspend, complete or
terminate, as the HTTPS binding lets both POST those messages.
"""

from __future__ import annotations

from enum import StrEnum

from connector.protocol.errors import LocalProtocolError, RemoteProtocolError
from connector.protocol.negotiation import Role


class TransferState(StrEnum):
    REQUESTED = "REQUESTED"
    STARTED = "STARTED"
    SUSPENDED = "SUSPENDED"
    COMPLETED = "COMPLETED"
    TERMINATED = "TERMINATED"


class TransferMessage(StrEnum):
    REQUEST = "TransferRequestMessage"
    START = "TransferStartMessage"
    SUSPENSION = "TransferSuspensionMessage"
    COMPLETION = "TransferCompletionMessage"
    TERMINATION = "TransferTerminationMessage"


TRANSFER_TERMINAL_STATES = frozenset({TransferState.COMPLETED, TransferState.TERMINATED})

S = TransferState
M = TransferMessage
P, C = Role.PROVIDER, Role.CONSUMER
BOTH = (P, C)

TRANSITIONS: dict[tuple[TransferState | None, TransferMessage, Role], TransferState] = {
    (None, M.REQUEST, C): S.REQUESTED,
    (S.REQUESTED, M.START, P): S.STARTED,
    **{(S.REQUESTED, M.TERMINATION, r): S.TERMINATED for r in BOTH},
    **{(S.STARTED, M.COMPLETION, r): S.COMPLETED for r in BOTH},
    **{(S.STARTED, M.SUSPENSION, r): S.SUSPENDED for r in BOTH},
    **{(S.STARTED, M.TERMINATION, r): S.TERMINATED for r in BOTH},
    # resuming: the provider restarts, or the consumer asks to (the binding lets both POST start)
    **{(S.SUSPENDED, M.START, r): S.STARTED for r in BOTH},
    **{(S.SUSPENDED, M.TERMINATION, r): S.TERMINATED for r in BOTH},
}


def next_transfer_state(state: TransferState | None, message: TransferMessage, sender: Role) -> TransferState | None:
    return TRANSITIONS.get((state, message, sender))


def _explain(state: TransferState | None, message: TransferMessage, sender: Role) -> str:
    if state in TRANSFER_TERMINAL_STATES:
        return f"the transfer process is {state.value}, a terminal state; {message.value} is not accepted"
    if state is None:
        return f"{message.value} cannot start a transfer process; the consumer sends TransferRequestMessage"
    if state is S.SUSPENDED and message is M.COMPLETION:
        return "a SUSPENDED transfer process cannot complete; start (resume) or terminate it first"
    allowed = sorted({m.value for (s, m, r) in TRANSITIONS if s == state and r == sender})
    return (f"{message.value} from the {sender.lower()} is not allowed in state {state.value}; "
            f"allowed: {', '.join(allowed) or 'nothing'}")


def receive_transfer(role: Role, state: TransferState | None, message: TransferMessage) -> TransferState:
    new = next_transfer_state(state, message, role.other)
    if new is None:
        raise RemoteProtocolError(state, message.value, _explain(state, message, role.other))
    return new


def send_transfer(role: Role, state: TransferState | None, message: TransferMessage) -> TransferState:
    new = next_transfer_state(state, message, role)
    if new is None:
        raise LocalProtocolError(state, message.value, _explain(state, message, role))
    return new
