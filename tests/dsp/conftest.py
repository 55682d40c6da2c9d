"""Two connectors in one process, wired by an httpx transport that routes by host to each app.

The workers are driven step by step (``settle``), so the tests see every state deterministically.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
import pytest

from connector.app import create_app
from connector.config import Peer, ServerSettings, Settings
from connector.policy import policy_from_compact_dsp, policy_to_compact
from connector.services.container import Container, build
from connector.services.transport import DspClient
from connector.store.models import Asset, ContractDefinition, PolicyDefinition


class Router(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.apps: dict[str, httpx.ASGITransport] = {}
        self.log: list[tuple[str, str, int]] = []

    def add(self, host: str, app) -> None:  # type: ignore[no-untyped-def]
        self.apps[host] = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self.apps.get(request.url.netloc.decode())
        if transport is None:
            raise httpx.ConnectError(f"no route to {request.url.netloc!r}", request=request)
        response = await transport.handle_async_request(request)
        self.log.append((request.method, request.url.path, response.status_code))
        return response


@dataclass
class Party:
    settings: Settings
    services: Container
    app: object
    base: str

    @property
    def dsp(self) -> str:
        return self.settings.dsp_url


def make_settings(name: str, port: int, db_url: str, peers: list[Peer], playbook=None) -> Settings:
    return Settings(
        participant_id=f"did:web:{name}.test", bpn=None, server=ServerSettings(host=f"{name}.test", port=port),
        database_url=db_url, api_key=f"{name}-key", token=f"{name}-token", peers=peers,
        playbook=playbook or {}, transport="httpx",
    )


def seed_offer(services: Container, asset_id: str = "asset-1", policy: dict | None = None) -> None:
    policy = policy or {"@type": "Set", "@id": "p", "permission": [{"action": "use"}]}
    typed = policy_from_compact_dsp(policy)
    with services.db.write() as s:
        s.add(Asset(id=asset_id, properties={"http://purl.org/dc/terms/title": "A casting PCF"},
                    private_properties={}, data_address={"type": "HttpData"}, created_at=1))
        if s.get(PolicyDefinition, "policy-1") is None:
            s.add(PolicyDefinition(id="policy-1", policy=policy_to_compact(typed, policy_type="Set", policy_id="policy-1"),
                                   private_properties={}, created_at=1))
        s.add(ContractDefinition(id=f"cd-{asset_id}", access_policy_id="policy-1", contract_policy_id="policy-1",
                                 assets_selector=[{"operandLeft": "https://w3id.org/edc/v0.0.1/ns/id", "operator": "=",
                                                   "operandRight": asset_id}], asset_id=asset_id,
                                 private_properties={}, created_at=1))


@pytest.fixture
def world(tmp_path):
    """A provider and a consumer that know each other, sharing one in-process network."""
    router = Router()
    parties: dict[str, Party] = {}
    for name, port, other in (("provider", 1001, "consumer"), ("consumer", 1002, "provider")):
        # in static-token mode a peer's claims come from the config (with DIDs: from its credentials)
        peer = Peer(id=f"did:web:{other}.test", token=f"{other}-token",
                    dsp_url=f"http://{other}.test:{1001 if other == 'provider' else 1002}/api/dsp/2025-1",
                    bpn="BPNL00000ACHSEAG" if other == "consumer" else "BPNL0000000NGUSS",
                    claims={"membership": True, "frameworkAgreements": {"DataExchangeGovernance": "1.0"}})
        settings = make_settings(name, port, f"sqlite:///{tmp_path}/{name}.db", [peer])
        client = DspClient(httpx.AsyncClient(transport=router, timeout=5))
        services = build(settings, client=client)
        services.db.migrate()
        app = create_app(settings, services, run_worker=False)
        router.add(f"{name}.test:{port}", app)
        parties[name] = Party(settings, services, app, f"http://{name}.test:{port}")
    parties["router"] = router  # type: ignore[assignment]
    return parties


async def settle(*parties: Party, rounds: int = 50) -> None:
    """Run the workers until nothing is left to send."""
    for _ in range(rounds):
        sent = 0
        for party in parties:
            sent += await party.services.worker.run_once()
        if not sent:
            return
    raise AssertionError("the workers did not settle")


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)
