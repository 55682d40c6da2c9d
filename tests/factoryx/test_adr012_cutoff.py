"""Factory-X ADR 012: a client connected to our broker under a transfer is cut off the moment the
transfer leaves STARTED (terminated by either side, suspended, completed) or its agreement stops being
in force, with the reason logged; its user and password are revoked and a reconnect is refused saying
why. Two in-process connectors, the provider's broker on real sockets, paho-mqtt clients
(``mqtt_streams``); the agreement's end is reached on the clock passed to the re-check."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from connector.store.models import EdrGrant
from tests.factoryx.mqtt_streams import (
    CONNACK_ACCEPTED,
    CONNACK_NOT_AUTHORIZED,
    EDRS,
    Streams,
    connected,
    negotiate_stream,
    offer_stream,
    start_streams,
)
from tests.mqtt.support import Client
from tests.transfers.conftest import CX, VOCAB, ok

TRANSFERS = "/management/v3/transferprocesses"


@pytest.fixture
def streams(tmp_path: Path) -> Iterator[Streams]:
    yield from start_streams(tmp_path)


def _client(streams: Streams, edr: dict, usrpw: bool) -> Client:
    """A client with the EDR's JWT, or its user and password."""
    if usrpw:
        return streams.client(edr, username=edr["dsp-mqtt:user"], password=edr["dsp-mqtt:password"])
    return streams.client(edr)


def _subscribed(streams: Streams, edr: dict, usrpw: bool) -> Client:
    client = _client(streams, edr, usrpw)
    assert client.connect() == CONNACK_ACCEPTED
    client.client.reconnect_delay_set(3600, 3600)  # once cut off, paho must not reconnect on its own
    assert client.subscribe("press7/#") == [1]
    return client


def _consumer_deletes_its_edr(streams: Streams, tp: dict) -> None:
    assert streams.two.consumer.delete(f"{EDRS}/{tp['@id']}").status_code == 204


def _consumer_terminates(streams: Streams, tp: dict) -> None:
    ok(streams.two.consumer.post(f"{TRANSFERS}/{tp['@id']}/terminate",
                                 json={"@context": VOCAB, "reason": "line stopped"}), 204)


def _provider(action: str, body: dict | None = None) -> Callable[[Streams, dict], None]:
    def end(streams: Streams, tp: dict) -> None:
        pid = streams.provider_transfer(tp).id
        ok(streams.two.provider.post(f"{TRANSFERS}/{pid}/{action}", json=body), 204)
    return end


ENDINGS = {
    "consumer-deletes-edr": (_consumer_deletes_its_edr, "COMPLETED"),
    "consumer-terminates": (_consumer_terminates, "TERMINATED"),
    "provider-terminates": (_provider("terminate", {"@context": VOCAB, "reason": "press 7 decommissioned"}),
                            "TERMINATED"),
    "provider-suspends": (_provider("suspend", {"@context": VOCAB, "reason": "maintenance"}), "SUSPENDED"),
    "provider-completes": (_provider("complete"), "COMPLETED"),
}


@pytest.mark.parametrize("usrpw", [False, True], ids=["jwt", "usrpw"])
@pytest.mark.parametrize("ending", list(ENDINGS))
def test_a_transfer_that_ends_cuts_its_clients_off_and_refuses_them_again(
        streams: Streams, caplog: pytest.LogCaptureFixture, ending: str, usrpw: bool) -> None:
    address = {"mqttEndpointType": "mqtt-wss", "dsp-mqtt:topic": "press7/#"}
    tp, edr = streams.edr({**address, "mqttAuthType": "mqtt-usrpw"} if usrpw else address)
    client = _subscribed(streams, edr, usrpw)
    other_tp, other_edr = streams.edr(address, asset_id="stream-press-8")  # another transfer: unaffected
    bystander = _subscribed(streams, other_edr, False)
    end, state = ENDINGS[ending]
    try:
        with caplog.at_level(logging.INFO, "pontis.mqtt"):
            end(streams, tp)
            streams.two.settle()
            assert client.cut_off() != 0  # the broker closed it (no DISCONNECT from the client)
        pid = streams.provider_transfer(tp).id
        assert f"transfer {pid} ended: transfer {pid} is {state}, not STARTED" in caplog.text
        # the other transfer's client still gets its messages
        assert streams.publish("press7/temperature", b"70.1") == 1
        assert bystander.next_message().payload == b"70.1"
    finally:
        client.close()
        bystander.close()
    with streams.two.provider_party.services.db.read() as session:
        grants = session.exec(select(EdrGrant).where(EdrGrant.transfer_id == pid)).all()
    assert grants and {g.status for g in grants} <= {"revoked", "rotated"}, [(g.id, g.status) for g in grants]
    caplog.clear()
    with caplog.at_level(logging.WARNING, "pontis.mqtt"):
        again = _subscribed_code(streams, edr, usrpw)
    assert again == CONNACK_NOT_AUTHORIZED
    assert "CONNACK 5" in caplog.text and ("revoked" in caplog.text or f"is {state}" in caplog.text), caplog.text
    assert other_tp["@id"] != tp["@id"]


