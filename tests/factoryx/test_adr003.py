"""Factory-X ADR 003 (authentication) TEST.mdx scenarios between two real connector processes in
``[profile] dataspace = "factory-x"`` and ``[identity] auth_mode = "dcp"``, holding their credentials
in the ``vc11-sl2021/jwt`` profile from an issuer the provider serves (``identity.issuer_dir``).

What DCP v1.0 asks of a DID document, chapter by chapter (the ADR names 4.3.3, 5.2, 5.4.3 and 6.2):

- 4.3.3 "Validating Self-Issued ID Tokens": the document's ``id`` is the DID; the keys a token names
  (``kid``) are methods of the document, controlled by the DID, in ``capabilityInvocation``; a
  token without ``kid`` is refused when the document has more than one method;
- 5.2 "Credential Service Endpoint Discovery": a ``service`` of type ``CredentialService`` whose
  ``serviceEndpoint`` is the Credential Service's base URL;
- 5.4.x "Resolution API" (read here as what the 5.2 entry must lead to): ``POST <base>/presentations/query``
  answers a verifier holding the caller's access token with a ``PresentationResponseMessage``,
  and refuses one without it (4xx);
- 6.2 "Issuer Service Endpoint Discovery": an issuer's document has a ``service`` of type
  ``IssuerService`` whose ``serviceEndpoint`` is the issuer service's base URL. Our connector
  issues nothing, so its own document has none; the issuer it serves does.

The published v1.0 numbering was read from the specification's sources (not copied here); the
mapping above is ours. A participant of another data space (``vc20_holder``: a did:web on this
machine, its Credential Service presenting VC 2.0 credentials) shows the profile refusal at the
provider's DSP edge. tests/identity_service/test_factoryx_adr003.py runs the scenarios that need
a holder to misbehave (profiles, rotated keys, a second issuer) against a real Credential Service.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connector.cli.launch import free_port
from connector.identity.credential_service import CredentialService, QueryRefused
from connector.identity.dcp import ReplayCache, SelfIssuedTokens
from connector.identity.dcp_messages import (
    DCP_CONTEXT,
    PresentationResponse,
    credential_service_entry,
    scopes_for_policy,
    type_scope,
)
from connector.identity.did import DidResolver, IdentityError
from connector.identity.issuer import Issuer, provision
from connector.identity.jws import jws_unverified
from connector.identity.keys import KeySet, SigningKey
from connector.identity.sts import BuiltinSts
from connector.identity.vc11 import VC11, VC20
from connector.identity.wallet import LocalIdentity, Wallet, load_keys, new_key_file
from tests.harness import Node, serve_in_thread
from tests.identity_service import test_factoryx_adr003 as holders
from tests.identity_service.conftest import local_fetch
from tests.identity_service.test_dcp_integration import CONSUMER_BPN, PROVIDER_BPN, dcp_section, seed
from tests.identity_service.test_dcp_presentation_integration import offer_for, publish, wait_transfer

from .scenario_map import Runner

pytestmark = pytest.mark.integration
EDC = {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"}
CX = ["https://w3id.org/catenax/2025/9/policy/context.jsonld", "https://w3id.org/dspace/2025/1/odrl-profile.jsonld",
      EDC]
CATALOG_REQUEST = {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "CatalogRequestMessage"}
CHAPTERS = ("4.3.3", "5.2", "5.4.3", "6.2")


@dataclass
class Hercules:
    provider: Node
    consumer: Node
    issuer: Issuer

    def identity(self, node: Node) -> LocalIdentity:
        return LocalIdentity(node.participant_id, load_keys(node.workdir / f"{node.name}.keys.json"))

    def document(self, node: Node) -> dict:
        """``node``'s DID document, resolved the did:web way (over HTTP) by a verifier's resolver."""
        return resolver().resolve(node.participant_id)


def resolver() -> DidResolver:
    return DidResolver(allow_insecure_localhost=True, ttl_seconds=0, fetch=local_fetch())


@pytest.fixture(scope="module")
def fx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hercules]:
    tmp = tmp_path_factory.mktemp("adr003")
    provider, consumer = Node("provider", tmp), Node("consumer", tmp)
    issuer = Issuer.init(tmp / "issuer", f"did:web:localhost%3A{provider.port}:issuer")
    for node, bpn in ((provider, PROVIDER_BPN), (consumer, CONSUMER_BPN)):
        new_key_file(tmp / f"{node.name}.keys.json", node.participant_id)
        provision(issuer, node.participant_id, bpn=bpn, wallet=Wallet(tmp / f"{node.name}.credentials.json"),
                  profile=VC11)
    seed(tmp / "seed.json", "pcf-NG-WC-400")
    # the provider may reach DID documents on this machine beyond its peers' (the vc20 holder's)
    factory_x = '\n[profile]\ndataspace = "factory-x"\n'
    local = '\n[dataplane]\nallowlist = ["127.0.0.1", "localhost"]\n'
    provider.write_config([consumer], extra="\n".join([
        f'seed_file = "{tmp / "seed.json"}"', "retry_base_seconds = 0.2",
        dcp_section(provider, [issuer.did], tmp / "issuer")]) + factory_x + local)
    consumer.write_config([provider], extra="retry_base_seconds = 0.2\n" + dcp_section(consumer, [issuer.did])
                          + factory_x)
    try:
        provider.start()
        consumer.start()
        publish(provider, "pcf-fx-1")  # membership and BPN to see it, the framework agreement to use it
        yield Hercules(provider, consumer, issuer)
    finally:
        for node in (provider, consumer):
            node.stop()


def refusal(fx: Hercules, token: str) -> httpx.Response:
    """The provider's DSP answer to a catalog request carrying ``token``."""
    return httpx.post(f"{fx.provider.dsp}/catalog/request", json=CATALOG_REQUEST,
                      headers={"Authorization": "Bearer " + token}, timeout=30)


