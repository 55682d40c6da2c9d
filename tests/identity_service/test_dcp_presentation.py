"""DCP v1.0 presentation flow: STS tokens with an access token, the verifier's query, our Credential Service.

The caller (``consumer``) and the verifier (``provider``) have did:web documents on the test web
server; the consumer's announces a CredentialService. The verifier's POST to that endpoint is
handed to the consumer's real :class:`CredentialService` (the HTTP edge is covered by
tests/identity_service/test_dcp_integration.py); ``queries`` records each exchange.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from connector.config import ConfigError, load_settings
from connector.identity.credential_service import CredentialService, QueryRefused
from connector.identity.credentials import StatusLists
from connector.identity.dcp import AuthenticationError, ReplayCache
from connector.identity.dcp_messages import (
    DCP_CONTEXT,
    DcpMessageError,
    PresentationQuery,
    credential_service_endpoint,
    credential_service_entry,
    scopes_for_policy,
    type_scope,
)
from connector.identity.did import IdentityError
from connector.identity.presentation import DcpPresentationAuthenticator
from connector.identity.sts import BuiltinSts
from connector.identity.wallet import LocalIdentity

from .conftest import BPN_A, make_identity

MEMBERSHIP_SCOPE = type_scope("MembershipCredential")
DEG_SCOPE = type_scope("DataExchangeGovernanceCredential")
USAGE = {"@type": "Offer", "permission": [{"action": "use", "constraint": [{"and": [
    {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
    {"leftOperand": "BusinessPartnerNumber", "operator": "isAnyOf", "rightOperand": [BPN_A]}]}]}]}


class Exchange:
    """The verifier's POSTs, answered by the holders' Credential Services (by endpoint)."""

    def __init__(self) -> None:
        self.services: dict[str, CredentialService] = {}
        self.queries: list[dict[str, Any]] = []

    def post(self, url: str, body: dict[str, Any], authorization: str) -> tuple[int, Any]:
        record: dict[str, Any] = {"url": url, "query": body, "authorization": authorization}
        self.queries.append(record)
        base = url.removesuffix("/presentations/query")
        try:
            record["response"] = self.services[base].answer(authorization, body)
            return 200, record["response"]
        except QueryRefused as exc:
            record["refusal"] = exc
            return exc.status, {"code": exc.code, "reason": exc.reason}


def announce(web: Any, identity: LocalIdentity, name: str) -> str:
    endpoint = f"http://localhost:{web.port}/{name}-cs/api/dcp"
    entry = credential_service_entry(identity.did, f"http://localhost:{web.port}/{name}-cs")
    web.publish_did(identity.did_document([entry]))
    return endpoint


@pytest.fixture
def exchange(consumer, clean_web, resolver) -> Exchange:
    exchange = Exchange()
    endpoint = announce(clean_web, consumer, "consumer")
    exchange.services[endpoint] = CredentialService(consumer, resolver, ReplayCache())
    return exchange


def verifier_for(provider: LocalIdentity, resolver, exchange: Exchange, trusted: list[str],
                 **options: Any) -> DcpPresentationAuthenticator:
    return DcpPresentationAuthenticator(provider, resolver, BuiltinSts(provider), exchange.post, trusted, ReplayCache(),
                                        status_lists=StatusLists(resolver, ttl_seconds=0), **options)


@pytest.fixture
def verifier(provider, resolver, exchange, issuer) -> DcpPresentationAuthenticator:
    return verifier_for(provider, resolver, exchange, [issuer.did])


@pytest.fixture
def caller(consumer, resolver, exchange, issuer) -> DcpPresentationAuthenticator:
    """The consumer's own authenticator: it makes the outgoing tokens."""
    return verifier_for(consumer, resolver, exchange, [issuer.did])


def refused(verifier: DcpPresentationAuthenticator, header: str | None, code: str, policy: dict | None = None,
            **kw: Any) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as info:
        verifier.check(header, policy, **kw)
    assert info.value.code == code, info.value.reason
    return info.value


