"""Transfer-process steps for the TCK harness: the TP/TP_C counterpart of ``steps.py``.

They follow ``TransferProcessProvider0{1,2,3}Test`` / ``TransferProcessConsumer0{1,2,3}Test`` of
eclipse-dataspacetck/dsp-tck and its transfer pipelines:

    tp_expect(kind)          arm the peer for a transfer message the CUT will send
    tp_send(kind, expect=)   the TCK sends a transfer message (consumer role for TP, provider for TP_C)
    tp_trigger()             the TCK pokes ``/tck/transfers/requests`` (TP_C: initiateTransferRequest)
    tp_wait_state(side, s)   "tck": the TCK's own state; "cut": GET the CUT's transfer process
                             (``<dsp>/transfers/:providerPid``, or ``<callbackAddress>/transfers/:consumerPid``)

``Scenario.dataset`` carries the agreement id (ATPxxyy / ATPCxxyy). Every message the CUT sends,
every answer and every refusal is checked against the 2025-1 transfer message shapes (``shapes``).
A provider CUT's TransferStartMessage must carry the DataAddress a pull transfer needs.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from tests.tck import shapes
from tests.tck.peer import DSPACE_CONTEXT, Expectation
from tests.tck.steps import (
    CONSUMER,
    PROVIDER,
    TCK_PARTICIPANT,
    TIMEOUT,
    Run,
    Step,
    expect_callback,
    post_to_cut,
    post_trigger,
    wait_state,
)

FORMAT = "HttpData-PULL"
# the TCK's TransferFunctions.dataAddress(): what a provider TCK hands the consumer CUT on start
TCK_DATA_ADDRESS = {
    "@type": "DataAddress", "endpointType": "https://w3id.org/idsa/v4.1/HTTP", "endpoint": "http://tck.invalid/data",
    "endpointProperties": [{"@type": "EndpointProperty", "name": "authorization", "value": "TCK-TOKEN"},
                           {"@type": "EndpointProperty", "name": "authType", "value": "bearer"}],
}
TP_CALLBACKS = {
    "request": (r"transfers/request", "TransferRequestMessage"),
    "start": (r"transfers/[^/]+/start", "TransferStartMessage"),
    "suspension": (r"transfers/[^/]+/suspension", "TransferSuspensionMessage"),
    "completion": (r"transfers/[^/]+/completion", "TransferCompletionMessage"),
    "termination": (r"transfers/[^/]+/termination", "TransferTerminationMessage"),
}


class TransferRun(Run):
    """A scenario about a transfer process: checks what the CUT sends as transfer messages."""

    def check_callback(self, expectation: Expectation, body: Any) -> list[str]:
        path = expectation.received.path if expectation.received else ""
        self.note(f"CUT -> TCK  {path}: {json.dumps(body)[:300]}")
        found = shapes.problems(expectation.type_name, body)
        if found or not isinstance(body, dict):
            return [f"{expectation.type_name} from the CUT: " + "; ".join(found)]
        if self.scenario.role == CONSUMER and self.consumer_pid is None:
            # the CUT's TransferRequestMessage: learn its pid and callback address
            self.consumer_pid = body.get("consumerPid")
            self.cut_callback = body.get("callbackAddress")
            self.provider_pid = self.session.provider_pid
            if self.cut_callback != self.cut.dsp_url:
                found.append(f"callbackAddress: expected the CUT's DSP base {self.cut.dsp_url}, got {self.cut_callback!r}")
            if body.get("agreementId") != self.scenario.dataset or body.get("format") != FORMAT:
                found.append(f"agreementId/format: expected {self.scenario.dataset}/{FORMAT}, "
                             f"got {body.get('agreementId')!r}/{body.get('format')!r}")
            return found
        for key, mine in (("consumerPid", self.consumer_pid), ("providerPid", self.provider_pid)):
            if mine is not None and body.get(key) != mine:
                found.append(f"{key}: expected {mine}, got {body.get(key)!r}")
        addressed = self.consumer_pid if self.scenario.role == PROVIDER else self.provider_pid
        if addressed and f"transfers/{addressed}/" not in path + "/":
            found.append(f"path: {path} does not address our process {addressed}")
        if expectation.type_name == "TransferStartMessage" and self.scenario.role == PROVIDER:
            address = body.get("dataAddress") or {}
            names = {p.get("name") for p in address.get("endpointProperties") or []}
            # DSP leaves the names open; EDC and Factory-X ADR 002 use the EDC IRI, older peers the bare term
            if not address.get("endpoint") or not names & {"authorization", EDC_AUTHORIZATION}:
                found.append(f"dataAddress: a pull start needs an endpoint and an authorization, got {address!r}")
        return found


EDC_AUTHORIZATION = "https://w3id.org/edc/v0.0.1/ns/authorization"


def _envelope(type_name: str, **fields: Any) -> dict:
    return {"@context": [DSPACE_CONTEXT], "@type": type_name, "@id": f"urn:uuid:{uuid.uuid4()}", **fields}


def _message(r: Run, kind: str) -> tuple[str, dict]:
    pids = {"providerPid": r.provider_pid, "consumerPid": r.consumer_pid}
    if r.scenario.role == PROVIDER:  # the TCK is the consumer: the CUT's provider endpoints
        base = f"{r.cut.dsp_url}/transfers/{r.provider_pid}"
        if kind == "request":
            return f"{r.cut.dsp_url}/transfers/request", _envelope(
                "TransferRequestMessage", consumerPid=r.consumer_pid, agreementId=r.scenario.dataset, format=FORMAT,
                callbackAddress=r.session.base_url)
    else:  # the TCK is the provider: the CUT's callback endpoints
        base = f"{r.cut_callback}/transfers/{r.consumer_pid}"
    if kind == "start":
        extra = {"dataAddress": TCK_DATA_ADDRESS} if r.scenario.role == CONSUMER else {}
        return f"{base}/start", _envelope("TransferStartMessage", **pids, **extra)
    if kind == "suspension":
        return f"{base}/suspension", _envelope("TransferSuspensionMessage", **pids, code="1",
                                               reason=[{"message": f"suspended by the TCK in {r.scenario.id}"}])
    if kind == "completion":
        return f"{base}/completion", _envelope("TransferCompletionMessage", **pids)
    if kind == "termination":
        return f"{base}/termination", _envelope("TransferTerminationMessage", **pids, code="1",
                                                reason=[{"message": f"terminated by the TCK in {r.scenario.id}"}])
    raise ValueError(f"the TCK does not send {kind!r} here")


def tp_send(kind: str, expect: int | str = 200) -> Step:
    def run(r: Run) -> None:
        url, message = _message(r, kind)
        if kind == "termination":
            time.sleep(0.1)  # as the TCK's pipeline pauses before it terminates
        post_to_cut(r, kind, url, message, expect, error_type="TransferError", ack_type="TransferProcess")

    return Step(f"tp_send({kind}, expect={expect})", run)


def tp_expect(kind: str) -> Step:
    path, type_name = TP_CALLBACKS[kind]
    return expect_callback(path, type_name)


def tp_trigger() -> Step:
    return post_trigger("transfers", lambda r: {
        "agreementId": r.scenario.dataset, "format": FORMAT, "providerId": TCK_PARTICIPANT,
        "connectorAddress": r.session.base_url})


def tp_wait_state(side: str, state: str, timeout: float = TIMEOUT) -> Step:
    return wait_state(side, state, timeout, process="transfers", type_name="TransferProcess")