# --- smoke ----------------------------------------------------------------------------------------


def test_smoke_the_participant_did_resolves_by_did_web_to_a_document_with_keys(fx: Hercules) -> None:
    for node in (fx.provider, fx.consumer):
        assert node.participant_id.startswith("did:web:")
        document = fx.document(node)
        assert document["@context"][0] == "https://www.w3.org/ns/did/v1" and document["id"] == node.participant_id
        methods = document["verificationMethod"]
        assert methods and all(m["controller"] == node.participant_id for m in methods)
        assert all("publicKeyJwk" in m or "publicKeyMultibase" in m for m in methods)


def test_smoke_the_did_document_lists_the_dcp_services_and_they_answer(fx: Hercules) -> None:
    document = fx.document(fx.consumer)
    assert document["service"], document
    [service] = [s for s in document["service"] if s["type"] == "CredentialService"]
    # reachable: without the verifier's token the Credential Service refuses, saying why
    r = httpx.post(service["serviceEndpoint"] + "/presentations/query", json={
        "@context": [DCP_CONTEXT], "type": "PresentationQueryMessage", "scope": [type_scope("MembershipCredential")]})
    assert r.status_code == 401 and r.json()["code"] == "missing_token", r.text


def test_smoke_connectors_authenticate_with_vc11_presentations_and_the_edr_token_pulls(fx: Hercules) -> None:
    """DID documents exchanged, vc11-sl2021/jwt presentations accepted both ways: the provider issues
    the access token (the EDR), which pulls the data (ADR 002)."""
    created = fx.consumer.management("POST", "/v3/edrs", {
        "@context": CX, "@type": "ContractRequest", "counterPartyAddress": fx.provider.dsp,
        "protocol": "dataspace-protocol-http:2025-1", "policy": offer_for(fx.consumer, fx.provider, "pcf-fx-1")})
    assert created.status_code == 200, created.text
    negotiation = fx.consumer.wait_state(created.json()["@id"], ("FINALIZED", "TERMINATED"))
    assert negotiation["state"] == "FINALIZED", negotiation
    transfer = wait_transfer(fx.consumer, negotiation["contractAgreementId"])
    assert transfer["state"] == "STARTED", transfer
    address = fx.consumer.management("GET", f"/v3/edrs/{transfer['@id']}/dataaddress").json()
    pulled = httpx.get(address["endpoint"], headers={"Authorization": address["authorization"]}, timeout=10)
    assert pulled.status_code == 200, pulled.text
    # what the consumer's Credential Service answered the provider: vc11-sl2021/jwt presentations
    log = fx.consumer.process.log.read_text(errors="replace") if fx.consumer.process else ""
    assert "presentation query from " + fx.provider.participant_id in log, log[-2000:]


def _prop(address: dict, name: str) -> str:
    """An EDR property from the management API's data address, by its Tractus-X name in any form."""
    for key in (name, "tx-auth:" + name, "https://w3id.org/tractusx/auth/" + name):
        if key in address:
            return str(address[key])
    raise AssertionError(f"no {name} in {sorted(address)}")