def test_the_verifier_queries_what_the_policy_needs_and_gets_only_that(verifier, caller, provider, consumer, exchange):
    participant = verifier.check(caller.outgoing_token_for(provider.did, USAGE), USAGE)
    assert participant.id == consumer.did
    assert participant.claims["credentials"] == ["DataExchangeGovernanceCredential", "MembershipCredential"]
    assert participant.claims["frameworkAgreements"] == {"DataExchangeGovernance": "1.0"}
    assert participant.bpn == BPN_A  # the BPN comes from the membership credential's subject
    [record] = exchange.queries
    assert record["query"] == {"@context": [DCP_CONTEXT], "type": "PresentationQueryMessage",
                               "scope": [MEMBERSHIP_SCOPE, DEG_SCOPE]}
    assert record["response"]["type"] == "PresentationResponseMessage"


def test_default_scopes_present_the_membership_alone(verifier, caller, provider):
    participant = verifier.check(caller.outgoing_token(provider.did), None)
    # the consumer also holds Bpn and DataExchangeGovernance credentials: not asked, not shown
    assert participant.claims["credentials"] == ["MembershipCredential"]


def test_a_scope_the_token_does_not_grant_is_refused_with_the_reason(verifier, caller, provider):
    header = caller.outgoing_token_for(provider.did, None)  # grants MembershipCredential only
    error = refused(verifier, header, "presentation_query_failed", USAGE)
    assert "HTTP 403" in error.reason and f"may not read {DEG_SCOPE}" in error.reason
    assert verifier.failures[-1] is error


def test_a_token_for_another_audience(verifier, caller, consumer, resolver, exchange, issuer, tmp_path, clean_web):
    other = make_identity(clean_web.did("other"), tmp_path, "other")
    clean_web.publish_did(other.did_document())
    error = refused(verifier, caller.outgoing_token(other.did), "wrong_audience")
    assert other.did in error.reason
    assert exchange.queries == []  # refused before any query


def test_an_expired_and_a_replayed_token(verifier, caller, provider):
    header = caller.outgoing_token(provider.did)
    refused(verifier, header, "expired", now=time.time() + 3600)
    verifier.check(header, None)
    refused(verifier, header, "replayed")


def test_a_token_without_an_access_token(verifier, consumer, provider):
    header = "Bearer " + BuiltinSts(consumer).self_issued_token(provider.did)
    refused(verifier, header, "missing_access_token")


def test_a_did_document_without_credential_service(verifier, caller, consumer, provider, clean_web):
    clean_web.publish_did(consumer.did_document())  # no service entry
    error = refused(verifier, caller.outgoing_token(provider.did), "no_credential_service")
    assert "announces no CredentialService" in error.reason


def test_an_untrusted_issuer(provider, resolver, exchange, caller):
    verifier = verifier_for(provider, resolver, exchange, ["did:web:elsewhere.example:issuer"])
    error = refused(verifier, caller.outgoing_token(provider.did), "untrusted_issuer")
    assert "not a trusted issuer" in error.reason


def test_a_revoked_credential(verifier, caller, provider, consumer, issuer):
    membership = next(e for e in consumer.wallet.entries if "MembershipCredential" in e["type"])
    issuer.revoke(membership["id"])
    error = refused(verifier, caller.outgoing_token(provider.did), "revoked")
    assert "revoked" in error.reason


def test_a_credential_the_policy_asks_and_the_caller_lacks_is_left_to_the_policy(verifier, caller, provider,
                                                                                   consumer):
    consumer.wallet.entries = [e for e in consumer.wallet.entries if "DataExchangeGovernanceCredential" not in e["type"]]
    consumer.wallet.save()
    participant = verifier.check(caller.outgoing_token_for(provider.did, USAGE), USAGE)
    assert participant.claims["credentials"] == ["MembershipCredential"]  # the policy's denial will name it


def test_a_missing_required_credential(verifier, caller, provider, consumer):
    consumer.wallet.entries = [e for e in consumer.wallet.entries if "MembershipCredential" not in e["type"]]
    consumer.wallet.save()
    error = refused(verifier, caller.outgoing_token_for(provider.did, USAGE), "missing_credential", USAGE)
    assert "MembershipCredential" in error.reason


# --- the Credential Service, queried directly -------------------------------------------------------


