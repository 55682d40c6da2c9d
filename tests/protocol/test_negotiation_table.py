"""Every state × every message × both senders, for both roles, against the spec's diagram.

The expected table is written out here independently of the implementation's table.
"""

import itertools

import pytest

from connector.protocol import (
    LocalProtocolError,
    RemoteProtocolError,
    Role,
    next_state,
    receive,
    send,
)
from connector.protocol import (
    NegotiationMessage as M,
)
from connector.protocol import (
    NegotiationState as S,
)

P, C = Role.PROVIDER, Role.CONSUMER
NON_TERMINAL = [S.REQUESTED, S.OFFERED, S.ACCEPTED, S.AGREED, S.VERIFIED]

EXPECTED = {
    (None, M.CONTRACT_REQUEST, C): S.REQUESTED,
    (None, M.CONTRACT_OFFER, P): S.OFFERED,
    (S.REQUESTED, M.CONTRACT_OFFER, P): S.OFFERED,
    (S.REQUESTED, M.AGREEMENT, P): S.AGREED,
    (S.OFFERED, M.CONTRACT_REQUEST, C): S.REQUESTED,
    (S.OFFERED, M.ACCEPTED, C): S.ACCEPTED,
    (S.ACCEPTED, M.AGREEMENT, P): S.AGREED,
    (S.AGREED, M.VERIFICATION, C): S.VERIFIED,
    (S.VERIFIED, M.FINALIZED, P): S.FINALIZED,
    **{(s, M.TERMINATION, r): S.TERMINATED for s in NON_TERMINAL for r in (P, C)},
}

CASES = list(itertools.product([None, *S], list(M), [P, C]))


@pytest.mark.parametrize("state,message,sender", CASES, ids=lambda v: getattr(v, "value", str(v)))
def test_table(state, message, sender):
    assert next_state(state, message, sender) == EXPECTED.get((state, message, sender))


@pytest.mark.parametrize("state,message,sender", CASES, ids=lambda v: getattr(v, "value", str(v)))
def test_receive_and_send_agree_with_the_table(state, message, sender):
    expected = EXPECTED.get((state, message, sender))
    receiver = sender.other
    if expected is None:
        with pytest.raises(RemoteProtocolError) as remote:
            receive(receiver, state, message)
        with pytest.raises(LocalProtocolError) as local:
            send(sender, state, message)
        # every refusal names the message, and the state when there is one
        assert message.value in str(remote.value) and message.value in str(local.value)
        if state is not None:
            assert state.value in str(remote.value)
    else:
        assert receive(receiver, state, message) is expected
        assert send(sender, state, message) is expected


def test_terminal_states_accept_nothing():
    for state in (S.FINALIZED, S.TERMINATED):
        for message, sender in itertools.product(M, Role):
            with pytest.raises(RemoteProtocolError, match="terminal"):
                receive(sender.other, state, message)


def test_wrong_sender_is_explained():
    with pytest.raises(RemoteProtocolError, match="sent by the provider"):
        receive(P, S.REQUESTED, M.AGREEMENT)  # a consumer cannot send an agreement
