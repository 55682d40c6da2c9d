"""Factory-X ADR 003 (authentication) between a verifier and a holder's real Credential Service: the
``vc11-sl2021/jwt`` profile end to end, profile mismatches, key rotation, DID methods, unresolvable
DIDs and a second trusted issuer. DID documents, status lists and issuers are served over real HTTP
by the test web server (conftest.py); the verifier's query goes to the holder's
:class:`CredentialService` (tests/identity_service/test_dcp_presentation.Exchange).
tests/factoryx/test_adr003.py runs the same scenarios between two connector processes."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connector.config import ConfigError, load_settings
from connector.identity.contexts import CREDENTIALS_V1
from connector.identity.credential_service import CredentialService
from connector.identity.dcp import AuthenticationError, ReplayCache
from connector.identity.dcp_issuance import IssuanceRefused, request_message
from connector.identity.dcp_messages import scopes_for_policy
from connector.identity.did import jwk_vm_id
from connector.identity.holder import CredentialRenewal, request_credentials
from connector.identity.issuer import Issuer, provision
from connector.identity.jws import jws_unverified, jws_verify
from connector.identity.keys import KeySet, SigningKey
from connector.identity.presentation import DcpPresentationAuthenticator
from connector.identity.sts import BuiltinSts
from connector.identity.vc11 import VC11, VC20, create_vc11_presentation
from connector.identity.wallet import LocalIdentity, Wallet

from .conftest import BPN_A, make_identity
from .test_dcp_issuance import admit, holder, holder_app, service  # noqa: F401  (fixtures)
from .test_dcp_presentation import USAGE, Exchange, announce, refused, verifier_for

FX_KINDS = ("Membership", "Bpn", "DataExchangeGovernance")


def serve_issuer(web: Any, issuer: Issuer, name: str) -> None:
    """The issuer's DID document and both status lists on the test web server (read live)."""
    web.routes[f"/{name}/did.json"] = lambda: issuer.did_document()
    web.routes[f"/{name}/status-list"] = lambda: (issuer.directory / "status-list.jwt").read_text().strip()
    web.routes[f"/{name}/status-list-2021"] = \
        lambda: (issuer.directory / "status-list-2021.jwt").read_text().strip()


def serve_holder(web: Any, exchange: Exchange, resolver: Any, identity: LocalIdentity, name: str,
           profiles: tuple[str, ...] = (VC11,)) -> LocalIdentity:
    """``identity`` announced on the web server, its Credential Service answering the exchange."""
    endpoint = announce(web, identity, name)
    exchange.services[endpoint] = CredentialService(identity, resolver, ReplayCache(), profiles=profiles)
    return identity


@pytest.fixture
def fx_holder(tmp_path: Path, clean_web: Any, issuer: Issuer, resolver: Any) -> tuple[LocalIdentity, Exchange]:
    """A participant holding its credentials in vc11-sl2021/jwt, and the exchange reaching its Credential Service."""
    serve_issuer(clean_web, issuer, "issuer")
    exchange = Exchange()
    identity = serve_holder(clean_web, exchange, resolver, make_identity(clean_web.did("fxholder"), tmp_path, "fxholder"),
                      "fxholder")
    provision(issuer, identity.did, bpn=BPN_A, wallet=identity.wallet, kinds=FX_KINDS, profile=VC11)
    return identity, exchange


def fx_verifier(provider: LocalIdentity, resolver: Any, exchange: Exchange, trusted: list[str],
                **options: Any) -> DcpPresentationAuthenticator:
    return verifier_for(provider, resolver, exchange, trusted, dataspace="factory-x", **options)


def token_of(identity: LocalIdentity, audience: str, policy: dict | None = USAGE) -> str:
    """The caller's self-issued token granting the scopes ``policy`` needs, as its STS makes it."""
    return "Bearer " + BuiltinSts(identity).self_issued_token(
        audience, scopes=scopes_for_policy(policy, ("MembershipCredential",), "factory-x"))


# --- smoke: the vc11-sl2021/jwt profile end to end ------------------------------------------------


