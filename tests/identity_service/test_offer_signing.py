"""Issue 15, in-process: proofs are made when offers are written, in the configured suite, and
the consumer's three verification modes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from connector.app import create_app
from connector.config import IdentitySettings, Settings
from connector.identity import Participant
from connector.identity.did import DidResolver
from connector.identity.wallet import new_key_file, verify_signed
from connector.policy import policy_from_compact_dsp
from connector.protocol.messages import OfferRef
from connector.services.container import build
from connector.services.errors import InvalidRequest
from connector.services.signed_offers import OfferVerifier, signed_form
from connector.store.models import OfferProof
from tests.harness import settle
from tests.management.helpers import API_KEY, publish

PROVIDER = "did:web:provider.test"
MEMBER = Participant("did:web:consumer.test", {"membership": True})


def provider(tmp_path, suite: str = "eddsa-jcs-2022"):  # type: ignore[no-untyped-def]
    new_key_file(tmp_path / "p.keys.json", PROVIDER)
    settings = Settings(participant_id=PROVIDER, api_key=API_KEY, database_url=f"sqlite:///{tmp_path}/p.db",
                        identity=IdentitySettings(key_file=str(tmp_path / "p.keys.json"), offer_cryptosuite=suite))
    services = build(settings)
    return services, TestClient(create_app(settings, services), headers={"X-Api-Key": API_KEY})


def stored_proofs(services, timeout: float = 10) -> list[OfferProof]:  # type: ignore[no-untyped-def]
    def rows() -> list[OfferProof]:
        with services.db.read() as session:
            return list(session.exec(select(OfferProof)))

    return settle(until=rows, timeout=timeout, what="the offer's proof to be stored")


@pytest.mark.parametrize("suite", ["eddsa-jcs-2022", "eddsa-rdfc-2022"])
def test_a_written_offer_is_signed_then_not_per_request(tmp_path, suite):
    services, client = provider(tmp_path, suite)
    with client:
        publish(client, "asset-1", "cd-1")
        [row] = stored_proofs(services)  # signed after the write, before anyone asked for the catalog
        assert row.asset_id == "asset-1" and row.cryptosuite == suite
        catalog, _ = services.catalog.page(MEMBER, None, 100)
        [offer] = catalog["dataset"][0]["hasPolicy"]
        assert offer["proof"] == row.proof and offer["proof"]["cryptosuite"] == suite
        # the proof is over the offer with its target and assigner, by the provider's key
        resolver = DidResolver(documents=[services.identity.did_document()], offline=True)
        document = signed_form(offer, "asset-1", PROVIDER)
        assert verify_signed(document, resolver.resolve_key, signer=PROVIDER).ok
        assert not verify_signed(signed_form(offer, "asset-2", PROVIDER), resolver.resolve_key, signer=PROVIDER).ok
        # serving it again signs nothing more
        signed = services.catalog.signer.sign
        services.catalog.signer.sign = lambda *a: pytest.fail("signed per request")  # type: ignore[method-assign]
        assert services.catalog.page(MEMBER, None, 100)[0]["dataset"][0]["hasPolicy"][0]["proof"] == row.proof
        services.catalog.signer.sign = signed  # type: ignore[method-assign]


def test_without_a_key_or_with_signing_off_offers_are_plain_dsp(tmp_path):
    services, client = provider(tmp_path, "off")
    with client:
        publish(client)
        catalog, _ = services.catalog.page(MEMBER, None, 100)
        assert "proof" not in catalog["dataset"][0]["hasPolicy"][0]


def offer_and_verifier(tmp_path, mode: str):  # type: ignore[no-untyped-def]
    services, client = provider(tmp_path)
    with client:
        publish(client)
        catalog, _ = services.catalog.page(MEMBER, None, 100)
    offer = catalog["dataset"][0]["hasPolicy"][0]
    ref = OfferRef(offer["@id"], policy_from_compact_dsp(offer), "asset-1", PROVIDER)
    resolver = DidResolver(documents=[services.identity.did_document()], offline=True)
    return offer, ref, OfferVerifier(resolver, mode)


def test_require_refuses_an_unsigned_offer_and_ignore_checks_nothing(tmp_path):
    offer, ref, require = offer_and_verifier(tmp_path, "require")
    with pytest.raises(InvalidRequest, match="carries no proof"):
        require.check(ref, {k: v for k, v in offer.items() if k != "proof"})
    kept = require.check(ref, offer)
    assert kept["proof"] == offer["proof"] and kept["assigner"] == PROVIDER
    forged = {**offer, "proof": {**offer["proof"], "proofValue": "z" + "1" * 86}}
    assert OfferVerifier(require.resolver, "ignore").check(ref, forged) is None
    with pytest.raises(InvalidRequest, match="does not verify"):
        OfferVerifier(require.resolver, "verify-if-present").check(ref, forged)
    assert OfferVerifier(require.resolver, "verify-if-present").check(
        ref, {k: v for k, v in offer.items() if k != "proof"}) is None


def test_static_token_mode_negotiates_with_a_provider_whose_did_cannot_be_read(tmp_path):
    offer, ref, verifier = offer_and_verifier(tmp_path, "verify-if-present")
    nowhere = DidResolver(offline=True)  # the provider's DID document cannot be had at all
    assert OfferVerifier(nowhere, "verify-if-present", unresolvable_ok=True).check(ref, offer) is None
    with pytest.raises(InvalidRequest, match="does not verify"):  # without the static-token allowance
        OfferVerifier(nowhere, "verify-if-present").check(ref, offer)
    with pytest.raises(InvalidRequest, match="does not verify"):  # require never lets it pass
        OfferVerifier(nowhere, "require", unresolvable_ok=True).check(ref, offer)
    forged = {**offer, "proof": {**offer["proof"], "proofValue": "z" + "1" * 86}}
    with pytest.raises(InvalidRequest, match="does not verify"):  # a proof that can be checked and fails
        OfferVerifier(verifier.resolver, "verify-if-present", unresolvable_ok=True).check(ref, forged)
