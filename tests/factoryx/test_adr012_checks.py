"""Factory-X ADR 012 (MQTT over DSP): the checks around the TEST.mdx scenarios (test_adr012): the start
message's IRIs, an Mqtt asset refused naming the field, a format the asset is not offered in, an IdP
that gives no token, the EDR cache's names for the dsp-mqtt properties, secrets by alias, and the
catalog's read of the address type on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpx import HTTPXMock
from sqlmodel import select

from connector.store.models import TransferProcess
from tests.factoryx import mqtt_streams as ms
from tests.transfers.conftest import VOCAB, Pair, make_pair, ok


@pytest.fixture
def two(tmp_path: Path) -> Iterator[Pair]:
    yield from make_pair(tmp_path)


def test_smoke_the_start_message_names_the_properties_by_full_iri(two: Pair) -> None:
    ms.offer_stream(two, ms.WSS)
    tp = ms.negotiate_stream(two)
    with two.consumer_services.db.read() as session:
        row = session.exec(select(TransferProcess).where(TransferProcess.id == tp["@id"])).one()
    address = row.data_address or {}
    assert address["endpointType"] == "Mqtt" and address["endpoint"] == ms.WSS["baseUrl"]
    names = {p["name"]: p["value"] for p in address["endpointProperties"]}
    assert names[ms.EDC + "flowType"] == "PULL" and names[ms.EDC + "mqttEndpointType"] == "mqtt-wss"
    for term in ("baseUrl", "authorization", "refreshToken", "refreshEndpoint", "expiresIn", "refreshAudience"):
        assert ms.DSP_MQTT + term in names, (term, sorted(names))
    assert ms.DSP_MQTT + "topic" not in names  # the asset names none: the broker decides
    # the consumer's EDR cache lists it with the HttpData ones
    entries = ok(two.consumer.post(f"{ms.EDRS}/request", json={"@context": VOCAB, "filterExpression": [
        {"operandLeft": "assetId", "operator": "=", "operandRight": ms.STREAM}]}))
    assert [e["transferProcessId"] for e in entries] == [tp["@id"]]


@pytest.mark.parametrize(("address", "field", "words"), [
    ({"mqttEndpointType": "mqtt-wsss", "baseUrl": "wss://b.example/mqtt"}, "mqttEndpointType", "did you mean 'mqtt-wss'"),
    ({"mqttEndpointType": "mqtt-tls"}, "baseUrl", "is required"),
    ({"mqttEndpointType": "mqtt-wss", "baseUrl": "mqtt://b.example:1883"}, "baseUrl", "unencrypted"),
    ({"mqttEndpointType": "mqtt-tcp-basic", "baseUrl": "mqtt://b.example:1883"}, "baseUrl", "allows plain TCP"),
    ({"mqttEndpointType": "mqtt-tls", "baseUrl": "wss://b.example/mqtt"}, "baseUrl", "mqtts://"),
    ({**ms.WSS, "oauth2:tokenUrl": "https://idp.example/token"}, "oauth2:clientId", "is required"),
    ({**ms.WSS, "mqttAuthType": "basic"}, "mqttAuthType", "mqtt-usrpw"),
])
def test_negative_a_bad_mqtt_address_is_refused_naming_the_field(two: Pair, address: dict, field: str,
                                                                 words: str) -> None:
    answer = two.provider.post("/management/v3/assets", json={
        "@context": VOCAB, "@id": "bad-stream", "properties": {},
        "dataAddress": {"@type": "DataAddress", "type": "Mqtt", **address}})
    assert answer.status_code == 400, answer.text
    assert f"dataAddress.{field}" in answer.text and words in answer.text, answer.text
    assert two.provider.get("/management/v3/assets/bad-stream").status_code == 404


def test_negative_a_format_the_asset_is_not_offered_in_is_refused_with_the_reason(two: Pair) -> None:
    ms.offer_stream(two, ms.WSS)
    two.publish("pcf-NG-WC-400")
    for asset_id, wrong in ((ms.STREAM, "HttpData-PULL"), ("pcf-NG-WC-400", "Mqtt-PULL")):
        created = ok(two.consumer.post(ms.EDRS, json=two.contract_request(asset_id, transferType=wrong)))
        neg = two.wait(two.consumer, f"/management/v3/contractnegotiations/{created['@id']}")
        two.settle()
        found = ok(two.consumer.post("/management/v3/transferprocesses/request", json={
            "@context": VOCAB, "filterExpression": [
                {"operandLeft": "contractAgreementId", "operator": "=", "operandRight": neg["contractAgreementId"]}]}))
        assert found and found[-1]["state"] == "TERMINATED", found
        detail = str(found[-1])
        assert f"{wrong} is not offered for it" in detail, detail


def test_negative_an_idp_without_a_token_ends_the_transfer_with_the_reason(
        two: Pair, httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PONTIS_SECRET_OAUTH2_CLIENT_SECRET", "s3cret")
    httpx_mock.add_response(url=ms.IDP, method="POST", status_code=401, json={"error": "invalid_client"})
    ms.offer_stream(two, ms.EXTERNAL)
    tp = ms.negotiate_stream(two)
    assert tp["state"] == "TERMINATED" and "without an access_token" in str(tp), tp


def test_edge_mqtt_property_names_are_read_under_every_alias() -> None:
    from connector.services.received_edrs import prop, with_props

    for name in (ms.DSP_MQTT + "refreshToken", "dsp-mqtt:refreshToken", "https://w3id.org/tractusx/auth/refreshToken"):
        address = {"endpointProperties": [{"name": name, "value": "r1"},
                                          {"name": ms.DSP_MQTT + "authorization", "value": "t1"}]}
        assert prop(address, "https://w3id.org/tractusx/auth/refreshToken") == "r1" and prop(address, "authorization") == "t1"
        updated = with_props(address, {"authorization": "t2", "https://w3id.org/tractusx/auth/refreshToken": "r2"})
        assert [(p["name"], p["value"]) for p in updated["endpointProperties"]] == \
            [(name, "r2"), (ms.DSP_MQTT + "authorization", "t2")]


def test_edge_a_secret_is_read_by_its_alias_from_the_environment_or_a_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from connector.services.secrets import SecretError, read_secret

    monkeypatch.delenv("PONTIS_SECRETS_DIR", raising=False)
    monkeypatch.setenv("PONTIS_SECRET_OAUTH2_CLIENT_SECRET", "from-env")
    assert read_secret("Oauth2-client-secret") == "from-env"
    monkeypatch.delenv("PONTIS_SECRET_OAUTH2_CLIENT_SECRET")
    with pytest.raises(SecretError, match="PONTIS_SECRET_OAUTH2_CLIENT_SECRET is not set"):
        read_secret("Oauth2-client-secret")
    (tmp_path / "Oauth2-client-secret").write_text("from-file\n")
    monkeypatch.setenv("PONTIS_SECRETS_DIR", str(tmp_path))
    assert read_secret("Oauth2-client-secret") == "from-file"
    with pytest.raises(SecretError, match="does not exist"):
        read_secret("../Oauth2-client-secret")


def test_edge_the_catalog_reads_the_address_type_on_either_engine(database_url: str) -> None:
    """The catalog page reads each asset's data-address type in SQL (JSON on SQLite and PostgreSQL)."""
    from connector.services.catalog import CatalogService
    from connector.store import Database
    from connector.store.models import Asset, ContractDefinition, PolicyDefinition

    db = Database(database_url)
    db.migrate()
    try:
        with db.write() as session:
            session.add(PolicyDefinition(id="open", policy={"@type": "Set", "permission": [{"action": "use"}]},
                                         private_properties={}))
            for asset_id, address in (("doc", {"type": "PontisDocument", "document": {}}),
                                      ("stream", {"type": "Mqtt", **ms.WSS})):
                session.add(Asset(id=asset_id, properties={}, private_properties={}, data_address=address))
                session.add(ContractDefinition(id=f"cd-{asset_id}", access_policy_id="open", contract_policy_id="open",
                                               asset_id=asset_id, assets_selector=[], private_properties={}))
        page, _ = CatalogService(db, "did:web:p.test", "http://p.test/api/dsp").page(None, None, 10)
        assert {d["@id"]: ms.fmt(d["distribution"][0]) for d in page["dataset"]} == \
            {"doc": "HttpData-PULL", "stream": "Mqtt-PULL"}
    finally:
        db.dispose()
