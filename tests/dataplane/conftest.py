"""A provider whose data plane listens on a real port, a consumer, a backend, and a clock to move.

DSP messages between the two connectors go through the harness's in-process router
(tests/harness.py), the workers driven step by step; data requests go over real HTTP to the
provider's app under uvicorn on 127.0.0.1, so streaming, aborted bodies and status codes are
what a consumer would see.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
import pytest
from sqlmodel import select

from connector.cli.launch import free_port
from connector.config import DataPlaneSettings, Peer, ServerSettings, Settings
from connector.protocol.messages import read_offer
from connector.services.edr_tokens import REFRESH_ENDPOINT, REFRESH_TOKEN
from connector.store.models import Negotiation, TransferProcess
from tests.dataplane.backend import Recorder, ThreadServer, backend_app
from tests.harness import CLAIMS, Clock, Party, Router, seed_offer, settle, start_party

OPEN_POLICY = {"permission": [{"action": "use"}]}
HTTP = "https://w3id.org/idsa/v4.1/HTTP"

EDC = "https://w3id.org/edc/v0.0.1/ns/"  # the EDR names its EDC properties by IRI (Factory-X ADR 002)


@dataclass
class Edr:
    endpoint: str
    token: str
    refresh_token: str
    refresh_endpoint: str
    consumer_pid: str
    provider_pid: str
    properties: dict


class DataWorld:
    def __init__(self, tmp_path, clock: Clock, backend: ThreadServer, rec: Recorder) -> None:  # type: ignore[no-untyped-def]
        self.clock, self.backend, self.rec = clock, backend, rec
        self.router = Router()
        port = free_port()  # the provider's URL is needed before its app exists
        files = tmp_path / "files"
        files.mkdir()
        self.files = files
        provider_settings = Settings(
            participant_id="did:web:provider.test", server=ServerSettings(host="127.0.0.1", port=port),
            database_url=f"sqlite:///{tmp_path}/provider.db", api_key="provider-key", token="provider-token",
            peers=[Peer(id="did:web:consumer.test", token="consumer-token", bpn="BPNL00000ACHSEAG", claims=CLAIMS,
                        dsp_url="http://consumer.test:1002/api/dsp/2025-1")],
            transport="httpx", edr_ttl_seconds=300,
            dataplane=DataPlaneSettings(allowlist=["127.0.0.1"], files_dir=str(files), refresh_ttl_seconds=3600),
        )
        consumer_settings = Settings(
            participant_id="did:web:consumer.test", server=ServerSettings(host="consumer.test", port=1002),
            database_url=f"sqlite:///{tmp_path}/consumer.db", api_key="consumer-key", token="consumer-token",
            peers=[Peer(id="did:web:provider.test", token="provider-token", dsp_url=provider_settings.dsp_url)],
            transport="httpx",
        )
        self.parties: dict[str, Party] = {
            name: start_party(settings, self.router, clock=clock)
            for name, settings in (("provider", provider_settings), ("consumer", consumer_settings))}
        self.server = ThreadServer(self.provider.app, port=port).start()
        self.http = httpx.Client(timeout=30)

    @property
    def provider(self) -> Party:
        return self.parties["provider"]

    @property
    def consumer(self) -> Party:
        return self.parties["consumer"]

    @property
    def public(self) -> str:
        return self.provider.settings.public_url + "/api/public"

    def close(self) -> None:
        self.http.close()
        self.server.call(self.provider.services.dataflows.aclose())
        self.server.stop()

    # --- DSP, driven step by step ------------------------------------------------------------

    def settle(self) -> None:
        settle(self.consumer, self.provider)

    def offer(self, asset_id: str, data_address: dict, policy: dict | None = None) -> None:
        seed_offer(self.provider.services, asset_id, {"@type": "Set", "@id": f"policy-{asset_id}",
                                                      **(policy or OPEN_POLICY)},
                   data_address=data_address, policy_id=f"policy-{asset_id}")

    def catalog(self) -> dict:
        """The provider's catalog as the consumer sees it."""
        async def ask() -> dict:
            async with httpx.AsyncClient(transport=self.router) as client:
                answer = await client.post(self.provider.settings.dsp_url + "/catalog/request",
                                           headers={"Authorization": "consumer-token"},
                                           json={"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
                                                 "@type": "CatalogRequestMessage"})
                return answer.json()
        return asyncio.run(ask())

    def agree(self, asset_id: str) -> str:
        dataset = next(d for d in self.catalog()["dataset"] if d["@id"] == asset_id)
        offer = read_offer({"offer": dict(dataset["hasPolicy"][0], target=asset_id)})
        neg = self.consumer.services.negotiations.request(
            counterparty_address=self.provider.settings.dsp_url,
            counterparty_id=self.provider.settings.participant_id, offer=offer)
        self.settle()
        with self.consumer.services.db.read() as s:
            agreement_id = s.get(Negotiation, neg.id).agreement_id
        assert agreement_id, "the negotiation did not reach an agreement"
        return agreement_id

    def pull(self, asset_id: str, data_address: dict, policy: dict | None = None) -> Edr:
        self.offer(asset_id, data_address, policy)
        agreement_id = self.agree(asset_id)
        tp = self.consumer.services.transfers.request(agreement_id=agreement_id,
                                                      counterparty_address=self.provider.settings.dsp_url)
        self.settle()
        mine = self.consumer_transfer(tp.id)
        assert mine.state == "STARTED", mine.error_detail
        return self.edr_of(mine)

    def edr_of(self, mine: TransferProcess) -> Edr:
        props = {p["name"]: p["value"] for p in mine.data_address["endpointProperties"]}
        return Edr(mine.data_address["endpoint"], props[EDC + "authorization"], props[REFRESH_TOKEN],
                   props[REFRESH_ENDPOINT], mine.id, mine.provider_pid, props)

    def push(self, asset_id: str, data_address: dict, destination: dict) -> TransferProcess:
        self.offer(asset_id, data_address)
        agreement_id = self.agree(asset_id)
        tp = self.consumer.services.transfers.request(
            agreement_id=agreement_id, counterparty_address=self.provider.settings.dsp_url,
            transfer_type="HttpData-PUSH", data_destination=destination)
        self.settle()
        return self.consumer_transfer(tp.id)

    def run_flows(self) -> int:
        """One round of the provider's data flows (pushes, sweep), on the provider's event loop."""
        return self.server.call(self.provider.services.dataflows.run_once())

    def consumer_transfer(self, pid: str) -> TransferProcess:
        with self.consumer.services.db.read() as s:
            return s.get(TransferProcess, pid)

    def provider_transfer(self, pid: str) -> TransferProcess:
        with self.provider.services.db.read() as s:
            return s.get(TransferProcess, pid)

    def provider_transfers(self) -> list[TransferProcess]:
        with self.provider.services.db.read() as s:
            return list(s.exec(select(TransferProcess)))

    # --- the consumer's data requests -------------------------------------------------------

    def fetch(self, edr: Edr | str | None, path: str = "", method: str = "GET", **kw) -> httpx.Response:  # type: ignore[no-untyped-def]
        token = edr.token if isinstance(edr, Edr) else edr
        headers = dict(kw.pop("headers", {}))
        if token is not None:
            headers.setdefault("Authorization", token)
        url = self.public + (f"/{path.lstrip('/')}" if path else "")
        return self.http.request(method, url, headers=headers, **kw)

    def refresh(self, access_token: str | None, refresh_token: str | None, **params) -> httpx.Response:  # type: ignore[no-untyped-def]
        query = {"grant_type": "refresh_token", **({"refresh_token": refresh_token} if refresh_token else {}),
                 **params}
        headers = {"Authorization": access_token} if access_token else {}
        return self.http.post(self.public + "/token", params=query, headers=headers)


@pytest.fixture(scope="session")
def backend():
    rec = Recorder()
    server = ThreadServer(backend_app(rec)).start()
    yield server, rec
    server.stop()


@pytest.fixture
def dw(tmp_path, backend):
    server, rec = backend
    rec.__init__()  # a fresh record per test; the server is shared
    world = DataWorld(tmp_path, Clock(), server, rec)
    yield world
    world.close()
