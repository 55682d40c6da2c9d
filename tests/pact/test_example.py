"""examples/pact as a real process over HTTPS, driven by a PACT client: token, list with paging, get,
filters, a client that must not see the footprints, events answered at the requester's endpoint."""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import uuid
from pathlib import Path

import aiohttp
import pytest

from connector.cli.launch import free_port, start_connector
from connector.pact.client import PactApiClient, PactCallFailed
from tests.harness import settle
from tests.pact.conftest import EVENTS_ID, EVENTS_SECRET, Requester

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pact"
pytestmark = pytest.mark.integration


@pytest.fixture
def example(tmp_path):
    folder = tmp_path / "pact"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("var", "endpoints.json"))
    requester = Requester()
    port = free_port()
    config = (folder / "connector.toml").read_text()
    config = config.replace("port = 8461", f"port = {port}").replace("localhost%3A8461", f"localhost%3A{port}")
    config = config.replace('# events_url = "https://pact.achsen.example/3/events"',
                            f'events_url = "{requester.url}/3/events"')
    config = config.replace('# events_client_id = "nordguss"', f'events_client_id = "{EVENTS_ID}"')
    config = config.replace('# events_client_secret = "nordguss-at-achsen-secret"',
                            f'events_client_secret = "{EVENTS_SECRET}"')
    assert f'events_url = "{requester.url}/3/events"' in config
    (folder / "connector.toml").write_text(config)
    process = start_connector("nordguss-pact", folder / "connector.toml", folder / "var" / "connector.log",
                              f"https://127.0.0.1:{port}")
    endpoints = folder / "endpoints.json"
    try:
        settle(until=lambda: endpoints.exists() or process.process.poll() is not None, timeout=60,
               what="the example to write endpoints.json")
        assert endpoints.exists(), "the connector exited"
    except AssertionError as exc:
        process.stop()
        requester.stop()
        log = (folder / "var" / "connector.log").read_text(errors="replace")[-3000:]
        pytest.fail(f"the example did not write endpoints.json ({exc}):\n{log}")
    try:
        yield json.loads(endpoints.read_text()), requester, folder, process
    finally:
        process.stop()
        requester.stop()


def test_a_pact_client_against_the_example(example):
    endpoints, requester, folder, process = example
    port = int(endpoints["base_url"].rsplit(":", 1)[1])
    assert set(endpoints) == {"base_url", "client_id", "client_secret"}
    assert endpoints["base_url"] == f"https://127.0.0.1:{port}"
    cert = str(folder / "var" / "tls" / "cert.pem")  # the self-signed certificate made at start

    async def flow() -> None:
        async with PactApiClient(endpoints["base_url"], endpoints["client_id"], endpoints["client_secret"],
                                 verify=cert) as achsen:
            # list, one per page: the client follows Link rel="next"
            everything = await achsen.list_footprints(limit=1)
            assert sorted(pf["productIds"][0] for pf in everything) == ["urn:mpn:NG-HB-210", "urn:mpn:NG-WC-400"]
            assert all(pf["specVersion"] == "3.0.0" for pf in everything)
            casting = next(pf for pf in everything if pf["productIds"] == ["urn:mpn:NG-WC-400"])
            assert casting["pcf"]["pcfExcludingBiogenicUptake"] == "12.5"
            assert casting["pcf"]["declaredUnitOfMeasurement"] == "piece"
            # get
            got = await achsen.get_footprint(casting["id"])
            assert got == casting
            with pytest.raises(PactCallFailed) as missing:
                await achsen.get_footprint(str(uuid.uuid4()))
            assert missing.value.status == 404 and missing.value.body["code"] == "NotFound"
            # filters
            assert [pf["productIds"][0] for pf in await achsen.list_footprints(geography="PL")] == ["urn:mpn:NG-HB-210"]
            assert await achsen.list_footprints(productId="urn:bogus:product:x") == []
            assert len(await achsen.list_footprints(status="Active", companyId="urn:BPNL0000000NGUSS")) == 2
            # v2: the footprint per piece cannot be said in PACT v2, the one per kilogram can
            assert [pf["productIds"][0] for pf in await achsen.list_footprints(version=2)] == ["urn:mpn:NG-HB-210"]
            # an asynchronous request, answered at Achsen's own events endpoint with its token
            request_id = str(uuid.uuid4())
            status, _ = await achsen.send_event({
                "specversion": "1.0", "id": request_id, "source": requester.url + "/3/events",
                "time": "2026-12-01T10:00:00Z", "type": "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3",
                "data": {"productId": ["urn:mpn:NG-WC-400"], "comment": "this year's casting please"}})
            assert status == 200
            status, body = await achsen.send_event({"specversion": "1.0", "id": "x", "source": "//x",
                                                    "time": "2026-12-01T10:00:00Z", "type": "RequestCreated"})
            assert status == 400 and body["code"] == "BadRequest"
            await asyncio.to_thread(settle, until=lambda: requester.events, timeout=20,
                                    what="the example's answer to the request event")
            assert requester.tokens >= 1
            [answer] = requester.events
            assert answer["type"] == "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3"
            assert answer["data"]["requestEventId"] == request_id
            assert [pf["id"] for pf in answer["data"]["pfs"]] == [casting["id"]]
            assert answer["specversion"] == "1.0" and answer["source"].endswith("/3/events")

        # Motorwerke's tool authenticates but its BPN may not see these footprints
        motorwerke = PactApiClient(endpoints["base_url"], "motorwerke-pact", "motorwerke-pact-example-secret-2b8e1d",
                                   verify=cert)
        async with motorwerke:
            assert await motorwerke.list_footprints() == []
            with pytest.raises(PactCallFailed) as hidden:
                await motorwerke.get_footprint(casting["id"])
            assert hidden.value.status == 404
        # wrong secret: no token
        async with PactApiClient(endpoints["base_url"], "achsen-pact", "wrong-secret", verify=cert) as wrong:
            with pytest.raises(PactCallFailed) as refused:
                await wrong.token()
            assert refused.value.status == 401 and refused.value.body["error"] == "invalid_client"

    asyncio.run(flow())
    # plain HTTP gets no answer at all: the port speaks TLS only
    async def plain() -> None:
        async with aiohttp.ClientSession() as session:
            with pytest.raises((aiohttp.ClientError, ssl.SSLError, ConnectionError)):
                async with session.get(f"http://127.0.0.1:{port}/3/footprints") as response:
                    await response.read()
    asyncio.run(plain())
    log = (folder / "var" / "connector.log").read_text()
    assert "hidden from BPNL00000MOTORWK by policy" in log and "DataExchangeGovernance" in log


def test_the_example_starts_again_without_publishing_twice(example):
    endpoints, requester, folder, process = example
    assert "2 footprint(s) published, 0 already were" in process.log.read_text()
    process.stop()
    (folder / "endpoints.json").unlink()
    again = start_connector("nordguss-pact", folder / "connector.toml", folder / "var" / "again.log",
                            endpoints["base_url"])
    try:
        settle(until=lambda: (folder / "endpoints.json").exists() or again.process.poll() is not None, timeout=60,
               what="the restarted example to write endpoints.json")
        assert json.loads((folder / "endpoints.json").read_text()) == endpoints
        assert "0 footprint(s) published, 2 already were" in again.log.read_text()
    finally:
        again.stop()
