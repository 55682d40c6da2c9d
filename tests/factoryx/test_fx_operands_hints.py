"""The management API answers an unknown left operand with the closest operand of the configured
``[profile] dataspace`` first, by the same rule as the console's editor (connector.policy.suggest)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from connector.policy.suggest import unknown_operand_expected
from tests.management.conftest import client_for, make_settings

POLICIES = "/management/v3/policydefinitions"
VOCAB = {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"}
CX = ["https://w3id.org/catenax/2025/9/policy/context.jsonld", "https://w3id.org/dspace/2025/1/odrl-profile.jsonld",
      VOCAB]


def _api(tmp_path: Path, dataspace: str, **extra: object) -> Iterator[TestClient]:
    settings = make_settings(f"sqlite:///{tmp_path / 'api.db'}", profile={"dataspace": dataspace}, **extra)
    with client_for(settings) as client:
        yield client


@pytest.fixture
def fx_api(tmp_path: Path) -> Iterator[TestClient]:
    yield from _api(tmp_path, "factory-x")


@pytest.fixture
def cx_api(tmp_path: Path) -> Iterator[TestClient]:
    yield from _api(tmp_path, "catena-x")


def _refusal(api: TestClient, left: str) -> list[dict]:
    r = api.post(POLICIES, json={"@context": CX, "@id": "p1", "policy": {"@type": "Set", "permission": [
        {"action": "access", "constraint": [{"leftOperand": left, "operator": "eq", "rightOperand": "x"}]}]}})
    assert r.status_code == 400, r.text
    assert api.get(f"{POLICIES}/p1").status_code == 404  # nothing stored
    return r.json()


def test_factory_x_suggests_its_own_operand_first(fx_api: TestClient) -> None:
    [error] = _refusal(fx_api, "BusinessPartnerDi")
    assert error["path"] == "policy.permission[0].constraint[0].leftOperand"
    assert error["message"].endswith("expected a Factory-X left operand (closest: BusinessPartnerDID)"), error
    # a typo nearer a Catena-X operand still gets the Factory-X one first, as in the editor
    [error] = _refusal(fx_api, "Membrship")
    assert error["message"].endswith("expected a Factory-X left operand (closest: FxMembership)"), error


def test_catena_x_suggests_its_own_operand_first(cx_api: TestClient) -> None:
    [error] = _refusal(cx_api, "BusinessPartnerNumbr")
    assert error["message"].endswith("expected a Catena-X 2025-09 left operand (closest: BusinessPartnerNumber)")
    [error] = _refusal(cx_api, "Zzzz")
    assert "the Catena-X 2025-09 operands: Membership, FrameworkAgreement" in error["message"]


def test_the_editor_and_the_api_share_the_rule(fx_api: TestClient) -> None:
    [error] = _refusal(fx_api, "Certification")
    assert error["message"].endswith("expected " + unknown_operand_expected("Certification", "factory-x"))