@pytest.fixture
def holder(consumer, resolver) -> CredentialService:
    return CredentialService(consumer, resolver, ReplayCache())


def query_token(provider: LocalIdentity, consumer: LocalIdentity, scopes: list[str], *, verifier: str | None = None,
                audience: str | None = None) -> str:
    """The verifier's token: carrying the access token the consumer's STS gave ``verifier``."""
    access = BuiltinSts(consumer).access_token(verifier or provider.did, scopes, int(time.time()))
    return "Bearer " + BuiltinSts(provider).self_issued_token(audience or consumer.did, token=access)


def scope_query(*scopes: str) -> dict[str, Any]:
    return {"@context": [DCP_CONTEXT], "type": "PresentationQueryMessage", "scope": list(scopes)}


def refusal(holder: CredentialService, header: str | None, body: Any, status: int, code: str) -> QueryRefused:
    with pytest.raises(QueryRefused) as info:
        holder.answer(header, body)
    assert (info.value.status, info.value.code) == (status, code), info.value.reason
    return info.value


def test_the_holder_answers_only_the_asked_types(holder, provider, consumer):
    from connector.identity.credentials import jws_unverified

    answer = holder.answer(query_token(provider, consumer, [MEMBERSHIP_SCOPE, DEG_SCOPE]), scope_query(DEG_SCOPE))
    [vp] = answer["presentation"]
    header, presentation = jws_unverified(vp)
    assert header["typ"] == "vp+jwt" and presentation["aud"] == provider.did
    assert len(presentation["verifiableCredential"]) == 1  # DEG only, though Membership was granted too


def test_the_holder_refuses_bad_tokens(holder, provider, consumer, clean_web, tmp_path):
    refusal(holder, None, scope_query(MEMBERSHIP_SCOPE), 401, "missing_token")
    other = make_identity(clean_web.did("other"), tmp_path, "other")
    clean_web.publish_did(other.did_document())
    # the verifier's token addressed to someone else
    refusal(holder, query_token(provider, consumer, [MEMBERSHIP_SCOPE], audience=other.did),
            scope_query(MEMBERSHIP_SCOPE), 401, "wrong_audience")
    # an access token given to another verifier, replayed by this one
    error = refusal(holder, query_token(provider, consumer, [MEMBERSHIP_SCOPE], verifier=other.did),
                    scope_query(MEMBERSHIP_SCOPE), 401, "wrong_audience")
    assert f"given to {other.did}" in error.reason
    # an access token we did not sign
    forged = BuiltinSts(other).access_token(provider.did, [MEMBERSHIP_SCOPE], int(time.time()))
    header = "Bearer " + BuiltinSts(provider).self_issued_token(consumer.did, token=forged)
    refusal(holder, header, scope_query(MEMBERSHIP_SCOPE), 401, "forged")


def test_the_holder_refuses_a_replayed_query(holder, provider, consumer):
    header = query_token(provider, consumer, [MEMBERSHIP_SCOPE])
    holder.answer(header, scope_query(MEMBERSHIP_SCOPE))
    refusal(holder, header, scope_query(MEMBERSHIP_SCOPE), 401, "replayed")


def test_the_holder_refuses_an_expired_access_token(holder, provider, consumer):
    with pytest.raises(QueryRefused) as info:
        holder.answer(query_token(provider, consumer, [MEMBERSHIP_SCOPE]), scope_query(MEMBERSHIP_SCOPE),
                      now=time.time() + 3600)
    assert info.value.code == "expired"