def test_edge_a_refresh_authenticated_by_the_consumers_sts_token_gives_a_token_that_pulls(fx: Hercules) -> None:
    """ADR 002: the refresh endpoint behaves as RFC 6749 §6, authenticated with an STS token (the
    consumer's self-issued token carrying the access token, as Tractus-X EDC sends it)."""
    created = fx.consumer.management("POST", "/v3/edrs", {
        "@context": CX, "@type": "ContractRequest", "counterPartyAddress": fx.provider.dsp,
        "protocol": "dataspace-protocol-http:2025-1", "policy": offer_for(fx.consumer, fx.provider, "pcf-fx-1")})
    negotiation = fx.consumer.wait_state(created.json()["@id"], ("FINALIZED", "TERMINATED"))
    transfer = wait_transfer(fx.consumer, negotiation["contractAgreementId"])
    address = fx.consumer.management("GET", f"/v3/edrs/{transfer['@id']}/dataaddress").json()
    consumer, provider = fx.identity(fx.consumer), fx.identity(fx.provider)

    def refresh(signer: LocalIdentity) -> httpx.Response:
        sts = BuiltinSts(signer).self_issued_token(provider.did, token=address["authorization"])
        return httpx.post(_prop(address, "refreshEndpoint"), timeout=30, headers={"Authorization": "Bearer " + sts},
                          data={"grant_type": "refresh_token", "refresh_token": _prop(address, "refreshToken")})

    # another participant's STS token, however valid, does not refresh the consumer's token
    wrong = refresh(provider)
    assert wrong.status_code == 401 and f"issued to {consumer.did}" in wrong.json()["error_description"], wrong.text
    answer = refresh(consumer)
    assert answer.status_code == 200, answer.text
    renewed = answer.json()
    assert renewed["token_type"] == "Bearer" and renewed["access_token"] != address["authorization"]
    pulled = httpx.get(address["endpoint"], headers={"Authorization": renewed["access_token"]}, timeout=10)
    assert pulled.status_code == 200, pulled.text
    # our consumer refreshes the same way by itself (its EDR cache holds the pair the first refresh
    # replaced, so it is refused; a fresh transfer's pair refreshes)
    created = fx.consumer.management("POST", "/v3/edrs", {
        "@context": CX, "@type": "ContractRequest", "counterPartyAddress": fx.provider.dsp,
        "protocol": "dataspace-protocol-http:2025-1", "policy": offer_for(fx.consumer, fx.provider, "pcf-fx-1")})
    negotiation = fx.consumer.wait_state(created.json()["@id"], ("FINALIZED", "TERMINATED"))
    second = wait_transfer(fx.consumer, negotiation["contractAgreementId"])
    again = fx.consumer.management("POST", f"/v3/edrs/{second['@id']}/refresh")
    assert again.status_code == 200, again.text
    assert httpx.get(address["endpoint"], headers={"Authorization": again.json()["authorization"]},
                     timeout=10).status_code == 200
    log = fx.provider.process.log.read_text(errors="replace") if fx.provider.process else ""
    # twice: the test's client token above, then the consumer's own
    assert log.count(f"EDR refresh authenticated by the STS token of {consumer.did}") == 2, log[-2000:]


def test_smoke_the_credential_service_presents_in_vc11_sl2021_jwt(fx: Hercules) -> None:
    consumer, provider = fx.identity(fx.consumer), fx.identity(fx.provider)
    answer = _query(fx, consumer, provider)
    assert answer.status_code == 200, answer.text
    [vp] = PresentationResponse.from_json(answer.json()).presentations
    header, claims = jws_unverified(vp)
    assert header["typ"] == "JWT" and claims["vp"]["type"] == ["VerifiablePresentation"]
    # the verifier's own check: signature by the holder's DID-bound key, vc11 credentials, trusted issuer
    checker = SelfIssuedTokens(provider.did, resolver(), ReplayCache())
    verified = checker.verify_presentation(vp, consumer.did, time.time(), nonce=None,
                                           trusted_issuers=frozenset([fx.issuer.did]), status_lists=None,
                                           profiles=(VC11,))
    assert [c.types[-1] for c in verified] == ["MembershipCredential"] and verified[0].secured_as == VC11


def _query(fx: Hercules, holder: LocalIdentity, verifier: LocalIdentity, scope: str = "MembershipCredential"):  # type: ignore[no-untyped-def]
    """The verifier's presentation query to the holder's Credential Service, with the access token the
    holder's STS gave it."""
    now = int(time.time())
    access = BuiltinSts(holder).access_token(verifier.did, [type_scope(scope)], now)
    token = BuiltinSts(verifier).self_issued_token(holder.did, token=access)
    [service] = [s for s in fx.document(fx.consumer)["service"] if s["type"] == "CredentialService"]
    return httpx.post(service["serviceEndpoint"] + "/presentations/query", json={
        "@context": [DCP_CONTEXT], "type": "PresentationQueryMessage", "scope": [type_scope(scope)]},
        headers={"Authorization": "Bearer " + token}, timeout=30)


