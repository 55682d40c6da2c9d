"""The process engine's pure core: ``step(snapshot, event, now) -> (snapshot, effects)``.

Like h11 or aioquic, the protocol does no I/O: it is told what happened (a peer's message
arrived, the peer acknowledged ours, a send failed, staff asked for something) and answers with
the process's new snapshot and a list of *effects* for the caller to carry out (queue this
message, cancel what is queued, keep the agreement, retry at t, end the process with a reason).
``services.process`` loads a snapshot from its row, calls ``step`` and executes the effects in
one transaction. A misfit raises ``RemoteProtocolError`` (the peer's fault) or
``LocalProtocolError`` (our caller's), and then nothing is to be done.

One engine serves both DSP machines; ``Machine`` is the table it drives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum

from connector.protocol import negotiation, transfer
from connector.protocol.errors import LocalProtocolError, RemoteProtocolError
from connector.protocol.negotiation import (
    TERMINAL_STATES,
    NegotiationMessage,
    NegotiationState,
    Role,
    next_state,
)
from connector.protocol.retry import RetryPolicy
from connector.protocol.transfer import (
    TRANSFER_TERMINAL_STATES,
    TransferMessage,
    TransferState,
    next_transfer_state,
)

Message = NegotiationMessage | TransferMessage
State = NegotiationState | TransferState
# what our side sends next after an event ("received:<msg>" / "sent:<msg>"), the playbook's answer
Autopilot = Callable[[str, Message, bool], Message | None]


@dataclass(frozen=True)
class Machine:
    """One DSP state machine: its table, its terminal states and its special messages."""

    name: str
    states: type[StrEnum]
    messages: type[StrEnum]
    table: Callable[[State | None, Message, Role], State | None]
    terminal: frozenset[State]
    terminated: State
    termination: Message
    initial_message: Message
    # messages whose acknowledgement (ours) or arrival (the peer's) the caller must act on
    agreement: Message | None = None
    ends_data_flow: frozenset[Message] = frozenset()

    def next(self, state: State | None, message: Message, sender: Role) -> State | None:
        return self.table(state, message, sender)


def _negotiation_table(state: State | None, message: Message, sender: Role) -> State | None:
    if isinstance(state, TransferState) or not isinstance(message, NegotiationMessage):
        return None
    return next_state(state, message, sender)


def _transfer_table(state: State | None, message: Message, sender: Role) -> State | None:
    if isinstance(state, NegotiationState) or not isinstance(message, TransferMessage):
        return None
    return next_transfer_state(state, message, sender)


NEGOTIATION = Machine(
    name="negotiation", states=NegotiationState, messages=NegotiationMessage, table=_negotiation_table,
    terminal=frozenset(TERMINAL_STATES), terminated=NegotiationState.TERMINATED,
    termination=NegotiationMessage.TERMINATION, initial_message=NegotiationMessage.CONTRACT_REQUEST,
    agreement=NegotiationMessage.AGREEMENT,
)
TRANSFER = Machine(
    name="transfer", states=TransferState, messages=TransferMessage, table=_transfer_table,
    terminal=frozenset(TRANSFER_TERMINAL_STATES), terminated=TransferState.TERMINATED,
    termination=TransferMessage.TERMINATION, initial_message=TransferMessage.REQUEST,
    ends_data_flow=frozenset({TransferMessage.TERMINATION, TransferMessage.SUSPENSION, TransferMessage.COMPLETION}),
)


# --- snapshots and events --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the engine needs to know of a process. ``state`` None: our first message is unacknowledged."""

    machine: Machine
    role: Role
    state: State | None
    provider_pid: str | None = None
    # the oldest queued message of ours and whether a sender holds it (it may have reached the peer)
    queued: Message | None = None
    queued_in_flight: bool = False


@dataclass(frozen=True, slots=True)
class Received:
    """A peer's message. ``refusal`` (code, reasons): we take it, but answer with a termination."""

    message: Message
    provider_pid: str | None = None
    counter: bool = False
    refusal: tuple[str, tuple[str, ...]] | None = None


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """The peer acknowledged our ``message``; ``provider_pid`` is from its answer (initial message)."""

    message: Message
    provider_pid: str | None = None
    problem: str | None = None  # our own check of the answer failed (e.g. an agreement we cannot keep)


@dataclass(frozen=True, slots=True)
class SendFailed:
    message: Message
    reasons: tuple[str, ...]
    attempts: int  # attempts made, this one included
    permanent: bool = False
    tell_peer: bool = False  # the peer refused it (and knows the process): DSP says terminate


@dataclass(frozen=True, slots=True)
class Commanded:
    """Staff ask us to send ``message``."""

    message: Message
    code: str | None = None
    reasons: tuple[str, ...] = ()


Event = Received | Acknowledged | SendFailed | Commanded


# --- effects ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    """Queue ``message`` to the peer (stored, then sent by the outbox); not before ``delay_ms``."""

    message: Message
    code: str | None = None
    reasons: tuple[str, ...] = ()
    delay_ms: int = 0


