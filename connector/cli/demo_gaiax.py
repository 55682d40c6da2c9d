"""The demo's Gaia-X step: one company onboards at a local mock GXDCH and shows its label.

``GaiaxStep.prepare`` (before the company starts: its DID document must carry the Gaia-X key)
starts the mock (``connector gaiax mock``) under a fresh mock trust anchor, adds a ``[gaiax]``
section to the company's config and makes its P-256 key and certificate chain.
``onboard_and_show`` (once the company answers) runs the onboarding, then checks the label as a
partner would and prints what a policy sees. ``stop`` ends the mock. Integration tests use it too.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connector.cli.launch import free_port
from connector.identity.did import DidResolutionError
from connector.services.ssrf import Allowlist, OutgoingGuard
from connector.services.transport import DocumentFetch

TERMS_HASH = "067dcac5efd18c1927deb1ffed3feab6d0ad044c0a9a263e6d5d8bdc43224515"


def gaiax_section(folder: Path, mock_base: str, legal_name: str, vat: str = "DE129273398") -> str:
    return "\n".join([
        "", "[gaiax]", f'key_file = "{folder / "gaiax.key.pem"}"', f'chain_file = "{folder / "gaiax.chain.pem"}"',
        f'legal_name = "{legal_name}"', 'country_code = "DE"', 'registration_number_kind = "vat-id"',
        f'registration_number = "{vat}"', f'notary_url = "{mock_base}/notary/v2"',
        f'compliance_url = "{mock_base}/compliance/v2"', f'registry_url = "{mock_base}/registry/v2"', ""])


def _local_fetch() -> DocumentFetch:
    """GETs to this machine's mock and connector, through the one door out."""
    return DocumentFetch(OutgoingGuard(Allowlist.parse(["localhost", "127.0.0.1"])), timeout=10, max_bytes=1 << 20)


@dataclass
class GaiaxStep:
    config: Path
    folder: Path
    mock_base: str
    mock: subprocess.Popen

    @classmethod
    def prepare(cls, config: Path, folder: Path, legal_name: str) -> GaiaxStep:
        from connector.gaiax.keys import CertificateAuthority, chain_pem, generate_private_key, write_private_pem

        folder.mkdir(parents=True, exist_ok=True)
        now = datetime.now(UTC)
        ca = CertificateAuthority.load_or_create(folder / "mock-ca", "Pontis mock Gaia-X trust anchor", now)
        port = free_port()
        base = f"http://localhost:{port}"
        log = open(folder / "mock-gxdch.log", "ab")
        process = subprocess.Popen([sys.executable, "-m", "connector.cli.main", "gaiax", "mock", "--port", str(port),
                                    "--ca-dir", str(folder / "mock-ca")], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        step = cls(config, folder, base, process)
        with config.open("a") as handle:
            handle.write(gaiax_section(folder, base, legal_name))
        key = generate_private_key()
        write_private_pem(folder / "gaiax.key.pem", key)
        from connector.config import load_settings

        did = load_settings(config).participant_id
        (folder / "gaiax.chain.pem").write_bytes(chain_pem(ca.issue(key.public_key(), did, now)))
        step.wait_ready()
        return step

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        fetch = _local_fetch()
        try:
            while time.monotonic() < deadline:
                if self.mock.poll() is not None:
                    raise RuntimeError(f"the mock GXDCH exited; see {self.folder / 'mock-gxdch.log'}")
                try:
                    fetch(self.mock_base + "/registry/v2/api/trusted-issuers")
                    return
                except DidResolutionError:
                    time.sleep(0.1)
        finally:
            fetch.close()
        raise RuntimeError(f"the mock GXDCH did not answer at {self.mock_base} within {timeout} s")

    def onboard(self) -> Any:
        """Onboard (as ``connector gaiax onboard`` does) and return the result."""
        from connector.config import load_settings
        from connector.gaiax.service import onboard_with_settings
        from connector.store.db import Database

        settings = load_settings(self.config)
        db = Database(settings.database_url)
        try:
            return onboard_with_settings(settings, db, datetime.now(UTC))
        finally:
            db.dispose()

    def onboard_and_show(self, console: Any) -> None:
        from connector.config import load_settings
        from connector.gaiax.label import verify_label
        from connector.gaiax.service import resolver_for

        console.rule("Gaia-X: a participant label from a (mock) Gaia-X Clearing House")
        started = time.monotonic()
        done = self.onboard()
        label = done.label
        console.print(f"  {label.subject} onboarded in {time.monotonic() - started:.1f} s: Notary → LegalPerson + "
                      "Issuer (T&C) → SHACL 25.11 → VP-JWT → Compliance")
        console.print(f"  label [bold]{label.level}[/bold] ({label.rules_version}) issued by {label.issuer}, "
                      f"valid until {label.valid_until}, covering {', '.join(sorted(set().union(*label.covered.values())))}")
        settings = load_settings(self.config)
        fetch = _local_fetch()
        try:
            served = fetch(label.id).decode()
        finally:
            fetch.close()
        console.print(f"  the label is served at {label.id} ({len(served)} bytes of VC-JWT)")
        checked = verify_label(served, list(done.credentials.values()), label.subject, resolver_for(settings),
                               [label.issuer], datetime.now(UTC))
        console.print(f"  a partner checks it and its policies see: gaiaxLabelLevel = {checked.claims()['gaiaxLabelLevel']}")

    def stop(self) -> None:
        if self.mock.poll() is None:
            self.mock.terminate()
            try:
                self.mock.wait(10)
            except subprocess.TimeoutExpired:
                self.mock.kill()
                self.mock.wait()
