"""Issue 15: every catalog offer carries the provider's proof; the consumer checks it before it
negotiates, keeps it, and a third party can check it offline.

Two real connector processes with did:web identities (the ``dataspace`` fixture of the DCP
integration tests).
"""

from __future__ import annotations

import copy
import json
from urllib.parse import quote

import httpx
import pytest
from typer.testing import CliRunner

from connector.cli.main import app
from tests.identity_service.test_dcp_integration import EDC, catalog_offer, dataspace, negotiate  # noqa: F401

pytestmark = pytest.mark.integration


def request(consumer, provider, offer: dict) -> httpx.Response:  # type: ignore[no-untyped-def]
    return consumer.management("POST", "/v3/contractnegotiations", {
        "@context": EDC, "counterPartyAddress": provider.dsp, "counterPartyId": provider.participant_id,
        "protocol": "dataspace-protocol-http:2025-1", "policy": offer})


def test_offers_are_signed_checked_kept_and_verifiable_offline(dataspace, tmp_path):  # noqa: F811
    provider, consumer, _, start = dataspace
    start()
    offer = catalog_offer(consumer, provider)
    proof = offer["proof"]
    assert proof["type"] == "DataIntegrityProof" and proof["cryptosuite"] == "eddsa-jcs-2022"
    assert proof["verificationMethod"].startswith(provider.participant_id + "#")
    assert proof["proofPurpose"] == "assertionMethod" and proof["created"]
    # made once, not per request: the next catalog shows the very same proof
    assert catalog_offer(consumer, provider)["proof"] == proof

    done = negotiate(consumer, provider, offer)
    assert done["state"] == "FINALIZED", done.get("errorDetail")
    agreement_id = done["contractAgreementId"]

    exports = {}
    for node in (consumer, provider):
        r = node.management("GET", f"/v3/contractagreements/{agreement_id}/offer")
        assert r.status_code == 200, r.text
        exports[node.name] = r.json()
    signed = exports["consumer"]["signedOffer"]
    assert signed["proof"] == proof and signed["assigner"] == provider.participant_id
    # ids that are not IRIs are signed as IRIs under one base, as in signed agreements
    assert signed["@id"].endswith(quote(offer["@id"], safe="")) and signed["target"].endswith("pcf-NG-WC-400")
    assert exports["consumer"]["didDocuments"][0]["id"] == provider.participant_id
    assert exports["provider"]["signedOffer"] == signed  # both sides show the same signed offer

    runner = CliRunner()
    good = tmp_path / "offer.json"
    good.write_text(json.dumps(exports["consumer"]))
    result = runner.invoke(app, ["offer", "verify", str(good)])
    assert result.exit_code == 0, result.output
    assert f"signed by the provider {provider.participant_id}" in result.output

    tampered = copy.deepcopy(exports["consumer"])
    tampered["signedOffer"]["permission"][0]["action"] = "access"
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(tampered))
    result = runner.invoke(app, ["offer", "verify", str(bad)])
    assert result.exit_code == 1 and "verification failed" in result.output


def test_a_tampered_offer_is_refused_before_anything_is_sent(dataspace):  # noqa: F811
    provider, consumer, _, start = dataspace
    start()
    offer = catalog_offer(consumer, provider)
    # an intermediary loosens the usage policy but keeps the provider's proof
    altered = copy.deepcopy(offer)
    altered["permission"][0]["constraint"][0]["and"] = altered["permission"][0]["constraint"][0]["and"][:1]
    answer = request(consumer, provider, altered)
    assert answer.status_code == 400, answer.text
    [error] = answer.json()
    assert error["path"] == "policy.proof" and "does not verify as signed by" in error["message"]
    assert consumer.management("POST", "/v3/contractnegotiations/request", {"@context": EDC}).json() == []

    # without the proof: the consumer remembers what the provider's catalog signed
    answer = request(consumer, provider, {k: v for k, v in altered.items() if k != "proof"})
    assert answer.status_code == 400, answer.text
    assert "differs from the one" in answer.json()[0]["message"]


def test_the_dsp_dataset_carries_the_proof_too(dataspace):  # noqa: F811
    provider, consumer, _, start = dataspace
    start()
    offer = catalog_offer(consumer, provider)
    r = consumer.management("POST", "/v3/catalog/dataset/request", {
        "@context": EDC, "@id": "pcf-NG-WC-400", "counterPartyAddress": provider.dsp,
        "counterPartyId": provider.participant_id, "protocol": "dataspace-protocol-http:2025-1"})
    assert r.status_code == 200, r.text
    [shown] = r.json()["hasPolicy"] if isinstance(r.json()["hasPolicy"], list) else [r.json()["hasPolicy"]]
    assert shown["proof"] == offer["proof"]