# --- edge: each DCP chapter the ADR names ---------------------------------------------------------


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_edge_the_did_document_meets_each_dcp_chapter(fx: Hercules, chapter: str) -> None:
    did = fx.consumer.participant_id
    document = fx.document(fx.consumer)
    consumer, provider = fx.identity(fx.consumer), fx.identity(fx.provider)
    if chapter == "4.3.3":
        assert document["id"] == did  # step 4: sub equals the document's id
        methods = {m["id"]: m for m in document["verificationMethod"]}
        assert document["capabilityInvocation"] and all(
            ref in methods and methods[ref]["controller"] == did for ref in document["capabilityInvocation"])
        # a token signed by our STS names its key (kid), which the document lists under capabilityInvocation
        token = BuiltinSts(consumer).self_issued_token(provider.did)
        assert jws_unverified(token)[0]["kid"] in document["capabilityInvocation"]
        assert SelfIssuedTokens(provider.did, resolver(), ReplayCache()).verify(token, time.time())[0] == did
        # several methods: a token without kid is refused (it must name one)
        unnamed = _without_kid(consumer, provider.did)
        with pytest.raises(IdentityError, match="must name one in its kid"):
            SelfIssuedTokens(provider.did, resolver(), ReplayCache()).verify(unnamed, time.time())
    elif chapter == "5.2":
        services = [s for s in document["service"] if s["type"] == "CredentialService"]
        assert len(services) == 1 and services[0]["id"].startswith(did + "#"), services
        assert services[0]["serviceEndpoint"] == fx.consumer.base + "/api/dcp"
    elif chapter == "5.4.3":
        answer = _query(fx, consumer, provider)
        assert answer.status_code == 200 and answer.json()["type"] == "PresentationResponseMessage", answer.text
        assert answer.json()["@context"] == [DCP_CONTEXT]
        # a scope the access token does not grant: a 4xx naming it
        now = int(time.time())
        access = BuiltinSts(consumer).access_token(provider.did, [type_scope("MembershipCredential")], now)
        token = BuiltinSts(provider).self_issued_token(consumer.did, token=access)
        [service] = [s for s in document["service"] if s["type"] == "CredentialService"]
        refused = httpx.post(service["serviceEndpoint"] + "/presentations/query", json={
            "@context": [DCP_CONTEXT], "type": "PresentationQueryMessage", "scope": [type_scope("BpnCredential")]},
            headers={"Authorization": "Bearer " + token}, timeout=30)
        assert refused.status_code == 403 and type_scope("BpnCredential") in refused.json()["reason"]
    else:  # 6.2
        assert not [s for s in document.get("service", []) if s["type"] == "IssuerService"]  # we issue nothing
        issuer_document = resolver().resolve(fx.issuer.did)
        [service] = [s for s in issuer_document["service"] if s["type"] == "IssuerService"]
        assert service["id"].startswith(fx.issuer.did + "#") and service["serviceEndpoint"] == fx.issuer.service_url


def _without_kid(identity: LocalIdentity, audience: str) -> str:
    from jwt.api_jws import PyJWS

    now = int(time.time())
    claims = {"iss": identity.did, "sub": identity.did, "aud": audience, "jti": "no-kid", "iat": now, "exp": now + 60}
    return PyJWS().encode(json.dumps(claims).encode(), identity.key.private_key, algorithm="EdDSA",
                          headers={"typ": "JWT"})


# --- negative -------------------------------------------------------------------------------------


def test_negative_an_unresolvable_did_web_gets_401_with_the_reason(fx: Hercules, tmp_path: Path) -> None:
    ghost_did = f"did:web:localhost%3A{free_port()}:ghost"  # nothing listens there
    ghost = LocalIdentity(ghost_did, KeySet(SigningKey.generate(f"{ghost_did}#key-1", ghost_did)))
    r = refusal(fx, BuiltinSts(ghost).self_issued_token(fx.provider.participant_id,
                                                        scopes=[type_scope("MembershipCredential")]))
    assert r.status_code == 401 and "cannot resolve the caller " + ghost_did in r.text, r.text
    assert "allowlisted" not in r.text  # a resolution failure, not our own guard


