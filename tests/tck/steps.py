"""TCK scenarios as declarative step lists, and the runner that plays them against the CUT.

A scenario reads like the real TCK's pipeline (``eclipse-dataspacetck/dsp-tck``,
``ProviderNegotiationPipelineImpl`` / ``ConsumerNegotiationPipelineImpl``):

    expect_callback(...)    arm the peer for a message the CUT will send (TCK: expect*Message)
    send(kind, expect=...)  the TCK sends a message (TCK: send*/acceptLastOffer); 200, 201 or "4xx"
    trigger()               the TCK pokes the CUT's consumer webhook (TCK: initiateRequest)
    wait_state(side, s)     "tck": the TCK's own state (thenWaitForState);
                            "cut": poll the CUT's GET (thenVerifyProviderState/ConsumerState)

Like the TCK, a negative step accepts any 4xx except 404, a positive POST is retried on a
non-404 4xx (3 attempts), the TCK adds a top-level ``@id`` to each message and sends reasons as
``[{"message": ...}]``. Every message and body the CUT emits is checked against the 2025-1
schemas. At the end every armed expectation must have been met, and nothing unexpected sent.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.harness import settle
from tests.tck import shapes
from tests.tck.cut import Cut
from tests.tck.peer import DSPACE_CONTEXT, Expectation, Peer, Session, state_after

TCK_PARTICIPANT = "TCK_PARTICIPANT"
TIMEOUT = 5.0
PROVIDER, CONSUMER = "provider", "consumer"  # the role the CUT plays


@dataclass(frozen=True)
class Step:
    text: str
    run: Callable[[Run], None]

    def __repr__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Scenario:
    id: str  # the TCK's id, e.g. "CN:01-03"
    role: str  # the role of the CUT
    dataset: str
    steps: tuple[Step, ...]
    offer_id: str = ""
    xfail: str | None = None  # a known defect of the CUT, with its diagnosis

    @property
    def offer(self) -> str:
        # CN offers are configured (CD123:<ds>:456); in CN_C the TCK uses "offer" + datasetId
        return self.offer_id or (f"CD123:{self.dataset}:456" if self.role == PROVIDER else f"offer{self.dataset}")


@dataclass
class Run:
    """One scenario being played: the pids, the peer session, what happened so far."""

    scenario: Scenario
    cut: Cut
    session: Session = field(init=False)
    client: httpx.Client = field(init=False)
    consumer_pid: str | None = None
    provider_pid: str | None = None
    cut_callback: str | None = None  # CN_C: the callbackAddress the CUT sent
    trigger_pid: str | None = None  # CN_C: the consumerPid the trigger webhook answered with
    transcript: list[str] = field(default_factory=list)

    def note(self, line: str) -> None:
        self.transcript.append(line)

    # --- checks of what the CUT sends us ---------------------------------------------------

    def check_callback(self, expectation: Expectation, body: Any) -> list[str]:
        """Runs in the peer's thread for every message the CUT sends that the scenario expects."""
        self.note(f"CUT -> TCK  {expectation.received.path if expectation.received else '?'}: "
                  f"{json.dumps(body)[:300]}")
        found = shapes.problems(expectation.type_name, body)
        if found or not isinstance(body, dict):
            return [f"{expectation.type_name} from the CUT: " + "; ".join(found)]
        if expectation.event and body.get("eventType") != expectation.event:
            found.append(f"eventType: expected {expectation.event}, got {body.get('eventType')!r}")
        if self.scenario.role == CONSUMER and self.consumer_pid is None:
            # the CUT's initial ContractRequestMessage: learn its pid and callback address
            self.consumer_pid = body.get("consumerPid")
            self.cut_callback = body.get("callbackAddress")
            self.provider_pid = self.session.provider_pid
            offer = body.get("offer", {})
            if self.cut_callback != self.cut.dsp_url:
                found.append(f"callbackAddress: expected the CUT's DSP base {self.cut.dsp_url}, got {self.cut_callback!r}")
            if offer.get("@id") != self.scenario.offer or offer.get("target") != self.scenario.dataset:
                found.append(f"offer: expected @id {self.scenario.offer} and target {self.scenario.dataset}, "
                             f"got {offer.get('@id')!r} / {offer.get('target')!r}")
            return found
        for key, mine in (("consumerPid", self.consumer_pid), ("providerPid", self.provider_pid)):
            if mine is not None and body.get(key) != mine:
                found.append(f"{key}: expected {mine}, got {body.get(key)!r}")
        path = expectation.received.path if expectation.received else ""
        addressed = self.consumer_pid if self.scenario.role == PROVIDER else self.provider_pid
        if addressed and path != "negotiations/request" and f"negotiations/{addressed}/" not in path + "/":
            found.append(f"path: {path} does not address our process {addressed}")
        return found

    def check_body(self, type_name: str, response: httpx.Response, what: str) -> Any:
        try:
            body = response.json()
        except ValueError:
            raise AssertionError(f"{what}: the CUT answered {response.status_code} with a body that is not JSON: "
                                 f"{response.text[:300]!r}") from None
        shapes.check(type_name, body, f"{what} (HTTP {response.status_code})")
        return body

    def problems(self) -> list[str]:
        with self.session.cond:
            return [p for e in self.session.armed for p in e.problems]

    def fail_on_problems(self) -> None:
        found = self.problems()
        if found:
            raise AssertionError("the CUT sent invalid messages:\n  " + "\n  ".join(found))


