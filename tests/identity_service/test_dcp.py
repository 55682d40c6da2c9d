"""DcpAuthenticator: every bad token or credential is refused with a reason; a good one yields claims."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import pytest

from connector.identity.credentials import StatusLists
from connector.identity.dcp import (
    AuthenticationError,
    DcpAuthenticator,
    ReplayCache,
    create_id_token,
    create_presentation,
)
from connector.identity.keys import KeySet, SigningKey
from connector.identity.wallet import LocalIdentity

from .conftest import BPN_A, make_identity


@pytest.fixture
def auth(provider, issuer, resolver) -> DcpAuthenticator:
    return DcpAuthenticator(provider, resolver, [issuer.did], status_lists=StatusLists(resolver, ttl_seconds=0))


def bearer(token: str) -> str:
    return "Bearer " + token


def refused(auth: DcpAuthenticator, header: str | None, code: str) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as info:
        auth.verify(header)
    assert info.value.code == code, info.value.reason
    return info.value


def test_a_valid_token_yields_the_callers_did_and_claims(auth, consumer, provider):
    participant = auth.verify(bearer(create_id_token(consumer, provider.did)))
    assert participant.id == consumer.did
    assert participant.claims == {
        "bpn": BPN_A, "membership": "active", "frameworkAgreements": {"DataExchangeGovernance": "1.0"},
        "credentials": ["BpnCredential", "DataExchangeGovernanceCredential", "MembershipCredential"],
        "did": consumer.did}  # the verified issuer, for Factory-X BusinessPartnerDID
    assert participant.bpn == BPN_A


def test_outgoing_token_is_a_bearer_for_the_counterparty(provider, consumer, issuer, resolver):
    consumer_auth = DcpAuthenticator(consumer, resolver, [issuer.did])
    header = consumer_auth.outgoing_token(provider.did)
    assert header.startswith("Bearer ")
    provider_auth = DcpAuthenticator(provider, resolver, [issuer.did])
    assert provider_auth.authenticate(header).id == consumer.did
    assert consumer_auth.outgoing_token(None) is None
    assert consumer_auth.outgoing_token("BPNL00000000000B") is None  # no DID, no audience


def test_missing_and_garbage_tokens(auth):
    refused(auth, None, "missing_token")
    refused(auth, "Bearer not-a-jwt", "malformed")


def test_forged_token_signed_by_another_key(auth, consumer, provider, tmp_path):
    impostor = LocalIdentity(consumer.did, KeySet(SigningKey.generate(f"{consumer.did}#key-1", consumer.did)),
                             consumer.wallet)
    error = refused(auth, bearer(create_id_token(impostor, provider.did)), "forged")
    assert "signature" in error.reason


def test_tampered_token_payload(auth, consumer, provider):
    import base64
    import json

    header, payload, signature = create_id_token(consumer, provider.did).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["exp"] += 3600
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    refused(auth, bearer(f"{header}.{forged}.{signature}"), "forged")


def test_token_whose_kid_is_not_the_issuers(auth, consumer, provider, clean_web, tmp_path):
    other = make_identity(clean_web.did("other"), tmp_path, "other")
    clean_web.publish_did(other.did_document())
    token = create_id_token(other, provider.did, iss=consumer.did, sub=consumer.did)
    error = refused(auth, bearer(token), "forged")
    assert "not a key of its issuer" in error.reason


def test_expired_token(auth, consumer, provider):
    old = int(time.time()) - 3600
    error = refused(auth, bearer(create_id_token(consumer, provider.did, now=old, ttl=60)), "expired")
    assert "expired" in error.reason


def test_clock_skew_within_the_leeway_is_accepted_beyond_it_refused(auth, consumer, provider):
    now = int(time.time())
    assert auth.verify(bearer(create_id_token(consumer, provider.did, now=now + 5)))  # leeway 10 s
    error = refused(auth, bearer(create_id_token(consumer, provider.did, now=now + 60)), "not_yet_valid")
    assert "clock skew" in error.reason


def test_a_long_lived_token_is_refused(auth, consumer, provider):
    refused(auth, bearer(create_id_token(consumer, provider.did, ttl=3600)), "expired")


def test_wrong_audience(auth, consumer):
    error = refused(auth, bearer(create_id_token(consumer, "did:web:someone-else.example")), "wrong_audience")
    assert "not for us" in error.reason


def test_replayed_jti(auth, consumer, provider):
    token = bearer(create_id_token(consumer, provider.did))
    assert auth.verify(token).id == consumer.did
    error = refused(auth, token, "replayed")
    assert "already used" in error.reason


def test_replay_cache_forgets_expired_ids_and_never_live_ones():
    cache = ReplayCache(max_entries=2)
    assert cache.first_use("a", expires_at=10, now=0)
    assert not cache.first_use("a", expires_at=10, now=5)
    assert cache.first_use("b", expires_at=10, now=5)
    assert not cache.first_use("c", expires_at=20, now=5)  # full of live ids: refuse rather than forget
    assert cache.first_use("c", expires_at=30, now=15)  # a and b expired and were pruned
    assert cache.first_use("a", expires_at=30, now=15)


def test_unknown_issuer(provider, consumer, resolver):
    auth = DcpAuthenticator(provider, resolver, ["did:web:trusted-issuer.example"])
    error = refused(auth, bearer(create_id_token(consumer, provider.did)), "untrusted_issuer")
    assert "not a trusted issuer" in error.reason


def test_revoked_credential(auth, consumer, provider, issuer):
    membership = next(e for e in consumer.wallet.entries if "MembershipCredential" in e["type"])
    issuer.revoke(membership["id"])
    error = refused(auth, bearer(create_id_token(consumer, provider.did)), "revoked")
    assert "revoked" in error.reason and "MembershipCredential" in error.reason


def test_expired_credential(auth, consumer, provider, issuer):
    past = datetime.now(UTC) - timedelta(days=30)
    consumer.wallet.add(issuer.issue(consumer.did, "Membership", valid_from=past, valid_until=past + timedelta(days=1)))
    error = refused(auth, bearer(create_id_token(consumer, provider.did)), "expired")
    assert "expired at" in error.reason


def test_credential_about_someone_else(auth, consumer, provider, issuer):
    consumer.wallet.add(issuer.issue("did:web:someone-else.example", "Membership"))
    error = refused(auth, bearer(create_id_token(consumer, provider.did)), "subject_mismatch")
    assert "not about the caller" in error.reason


def test_missing_required_credential(auth, provider, clean_web, tmp_path, issuer):
    bare = make_identity(clean_web.did("bare"), tmp_path, "bare")
    clean_web.publish_did(bare.did_document())
    bare.wallet.add(issuer.issue(bare.did, "Bpn", bpn=BPN_A))
    error = refused(auth, bearer(create_id_token(bare, provider.did)), "missing_credential")
    assert "MembershipCredential" in error.reason


def test_token_without_presentation(auth, consumer, provider):
    refused(auth, bearer(create_id_token(consumer, provider.did, presentation=False)), "missing_presentation")


def test_presentation_from_another_token_is_not_accepted(auth, consumer, provider):
    now = int(time.time())
    stolen = create_presentation(consumer, provider.did, "another-jti", now=now, ttl=60)
    error = refused(auth, bearer(create_id_token(consumer, provider.did, vp=stolen)), "replayed")
    assert "not bound to this token" in error.reason


def test_unresolvable_caller(auth, provider, tmp_path, clean_web):
    ghost = make_identity(clean_web.did("ghost"), tmp_path, "ghost")  # its DID document is never published
    error = refused(auth, bearer(create_id_token(ghost, provider.did)), "unresolvable")
    assert "HTTP 404" in error.reason


def test_status_list_unreachable_fails_closed(auth, consumer, provider, clean_web):
    del clean_web.routes["/issuer/status-list"]
    error = refused(auth, bearer(create_id_token(consumer, provider.did)), "status_unavailable")
    assert "status list" in error.reason


def test_authenticate_returns_none_and_logs_the_reason(auth, consumer, caplog):
    with caplog.at_level(logging.WARNING, logger="pontis.identity"):
        assert auth.authenticate(bearer(create_id_token(consumer, "did:web:elsewhere.example"))) is None
    assert auth.last_failure.code == "wrong_audience"
    assert "not for us" in caplog.text and "wrong_audience" in caplog.text
    assert auth.failures[-1] is auth.last_failure


def test_credentials_disagreeing_on_the_bpn_are_refused(auth, consumer, provider, issuer):
    consumer.wallet.add(issuer.issue(consumer.did, "Bpn", bpn="BPNL00000000000Z"))
    refused(auth, bearer(create_id_token(consumer, provider.did)), "conflicting_claims")


@pytest.mark.parametrize("exp, code", [(float("nan"), "malformed"), (float("inf"), "malformed"),
                                       (-1e300, "expired"), (1e300, "expired"), ("soon", "malformed")])
def test_hostile_times_are_refused_not_crashed_on(auth, consumer, provider, exp, code):
    refused(auth, bearer(create_id_token(consumer, provider.did, exp=exp)), code)


def test_an_unexpected_error_fails_closed(auth, consumer, provider, monkeypatch, caplog):
    def boom(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(auth, "_verify_presentation", boom)
    assert auth.authenticate(bearer(create_id_token(consumer, provider.did))) is None
    assert auth.last_failure.code == "internal"
