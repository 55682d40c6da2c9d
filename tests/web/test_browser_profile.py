"""The policy editor of a Factory-X connector in a real browser (headless Chromium, one connector
process in ``[profile] dataspace = "factory-x"``): the Factory-X operands and template come first, a
misspelt operand is answered with the closest Factory-X one at its field, and the template saves."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness import Node
from tests.web.test_browser_story import login, shot

pytestmark = pytest.mark.integration
FIELD = "permission[0].constraint[0].leftOperand"


def test_the_factory_x_policy_editor_in_a_browser(browser, screenshots, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    node = Node("fxport", tmp_path)
    node.write_config([], extra='[profile]\ndataspace = "factory-x"\n')
    node.start()
    try:
        page = browser.new_context(viewport={"width": 1360, "height": 900}).new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        login(page, node)
        page.goto(node.base + "/ui/policies/new?template=fx-member-access")
        options = page.eval_on_selector_all("#operands option", "options => options.map(o => o.value)")
        assert options[:2] == ["FxMembership", "FxCertificationType"] and "Membership" in options
        assert page.locator("a.chip.link").nth(1).inner_text() == "fx-member-access"  # after "blank usage policy"
        page.fill("#policy-id", "fx-members")
        page.wait_for_selector("#validity .badge.ok")  # the template as it is
        page.fill(f'input[name="{FIELD}"]', "Certification")
        error_at_field = page.locator(f'[data-errors-for="{FIELD}"] .field-error')
        error_at_field.wait_for()
        assert "a Factory-X left operand (closest: FxCertificationType)" in error_at_field.inner_text()
        shot(page, screenshots, "fx-policy-editor-hint")
        page.fill(f'input[name="{FIELD}"]', "https://w3id.org/factoryx/policy/v1.0/Membership")
        page.wait_for_selector("#validity .badge.ok")
        page.click("text=Save policy")
        page.wait_for_url(node.base + "/ui/policies/fx-members")
        stored = node.management("GET", "/v3/policydefinitions/fx-members")
        assert stored.status_code == 200 and "factoryx/policy/v1.0/Membership" in stored.text
        assert errors == []
    finally:
        node.stop()
