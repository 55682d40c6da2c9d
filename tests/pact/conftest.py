"""A supplier (Nordguss) with the PACT API, in process: footprints published through the footprint
service, clients for Achsen (may see them), Motorwerke (may see the ones not restricted to Achsen)
and an outsider (its BPN proves nothing)."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from connector.app import create_app
from connector.cli.launch import free_port
from connector.config import IdentitySettings, PactSettings, Peer, ServerSettings, Settings
from connector.pcf.document import new_footprint
from connector.services.container import build
from connector.services.footprints import read_upload
from tests.footprints.conftest import NOW, NOW_MS
from tests.harness import Clock

API_KEY = "pact-test-key"
EVENTS_ID, EVENTS_SECRET = "nordguss", "nordguss-at-achsen-secret"
ACHSEN, MOTORWERKE, OUTSIDER = "BPNL00000ACHSEAG", "BPNL00000MOTORWK", "BPNL0000000OTHER"
MEMBER = {"membership": True, "frameworkAgreements": {"DataExchangeGovernance": "1.0"}}
CLIENTS = {
    "achsen": {"client_id": "achsen-pact", "client_secret": "achsen-secret-0123456789", "bpn": ACHSEN},
    "motorwerke": {"client_id": "motorwerke-pact", "client_secret": "motorwerke-secret-012345", "bpn": MOTORWERKE},
    "outsider": {"client_id": "outsider-pact", "client_secret": "outsider-secret-01234567", "bpn": OUTSIDER},
}
ACHSEN_ONLY = {
    "@id": "achsen-only-access",
    "policy": {"permission": [{"action": "access", "constraint": [{"and": [
        {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"},
        {"leftOperand": "BusinessPartnerNumber", "operator": "isAnyOf", "rightOperand": [ACHSEN]}]}]}]},
}


def footprint(product: str, kg: float, **kw) -> dict:
    return new_footprint(product_id=product, product_name=f"Casting {product}", company_name="Nordguss GmbH",
                         company_bpn="BPNL0000000NGUSS", declared_unit=kw.pop("declared_unit", "kilogram"),
                         pcf_excluding_biogenic_uptake=kg, now=NOW, geography_country=kw.pop("country", "DE"), **kw)


def settings_for(tmp_path: Path, clients: list[dict] | None = None, **pact) -> Settings:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"policies": [ACHSEN_ONLY]}))
    return Settings(
        participant_id="did:web:localhost%3A8411", bpn="BPNL0000000NGUSS", name="Nordguss GmbH", api_key=API_KEY,
        database_url=f"sqlite:///{tmp_path / 'nordguss.db'}", seed_file=str(seed),
        server=ServerSettings(host="127.0.0.1", port=8411),
        identity=IdentitySettings(key_file=str(tmp_path / "nordguss.keys.json"), generate_key=True),
        peers=[Peer(id="did:web:localhost%3A8412", bpn=ACHSEN, token="t-achsen", claims=MEMBER),
               Peer(id="did:web:localhost%3A8413", bpn=MOTORWERKE, token="t-motorwerke", claims=MEMBER),
               Peer(id="did:web:localhost%3A8414", bpn=OUTSIDER, token="t-outsider", claims={})],
        pact=PactSettings(clients=clients or list(CLIENTS.values()), **pact),
    )


class Supplier:
    def __init__(self, tmp_path: Path, clients: list[dict] | None = None, **pact) -> None:
        self.settings = settings_for(tmp_path, clients, **pact)
        self.services = build(self.settings)
        self.clock = Clock(NOW_MS)
        self.services.negotiations.clock = self.clock
        self.services.pcf.clock = self.clock
        self.app = create_app(self.settings, self.services, run_worker=False)
        self.http = TestClient(self.app, base_url="https://nordguss.example")

    def publish(self, documents: list[dict], access_policy: str | None = None):
        items = read_upload(json.dumps(documents), csv=False, company_name="Nordguss GmbH", bpn="BPNL0000000NGUSS",
                            now=self.clock())
        return self.services.pcf.publish(items, access_policy=access_policy)

    def token(self, who: str) -> str:
        client = CLIENTS[who]
        basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
        response = self.http.post("/auth/token", content="grant_type=client_credentials",
                                  headers={"Authorization": f"Basic {basic}",
                                           "Content-Type": "application/x-www-form-urlencoded"})
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def get(self, path: str, who: str, **params):
        return self.http.get(path, params=params, headers={"Authorization": f"Bearer {self.token(who)}"})


@pytest.fixture
def supplier(tmp_path):
    s = Supplier(tmp_path)
    with s.http:
        s.publish([footprint("NG-WC-400", 12.5), footprint("NG-HB-210", 3.25, country="PL")])
        s.publish([footprint("NG-SECRET-1", 7.0)], access_policy="achsen-only-access")
        yield s


class Requester:
    """Achsen's own PACT host: gives Nordguss a token and records the events it posts."""

    def __init__(self, *, require_token: bool = True) -> None:
        self.events: list[dict] = []
        self.tokens = 0
        requester = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _answer(self, status: int, body: dict | None = None) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == "/auth/token":
                    expected = base64.b64encode(f"{EVENTS_ID}:{EVENTS_SECRET}".encode()).decode()
                    if self.headers.get("Authorization") != f"Basic {expected}":
                        return self._answer(401, {"error": "invalid_client"})
                    requester.tokens += 1
                    return self._answer(200, {"access_token": "achsen-token", "token_type": "Bearer"})
                if self.path == "/3/events":
                    if require_token and self.headers.get("Authorization") != "Bearer achsen-token":
                        return self._answer(400, {"code": "BadRequest", "message": "Invalid token provided"})
                    requester.events.append(json.loads(body))
                    return self._answer(200)
                self._answer(404, {"code": "NotFound", "message": self.path})

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
