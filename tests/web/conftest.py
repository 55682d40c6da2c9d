"""Browser fixtures: Debian's Chromium driven by Playwright, and two real connectors in dcp mode.

Chromium is the system one (``/usr/bin/chromium``, installed by ``make test`` / .ci/run where
missing); Playwright never downloads a browser. Screenshots go to ``var/screenshots/`` (or
``PONTIS_SCREENSHOTS``), which CI keeps as an artifact.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.identity.issuer import Issuer, provision
from connector.identity.wallet import Wallet, new_key_file
from tests.harness import Node
from tests.identity_service.test_dcp_integration import dcp_section

CHROMIUM = os.environ.get("PONTIS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(os.environ.get("PONTIS_SCREENSHOTS", Path(__file__).resolve().parents[2] / "var" / "screenshots"))
PROVIDER_BPN, CONSUMER_BPN = "BPNL0000000NGUSS", "BPNL00000ACHSEAG"


def _missing(reason: str) -> None:
    # a developer without Chromium gets a skip that says how to get it; CI must run these tests
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(reason + "; under CI this is an error, not a skip", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")  # Playwright's sync API holds an event loop: stop it when the module ends
def browser() -> Iterator[object]:
    try:
        from playwright import sync_api
    except ImportError:
        _missing("playwright is not installed: pip install -e '.[test]'")
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        _missing(f"no Chromium at {CHROMIUM}: `make test` installs Debian's (apt-get install -y chromium)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


class Company(Node):
    """A connector process with its DID key and credentials from the data space's issuer."""

    def admin_page(self, browser):  # type: ignore[no-untyped-def]
        context = browser.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page


@pytest.fixture
def dataspace(tmp_path) -> Iterator[tuple[Company, Company, Issuer]]:
    """Nordguss (provider, hosts the issuer) and Achsen (consumer), running, both in dcp mode.

    Achsen holds Membership and BPN credentials but not yet the DataExchangeGovernance one, so a
    usage policy that asks for that framework agreement refuses it until the issuer issues it."""
    nordguss, achsen = Company("nordguss", tmp_path), Company("achsen", tmp_path)
    issuer = Issuer.init(tmp_path / "issuer", f"did:web:localhost%3A{nordguss.port}:issuer")
    for node, bpn, kinds in ((nordguss, PROVIDER_BPN, ("Membership", "Bpn", "DataExchangeGovernance")),
                             (achsen, CONSUMER_BPN, ("Membership", "Bpn"))):
        new_key_file(tmp_path / f"{node.name}.keys.json", node.participant_id)
        provision(issuer, node.participant_id, bpn=bpn, kinds=kinds,
                  wallet=Wallet(tmp_path / f"{node.name}.credentials.json"))
    files = tmp_path / "files"
    files.mkdir()
    trusted = [issuer.did]
    nordguss.write_config([achsen], extra="\n".join([
        "retry_base_seconds = 0.2", f'bpn = "{PROVIDER_BPN}"',
        dcp_section(nordguss, trusted, tmp_path / "issuer"), "[dataplane]", f'files_dir = "{files}"']))
    achsen.write_config([nordguss], extra="\n".join([
        "retry_base_seconds = 0.2", f'bpn = "{CONSUMER_BPN}"', dcp_section(achsen, trusted)]))
    try:
        nordguss.start()
        achsen.start()
        yield nordguss, achsen, issuer
    finally:
        for node in (nordguss, achsen):
            if node.process is not None:
                node.process.stop()