@dataclass(frozen=True, slots=True)
class CancelQueued:
    reason: str


@dataclass(frozen=True, slots=True)
class FinishQueued:
    """The outbox row of ``message`` is finished: ``done``, ``failed`` or ``cancelled``."""

    message: Message
    status: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ScheduleRetry:
    message: Message
    at: int


@dataclass(frozen=True, slots=True)
class Absorb:
    """Keep what the peer's message carries (an offer, an agreement's proof, a reason)."""

    message: Message


@dataclass(frozen=True, slots=True)
class StoreAgreement:
    """The agreement ``message`` carried is in force: keep it (consumer: received; provider: acknowledged)."""

    message: Message


@dataclass(frozen=True, slots=True)
class EndDataFlow:
    """A provider's transfer completed, was suspended or terminated: its EDRs stop working."""


@dataclass(frozen=True, slots=True)
class RecordError:
    """Keep why the process is ending (a termination we send carries the same reasons)."""

    by: str
    code: str | None
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Terminate:
    """End the process here, without telling the peer (it never heard of it, or cannot be reached)."""

    by: str
    code: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Reached:
    """A negotiation is FINALIZED / a transfer STARTED: subscribers act in the same transaction."""

    state: State


MILESTONES: frozenset[State] = frozenset({NegotiationState.FINALIZED, TransferState.STARTED})


Effect = (Send | CancelQueued | FinishQueued | ScheduleRetry | Absorb | StoreAgreement | EndDataFlow
          | RecordError | Terminate | Reached)


@dataclass(frozen=True, slots=True)
class Outcome:
    snapshot: Snapshot
    effects: list[Effect] = field(default_factory=list)


def _nobody(event: str, message: Message, counter: bool) -> Message | None:
    return None


# --- the step --------------------------------------------------------------------------------


def step(snapshot: Snapshot, event: Event, now: int, *, autopilot: Autopilot = _nobody,
         retry: RetryPolicy = RetryPolicy(), delay_ms: int = 0) -> Outcome:
    """Apply ``event`` to ``snapshot`` at ``now`` (ms); raises a ProtocolError on a misfit."""
    if isinstance(event, Received):
        return _received(snapshot, event, autopilot, delay_ms)
    if isinstance(event, Acknowledged):
        return _acknowledged(snapshot, event, autopilot, delay_ms)
    if isinstance(event, SendFailed):
        return _failed(snapshot, event, now, retry)
    return _commanded(snapshot, event)


def _milestones(snap: Snapshot, new: State) -> list[Effect]:
    m = snap.machine
    effects: list[Effect] = []
    if new is m.terminated:
        effects.append(CancelQueued(f"the {m.name} was terminated"))
    if new in MILESTONES and snap.state != new:
        effects.append(Reached(new))
    return effects


def _follow(snap: Snapshot, event: str, message: Message, autopilot: Autopilot, delay_ms: int,
            counter: bool = False) -> list[Effect]:
    action = autopilot(event, message, counter)
    if action is not None and snap.machine.next(snap.state, action, snap.role) is not None:
        return [Send(action, delay_ms=delay_ms)]
    return []


def _received(snap: Snapshot, event: Received, autopilot: Autopilot, delay_ms: int) -> Outcome:
    m, role, kind = snap.machine, snap.role, event.message
    effects: list[Effect] = []
    after = replace(snap)
    new = m.next(snap.state, kind, role.other) if snap.state is not None else None
    if new is None:
        if snap.state is None:
            error = RemoteProtocolError(None, kind.value, "our first message is not yet acknowledged")
        else:
            error = RemoteProtocolError(snap.state, kind.value, _refusal(m, role.other, snap.state, kind))
        # the in-flight rule: the peer may answer our message before our sender saw its ACK. If
        # ours is on its way and the peer's message fits the state ours leads to, ours arrived.
        sent = snap.queued if snap.queued_in_flight else None
        reached = m.next(snap.state, sent, role) if sent is not None else None
        new = m.next(reached, kind, role.other) if reached is not None else None
        if sent is None or new is None:
            raise error
        provider_pid = snap.provider_pid
        if sent is m.initial_message and provider_pid is None:
            provider_pid = event.provider_pid
        effects.append(FinishQueued(sent, "done"))
        effects.extend(_acknowledged_effects(m, role, sent))
        after = replace(snap, provider_pid=provider_pid, queued=None, queued_in_flight=False)
    effects.append(Absorb(kind))
    if kind is m.agreement and role is Role.CONSUMER:
        effects.append(StoreAgreement(kind))
    if role is Role.PROVIDER and kind in m.ends_data_flow:
        effects.append(EndDataFlow())
    if new is m.terminated:
        effects.append(CancelQueued(f"the peer terminated the {m.name}"))
    elif new in MILESTONES:
        effects.append(Reached(new))
    after = replace(after, state=new)
    if event.refusal is not None:
        code, reasons = event.refusal
        effects.append(RecordError("local", code, reasons))
        if new not in m.terminal:  # a finished process cannot be terminated: keep the reason only
            effects.append(Send(m.termination, code, reasons))
    else:
        effects += _follow(after, "received", kind, autopilot, delay_ms, event.counter)
    return Outcome(after, effects)