def _subscribed_code(streams: Streams, edr: dict, usrpw: bool) -> int:
    return connected(_client(streams, edr, usrpw))


def _offer_until(streams: Streams, address: dict, asset_id: str, end: str) -> None:
    """A stream whose contract policy ends at ``end`` (odrl:dateTime): the agreement's end date."""
    offer_stream(streams.two, address, asset_id)
    ok(streams.two.provider.post("/management/v3/policydefinitions", json={
        "@context": CX, "@type": "PolicyDefinition", "@id": "stream-until", "policy": {
            "@type": "Set", "permission": [{"action": "use", "constraint": [{"and": [
                {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
                {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"},
                {"leftOperand": "UsagePurpose", "operator": "isAnyOf", "rightOperand": ["cx.pcf.base:1"]},
                {"leftOperand": {"@id": "http://www.w3.org/ns/odrl/2/dateTime"}, "operator": "lt", "rightOperand": end}]}]}]}}))
    ok(streams.two.provider.put("/management/v3/contractdefinitions", json={
        "@context": VOCAB, "@id": f"cd-{asset_id}", "accessPolicyId": "pcf-usage", "contractPolicyId": "stream-until",
        "assetsSelector": [{"operandLeft": "https://w3id.org/edc/v0.0.1/ns/id", "operator": "=",
                            "operandRight": asset_id}]}), 204)


@pytest.mark.parametrize("usrpw", [False, True], ids=["jwt", "usrpw"])
def test_an_agreement_past_its_end_date_cuts_its_clients_off_at_the_recheck(
        streams: Streams, caplog: pytest.LogCaptureFixture, usrpw: bool) -> None:
    address = {"mqttEndpointType": "mqtt-tls", **({"mqttAuthType": "mqtt-usrpw"} if usrpw else {})}
    _offer_until(streams, address, "stream-until-2099", "2099-01-01T00:00:00Z")
    tp = negotiate_stream(streams.two, "stream-until-2099")
    edr = ok(streams.two.consumer.get(f"{EDRS}/{tp['@id']}/dataaddress"))
    client = _subscribed(streams, edr, usrpw)
    mqtt = streams.two.provider_party.app.state.mqtt
    portal = streams.two.provider.portal  # type: ignore[union-attr]
    pid = streams.provider_transfer(tp).id
    try:
        assert portal.call(mqtt.watch.recheck_connected, time.time()) == 0  # in force today
        with caplog.at_level(logging.WARNING, "pontis.mqtt"):
            after_the_end = datetime(2099, 1, 2, tzinfo=UTC).timestamp()
            assert portal.call(mqtt.watch.recheck_connected, after_the_end) == 1
            assert client.cut_off() != 0
    finally:
        client.close()
    assert "closing" in caplog.text and f"transfer {pid} ended: agreement" in caplog.text, caplog.text
    assert "revoked" in caplog.text
    with streams.two.provider_party.services.db.read() as session:  # its tokens and users revoked
        assert {g.status for g in session.exec(select(EdrGrant).where(EdrGrant.transfer_id == pid))} == {"revoked"}
    assert _subscribed_code(streams, edr, usrpw) == CONNACK_NOT_AUTHORIZED  # today, too: revoked
