"""Benchmark (not a test): what signed offers cost a catalog page, in-process, A/B.

One provider with a key and a 10,000-asset catalog (one contract definition per asset). After
every offer is signed (as the background pass does after a write), 100-item catalog pages at
cursors spread over the catalog are built and JSON-encoded, alternately with the proofs attached
and without (the same process, the same data), and the medians are compared. It isolates the
cost that bench/negotiation.py's catalog figure measures through HTTP on a noisy machine.

Usage: python bench/offers.py [--assets 10000] [--samples 300]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.negotiation import seed  # noqa: E402
from connector.config import IdentitySettings, Settings  # noqa: E402
from connector.identity import Participant  # noqa: E402
from connector.identity.wallet import new_key_file  # noqa: E402
from connector.services.container import build  # noqa: E402
from connector.services.seed import load_seed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pontis-offers-"))
    did = "did:web:provider.example"
    new_key_file(work / "p.keys.json", did)
    seed(work / "seed.json", args.assets)
    services = build(Settings(participant_id=did, api_key="k", database_url=f"sqlite:///{work / 'p.db'}",
                              identity=IdentitySettings(key_file=str(work / "p.keys.json"))))
    services.db.migrate()
    catalog = services.catalog
    signer, catalog.signer = catalog.signer, None
    load_seed(services, work / "seed.json")
    began = time.perf_counter()
    signer.attach(catalog.every_offer())  # what the pass after a write does
    signing = time.perf_counter() - began
    caller = Participant("did:web:consumer.example", {"membership": True})
    cursors, cursor = [], None
    while len(cursors) < 100:
        cursors.append(cursor)
        cursor = catalog.page(caller, cursor, 100)[1]
        if cursor is None:
            break
    timings: dict[str, list[float]] = {"signed": [], "unsigned": []}
    for i in range(args.samples):
        for mode in ("signed", "unsigned") if i % 2 else ("unsigned", "signed"):
            catalog.signer = signer if mode == "signed" else None
            start = time.perf_counter()
            page, _ = catalog.page(caller, cursors[i % len(cursors)], 100)
            body = json.dumps(page).encode()
            timings[mode].append(time.perf_counter() - start)
            assert ("proof" in page["dataset"][0]["hasPolicy"][0]) == (mode == "signed") and body
    signed, unsigned = (statistics.median(timings[m]) * 1000 for m in ("signed", "unsigned"))
    print(f"date: {time.strftime('%Y-%m-%d')}  machine: {platform.machine()}, Python {platform.python_version()}")
    print(f"signing {args.assets} offers (eddsa-jcs-2022): {signing:.1f} s, {signing / args.assets * 1000:.2f} ms each")
    print(f"catalog page (100 datasets, built + JSON-encoded), median of {args.samples}:")
    print(f"  unsigned {unsigned:.2f} ms  signed {signed:.2f} ms  ({(signed / unsigned - 1) * 100:+.1f} %)")


if __name__ == "__main__":
    main()
