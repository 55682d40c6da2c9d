"""A partner's Gaia-X label gates an offer over DSP, between two in-process connectors: the provider
believes the claims a verified label gives (connector.gaiax.label, VerifiedLabel.claims) and its
access policy asks for GaiaxLabelLevel >= SC; without a label the offer is hidden, and the admin's
explanation names the constraint."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.transfers.conftest import CLAIMS, CONSUMER_ID, CX, VOCAB, Pair, make_pair, ok

LABEL_CLAIMS = {"gaiaxLabelLevel": "SC", "gaiaxRulesVersion": "CD25.10",
                "gaiaxLabelValidUntil": (datetime.now(UTC) + timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ")}


def _publish(two: Pair) -> None:
    ok(two.provider.post("/management/v3/policydefinitions", json={
        "@context": CX, "@type": "PolicyDefinition", "@id": "gaiax-labelled", "policy": {
            "@type": "Set", "permission": [{"action": "access", "constraint": [
                {"leftOperand": "https://w3id.org/pontis/v1/GaiaxLabelLevel", "operator": "gteq",
                 "rightOperand": "SC"}]}]}}))
    two.publish("pcf-gx")  # the asset, its usage policy and a contract definition under it
    ok(two.provider.put("/management/v3/contractdefinitions", json={
        "@context": VOCAB, "@id": "cd-pcf-gx", "accessPolicyId": "gaiax-labelled", "contractPolicyId": "pcf-usage",
        "assetsSelector": [{"operandLeft": "https://w3id.org/edc/v0.0.1/ns/id", "operator": "=",
                            "operandRight": "pcf-gx"}]}), 204)


def _visible(two: Pair) -> bool:
    catalog = ok(two.consumer.post("/management/v3/catalog/request", json={
        "@context": VOCAB, "counterPartyAddress": two.provider_dsp, "protocol": "dataspace-protocol-http:2025-1"}))
    datasets = catalog.get("dcat:dataset") or catalog.get("dataset") or []
    return any(d.get("@id") == "pcf-gx" for d in (datasets if isinstance(datasets, list) else [datasets]))


def _pair(tmp_path: Path, claims: dict) -> Iterator[Pair]:
    return make_pair(tmp_path, consumer_claims=claims)


def test_a_labelled_partner_sees_the_offer(tmp_path: Path) -> None:
    for two in _pair(tmp_path, {**CLAIMS, **LABEL_CLAIMS}):
        _publish(two)
        assert _visible(two)


def test_without_a_label_the_offer_is_hidden_and_the_reason_named(tmp_path: Path) -> None:
    for two in _pair(tmp_path, dict(CLAIMS)):
        _publish(two)
        assert not _visible(two)
        explained = ok(two.provider.post("/management/v3/catalog/explain", json={
            "counterPartyId": CONSUMER_ID, "assetId": "pcf-gx"}))
        [offer] = [o for o in explained["offers"] if o["contractDefinitionId"] == "cd-pcf-gx"]
        assert offer["visible"] is False
        assert any("GaiaxLabelLevel gteq SC failed: the requester presented no verified Gaia-X label" in line
                   for line in offer["access"]["explanation"]), offer["access"]["explanation"]
