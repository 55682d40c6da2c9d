"""PACT events: what /3/events and /2/events accept and refuse, and what they answer with."""

from __future__ import annotations

import pytest

from connector.config import ConfigError, PactClient, load_settings
from connector.pact.access import Filters
from connector.pact.events import BadEvent, check_event, events_url, request_filters, token_url, v2_filters
from tests.pact.conftest import footprint

V3_REQUEST = {"specversion": "1.0", "id": "req-1", "source": "https://webhook.example.com", "time": "2026-05-19T10:30:00Z",
              "type": "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3",
              "data": {"productId": ["urn:mpn:NG-WC-400"], "comment": "Please send PCF data for this year."}}


def event(**changes) -> dict:
    out = {**V3_REQUEST, **changes}
    return {k: v for k, v in out.items() if v is not None}


def test_the_conformance_events_are_accepted():
    assert check_event(V3_REQUEST, 3).kind == "request"
    fulfilled = event(type="org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3",
                      data={"requestEventId": "req-1", "pfs": [{"id": "b1f8c0d2-7c4e-4e67-9a9c-2e4c12345678"}]})
    assert check_event(fulfilled, 3).kind == "fulfilled"
    rejected = event(type="org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3",
                     data={"requestEventId": "req-1", "error": {"code": "NotFound", "message": "none"}})
    assert check_event(rejected, 3).kind == "rejected"
    published = event(type="org.wbcsd.pact.ProductFootprint.PublishedEvent.3", data={"pfIds": ["urn:gtin:4712345060507"]})
    assert check_event(published, 3).kind == "published"
    v2 = event(type="org.wbcsd.pathfinder.ProductFootprintRequest.Created.v1",
               data={"pf": {"productIds": ["urn:mpn:NG-WC-400"]}, "comment": "please"})
    assert check_event(v2, 2).kind == "request"


@pytest.mark.parametrize("bad, says", [
    (event(specversion="0.3"), "specversion"),
    (event(id=None), "id:"),
    (event(time="yesterday"), "time:"),
    (event(type="org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.2"), "did you mean"),
    (event(data=None), "data:"),
    (event(data={"productIds": ["urn:x"]}), "did you mean 'productId'"),
    (event(data={"validOn": "soon"}), "validOn"),
    (event(type="org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3", data={"pfs": []}), "requestEventId"),
    (event(type="org.wbcsd.pact.ProductFootprint.PublishedEvent.3", data={"pfIds": "x"}), "pfIds"),
    ([], "CloudEvent JSON object"),
])
def test_bad_events_are_refused_naming_the_field(bad, says):
    with pytest.raises(BadEvent) as caught:
        check_event(bad, 3)
    assert says in str(caught.value)


def test_a_v3_event_type_is_not_a_v2_one():
    with pytest.raises(BadEvent):
        check_event(V3_REQUEST, 2)


def test_v2_requests_match_by_the_fragment_and_refuse_other_fields():
    doc = footprint("NG-WC-400", 12.5)
    assert v2_filters({"productIds": ["urn:mpn:NG-WC-400"]}).matches(doc)
    assert not v2_filters({"productIds": ["urn:mpn:NG-HB-210"]}).matches(doc)
    assert v2_filters({"id": doc["id"]}).matches(doc)
    assert not v2_filters({"id": "0f9e8d7c-6b5a-4c3d-8e1f-2a3b4c5d6e7f"}).matches(doc)
    with pytest.raises(ValueError) as caught:
        v2_filters({"pcf": {"declaredUnit": "kilogram"}})
    assert "data.pf.pcf" in str(caught.value)


