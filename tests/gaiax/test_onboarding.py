"""GX-4, GX-5, GX-8 and the mock (§5.2): onboarding against the mock GXDCH over real HTTP yields a
stored, verifiable label; the mock refuses what the real services refuse, with their error shape;
a failed onboarding stores nothing and keeps the previous label."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from connector.gaiax import store
from connector.gaiax.clients import GaiaxServiceError
from connector.gaiax.credentials import Issuing, legal_person, registration_request, terms_issuer
from connector.gaiax.jose import sign_vc, sign_vp
from connector.gaiax.keys import CertificateAuthority
from connector.gaiax.label import verify_label
from connector.gaiax.onboarding import OnboardingError, onboard, renewal_due
from connector.gaiax.shapes import validator
from connector.store.db import Database

from .conftest import MockHandle, Participant, client_for, gx_settings, make_participant, resolver_for


def test_onboarding_stores_a_verifiable_label(mock_gxdch: MockHandle, participant: Participant, db: Database,
                                              tmp_path: Path) -> None:
    now = datetime.now(UTC)
    gx = gx_settings(mock_gxdch, tmp_path)
    done = onboard(gx, participant.key, participant.public_url, client_for(mock_gxdch), resolver_for(participant),
                   db, now, validator())
    assert done.label.level == "SC" and done.label.subject == participant.did
    assert done.label.issuer == mock_gxdch.gxdch.did("compliance")
    kinds = sorted(c.kind for c in store.load(db))
    assert kinds == ["issuer", "label", "legal-person", "registration"]
    # what was stored verifies again, as a partner would check it
    stored = {c.kind: c.jwt for c in store.load(db)}
    again = verify_label(stored["label"], [stored["legal-person"], stored["issuer"], stored["registration"]],
                         participant.did, resolver_for(participant), [mock_gxdch.gxdch.did("compliance")], now)
    assert again.claims()["gaiaxLabelLevel"] == "SC" and again.countries == ("DE",)
    # renewal: not due now, due within renew_before_days of the label's end
    assert renewal_due(db, now, 14)[0] is False
    due, why = renewal_due(db, now + timedelta(days=80), 14)
    assert due and "ends at" in why


def test_a_failed_onboarding_keeps_the_previous_label(mock_gxdch: MockHandle, participant: Participant, db: Database,
                                                      tmp_path: Path) -> None:
    now = datetime.now(UTC)
    client, resolver = client_for(mock_gxdch), resolver_for(participant)
    onboard(gx_settings(mock_gxdch, tmp_path), participant.key, participant.public_url, client, resolver, db, now,
            validator())
    before = sorted((c.id, c.jwt) for c in store.load(db))
    with pytest.raises(OnboardingError) as caught:  # the notary refuses an invalid VAT number
        onboard(gx_settings(mock_gxdch, tmp_path, registration_number="not a vat"), participant.key,
                participant.public_url, client, resolver, db, now, validator())
    assert caught.value.step == "notary" and "is not valid" in caught.value.reason
    assert sorted((c.id, c.jwt) for c in store.load(db)) == before


def test_a_shape_violation_stops_before_anything_leaves(mock_gxdch: MockHandle, participant: Participant,
                                                       db: Database, tmp_path: Path) -> None:
    gx = gx_settings(mock_gxdch, tmp_path, terms_and_conditions_hash="deadbeef" * 8)
    with pytest.raises(OnboardingError) as caught:
        onboard(gx, participant.key, participant.public_url, client_for(mock_gxdch), resolver_for(participant), db,
                datetime.now(UTC), validator())
    assert caught.value.step == "shapes" and "gx:IssuerShape at gx:gaiaxTermsAndConditions" in caught.value.reason
    assert store.load(db) == []


def test_an_untrusted_chain_is_refused(mock_gxdch: MockHandle, db: Database, tmp_path: Path) -> None:
    stranger = CertificateAuthority.create("a CA Gaia-X does not trust", datetime.now(UTC))
    outsider = make_participant(mock_gxdch, "outsider", ca=stranger)
    with pytest.raises(OnboardingError) as caught:
        onboard(gx_settings(mock_gxdch, tmp_path), outsider.key, outsider.public_url, client_for(mock_gxdch),
                resolver_for(outsider), db, datetime.now(UTC), validator())
    assert caught.value.step == "compliance" and "not a trusted anchor" in caught.value.reason
    assert store.load(db) == []


def test_an_expired_certificate_is_refused(mock_gxdch: MockHandle) -> None:
    old = make_participant(mock_gxdch, "expired", now=datetime.now(UTC) - timedelta(days=30), cert_days=10)
    client = client_for(mock_gxdch)
    assert client.chain_is_trusted(old.key.x5u) is False
    young = make_participant(mock_gxdch, "young")
    assert client.chain_is_trusted(young.key.x5u) is True
    assert set(client.trusted_issuers()) == {mock_gxdch.gxdch.did("notary"), mock_gxdch.gxdch.did("compliance")}


def _presentation(mock: MockHandle, p: Participant, *, terms: str | None = None, notary: bool = True,
                  legal: bool = True, extra: dict | None = None) -> str:
    """A VP as a participant would send it, built by hand so that each refusal can be provoked."""
    now = datetime.now(UTC)
    issuing = Issuing(p.did, p.public_url, now)
    request = registration_request(issuing, gx_settings(mock, Path("/tmp")))
    client = client_for(mock)
    tokens = []
    if notary:
        tokens.append(client.registration_number("vat-id", "DE129273398", request.vc_id, request.subject_id))
    if legal:
        lp = legal_person(issuing, gx_settings(mock, Path("/tmp")), request.subject_id)
        lp["credentialSubject"].update(extra or {})
        tokens.append(sign_vc(lp, p.key))
    tc = terms_issuer(issuing, terms or "067dcac5efd18c1927deb1ffed3feab6d0ad044c0a9a263e6d5d8bdc43224515")
    tokens.append(sign_vc(tc, p.key))
    return sign_vp(tokens, p.key, issuing.new_id("vp"))


@pytest.mark.parametrize("kwargs,message,error", [
    ({"terms": "0" * 64}, "Invalid verifiable presentation", "is not the hash of the Gaia-X Terms and Conditions"),
    ({"notary": False}, "Invalid verifiable presentation", "registration number credential issued by a trusted notary is missing"),
    ({"legal": False}, "Invalid verifiable presentation", "a gx:LegalPerson credential is missing"),
    ({"extra": {"gx:bpn": "BPNL000000000001"}}, "SHACL validation failed", "gx:LegalPersonShape at gx:bpn"),
])
def test_the_mock_compliance_refuses_with_the_gxdch_error_shape(mock_gxdch: MockHandle, participant: Participant,
                                                               kwargs: dict, message: str, error: str) -> None:
    vp = _presentation(mock_gxdch, participant, **kwargs)
    response = httpx.post(mock_gxdch.urls["compliance_url"] + "/api/credential-offers/standard-compliance",
                          params={"vcid": "https://x.example/label"}, content=vp,
                          headers={"Content-Type": "application/vp+jwt"})
    body = response.json()
    assert response.status_code == 400 and set(body) == {"message", "error", "statusCode", "errors"}
    assert body["message"] == message and body["statusCode"] == 400
    assert any(error in e for e in body["errors"]), body["errors"]


def test_the_mock_refuses_json_and_a_missing_iss(mock_gxdch: MockHandle, participant: Participant) -> None:
    url = mock_gxdch.urls["compliance_url"] + "/api/credential-offers/standard-compliance?vcid=x"
    as_json = httpx.post(url, json={"vp": "x"})
    assert as_json.status_code == 400 and as_json.json()["message"] == "The payload is not a valid JWT and was not decoded"
    import jwt

    no_iss = jwt.api_jws.encode(b'{"type":"VerifiablePresentation"}', participant.key.private_key, algorithm="ES256",
                                headers={"typ": "vp+jwt", "kid": participant.key.kid})
    refused = httpx.post(url, content=no_iss, headers={"Content-Type": "application/vp+jwt"})
    assert refused.status_code == 400
    assert refused.json()["errors"] == ["The iss header referencing the issuer's DID is missing"]


def test_the_client_reports_the_service_refusal(mock_gxdch: MockHandle) -> None:
    with pytest.raises(GaiaxServiceError) as caught:
        client_for(mock_gxdch).registration_number("vat-id", "xx", "https://a.example/v", "https://a.example/v#cs")
    assert caught.value.status == 400 and not caught.value.retryable
    assert "the vat-id 'xx' is not valid" in str(caught.value)
