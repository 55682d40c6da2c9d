"""GX-1 and GX-2: the P-256 key and its chain; VC-JWT / VP-JWT signing and verification, and refusals."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from connector.gaiax.jose import JoseError, check_dates, sign_jwt, sign_vc, sign_vp, unenvelop, verify_jwt
from connector.gaiax.keys import (
    CertificateAuthority,
    ChainError,
    GaiaxKey,
    check_key_matches_chain,
    generate_private_key,
    public_jwk,
    verify_chain,
)
from connector.identity.did import DidResolver

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _key(host: str = "acme.example") -> GaiaxKey:
    return GaiaxKey(generate_private_key(), f"did:web:{host}#gx-es256", f"https://{host}/.well-known/x509CertificateChain.pem")


def _doc(key: GaiaxKey) -> dict:
    return {"id": key.did, "verificationMethod": [key.verification_method()], "assertionMethod": [key.kid]}


def _vc(key: GaiaxKey, **extra: object) -> dict:
    return {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential", "gx:Issuer"],
            "id": "https://acme.example/creds/1.json", "issuer": key.did, "validFrom": "2026-12-01T00:00:00Z",
            "validUntil": "2027-12-01T00:00:00Z", "credentialSubject": {"id": "https://acme.example/creds/1.json#cs"},
            **extra}


def test_round_trip_vc_and_vp() -> None:
    key = _key()
    resolver = DidResolver(documents=[_doc(key)])
    token = sign_vc(_vc(key), key)
    header = jwt.get_unverified_header(token)
    assert (header["alg"], header["typ"], header["cty"], header["iss"], header["kid"]) == (
        "ES256", "vc+jwt", "vc", key.did, key.kid)
    verified = verify_jwt(token, "vc", resolver, NOW)
    assert verified.payload["credentialSubject"]["id"].endswith("#cs") and "vc" not in verified.payload
    vp = sign_vp([token, token], key, "https://acme.example/vp/1")
    vp_payload = verify_jwt(vp, "vp", resolver, NOW).payload
    assert vp_payload["verifiableCredential"][0]["type"] == "EnvelopedVerifiableCredential"
    assert unenvelop(vp_payload) == [token, token]


def _forge(key: GaiaxKey, payload: dict, **header: object) -> str:
    headers = {"typ": "vc+jwt", "cty": "vc", "iss": key.did, "kid": key.kid, **header}
    headers = {k: v for k, v in headers.items() if v is not None}
    return jwt.api_jws.encode(json.dumps(payload).encode(), key.private_key, algorithm="ES256", headers=headers)


@pytest.mark.parametrize("change,reason", [
    ({"iss": None}, "The iss header referencing the issuer's DID is missing"),
    ({"kid": "did:web:other.example#k"}, "is not a verification method of the issuer"),
    ({"typ": "JWT"}, "typ 'JWT'"),
    ({"iss": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"}, "must be did:web"),
])
def test_header_rules(change: dict, reason: str) -> None:
    key = _key()
    with pytest.raises(JoseError, match=reason):
        verify_jwt(_forge(key, _vc(key), **change), "vc", DidResolver(documents=[_doc(key)]), NOW)


def test_vc_wrapper_claim_is_refused() -> None:
    key = _key()
    with pytest.raises(JoseError, match="'vc' wrapper claim"):
        verify_jwt(_forge(key, {"vc": _vc(key), "issuer": key.did}), "vc", DidResolver(documents=[_doc(key)]), NOW)


def test_tampered_envelope_and_foreign_key_are_refused() -> None:
    key, other = _key(), _key()
    resolver = DidResolver(documents=[_doc(key)])
    head, body, sig = sign_vc(_vc(key), key).split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=="))
    payload["credentialSubject"]["gx:gaiaxTermsAndConditions"] = "changed"
    forged_body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    with pytest.raises(JoseError, match="signature does not verify"):
        verify_jwt(f"{head}.{forged_body}.{sig}", "vc", resolver, NOW)
    impostor = GaiaxKey(other.private_key, key.kid, key.x5u)  # claims key's kid, signs with another key
    with pytest.raises(JoseError, match="signature does not verify"):
        verify_jwt(sign_vc(_vc(key), impostor), "vc", resolver, NOW)


def test_dates_and_issuer_mismatch() -> None:
    key = _key()
    resolver = DidResolver(documents=[_doc(key)])
    with pytest.raises(JoseError, match="expired at 2027-12-01"):
        verify_jwt(sign_vc(_vc(key), key), "vc", resolver, datetime(2028, 1, 1, tzinfo=UTC))
    with pytest.raises(JoseError, match="not valid before"):
        verify_jwt(sign_vc(_vc(key), key), "vc", resolver, datetime(2026, 11, 1, tzinfo=UTC))
    with pytest.raises(JoseError, match="is not the header's iss"):
        verify_jwt(sign_jwt({**_vc(key), "issuer": "did:web:else.example"}, key, "vc"), "vc", resolver, NOW)
    with pytest.raises(JoseError, match="not a valid JWT"):
        verify_jwt("not-a-jwt", "vc", resolver, NOW)


def test_chain_check_needs_x5u() -> None:
    key = _key()
    document = _doc(key)
    del document["verificationMethod"][0]["publicKeyJwk"]["x5u"]
    seen: list[str] = []
    with pytest.raises(JoseError, match="has no x5u"):
        verify_jwt(sign_vc(_vc(key), key), "vc", DidResolver(documents=[document]), NOW, chain_check=seen.append)
    verify_jwt(sign_vc(_vc(key), key), "vc", DidResolver(documents=[_doc(key)]), NOW, chain_check=seen.append)
    assert seen == [key.x5u]


def test_chain_verifies_to_its_anchor_only() -> None:
    anchor, stranger = CertificateAuthority.create("anchor", NOW), CertificateAuthority.create("stranger", NOW)
    key = _key()
    chain = anchor.issue(key.private_key.public_key(), key.did, NOW, days=30)
    verify_chain(chain, [anchor.certificate], NOW)
    verify_chain(chain[:1], [anchor.certificate], NOW)  # a chain without its root, rooted by the anchor
    check_key_matches_chain(key.jwk(), chain)
    with pytest.raises(ChainError, match="not a trusted anchor"):
        verify_chain(chain, [stranger.certificate], NOW)
    with pytest.raises(ChainError, match="is not valid at"):
        verify_chain(chain, [anchor.certificate], NOW + timedelta(days=31))
    with pytest.raises(ChainError, match="not the key of the chain's leaf"):
        check_key_matches_chain(public_jwk(generate_private_key().public_key()), chain)
    forged = stranger.issue(key.private_key.public_key(), key.did, NOW)[0]
    with pytest.raises(ChainError, match="not signed by|not a trusted anchor"):
        verify_chain([forged, anchor.certificate], [anchor.certificate], NOW)


@pytest.mark.parametrize(("value", "reason"), [("soon", "is not a dateTimeStamp"), ("2026-01-01T00:00:00", "has no time zone")])
def test_a_credential_date_that_is_not_a_datetimestamp_is_refused_naming_it(value: str, reason: str) -> None:
    with pytest.raises(JoseError, match=f"validUntil '{value}' {reason}"):
        check_dates({"validUntil": value}, datetime(2026, 6, 1, tzinfo=UTC))
