"""Agreements signed by the provider and counter-signed by the consumer, checked offline by a third party."""

import json

import pytest
from typer.testing import CliRunner

from connector.cli.main import app
from tests.identity_service.test_dcp_integration import catalog_offer, dataspace, negotiate  # noqa: F401

pytestmark = pytest.mark.integration


def test_both_sides_hold_the_signed_agreement_and_a_third_party_can_verify_it(dataspace, tmp_path):  # noqa: F811
    provider, consumer, issuer, start = dataspace
    start()
    done = negotiate(consumer, provider, catalog_offer(consumer, provider))
    assert done["state"] == "FINALIZED", done.get("errorDetail")
    agreement_id = done["contractAgreementId"]
    bundles = {}
    for node in (provider, consumer):
        r = node.management("GET", f"/v3/contractagreements/{agreement_id}/signed")
        assert r.status_code == 200, r.text
        bundles[node.name] = r.json()
        proofs = bundles[node.name]["signedAgreement"]["proof"]
        assert isinstance(proofs, list) and len(proofs) == 2  # provider's, then consumer's: a proof set
    signers = [p["verificationMethod"].split("#")[0] for p in bundles["provider"]["signedAgreement"]["proof"]]
    assert signers == [provider.participant_id, consumer.participant_id]

    runner = CliRunner()
    good = tmp_path / "agreement.json"
    good.write_text(json.dumps(bundles["consumer"]))
    result = runner.invoke(app, ["agreement", "verify", str(good), "--require-consumer"])
    assert result.exit_code == 0, result.output

    tampered = json.loads(good.read_text())
    tampered["signedAgreement"]["assignee"] = "did:web:someone-else"
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(tampered))
    result = runner.invoke(app, ["agreement", "verify", str(bad)])
    assert result.exit_code == 1, result.output
