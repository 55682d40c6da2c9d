"""Fixtures for identity-as-a-service tests: an issuer, connector identities, and a local web server.

``web`` is a uvicorn server on 127.0.0.1 in a thread, serving whatever the test puts in its
``routes`` (path -> JSON document or text). ``did:web:localhost%3A<port>...`` DIDs resolve to it
when the resolver allows insecure localhost, which is how did:web documents and status lists
are served in these tests, over real HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from connector.cli.launch import free_port
from connector.identity.did import DidResolver, did_web_path
from connector.identity.issuer import Issuer, provision
from connector.identity.keys import KeySet, SigningKey
from connector.identity.wallet import LocalIdentity, Wallet
from connector.services.ssrf import Allowlist, OutgoingGuard
from connector.services.transport import DocumentFetch
from tests.harness import serve_in_thread

BPN_A = "BPNL00000000000A"
BPN_B = "BPNL00000000000B"


@dataclass
class WebServer:
    port: int
    routes: dict[str, Any] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    @property
    def host(self) -> str:
        return f"localhost%3A{self.port}"

    def did(self, *path: str) -> str:
        return ":".join([f"did:web:{self.host}", *path])

    def publish_did(self, document: dict) -> None:
        self.routes[did_web_path(document["id"])] = document


@pytest.fixture(scope="session")
def web():
    server_state = WebServer(free_port())

    async def serve(request: Request) -> Response:
        server_state.hits.append(request.url.path)
        item = server_state.routes.get(request.url.path)
        if item is None:
            return PlainTextResponse("not found", status_code=404)
        if callable(item):
            item = item()
        if isinstance(item, str):
            return PlainTextResponse(item, media_type="application/vc+jwt")
        return JSONResponse(item)

    app = Starlette(routes=[Route("/{path:path}", serve)])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=server_state.port, log_level="warning"))
    thread = serve_in_thread(server, "the test web server", timeout=10)
    yield server_state
    server.should_exit = True
    thread.join(5)


@pytest.fixture
def clean_web(web):
    web.routes.clear()
    web.hits.clear()
    yield web
    web.routes.clear()


@pytest.fixture
def issuer(tmp_path, clean_web) -> Issuer:
    """An issuer whose DID document and status list are served by the test web server (live files)."""
    issuer = Issuer.init(tmp_path / "issuer", clean_web.did("issuer"))
    clean_web.routes["/issuer/did.json"] = lambda: issuer.did_document()
    clean_web.routes["/issuer/status-list"] = lambda: (issuer.directory / "status-list.jwt").read_text().strip()
    return issuer


def make_identity(did: str, tmp_path: Path, name: str) -> LocalIdentity:
    keys = KeySet(SigningKey.generate(f"{did}#key-1", did))
    return LocalIdentity(did, keys, Wallet(tmp_path / f"{name}.credentials.json"))


@pytest.fixture
def consumer(tmp_path, clean_web, issuer) -> LocalIdentity:
    """did:web:localhost%3APORT:consumer, with Membership, Bpn and DataExchangeGovernance credentials."""
    identity = make_identity(clean_web.did("consumer"), tmp_path, "consumer")
    clean_web.publish_did(identity.did_document())
    provision(issuer, identity.did, bpn=BPN_A, wallet=identity.wallet)
    return identity


@pytest.fixture
def provider(tmp_path, clean_web) -> LocalIdentity:
    identity = make_identity(clean_web.did("provider"), tmp_path, "provider")
    clean_web.publish_did(identity.did_document())
    return identity


def local_fetch() -> DocumentFetch:
    """The connector's guarded GET, allowed to reach this machine's test servers."""
    return DocumentFetch(OutgoingGuard(Allowlist.parse(["127.0.0.1", "localhost"])))


@pytest.fixture
def resolver() -> DidResolver:
    return DidResolver(allow_insecure_localhost=True, ttl_seconds=0, fetch=local_fetch())


@pytest.fixture(autouse=True)
def cross_check_compiled_jsonld(monkeypatch: pytest.MonkeyPatch):
    """Every document signed or verified here is cross-checked as in tests/identity (compiled walk,
    general path, pyld's toRdf: identical canonical N-Quads)."""
    from tests.identity.compiled_check import install

    return install(monkeypatch)
