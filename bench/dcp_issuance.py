"""Benchmark (not a test): what DCP credential issuance and the BPN-DID directory cost, in process.

The issuer service and the holder's storage endpoint are the real FastAPI apps, called through
Starlette's TestClient (ASGI in process: no sockets, so the figure is the protocol, crypto, file
and JSON work, not the network). DID documents and the issuer's status list come from memory
through the resolver.

Measured, medians over ``--rounds``: one whole issuance of a MembershipCredential (metadata,
CredentialRequestMessage with the holder's token, issue, deliver to the holder, verify and store
in the wallet, CredentialStatus); the BPN-DID directory answered to a member (membership
presentation verified, ``--entries`` BPN→DID pairs gzipped) and read by the client; a look-up
from the client's cache.

Usage: python bench/dcp_issuance.py [--rounds 50] [--entries 1000]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from dcp_presentation import median_ms  # noqa: E402  (the same timing as the presentation bench)
from fastapi import FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from connector.config import IdentitySettings, Settings  # noqa: E402
from connector.identity.bpn_directory import BpnDirectory  # noqa: E402
from connector.identity.dcp import create_presentation  # noqa: E402
from connector.identity.dcp_issuance import IssuanceBook  # noqa: E402
from connector.identity.dcp_messages import credential_service_entry  # noqa: E402
from connector.identity.did import DidResolver  # noqa: E402
from connector.identity.holder import request_credentials  # noqa: E402
from connector.identity.holder_web import storage_router  # noqa: E402
from connector.identity.issuer import Issuer  # noqa: E402
from connector.identity.issuer_service import issuer_app  # noqa: E402
from connector.identity.keys import KeySet, SigningKey  # noqa: E402
from connector.identity.wallet import LocalIdentity, Wallet  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--entries", type=int, default=1000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dcp-issuance-bench-"))
    issuer = Issuer.init(work / "issuer", "did:web:issuer.example")
    resolver = DidResolver(ttl_seconds=3600,
                           fetch=lambda url: (issuer.directory / "status-list.jwt").read_bytes())
    did = "did:web:holder.example"
    holder = LocalIdentity(did, KeySet(SigningKey.generate(f"{did}#key-1", did)), Wallet(work / "holder.json"),
                           resolver)
    resolver.pin(holder.did_document([credential_service_entry(did, "https://holder.example")]))
    resolver.pin(issuer.did_document())
    book = IssuanceBook(issuer)
    book.admit(did, bpn="BPNL00000000000A", kinds=["Membership"])
    for n in range(args.entries):
        book.admit(f"did:web:member{n}.example", bpn=f"BPNL{n:012d}", kinds=["Membership"])
    settings = Settings(participant_id=did, api_key="k",
                        identity=IdentitySettings(trusted_issuers=[issuer.did], status_list_cache_seconds=300))
    holder_app = FastAPI()
    holder_app.include_router(storage_router(settings, holder))
    service = TestClient(issuer_app(issuer.directory, resolver=resolver, http=TestClient(holder_app)))

    figures = {"whole issuance of a MembershipCredential (request → stored → ISSUED)": median_ms(
        lambda: request_credentials(holder, service, issuer.service_url, ["Membership"], wait_seconds=5,
                                    poll_seconds=0.001), args.rounds)}
    url = issuer.service_url.rsplit("/dcp", 1)[0] + "/api/directory"
    now = int(time.time())
    directory = BpnDirectory(url, service, lambda: create_presentation(holder, issuer.did, "n", now=now, ttl=600),
                             ttl_seconds=3600)
    figures[f"BPN-DID directory: {args.entries + 1} entries answered and read"] = median_ms(directory.refresh,
                                                                                            args.rounds)
    figures["BPN-DID look-up from the cache"] = median_ms(lambda: directory.did_for("BPNL000000000007"),
                                                          args.rounds * 20)
    print(f"# DCP issuance, {args.rounds} rounds, {datetime.date.today()}, {platform.system()} "
          f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    for name, value in figures.items():
        print(f"{name:70s} {value:8.3f} ms (median)")


if __name__ == "__main__":
    main()
