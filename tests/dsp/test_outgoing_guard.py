"""One door out: every outgoing call passes the SSRF guard, and a peer's callbackAddress must be
on its own server (issue 8).

Before the fix a catalog request to ``http://127.0.0.1:9999/internal/secret#`` posted our DSP
token there, and a ContractRequestMessage with a callback on loopback or 169.254.169.254 (or
file://, gopher://) got 201 and the agreement later went there.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from connector.config import DataPlaneSettings, IdentitySettings, Peer, Settings
from connector.identity.did import DidResolutionError, DidResolver
from connector.services.received_edrs import RefreshRefused, TokenRefresher
from connector.services.ssrf import OutgoingGuard, SsrfRefused
from connector.services.transport import DocumentFetch, DspClient, make_client
from connector.store.models import Negotiation
from tests.dsp.conftest import run, seed_offer, settle
from tests.dsp.test_bad_input import nothing_stored, post, request_body

ROOT = Path(__file__).resolve().parents[2] / "connector"
FORBIDDEN = ["http://127.0.0.1:9999/internal/secret#", "http://169.254.169.254/latest/meta-data/",
             "http://[::1]:8080/", "http://10.0.0.8/dsp", "file:///etc/passwd", "gopher://127.0.0.1:25/"]


# --- the rule has one home --------------------------------------------------------------------

# who may build an HTTP client, and why
CLIENT_HOMES = {
    "services/transport.py": "the one door out",
    "services/ssrf.py": "the guard and the data plane's guarded aiohttp session",
    # the command line talks to the operator's own connector (management API, health probe)
    "cli/fetch.py": "operator's client", "cli/demo.py": "operator's client",
    "cli/policy.py": "operator's client", "cli/launch.py": "health probe of a started process",
}
CLIENT_MAKERS = re.compile(r"\b(httpx\.(Async)?Client\(|httpx\.(get|post|put|delete|request|stream)\(|"
                           r"aiohttp\.(ClientSession|TCPConnector)\(|AiohttpTransport\(|urllib\.request|"
                           r"urlopen\(|import requests\b|http\.client)")


def test_no_module_builds_its_own_http_client():
    offenders = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if relative in CLIENT_HOMES:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if CLIENT_MAKERS.search(line) and not line.lstrip().startswith("#"):
                offenders.append(f"connector/{relative}:{number}: {line.strip()}")
    assert not offenders, ("build outgoing clients in connector/services/transport.py (the SSRF guard):\n"
                           + "\n".join(offenders))


# --- the rule ---------------------------------------------------------------------------------


def settings(**extra) -> Settings:
    return Settings(participant_id="did:web:me.example", api_key="k", **extra)


def test_configured_peers_may_be_on_loopback_other_loopback_addresses_may_not():
    guard = OutgoingGuard.from_settings(settings(peers=[
        Peer(id="did:web:localhost%3A8282", token="t1", dsp_url="http://127.0.0.1:8301/api/dsp/2025-1")],
        identity=IdentitySettings(allow_insecure_did_web=True, trusted_issuers=["did:web:localhost%3A9000"])))
    guard.check("http://127.0.0.1:8301/api/dsp/2025-1/negotiations/request")  # the peer's DSP URL
    guard.check("http://localhost:8282/.well-known/did.json")  # the peer's did:web document
    guard.check("http://localhost:9000/status/1")  # a trusted issuer's status list
    for url in ("http://127.0.0.1:9999/internal/secret", "http://127.0.0.1:8302/", "http://localhost:8283/"):
        with pytest.raises(SsrfRefused, match="loopback"):
            guard.check(url)
    with pytest.raises(SsrfRefused, match="scheme 'file'"):
        guard.check("file:///etc/passwd")


def test_the_allowlist_admits_what_it_names():
    guard = OutgoingGuard.from_settings(settings(dataplane=DataPlaneSettings(allowlist=["10.1.0.0/16"])))
    guard.check("http://10.1.2.3/dsp")
    with pytest.raises(SsrfRefused, match="private"):
        guard.check("http://10.2.0.1/dsp")


@pytest.mark.parametrize("url", FORBIDDEN)
def test_dsp_client_refuses_before_it_sends(url):
    client = DspClient(make_client("httpx"), OutgoingGuard())
    with pytest.raises(SsrfRefused):
        run(client.post(url, {"@type": "CatalogRequestMessage"}, "our-token"))


def test_did_documents_and_status_lists_pass_the_guard():
    resolver = DidResolver(allow_insecure_localhost=True, fetch=DocumentFetch(OutgoingGuard()))
    with pytest.raises(DidResolutionError, match="loopback"):
        resolver.resolve("did:web:localhost%3A9999")
    with pytest.raises(DidResolutionError, match="loopback"):
        resolver.fetch("http://127.0.0.1:9999/status/1")  # a status list URL from a credential
    with pytest.raises(DidResolutionError, match="no HTTP client"):
        DidResolver(allow_insecure_localhost=True).resolve("did:web:localhost%3A9999")


def test_the_edr_refresh_endpoint_passes_the_guard():
    with pytest.raises(RefreshRefused, match="link-local"):
        TokenRefresher(guard=OutgoingGuard()).refresh("http://169.254.169.254/token", "r", "t")


# --- management: counterPartyAddress ----------------------------------------------------------


@pytest.mark.parametrize("url", FORBIDDEN[:4])
def test_a_catalog_request_to_an_internal_address_is_refused_and_nothing_is_sent(api, httpx_mock, url):
    body = {"@context": {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"}, "@type": "CatalogRequest",
            "counterPartyAddress": url, "counterPartyId": "did:web:x", "protocol": "dataspace-protocol-http:2025-1"}
    answer = api.post("/management/v3/catalog/request", json=body)
    assert answer.status_code == 400, answer.text
    [error] = answer.json()
    assert error["path"] == "counterPartyAddress" and "allowlist" in error["message"]
    assert httpx_mock.get_requests() == []


def test_a_negotiation_to_an_internal_address_is_refused(api):
    body = {"@context": {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"}, "@type": "ContractRequest",
            "counterPartyAddress": "http://169.254.169.254/api/dsp/2025-1", "protocol": "dataspace-protocol-http:2025-1",
            "policy": {"@id": "offer-1", "@type": "odrl:Offer", "odrl:permission": [{"odrl:action": {"@id": "odrl:use"}}],
                       "odrl:target": {"@id": "asset-1"}, "odrl:assigner": {"@id": "did:web:p"},
                       "@context": {"odrl": "http://www.w3.org/ns/odrl/2/"}}}
    answer = api.post("/management/v3/contractnegotiations", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()[0]["path"] == "counterPartyAddress"


@pytest.fixture
def api(tmp_path):
    from tests.management.conftest import client_for, make_settings

    settings = make_settings(f"sqlite:///{tmp_path}/solo.db", transport="httpx")
    with client_for(settings, DspClient(make_client("httpx"))) as client:
        yield client


# --- DSP: callbackAddress -----------------------------------------------------------------------


@pytest.mark.parametrize("callback", FORBIDDEN + ["http://attacker.test:1002/api/dsp/2025-1"])
def test_a_callback_not_on_the_peers_own_server_is_refused(world, callback):
    seed_offer(world["provider"].services)
    answer = post(world, "/negotiations/request", request_body(callbackAddress=callback))
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["@type"] == "ContractNegotiationError" and body["code"] == "callback-refused"
    why = "scheme" if callback.startswith(("file:", "gopher:")) else "not on the server of the calling peer did:web:consumer.test"
    assert why in body["reason"][0], body
    nothing_stored(world)


def test_the_admin_may_allow_foreign_callbacks_but_never_internal_ones(world):
    party = world["provider"]
    seed_offer(party.services)
    # the container is built once: a provider with another rule is a new container
    party.services = party.app.state.services = replace(party.services, guard=OutgoingGuard(foreign_callbacks=True))
    answer = post(world, "/negotiations/request", request_body(callbackAddress="http://169.254.169.254/dsp"))
    assert answer.status_code == 400 and "link-local" in answer.json()["reason"][0]
    answer = post(world, "/negotiations/request", request_body(callbackAddress="http://93.184.216.34/dsp"))
    assert answer.status_code == 201, answer.text


def test_a_stored_message_to_a_forbidden_address_fails_for_good_with_the_reason(world):
    consumer, provider = world["consumer"], world["provider"]
    seed_offer(provider.services)
    from connector.policy import policy_from_compact_dsp
    from connector.services.negotiation import OfferRef

    offer = OfferRef("Y2QtYXNzZXQtMQ==:YXNzZXQtMQ==:eA==", policy_from_compact_dsp(
        {"@type": "Offer", "permission": [{"action": "use"}]}), "asset-1", provider.settings.participant_id)
    neg = consumer.services.negotiations.request(counterparty_address="http://127.0.0.1:9/api/dsp/2025-1",
                                                 counterparty_id=provider.settings.participant_id, offer=offer)
    settle(consumer)
    with consumer.services.db.read() as session:
        row = session.get(Negotiation, neg.id)
    assert row.state == "TERMINATED" and "SSRF guard" in str(row.error), row.error


def test_a_callback_on_the_dsp_url_the_callers_did_document_announces_is_accepted():
    from connector.services.ssrf import dsp_bases_of

    document = {"id": "did:web:edc.example", "service": [
        {"id": "did:web:edc.example#dsp", "type": "DataService", "serviceEndpoint": "https://edc.example/api/v1/dsp"},
        {"id": "did:web:edc.example#x", "type": "LinkedDomains", "serviceEndpoint": "https://other.example/"}]}
    guard = OutgoingGuard(announced=lambda pid: dsp_bases_of(document) if pid == document["id"] else [])
    guard.check_callback("did:web:edc.example", "https://edc.example/api/v1/dsp/2025-1")
    for url in ("https://other.example/", "https://edc.example:8443/api/v1/dsp"):
        with pytest.raises(SsrfRefused, match="https://edc.example/api/v1/dsp"):
            guard.check_callback("did:web:edc.example", url)
    with pytest.raises(SsrfRefused, match="none is configured"):
        guard.check_callback("did:web:stranger.example", "https://edc.example/api/v1/dsp")


def test_peers_added_at_run_time_count_at_once():
    added: list[tuple[str, str | None]] = []
    guard = OutgoingGuard.from_settings(settings(), runtime_peers=lambda: list(added))
    url = "http://127.0.0.1:8411/api/dsp/2025-1/catalog/request"
    with pytest.raises(SsrfRefused, match="loopback"):
        guard.check(url)
    with pytest.raises(SsrfRefused, match="not on the server"):
        guard.check_callback("did:web:localhost%3A8411", "http://127.0.0.1:8411/api/dsp/2025-1")
    added.append(("did:web:localhost%3A8411", "http://127.0.0.1:8411/api/dsp/2025-1"))
    guard.check(url)
    guard.check_callback("did:web:localhost%3A8411", "http://127.0.0.1:8411/api/dsp/2025-1/callback")
    assert "127.0.0.1" in guard.connect_allowlist().hosts
    with pytest.raises(SsrfRefused, match="loopback"):  # other loopback servers stay refused
        guard.check("http://127.0.0.1:9999/internal/secret")