def _acknowledged_effects(m: Machine, role: Role, kind: Message) -> list[Effect]:
    effects: list[Effect] = []
    if kind is m.agreement and role is Role.PROVIDER:
        effects.append(StoreAgreement(kind))
    if role is Role.PROVIDER and kind in m.ends_data_flow:
        effects.append(EndDataFlow())
    return effects


def _acknowledged(snap: Snapshot, event: Acknowledged, autopilot: Autopilot, delay_ms: int) -> Outcome:
    m, role, kind = snap.machine, snap.role, event.message
    new = m.next(snap.state, kind, role)
    if new is None:
        state = snap.state.value if snap.state is not None else "INITIAL"
        return Outcome(snap, [FinishQueued(kind, "cancelled", f"acknowledged, but no longer fits state {state}")])
    counter = kind is m.initial_message and snap.provider_pid is not None
    provider_pid = snap.provider_pid
    if kind is m.initial_message and provider_pid is None:
        if not event.provider_pid:
            return _give_up(snap, kind, ("the provider's answer had no providerPid",), tell_peer=False)
        provider_pid = event.provider_pid
    if event.problem:
        return _give_up(replace(snap, provider_pid=provider_pid), kind, (event.problem,), tell_peer=False)
    after = replace(snap, state=new, provider_pid=provider_pid, queued=None, queued_in_flight=False)
    effects: list[Effect] = [FinishQueued(kind, "done"), *_acknowledged_effects(m, role, kind)]
    effects += _milestones(snap, new)
    effects += _follow(after, "sent", kind, autopilot, delay_ms, counter)
    return Outcome(after, effects)


def _failed(snap: Snapshot, event: SendFailed, now: int, retry: RetryPolicy) -> Outcome:
    if not event.permanent:
        if event.attempts < retry.limit:
            at = now + int(retry.delay(event.attempts) * 1000)
            return Outcome(snap, [ScheduleRetry(event.message, at)])
        reasons = tuple(f"{r} (gave up after {event.attempts} attempts)" for r in event.reasons)
        return _give_up(snap, event.message, reasons, tell_peer=False)
    return _give_up(snap, event.message, event.reasons, tell_peer=event.tell_peer)


def _give_up(snap: Snapshot, kind: Message, reasons: tuple[str, ...], *, tell_peer: bool) -> Outcome:
    """Our message failed for good: cancel what follows it; tell the peer if it refused us."""
    m = snap.machine
    if snap.state in m.terminal:
        # a late failure (a stale retry) cannot reopen or re-end a finished process
        return Outcome(snap, [FinishQueued(kind, "failed", "; ".join(reasons))])
    effects: list[Effect] = [FinishQueued(kind, "failed", "; ".join(reasons)),
                             CancelQueued("an earlier message failed")]
    if tell_peer and kind is not m.termination and snap.state is not None \
            and m.next(snap.state, m.termination, snap.role) is not None:
        # the peer refused our message, so our states may differ: DSP says terminate
        effects += [RecordError("local", "peer-refused", reasons),
                    Send(m.termination, "peer-refused", reasons[:3])]
        return Outcome(snap, effects)
    effects.append(Terminate("local", "send-failed", reasons))
    return Outcome(replace(snap, state=m.terminated, queued=None, queued_in_flight=False), effects)


def _commanded(snap: Snapshot, event: Commanded) -> Outcome:
    m, kind = snap.machine, event.message
    if snap.state is None and kind is m.termination:
        # nothing has reached the peer yet: stop here, and say why
        reasons = event.reasons or ("terminated by staff",)
        return Outcome(replace(snap, state=m.terminated, queued=None, queued_in_flight=False), [
            CancelQueued("terminated before it was sent"),
            Terminate("local", event.code or "terminated-by-user", reasons)])
    if m.next(snap.state, kind, snap.role) is None:
        raise LocalProtocolError(snap.state, kind.value, _refusal(m, snap.role, snap.state, kind))
    effects: list[Effect] = []
    if kind is m.termination:
        effects.append(CancelQueued("superseded by a termination"))
    if event.reasons:  # a termination or suspension we start: keep its reason on our side too
        effects.append(RecordError("local", event.code, event.reasons))
    effects.append(Send(kind, event.code, event.reasons))
    return Outcome(snap, effects)


def _refusal(m: Machine, sender: Role, state: State | None, kind: Message) -> str:
    """The table's own explanation of why ``sender`` may not send ``kind`` in ``state``."""
    try:
        if m is NEGOTIATION:
            assert isinstance(kind, NegotiationMessage) and not isinstance(state, TransferState)
            negotiation.send(sender, state, kind)
        else:
            assert isinstance(kind, TransferMessage) and not isinstance(state, NegotiationState)
            transfer.send_transfer(sender, state, kind)
    except LocalProtocolError as exc:
        return exc.detail
    return f"{kind.value} does not fit state {state.value if state else 'INITIAL'}"
