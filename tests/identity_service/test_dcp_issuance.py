"""DCP credential issuance in one process: the issuer service and the holder's storage endpoint
(FastAPI apps behind TestClient), DID documents and status lists served over real HTTP by ``web``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from connector.config import IdentitySettings, Settings
from connector.identity.bpn_directory import BpnDirectory
from connector.identity.credentials import MEMBERSHIP, StatusLists
from connector.identity.dcp import create_id_token, create_presentation
from connector.identity.dcp_issuance import (
    CredentialRequestMessage,
    IssuanceBook,
    IssuanceRefused,
    credential_message,
    parse_message,
    request_message,
)
from connector.identity.dcp_messages import CREDENTIAL_SERVICE_PATH
from connector.identity.holder import (
    CredentialRenewal,
    DeliveryRefused,
    due_for_renewal,
    request_credentials,
    store_delivery,
    write_grant,
)
from connector.identity.holder_web import storage_router
from connector.identity.issuer import provision
from connector.identity.issuer_service import issuer_app
from connector.identity.wallet import LocalIdentity, Wallet

from .conftest import BPN_A, make_identity


def holder_document(identity: LocalIdentity, port: int) -> dict[str, Any]:
    service = {"id": f"{identity.did}#credential-service", "type": "CredentialService",
               "serviceEndpoint": f"http://localhost:{port}{CREDENTIAL_SERVICE_PATH}"}
    return identity.did_document([service])


@pytest.fixture
def holder(tmp_path, clean_web) -> LocalIdentity:
    identity = make_identity(clean_web.did("holder"), tmp_path, "holder")
    clean_web.publish_did(holder_document(identity, clean_web.port))
    return identity


@pytest.fixture
def holder_app(holder, issuer, resolver) -> TestClient:
    holder.resolver = resolver
    resolver.pin(holder_document(holder, 0))  # our own document, as the connector pins it
    settings = Settings(participant_id=holder.did, api_key="k",
                        identity=IdentitySettings(trusted_issuers=[issuer.did], status_list_cache_seconds=0))
    app = FastAPI()
    app.include_router(storage_router(settings, holder))
    return TestClient(app)


@pytest.fixture
def service(issuer, resolver, holder_app) -> TestClient:
    """The issuer service; its deliveries go to the holder app."""
    return TestClient(issuer_app(issuer.directory, resolver=resolver, http=holder_app))


def admit(issuer, did: str, *kinds: str, bpn: str | None = BPN_A) -> None:
    IssuanceBook(issuer).admit(did, bpn=bpn, kinds=list(kinds))


def test_request_issue_deliver_store(issuer, holder, service, holder_app):
    admit(issuer, holder.did, "Membership", "Bpn")
    outcome = request_credentials(holder, service, issuer.service_url, ["MembershipCredential", "Bpn"],
                                  wait_seconds=5)
    assert outcome.status == "ISSUED", outcome
    stored = Wallet.load(holder.wallet.path)
    assert sorted(e["type"][-1] for e in stored.entries) == ["BpnCredential", "MembershipCredential"]
    assert all(e["issuer"] == issuer.did and e["subject"] == holder.did for e in stored.entries)
    # requested again (renewal): the new credential replaces the old one of that type
    assert request_credentials(holder, service, issuer.service_url, ["Membership"], wait_seconds=5).status == "ISSUED"
    again = Wallet.load(holder.wallet.path)
    assert sorted(e["type"][-1] for e in again.entries) == ["BpnCredential", "MembershipCredential"]
    assert {e["id"] for e in again.entries} != {e["id"] for e in stored.entries}


def test_metadata_and_status_shapes(issuer, holder, service):
    metadata = service.get(issuer.service_url + "/metadata").json()
    assert metadata["type"] == "IssuerMetadata" and metadata["issuer"] == issuer.did
    assert {o["credentialType"] for o in metadata["credentialsSupported"]} >= {MEMBERSHIP, "BpnCredential"}
    admit(issuer, holder.did, "Membership")
    outcome = request_credentials(holder, service, issuer.service_url, ["Membership"], wait_seconds=5)
    status_url = f"{issuer.service_url}/requests/{outcome.issuer_pid}"
    token = create_id_token(holder, issuer.did, presentation=False)
    status = service.get(status_url, headers={"Authorization": f"Bearer {token}"}).json()
    assert status == {"@context": ["https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"], "type": "CredentialStatus",
                      "issuerPid": outcome.issuer_pid, "holderPid": outcome.holder_pid, "status": "ISSUED"}
    # without a valid token, nothing is told
    assert service.get(status_url, headers={"Authorization": "Bearer x"}).status_code == 401


def _post(service, issuer, holder, body: Any, *, grant: bool = True) -> Any:
    token = create_id_token(holder, issuer.did, presentation=False,
                            **({"token": write_grant(holder, issuer.did, "h1", now=int(datetime.now(UTC).timestamp()))}
                               if grant else {}))
    return service.post(issuer.service_url + "/credentials", json=body, headers={"Authorization": f"Bearer {token}"})


def _requests(issuer) -> list:
    return json.loads((issuer.directory / "issuer.json").read_text()).get("requests", [])


def test_request_refusals_record_nothing(issuer, holder, service):
    metadata = service.get(issuer.service_url + "/metadata").json()
    good = request_message("h1", ["Membership"], metadata)
    # not admitted
    answer = _post(service, issuer, holder, good)
    assert answer.status_code == 403 and "not admitted" in answer.json()["reason"]
    admit(issuer, holder.did, "Membership")
    # a type the issuer does not issue
    unknown = {**good, "credentials": [{"id": "urn:pontis:credential-object:DismantlerCredential"}]}
    answer = _post(service, issuer, holder, unknown)
    assert answer.status_code == 400 and "offers no credential" in answer.json()["reason"]
    # admitted, but not for this type
    bpn = request_message("h1", ["Bpn"], metadata)
    assert _post(service, issuer, holder, bpn).status_code == 403
    # malformed: a misspelt key, the wrong type, no credentials
    for body, field in (({**good, "holderPID": "x"}, "holderPID"), ({**good, "type": "Nope"}, "type"),
                        ({**good, "credentials": []}, "credentials")):
        answer = _post(service, issuer, holder, body)
        assert answer.status_code == 400 and field in answer.json()["reason"], answer.json()
    # no write grant in the token, no token at all
    assert _post(service, issuer, holder, good, grant=False).status_code == 401
    assert service.post(issuer.service_url + "/credentials", json=good).status_code == 401
    assert _requests(issuer) == []


def test_request_message_names_offered_types_only():
    metadata = {"issuer": "did:web:i", "credentialsSupported": [{"id": "a", "credentialType": MEMBERSHIP}]}
    assert request_message("h", ["Membership"], metadata)["credentials"] == [{"id": "a"}]
    with pytest.raises(IssuanceRefused, match="does not issue 'Bpn'"):
        request_message("h", ["Bpn"], metadata)
    with pytest.raises(IssuanceRefused, match="holderPid"):
        parse_message(CredentialRequestMessage, {"@context": ["https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"],
                                                 "type": "CredentialRequestMessage", "credentials": [{"id": "a"}]})


# --- the holder's storage endpoint ---------------------------------------------------------------

def _deliver(holder_app, issuer, holder, message: dict, *, grant_for: str | None = None, signer=None) -> Any:
    now = int(datetime.now(UTC).timestamp())
    signer = signer or LocalIdentity(issuer.did, issuer.keys)
    grant = write_grant(holder, grant_for or signer.did, message.get("holderPid", "h1"), now=now)
    token = create_id_token(signer, holder.did, presentation=False, token=grant)
    return holder_app.post(CREDENTIAL_SERVICE_PATH + "/credentials", json=message,
                           headers={"Authorization": f"Bearer {token}"})


def test_storage_refuses_revoked_untrusted_and_malformed(tmp_path, clean_web, issuer, holder, holder_app):
    issued = issuer.issue(holder.did, "Membership")
    issuer.revoke(issued.credential["id"])
    answer = _deliver(holder_app, issuer, holder, credential_message("i1", "h1", [issued]))
    assert answer.status_code == 400 and "revoked" in answer.json()["reason"]
    # an issuer we do not trust (its DID resolves, it signs correctly)
    from connector.identity.issuer import Issuer

    rogue = Issuer.init(tmp_path / "rogue", clean_web.did("rogue"))
    clean_web.routes["/rogue/did.json"] = rogue.did_document()
    rogue_credential = rogue.issue(holder.did, "Membership")
    answer = _deliver(holder_app, rogue, holder, credential_message("i2", "h1", [rogue_credential]))
    assert answer.status_code == 403 and "not a trusted issuer" in answer.json()["reason"]
    # a credential about someone else
    other = issuer.issue(holder.did + "-other", "Membership")
    answer = _deliver(holder_app, issuer, holder, credential_message("i3", "h1", [other]))
    assert answer.status_code == 400 and "not about the caller" in answer.json()["reason"]
    # malformed message; grant given to another issuer
    good = credential_message("i4", "h1", [issuer.issue(holder.did, "Membership")])
    assert _deliver(holder_app, issuer, holder, {**good, "status": "DONE"}).status_code == 400
    answer = _deliver(holder_app, issuer, holder, good, grant_for=rogue.did)
    assert answer.status_code == 401 and "given to" in answer.json()["reason"]
    assert not holder.wallet.path.exists()
    # and the good one is stored
    assert _deliver(holder_app, issuer, holder, good).json()["stored"] == [good_id(good)]
    assert len(Wallet.load(holder.wallet.path).entries) == 1


def good_id(message: dict) -> str:
    from connector.identity.credentials import jws_unverified

    return jws_unverified(message["credentials"][0]["payload"])[1]["id"]


def test_store_delivery_rejected_message_stores_nothing(issuer, holder, resolver):
    holder.resolver = resolver
    now = datetime.now(UTC)
    grant = write_grant(holder, issuer.did, "h1", now=int(now.timestamp()))
    token = create_id_token(LocalIdentity(issuer.did, issuer.keys), holder.did, presentation=False, token=grant)
    message = {"@context": ["https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"], "type": "CredentialMessage",
               "issuerPid": "i1", "holderPid": "h1", "status": "REJECTED", "rejectionReason": "no"}
    delivery = store_delivery(holder, message, f"Bearer {token}", trusted_issuers=[issuer.did],
                              status_lists=StatusLists(resolver), now=now)
    assert delivery.status == "REJECTED" and delivery.reason == "no"
    assert not holder.wallet.path.exists()
    with pytest.raises(DeliveryRefused, match="no Authorization"):
        store_delivery(holder, message, None, trusted_issuers=[issuer.did], status_lists=None, now=now)


# --- renewal ---------------------------------------------------------------------------------------

def test_renewal_asks_before_expiry(issuer, holder, service, holder_app):
    admit(issuer, holder.did, "Membership")
    now = datetime.now(UTC)
    holder.wallet.add(issuer.issue(holder.did, "Membership", valid_days=10, now=now))
    holder.wallet.save()
    assert due_for_renewal(holder.wallet, now, timedelta(days=5)) == {}
    assert due_for_renewal(holder.wallet, now + timedelta(days=6), timedelta(days=5)) == {issuer.did: [MEMBERSHIP]}
    renewal = CredentialRenewal(holder, service, margin=timedelta(days=30))
    sent = renewal.run_once(now)
    assert [o.issuer for o in sent] == [issuer.did]
    assert renewal.run_once(now + timedelta(minutes=1)) == []  # in flight: not asked twice
    renewed = Wallet.load(holder.wallet.path).entries
    assert len(renewed) == 1 and renewed[0]["validUntil"] > (now + timedelta(days=300)).isoformat()[:10]


# --- the BPN-DID directory ---------------------------------------------------------------------------

def test_bpn_directory_served_to_members_only(issuer, holder, service, resolver):
    admit(issuer, holder.did, "Membership", bpn=BPN_A)
    admit(issuer, "did:web:example.com:other", "Membership", bpn="BPNL00000000000B")
    url = issuer.service_url.rsplit("/dcp", 1)[0] + "/api/directory"
    # no membership yet
    now = int(datetime.now(UTC).timestamp())
    answer = service.get(url + "/bpn-directory", headers={"Authorization": "Bearer "
                                                          + create_presentation(holder, issuer.did, "n", now=now, ttl=60)})
    assert answer.status_code == 403 and "no valid MembershipCredential" in answer.json()["reason"]
    membership = issuer.issue(holder.did, "Membership")
    holder.wallet.add(membership)
    directory = BpnDirectory(url, service, lambda: create_presentation(holder, issuer.did, "n", now=now, ttl=60),
                             ttl_seconds=60, clock=lambda: 0.0)
    assert directory.did_for(BPN_A) == holder.did
    assert directory.did_for("BPNL00000000000B") == "did:web:example.com:other"
    assert directory.did_for("BPNL00000000000C") is None
    raw = service.get(url + "/bpn-directory", headers={"Authorization": "Bearer " + directory.presentation()})
    assert raw.headers["content-encoding"] == "gzip"
    # revoked membership: refused
    issuer.revoke(membership.credential["id"])
    answer = service.get(url + "/bpn-directory", headers={"Authorization": "Bearer " + directory.presentation()})
    assert answer.status_code == 403 and "revoked" in answer.json()["reason"]


def test_bpn_directory_cache_and_refresh(issuer, holder, service):
    admit(issuer, holder.did, "Membership", bpn=BPN_A)
    holder.wallet.add(issuer.issue(holder.did, "Membership"))
    url = issuer.service_url.rsplit("/dcp", 1)[0] + "/api/directory"
    clock = [0.0]
    now = int(datetime.now(UTC).timestamp())
    directory = BpnDirectory(url, service, lambda: create_presentation(holder, issuer.did, "n", now=now, ttl=60),
                             ttl_seconds=10, clock=lambda: clock[0])
    assert directory.did_for("BPNL00000000000B") is None
    admit(issuer, "did:web:example.com:b", "Membership", bpn="BPNL00000000000B")
    assert directory.did_for("BPNL00000000000B") is None  # cached
    clock[0] = 11
    assert directory.did_for("BPNL00000000000B") == "did:web:example.com:b"  # refreshed
    clock[0] = 22
    directory.http = holder_unreachable()
    assert directory.did_for(BPN_A) == holder.did  # the last good copy, when the refresh fails
    with pytest.raises(Exception, match="not a BPN"):
        directory.did_for("ACME")


def holder_unreachable() -> Any:
    import httpx

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    return httpx.Client(transport=httpx.MockTransport(refuse))


def test_provision_still_works(issuer, tmp_path):
    """The direct path (`connector issuer issue --wallet`) is kept."""
    identity = make_identity("did:web:example.com", tmp_path, "direct")
    assert len(provision(issuer, identity.did, bpn=BPN_A, wallet=identity.wallet)) == 3


def test_misspelt_issuance_config_keys_are_refused(tmp_path):
    from connector.config import ConfigError, load_settings

    config = tmp_path / "c.toml"
    config.write_text('participant_id = "did:web:example.com"\napi_key = "k"\n[identity]\n'
                      'credential_renewl_days = 5\n')
    with pytest.raises(ConfigError, match="credential_renewal_days"):
        load_settings(config)
    config.write_text('participant_id = "did:web:example.com"\napi_key = "k"\n[identity]\n'
                      'credential_renewal_days = 5\nbpn_directory_url = "https://issuer.example/api/directory"\n')
    settings = load_settings(config)
    assert settings.identity.credential_renewal_days == 5
    assert settings.identity.bpn_directory_cache_seconds == 600


def test_renewal_loop_passes_the_clock_and_stops(issuer, holder):
    import asyncio

    from connector.identity.holder_web import RenewalLoop, renewal_from_settings
    from connector.services.ssrf import OutgoingGuard

    seen: list[datetime] = []

    class Once(CredentialRenewal):
        def run_once(self, now: datetime) -> list:
            seen.append(now)
            loop.stop()
            return []

    loop = RenewalLoop(Once(holder, holder_unreachable(), margin=timedelta(days=1)), every=60, clock=lambda: 86400.0)
    asyncio.run(asyncio.wait_for(loop.run(), 5))
    assert seen == [datetime(1970, 1, 2, tzinfo=UTC)]
    settings = Settings(participant_id=holder.did, api_key="k",
                        identity=IdentitySettings(trusted_issuers=[issuer.did], credential_renewal_days=0))
    assert renewal_from_settings(settings, holder, OutgoingGuard()) is None
    settings.identity.credential_renewal_days = 10
    assert renewal_from_settings(settings, holder, OutgoingGuard()).renewal.margin == timedelta(days=10)
