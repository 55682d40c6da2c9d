"""The audit log records what was shared with whom: agreements, transfers, each data-plane access
(bytes, who, which agreement), policy denials, and management writes with the staff member's key."""

from __future__ import annotations

import time

import httpx
from sqlmodel import col, select

from connector.policy import policy_from_compact_dsp, policy_to_compact
from connector.protocol.messages import read_offer
from connector.store.models import AuditEntry, Negotiation, PolicyDefinition
from tests.dataplane.backend import MIB, pattern
from tests.harness import settle


def entries(party) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with party.services.db.read() as s:
        return list(s.exec(select(AuditEntry).order_by(col(AuditEntry.seq))))


def settled_entries(party, kind: str, count: int) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    """The entries once ``count`` of ``kind`` are there: an access is recorded after its response ends."""
    deadline = time.monotonic() + 10
    while True:
        found = entries(party)
        if sum(e.kind == kind for e in found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def test_an_agreement_a_transfer_and_each_access_are_in_the_provider_log(dw):
    (dw.files / "parts.bin").write_bytes(pattern(MIB + 5))
    edr = dw.pull("file", {"type": "PontisFile", "path": "parts.bin"})
    assert dw.fetch(edr).status_code == 200
    assert dw.fetch(edr, method="HEAD").status_code == 200
    assert dw.fetch("not-a-token").status_code == 401  # names no transfer: nothing was shared

    log = settled_entries(dw.provider, "dataplane.access", 2)
    kinds = [e.kind for e in log]
    assert kinds[:2] == ["agreement.finalized", "transfer.started"]
    agreement, transfer = log[0], log[1]
    assert agreement.subject["asset"] == "file" and agreement.details["counterparty"] == "did:web:consumer.test"
    accesses = [e for e in log if e.kind == "dataplane.access"]
    assert len(accesses) == 2
    get, head = accesses
    assert get.actor == "did:web:consumer.test"
    assert get.subject == {"transfer": transfer.subject["transfer"], "agreement": agreement.subject["agreement"],
                           "asset": "file"}
    assert get.details["bytes"] == MIB + 5 and get.details["status"] == 200 and get.details["method"] == "GET"
    assert head.details["bytes"] == 0 and head.details["method"] == "HEAD"
    assert dw.provider.app.state.audit.verify().ok
    # the metrics count the same bytes
    registry = dw.provider.app.state.metrics.registry
    assert registry.get_sample_value("pontis_dataplane_bytes_total") == MIB + 5
    assert registry.get_sample_value("pontis_dataplane_requests_total", {"status": "2xx"}) == 2
    # the consumer keeps its own chain: the agreement and the transfer, from its side
    assert [e.kind for e in entries(dw.consumer)] == ["agreement.finalized", "transfer.started"]


def test_a_policy_denial_is_in_the_log_with_the_constraint(dw):
    dw.offer("restricted", {"type": "PontisDocument", "document": {"a": 1}})
    # the contract policy admits one BPN only; the consumer is another (the access policy stays open)
    only = {"permission": [{"action": "use", "constraint": [
        {"leftOperand": "BusinessPartnerNumber", "operator": "isAnyOf", "rightOperand": ["BPNL00000MOTORWK"]}]}]}
    typed = policy_from_compact_dsp({"@type": "Set", "@id": "only-motorwerke", **only})
    with dw.provider.services.db.write() as s:
        s.add(PolicyDefinition(id="only-motorwerke", policy=policy_to_compact(
            typed, policy_type="Set", policy_id="only-motorwerke"), private_properties={}, created_at=1))
        from connector.store.models import ContractDefinition
        definition = s.get(ContractDefinition, "cd-restricted")
        definition.contract_policy_id = "only-motorwerke"
        s.add(definition)

    dataset = next(d for d in dw.catalog()["dataset"] if d["@id"] == "restricted")
    offer = read_offer({"offer": dict(dataset["hasPolicy"][0], target="restricted")})
    neg = dw.consumer.services.negotiations.request(counterparty_address=dw.provider.settings.dsp_url,
                                                    counterparty_id=dw.provider.settings.participant_id, offer=offer)
    settle(dw.consumer, dw.provider)
    with dw.consumer.services.db.read() as s:
        assert s.get(Negotiation, neg.id).state == "TERMINATED"
    denied = [e for e in entries(dw.provider) if e.kind == "policy.denied"]
    assert len(denied) == 1
    assert denied[0].details["denials"][0]["leftOperand"] == "BusinessPartnerNumber"
    assert denied[0].details["counterparty"] == "did:web:consumer.test"
    assert "negotiation.terminated" in [e.kind for e in entries(dw.provider)]
    assert dw.provider.app.state.metrics.registry.get_sample_value(
        "pontis_policy_denials_total", {"constraint": "BusinessPartnerNumber"}) == 1


def test_a_management_write_names_the_key_and_a_read_does_not_count(dw):
    with httpx.Client(base_url=dw.provider.settings.public_url, timeout=10) as http:
        created = http.post("/management/v3/assets", headers={"X-Api-Key": "provider-key"}, json={
            "@context": {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"}, "@id": "made-by-staff",
            "properties": {"name": "x"}, "dataAddress": {"type": "HttpData", "baseUrl": "https://example.com"}})
        assert created.status_code == 200, created.text
        assert http.post("/management/v3/assets/request", headers={"X-Api-Key": "provider-key"},
                         json={}).status_code == 200
        assert http.delete("/management/v3/assets/made-by-staff", headers={"X-Api-Key": "wrong"}).status_code == 401
    writes = [e for e in settled_entries(dw.provider, "management.write", 1) if e.kind == "management.write"]
    assert len(writes) == 1
    assert writes[0].actor == "staff:api_key"
    assert writes[0].details == {"method": "POST", "path": "/management/v3/assets", "status": 200, "role": "admin"}