# --- the messages the TCK sends --------------------------------------------------------------


def _envelope(type_name: str, **fields: Any) -> dict:
    return {"@context": [DSPACE_CONTEXT], "@type": type_name, "@id": f"urn:uuid:{uuid.uuid4()}", **fields}


# the TCK's rule (NegotiationFunctions.createOfferPolicy): "use" with an empty constraint list
USE = [{"action": "use", "constraint": []}]


def _offer(run: Run, **parties: str) -> dict:
    return {"@id": run.scenario.offer, "@type": "Offer", "target": run.scenario.dataset, **parties, "permission": USE}


def _pids(run: Run) -> dict:
    return {"providerPid": run.provider_pid, "consumerPid": run.consumer_pid}


def _tck_as_consumer(run: Run, kind: str) -> tuple[str, dict]:
    base, pp = run.cut.dsp_url, run.provider_pid
    if kind == "request":
        return f"{base}/negotiations/request", _envelope(
            "ContractRequestMessage", consumerPid=run.consumer_pid, offer=_offer(run),
            callbackAddress=run.session.base_url)
    if kind == "counter":
        offer = _offer(run, assigner=run.cut.participant_id, assignee=TCK_PARTICIPANT)
        return f"{base}/negotiations/{pp}/request", _envelope("ContractRequestMessage", **_pids(run), offer=offer)
    if kind == "accepted":
        return f"{base}/negotiations/{pp}/events", _envelope("ContractNegotiationEventMessage", **_pids(run),
                                                             eventType="ACCEPTED")
    if kind == "verification":
        return f"{base}/negotiations/{pp}/agreement/verification", _envelope(
            "ContractAgreementVerificationMessage", **_pids(run))
    if kind == "termination":
        return f"{base}/negotiations/{pp}/termination", _termination(run)
    raise ValueError(f"the TCK as consumer does not send {kind!r}")


def _tck_as_provider(run: Run, kind: str) -> tuple[str, dict]:
    base = f"{run.cut_callback}/negotiations/{run.consumer_pid}"
    if kind == "offer":
        offer = _offer(run, assigner=TCK_PARTICIPANT, assignee=run.cut.participant_id)
        return f"{base}/offers", _envelope("ContractOfferMessage", **_pids(run), offer=offer)
    if kind == "agreement":
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        agreement = {"@id": str(uuid.uuid4()), "@type": "Agreement", "target": run.scenario.dataset,
                     "assigner": TCK_PARTICIPANT, "assignee": run.cut.participant_id, "timestamp": stamp,
                     "permission": USE}  # the TCK's agreement id is a bare UUID, not a URI
        return f"{base}/agreement", _envelope("ContractAgreementMessage", **_pids(run), agreement=agreement)
    if kind == "finalized":
        return f"{base}/events", _envelope("ContractNegotiationEventMessage", **_pids(run), eventType="FINALIZED")
    if kind == "termination":
        return f"{base}/termination", _termination(run)
    raise ValueError(f"the TCK as provider does not send {kind!r}")


def _termination(run: Run) -> dict:
    return _envelope("ContractNegotiationTerminationMessage", **_pids(run), code="1",
                     reason=[{"message": f"terminated by the TCK in {run.scenario.id}"}])


