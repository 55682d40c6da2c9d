"""What a connector does on its own after each step of a negotiation.

A company's connector agrees to a valid request, verifies an agreement it receives and finalizes
a verified agreement, with no person in the loop. The DSP TCK needs other behaviour per dataset
(offer instead of agree, terminate after an accept, ...); ``Playbook`` takes those as overrides
keyed by dataset id, from the config's ``[playbook]`` table. Off by default.

Events are what just happened: ``received:<event>`` for a peer's message we acknowledged, and
``sent:<event>`` for one of ours the peer acknowledged. Actions name the message to send next.
"""

from __future__ import annotations

from collections.abc import Mapping

from connector.protocol import NegotiationMessage, Role
from connector.protocol.transfer import TransferMessage

M = NegotiationMessage
T = TransferMessage
Message = NegotiationMessage | TransferMessage

# an action names a message in the domain of the event it answers
ACTIONS: dict[type, dict[str, Message | None]] = {
    NegotiationMessage: {
        "offer": M.CONTRACT_OFFER,
        "agree": M.AGREEMENT,
        "finalize": M.FINALIZED,
        "terminate": M.TERMINATION,
        "accept": M.ACCEPTED,
        "verify": M.VERIFICATION,
        "counter": M.CONTRACT_REQUEST,
        "none": None,
    },
    TransferMessage: {
        "start": T.START,
        "complete": T.COMPLETION,
        "suspend": T.SUSPENSION,
        "terminate": T.TERMINATION,
        "none": None,
    },
}
ALL_ACTIONS = sorted({name for table in ACTIONS.values() for name in table})

EVENT_NAMES: dict[Message, str] = {
    M.CONTRACT_REQUEST: "request",
    M.CONTRACT_OFFER: "offer",
    M.ACCEPTED: "accepted",
    M.AGREEMENT: "agreement",
    M.VERIFICATION: "verification",
    M.FINALIZED: "finalized",
    M.TERMINATION: "termination",
    T.REQUEST: "request",
    T.START: "start",
    T.SUSPENSION: "suspension",
    T.COMPLETION: "completion",
    T.TERMINATION: "termination",
}

DEFAULTS: dict[tuple[type, Role, str], str] = {
    (NegotiationMessage, Role.PROVIDER, "received:request"): "agree",
    (NegotiationMessage, Role.PROVIDER, "received:counter-request"): "agree",
    (NegotiationMessage, Role.PROVIDER, "received:accepted"): "agree",
    (NegotiationMessage, Role.PROVIDER, "received:verification"): "finalize",
    (NegotiationMessage, Role.CONSUMER, "received:offer"): "accept",
    (NegotiationMessage, Role.CONSUMER, "received:agreement"): "verify",
    # a provider starts a transfer it accepted; a pull transfer then runs until someone ends it
    (TransferMessage, Role.PROVIDER, "received:request"): "start",
}


class PlaybookError(ValueError):
    pass


class Playbook:
    def __init__(self, overrides: Mapping[str, Mapping[str, str]] | None = None, delay_ms: int = 0) -> None:
        # a scripted counter-party answers after a pause: the DSP TCK arms its handlers only
        # after it has seen a state change, and answers 404 to anything that comes earlier
        self.delay_ms = delay_ms if overrides else 0
        self._overrides: dict[str, dict[str, str]] = {}
        for key, table in (overrides or {}).items():
            for event, action in table.items():
                if action not in ALL_ACTIONS:
                    raise PlaybookError(
                        f"playbook.{key}.{event}: unknown action {action!r}; expected one of {', '.join(ALL_ACTIONS)}"
                    )
            self._overrides[key] = dict(table)

    def next_action(
        self, role: Role, event: str, message: Message, keys: tuple[str | None, ...],
        *, counter: bool = False,
    ) -> Message | None:
        """The message to send after ``event``; ``keys`` are the dataset/offer ids to look up.

        ``counter`` marks a ContractRequestMessage that answers an offer (a counter-request),
        which a script may treat differently from the initial request.
        """
        name = f"{event}:{'counter-request' if counter else EVENT_NAMES[message]}"
        domain = type(message)
        for key in keys:
            if key and key in self._overrides:
                table = self._overrides[key]
                if name in table:
                    if table[name] not in ACTIONS[domain]:
                        raise PlaybookError(f"playbook.{key}.{name}: {table[name]!r} is not an action for {domain.__name__}")
                    return ACTIONS[domain][table[name]]
                # a scripted dataset or agreement does only what its script says
                return None
        action = DEFAULTS.get((domain, role, name))
        return ACTIONS[domain][action] if action else None