def test_filters_match_as_pact_says():
    doc = footprint("NG-WC-400", 12.5, country="DE")
    assert Filters.from_params([("geography", "de")]).matches(doc)
    assert Filters.from_params([("geography", "Europe")]).matches(doc)
    assert not Filters.from_params([("geography", "XX")]).matches(doc)
    assert Filters.from_params([("productId", "urn:x"), ("productId", "urn:mpn:ng-wc-400")]).matches(doc)
    assert not Filters.from_params([("productId", "urn:mpn:NG-WC-400"), ("companyId", "urn:other")]).matches(doc)
    # validity: from validityPeriodStart to validityPeriodEnd
    start, end = doc["validityPeriodStart"], doc["validityPeriodEnd"]
    assert Filters.from_params([("validOn", start)]).matches(doc)
    assert Filters.from_params([("validOn", end)]).matches(doc)
    assert not Filters.from_params([("validAfter", start)]).matches(doc)
    assert not Filters.from_params([("validBefore", end)]).matches(doc)
    assert Filters.from_params([("validBefore", "2099-01-01T00:00:00Z")]).matches(doc)


def test_where_answers_go():
    client = PactClient(client_id="c", client_secret="s" * 16, bpn="BPNL00000ACHSEAG")
    assert events_url(client, "//pact.achsen.example/3/events") == "https://pact.achsen.example/3/events"
    assert events_url(client, "https://hook.example/x/3/events") == "https://hook.example/x/3/events"
    assert token_url(client, "https://pact.achsen.example/3/events") == "https://pact.achsen.example/auth/token"
    configured = PactClient(client_id="c", client_secret="s" * 16, bpn="BPNL00000ACHSEAG",
                            events_url="https://tools.achsen.example/pact/3/events",
                            events_auth_url="https://login.achsen.example/oauth/token")
    assert events_url(configured, "//anything") == "https://tools.achsen.example/pact/3/events"
    assert token_url(configured, events_url(configured, "")) == "https://login.achsen.example/oauth/token"


def test_pact_config_refuses_unknown_keys_and_weak_entries(tmp_path):
    config = tmp_path / "c.toml"
    base = 'participant_id = "did:web:x"\napi_key = "k"\n'
    config.write_text(base + '[[pact.clients]]\nclient_id = "a"\nclient_secret = "0123456789abcdef"\n'
                             'bpn = "BPNL00000ACHSEAG"\nevents_ur = "https://x/3/events"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert "did you mean 'events_url'" in str(caught.value)
    config.write_text(base + '[pact]\nclints = []\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert "did you mean 'clients'" in str(caught.value)
    config.write_text(base + '[[pact.clients]]\nclient_id = "a"\nclient_secret = "short"\nbpn = "BPNL00000ACHSEAG"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert "client_secret" in str(caught.value)
    config.write_text(base + '[[pact.clients]]\nclient_id = "a"\nclient_secret = "0123456789abcdef"\nbpn = "BPNL1"\n')
    with pytest.raises(ConfigError):
        load_settings(config)
    config.write_text(base + '[pact]\nfootprints_file = "f.json"\n[[pact.clients]]\nclient_id = "a"\n'
                             'client_secret = "0123456789abcdef"\nbpn = "BPNL00000ACHSEAG"\n'
                             '[[pact.clients]]\nclient_id = "a"\nclient_secret = "0123456789abcdeg"\n'
                             'bpn = "BPNL00000MOTORWK"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert "appears twice" in str(caught.value)


def test_a_v3_request_may_still_send_the_v2_fragment():
    # the PACT conformance service's v3 test case 12 asks with {"pf": {"productIds": [...]}, "comment": ...}
    conformance = event(data={"pf": {"productIds": ["urn:mpn:NG-WC-400"]}, "comment": "Please send PCF data"})
    assert check_event(conformance, 3).kind == "request"
    doc, other = footprint("NG-WC-400", 12.5), footprint("NG-HB-210", 3.0)
    filters = request_filters(conformance["data"], 3)
    assert filters.matches(doc) and not filters.matches(other)
    both = request_filters({"pf": {"productIds": ["urn:mpn:NG-WC-400"]}, "geography": ["PL"]}, 3)
    assert not both.matches(doc)
    with pytest.raises(BadEvent) as caught:
        check_event(event(data={"pf": {"pcf": {}}}), 3)
    assert "data.pf.pcf" in str(caught.value)
