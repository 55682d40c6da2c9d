"""The pure process engine: every state × every message × both roles, for both machines, no database.

The tables themselves are pinned in test_negotiation_table.py (and the TCK); here: what ``step``
answers to each kind of event, which effects it asks for, and which side's fault a misfit is.
"""

from __future__ import annotations

import itertools

import pytest

from connector.protocol import LocalProtocolError, RemoteProtocolError, Role
from connector.protocol import NegotiationMessage as M
from connector.protocol import NegotiationState as S
from connector.protocol.retry import RetryPolicy
from connector.protocol.step import (
    NEGOTIATION,
    TRANSFER,
    Absorb,
    Acknowledged,
    CancelQueued,
    Commanded,
    EndDataFlow,
    FinishQueued,
    Machine,
    Reached,
    Received,
    RecordError,
    ScheduleRetry,
    Send,
    SendFailed,
    Snapshot,
    StoreAgreement,
    Terminate,
    step,
)
from connector.protocol.transfer import TransferMessage as T
from connector.protocol.transfer import TransferState as TS

P, C = Role.PROVIDER, Role.CONSUMER
NOW = 1_000_000


def _cases(machine: Machine) -> list[tuple[Machine, Role, object, object]]:
    return [(machine, role, state, message)
            for role, state, message in itertools.product(Role, list(machine.states), list(machine.messages))]


ALL = _cases(NEGOTIATION) + _cases(TRANSFER)
ids = lambda v: getattr(v, "value", getattr(v, "name", str(v)))  # noqa: E731


@pytest.mark.parametrize("machine,role,state,message", ALL, ids=ids)
def test_received_moves_by_the_table_or_is_the_peers_fault(machine, role, state, message):
    snap = Snapshot(machine, role, state, provider_pid="pp")
    expected = machine.next(state, message, role.other)
    if expected is None:
        with pytest.raises(RemoteProtocolError) as err:
            step(snap, Received(message), NOW)
        assert err.value.message == message.value and str(err.value)
        return
    out = step(snap, Received(message), NOW)
    assert out.snapshot.state is expected
    assert Absorb(message) in out.effects
    assert (CancelQueued(f"the peer terminated the {machine.name}") in out.effects) is (expected is machine.terminated)
    assert (Reached(expected) in out.effects) is (expected in (S.FINALIZED, TS.STARTED))
    assert (StoreAgreement(message) in out.effects) is (message is M.AGREEMENT and role is C)
    assert (EndDataFlow() in out.effects) is (role is P and message in (T.TERMINATION, T.SUSPENSION, T.COMPLETION))
    assert not any(isinstance(e, Send) for e in out.effects)  # nobody drives: no follow-up


@pytest.mark.parametrize("machine,role,state,message", ALL, ids=ids)
def test_acknowledged_moves_by_the_table_or_cancels_a_stale_message(machine, role, state, message):
    snap = Snapshot(machine, role, state, provider_pid="pp", queued=message, queued_in_flight=True)
    out = step(snap, Acknowledged(message), NOW)
    expected = machine.next(state, message, role)
    if expected is None:
        assert out.snapshot == snap
        assert [type(e) for e in out.effects] == [FinishQueued]
        assert out.effects[0].status == "cancelled" and state.value in out.effects[0].error
        return
    assert out.snapshot.state is expected and out.snapshot.queued is None
    assert out.effects[0] == FinishQueued(message, "done")
    assert (StoreAgreement(message) in out.effects) is (message is M.AGREEMENT and role is P)


@pytest.mark.parametrize("machine,role,state,message", ALL, ids=ids)
def test_commanded_queues_what_fits_and_refuses_the_rest_as_our_fault(machine, role, state, message):
    snap = Snapshot(machine, role, state, provider_pid="pp")
    event = Commanded(message, "why", ("a reason",))
    if machine.next(state, message, role) is None:
        with pytest.raises(LocalProtocolError) as err:
            step(snap, event, NOW)
        assert err.value.message == message.value and str(err.value)
        return
    out = step(snap, event, NOW)
    assert out.snapshot == snap  # the state moves only when the peer acknowledges
    assert out.effects[-1] == Send(message, "why", ("a reason",))
    assert RecordError("local", "why", ("a reason",)) in out.effects
    assert (CancelQueued("superseded by a termination") in out.effects) is (message is machine.termination)


@pytest.mark.parametrize("machine", [NEGOTIATION, TRANSFER], ids=ids)
def test_a_first_message_not_yet_acknowledged(machine):
    first = machine.initial_message
    snap = Snapshot(machine, C, None, queued=first, queued_in_flight=False)
    # the peer cannot have answered what it has not received
    for message in machine.messages:
        with pytest.raises(RemoteProtocolError, match="not yet acknowledged"):
            step(snap, Received(message), NOW)
    # staff may end it: nothing reached the peer, so nothing is sent
    out = step(snap, Commanded(machine.termination), NOW)
    assert out.snapshot.state is machine.terminated
    assert out.effects == [CancelQueued("terminated before it was sent"),
                           Terminate("local", "terminated-by-user", ("terminated by staff",))]
    # the provider's ACK carries its pid; without one the process fails, saying why
    acked = step(snap, Acknowledged(first, provider_pid="urn:p"), NOW)
    assert acked.snapshot.provider_pid == "urn:p" and acked.snapshot.state is machine.next(None, first, C)
    bad = step(snap, Acknowledged(first), NOW)
    assert bad.snapshot.state is machine.terminated
    assert Terminate("local", "send-failed", ("the provider's answer had no providerPid",)) in bad.effects


