"""HTTP push: the provider sends the asset's data to the consumer's address, then completes."""

import hashlib

from connector.store.models import DataFlow
from tests.dataplane.backend import MIB, pattern
from tests.dataplane.conftest import HTTP

PCF = {"@context": {"@vocab": "https://w3id.org/catenax/pcf/"}, "productId": "NG-WC-400", "pcf": 2.45}


def destination(url: str, token: str = "consumer-inbox-secret", **props: str) -> dict:
    properties = [{"@type": "EndpointProperty", "name": "authorization", "value": token}]
    properties += [{"@type": "EndpointProperty", "name": k, "value": v} for k, v in props.items()]
    return {"@type": "DataAddress", "endpointType": HTTP, "endpoint": url, "endpointProperties": properties}


def flow(dw, pid: str) -> DataFlow:  # type: ignore[no-untyped-def]
    with dw.provider.services.db.read() as s:
        return s.get(DataFlow, pid)


def test_a_push_streams_the_backend_body_to_the_consumer_and_completes(dw):
    size = 12 * MIB
    mine = dw.push("big", {"type": "HttpData", "baseUrl": f"{dw.backend.url}/big?size={size}"},
                   destination(dw.backend.url + "/receiver", **{"header:X-Consumer-Ref": "order-7"}))
    # the start was acknowledged and nothing was pushed yet: the DSP answer does not wait for data
    assert mine.state == "STARTED" and dw.rec.received == []
    assert flow(dw, mine.provider_pid).status == "pending"
    assert dw.run_flows() == 1
    received = dw.rec.received[-1]
    assert received["size"] == size and received["sha256"] == hashlib.sha256(pattern(size)).hexdigest()
    assert received["chunks"] > 1  # streamed, not one blob
    assert received["headers"]["authorization"] == "consumer-inbox-secret"
    assert received["headers"]["x-consumer-ref"] == "order-7"
    assert flow(dw, mine.provider_pid).bytes_sent == size
    dw.settle()
    assert dw.provider_transfer(mine.provider_pid).state == "COMPLETED"
    assert dw.consumer_transfer(mine.id).state == "COMPLETED"
    assert dw.run_flows() == 0  # pushed once


def test_a_published_document_can_be_pushed(dw):
    mine = dw.push("pcf", {"type": "PontisDocument", "document": PCF}, destination(dw.backend.url + "/receiver"))
    dw.run_flows()
    received = dw.rec.received[-1]
    assert received["headers"]["content-type"] == "application/ld+json"
    assert received["sha256"] == hashlib.sha256(__import__("json").dumps(PCF).encode()).hexdigest()
    dw.settle()
    assert dw.consumer_transfer(mine.id).state == "COMPLETED"


def test_a_receiver_that_fails_terminates_the_transfer_with_the_reason(dw):
    dw.rec.receiver_status = 500
    mine = dw.push("pcf", {"type": "PontisDocument", "document": PCF}, destination(dw.backend.url + "/receiver"))
    dw.run_flows()
    dw.settle()
    row = dw.provider_transfer(mine.provider_pid)
    assert row.state == "TERMINATED" and "answered HTTP 500" in row.error_detail
    assert row.error["code"] == "push-failed"
    assert flow(dw, mine.provider_pid).status == "failed"
    consumer = dw.consumer_transfer(mine.id)
    assert consumer.state == "TERMINATED" and "answered HTTP 500" in consumer.error_detail


def test_a_source_failing_midway_fails_the_push(dw):
    mine = dw.push("broken", {"type": "HttpData", "baseUrl": f"{dw.backend.url}/broken?size={4 * MIB}&after={MIB}"},
                   destination(dw.backend.url + "/receiver"))
    dw.run_flows()
    dw.settle()
    row = dw.provider_transfer(mine.provider_pid)
    assert row.state == "TERMINATED" and "failed after" in row.error_detail
    # the receiver never saw a complete body it could mistake for the data
    assert all(r["size"] != 4 * MIB for r in dw.rec.received)


def test_a_source_answering_an_error_fails_the_push(dw):
    mine = dw.push("gone", {"type": "HttpData", "baseUrl": f"{dw.backend.url}/status/404"},
                   destination(dw.backend.url + "/receiver"))
    dw.run_flows()
    dw.settle()
    assert "the asset's backend answered HTTP 404" in dw.provider_transfer(mine.provider_pid).error_detail
    assert dw.rec.received == []


def test_an_unreachable_receiver_fails_the_push(dw):
    from connector.cli.launch import free_port

    mine = dw.push("pcf", {"type": "PontisDocument", "document": PCF},
                   destination(f"http://127.0.0.1:{free_port()}/inbox"))
    dw.run_flows()
    dw.settle()
    assert "failed after 0 bytes: ClientConnectorError" in dw.provider_transfer(mine.provider_pid).error_detail


def test_a_push_to_a_private_address_is_refused_when_requested(dw):
    mine = dw.push("pcf", {"type": "PontisDocument", "document": PCF}, destination("http://169.254.169.254/latest"))
    assert mine.state == "TERMINATED"
    assert "the push destination is refused" in mine.error_detail and "link-local" in mine.error_detail
    assert dw.provider_transfers() == []


def test_a_push_to_a_name_that_resolves_privately_is_refused_when_it_runs(dw, monkeypatch):
    import socket

    real = socket.getaddrinfo

    def fake(host, *args, **kw):  # type: ignore[no-untyped-def]
        if host == "inbox.consumer.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 80))]
        return real(host, *args, **kw)
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    mine = dw.push("pcf", {"type": "PontisDocument", "document": PCF},
                   destination("http://inbox.consumer.example/in"))
    assert mine.state == "STARTED"  # a name is resolved when the push runs, not inside the DSP request
    dw.run_flows()
    dw.settle()
    row = dw.provider_transfer(mine.provider_pid)
    assert row.state == "TERMINATED" and "10.1.2.3, a private address" in row.error_detail


def test_a_push_suspended_midway_is_pushed_again_after_resumption(dw):
    mine = dw.push("pcf", {"type": "PontisDocument", "document": PCF}, destination(dw.backend.url + "/receiver"))
    dw.consumer.services.transfers.suspend(mine.id, "inbox full")
    dw.settle()
    assert dw.run_flows() == 0  # not while suspended
    dw.consumer.services.transfers.start(mine.id)  # the consumer resumes
    dw.settle()
    assert dw.run_flows() == 1
    dw.settle()
    assert dw.consumer_transfer(mine.id).state == "COMPLETED" and len(dw.rec.received) == 1