def test_negative_a_did_key_participant_gets_401_naming_the_unsupported_method(fx: Hercules) -> None:
    key = SigningKey.generate()
    caller = LocalIdentity(key.controller, KeySet(key))
    r = refusal(fx, BuiltinSts(caller).self_issued_token(fx.provider.participant_id,
                                                         scopes=[type_scope("MembershipCredential")]))
    assert r.status_code == 401 and "unsupported DID method did:key" in r.text, r.text


def test_negative_a_token_whose_signature_no_document_key_matches_gets_401(fx: Hercules) -> None:
    # the caller's token names its kid but is signed by another key: no session (the VP case:
    # tests/identity_service/test_factoryx_adr003.py)
    consumer = fx.identity(fx.consumer)
    impostor = LocalIdentity(consumer.did, KeySet(SigningKey.generate(consumer.key.id, consumer.did)))
    r = refusal(fx, BuiltinSts(impostor).self_issued_token(fx.provider.participant_id,
                                                           scopes=[type_scope("MembershipCredential")]))
    assert r.status_code == 401 and "signature does not verify" in r.text, r.text


@pytest.fixture(scope="module")
def vc20_holder(fx: Hercules, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIdentity]:
    """A participant of another data space: a did:web on this machine whose Credential Service (ours,
    run in a thread) presents VC 2.0 credentials of the same trusted issuer, in vc20-bssl/jwt."""
    port = free_port()
    did = f"did:web:localhost%3A{port}:vc20"
    identity = LocalIdentity(did, KeySet(SigningKey.generate(f"{did}#key-1", did)),
                             Wallet(tmp_path_factory.mktemp("vc20") / "vc20.credentials.json"))
    provision(fx.issuer, did, bpn=CONSUMER_BPN, wallet=identity.wallet)
    service = CredentialService(identity, resolver(), ReplayCache(), profiles=(VC20,))
    document = identity.did_document([credential_service_entry(did, f"http://localhost:{port}/vc20")])

    async def query(request: Request) -> JSONResponse:
        try:
            answer = await run_in_threadpool(service.answer, request.headers.get("authorization"),
                                             await request.json())
        except QueryRefused as exc:
            return JSONResponse({"code": exc.code, "reason": exc.reason}, status_code=exc.status)
        return JSONResponse(answer)

    async def did_json(request: Request) -> JSONResponse:
        return JSONResponse(document)

    app = Starlette(routes=[Route("/vc20/did.json", did_json),
                            Route("/vc20/api/dcp/presentations/query", query, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = serve_in_thread(server, "the vc20 holder")
    yield identity
    server.should_exit = True
    thread.join(5)


def test_negative_a_vc20_presentation_gets_401_naming_the_profile_mismatch(fx: Hercules,
                                                                         vc20_holder: LocalIdentity) -> None:
    scopes = scopes_for_policy(None, ("MembershipCredential",), "factory-x")
    r = refusal(fx, BuiltinSts(vc20_holder).self_issued_token(fx.provider.participant_id, scopes=scopes))
    assert r.status_code == 401, r.text
    assert "profile_mismatch" in r.text and f"in the DCP profile {VC20}" in r.text and VC11 in r.text, r.text


SCENARIOS: dict[str, Runner] = {
    "Participant claims a DID using the did:web method":
        test_smoke_the_participant_did_resolves_by_did_web_to_a_document_with_keys,
    "DID Document exposes services per Decentralized Claims Protocol v1.0":
        test_smoke_the_did_document_lists_the_dcp_services_and_they_answer,
    "Participant presents credentials as Verifiable Presentation in vc11-sl2021/jwt profile":
        test_smoke_the_credential_service_presents_in_vc11_sl2021_jwt,
    "STS-Token is issued after successful DID-based authentication":
        test_smoke_connectors_authenticate_with_vc11_presentations_and_the_edr_token_pulls,
    "Participant trusts multiple independent VC issuers":
        holders.test_edge_a_credential_from_the_second_trusted_issuer_is_accepted,
    "DID Document contains multiple public keys (key rotation scenario)":
        holders.test_edge_after_a_key_rotation_the_old_key_no_longer_authenticates,
    "DCP v1.0 mandatory section compliance per chapter": test_edge_the_did_document_meets_each_dcp_chapter,
    "Authentication fails when DID Document is not resolvable":
        test_negative_an_unresolvable_did_web_gets_401_with_the_reason,
    "Credential presented in unsupported profile": test_negative_a_vc20_presentation_gets_401_naming_the_profile_mismatch,
    "Verifiable Presentation with invalid JWT signature":
        holders.test_negative_a_vp_with_a_signature_no_document_key_matches_is_refused,
    "Participant uses a non-did:web DID method": test_negative_a_did_key_participant_gets_401_naming_the_unsupported_method,
}