def test_the_in_flight_rule_applies_our_message_first():
    # our REQUEST is on its way; the provider's AGREEMENT arrives before our sender saw the ACK
    snap = Snapshot(NEGOTIATION, C, None, queued=M.CONTRACT_REQUEST, queued_in_flight=True)
    out = step(snap, Received(M.AGREEMENT, provider_pid="urn:p"), NOW,
               autopilot=lambda event, message, counter: M.VERIFICATION)
    assert out.snapshot.state is S.AGREED and out.snapshot.provider_pid == "urn:p"
    assert out.effects[0] == FinishQueued(M.CONTRACT_REQUEST, "done")
    assert out.effects[-1] == Send(M.VERIFICATION)
    # not in flight (still waiting for its retry): the peer's message is refused
    with pytest.raises(RemoteProtocolError):
        step(Snapshot(NEGOTIATION, C, S.REQUESTED, "urn:p", M.CONTRACT_REQUEST, False), Received(M.FINALIZED), NOW)
    # in flight, but the peer's message fits not even the state ours leads to
    with pytest.raises(RemoteProtocolError):
        step(Snapshot(NEGOTIATION, C, S.AGREED, "urn:p", M.VERIFICATION, True), Received(M.AGREEMENT), NOW)


def test_the_provider_storing_its_agreement_on_the_in_flight_rule():
    snap = Snapshot(NEGOTIATION, P, S.REQUESTED, "urn:p", queued=M.AGREEMENT, queued_in_flight=True)
    out = step(snap, Received(M.VERIFICATION), NOW, autopilot=lambda e, m, c: M.FINALIZED)
    assert out.snapshot.state is S.VERIFIED
    assert out.effects[:2] == [FinishQueued(M.AGREEMENT, "done"), StoreAgreement(M.AGREEMENT)]
    assert out.effects[-1] == Send(M.FINALIZED)


def test_the_autopilot_is_asked_once_and_only_what_fits_is_sent():
    asked = []

    def autopilot(event, message, counter):  # type: ignore[no-untyped-def]
        asked.append((event, message, counter))
        return M.FINALIZED  # does not fit REQUESTED for a provider

    out = step(Snapshot(NEGOTIATION, P, S.OFFERED, "pp"), Received(M.CONTRACT_REQUEST, counter=True), NOW,
               autopilot=autopilot, delay_ms=5)
    assert asked == [("received", M.CONTRACT_REQUEST, True)]
    assert not any(isinstance(e, Send) for e in out.effects)
    out = step(Snapshot(NEGOTIATION, P, S.OFFERED, "pp"), Received(M.CONTRACT_REQUEST), NOW,
               autopilot=lambda e, m, c: M.AGREEMENT, delay_ms=5)
    assert out.effects[-1] == Send(M.AGREEMENT, delay_ms=5)
    acked = step(Snapshot(NEGOTIATION, C, S.OFFERED, "pp", M.CONTRACT_REQUEST, True),
                 Acknowledged(M.CONTRACT_REQUEST), NOW, autopilot=lambda e, m, c: asked.append((e, m, c)))
    assert asked[-1] == ("sent", M.CONTRACT_REQUEST, True)  # a repeated request answers an offer
    assert acked.snapshot.state is S.REQUESTED


def test_a_refused_offer_is_answered_with_a_termination_that_says_why():
    out = step(Snapshot(NEGOTIATION, C, S.REQUESTED, "pp"), Received(M.CONTRACT_OFFER, refusal=("no", ("why",))),
               NOW, autopilot=lambda e, m, c: M.ACCEPTED)
    assert out.snapshot.state is S.OFFERED
    assert out.effects[-2:] == [RecordError("local", "no", ("why",)), Send(M.TERMINATION, "no", ("why",))]


@pytest.mark.parametrize("machine", [NEGOTIATION, TRANSFER], ids=ids)
def test_failures_retry_as_data_then_end_the_process(machine):
    retry = RetryPolicy(base_seconds=0.5, limit=3)
    state = list(machine.states)[0]
    message = machine.termination
    snap = Snapshot(machine, P, state, "pp", queued=message, queued_in_flight=True)
    out = step(snap, SendFailed(message, ("down",), attempts=2), NOW, retry=retry)
    assert out == type(out)(snap, [ScheduleRetry(message, NOW + 1000)])
    out = step(snap, SendFailed(message, ("down",), attempts=3), NOW, retry=retry)
    assert out.snapshot.state is machine.terminated
    assert out.effects == [FinishQueued(message, "failed", "down (gave up after 3 attempts)"),
                           CancelQueued("an earlier message failed"),
                           Terminate("local", "send-failed", ("down (gave up after 3 attempts)",))]


def test_a_peer_that_refuses_our_message_is_told_we_terminate():
    snap = Snapshot(NEGOTIATION, P, S.REQUESTED, "pp", queued=M.AGREEMENT, queued_in_flight=True)
    out = step(snap, SendFailed(M.AGREEMENT, ("a", "b", "c", "d"), attempts=1, permanent=True, tell_peer=True), NOW)
    assert out.snapshot == snap
    assert out.effects[-2:] == [RecordError("local", "peer-refused", ("a", "b", "c", "d")),
                                Send(M.TERMINATION, "peer-refused", ("a", "b", "c"))]
    # a refused termination is not answered with another
    out = step(snap, SendFailed(M.TERMINATION, ("x",), attempts=1, permanent=True, tell_peer=True), NOW)
    assert out.snapshot.state is S.TERMINATED and isinstance(out.effects[-1], Terminate)