def test_smoke_vc11_credentials_are_presented_as_a_vp_jwt_and_verified(fx_holder, provider, resolver, issuer):
    identity, exchange = fx_holder
    participant = fx_verifier(provider, resolver, exchange, [issuer.did]).check(
        token_of(identity, provider.did), USAGE)
    assert participant.id == identity.did and participant.bpn == BPN_A
    assert participant.claims["credentials"] == ["DataExchangeGovernanceCredential", "MembershipCredential"]
    # what went over the wire: one JWT with a vp claim (VCDM 1.1), holding VCDM 1.1 credential JWTs
    [record] = exchange.queries
    [vp] = record["response"]["presentation"]
    header, claims = jws_unverified(vp)
    assert header["typ"] == "JWT" and header["kid"].startswith(identity.did + "#")
    assert claims["vp"]["@context"] == [CREDENTIALS_V1] and claims["vp"]["type"] == ["VerifiablePresentation"]
    assert claims["iss"] == identity.did and claims["aud"] == provider.did
    # the JWT signature verifies with the holder's DID-bound key (its authentication method)
    jws_verify(vp, resolver.public_key(header["kid"], "authentication"))
    for credential in claims["vp"]["verifiableCredential"]:
        vc = jws_unverified(credential)[1]["vc"]
        assert vc["@context"][0] == CREDENTIALS_V1 and "issuanceDate" in vc and "expirationDate" in vc
        assert vc["credentialStatus"]["type"] == "StatusList2021Entry"
        assert vc["credentialStatus"]["statusListCredential"].endswith("/issuer/status-list-2021")


def test_a_revoked_vc11_credential_is_refused_through_its_status_list_2021(fx_holder, provider, resolver, issuer):
    identity, exchange = fx_holder
    membership = next(e for e in identity.wallet.entries if "MembershipCredential" in e["type"])
    assert membership["profile"] == VC11
    issuer.revoke(membership["id"])
    error = refused(fx_verifier(provider, resolver, exchange, [issuer.did]), token_of(identity, provider.did),
                    "revoked", USAGE)
    assert "status-list-2021" in error.reason


# --- negative: a presentation in another profile --------------------------------------------------


def test_negative_a_vc20_presentation_is_refused_in_the_factory_x_profile(consumer, provider, resolver, issuer,
                                                                        clean_web):
    exchange = Exchange()
    serve_holder(clean_web, exchange, resolver, consumer, "consumer", profiles=(VC20, VC11))  # holds vc20 credentials
    error = refused(fx_verifier(provider, resolver, exchange, [issuer.did]), token_of(consumer, provider.did),
                    "profile_mismatch", USAGE)
    assert f"in the DCP profile {VC20}" in error.reason and f"accepts {VC11}" in error.reason
    # the same presentation passes a Catena-X verifier, which accepts both profiles
    catena_x = verifier_for(provider, resolver, exchange, [issuer.did])
    assert catena_x.profiles == (VC20, VC11)
    assert catena_x.check(token_of(consumer, provider.did), USAGE).id == consumer.did


def test_presentation_profiles_narrow_what_is_accepted(fx_holder, provider, resolver, issuer):
    identity, exchange = fx_holder
    only_vc20 = verifier_for(provider, resolver, exchange, [issuer.did], profiles=(VC20,))
    error = refused(only_vc20, token_of(identity, provider.did), "profile_mismatch", USAGE)
    assert f"in the DCP profile {VC11}" in error.reason
    # Catena-X by default also accepts the vc11 presentation
    assert verifier_for(provider, resolver, exchange, [issuer.did]).check(
        token_of(identity, provider.did), USAGE).id == identity.did


