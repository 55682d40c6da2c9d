"""The one harness for tests with two (or more) connectors: starting them, seeding them, a clock, ``settle``.

Two ways to run a connector, as each suite needs:

- in process: ``Party`` is one connector's settings, container and ASGI app; a ``Router`` carries
  DSP between the apps by host name, without sockets. Their outbox workers do not run by
  themselves: ``settle`` drives them, so a test sees every state deterministically.
  ``InProcessPair`` adds each side's management API (a ``TestClient`` with the API key).
- real processes: ``Node`` writes a config and starts ``connector serve`` on 127.0.0.1 (through
  connector/cli/launch.py); they talk real HTTP, and ``settle(until=...)`` waits for a state.

``settle`` is the only way a test waits for something to happen. It never sleeps a fixed time: it
drives the workers until no message is due (in process), or it waits for a condition with a
bounded deadline (real processes). Either way a test fails, naming what it waited for, when the
thing never happens. (The few fixed pauses left in tests/ are the behaviour of a fake peer: a slow
supplier, the TCK's own pauses, a check that nothing more arrives.)
The harness uses only public APIs (``build``, ``create_app``, ``worker.run_once``), so it does not
care how the process engine commits inside.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, overload

import httpx
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from connector.app import create_app
from connector.cli.configs import render_config
from connector.cli.launch import ConnectorProcess, free_port, start_connector, wait_ready
from connector.config import DSP_PATH, Peer, Settings
from connector.policy import policy_from_compact_dsp, policy_to_compact
from connector.services.container import Container, build
from connector.services.transport import DspClient
from connector.store.models import Asset, ContractDefinition, PolicyDefinition

T = TypeVar("T")

# what the Catena-X policies ask of a peer; in static-token mode a peer's claims come from the config
CLAIMS: dict[str, Any] = {"membership": True, "frameworkAgreements": {"DataExchangeGovernance": "1.0"}}
EDC_ID = "https://w3id.org/edc/v0.0.1/ns/id"


class Clock:
    """The connectors' clock (epoch ms); tests move it instead of sleeping."""

    def __init__(self, now_ms: int | None = None) -> None:
        self.now = int(time.time() * 1000) if now_ms is None else now_ms

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1000)


# --- in process ----------------------------------------------------------------------------------


class Router(httpx.AsyncBaseTransport):
    """An httpx transport that hands each request to the app registered for its host (``host[:port]``).

    Apps are looked up when a request goes out, so a client built before its peer's app reaches it.
    """

    def __init__(self) -> None:
        self.apps: dict[str, httpx.ASGITransport] = {}
        self.log: list[tuple[str, str, int]] = []

    def add(self, netloc: str, app: FastAPI) -> None:
        self.apps[netloc] = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self.apps.get(request.url.netloc.decode())
        if transport is None:
            raise httpx.ConnectError(f"no route to {request.url.netloc!r}", request=request)
        response = await transport.handle_async_request(request)
        self.log.append((request.method, request.url.path, response.status_code))
        return response


@dataclass
class Party:
    """One connector in process."""

    settings: Settings
    services: Container
    app: FastAPI
    base: str
    api: TestClient | None = None  # its management API, when the test drives it over HTTP

    @property
    def dsp(self) -> str:
        return self.settings.dsp_url


def start_party(settings: Settings, router: Router, *, clock: Callable[[], int] | None = None,
                api_key: str | None = None) -> Party:
    """Build one connector whose DSP client goes through ``router``, and register its app there.

    Its workers never run by themselves (``settle`` drives them). With ``api_key`` the party gets
    a management ``TestClient``; enter it (``with party.api``) to run the app's lifespan.
    """
    client = DspClient(httpx.AsyncClient(transport=router, timeout=10))
    services = build(settings, client=client) if clock is None else build(settings, clock=clock, client=client)
    services.db.migrate()
    app = create_app(settings, services, run_worker=False)
    router.add(settings.public_url.split("://", 1)[1], app)
    api = TestClient(app, headers={"X-Api-Key": api_key}) if api_key is not None else None
    return Party(settings, services, app, settings.public_url, api)


async def drive(*parties: Party, rounds: int = 50) -> int:
    """Run the parties' outbox workers until none has a message due; returns how many were sent."""
    sent = 0
    for _ in range(rounds):
        this_round = 0
        for party in parties:
            this_round += await party.services.worker.run_once()
        if not this_round:
            return sent
        sent += this_round
    raise AssertionError(f"the workers did not settle: messages were still due after {rounds} rounds "
                         f"({sent} sent); a process keeps answering itself?")


@overload
def settle(*parties: Party, until: None = None, what: str | Callable[[], str] = "", timeout: float = 30,
           rounds: int = 50) -> None: ...


