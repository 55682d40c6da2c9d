"""CN_C:01-01 … CN_C:03-06: the connector under test as consumer, the TCK as provider.

Step lists follow ``ContractNegotiationConsumer0{1,2,3}Test`` in eclipse-dataspacetck/dsp-tck: the
TCK pokes ``/tck/negotiations/requests`` with dataset ACNCxxyy and offer ``offerACNCxxyy``, the CUT
sends its ContractRequestMessage to the TCK, and the CUT's own moves come from the
``[playbook]`` of examples/tck/connector.toml.
"""

from __future__ import annotations

import pytest

from tests.tck.steps import CONSUMER, Scenario, expect, play, send, trigger, wait_state

pytestmark = pytest.mark.integration  # starts `connector serve` on 127.0.0.1


def cn_c(id_: str, *steps, xfail: str | None = None) -> Scenario:  # type: ignore[no-untyped-def]
    dataset = "ACNC" + id_[5:7] + id_[8:10]
    # every consumer scenario starts the same way: the TCK signals, the CUT requests
    start = (expect("request"), trigger(), wait_state("tck", "REQUESTED"))
    return Scenario(id_, CONSUMER, dataset, start + tuple(steps), xfail=xfail)


SCENARIOS = [
    cn_c("CN_C:01-01", expect("accepted"), send("offer"), wait_state("tck", "ACCEPTED"),
         expect("verification"), send("agreement"), wait_state("tck", "VERIFIED"),
         send("finalized"), wait_state("cut", "FINALIZED")),
    cn_c("CN_C:01-02", expect("counter"), send("offer"), wait_state("tck", "REQUESTED"),
         send("termination"), wait_state("cut", "TERMINATED")),
    cn_c("CN_C:01-03", expect("termination"), send("offer"), wait_state("tck", "TERMINATED"),
         wait_state("cut", "TERMINATED")),
    cn_c("CN_C:01-04", expect("verification"), send("agreement"), wait_state("tck", "VERIFIED"),
         send("finalized"), wait_state("cut", "FINALIZED")),
    cn_c("CN_C:02-01", send("termination"), wait_state("tck", "TERMINATED"), wait_state("cut", "TERMINATED")),
    cn_c("CN_C:02-02", expect("termination"), wait_state("tck", "TERMINATED"), wait_state("cut", "TERMINATED")),
    cn_c("CN_C:02-03", expect("termination"), send("agreement"), wait_state("tck", "TERMINATED"),
         wait_state("cut", "TERMINATED")),
    cn_c("CN_C:02-04", send("offer"), wait_state("tck", "OFFERED"), wait_state("cut", "OFFERED"),
         send("termination"), wait_state("tck", "TERMINATED"), wait_state("cut", "TERMINATED")),
    cn_c("CN_C:02-05", expect("accepted"), send("offer"), wait_state("tck", "ACCEPTED"),
         send("termination"), wait_state("tck", "TERMINATED"), wait_state("cut", "TERMINATED")),
    cn_c("CN_C:02-06", expect("verification"), send("agreement"), wait_state("tck", "VERIFIED"),
         send("termination"), wait_state("cut", "TERMINATED")),
    cn_c("CN_C:03-01", send("finalized", expect="4xx"), wait_state("cut", "REQUESTED")),
    cn_c("CN_C:03-02", send("offer"), wait_state("tck", "OFFERED"), wait_state("cut", "OFFERED"),
         send("agreement", expect="4xx"), wait_state("cut", "OFFERED")),
    cn_c("CN_C:03-03", send("offer"), wait_state("tck", "OFFERED"),
         send("finalized", expect="4xx"), wait_state("cut", "OFFERED")),
    cn_c("CN_C:03-04", expect("accepted"), send("offer"), wait_state("tck", "ACCEPTED"),
         send("finalized", expect="4xx"), wait_state("cut", "ACCEPTED")),
    cn_c("CN_C:03-05", expect("accepted"), send("offer"), wait_state("tck", "ACCEPTED"),
         send("offer", expect="4xx"), wait_state("cut", "ACCEPTED")),
    cn_c("CN_C:03-06", expect("accepted"), send("offer"), wait_state("tck", "ACCEPTED"),
         send("agreement"), wait_state("tck", "AGREED"),
         send("finalized", expect="4xx"), wait_state("cut", "AGREED")),
]


@pytest.mark.parametrize("scenario", [
    pytest.param(s, id=s.id, marks=[pytest.mark.xfail(strict=True, reason=s.xfail)] if s.xfail else [])
    for s in SCENARIOS
])
def test_consumer_negotiation(scenario: Scenario, cut, peer) -> None:  # type: ignore[no-untyped-def]
    play(scenario, cut, peer)
