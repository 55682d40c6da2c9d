"""``connector fetch``'s steps against two in-process connectors, and its download on its own.

The fetcher's client routes by host: ``consumer.test`` is the consumer's management API,
``provider.test`` the provider's data plane, both served by their TestClient transports; the
connectors' workers settle before each of its requests (tests/harness.py).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable

import httpx
import pytest

from connector.cli.fetch import PROGRESS_FROM, Fetcher, FetchError, resolve_peer
from connector.config import Peer, Settings
from tests.transfers.conftest import API_KEY, CX, PCF, PROVIDER_ID, VOCAB, make_pair, ok

DSP = "http://provider.test/api/dsp/2025-1"


class HostRouter(httpx.BaseTransport):
    """Routes by host; the connectors settle before each request, so what the fetcher polls for has happened."""

    def __init__(self, routes: dict[str, httpx.BaseTransport], settle: Callable[[], object]) -> None:
        self.routes = routes
        self.settle = settle

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.settle()
        return self.routes[request.url.host].handle_request(request)


def fetcher_for(pair):  # type: ignore[no-untyped-def]
    router = HostRouter({"consumer.test": pair.consumer._transport, "provider.test": pair.provider._transport},
                        pair.settle)
    with httpx.Client(base_url="http://consumer.test/management", transport=router,
                      headers={"X-Api-Key": API_KEY}) as client:
        yield Fetcher(client, lambda _text: None, timeout=15)


@pytest.fixture
def fetcher(pair):  # type: ignore[no-untyped-def]
    yield from fetcher_for(pair)


def test_the_steps_get_the_document_and_complete_the_transfer(pair, fetcher) -> None:  # type: ignore[no-untyped-def]
    pair.publish()
    offer, provider = fetcher.offer(DSP, None, "pcf-NG-WC-400")  # the provider's id comes from its catalog
    assert provider == PROVIDER_ID and offer["@type"] == "Offer"
    agreement = fetcher.agreement(fetcher.negotiate(DSP, provider, "pcf-NG-WC-400", offer))
    transfer = fetcher.transfer(agreement)
    endpoint, token = fetcher.edr(transfer)
    out = io.BytesIO()
    assert fetcher.download(endpoint, token, out, progress=True) == len(out.getvalue()) > 0
    assert json.loads(out.getvalue()) == PCF
    fetcher.call("POST", f"/v3/transferprocesses/{transfer}/complete")
    assert pair.wait(pair.consumer, f"/management/v3/transferprocesses/{transfer}", ("COMPLETED",))


def test_a_refused_negotiation_is_reported_with_its_reason(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # the consumer is a member, so it sees the offer, but has signed no framework agreement
    for pair in make_pair(tmp_path, consumer_claims={"membership": True}):
        ok(pair.provider.post("/management/v3/policydefinitions", json={
            "@context": CX, "@type": "PolicyDefinition", "@id": "members", "policy": {"@type": "Set", "permission": [
                {"action": "access", "constraint": [
                    {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"}]}]}}))
        pair.publish()
        ok(pair.provider.post("/management/v3/contractdefinitions", json={
            "@context": VOCAB, "@id": "cd-members", "accessPolicyId": "members", "contractPolicyId": "pcf-usage",
            "assetsSelector": [{"operandLeft": "https://w3id.org/edc/v0.0.1/ns/id", "operator": "=",
                                "operandRight": "pcf-NG-WC-400"}]}))
        ok(pair.provider.delete("/management/v3/contractdefinitions/cd-pcf-NG-WC-400"), 204)
        for fetcher in fetcher_for(pair):
            offer, provider = fetcher.offer(DSP, PROVIDER_ID, "pcf-NG-WC-400")
            negotiation = fetcher.negotiate(DSP, provider, "pcf-NG-WC-400", offer)
            with pytest.raises(FetchError, match="TERMINATED.*FrameworkAgreement"):
                fetcher.agreement(negotiation)


def test_an_asset_not_offered_is_named(pair, fetcher) -> None:  # type: ignore[no-untyped-def]
    pair.publish()
    with pytest.raises(FetchError, match="offers no dataset 'pcf-unknown'"):
        fetcher.offer(DSP, PROVIDER_ID, "pcf-unknown")


def test_a_management_refusal_is_reported_with_edcs_message(pair, fetcher) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FetchError, match="EDR: HTTP 404: .*no such consumer transfer"):
        fetcher.edr("urn:uuid:nope")


# --- the download alone ------------------------------------------------------------------------


def download(handler, out: io.BytesIO | None = None) -> int:  # type: ignore[no-untyped-def]
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        return Fetcher(client, lambda _text: None).download("http://provider.test/api/public", "tok",
                                                            out or io.BytesIO(), progress=True)


def test_a_large_body_streams_through_whole() -> None:
    body = bytes(range(256)) * (3 * PROGRESS_FROM // 256)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(200, content=body, headers={"content-length": str(len(body))})

    out = io.BytesIO()
    assert download(handler, out) == len(body) and out.getvalue() == body and seen == ["tok"]


def test_a_short_body_is_an_error_not_a_success() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"x" * 10, headers={"content-length": "100"})

    with pytest.raises(FetchError, match="ended after 10 of 100 bytes"):
        download(handler)


def test_the_data_planes_refusal_is_shown() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"error": "invalid_token", "reason": "the token was revoked"})

    with pytest.raises(FetchError, match="HTTP 403: the token was revoked"):
        download(handler)


def test_peers_resolve_by_id_or_by_url() -> None:
    settings = Settings(participant_id="did:web:achsen.test", api_key="k", peers=[
        Peer(id=PROVIDER_ID, dsp_url=DSP), Peer(id="did:web:nourl.test")])
    assert resolve_peer(settings, PROVIDER_ID) == (PROVIDER_ID, DSP)
    assert resolve_peer(settings, DSP + "/") == (PROVIDER_ID, DSP + "/")
    assert resolve_peer(settings, "https://elsewhere.example/dsp") == (None, "https://elsewhere.example/dsp")
    assert resolve_peer(settings, "did:web:added.test", [{"id": "did:web:added.test", "dspUrl": DSP}]) == (
        "did:web:added.test", DSP)
    with pytest.raises(FetchError, match="not a known peer.*connector peer add"):
        resolve_peer(settings, "did:web:stranger.test")
    with pytest.raises(FetchError, match="no dsp_url"):
        resolve_peer(settings, "did:web:nourl.test")