@overload
def settle(*parties: Party, until: Callable[[], T | None], what: str | Callable[[], str] = "", timeout: float = 30,
           rounds: int = 50) -> T: ...


def settle(*parties: Party, until: Callable[[], T | None] | None = None, what: str | Callable[[], str] = "",
           timeout: float = 30, rounds: int = 50) -> T | None:
    """Wait, deterministically, until nothing is left to happen; the one way a test waits.

    With parties (in process): drive their outbox workers until no message is due on any, then
    check ``until`` once: it must hold now, as nothing else will happen.
    Without parties (real processes): poll ``until`` until it returns a truthy value, at most
    ``timeout`` seconds. Either way, failing names ``what`` was awaited and the last value seen.
    Returns what ``until`` returned. ``what`` may be a function, read when the wait fails (to show the last state).
    """
    if parties:
        portal = next((p.api.portal for p in parties if p.api is not None and getattr(p.api, "portal", None)), None)
        # in the portal of a started TestClient the apps' lifespan objects share the workers' event loop
        if portal is not None:
            portal.call(lambda: drive(*parties, rounds=rounds))
        else:
            asyncio.run(drive(*parties, rounds=rounds))
        if until is None:
            return None
        found = until()
        if not found:
            raise AssertionError(f"settled, but not {_say(what) or 'as expected'}: got {found!r}")
        return found
    if until is None:
        raise TypeError("settle() needs parties to drive or a condition to wait for")
    deadline = time.monotonic() + timeout
    pause = 0.02
    while True:
        found = until()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {_say(what) or 'a condition'}; last seen: {found!r}")
        time.sleep(pause)  # a real process works on its own time: look again, less often as it takes longer
        pause = min(pause * 2, 0.2)


def _say(what: str | Callable[[], str]) -> str:
    return what if isinstance(what, str) else what()


def seed_offer(services: Container, asset_id: str = "asset-1", policy: dict | None = None,
               data_address: dict | None = None, policy_id: str = "policy-1") -> None:
    """An asset, its policy and a contract definition offering it, written straight to the store."""
    typed = policy_from_compact_dsp(policy or {"@type": "Set", "@id": "p", "permission": [{"action": "use"}]})
    with services.db.write() as s:
        s.add(Asset(id=asset_id, properties={"http://purl.org/dc/terms/title": asset_id},
                    private_properties={}, data_address=data_address or {"type": "HttpData"}, created_at=1))
        if s.get(PolicyDefinition, policy_id) is None:
            s.add(PolicyDefinition(id=policy_id, policy=policy_to_compact(typed, policy_type="Set", policy_id=policy_id),
                                   private_properties={}, created_at=1))
        s.add(ContractDefinition(id=f"cd-{asset_id}", access_policy_id=policy_id, contract_policy_id=policy_id,
                                 assets_selector=[{"operandLeft": EDC_ID, "operator": "=", "operandRight": asset_id}],
                                 asset_id=asset_id, private_properties={}, created_at=1))


@dataclass
class InProcessPair:
    """A consumer and a provider in process, each with its management API (``consumer`` / ``provider``)."""

    consumer_party: Party
    provider_party: Party
    router: Router

    @property
    def consumer(self) -> TestClient:
        assert self.consumer_party.api is not None
        return self.consumer_party.api

    @property
    def provider(self) -> TestClient:
        assert self.provider_party.api is not None
        return self.provider_party.api

    @property
    def consumer_services(self) -> Container:
        return self.consumer_party.services

    @property
    def provider_services(self) -> Container:
        return self.provider_party.services

    @property
    def provider_dsp(self) -> str:
        return self.provider_party.dsp

    @property
    def consumer_dsp(self) -> str:
        return self.consumer_party.dsp

    def settle(self) -> None:
        settle(self.consumer_party, self.provider_party)

    def wait(self, client: TestClient, path: str, states: tuple[str, ...] = ("FINALIZED", "TERMINATED")) -> dict:
        """Settle, then the management resource at ``path``, which must be in one of ``states`` now."""
        self.settle()
        body = _json(client.get(path))
        assert body.get("state") in states, f"{path} is {body.get('state')} once settled, not one of {states}: {body}"
        return body

    def wait_state(self, client: TestClient, negotiation_id: str,
                   states: tuple[str, ...] = ("FINALIZED", "TERMINATED")) -> dict:
        return self.wait(client, f"/management/v3/contractnegotiations/{negotiation_id}", states)


def _json(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, dict), body
    return body


