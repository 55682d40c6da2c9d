"""``POST /management/v3/pcf/rollups``: the roll-up on the connector, its statuses and its refusals."""

from __future__ import annotations

import json

import pytest

from tests.footprints.conftest import casting
from tests.footprints.test_api import client

OWN = "BPNL0000000NGUSS"


def bom(*components: dict, own: float = 30) -> dict:
    return {"productId": "NG-AX-1", "productName": "Axle module", "declaredUnit": "piece",
            "ownEmissions": {"pcfExcludingBiogenicUptake": own}, "components": list(components)}


def comp(product: str, quantity, unit: str = "piece", bpn: str = OWN) -> dict:
    return {"productId": product, "supplierBpn": bpn, "quantity": quantity, "unit": unit}


def test_own_components_roll_up_and_publish(database_url, tmp_path) -> None:
    with client(database_url, tmp_path) as api:
        api.post("/management/v3/pcf/footprints", content=json.dumps([casting(12.5)])).raise_for_status()
        [stored] = api.get("/management/v3/pcf/footprints").json()
        answer = api.post("/management/v3/pcf/rollups", json=bom(comp("NG-WC-400", 2)))
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert result["pcfExcludingBiogenicUptake"] == 55 and "published" not in result
        assert result["components"] == [{"productId": "NG-WC-400", "supplierBpn": OWN, "quantity": 2, "unit": "piece",
                                         "pcfExcludingBiogenicUptake": 12.5, "contribution": 25, "status": "ok",
                                         "reason": None}]
        assert len(api.get("/management/v3/pcf/footprints").json()) == 1  # not published without publish=true

        published = api.post("/management/v3/pcf/rollups?publish=true", json=bom(comp("NG-WC-400", 2))).json()
        mine = published["published"]
        assert (mine["productId"], mine["status"], mine["precedingPfIds"]) == ("NG-AX-1", "Active", [stored["id"]])
        doc = api.get(f"/management/v3/pcf/footprints/{mine['id']}").json()["document"]
        assert doc["pcf"]["pcfExcludingBiogenicUptake"] == 55 and doc["proof"]["cryptosuite"] == "eddsa-jcs-2022"


def test_a_missing_component_is_422_listing_it_and_publishes_nothing(database_url, tmp_path) -> None:
    with client(database_url, tmp_path) as api:
        body = bom(comp("NG-NONE", 1), comp("X-1", 3, bpn="BPNL00000UNKNOWN"))
        answer = api.post("/management/v3/pcf/rollups?publish=true", json=body)
        assert answer.status_code == 422, answer.text
        lines = answer.json()["components"]
        assert [ln["status"] for ln in lines][0] == "missing" and "NG-NONE" in lines[0]["reason"]
        assert lines[1]["status"] != "ok" and lines[1]["reason"]
        assert answer.json()["pcfExcludingBiogenicUptake"] == 30 and "published" not in answer.json()
        assert api.get("/management/v3/pcf/footprints").json() == []

        allowed = api.post("/management/v3/pcf/rollups?publish=true&allowMissing=true", json=body)
        assert allowed.status_code == 200 and allowed.json()["published"]["precedingPfIds"] == []


@pytest.mark.parametrize(("body", "query", "field"), [
    ({**bom(), "components": [comp("A", 0)]}, "", "components[0].quantity"),
    ({**bom(), "declaredUnit": "kilogramm"}, "", "declaredUnit"),
    ({**bom(), "compnents": []}, "", "compnents"),
    ([], "", "(top)"),
    (bom(), "?publish=yes", "publish"),
    (bom(), "?allow_missing=true", "allow_missing"),
])
def test_a_bad_bom_is_400_naming_the_field(database_url, tmp_path, body, query, field) -> None:
    with client(database_url, tmp_path) as api:
        answer = api.post(f"/management/v3/pcf/rollups{query}", json=body)
        assert answer.status_code == 400, answer.text
        assert answer.json()[0]["path"] == field


def test_a_supplier_that_does_not_answer_is_an_error_with_its_reason(database_url, tmp_path) -> None:
    from fastapi.testclient import TestClient

    from connector.app import create_app
    from connector.cli.launch import free_port
    from connector.config import IdentitySettings, Peer, Settings
    from tests.footprints.test_api import KEY

    silent = f"http://127.0.0.1:{free_port()}/api/v1/dsp"  # nothing listens there
    settings = Settings(participant_id="did:web:localhost%3A8411", bpn=OWN, name="Nordguss GmbH", api_key=KEY,
                        database_url=database_url, transport="httpx",
                        identity=IdentitySettings(key_file=str(tmp_path / "k.json"), generate_key=True),
                        peers=[Peer(id="did:web:localhost%3A8412", bpn="BPNL00000ACHSEAG", dsp_url=silent)])
    with TestClient(create_app(settings), headers={"X-Api-Key": KEY}) as api:
        answer = api.post("/management/v3/pcf/rollups",
                          json=bom(comp("AX-1", 1, bpn="BPNL00000ACHSEAG"), comp("X-1", 1, bpn="BPNL00000UNKNOWN")))
        assert answer.status_code == 422, answer.text
        first, second = answer.json()["components"]
        assert first["status"] == "error" and first["reason"], first
        assert second["status"] == "error" and "is not a configured peer" in second["reason"]
