"""Every DCP issuance message we send or answer validates against the DCP reference schemas
(../shared/reference/dcp; these comparison tests skip when it is absent), and the reference
examples are read by our models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft201909Validator
from referencing import Registry, Resource

from connector.identity.dcp import create_id_token
from connector.identity.dcp_issuance import (
    CredentialMessage,
    CredentialRequestMessage,
    IssuanceBook,
    parse_message,
    rejection_message,
)
from connector.identity.holder import request_credentials

from .conftest import BPN_A
from .test_dcp_issuance import holder, holder_app  # noqa: F401  (fixtures)

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "dcp" / "artifacts" / "src" / "main" / \
    "resources"
pytestmark = pytest.mark.skipif(not REFERENCE.is_dir(), reason="../shared/reference/dcp is absent")
SCHEMAS = {"IssuerMetadata": "issuer-metadata-schema.json", "CredentialRequestMessage": "credential-request-message-schema.json",
           "CredentialMessage": "credential-message-schema.json", "CredentialStatus": "credential-status-schema.json",
           "CredentialObject": "credential-object-schema.json"}


def _registry() -> Registry:
    registry: Registry = Registry()
    for path in [*REFERENCE.glob("issuance/*.json"), REFERENCE / "common" / "context-schema.json"]:
        schema = json.loads(path.read_text())
        resource = Resource.from_contents(schema)
        registry = registry.with_resource(schema["$id"], resource)
        # the schemas refer to .../v1.0/common/context-schema.json, whose own $id still says v08
        registry = registry.with_resource(schema["$id"].replace("/v08/", "/v1.0/"), resource)
    return registry


def validate(message: dict[str, Any]) -> None:
    schema = json.loads((REFERENCE / "issuance" / SCHEMAS[message["type"]]).read_text())
    errors = sorted(Draft201909Validator(schema, registry=_registry()).iter_errors(message), key=str)
    assert not errors, f"{message['type']}: {[e.message for e in errors]}"


class Recorder(httpx.Client):
    """Wraps a client (TestClient) and keeps every JSON body sent and received."""

    def __init__(self, inner: httpx.Client, seen: list[dict]) -> None:
        self.inner = inner
        self.seen = seen

    def request(self, method: str, url: Any, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        if isinstance(kwargs.get("json"), dict):
            self.seen.append(kwargs["json"])
        response = self.inner.request(method, url, **kwargs)
        if response.headers.get("content-type", "").startswith("application/json"):
            body = response.json()
            if isinstance(body, dict) and "type" in body:
                self.seen.append(body)
        return response


def test_messages_of_a_whole_flow_validate(issuer, holder, resolver, holder_app):
    from fastapi.testclient import TestClient

    from connector.identity.issuer_service import issuer_app

    seen: list[dict] = []
    service = TestClient(issuer_app(issuer.directory, resolver=resolver, http=Recorder(holder_app, seen)))
    IssuanceBook(issuer).admit(holder.did, bpn=BPN_A, kinds=["Membership", "Bpn", "DataExchangeGovernance"])
    outcome = request_credentials(holder, Recorder(service, seen), issuer.service_url,
                                  ["Membership", "Bpn", "DataExchangeGovernance"], wait_seconds=5)
    assert outcome.status == "ISSUED"
    types = sorted({m["type"] for m in seen if m["type"] in SCHEMAS})
    assert types == ["CredentialMessage", "CredentialRequestMessage", "CredentialStatus", "IssuerMetadata"]
    for message in seen:
        if message["type"] in SCHEMAS:
            validate(message)
    for credential_object in next(m for m in seen if m["type"] == "IssuerMetadata")["credentialsSupported"]:
        validate(credential_object)
    validate(rejection_message("i", "h", "not admitted"))
    with pytest.raises(AssertionError, match="DONE"):  # the check can fail
        validate({**rejection_message("i", "h", "x"), "status": "DONE"})
    token = create_id_token(holder, issuer.did, presentation=False)
    status = service.get(f"{issuer.service_url}/requests/{outcome.issuer_pid}",
                         headers={"Authorization": f"Bearer {token}"}).json()
    validate(status)


@pytest.mark.parametrize(("example", "model"), [("credential-request-message.json", CredentialRequestMessage),
                                                ("credential-message-rejected.json", CredentialMessage),
                                                ("credential-message.json", CredentialMessage)])
def test_reference_examples_read(example, model):
    parsed = parse_message(model, json.loads((REFERENCE / "issuance" / "example" / example).read_text()))
    assert parsed.type == model.__name__
