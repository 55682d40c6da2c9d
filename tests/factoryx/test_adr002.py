"""Factory-X ADR 002 (authorization and discovery) TEST.mdx scenarios that run on one machine, between
two in-process connectors (tests/transfers/conftest.py): HttpData-PULL in the catalog, the EDR with
the five endpointProperties, a pull with the token, a refresh, and refusals without a valid token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.transfers.conftest import PCF, VOCAB, Pair, make_pair, ok

EDRS = "/management/v3/edrs"
EDC, TX = "https://w3id.org/edc/v0.0.1/ns/", "https://w3id.org/tractusx/auth/"


@pytest.fixture
def two(tmp_path: Path) -> Iterator[Pair]:
    yield from make_pair(tmp_path)


def _formats(two: Pair) -> list[str]:
    catalog = ok(two.consumer.post("/management/v3/catalog/request", json={
        "@context": VOCAB, "counterPartyAddress": two.provider_dsp, "protocol": "dataspace-protocol-http:2025-1"}))
    datasets = catalog.get("dcat:dataset") or catalog.get("dataset") or []
    out = []
    for dataset in datasets if isinstance(datasets, list) else [datasets]:
        dists = dataset.get("dcat:distribution") or dataset.get("distribution") or []
        for dist in dists if isinstance(dists, list) else [dists]:
            fmt = dist.get("dct:format") or dist.get("format")
            out.append(fmt.get("@id") if isinstance(fmt, dict) else fmt)
    return out


def test_smoke_the_catalog_offers_httpdata_pull(two: Pair) -> None:
    two.publish()
    assert "HttpData-PULL" in _formats(two)


def test_smoke_the_edr_carries_the_five_endpoint_properties_and_pulls(two: Pair) -> None:
    two.publish()
    _, tp = two.negotiate_edr()
    assert tp["transferType"] == "HttpData-PULL"
    address = ok(two.consumer.get(f"{EDRS}/{tp['@id']}/dataaddress"))
    assert address["endpointType"] == "https://w3id.org/idsa/v4.1/HTTP"
    names = {k.replace("tx-auth:", TX).replace("edc:", EDC) for k in address}
    for prop in (TX + "refreshEndpoint", TX + "refreshToken", TX + "expiresIn"):
        assert prop in names, (prop, sorted(address))
    assert address["authorization"] and address["authType"] == "bearer"
    response = two.provider.get("/api/public", headers={"Authorization": address["authorization"]})
    assert response.status_code == 200 and response.json() == PCF


def test_edge_a_refresh_gives_a_token_that_works(two: Pair) -> None:
    two.publish()
    _, tp = two.negotiate_edr()
    before = ok(two.consumer.get(f"{EDRS}/{tp['@id']}/dataaddress"))
    after = ok(two.consumer.post(f"{EDRS}/{tp['@id']}/refresh"))
    assert after["authorization"] != before["authorization"]
    assert two.provider.get("/api/public", headers={"Authorization": after["authorization"]}).status_code == 200
    assert two.provider.get("/api/public", headers={"Authorization": before["authorization"]}).status_code == 401


def test_negative_no_agreement_no_data(two: Pair) -> None:
    two.publish()
    assert two.provider.get("/api/public").status_code in (401, 403)
    forged = two.provider.get("/api/public", headers={"Authorization": "eyJhbGciOiJFZERTQSJ9.e30.c2ln"})
    assert forged.status_code in (401, 403)


def test_smoke_the_transfer_start_message_names_the_properties_by_full_iri(two: Pair) -> None:
    from sqlmodel import select

    from connector.store.models import TransferProcess

    two.publish()
    _, tp = two.negotiate_edr()
    with two.consumer_services.db.read() as session:
        row = session.exec(select(TransferProcess).where(TransferProcess.id == tp["@id"])).one()
    address = row.data_address or {}
    props = {p.get("name") for p in address.get("endpointProperties", [])}
    assert address.get("endpointType") == "https://w3id.org/idsa/v4.1/HTTP", address
    for name in (TX + "refreshEndpoint", TX + "refreshToken", TX + "expiresIn"):
        assert name in props, (name, sorted(props))
    # ADR 002 names the EDC ones by full IRI, as Tractus-X EDC writes and reads them (a property name is a
    # plain string in the DSP context: no compact form expands to the IRI)
    for term in ("endpoint", "authorization", "authType"):
        assert EDC + term in props and term not in props, (term, sorted(props))


def test_edge_an_edr_with_bare_names_from_an_older_peer_is_read_too() -> None:
    from connector.protocol.transfer_messages import DataAddress
    from connector.services.received_edrs import prop, with_props

    for name in ("authorization", EDC + "authorization", "edc:authorization"):
        address = {"endpointType": "https://w3id.org/idsa/v4.1/HTTP", "endpoint": "https://p.example/api/public",
                   "endpointProperties": [{"@type": "EndpointProperty", "name": name, "value": "tok"},
                                          {"@type": "EndpointProperty", "name": TX + "expiresIn", "value": "60"}]}
        assert prop(address, "authorization") == "tok" and prop(address, EDC + "authorization") == "tok", name
        assert prop(address, "expiresIn") == "60"
        # a refresh replaces the token under the name the peer gave it, adding no second one
        updated = with_props(address, {"authorization": "new"})
        assert [p["name"] for p in updated["endpointProperties"]] == [name, TX + "expiresIn"]
        assert prop(updated, EDC + "authorization") == "new"
        typed = DataAddress.from_json({"@type": "DataAddress", **address})
        assert (typed.get("authorization") == "tok") is (name != "edc:authorization")
