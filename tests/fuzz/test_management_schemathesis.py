"""Schemathesis against the management API's own OpenAPI (``/management/openapi.json``), in process.

The document is read from the app with the key, as staff would; schemathesis then generates valid
and invalid calls (bodies, path and query parameters) for every operation, and each call goes to the
running app through the same TestClient (one event loop with the app's workers). The one check is
schemathesis's ``not_a_server_error``: nothing may answer 5xx. Bounded and derandomized, so CI makes
the same calls each time, in well under a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode

from connector.app import create_app
from connector.config import Settings
from tests.management.helpers import API_KEY

EXAMPLES = 8  # per operation and mode
SKIP_METHODS = frozenset({"options", "head", "trace"})


@pytest.fixture(scope="module")
def management_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    database = Path(tmp_path_factory.mktemp("fuzz")) / "pontis.db"
    settings_ = Settings(participant_id="did:web:fuzz.test", api_key=API_KEY, database_url=f"sqlite:///{database}",
                         transport="httpx")
    with TestClient(create_app(settings_), headers={"X-Api-Key": API_KEY}) as client:  # runs the lifespan
        spec = client.get("/management/openapi.json").json()
        for path in ("assets", "policydefinitions", "contractdefinitions", "business-partner-groups"):
            example = spec["paths"][f"/management/v3/{path}"]["post"]["requestBody"]["content"]["application/json"]
            assert client.post(f"/management/v3/{path}", json=example["example"]).status_code in (200, 204), path
        yield client


# half the calls name what the documented examples created, so they get past the 404 into the handler
KNOWN_IDS = {"asset_id": "pcf-NG-WC-400", "policy_id": "bpn-access", "cd_id": "pcf-offer", "bpn": "BPNL000000000002",
             "group": "gold"}


def _strategy(operation: Any, mode: GenerationMode) -> st.SearchStrategy:
    strategy = operation.as_strategy(generation_mode=mode)
    known = {name: KNOWN_IDS[name] for name in KNOWN_IDS if "{" + name + "}" in operation.path}
    if not known:
        return strategy
    return st.one_of(strategy, operation.as_strategy(generation_mode=mode, path_parameters=known))


def _operations(client: TestClient) -> list:
    document = client.get("/management/openapi.json")
    assert document.status_code == 200
    schema = schemathesis.openapi.from_dict(document.json())
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    return [op for op in operations if op.method.lower() not in SKIP_METHODS]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_no_management_call_answers_5xx(management_app: TestClient, mode: GenerationMode,
                                        httpx_mock: object) -> None:
    """Every operation, valid and invalid input: a 4xx naming the field, or success; never a 5xx.
    (pytest-httpx answers nothing, so a call that would reach a peer fails as unreachable.)"""
    operations = _operations(management_app)
    assert len(operations) > 20
    found: list[str] = []
    statuses: dict[int, int] = {}
    for operation in operations:
        strategy = _strategy(operation, mode)

        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def call(case: schemathesis.Case) -> None:
            kwargs = case.as_transport_kwargs(base_url="http://testserver")
            kwargs.pop("headers", None)
            response = management_app.request(**{k: v for k, v in kwargs.items() if k in (
                "method", "url", "params", "json", "content", "data")},
                headers={**(case.headers or {}), "X-Api-Key": API_KEY})
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            try:
                case.validate_response(response, checks=[not_a_server_error])
            except FailureGroup:  # keep going: report every 5xx at once
                found.append(f"{case.method} {case.formatted_path} {response.status_code}: "
                             f"body={case.body!r} query={case.query!r} -> {response.text[:300]}")

        call()
    assert not found, "\n".join(found)
    print(mode.value, sorted(statuses.items()))
