"""The contract-negotiation state machine of DSP 2025-1 as a pure transition table.

The table is keyed by (state, message, sender). The same table serves both roles: a consumer
*receives* what the provider sends, and the other way round. ``state is None`` is a process that
does not exist yet, so the two initial messages start one.

Termination may be sent by either side in any non-terminal state: the spec's prose allows it,
although its diagram is stricter. Terminal states accept nothing.
"""

from __future__ import annotations

from enum import StrEnum

from connector.protocol.errors import LocalProtocolError, RemoteProtocolError


class Role(StrEnum):
    PROVIDER = "PROVIDER"
    CONSUMER = "CONSUMER"

    @property
    def other(self) -> Role:
        return Role.CONSUMER if self is Role.PROVIDER else Role.PROVIDER


class NegotiationState(StrEnum):
    """The wire states DSP defines. Internal work (what is waiting to be sent) is kept elsewhere."""

    REQUESTED = "REQUESTED"
    OFFERED = "OFFERED"
    ACCEPTED = "ACCEPTED"
    AGREED = "AGREED"
    VERIFIED = "VERIFIED"
    FINALIZED = "FINALIZED"
    TERMINATED = "TERMINATED"


class NegotiationMessage(StrEnum):
    """One member per DSP message that moves a negotiation (event messages split by eventType)."""

    CONTRACT_REQUEST = "ContractRequestMessage"
    CONTRACT_OFFER = "ContractOfferMessage"
    ACCEPTED = "ContractNegotiationEventMessage:ACCEPTED"
    AGREEMENT = "ContractAgreementMessage"
    VERIFICATION = "ContractAgreementVerificationMessage"
    FINALIZED = "ContractNegotiationEventMessage:FINALIZED"
    TERMINATION = "ContractNegotiationTerminationMessage"


TERMINAL_STATES = frozenset({NegotiationState.FINALIZED, NegotiationState.TERMINATED})

S = NegotiationState
M = NegotiationMessage
P, C = Role.PROVIDER, Role.CONSUMER

# Who may send each message. Termination is the only one both sides send.
SENDERS: dict[NegotiationMessage, frozenset[Role]] = {
    M.CONTRACT_REQUEST: frozenset({C}),
    M.CONTRACT_OFFER: frozenset({P}),
    M.ACCEPTED: frozenset({C}),
    M.AGREEMENT: frozenset({P}),
    M.VERIFICATION: frozenset({C}),
    M.FINALIZED: frozenset({P}),
    M.TERMINATION: frozenset({P, C}),
}

TRANSITIONS: dict[tuple[NegotiationState | None, NegotiationMessage, Role], NegotiationState] = {
    (None, M.CONTRACT_REQUEST, C): S.REQUESTED,
    (None, M.CONTRACT_OFFER, P): S.OFFERED,
    (S.REQUESTED, M.CONTRACT_OFFER, P): S.OFFERED,
    (S.REQUESTED, M.AGREEMENT, P): S.AGREED,
    (S.OFFERED, M.CONTRACT_REQUEST, C): S.REQUESTED,
    (S.OFFERED, M.ACCEPTED, C): S.ACCEPTED,
    (S.ACCEPTED, M.AGREEMENT, P): S.AGREED,
    (S.AGREED, M.VERIFICATION, C): S.VERIFIED,
    (S.VERIFIED, M.FINALIZED, P): S.FINALIZED,
}
for _state in S:
    if _state not in TERMINAL_STATES:
        for _sender in Role:
            TRANSITIONS[(_state, M.TERMINATION, _sender)] = S.TERMINATED
del _state, _sender


def next_state(
    state: NegotiationState | None, message: NegotiationMessage, sender: Role
) -> NegotiationState | None:
    """The state after ``sender`` sends ``message`` in ``state``, or None if no row matches."""
    return TRANSITIONS.get((state, message, sender))


def _explain(state: NegotiationState | None, message: NegotiationMessage, sender: Role) -> str:
    where = f"in state {state.value}" if state is not None else "with no negotiation yet"
    if state in TERMINAL_STATES:
        return f"the negotiation is {state.value}, a terminal state; {message.value} is not accepted"
    if sender not in SENDERS[message]:
        senders = "/".join(sorted(r.lower() for r in SENDERS[message]))
        return f"{message.value} is sent by the {senders}, not by the {sender.lower()} ({where})"
    if state is None:
        return f"{message.value} cannot start a negotiation"
    allowed = sorted(m.value for (s, m, r) in TRANSITIONS if s == state and r == sender)
    return f"{message.value} is not allowed {where}; the {sender.lower()} may send: {', '.join(allowed) or 'nothing'}"


def receive(role: Role, state: NegotiationState | None, message: NegotiationMessage) -> NegotiationState:
    """Apply a message received by ``role`` from its peer; a misfit is the peer's fault."""
    new = next_state(state, message, role.other)
    if new is None:
        raise RemoteProtocolError(state, message.value, _explain(state, message, role.other))
    return new


def send(role: Role, state: NegotiationState | None, message: NegotiationMessage) -> NegotiationState:
    """Apply a message ``role`` sends; a misfit is our own caller's fault."""
    new = next_state(state, message, role)
    if new is None:
        raise LocalProtocolError(state, message.value, _explain(state, message, role))
    return new