def test_an_unknown_presentation_profile_is_refused_naming_the_valid_ones(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('participant_id = "did:web:example.com"\napi_key = "k"\n[identity]\n'
                    'presentation_profiles = ["vc11-sl2021/jwt", "vc20/jwt"]\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert "'vc20/jwt'" in str(info.value) and "vc11-sl2021/jwt, vc20-bssl/jwt" in str(info.value)
    path.write_text('participant_id = "did:web:example.com"\napi_key = "k"\n[identity]\npresentation_profiles = ["vc20-bssl/jwt"]\n')
    assert load_settings(path).identity.presentation_profiles == ["vc20-bssl/jwt"]


def vp_by(identity: LocalIdentity, key: SigningKey, audience: str) -> str:
    """A vc11 presentation of the holder's credentials, signed by ``key`` (under its JsonWebKey method id)."""
    return create_vc11_presentation(identity.did, key, jwk_vm_id(key.id), audience, "n-1", now=int(time.time()),
                                    ttl=60, credentials=identity.wallet.jwts())


def check_vp(verifier: DcpPresentationAuthenticator, vp: str, caller: str) -> list:
    return verifier.tokens.verify_presentation(vp, caller, time.time(), nonce="n-1", trusted_issuers=frozenset(
        verifier.trusted_issuers), status_lists=verifier.status_lists, profiles=verifier.profiles)


def test_negative_a_vp_with_a_signature_no_document_key_matches_is_refused(fx_holder, provider, resolver, issuer):
    identity, exchange = fx_holder
    verifier = fx_verifier(provider, resolver, exchange, [issuer.did])
    # signed under the holder's kid by a key its DID document does not publish
    impostor = SigningKey.generate(identity.key.id, identity.did)
    with pytest.raises(AuthenticationError) as info:
        check_vp(verifier, vp_by(identity, impostor, provider.did), identity.did)
    assert info.value.code == "forged" and "signature does not verify" in info.value.reason
    assert len(check_vp(verifier, vp_by(identity, identity.key, provider.did), identity.did)) == 3


# --- edge: key rotation ---------------------------------------------------------------------------


@pytest.mark.parametrize("retirement", ["rotated", "revoked"])
def test_edge_after_a_key_rotation_the_old_key_no_longer_authenticates(fx_holder, provider, resolver, issuer,
                                                                       clean_web, retirement):
    identity, exchange = fx_holder
    old = identity.keys.active
    identity.keys.rotate()
    if retirement == "revoked":
        identity.keys.revoke(old.id)
    document = identity.did_document([{"id": f"{identity.did}#credential-service", "type": "CredentialService",
                                       "serviceEndpoint": next(iter(exchange.services))}])
    clean_web.publish_did(document)  # both keys are published; the old one no longer authenticates
    assert {old.id, identity.keys.active.id} <= {vm["id"] for vm in document["verificationMethod"]}
    verifier = fx_verifier(provider, resolver, exchange, [issuer.did])
    with pytest.raises(AuthenticationError) as info:
        check_vp(verifier, vp_by(identity, old, provider.did), identity.did)
    assert info.value.code == "forged" and "not listed under 'authentication'" in info.value.reason
    old_method = next(vm for vm in document["verificationMethod"] if vm["id"] == old.id)
    assert ("revoked" in old_method) is (retirement == "revoked")
    # signed with the new, active key it passes, and so does the whole flow
    assert len(check_vp(verifier, vp_by(identity, identity.keys.active, provider.did), identity.did)) == 3
    assert verifier.check(token_of(identity, provider.did), USAGE).id == identity.did


# --- negative: DID methods and resolution ---------------------------------------------------------


def test_negative_a_did_key_participant_is_refused_in_the_factory_x_profile(provider, resolver, issuer):
    key = SigningKey.generate()
    caller = LocalIdentity(key.controller, KeySet(key), Wallet())
    error = refused(fx_verifier(provider, resolver, Exchange(), [issuer.did]), token_of(caller, provider.did),
                    "unsupported_did_method", USAGE)
    assert "did:key" in error.reason and "did:web" in error.reason
    # Catena-X keeps resolving did:key (it then wants the caller's Credential Service, which a did:key lacks)
    other = refused(verifier_for(provider, resolver, Exchange(), [issuer.did]), token_of(caller, provider.did),
                    "no_credential_service", USAGE)
    assert "CredentialService" in other.reason


def test_negative_an_unresolvable_did_web_is_refused_with_the_reason(tmp_path, provider, resolver, issuer,
                                                                   clean_web):
    ghost = make_identity(clean_web.did("ghost"), tmp_path, "ghost")  # its did.json is served nowhere
    error = refused(fx_verifier(provider, resolver, Exchange(), [issuer.did]), token_of(ghost, provider.did),
                    "unresolvable", USAGE)
    assert ghost.did in error.reason and "404" in error.reason


# --- edge: two independent issuers ----------------------------------------------------------------


def test_edge_a_credential_from_the_second_trusted_issuer_is_accepted(tmp_path, provider, resolver, issuer,
                                                                     clean_web):
    second = Issuer.init(tmp_path / "issuer-b", clean_web.did("issuer-b"))
    serve_issuer(clean_web, issuer, "issuer")
    serve_issuer(clean_web, second, "issuer-b")
    exchange = Exchange()
    identity = serve_holder(clean_web, exchange, resolver, make_identity(clean_web.did("fxb"), tmp_path, "fxb"), "fxb")
    provision(second, identity.did, bpn=BPN_A, wallet=identity.wallet, kinds=FX_KINDS, profile=VC11)
    both = fx_verifier(provider, resolver, exchange, [issuer.did, second.did])
    participant = both.check(token_of(identity, provider.did), USAGE)
    assert participant.claims["credentials"] == ["DataExchangeGovernanceCredential", "MembershipCredential"]
    # no central registry: the verifier resolved issuer B's DID itself
    assert "/issuer-b/did.json" in clean_web.hits
    error = refused(fx_verifier(provider, resolver, exchange, [issuer.did]), token_of(identity, provider.did),
                    "untrusted_issuer", USAGE)
    assert second.did in error.reason


# --- issuance in vc11-sl2021/jwt (DCP credential issuance) ----------------------------------------


def test_the_issuer_issues_vc11_over_dcp_and_renewal_keeps_the_profile(issuer, holder, service, holder_app,
                                                                       clean_web):
    serve_issuer(clean_web, issuer, "issuer")  # the holder checks the status list before it stores
    metadata = service.get(issuer.service_url + "/metadata").json()
    offered = {(o["credentialType"], o["profile"]) for o in metadata["credentialsSupported"]}
    assert {("MembershipCredential", VC11), ("MembershipCredential", VC20)} <= offered
    admit(issuer, holder.did, "Membership")
    outcome = request_credentials(holder, service, issuer.service_url, ["Membership"], wait_seconds=5, profile=VC11)
    assert outcome.status == "ISSUED", outcome
    [entry] = Wallet.load(holder.wallet.path).entries
    assert entry["profile"] == VC11 and jws_unverified(entry["jwt"])[1]["vc"]["@context"][0] == CREDENTIALS_V1
    # renewal asks for the profile the credential is held in
    now = datetime.now(UTC)
    holder.wallet.refresh()
    holder.wallet.add(issuer.issue(holder.did, "Membership", valid_days=10, now=now, profile=VC11))
    holder.wallet.save()
    [renewed] = CredentialRenewal(holder, service, margin=timedelta(days=30)).run_once(now)
    assert renewed.status == "RECEIVED"
    request = next(r for r in json.loads((issuer.directory / "issuer.json").read_text())["requests"]
                   if r["holderPid"] == renewed.holder_pid)
    assert request["profiles"] == [VC11]
    # a profile the issuer does not know is refused, naming what it offers
    with pytest.raises(IssuanceRefused, match="does not issue 'Membership' in vc10/jwt"):
        request_message("h", ["Membership"], metadata, "vc10/jwt")


def test_the_issuer_command_issues_in_either_profile_and_refuses_an_unknown_one(tmp_path):
    from .test_cli import run

    folder = tmp_path / "iss"
    assert run("issuer", "init", "--dir", folder, "--did", "did:web:localhost%3A8181:issuer").exit_code == 0
    wallet = tmp_path / "w.json"
    Wallet(wallet).save()
    result = run("issuer", "issue", "--dir", folder, "--subject", "did:web:example.com", "--type", "Membership",
                 "--profile", VC11, "--wallet", wallet)
    assert result.exit_code == 0, result.output
    [entry] = Wallet.load(wallet).entries
    assert entry["profile"] == VC11 and "vc" in jws_unverified(entry["jwt"])[1]
    assert (folder / "status-list-2021.jwt").exists()
    refused_run = run("issuer", "issue", "--dir", folder, "--subject", "did:web:example.com", "--type", "Membership",
                      "--profile", "vc10/jwt")
    assert refused_run.exit_code != 0 and "vc11-sl2021/jwt, vc20-bssl/jwt" in refused_run.output
    assert len(json.loads((folder / "issuer.json").read_text())["issued"]) == 1  # nothing half-issued


def test_with_both_data_spaces_both_profiles_and_did_methods_are_accepted(fx_holder, consumer, provider, resolver,
                                                                           issuer, clean_web):
    identity, exchange = fx_holder
    serve_holder(clean_web, exchange, resolver, consumer, "consumer", profiles=(VC20, VC11))
    both = verifier_for(provider, resolver, exchange, [issuer.did], dataspace="both")
    assert both.profiles == (VC20, VC11) and both.tokens.did_methods is None
    assert both.check(token_of(identity, provider.did), USAGE).id == identity.did  # vc11
    assert both.check(token_of(consumer, provider.did), USAGE).id == consumer.did  # vc20