@pytest.mark.parametrize(("body", "status", "needle"), [
    ({"@context": [DCP_CONTEXT], "type": "PresentationQueryMessage", "scope": []}, 400, "non-empty"),
    ({"@context": [DCP_CONTEXT], "type": "PresentationQueryMessage", "scope": [MEMBERSHIP_SCOPE],
      "presentationDefinition": {"id": "x", "input_descriptors": []}}, 400, "exclusive"),
    ({"@context": [DCP_CONTEXT], "type": "PresentationQueryMessage", "scopes": [MEMBERSHIP_SCOPE]}, 400,
     "did you mean 'scope'"),
    ({"@context": ["https://example.com"], "type": "PresentationQueryMessage", "scope": [MEMBERSHIP_SCOPE]}, 400,
     "@context"),
    (scope_query("org.eclipse.tractusx.vc.typ:MembershipCredential:read"), 400, "did you mean"),
    (scope_query("org.eclipse.tractusx.vc.type:MembershipCredential:write"), 403, "may only read"),
    ({"@context": [DCP_CONTEXT], "type": "PresentationQueryMessage",
      "presentationDefinition": {"id": "p", "input_descriptors": [{"id": "d", "constraints": {"fields": [
          {"path": ["$.credentialSubject.bpn"], "filter": {"type": "string"}}]}}]}}, 501, "only a constraint"),
])
def test_the_holder_refuses_bad_queries(holder, provider, consumer, body, status, needle):
    with pytest.raises(QueryRefused) as info:
        holder.answer(query_token(provider, consumer, [MEMBERSHIP_SCOPE]), body)
    assert info.value.status == status and needle in info.value.reason, info.value.reason


def test_a_presentation_definition_on_type_is_answered(holder, provider, consumer):
    body = {"@context": [DCP_CONTEXT], "type": "PresentationQueryMessage", "presentationDefinition": {
        "id": "p", "input_descriptors": [{"id": "m", "constraints": {"fields": [
            {"path": ["$.type"], "filter": {"type": "string", "pattern": "MembershipCredential"}}]}}]}}
    answer = holder.answer(query_token(provider, consumer, [MEMBERSHIP_SCOPE]), body)
    assert len(answer["presentation"]) == 1
    refusal(holder, query_token(provider, consumer, [DEG_SCOPE]), body, 403, "scope_not_granted")


# --- scopes, DID documents, configuration ---------------------------------------------------------------