# --- steps -----------------------------------------------------------------------------------


# The TCK pauses 100 ms before these (AbstractNegotiationPipeline.sendTermination,
# ProviderNegotiationPipelineImpl.sendVerifiedEvent), which lets the CUT see the acknowledgement
# of its last message first. CN:03-01 depends on it: without the pause the TCK's termination can
# reach the CUT while its FINALIZED is still unacknowledged, when the CUT is rightly VERIFIED.
PAUSED = ("termination", "verification")


def post_to_cut(r: Run, kind: str, url: str, message: dict, expect: int | str, *,
                error_type: str, ack_type: str) -> None:
    """Send one TCK message to the CUT as the TCK does, and check the answer's status and shape.

    A positive POST refused with a non-404 4xx is retried (3 attempts in all), like the TCK; a 404
    always fails; a refusal body must be ``error_type``, an answer ``ack_type``.
    """
    with r.session.cond:
        before = r.session.version
    attempts = 1 if expect == "4xx" else 3
    for attempt in range(attempts):
        response = r.client.post(url, json=message)
        r.note(f"TCK -> CUT  {kind} -> {response.status_code} {response.text[:200]}")
        if expect == "4xx" or response.status_code == 404 or not 400 <= response.status_code < 500:
            break
        time.sleep(0.2 * 2 ** attempt)  # the TCK retries a refused positive POST
    status = response.status_code
    if status == 404:
        raise AssertionError(f"{kind}: the CUT answered 404 (the TCK fails any 404): {response.text[:300]}")
    if expect == "4xx":
        assert 400 <= status < 500, f"{kind}: expected a 4xx refusal, got {status}: {response.text[:300]}"
        if response.content:
            r.check_body(error_type, response, f"the CUT's refusal of {kind}")
        return
    assert status == expect, f"{kind}: expected {expect}, got {status}: {response.text[:300]}"
    if response.content:
        body = r.check_body(ack_type, response, f"the CUT's answer to {kind}")
        if kind == "request":
            assert body["consumerPid"] == r.consumer_pid and body["state"] == "REQUESTED", body
            r.provider_pid = body["providerPid"]
    elif kind == "request":
        raise AssertionError(f"the CUT answered the initial request without a {ack_type} body")
    with r.session.cond:
        # a callback that arrived while we were sending is the CUT's answer to it: newer state
        if r.session.version == before:
            r.session.tck_state = state_after(message)
        r.session.cond.notify_all()


def send(kind: str, expect: int | str = 200) -> Step:
    def run(r: Run) -> None:
        build = _tck_as_consumer if r.scenario.role == PROVIDER else _tck_as_provider
        url, message = build(r, kind)
        if kind in PAUSED:
            time.sleep(0.1)
        post_to_cut(r, kind, url, message, expect, error_type="ContractNegotiationError",
                    ack_type="ContractNegotiation")

    return Step(f"send({kind}, expect={expect})", run)


def expect_callback(path_regex: str, msg_type: str, event: str | None = None) -> Step:
    def run(r: Run) -> None:
        r.session.arm(path_regex, msg_type, event)

    return Step(f"expect_callback({path_regex}, {msg_type}{', ' + event if event else ''})", run)


# the CUT's messages by kind: (path below the TCK's base, @type, eventType)
CALLBACKS = {
    "request": (r"negotiations/request", "ContractRequestMessage", None),
    "counter": (r"negotiations/[^/]+/request", "ContractRequestMessage", None),
    "accepted": (r"negotiations/[^/]+/events", "ContractNegotiationEventMessage", "ACCEPTED"),
    "verification": (r"negotiations/[^/]+/agreement/verification", "ContractAgreementVerificationMessage", None),
    "offer": (r"negotiations/[^/]+/offers", "ContractOfferMessage", None),
    "agreement": (r"negotiations/[^/]+/agreement", "ContractAgreementMessage", None),
    "finalized": (r"negotiations/[^/]+/events", "ContractNegotiationEventMessage", "FINALIZED"),
    "termination": (r"negotiations/[^/]+/termination", "ContractNegotiationTerminationMessage", None),
}


def expect(kind: str) -> Step:
    path, type_name, event = CALLBACKS[kind]
    return expect_callback(path, type_name, event)


