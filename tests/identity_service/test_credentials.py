"""Credentials: both securings verify; expiry, trust, subject, tampering and revocation are checked."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime, timedelta

import pytest

from connector.identity.credentials import (
    BPN,
    DEG,
    MEMBERSHIP,
    CredentialError,
    StatusLists,
    bit_is_set,
    decode_status_list,
    encode_status_list,
    enveloped,
    jws_unverified,
    participant_claims,
    set_bit,
    verify_credential,
)
from connector.identity.did import DidResolver
from connector.identity.issuer import Issuer, IssuerError

from .conftest import BPN_A

SUBJECT = "did:web:supplier.example"


def check(secured, issuer, resolver, **options):
    options.setdefault("status_lists", StatusLists(resolver, ttl_seconds=0))
    return verify_credential(secured, resolver, trusted_issuers=[issuer.did], holder=SUBJECT, **options)


@pytest.mark.parametrize("kind, type_", [("Membership", MEMBERSHIP), ("Bpn", BPN), ("DataExchangeGovernance", DEG)])
def test_each_kind_verifies_in_both_securings(issuer, resolver, kind, type_):
    issued = issuer.issue(SUBJECT, kind, bpn=BPN_A)
    for secured, form in ((issued.jwt, "vc+jwt"), (enveloped(issued.jwt), "vc+jwt"),
                          (issued.data_integrity, "eddsa-rdfc-2022")):
        verified = check(secured, issuer, resolver)
        assert verified.types == (type_,) and verified.issuer == issuer.did and verified.secured_as == form
        assert verified.subject["id"] == SUBJECT


def test_vc_jwt_is_vc_jose_cose(issuer):
    issued = issuer.issue(SUBJECT, "Bpn", bpn=BPN_A)
    header, payload = jws_unverified(issued.jwt)
    assert header == {"alg": "EdDSA", "typ": "vc+jwt", "cty": "vc", "kid": f"{issuer.did}#key-1-jwk"}
    assert payload == issued.credential  # the JWS payload is the credential itself
    assert payload["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert payload["credentialSubject"] == {"id": SUBJECT, "holderIdentifier": BPN_A, "bpn": BPN_A}
    proof = issued.data_integrity["proof"]
    assert proof["cryptosuite"] == "eddsa-rdfc-2022" and proof["verificationMethod"] == f"{issuer.did}#key-1"


def test_tampered_credentials_fail(issuer, resolver):
    issued = issuer.issue(SUBJECT, "Bpn", bpn=BPN_A)
    header, payload, signature = issued.jwt.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=="))
    body["credentialSubject"]["bpn"] = "BPNL00000000000X"
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    with pytest.raises(CredentialError) as info:
        check(f"{header}.{forged}.{signature}", issuer, resolver)
    assert info.value.code == "bad_signature"
    altered = copy.deepcopy(issued.data_integrity)
    altered["credentialSubject"]["bpn"] = "BPNL00000000000X"
    with pytest.raises(CredentialError) as info:
        check(altered, issuer, resolver)
    assert info.value.code == "bad_signature" and "signature does not match" in info.value.reason


def test_untrusted_issuer_is_refused_before_anything_is_fetched(issuer, clean_web):
    issued = issuer.issue(SUBJECT, "Membership")
    clean_web.hits.clear()
    with pytest.raises(CredentialError) as info:
        verify_credential(issued.jwt, DidResolver(allow_insecure_localhost=True), trusted_issuers=["did:web:x.example"],
                          status_lists=None)
    assert info.value.code == "untrusted_issuer"
    assert clean_web.hits == []


def test_a_credential_signed_by_another_did_is_refused(issuer, tmp_path, clean_web, resolver):
    other = Issuer.init(tmp_path / "other", clean_web.did("other"))
    clean_web.publish_did(other.did_document())
    issued = other.issue(SUBJECT, "Membership")
    header, payload, signature = issued.jwt.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=="))
    body["issuer"] = issuer.did  # claims our issuer, signed by the other one
    from connector.identity.credentials import jws_encode
    token = jws_encode(body, other.key, typ="vc+jwt", kid=f"{other.did}#key-1-jwk")
    with pytest.raises(CredentialError) as info:
        check(token, issuer, resolver)
    assert "not by its issuer" in info.value.reason


def test_expired_and_not_yet_valid(issuer, resolver):
    now = datetime.now(UTC)
    expired = issuer.issue(SUBJECT, "Membership", valid_from=now - timedelta(days=10),
                           valid_until=now - timedelta(days=1))
    future = issuer.issue(SUBJECT, "Membership", valid_from=now + timedelta(days=1))
    for secured in (expired.jwt, expired.data_integrity):
        with pytest.raises(CredentialError) as info:
            check(secured, issuer, resolver)
        assert info.value.code == "expired"
    with pytest.raises(CredentialError) as info:
        check(future.jwt, issuer, resolver)
    assert info.value.code == "not_yet_valid"
    # validity is judged at the time given: the expired one was fine a week ago
    assert check(expired.jwt, issuer, resolver, now=now - timedelta(days=5), status_lists=None)


def test_subject_must_be_the_holder(issuer, resolver):
    issued = issuer.issue("did:web:another.example", "Membership")
    with pytest.raises(CredentialError) as info:
        check(issued.jwt, issuer, resolver)
    assert info.value.code == "subject_mismatch"


def test_revocation_through_the_published_status_list(issuer, resolver):
    kept, revoked = issuer.issue(SUBJECT, "Membership"), issuer.issue(SUBJECT, "Bpn", bpn=BPN_A)
    issuer.revoke(revoked.credential["id"])
    assert check(kept.jwt, issuer, resolver)
    for secured in (revoked.jwt, revoked.data_integrity):
        with pytest.raises(CredentialError) as info:
            check(secured, issuer, resolver)
        assert info.value.code == "revoked"
        index = revoked.credential["credentialStatus"]["statusListIndex"]
        assert f"index {index}" in info.value.reason


def test_status_lists_are_cached_for_their_ttl(issuer, resolver, clean_web):
    issued = issuer.issue(SUBJECT, "Membership")
    clock = [0.0]
    lists = StatusLists(resolver, ttl_seconds=60, clock=lambda: clock[0])
    assert check(issued.jwt, issuer, resolver, status_lists=lists)
    issuer.revoke(issued.credential["id"])
    assert check(issued.jwt, issuer, resolver, status_lists=lists)  # the cached list does not know yet
    clock[0] = 61
    with pytest.raises(CredentialError):
        check(issued.jwt, issuer, resolver, status_lists=lists)
    assert clean_web.hits.count("/issuer/status-list") == 2


def test_a_forged_status_list_is_refused(issuer, resolver, tmp_path, clean_web):
    issued = issuer.issue(SUBJECT, "Membership")
    impostor = Issuer.init(tmp_path / "impostor", clean_web.did("impostor"))
    clean_web.publish_did(impostor.did_document())
    clean_web.routes["/issuer/status-list"] = impostor.status_list_jwt()  # an all-clear list by someone else
    with pytest.raises(CredentialError) as info:
        check(issued.jwt, issuer, resolver)
    assert info.value.code == "status_unavailable"


def test_bitstring_encoding():
    bits = bytearray(16384)
    set_bit(bits, 0)
    set_bit(bits, 131071)
    decoded = decode_status_list(encode_status_list(bytes(bits)))
    assert bit_is_set(decoded, 0) and bit_is_set(decoded, 131071) and not bit_is_set(decoded, 1)
    assert decoded[0] == 0x80  # bit 0 is the most significant bit of the first byte
    with pytest.raises(CredentialError):
        decode_status_list("zNotBase64url")


def test_participant_claims(issuer, resolver):
    verified = [check(issuer.issue(SUBJECT, k, bpn=BPN_A).jwt, issuer, resolver)
                for k in ("Membership", "Bpn", "DataExchangeGovernance")]
    assert participant_claims(verified) == {
        "credentials": [BPN, DEG, MEMBERSHIP], "bpn": BPN_A, "membership": "active",
        "frameworkAgreements": {"DataExchangeGovernance": "1.0"}}
    assert participant_claims([]) == {"credentials": []}


def test_issuer_refuses_bad_requests(issuer):
    with pytest.raises(IssuerError):
        issuer.issue(SUBJECT, "Driving")
    with pytest.raises(IssuerError):
        issuer.issue(SUBJECT, "Bpn")  # no BPN
    with pytest.raises(IssuerError):
        issuer.issue(SUBJECT, "Bpn", bpn="12345")
    with pytest.raises(IssuerError):
        issuer.issue("not-a-did", "Membership")
    with pytest.raises(IssuerError):
        issuer.revoke("urn:uuid:never-issued")
    with pytest.raises(IssuerError):
        Issuer.init(issuer.directory, issuer.did)  # exists


def test_issuer_state_survives_reload(issuer):
    issued = issuer.issue(SUBJECT, "Membership")
    again = Issuer.load(issuer.directory)
    assert again.did == issuer.did and again.key.id == issuer.key.id
    index = again.revoke(issued.credential["id"])
    assert str(index) == issued.credential["credentialStatus"]["statusListIndex"] and index in Issuer.load(
        issuer.directory).state["revoked"]