@pytest.mark.parametrize(("constraint", "extra"), [
    ({"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
     ["DataExchangeGovernanceCredential"]),
    ({"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "Pcf"}, ["PcfCredential"]),
    ({"leftOperand": "cx-policy:Membership", "operator": "eq", "rightOperand": "active"}, []),
    ({"leftOperand": "BusinessPartnerNumber", "operator": "isAnyOf", "rightOperand": [BPN_A]}, []),
    ({"leftOperand": "UsagePurpose", "operator": "isAnyOf", "rightOperand": ["cx.pcf.base:1"]}, []),
])
def test_scopes_for_a_policy(constraint, extra):
    policy = {"permission": [{"action": "use", "constraint": [constraint]}]}
    assert scopes_for_policy(policy) == [MEMBERSHIP_SCOPE, *(type_scope(t) for t in extra)]


def test_an_unreadable_policy_asks_the_defaults_only():
    assert scopes_for_policy({"permission": "nonsense"}) == [MEMBERSHIP_SCOPE]
    assert scopes_for_policy(None, ["MembershipCredential", "BpnCredential"]) == [
        MEMBERSHIP_SCOPE, type_scope("BpnCredential")]


FX_MEMBERSHIP = {"leftOperand": "https://w3id.org/factoryx/policy/v1.0/Membership", "operator": "eq",
                 "rightOperand": "active"}
FX_CERTIFIED = {"leftOperand": "https://w3id.org/factoryx/policy/v1.0/CertificationType", "operator": "eq",
                "rightOperand": "ISO9001"}
CX_DEG = {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"}


def test_factory_x_scopes_follow_the_profile_dataspace():
    def scopes(dataspace: str, *constraints: dict) -> list[str]:
        policy = {"permission": [{"action": "use", "constraint": [{"and": list(constraints)}]}]}
        return scopes_for_policy(policy, ["MembershipCredential"], dataspace)

    fx = "org.factoryx.vc.type"
    # factory-x: everything under Factory-X EDC's alias
    assert scopes("factory-x", FX_MEMBERSHIP, FX_CERTIFIED) == [
        f"{fx}:MembershipCredential:read", f"{fx}:CertificationCredential:read"]
    assert scopes("factory-x", CX_DEG) == [f"{fx}:MembershipCredential:read",
                                           f"{fx}:DataExchangeGovernanceCredential:read"]
    # both: the defaults and Catena-X operands the Catena-X way, the Factory-X operands the Factory-X way
    assert scopes("both", CX_DEG, FX_MEMBERSHIP, FX_CERTIFIED) == [
        MEMBERSHIP_SCOPE, DEG_SCOPE, f"{fx}:MembershipCredential:read", f"{fx}:CertificationCredential:read"]
    # catena-x (the default) keeps the Tractus-X alias even for a Factory-X operand
    assert scopes("catena-x", FX_CERTIFIED) == [MEMBERSHIP_SCOPE, type_scope("CertificationCredential")]
    with pytest.raises(ValueError, match="factory-x"):
        scopes("factoryx", FX_MEMBERSHIP)


def test_a_factory_x_scope_is_read_like_a_catena_x_one():
    from connector.identity.dcp_messages import Scope

    scope = Scope.parse("org.factoryx.vc.type:MembershipCredential:read")
    assert (scope.credential_type, scope.key) == ("MembershipCredential", Scope.parse(MEMBERSHIP_SCOPE).key)
    assert scope.selects({"type": ["VerifiableCredential", "MembershipCredential"]})
    with pytest.raises(DcpMessageError) as info:
        Scope.parse("org.factoryx.vc.type:MembershipCredential:write")
    assert info.value.status == 403
    with pytest.raises(DcpMessageError, match="did you mean 'org.factoryx.vc.type'"):
        Scope.parse("org.factoryx.vc.typ:MembershipCredential:read")


def test_the_query_model_round_trips():
    query = PresentationQuery.from_json(scope_query(MEMBERSHIP_SCOPE, "org.eclipse.dspace.dcp.vc.id:urn:uuid:1"))
    assert query.to_json() == scope_query(MEMBERSHIP_SCOPE, "org.eclipse.dspace.dcp.vc.id:urn:uuid:1")


def test_credential_service_endpoint_of_a_did_document(consumer):
    document = consumer.did_document([credential_service_entry(consumer.did, "https://c.example/")])
    assert credential_service_endpoint(document) == "https://c.example/api/dcp"
    with pytest.raises(IdentityError) as info:
        credential_service_endpoint(consumer.did_document())
    assert info.value.code == "no_credential_service"


def test_an_unknown_auth_mode_names_the_closest(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('participant_id = "did:web:example.com"\n[identity]\nauth_mode = "dcp-embeded"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert "did you mean 'dcp-embedded'?" in str(info.value)


# --- an external STS (outside the project: its HTTP answers are mocked) ---------------------------------


def external_sts(httpx_mock: Any, status: int, body: dict[str, Any]) -> Any:
    from connector.identity.sts import RemoteSts
    from connector.services.dcp_wiring import GuardedPost
    from connector.services.ssrf import Allowlist, OutgoingGuard

    httpx_mock.add_response(method="POST", url="http://127.0.0.1:9/sts/token", status_code=status, json=body)
    post = GuardedPost(OutgoingGuard(Allowlist.parse(["127.0.0.1"])))
    return RemoteSts("http://127.0.0.1:9/sts/token", "pontis-client", "s3cret", post.form)


def test_an_external_sts_is_asked_with_client_credentials(httpx_mock):
    from urllib.parse import parse_qs

    sts = external_sts(httpx_mock, 200, {"access_token": "the.si.token", "expires_in": 300, "token_type": "Bearer"})
    assert sts.self_issued_token("did:web:provider.example", scopes=[MEMBERSHIP_SCOPE, DEG_SCOPE]) == "the.si.token"
    [request] = httpx_mock.get_requests()
    form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
    assert form == {"grant_type": "client_credentials", "client_id": "pontis-client", "client_secret": "s3cret",
                    "audience": "did:web:provider.example", "bearer_access_scope": f"{MEMBERSHIP_SCOPE} {DEG_SCOPE}"}


def test_an_external_sts_refusal_names_the_sts_and_its_error(httpx_mock):
    sts = external_sts(httpx_mock, 401, {"error": "invalid_client"})
    with pytest.raises(IdentityError) as info:
        sts.self_issued_token("did:web:provider.example", token="access")
    assert info.value.code == "sts_failed" and "HTTP 401: invalid_client" in info.value.reason


def test_sts_settings_need_the_client_secret(monkeypatch, consumer):
    from types import SimpleNamespace

    from connector.identity.sts import STS_SECRET_ENV, RemoteSts, sts_from_settings

    config = SimpleNamespace(sts_url="https://wallet.example/sts/token", sts_client_id="c", token_ttl_seconds=120)
    settings = SimpleNamespace(identity=config)
    monkeypatch.delenv(STS_SECRET_ENV, raising=False)
    with pytest.raises(IdentityError) as info:
        sts_from_settings(settings, consumer, lambda url, form: (200, {}))
    assert STS_SECRET_ENV in info.value.reason
    monkeypatch.setenv(STS_SECRET_ENV, "s3cret")
    assert isinstance(sts_from_settings(settings, consumer, lambda url, form: (200, {})), RemoteSts)
    config.sts_url = None
    assert isinstance(sts_from_settings(settings, consumer, lambda url, form: (200, {})), BuiltinSts)


# --- Data Integrity presentations ---------------------------------------------------------------------


def test_a_data_integrity_presentation_when_the_verifier_asks_ldp(provider, resolver, exchange, issuer, caller, consumer):
    verifier = verifier_for(provider, resolver, exchange, [issuer.did], presentation_format="ldp")
    participant = verifier.check(caller.outgoing_token_for(provider.did, USAGE), USAGE)
    assert participant.id == consumer.did
    assert participant.claims["credentials"] == ["DataExchangeGovernanceCredential", "MembershipCredential"]
    [record] = exchange.queries
    assert "presentationDefinition" in record["query"]
    [presentation] = record["response"]["presentation"]
    assert presentation["proof"]["proofPurpose"] == "authentication"
    assert presentation["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert len(presentation["verifiableCredential"]) == 2  # the consumer's Bpn credential was not asked


def test_a_tampered_data_integrity_presentation_is_refused(provider, resolver, exchange, issuer, caller, consumer):
    holder = next(iter(exchange.services.values()))
    answer = holder.answer

    def tampered(authorization: str | None, body: Any, **kw: Any) -> dict[str, Any]:
        response = answer(authorization, body, **kw)
        response["presentation"][0]["holder"] = consumer.did
        response["presentation"][0]["verifiableCredential"].pop()  # drop a credential the proof covers
        return response

    holder.answer = tampered  # type: ignore[method-assign]
    verifier = verifier_for(provider, resolver, exchange, [issuer.did], presentation_format="ldp")
    error = refused(verifier, caller.outgoing_token_for(provider.did, USAGE), "forged", USAGE)
    assert "proof" in error.reason


def swap_presentation(exchange: Exchange, make: Any) -> None:
    """The holder answers with ``make(response, record)``'s presentation instead of its own."""
    holder = next(iter(exchange.services.values()))
    answer = holder.answer

    def answering(authorization: str | None, body: Any, **kw: Any) -> dict[str, Any]:
        response = answer(authorization, body, **kw)
        return {**response, "presentation": [make(response)]}

    holder.answer = answering  # type: ignore[method-assign]


def test_a_vp_bound_to_another_query_is_refused_one_without_nonce_passes(verifier, caller, provider, consumer,
                                                                         exchange):
    from connector.identity.credentials import jws_encode, jws_unverified

    swap_presentation(exchange, lambda r: jws_encode({**jws_unverified(r["presentation"][0])[1], "nonce": "other"},
                                                     consumer.key, typ="vp+jwt", cty="vp", kid=consumer.kid))
    error = refused(verifier, caller.outgoing_token(provider.did), "replayed")
    assert "not bound" in error.reason

    def without_nonce(response: dict[str, Any]) -> str:
        claims = {k: v for k, v in jws_unverified(response["presentation"][0])[1].items() if k != "nonce"}
        return jws_encode(claims, consumer.key, typ="vp+jwt", cty="vp", kid=consumer.kid)

    exchange.services = {k: CredentialService(consumer, v.tokens.resolver, ReplayCache())
                         for k, v in exchange.services.items()}
    swap_presentation(exchange, without_nonce)  # a wallet need not bind its answer: it came over our own query
    assert verifier.check(caller.outgoing_token(provider.did), None).id == consumer.did
