"""The policy editor follows ``[profile] dataspace`` (and ``[gaiax]``): that data space's operands and
templates come first, and an unknown operand is answered with the closest operand of that profile."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from connector.app import create_app
from connector.config import Settings
from connector.services.container import build
from connector.web.policy_form import operands_for, profile_operands, templates_for, with_profile_hints
from tests.harness import Clock
from tests.web.test_console_security import KEY, START_MS, Console

FIELD = "permission[0].constraint[0].leftOperand"


def _typo(word: str) -> dict:
    return {"permission": [{"action": "access", "constraint": [
        {"leftOperand": word, "operator": "eq", "rightOperand": "active"}]}]}


def _hint(word: str, dataspace: str, gaiax: bool = False) -> str:
    [problem] = with_profile_hints([{"path": FIELD, "found": "unknown", "expected": "?", "code": "unknown-operand"}],
                                   _typo(word), dataspace, gaiax)
    return problem["expected"]


def test_each_profile_offers_its_own_operands_first() -> None:
    assert profile_operands("factory-x") == ("FxMembership", "FxCertificationType", "BusinessPartnerDID")
    assert operands_for("factory-x")[:3] == ("FxMembership", "FxCertificationType", "BusinessPartnerDID")
    assert operands_for("factory-x", gaiax=True)[:4] == ("FxMembership", "FxCertificationType", "BusinessPartnerDID",
                                                         "GaiaxLabelLevel")
    assert operands_for("catena-x")[:4] == ("Membership", "FrameworkAgreement", "BusinessPartnerNumber",
                                            "BusinessPartnerGroup")
    assert operands_for("catena-x", gaiax=True).index("GaiaxLabelLevel") < operands_for("catena-x").index("FxMembership")
    assert operands_for("both")[:4] == ("FxMembership", "FxCertificationType", "BusinessPartnerDID", "Membership")
    for dataspace in ("catena-x", "factory-x", "both"):  # nothing is taken away, only ordered
        assert sorted(operands_for(dataspace, True)) == sorted(operands_for("catena-x"))
    names = ["bpn-restricted-access", "fx-member-access", "member-access"]
    assert templates_for(names, "factory-x") == ["fx-member-access", "bpn-restricted-access", "member-access"]
    assert templates_for(names, "catena-x") == names


def test_an_unknown_operand_is_answered_with_the_closest_of_the_profile() -> None:
    assert _hint("Certification", "factory-x") == "a Factory-X left operand (closest: FxCertificationType)"
    assert _hint("fx-policy:Membrship", "factory-x") == "a Factory-X left operand (closest: FxMembership)"
    assert _hint("Membrship", "catena-x") == "a Catena-X 2025-09 left operand (closest: Membership)"
    assert _hint("LabelLevel", "catena-x", gaiax=True) == \
        "a Catena-X 2025-09 and Gaia-X left operand (closest: GaiaxLabelLevel)"
    assert _hint("Zzzz", "factory-x") == "a Factory-X left operand (the Factory-X operands: FxMembership, " \
                                         "FxCertificationType, BusinessPartnerDID)"
    assert _hint("BusinessPartnerDid", "factory-x") == "a Factory-X left operand (closest: BusinessPartnerDID)"


@pytest.fixture
def fx_console(tmp_path: Path) -> Iterator[Console]:
    settings = Settings(participant_id="did:web:solo.test", bpn="BPNL000000000001", api_key=KEY,
                        database_url=f"sqlite:///{tmp_path / 'ui.db'}", profile={"dataspace": "factory-x"})
    clock = Clock(START_MS)
    services = build(settings, clock=clock)
    with TestClient(create_app(settings, services, run_worker=False)) as client:
        yield Console(client, clock, services)


def test_the_factory_x_console_leads_with_factory_x(fx_console: Console) -> None:
    fx_console.login()
    page = fx_console.client.get("/ui/policies/new?template=fx-member-access").text
    datalist = re.search(r'<datalist id="operands">(.*?)</datalist>', page, re.S)
    assert datalist is not None
    assert re.findall(r'<option value="([^"]+)">', datalist.group(1))[:3] == ["FxMembership", "FxCertificationType",
                                                                            "BusinessPartnerDID"]
    chips = re.findall(r'href="/ui/policies/new\?template=([^"]+)"', page)
    assert chips[0] == "fx-member-access"
    csrf = fx_console.csrf("/ui/policies/new")
    checked = fx_console.client.post("/ui/api/policies/validate", headers={"X-CSRF-Token": csrf}, json={"fields": {
        "@type": "Set", "permission[0].action": "access", FIELD: "Certification",
        "permission[0].constraint[0].operator": "eq", "permission[0].constraint[0].rightOperand": "ISO9001"}}).json()
    assert not checked["valid"]
    assert [(p["path"], p["expected"]) for p in checked["problems"]] == [
        (FIELD, "a Factory-X left operand (closest: FxCertificationType)")]
