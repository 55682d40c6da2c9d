"""Hypothesis on the DSP state machines: random event sequences through ``step`` (and random
messages through the bare tables) never raise anything but a ProtocolError, every state change is
a row of the table, terminal states accept nothing, and the effects agree with the table."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.protocol import (
    TERMINAL_STATES,
    LocalProtocolError,
    NegotiationMessage,
    NegotiationState,
    ProtocolError,
    RemoteProtocolError,
    Role,
    receive,
    send,
)
from connector.protocol.step import (
    MILESTONES,
    NEGOTIATION,
    TRANSFER,
    Acknowledged,
    Commanded,
    Event,
    Machine,
    Message,
    Reached,
    Received,
    Send,
    SendFailed,
    Snapshot,
    State,
    StoreAgreement,
    step,
)
from connector.protocol.transfer import (
    TRANSFER_TERMINAL_STATES,
    TransferMessage,
    TransferState,
    receive_transfer,
    send_transfer,
)

FUZZ = settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
NOW = 1_000_000
reasons = st.lists(st.sampled_from(("no", "timeout", "")), max_size=2).map(tuple)
pids = st.one_of(st.none(), st.just("pp-1"), st.just(""))


def events(machine: Machine) -> st.SearchStrategy[Event]:
    messages = st.sampled_from(list(machine.messages))
    return st.one_of(
        st.builds(Received, messages, pids, st.booleans(),
                  st.one_of(st.none(), st.tuples(st.just("refused"), reasons))),
        st.builds(Acknowledged, messages, pids, st.one_of(st.none(), st.just("bad agreement"))),
        st.builds(SendFailed, messages, reasons, st.integers(1, 9), st.booleans(), st.booleans()),
        st.builds(Commanded, messages, st.one_of(st.none(), st.just("code")), reasons),
    )


def autopilots(machine: Machine) -> st.SearchStrategy:
    """A playbook that answers every event with a fixed choice (or nothing)."""
    return st.dictionaries(st.sampled_from(list(machine.messages)),
                           st.one_of(st.none(), st.sampled_from(list(machine.messages)))).map(
        lambda table: lambda _event, message, _counter: table.get(message))


@st.composite
def runs(draw: st.DrawFn) -> tuple[Snapshot, list[tuple[Event, bool, object]]]:
    machine = draw(st.sampled_from((NEGOTIATION, TRANSFER)))
    all_states: list[State] = list(machine.states)  # type: ignore[arg-type]  # the machine's own enum
    all_messages: list[Message] = list(machine.messages)  # type: ignore[arg-type]
    state = draw(st.one_of(st.none(), st.sampled_from(all_states)))
    queued = draw(st.one_of(st.none(), st.sampled_from(all_messages)))
    snap = Snapshot(machine, draw(st.sampled_from(list(Role))), state, draw(pids), queued,
                    queued is not None and draw(st.booleans()))
    steps = draw(st.lists(st.tuples(events(machine), st.booleans(), autopilots(machine)), min_size=1, max_size=12))
    return snap, steps


@FUZZ
@given(run=runs())
def test_random_event_sequences_follow_the_table(run: tuple[Snapshot, list]) -> None:
    snap, steps = run
    m = snap.machine
    for event, in_flight, autopilot in steps:
        before = snap
        try:
            outcome = step(snap, event, NOW, autopilot=autopilot)
        except (LocalProtocolError, RemoteProtocolError) as refused:
            assert refused.detail and refused.message == event.message.value
            if isinstance(event, Received):
                assert isinstance(refused, RemoteProtocolError)
            continue
        after, effects = outcome.snapshot, outcome.effects
        assert after.machine is m and after.role is snap.role
        assert after.state is None or after.state in set(m.states)
        if before.state in m.terminal:
            # terminal states accept nothing: no message moves them, nothing new is sent
            assert after.state == before.state, (before.state, event)
            assert not [e for e in effects if isinstance(e, Send)], (before.state, event, effects)
        if isinstance(event, Received) and after.state != before.state and not before.queued_in_flight:
            assert after.state == m.next(before.state, event.message, snap.role.other)
        if isinstance(event, Commanded) and before.state is not None:
            assert after.state == before.state  # a command only queues: the peer's ACK moves us
        if after.state in m.terminal:  # nothing can be sent from a finished process
            assert not [e for e in effects if isinstance(e, Send)], (before.state, event, effects)
        for effect in effects:
            if isinstance(effect, Send) and after.state is not None and effect.message is not m.termination:
                # what we queue, the table lets us send from where we are
                assert m.next(after.state, effect.message, snap.role) is not None, (after.state, effect)
            if isinstance(effect, Reached):
                assert effect.state in MILESTONES and effect.state == after.state
            if isinstance(effect, StoreAgreement):
                assert effect.message is m.agreement
        queued = next((e.message for e in effects if isinstance(e, Send)), after.queued)
        snap = replace(after, queued=queued, queued_in_flight=queued is not None and in_flight)


TABLES = (
    (NegotiationState, NegotiationMessage, send, receive, TERMINAL_STATES),
    (TransferState, TransferMessage, send_transfer, receive_transfer, TRANSFER_TERMINAL_STATES),
)


@FUZZ
@given(which=st.sampled_from(TABLES), role=st.sampled_from(list(Role)), data=st.data())
def test_bare_tables_refuse_with_protocol_errors_only(which: tuple, role: Role, data: st.DataObject) -> None:
    states, messages, send_fn, receive_fn, terminal = which
    state = None
    for _ in range(data.draw(st.integers(1, 15))):
        message = data.draw(st.sampled_from(list(messages)))
        sending = data.draw(st.booleans())
        try:
            new = (send_fn if sending else receive_fn)(role, state, message)
        except ProtocolError as refused:
            assert isinstance(refused, LocalProtocolError if sending else RemoteProtocolError)
            assert refused.detail
            if state in terminal:
                assert "terminal" in refused.detail
            continue
        assert state not in terminal, (state, message)
        assert new in set(states)
        state = new
