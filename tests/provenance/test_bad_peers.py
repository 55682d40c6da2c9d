"""Jobs against misbehaving suppliers (mocked with pytest-httpx): down, slow, cyclic, a 100,000-child BOM,
garbage, unknown. Each becomes a tombstone saying why; the rest of the tree comes back; nothing hangs."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from connector.app import create_app
from connector.config import Peer, Settings
from connector.parts.models import normal_id
from connector.store.models import TransferProcess
from tests.harness import settle

OEM = "BPNL00000MOTORWK"
BOM_URN = "urn:samm:io.catenax.single_level_bom_as_built:4.0.0#SingleLevelBomAsBuilt"
BOM_ASSET = "submodels-SingleLevelBomAsBuilt-4.0.0"
REGISTRY = "digital-twin-registry"
KEY = "bad-peers-key"


def part(name: str) -> str:
    return f"urn:uuid:00000000-0000-4000-8000-{name.encode().hex()[:12].ljust(12, '0')}"


class FakePeer:
    """A supplier's connector as seen from outside: catalog, registry and BOMs, and its bad habits."""

    def __init__(self, name: str, bpn: str) -> None:
        self.name, self.bpn = name, bpn
        self.base = f"https://{name}.invalid"
        self.dsp, self.public, self.did = self.base + "/api/dsp/2025-1", self.base + "/api/public", f"did:web:{name}.invalid"
        self.boms: dict[str, object] = {}  # part → [(child, bpn)] or a raw body (bytes)
        self.down = False
        self.delay = 0.0

    def offer(self, asset: str) -> dict:
        return {"@id": f"offer-{asset}", "@type": "Offer", "permission": [{"action": "use"}]}

    def catalog(self) -> dict:
        return {"@type": "Catalog", "participantId": self.did, "dataset": [
            {"@id": REGISTRY, "http://purl.org/dc/terms/type": {"@id": "https://w3id.org/catenax/taxonomy#DigitalTwinRegistry"},
             "hasPolicy": [self.offer(REGISTRY)]},
            {"@id": BOM_ASSET, "https://admin-shell.io/aas/3/0/HasSemantics/semanticId": {"@id": BOM_URN},
             "hasPolicy": [self.offer(BOM_ASSET)]}]}

    def shell(self, pid: str) -> dict:
        return {"id": "aas-" + pid, "globalAssetId": pid, "idShort": pid[-6:], "specificAssetIds": [],
                "submodelDescriptors": [{"id": "sm-" + pid, "semanticId": {"type": "ExternalReference", "keys": [
                    {"type": "GlobalReference", "value": BOM_URN}]}, "endpoints": [{"interface": "SUBMODEL-3.0",
                    "protocolInformation": {"href": f"{self.public}/parts/{pid}/submodel", "subprotocol": "DSP",
                                            "subprotocolBody": f"id={BOM_ASSET};dspEndpoint={self.dsp}"}}]}]}

    def answer(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/catalog/request"):
            return httpx.Response(200, json=self.catalog())
        if request.headers.get("authorization") != "token-" + self.name:
            return httpx.Response(403, json={"error": "invalid_token", "reason": "not our token"})
        if path.endswith("/lookup/shells"):
            link = json.loads(base64.urlsafe_b64decode(parse_qs(request.url.query.decode())["assetIds"][0] + "=="))
            known = link["value"] in self.boms
            return httpx.Response(200, json={"paging_metadata": {}, "result": ["aas-" + link["value"]] if known else []})
        if "/shell-descriptors/" in path:
            aas = base64.urlsafe_b64decode(path.rsplit("/", 1)[-1] + "==").decode()
            return httpx.Response(200, json=self.shell(aas.removeprefix("aas-")))
        if path.endswith("/submodel"):
            pid = unquote(path.split("/parts/", 1)[1].removesuffix("/submodel"))
            body = self.boms[pid]
            if isinstance(body, bytes):
                kind = "application/json" if body.startswith(b"{") else "text/html"
                return httpx.Response(200, content=body, headers={"content-type": kind})
            return httpx.Response(200, json={"globalAssetId": pid, "childItems": [
                {"globalAssetId": child, "businessPartner": bpn, "quantity": {"value": 1, "unit": "unit:piece"},
                 "hasAlternatives": False, "createdOn": "2026-11-12T09:30:00Z"} for child, bpn in body]})
        return httpx.Response(404, json={"reason": f"no such path {path}"})


class World:
    def __init__(self) -> None:
        self.peers = {p.name: p for p in (FakePeer("achsen", "BPNL00000ACHSEAG"), FakePeer("down", "BPNL0000000DOWN1"),
                                          FakePeer("slow", "BPNL0000000SLOW1"), FakePeer("bomb", "BPNL0000000BOMB1"))}
        a, down, slow, bomb = self.peers.values()
        self.a, self.down_peer, self.slow_peer, self.bomb = a, down, slow, bomb
        down.down, slow.delay = True, 3.0
        self.root, self.cyclic, self.good, self.garbled = part("root"), part("cyclic"), part("good"), part("garbled")
        self.gone, self.slow, self.huge, self.stray = part("gone"), part("slow"), part("huge"), part("stray")
        a.boms = {self.root: [(self.cyclic, a.bpn), (self.good, a.bpn), (self.garbled, a.bpn), (self.gone, down.bpn),
                              (self.slow, slow.bpn), (self.huge, bomb.bpn), (self.stray, "BPNL0000UNKNOWN1")],
                  self.cyclic: [(self.root, a.bpn)], self.good: [], self.garbled: b"<html>oops</html>"}
        slow.boms = {self.slow: []}
        bomb.boms = {self.huge: json.dumps({"globalAssetId": self.huge, "childItems": [  # made once: 100,000 children
            {"globalAssetId": part(f"c{i}"), "businessPartner": a.bpn, "quantity": {"value": 1, "unit": "unit:piece"},
             "hasAlternatives": False, "createdOn": "2026-11-12T09:30:00Z"} for i in range(100_000)]}).encode()}

    async def route(self, request: httpx.Request) -> httpx.Response:
        peer = self.peers[urlsplit(str(request.url)).hostname.split(".")[0]]
        if peer.down:
            raise httpx.ConnectError("Connection refused", request=request)
        if peer.delay:
            await asyncio.sleep(peer.delay)
        return peer.answer(request)


def settings(database_url: str, world: World, **provenance) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(participant_id="did:web:motorwerke.invalid", bpn=OEM, name="Motorwerke AG", api_key=KEY,
                    database_url=database_url, transport="httpx",
                    peers=[Peer(id=p.did, dsp_url=p.dsp, bpn=p.bpn, token="t-" + p.name) for p in world.peers.values()],
                    provenance={"call_timeout_seconds": 0.5, "job_deadline_seconds": 20, "max_children_per_node": 1000,
                                **provenance})


def hold_edrs(client: TestClient, world: World) -> None:
    """The EDRs we already hold for each supplier's registry and BOM asset (so no DSP negotiation is mocked)."""
    with client.app.state.services.db.write() as session:
        for peer in world.peers.values():
            for asset in (REGISTRY, BOM_ASSET):
                tp = f"tp-{peer.name}-{asset}"
                session.add(TransferProcess(
                    id=tp, role="CONSUMER", state="STARTED", consumer_pid=tp, provider_pid="p-" + tp,
                    counterparty_id=peer.did, counterparty_address=peer.dsp, agreement_id=f"agreement-{peer.name}-{asset}",
                    asset_id=asset, transfer_type="HttpData-PULL", data_address={
                        "endpointType": "https://w3id.org/idsa/v4.1/HTTP", "endpoint": peer.public,
                        "endpointProperties": [{"name": "authorization", "value": "token-" + peer.name}]},
                    created_at=1, updated_at=1))


@pytest.fixture
def world(httpx_mock) -> World:  # type: ignore[no-untyped-def]
    made = World()
    httpx_mock.add_callback(made.route, is_reusable=True, is_optional=True)
    return made


def oem(database_url: str, world: World, *, fresh: bool = True, **provenance) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """Motorwerke's connector (its worker running) on ``database_url``, on SQLite and on PostgreSQL."""
    with TestClient(create_app(settings(database_url, world, **provenance)), headers={"X-Api-Key": KEY}) as client:
        if fresh:
            hold_edrs(client, world)
        yield client


def wait(client: TestClient, job_id: str, timeout: float = 30) -> dict:
    def ended() -> dict | None:
        answer = client.get(f"/management/irs/jobs/{job_id}")
        return answer.json() if answer.status_code == 200 else None

    return settle(until=ended, timeout=timeout, what=f"job {job_id} to end")


def stones(answer: dict) -> dict[str, str]:
    return {normal_id(s["catenaXId"]): s["processingError"]["errorDetail"] for s in answer["tombstones"]}


def test_each_bad_supplier_is_a_tombstone_with_its_reason_and_the_rest_comes_back(database_url, world):
    for client in oem(database_url, world):
        job = client.post("/management/irs/jobs", json={"key": {"globalAssetId": world.root, "bpn": world.a.bpn}})
        answer = wait(client, job.json()["id"])
    assert answer["job"]["state"] == "COMPLETED"
    found = stones(answer)
    n = normal_id
    assert f"cycle: {n(world.root)} → {n(world.cyclic)} → {n(world.root)}" in found[n(world.cyclic)]
    assert "could not be reached (ConnectError" in found[n(world.gone)] and "BPNL0000000DOWN1" in found[n(world.gone)]
    assert "did not answer within 0.5 s" in found[n(world.slow)]
    assert "100000 items, more than the per-node limit of 1000" in found[n(world.huge)]
    assert "not JSON" in found[n(world.garbled)]
    assert "no connector is known for BPNL0000UNKNOWN1" in found[n(world.stray)]
    assert n(world.good) not in found
    assert set(found) == {n(p) for p in (world.cyclic, world.gone, world.slow, world.huge, world.garbled, world.stray)}
    links = {(n(r["catenaXId"]), n(r["linkedItem"]["childCatenaXId"])) for r in answer["relationships"]}
    assert links == {(n(world.root), n(c)) for c, _ in world.a.boms[world.root]} | {(n(world.cyclic), n(world.root))}
    assert all(s["processingError"]["processStep"] for s in answer["tombstones"])


def test_a_job_past_its_deadline_ends_in_error_with_what_it_found(database_url, world):
    world.slow_peer.delay = 5.0
    for client in oem(database_url, world, job_deadline_seconds=1.5, call_timeout_seconds=10):
        job = client.post("/management/irs/jobs", json={"key": {"globalAssetId": world.root, "bpn": world.a.bpn}})
        answer = wait(client, job.json()["id"])
    assert answer["job"]["state"] == "ERROR", (answer["job"], answer["tombstones"])
    assert answer["job"]["exception"]["exception"] == "JobDeadlineExceeded"
    assert "deadline of 1.5 s" in answer["job"]["exception"]["errorDetail"]
    assert "not reached before the job's deadline" in stones(answer)[normal_id(world.slow)]
    assert normal_id(world.good) in {normal_id(n["catenaXId"]) for n in answer["nodes"]}


def test_a_running_job_answers_206_with_partial_results_and_can_be_canceled(database_url, world):
    world.slow_peer.delay = 5.0
    for client in oem(database_url, world, call_timeout_seconds=10):
        job_id = client.post("/management/irs/jobs", json={"key": {"globalAssetId": world.root, "bpn": world.a.bpn}}).json()["id"]

        def past_the_good_part(client: TestClient = client, job_id: str = job_id) -> httpx.Response | None:
            answer = client.get(f"/management/irs/jobs/{job_id}")
            assert answer.status_code == 206
            return answer if normal_id(world.good) in {normal_id(n["catenaXId"]) for n in answer.json()["nodes"]} \
                else None

        # the walk has reached the slow supplier (the good part is done by then)
        partial = settle(until=past_the_good_part, timeout=10, what="the walk to reach the slow supplier")
        assert partial.json()["job"]["state"] == "RUNNING"
        bare = client.get(f"/management/irs/jobs/{job_id}", params={"returnUncompletedJob": "false"})
        assert bare.status_code == 206 and bare.json()["relationships"] == []
        canceled = client.put(f"/management/irs/jobs/{job_id}")
        assert canceled.status_code == 200 and canceled.json()["state"] == "CANCELED"
        answer = wait(client, job_id)
        assert answer["job"]["state"] == "CANCELED" and answer["relationships"]
        listed = client.get("/management/irs/jobs", params={"states": "CANCELED"}).json()["content"]
        assert [j["id"] for j in listed] == [job_id]


def test_a_job_running_when_the_connector_stops_is_finished_after_a_restart(database_url, world):
    world.slow_peer.delay = 3.0
    for client in oem(database_url, world, call_timeout_seconds=10):
        job_id = client.post("/management/irs/jobs", json={"key": {"globalAssetId": world.root, "bpn": world.a.bpn}}).json()["id"]
        settle(until=lambda c=client, j=job_id: c.get(f"/management/irs/jobs/{j}").json()["job"]["state"] == "RUNNING",
               timeout=10, what=f"job {job_id} to run")
    # stopped mid-job (waiting on the slow supplier); the next start takes the job up again
    world.slow_peer.delay = 0.0
    for client in oem(database_url, world, fresh=False):
        answer = wait(client, job_id)
    assert answer["job"]["state"] == "COMPLETED"
    assert normal_id(world.slow) in {normal_id(n["catenaXId"]) for n in answer["nodes"]}
    assert normal_id(world.slow) not in stones(answer)