def post_trigger(kind: str, body_of) -> Step:  # type: ignore[no-untyped-def]
    """The TCK's consumer trigger webhook for ``kind`` (negotiations or transfers)."""
    def run(r: Run) -> None:
        response = r.client.post(f"{r.cut.base_url}/tck/{kind}/requests", json=body_of(r))
        r.note(f"TCK -> CUT  trigger -> {response.status_code} {response.text[:200]}")
        assert response.is_success, f"trigger: expected 2xx, got {response.status_code}: {response.text[:300]}"
        r.trigger_pid = response.json().get("consumerPid")

    return Step(f"trigger({kind})", run)


def trigger(**overrides: str) -> Step:
    return post_trigger("negotiations", lambda r: {
        "datasetId": r.scenario.dataset, "offerId": r.scenario.offer, "providerId": TCK_PARTICIPANT,
        "connectorAddress": r.session.base_url, **overrides})


def wait_state(side: str, state: str, timeout: float = TIMEOUT, *, process: str = "negotiations",
               type_name: str = "ContractNegotiation") -> Step:
    """Wait until the TCK's side or the CUT's (polled by GET) is in ``state``."""
    def tck(r: Run) -> None:
        reached = r.session.wait_for(lambda: r.session.tck_state == state or bool(r.problems()), timeout)
        r.fail_on_problems()
        assert reached, f"the TCK did not reach {state} in {timeout}s (it is {r.session.tck_state})"

    def cut(r: Run) -> None:
        if r.scenario.role == PROVIDER:
            url = f"{r.cut.dsp_url}/{process}/{r.provider_pid}"
        else:
            url = f"{r.cut_callback}/{process}/{r.consumer_pid}"
        wanted = {"providerPid": r.provider_pid, "consumerPid": r.consumer_pid, "state": state}
        seen: dict = {}

        def reached() -> bool:
            nonlocal seen
            response = r.client.get(url)
            assert response.status_code == 200, f"GET {url}: expected 200, got {response.status_code}: {response.text[:300]}"
            body = r.check_body(type_name, response, f"GET {url}")
            seen = {key: body.get(key) for key in wanted}
            # a consumer shows providerPid "" until its request is acknowledged: wait past that too
            return seen == wanted

        settle(until=reached, timeout=timeout, what=lambda: f"the CUT's {type_name} to be {wanted} (it is {seen})")
        r.note(f"CUT state {state}")

    return Step(f"wait_state({side}, {state})", tck if side == "tck" else cut)


# --- the runner ------------------------------------------------------------------------------


def play(scenario: Scenario, cut: Cut, peer: Peer, run_class: type[Run] = Run) -> None:
    run = run_class(scenario, cut)
    run.session = peer.session(run.check_callback)
    run.client = httpx.Client(timeout=10.0, headers={"Authorization": cut.token})
    if scenario.role == PROVIDER:
        run.consumer_pid = f"urn:uuid:{uuid.uuid4()}"
    try:
        for step in scenario.steps:
            run.note(f"-- {step.text}")
            step.run(run)
        _finish(run)
    except AssertionError as exc:
        raise AssertionError(f"{scenario.id} failed: {exc}\n\ntranscript:\n  " + "\n  ".join(run.transcript)
                             + f"\n\nCUT log (tail):\n{cut.log_tail(15)}") from None
    finally:
        with run.session.cond:
            run.session.closed = True
            run.session.cond.notify_all()
        run.client.close()


def _finish(run: Run) -> None:
    """Every armed expectation met, no invalid message, nothing unexpected (even a late one)."""
    session = run.session
    for expectation in list(session.armed):
        met = session.wait_for(lambda e=expectation: e.received is not None, TIMEOUT)
        assert met, f"the CUT never sent the expected {expectation.type_name} ({expectation.pattern})"
    run.fail_on_problems()
    if run.trigger_pid is not None:
        assert run.trigger_pid == run.consumer_pid, (
            f"the trigger answered consumerPid {run.trigger_pid}, the CUT's request used {run.consumer_pid}")
    time.sleep(0.15)  # a stray message the CUT sends right after the last step
    with session.cond:
        strays = [f"{u.path}: {json.dumps(u.body)[:200]}" for u in session.unexpected]
        strays += [f"{path} (held, no expectation armed for it)" for path in session.waiting]
    assert not strays, "the CUT sent messages the TCK did not expect:\n  " + "\n  ".join(strays)
