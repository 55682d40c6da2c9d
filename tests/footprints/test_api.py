"""``/management/v3/pcf``: publish, list, get, request; refusals in EDC's error shape."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from connector.app import create_app
from connector.config import IdentitySettings, Peer, Settings
from tests.footprints.conftest import casting

KEY = "pcf-api-test-key"


def client(database_url: str, tmp_path, *, key: bool = True) -> TestClient:
    identity = IdentitySettings(key_file=str(tmp_path / "keys" / "n.keys.json"), generate_key=True) if key else \
        IdentitySettings()
    settings = Settings(participant_id="did:web:localhost%3A8411", bpn="BPNL0000000NGUSS", name="Nordguss GmbH",
                        api_key=KEY, database_url=database_url, identity=identity, transport="httpx",
                        peers=[Peer(id="did:web:localhost%3A8412", bpn="BPNL00000ACHSEAG")])
    return TestClient(create_app(settings), headers={"X-Api-Key": KEY})


def test_publish_list_get(database_url, tmp_path) -> None:
    with client(database_url, tmp_path) as api:
        answer = api.post("/management/v3/pcf/footprints", content=json.dumps([casting()]))
        assert answer.status_code == 200, answer.text
        [stored] = answer.json()
        assert (stored["productId"], stored["status"], stored["assetId"]) == ("NG-WC-400", "Active", "pcf-NG-WC-400")
        assert [f["id"] for f in api.get("/management/v3/pcf/footprints?status=Active").json()] == [stored["id"]]
        assert api.get("/management/v3/pcf/footprints?productId=urn:mpn:NG-WC-400").json()[0]["id"] == stored["id"]
        one = api.get(f"/management/v3/pcf/footprints/{stored['id']}").json()
        assert one["document"]["proof"]["verificationMethod"] == "did:web:localhost%3A8411#key-1"
        missing = api.get("/management/v3/pcf/footprints/nope")
        assert missing.status_code == 404 and "nope" in missing.json()[0]["message"]
        assert api.get("/management/v3/pcf/footprints?status=active").status_code == 400
    assert oct((tmp_path / "keys" / "n.keys.json").stat().st_mode & 0o777) == "0o600"  # made at start


def test_a_connector_without_a_key_says_how_to_get_one(database_url, tmp_path) -> None:
    with client(database_url, tmp_path, key=False) as api:
        answer = api.post("/management/v3/pcf/footprints", content=json.dumps([casting()]))
        assert answer.status_code == 409 and "key_file" in answer.json()[0]["message"]
        assert api.get("/management/v3/pcf/footprints").json() == []


@pytest.mark.parametrize(("body", "field"), [
    ({"productId": "X"}, "supplier"),
    ({"supplier": "BPNL00000ACHSEAG"}, "productId"),
    ({"supplier": "BPNL00000ACHSEAG", "productId": "X", "mode": "sync"}, "mode"),
    ({"supplier": "BPNL00000ACHSEAG", "productId": "X", "suplier": 1}, "suplier"),
])
def test_a_bad_request_names_the_field(database_url, tmp_path, body, field) -> None:
    with client(database_url, tmp_path) as api:
        answer = api.post("/management/v3/pcf/requests", json=body)
        assert answer.status_code == 400 and answer.json()[0]["path"] == field


def test_an_unknown_supplier_is_an_error_outcome_naming_the_known_peers(database_url, tmp_path) -> None:
    with client(database_url, tmp_path) as api:
        outcome = api.post("/management/v3/pcf/requests", json={"supplier": "BPNL0000000OTHER", "productId": "X"}).json()
        assert outcome["status"] == "error" and "BPNL00000ACHSEAG" in outcome["reason"]
