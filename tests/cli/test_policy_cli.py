"""``connector policy validate`` and ``connector policy explain``."""

import json

import pytest
from typer.testing import CliRunner

from connector.cli.main import app
from tests.harness import Node, write_seed

runner = CliRunner()


def test_validate_accepts_a_template_and_names_each_violation(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"permission": [{"action": "use", "constraint": [{"and": [
        {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
        {"leftOperand": "UsagePurpose", "operator": "isAnyOf", "rightOperand": ["cx.pcf.base:1"]}]}]}]}))
    assert runner.invoke(app, ["policy", "validate", str(good)]).exit_code == 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"permission": [{"action": "use", "constraint": [
        {"leftOperand": "Membersheep", "operator": "eq", "rightOperand": "active"},
        {"leftOperand": "UsagePurpose", "operator": "isAnyOf", "rightOperand": ["cx.pcf.base:1"]}]}]}))
    result = runner.invoke(app, ["policy", "validate", str(bad)])
    assert result.exit_code == 1
    assert "closest: Membership" in result.output and "constraint[0].leftOperand" in result.output
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    assert runner.invoke(app, ["policy", "validate", str(garbage)]).exit_code == 2


@pytest.mark.integration
def test_explain_asks_the_running_connector(tmp_path):
    node = Node("provider", tmp_path)
    write_seed(tmp_path / "seed.json")
    node.write_config([], extra=f'seed_file = "{tmp_path / "seed.json"}"')
    node.start()
    try:
        denied = runner.invoke(app, ["policy", "explain", "--policy", "usage", "--as", "did:web:oem.test",
                                     "--config", str(node.config), "--claims", '{"membership": true}'])
        assert denied.exit_code == 1, denied.output
        assert "DENIED" in denied.output and "FrameworkAgreement" in denied.output
        allowed = runner.invoke(app, ["policy", "explain", "--policy", "usage", "--as", "did:web:oem.test",
                                      "--config", str(node.config), "--claims",
                                      '{"frameworkAgreements": {"DataExchangeGovernance": "1.0"}}'])
        assert allowed.exit_code == 0, allowed.output
    finally:
        node.process.stop()


def test_validate_refuses_unknown_terms_and_an_empty_policy_unless_marked_allow_all(tmp_path):
    def run(doc):
        file = tmp_path / "p.json"
        file.write_text(json.dumps(doc))
        return runner.invoke(app, ["policy", "validate", str(file)])

    typo = run({"permissions": [{"action": "use", "constraint": []}]})
    assert typo.exit_code == 1 and "permissions" in typo.output and "'permission' (the closest term)" in typo.output
    empty = run({"@type": "Set"})
    assert empty.exit_code == 1 and "without any rule" in empty.output and '"allowAll": true' in empty.output
    assert run({"@type": "Set", "allowAll": True}).exit_code == 0
    rule_typo = run({"permission": [{"action": "access", "constraints": []}]})
    assert rule_typo.exit_code == 1 and "permission[0].constraints" in rule_typo.output


def test_policy_messages_keep_their_brackets(tmp_path):
    # Rich markup once ate "[...]": a purpose list must print as written
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"permission": [{"action": "use", "constraint": [
        {"leftOperand": "UsagePurpose", "operator": "eq", "rightOperand": ["cx.pcf.base:1"]},
        {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"}]}]}))
    result = runner.invoke(app, ["policy", "validate", str(bad)])
    assert result.exit_code == 1 and "permission[0].constraint[0]" in result.output, result.output


def test_validate_warns_when_an_access_policy_needs_a_credential_a_dcp_catalog_call_cannot_prove(tmp_path):
    hidden = tmp_path / "hidden.json"
    hidden.write_text(json.dumps({"permission": [{"action": "access", "constraint": [{"and": [
        {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"},
        {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"}]}]}]}))
    result = runner.invoke(app, ["policy", "validate", str(hidden)])
    assert result.exit_code == 0  # valid under the profile, but probably not meant
    assert "warning: FrameworkAgreement needs a DataExchangeGovernanceCredential" in result.output
    assert "usage (contract) policy" in result.output
    # the same constraint in a usage policy, and Membership + BPN in an access policy: no warning
    usage = tmp_path / "usage.json"
    usage.write_text(json.dumps({"permission": [{"action": "use", "constraint": [{"and": [
        {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
        {"leftOperand": "UsagePurpose", "operator": "isAnyOf", "rightOperand": ["cx.pcf.base:1"]}]}]}]}))
    assert "warning" not in runner.invoke(app, ["policy", "validate", str(usage)]).output
    from pathlib import Path
    templates = Path(__file__).resolve().parents[2] / "policies"
    for name in ("member-access.json", "bpn-restricted-access.json"):
        result = runner.invoke(app, ["policy", "validate", str(templates / name)])
        assert result.exit_code == 0 and "warning" not in result.output, result.output
