"""The admin's story in a real browser (headless Chromium), against two real connector processes.

Nordguss's admin logs in, writes a usage policy with a misspelt constraint and sees the error at
that field as she types (and again if she saves anyway), fixes it, publishes a document and a
file, and offers the document under it. Achsen's admin browses Nordguss's catalog and negotiates:
refused, and both consoles show why (the FrameworkAgreement constraint, the missing credential).
Nordguss's admin asks "explain for Achsen" and reads the same. The issuer issues the credential;
Achsen fetches again: agreed and signed by both, the transfer starts, the data downloads, the
signatures verify and the signed export downloads. Screenshots of the main pages go to
var/screenshots/.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest

from connector.cli.launch import free_port
from connector.identity.issuer import provision
from connector.identity.wallet import Wallet
from tests.harness import settle

pytestmark = pytest.mark.integration

PCF = {"productId": "NG-WC-400", "pcf": {"value": 12.5, "unit": "kg CO2e"}}
TYPO = "FrameworkAgrement"
FIELD = "permission[0].constraint[0].and[0].leftOperand"
PARTS = Path(__file__).resolve().parents[2] / "examples" / "supply-chain" / "parts" / "nordguss.json"


def login(page, node) -> None:  # type: ignore[no-untyped-def]
    page.goto(node.base + "/ui/")
    assert "/ui/login" in page.url
    page.fill("#api_key", node.api_key)
    page.click("button[type=submit]")
    page.wait_for_url(node.base + "/ui/")


def until(page, url: str, selector: str, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    """Reload ``url`` until ``selector`` is on it (the processes move on their own)."""
    def shown() -> bool:
        page.goto(url)
        return bool(page.locator(selector).count())

    settle(until=shown, timeout=timeout, what=lambda: f"{selector} on {url}: {page.inner_text('main')[:1500]}")


def shot(page, folder, name: str) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_the_admin_story_in_a_browser(browser, dataspace, screenshots, tmp_path):
    nordguss, achsen, issuer = dataspace
    admin = nordguss.admin_page(browser)
    errors: list[str] = []
    # script errors and CSP refusals; a page answered 400 or 401 on purpose is not one
    admin.on("pageerror", lambda exc: errors.append(str(exc)))
    admin.on("console", lambda m: errors.append(m.text) if m.type == "error" and "Failed to load resource" not in m.text
             else None)

    # --- log in: a wrong key is refused on the page, the right one opens the overview --------------
    admin.goto(nordguss.base + "/ui/")
    assert "/ui/login" in admin.url
    shot(admin, screenshots, "01-login")
    admin.fill("#api_key", "not-the-key")
    admin.click("button[type=submit]")
    assert "not this connector's management key" in admin.inner_text(".field-error")
    admin.fill("#api_key", nordguss.api_key)
    admin.click("button[type=submit]")
    admin.wait_for_url(nordguss.base + "/ui/")
    assert nordguss.participant_id in admin.inner_text("main")
    assert "DataExchangeGovernanceCredential" in admin.inner_text("main")
    admin.wait_for_selector("text=answers")  # Achsen answers at its DSP address

    # --- a usage policy with a misspelt constraint: the error appears at the field as she types -----
    admin.goto(nordguss.base + "/ui/policies/new?template=pcf-exchange-usage")
    admin.fill("#policy-id", "pcf-usage")
    admin.fill(f'input[name="{FIELD}"]', TYPO)
    error_at_field = admin.locator(f'[data-errors-for="{FIELD}"] .field-error')
    error_at_field.wait_for()
    assert "closest: FrameworkAgreement" in error_at_field.inner_text()
    assert admin.get_attribute(f'input[name="{FIELD}"]', "aria-invalid") == "true"
    assert "1 problem" in admin.inner_text("#validity")
    shot(admin, screenshots, "02-policy-editor-error-at-field")
    # saved anyway: refused, the server's page shows it at the same field, nothing stored
    admin.click("text=Save policy")
    admin.wait_for_load_state()
    assert "closest: FrameworkAgreement" in admin.inner_text(f'[data-errors-for="{FIELD}"]')
    assert nordguss.management("GET", "/v3/policydefinitions/pcf-usage").status_code == 404
    # fixed: valid, saved
    admin.fill(f'input[name="{FIELD}"]', "FrameworkAgreement")
    admin.wait_for_selector("#validity .badge.ok")
    assert admin.locator(f'[data-errors-for="{FIELD}"] .field-error').count() == 0
    admin.click("text=Save policy")
    admin.wait_for_url(nordguss.base + "/ui/policies/pcf-usage")
    assert "Policy pcf-usage saved." in admin.inner_text(".notice")

    # an access policy for members: the template as it is (Membership only; the FrameworkAgreement
    # belongs in the usage policy, where a negotiation can prove it)
    admin.goto(nordguss.base + "/ui/policies/new?template=member-access")
    admin.fill("#policy-id", "members")
    assert admin.locator('.row.constraint input[value="FrameworkAgreement"]').count() == 0
    admin.wait_for_selector("#validity .badge.ok")
    admin.click("text=Save policy")
    admin.wait_for_url(nordguss.base + "/ui/policies/members")

    # --- publish a document and a file, offer the document --------------------------------------------
    admin.goto(nordguss.base + "/ui/assets")
    admin.fill("#asset-id", "pcf-NG-WC-400")
    admin.fill("#asset-title", "PCF of casting NG-WC-400")
    admin.fill("#asset-document", json.dumps(PCF))
    admin.click("button:has-text('Publish')")
    assert "Asset pcf-NG-WC-400 published." in admin.inner_text(".notice")
    drawing = tmp_path / "NG-WC-400.step"
    drawing.write_bytes(b"ISO-10303-21; a casting drawing\n" * 100)
    admin.fill("#asset-id", "drawing-NG-WC-400")
    admin.fill("#asset-title", "Drawing of casting NG-WC-400")
    admin.check("input[name=kind][value=file]")
    assert admin.is_hidden("#asset-document")
    admin.set_input_files("#asset-upload", str(drawing))
    admin.click("button:has-text('Publish')")
    assert "Asset drawing-NG-WC-400 published." in admin.inner_text(".notice")
    assert "PontisFile" in admin.inner_text("table")
    shot(admin, screenshots, "03-assets")

    admin.goto(nordguss.base + "/ui/contracts")
    admin.fill("#cd-id", "pcf-offer")
    admin.select_option("#cd-asset", "pcf-NG-WC-400")
    admin.select_option("#cd-access", "members")
    admin.select_option("#cd-usage", "pcf-usage")
    admin.click("button:has-text('Offer')")
    assert "Contract definition pcf-offer created" in admin.inner_text(".notice")
    shot(admin, screenshots, "04-contract-definitions")

    # --- Achsen's admin browses Nordguss's catalog and negotiates: refused, with the reason -----------
    buyer = achsen.admin_page(browser)
    login(buyer, achsen)
    buyer.goto(achsen.base + "/ui/partners")
    buyer.select_option("#partner-peer", nordguss.participant_id)
    buyer.click("text=Browse catalog")
    row = buyer.locator("tr", has=buyer.locator("code", has_text="pcf-NG-WC-400"))
    assert "FrameworkAgreement eq DataExchangeGovernance:1.0" in row.inner_text()
    shot(buyer, screenshots, "05-partner-catalog")
    row.locator("button:has-text('Negotiate')").click()
    buyer.wait_for_selector(".notice")
    refused_at = buyer.url
    until(buyer, refused_at, ".timeline .step.bad")
    assert "FrameworkAgreement" in buyer.inner_text(".denial")  # the provider's reason, on the buyer's side
    shot(buyer, screenshots, "05b-buyer-sees-the-refusal")

    until(admin, nordguss.base + "/ui/negotiations", "text=TERMINATED")
    assert "FrameworkAgreement" in admin.inner_text(".reason-cell")
    shot(admin, screenshots, "06-negotiations")
    admin.click("table a >> nth=0")
    admin.wait_for_selector(".timeline .step.bad")
    denial = admin.inner_text(".denial")
    assert "FrameworkAgreement" in denial and "DataExchangeGovernance" in denial
    shot(admin, screenshots, "07-negotiation-denied-timeline")

    # --- "explain for Achsen": what it would see, and why -------------------------------------------
    admin.goto(nordguss.base + "/ui/policies/pcf-usage")
    admin.fill("#explain-for", achsen.participant_id)
    admin.click("button:has-text('Explain')")
    verdict = admin.inner_text(".verdict")
    assert "Denied" in verdict
    assert "FrameworkAgreement" in admin.inner_text(".explanation")
    assert "visible" in admin.inner_text("table")  # the offer is shown to Achsen, but it cannot agree
    shot(admin, screenshots, "08-policy-explain")
    admin.goto(nordguss.base + "/ui/assets/pcf-NG-WC-400?explain_for=" + quote(achsen.participant_id))
    assert "visible" in admin.inner_text("table") and "DataExchangeGovernance" in admin.inner_text("table")
    shot(admin, screenshots, "08b-asset-explain")

    # --- the issuer issues the credential; Achsen fetches: agreed, signed, transferred, downloaded ----
    provision(issuer, achsen.participant_id, bpn=None, kinds=("DataExchangeGovernance",),
              wallet=Wallet.load(tmp_path / "achsen.credentials.json"))
    buyer.goto(achsen.base + "/ui/partners?peer=" + quote(nordguss.participant_id))
    buyer.locator("tr", has=buyer.locator("code", has_text="pcf-NG-WC-400")) \
        .locator("button:has-text('Fetch')").click()
    buyer.wait_for_selector(".notice")
    negotiation_page = buyer.url
    until(buyer, negotiation_page, "a[href^='/ui/transfers/']")
    assert "FINALIZED" in buyer.inner_text(".process-head")
    shot(buyer, screenshots, "09-negotiation-finalized")
    transfer_page = achsen.base + buyer.get_attribute("a[href^='/ui/transfers/']", "href")
    until(buyer, transfer_page, "#download")
    shot(buyer, screenshots, "10-transfer-started")
    with buyer.expect_download() as download:
        buyer.click("#download")
    assert json.loads(open(download.value.path()).read())["pcf"] == PCF["pcf"]

    buyer.goto(achsen.base + "/ui/agreements")
    buyer.click("table a >> nth=0")
    assert buyer.locator(".signature").count() == 2  # the provider signed, we counter-signed
    buyer.click("#verify")
    assert "Verified." in buyer.inner_text(".verdict")
    assert "consumer counter-signed" in buyer.inner_text(".verdict")
    shot(buyer, screenshots, "11-agreement-verified")
    with buyer.expect_download() as download:
        buyer.click("text=Download signed export")
    export = json.loads(open(download.value.path()).read())
    assert export["signedAgreement"]["proof"] and len(export["didDocuments"]) == 2

    # --- the rest of Nordguss's console, for the record --------------------------------------------------
    admin.goto(nordguss.base + "/ui/groups")
    admin.fill("#group-bpn", "BPNL00000ACHSEAG")
    admin.fill("#group-names", "pcf-pilot, tier-1")
    admin.click("button:has-text('Save')")
    assert "BPNL00000ACHSEAG is now in pcf-pilot, tier-1." in admin.inner_text(".notice")
    shot(admin, screenshots, "12-partner-groups")
    admin.goto(nordguss.base + "/ui/peers")
    admin.fill("#peer-id", "did:web:motorwerke.example")
    admin.fill("#peer-dsp", f"http://127.0.0.1:{free_port()}/api/dsp/2025-1")  # nobody listens there
    admin.fill("#peer-bpn", "BPNL0000MOTORWRK")
    admin.click("button:has-text('Add peer')")
    assert "Peer did:web:motorwerke.example added" in admin.inner_text(".notice")
    assert admin.locator("tr", has_text="motorwerke").locator(".badge.bad").inner_text() == "no answer"
    assert admin.locator("tr", has_text=achsen.participant_id).locator(".badge.ok").inner_text() == "answers"

    # --- footprints: a CSV with a wrong unit is refused at its row and column, the fixed one published --
    admin.goto(nordguss.base + "/ui/footprints")
    header = "productId,productName,declaredUnit,pcfExcludingBiogenicUptake\n"
    admin.set_input_files("#fp-upload", files=[{"name": "pcf.csv", "mimeType": "text/csv",
                                                "buffer": (header + "NG-WC-400,Casting,pieces,12.5\n").encode()}])
    admin.click("button:has-text('Sign and publish')")
    assert "row 2" in admin.inner_text("#import-problems") and "declaredUnit" in admin.inner_text("#import-problems")
    shot(admin, screenshots, "17-footprint-import-refused")
    admin.set_input_files("#fp-upload", files=[{"name": "pcf.csv", "mimeType": "text/csv",
                                                "buffer": (header + "NG-WC-400,Casting,piece,12.5\n").encode()}])
    admin.click("button:has-text('Sign and publish')")
    assert "1 footprint signed and published." in admin.inner_text(".notice")
    assert "Active" in admin.inner_text("#published") and "signed" in admin.inner_text("#published")
    shot(admin, screenshots, "18-footprints")

    # --- provenance: what Nordguss's batch went into; the tree is the connector's own picture ----------
    parts = json.loads(PARTS.read_text())
    assert nordguss.management("POST", "/v3/parts/import", parts).status_code == 200
    admin.goto(nordguss.base + "/ui/provenance")
    admin.fill("#job-part", "NG-B-2026-11-07")
    admin.check("input[name=direction][value=upward]")
    admin.click("button:has-text('Start')")
    assert "Traversal job started." in admin.inner_text(".notice")
    until(admin, admin.url, "h2 .badge:text-matches('COMPLETED|ERROR|CANCELED')")
    assert admin.frame_locator("iframe.tree-frame").locator("svg").count() == 1  # framed, under its own CSP
    shot(admin, screenshots, "19-provenance-tree")
    for name, path in (("00-overview", "/ui/"), ("13-policies", "/ui/policies"), ("14-peers", "/ui/peers"),
                       ("15-transfers", "/ui/transfers"), ("16-agreements", "/ui/agreements")):
        admin.goto(nordguss.base + path)
        shot(admin, screenshots, name)
    assert not errors, errors  # no script errors, no CSP violations in the browser's console
