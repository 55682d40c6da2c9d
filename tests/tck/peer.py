"""The TCK's side of the wire: a small DSP counter-party served by uvicorn in a background thread.

Each scenario gets a session with its own base URL (``/s/<token>``), which it hands to the
connector under test as ``callbackAddress`` (CN) or ``connectorAddress`` (CN_C), so callbacks of
different scenarios never mix. Like the real TCK (``DefaultCallbackEndpoint``), the peer answers
only messages a scenario has *armed* an expectation for; anything else gets 404 and is recorded
as unexpected. Unlike the real TCK it gives a message that arrives a moment before its
expectation is armed a short grace period: the real TCK arms some handlers only after a state
wait (awaitility, 100 ms polls), which races a connector that answers at once. EDC's connector
under test delays every scripted action by 500 ms for that reason (``DelayedActionGuard``).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from tests.harness import serve_in_thread

DSPACE_CONTEXT = "https://w3id.org/dspace/2025/1/context.jsonld"
GRACE_SECONDS = 1.0

# the state both sides are in once a message is acknowledged
STATE_AFTER = {
    "ContractRequestMessage": "REQUESTED",
    "ContractOfferMessage": "OFFERED",
    "ContractAgreementMessage": "AGREED",
    "ContractAgreementVerificationMessage": "VERIFIED",
    "ContractNegotiationTerminationMessage": "TERMINATED",
    "TransferRequestMessage": "REQUESTED",
    "TransferStartMessage": "STARTED",
    "TransferSuspensionMessage": "SUSPENDED",
    "TransferCompletionMessage": "COMPLETED",
    "TransferTerminationMessage": "TERMINATED",
}


def state_after(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    kind = body.get("@type")
    if kind == "ContractNegotiationEventMessage":
        return body.get("eventType") if body.get("eventType") in ("ACCEPTED", "FINALIZED") else None
    return STATE_AFTER.get(kind)


def negotiation(provider_pid: str, consumer_pid: str, state: str) -> dict:
    return {"@context": [DSPACE_CONTEXT], "@type": "ContractNegotiation", "providerPid": provider_pid,
            "consumerPid": consumer_pid, "state": state}


def transfer(provider_pid: str, consumer_pid: str, state: str) -> dict:
    return {"@context": [DSPACE_CONTEXT], "@type": "TransferProcess", "providerPid": provider_pid,
            "consumerPid": consumer_pid, "state": state}


@dataclass
class Received:
    path: str
    body: Any
    status: int = 200


@dataclass
class Expectation:
    pattern: str
    type_name: str
    event: str | None = None  # the eventType an event message must carry
    received: Received | None = None
    problems: list[str] = field(default_factory=list)

    def matches(self, path: str) -> bool:
        return self.received is None and re.fullmatch(self.pattern, path) is not None


Checker = Callable[[Expectation, Any], list[str]]


class Session:
    """One scenario's view of the peer: what it expects, what arrived, the TCK's own state."""

    def __init__(self, token: str, base_url: str, checker: Checker) -> None:
        self.token = token
        self.base_url = base_url
        self.checker = checker
        self.cond = threading.Condition()
        self.armed: list[Expectation] = []
        self.unexpected: list[Received] = []
        self.waiting: list[str] = []  # messages held in their grace period
        self.closed = False  # the scenario is over: everything is unexpected now
        self.tck_state: str | None = None
        self.version = 0  # counts the messages the CUT sent us, to order our own state changes
        # the TCK's provider process id, when the TCK plays the provider
        self.provider_pid = f"urn:uuid:{uuid.uuid4()}"
        self.first_request: Any = None

    def arm(self, pattern: str, type_name: str, event: str | None = None) -> Expectation:
        with self.cond:
            expectation = Expectation(pattern, type_name, event)
            self.armed.append(expectation)
            self.cond.notify_all()
            return expectation

    def set_state(self, state: str | None) -> None:
        with self.cond:
            if state is not None:
                self.tck_state = state
            self.cond.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(predicate, timeout)

    def deliver(self, path: str, body: Any) -> tuple[int, Any]:
        """Called in a worker thread for every message the connector under test sends us."""
        deadline = time.monotonic() + GRACE_SECONDS
        with self.cond:
            self.waiting.append(path)
            try:
                while True:
                    expectation = None if self.closed else next((e for e in self.armed if e.matches(path)), None)
                    if expectation is not None:
                        break
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or self.closed:
                        self.unexpected.append(Received(path, body, 404))
                        self.cond.notify_all()
                        return 404, {"error": f"the TCK expects no message at {path} now"}
                    self.cond.wait(remaining)
            finally:
                self.waiting.remove(path)
            expectation.received = Received(path, body)
            self.version += 1
            expectation.problems.extend(self.checker(expectation, body))
            if path == "negotiations/request" and self.first_request is None:
                self.first_request = body
            # the real TCK moves its state when its handler runs, before it answers
            if not expectation.problems:
                self.tck_state = state_after(body) or self.tck_state
            self.cond.notify_all()
        return self._reply(path, body)

    def _reply(self, path: str, body: dict) -> tuple[int, Any]:
        consumer_pid = str(body.get("consumerPid", ""))
        provider_pid = str(body.get("providerPid") or self.provider_pid)
        if path == "negotiations/request":
            return 201, negotiation(self.provider_pid, consumer_pid, "REQUESTED")
        if re.fullmatch(r"negotiations/[^/]+/request", path):
            return 200, negotiation(provider_pid, consumer_pid, "REQUESTED")
        if re.fullmatch(r"negotiations/[^/]+/offers", path):
            return 200, negotiation(provider_pid, consumer_pid, "OFFERED")
        if path == "transfers/request":  # the TCK as provider accepts a transfer request
            return 201, transfer(self.provider_pid, consumer_pid, "REQUESTED")
        return 200, None


class Peer:
    """The FastAPI app of the TCK peer, and its sessions."""

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        self.base_url = ""
        self.app = FastAPI(title="TCK peer")
        self.app.add_api_route("/s/{token}/{path:path}", self._handle, methods=["POST"])

    def session(self, checker: Checker) -> Session:
        token = uuid.uuid4().hex[:12]
        session = Session(token, f"{self.base_url}/s/{token}", checker)
        self.sessions[token] = session
        return session

    async def _handle(self, token: str, path: str, request: Request) -> Response:
        session = self.sessions.get(token)
        if session is None:
            return JSONResponse({"error": f"no scenario {token}"}, status_code=404)
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"unparsable": raw.decode(errors="replace")[:500]}
        status, answer = await run_in_threadpool(session.deliver, path.strip("/"), body)
        if answer is None:
            return Response(status_code=status)
        return JSONResponse(answer, status_code=status)


class PeerServer:
    """uvicorn serving a ``Peer`` on 127.0.0.1 in a daemon thread."""

    def __init__(self, peer: Peer, port: int) -> None:
        self.peer = peer
        self.port = port
        peer.base_url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(peer.app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = serve_in_thread(self.server, "the TCK peer")

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=10)
