"""DCP issuance between real processes over HTTP: ``connector issuer serve`` and a holder connector.

The holder asks with ``connector credentials request``; the issuer resolves the holder's DID,
finds its CredentialService and delivers there; the running connector verifies and stores the
credentials in its wallet. ``connector bpn resolve`` then finds a DID in the issuer's BPN-DID
directory with the membership just issued.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from connector.cli.credentials import start_issuer, wait_issuer_ready
from connector.cli.identity import identity_section
from connector.cli.launch import free_port
from connector.identity.dcp_issuance import IssuanceBook
from connector.identity.issuer import Issuer
from connector.identity.wallet import Wallet, new_key_file
from tests.integration.conftest import Node

pytestmark = pytest.mark.integration

HOLDER_BPN, OTHER_BPN = "BPNL00000ACHSEAG", "BPNL0000000NGUSS"
OTHER_DID = "did:web:localhost%3A1:nordguss"  # admitted, listed, not running


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "connector.cli.main", *args], capture_output=True, text=True,
                          timeout=60)


@pytest.fixture
def running(tmp_path):
    issuer_port = free_port()
    issuer = Issuer.init(tmp_path / "issuer", f"did:web:localhost%3A{issuer_port}:issuer")
    holder = Node("holder", tmp_path)
    new_key_file(tmp_path / "holder.keys.json", holder.participant_id)
    book = IssuanceBook(issuer)
    book.admit(holder.participant_id, bpn=HOLDER_BPN, kinds=["Membership", "Bpn"])
    book.admit(OTHER_DID, bpn=OTHER_BPN, kinds=["Membership"])
    directory_url = issuer.service_url.rsplit("/dcp", 1)[0] + "/api/directory"
    holder.write_config([], extra="\n".join([
        "retry_base_seconds = 0.2",
        identity_section("dcp", tmp_path / "holder.keys.json", tmp_path / "holder.credentials.json", [issuer.did],
                         insecure_localhost=True, status_list_cache_seconds=0, bpn_directory_url=directory_url)]))
    # the holder's Credential Service is announced at 127.0.0.1 (its public_url): allow it
    process = start_issuer(tmp_path / "issuer", issuer_port, tmp_path / "issuer.log", allow=("127.0.0.1",))
    try:
        holder.start()
        wait_issuer_ready(process, "/issuer/dcp")
        yield issuer, holder, process
    finally:
        process.stop()
        if holder.process is not None:
            holder.process.stop()


def test_credentials_requested_delivered_stored_and_used(running, tmp_path):
    issuer, holder, process = running
    url = issuer.service_url.replace("localhost", "127.0.0.1")
    done = cli("credentials", "request", "--issuer", url, "--type", "MembershipCredential", "--type", "Bpn",
               "--config", str(holder.config))
    assert done.returncode == 0, done.stderr + process.log.read_text()
    assert "issued" in done.stdout
    held = Wallet.load(tmp_path / "holder.credentials.json").entries
    assert sorted(e["type"][-1] for e in held) == ["BpnCredential", "MembershipCredential"]
    assert {e["issuer"] for e in held} == {issuer.did}
    listed = cli("credentials", "list", "--config", str(holder.config))
    assert "MembershipCredential" in listed.stdout and issuer.did in listed.stdout

    # a type the holder is not admitted for: refused with the reason, nothing stored
    refused = cli("credentials", "request", "--issuer", url, "--type", "DataExchangeGovernance",
                  "--config", str(holder.config))
    assert refused.returncode == 1 and "not admitted for DataExchangeGovernanceCredential" in refused.stderr
    assert len(Wallet.load(tmp_path / "holder.credentials.json").entries) == 2
    state = json.loads((tmp_path / "issuer" / "issuer.json").read_text())
    assert [r["status"] for r in state["requests"]] == ["ISSUED"]

    # the BPN-DID directory, with the membership just delivered
    found = cli("bpn", "resolve", OTHER_BPN, "--config", str(holder.config))
    assert found.returncode == 0, found.stderr
    assert found.stdout.startswith(f"{OTHER_DID}  (directory)")
    assert "no DSP URL" in found.stdout  # its DID document cannot be read: said, not hidden
    missing = cli("bpn", "resolve", "BPNL00000000000Z", "--config", str(holder.config))
    assert missing.returncode == 1 and "names no DID" in missing.stderr