def start_pair(make_settings: Callable[[str, str], Settings], api_key: str,
               clock: Callable[[], int] | None = None) -> Iterator[InProcessPair]:
    """Both sides, built from ``make_settings(name, other)`` for ``consumer`` and ``provider``, started and stopped.
    With ``clock`` (a :class:`Clock`) both run on it.

    The settings' ``public_url`` (``http://<name>.test``) is the host the router knows each by.
    """
    router = Router()
    parties = {name: start_party(make_settings(name, other), router, api_key=api_key, clock=clock)
               for name, other in (("consumer", "provider"), ("provider", "consumer"))}
    consumer, provider = parties["consumer"], parties["provider"]
    assert consumer.api is not None and provider.api is not None
    with provider.api, consumer.api:
        yield InProcessPair(consumer, provider, router)


def peer_of(participant_id: str, token: str, dsp_url: str, claims: dict | None = None, bpn: str | None = None) -> Peer:
    return Peer(id=participant_id, token=token, dsp_url=dsp_url, bpn=bpn, claims=CLAIMS if claims is None else claims)


def serve_in_thread(server: uvicorn.Server, name: str, timeout: float = 30) -> threading.Thread:
    """Run a uvicorn server (a test peer or backend) in a daemon thread; return once it listens."""
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()

    def started() -> bool:
        if not thread.is_alive():
            raise RuntimeError(f"{name} stopped while starting")
        return bool(server.started)

    settle(until=started, timeout=timeout, what=f"{name} to listen")
    return thread


# --- real processes ------------------------------------------------------------------------------


@dataclass
class Node:
    """One real connector process on 127.0.0.1, configured in ``workdir``."""

    name: str
    workdir: Path
    port: int = field(default_factory=free_port)
    api_key: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    token: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    process: ConnectorProcess | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def dsp(self) -> str:
        return self.base + DSP_PATH

    @property
    def participant_id(self) -> str:
        return f"did:web:localhost%3A{self.port}"

    @property
    def config(self) -> Path:
        return self.workdir / f"{self.name}.toml"

    def write_config(self, peers: list[Node], extra: str = "") -> None:
        self.config.write_text(render_config(
            participant_id=self.participant_id, bpn=None, name=self.name, port=self.port,
            database_url=f"sqlite:///{self.workdir / (self.name + '.db')}", api_key=self.api_key, token=self.token,
            # static-token mode: what each peer may claim comes from the config (with DIDs: credentials)
            peers=[{"id": p.participant_id, "token": p.token, "dsp_url": p.dsp, "claims": CLAIMS}
                   for p in peers], extra=extra))

    def start(self) -> None:
        self.process = start_connector(self.name, self.config, self.workdir / f"{self.name}.log", self.base)
        wait_ready(self.process)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def management(self, method: str, path: str, body: dict | None = None) -> httpx.Response:
        return httpx.request(method, f"{self.base}/management{path}", json=body,
                             headers={"X-Api-Key": self.api_key}, timeout=30)

    def wait_state(self, negotiation_id: str, states: tuple[str, ...], timeout: float = 30) -> dict:
        last: dict = {}

        def reached() -> dict | None:
            nonlocal last
            last = self.management("GET", f"/v3/contractnegotiations/{negotiation_id}").json()
            return last if last.get("state") in states else None

        return settle(until=reached, timeout=timeout, what=lambda: (
            f"{self.name}'s negotiation {negotiation_id} to reach {states} (it is {last.get('state')})"))


def write_seed(path: Path, asset_id: str = "pcf-NG-WC-400") -> None:
    """A seed file: one asset under a policy that asks for the framework agreement."""
    path.write_text(json.dumps({
        "policies": [{"@id": "usage", "policy": {"permission": [{"action": "use", "constraint": [
            {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"}]}]}}],
        "assets": [{"@id": asset_id, "properties": {"http://purl.org/dc/terms/title": "casting PCF"}}],
        "contractDefinitions": [{"@id": "cd-1", "accessPolicyId": "usage", "contractPolicyId": "usage",
                                 "assetsSelector": [{"operandLeft": EDC_ID, "operator": "=", "operandRight": asset_id}]}],
    }))


def node_pair(workdir: Path, retry_base_seconds: float = 0.2) -> Iterator[tuple[Node, Node]]:
    """A provider (seeded with one offer) and a consumer that know each other; not started, stopped after."""
    provider, consumer = Node("provider", workdir), Node("consumer", workdir)
    write_seed(workdir / "seed.json")
    provider.write_config([consumer], extra=f'seed_file = "{workdir / "seed.json"}"\n'
                                            f"retry_base_seconds = {retry_base_seconds}")
    consumer.write_config([provider], extra=f"retry_base_seconds = {retry_base_seconds}")
    try:
        yield provider, consumer
    finally:
        for node in (provider, consumer):
            node.stop()
