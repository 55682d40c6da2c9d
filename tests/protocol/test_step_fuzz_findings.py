"""What tests/fuzz/test_state_machines_hypothesis.py found in ``step``, pinned as plain tests."""

from __future__ import annotations

import pytest

from connector.protocol import NegotiationMessage as M
from connector.protocol import NegotiationState as S
from connector.protocol import Role
from connector.protocol.step import (
    NEGOTIATION,
    TRANSFER,
    FinishQueued,
    Machine,
    Received,
    RecordError,
    Send,
    SendFailed,
    Snapshot,
    step,
)
from connector.protocol.transfer import TransferMessage as T
from connector.protocol.transfer import TransferState as TS

NOW = 1_000_000


@pytest.mark.parametrize("machine,state,message", [
    (NEGOTIATION, S.FINALIZED, M.CONTRACT_REQUEST), (NEGOTIATION, S.TERMINATED, M.TERMINATION),
    (TRANSFER, TS.COMPLETED, T.COMPLETION), (TRANSFER, TS.TERMINATED, T.START)])
@pytest.mark.parametrize("permanent", [True, False])
def test_a_late_send_failure_leaves_a_finished_process_as_it_was(machine: Machine, state, message,
                                                                  permanent: bool) -> None:
    """A stale retry failing after the process ended used to turn FINALIZED/COMPLETED into TERMINATED."""
    snap = Snapshot(machine, Role.PROVIDER, state, provider_pid="pp")
    outcome = step(snap, SendFailed(message, ("unreachable",), attempts=99, permanent=permanent, tell_peer=True), NOW)
    assert outcome.snapshot.state is state
    assert outcome.effects == [FinishQueued(message, "failed", "unreachable" if permanent
                                            else "unreachable (gave up after 99 attempts)")]


@pytest.mark.parametrize("machine,role,state,message,ended", [
    (NEGOTIATION, Role.CONSUMER, S.VERIFIED, M.FINALIZED, S.FINALIZED),
    (NEGOTIATION, Role.PROVIDER, S.AGREED, M.TERMINATION, S.TERMINATED),
    (TRANSFER, Role.CONSUMER, TS.STARTED, T.COMPLETION, TS.COMPLETED)])
def test_refusing_the_message_that_ends_a_process_sends_no_termination(machine: Machine, role: Role, state,
                                                                        message, ended) -> None:
    """The refusal is kept, but a termination from a terminal state is one the peer must reject."""
    snap = Snapshot(machine, role, state, provider_pid="pp")
    outcome = step(snap, Received(message, refusal=("invalid", ("bad proof",))), NOW)
    assert outcome.snapshot.state is ended
    assert RecordError("local", "invalid", ("bad proof",)) in outcome.effects
    assert not [e for e in outcome.effects if isinstance(e, Send)]


def test_refusing_a_message_mid_process_still_terminates() -> None:
    snap = Snapshot(NEGOTIATION, Role.CONSUMER, S.REQUESTED, provider_pid="pp")
    outcome = step(snap, Received(M.AGREEMENT, refusal=("invalid", ("bad proof",))), NOW)
    assert Send(M.TERMINATION, "invalid", ("bad proof",)) in outcome.effects
