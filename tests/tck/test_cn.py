"""CN:01-01 … CN:03-04: the connector under test as provider, the TCK as consumer.

Step lists follow ``ContractNegotiationProvider0{1,2,3}Test`` in eclipse-dataspacetck/dsp-tck; the
CUT's own moves come from the ``[playbook]`` of examples/tck/connector.toml (dataset ACNxxyy,
offer ``CD123:ACNxxyy:456``). A ``wait_state("cut", ...)`` at the end of a scenario is ours: the
TCK checks the provider's state only where it says ``thenVerifyProviderState``.
"""

from __future__ import annotations

import pytest

from tests.tck.steps import PROVIDER, Scenario, expect, play, send, wait_state

pytestmark = pytest.mark.integration  # starts `connector serve` on 127.0.0.1



def cn(id_: str, *steps, xfail: str | None = None) -> Scenario:  # type: ignore[no-untyped-def]
    return Scenario(id_, PROVIDER, "ACN" + id_[3:5] + id_[6:8], tuple(steps), xfail=xfail)


SCENARIOS = [
    cn("CN:01-01", expect("offer"), send("request", 201), wait_state("tck", "OFFERED"),
       send("termination"), wait_state("cut", "TERMINATED")),
    cn("CN:01-02", expect("offer"), send("request", 201), wait_state("tck", "OFFERED"),
       expect("termination"), send("counter"), wait_state("tck", "TERMINATED"), wait_state("cut", "TERMINATED")),
    cn("CN:01-03", expect("offer"), send("request", 201), wait_state("tck", "OFFERED"),
       expect("agreement"), send("accepted"), wait_state("tck", "AGREED"),
       expect("finalized"), send("verification"), wait_state("tck", "FINALIZED"), wait_state("cut", "FINALIZED")),
    cn("CN:01-04", expect("agreement"), send("request", 201), wait_state("tck", "AGREED"),
       expect("finalized"), send("verification"), wait_state("tck", "FINALIZED"), wait_state("cut", "FINALIZED")),
    cn("CN:02-01", send("request", 201), expect("termination"), wait_state("tck", "TERMINATED"),
       wait_state("cut", "TERMINATED")),
    cn("CN:02-02", send("request", 201), send("termination"), wait_state("cut", "TERMINATED")),
    cn("CN:02-03", expect("agreement"), send("request", 201), wait_state("tck", "AGREED"),
       send("termination"), wait_state("cut", "TERMINATED")),
    cn("CN:02-04", expect("offer"), send("request", 201), wait_state("tck", "OFFERED"),
       send("termination"), wait_state("cut", "TERMINATED")),
    cn("CN:02-05", expect("offer"), send("request", 201), wait_state("tck", "OFFERED"),
       expect("termination"), wait_state("tck", "TERMINATED"), wait_state("cut", "TERMINATED")),
    cn("CN:02-06", expect("offer"), send("request", 201), wait_state("tck", "OFFERED"),
       send("accepted"), expect("termination"), wait_state("tck", "TERMINATED"), wait_state("cut", "TERMINATED")),
    cn("CN:02-07", expect("agreement"), send("request", 201), wait_state("tck", "AGREED"),
       expect("termination"), send("verification"), wait_state("tck", "TERMINATED"), wait_state("cut", "TERMINATED")),
    cn("CN:03-01", expect("agreement"), send("request", 201), wait_state("tck", "AGREED"),
       expect("finalized"), send("verification"), wait_state("tck", "FINALIZED"),
       send("termination", expect="4xx"), wait_state("cut", "FINALIZED")),
    cn("CN:03-02", expect("offer"), send("request", 201), wait_state("tck", "OFFERED"),
       send("verification", expect="4xx"), wait_state("cut", "OFFERED")),
    cn("CN:03-03", expect("offer"), send("request", 201), wait_state("tck", "OFFERED"),
       send("accepted"), send("verification", expect="4xx"), wait_state("cut", "ACCEPTED")),
    cn("CN:03-04", expect("offer"), send("request", 201), wait_state("tck", "OFFERED"),
       send("counter"), send("counter", expect="4xx"), wait_state("cut", "REQUESTED")),
]


@pytest.mark.parametrize("scenario", [
    pytest.param(s, id=s.id, marks=[pytest.mark.xfail(strict=True, reason=s.xfail)] if s.xfail else [])
    for s in SCENARIOS
])
def test_provider_negotiation(scenario: Scenario, cut, peer) -> None:  # type: ignore[no-untyped-def]
    play(scenario, cut, peer)
