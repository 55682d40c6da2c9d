"""A mock GXDCH on 127.0.0.1 (real HTTP, in a thread) and participants whose did:web documents
and certificate chains the mock reads from a dict (their hosts do not exist)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn

from connector.cli.launch import free_port
from connector.config import GaiaxSettings
from connector.gaiax.clients import GaiaxClient
from connector.gaiax.keys import CertificateAuthority, GaiaxKey, chain_pem, generate_private_key
from connector.gaiax.mock import MockGxdch, create_mock_app
from connector.identity.did import DidResolver
from connector.services.ssrf import Allowlist, OutgoingGuard
from connector.services.transport import DocumentFetch
from connector.store.db import Database

LOCAL = OutgoingGuard(Allowlist.parse(["localhost", "127.0.0.1", "::1"]))


@dataclass
class MockHandle:
    base: str
    gxdch: MockGxdch
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def urls(self) -> dict[str, str]:
        return {"notary_url": self.base + "/notary/v2", "compliance_url": self.base + "/compliance/v2",
                "registry_url": self.base + "/registry/v2"}


@dataclass
class Participant:
    did: str
    key: GaiaxKey
    document: dict
    public_url: str


@pytest.fixture(scope="session")
def mock_gxdch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockHandle]:
    port = free_port()
    base = f"http://localhost:{port}"
    files: dict[str, bytes] = {}
    http = DocumentFetch(LOCAL, max_bytes=1 << 20)

    def fetch(url: str) -> bytes:
        return files[url] if url in files else http(url)

    app, gxdch = create_mock_app(base, tmp_path_factory.mktemp("mock-ca"), fetch=fetch)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the mock GXDCH did not start"
    yield MockHandle(base, gxdch, files)
    server.should_exit = True
    thread.join(10)


def make_participant(mock: MockHandle, name: str, *, ca: CertificateAuthority | None = None,
                     now: datetime | None = None, cert_days: int = 365) -> Participant:
    """A participant at did:web:<name>.example with a P-256 key certified by ``ca`` (default: the
    mock trust anchor); its DID document and chain are what the mock fetches."""
    did = f"did:web:{name}.example"
    key = GaiaxKey(generate_private_key(), f"{did}#gx-es256", f"https://{name}.example/.well-known/x509CertificateChain.pem")
    issued_at = now or datetime.now(UTC)
    mock.files[key.x5u] = chain_pem((ca or mock.gxdch.ca).issue(key.private_key.public_key(), did, issued_at, cert_days))
    document = {"@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
                "id": did, "verificationMethod": [key.verification_method()], "assertionMethod": [key.kid]}
    mock.files[f"https://{name}.example/.well-known/did.json"] = json.dumps(document).encode()
    return Participant(did, key, document, f"https://{name}.example")


@pytest.fixture
def participant(mock_gxdch: MockHandle, request: pytest.FixtureRequest) -> Participant:
    return make_participant(mock_gxdch, "p" + str(abs(hash(request.node.name)) % 10**8))


def gx_settings(mock: MockHandle, tmp: Path, **overrides: object) -> GaiaxSettings:
    values: dict = {"key_file": str(tmp / "gx.pem"), "chain_file": str(tmp / "gx-chain.pem"),
                    "legal_name": "Example Werke GmbH", "country_code": "DE", "locality": "Stuttgart",
                    "registration_number": "DE129273398", **mock.urls, **overrides}
    return GaiaxSettings(**values)


def resolver_for(*participants: Participant) -> DidResolver:
    """Ours: partners' documents pinned, the mock's DIDs fetched over HTTP from 127.0.0.1."""
    return DidResolver(allow_insecure_localhost=True, fetch=DocumentFetch(LOCAL, max_bytes=1 << 20),
                       documents=[p.document for p in participants])


def client_for(mock: MockHandle) -> GaiaxClient:
    return GaiaxClient(mock.urls["notary_url"], mock.urls["compliance_url"], mock.urls["registry_url"], OutgoingGuard())


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'gx.db'}")
    database.migrate()
    yield database
    database.dispose()
