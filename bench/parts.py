"""Benchmark (not a test): importing a company's parts, and registry look-ups, in one process on SQLite.

For N parts it builds a file of N SerialPart 3.0.1 twins, each with a SingleLevelBomAsBuilt 3.0.0
naming one child, visible to one customer (2N items), and measures:

1. the import (validation, twins, descriptors, submodels, assets and offers in one transaction);
2. the same file again (every twin updated in place);
3. look-ups by globalAssetId as that customer (p50 over 500), and a full listing by cursor pages of 100.

Usage: python bench/parts.py [--parts 1000] [--parts 10000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.config import Settings  # noqa: E402
from connector.parts.registry import Viewer  # noqa: E402
from connector.services.container import build  # noqa: E402

CUSTOMER = "BPNL00000MOTORWK"


def chain(n: int) -> tuple[list[str], list[dict]]:
    ids = [f"urn:uuid:{uuid.uuid4()}" for _ in range(n + 1)]
    items = []
    for i, gid in enumerate(ids[:n]):
        items.append({"aspect": "urn:samm:io.catenax.serial_part:3.0.1#SerialPart", "visibleTo": [CUSTOMER],
                      "payload": {"catenaXId": gid, "localIdentifiers": [{"key": "partInstanceId", "value": f"SN-{i}"}],
                                  "manufacturingInformation": {"date": "2026-11-12", "country": "DEU"},
                                  "partTypeInformation": {"manufacturerPartId": "AX-RM-7",
                                                          "nameAtManufacturer": "Rear-axle module RM-7"}}})
        items.append({"aspect": "urn:samm:io.catenax.single_level_bom_as_built:3.0.0#SingleLevelBomAsBuilt",
                      "visibleTo": [CUSTOMER], "payload": {"catenaXId": gid, "childItems": [
                          {"catenaXId": ids[i + 1], "businessPartner": "BPNL0000000NGUSS",
                           "quantity": {"value": 2, "unit": "unit:piece"}, "hasAlternatives": False,
                           "createdOn": "2026-11-12T09:30:00Z"}]}})
    return ids[:n], items


def run(n: int, workdir: Path) -> None:
    settings = Settings(participant_id="did:web:bench.test", bpn="BPNL00000ACHSEAG", api_key="bench",
                        database_url=f"sqlite:///{workdir / f'parts-{n}.db'}")
    services = build(settings)
    services.db.migrate()
    ids, items = chain(n)
    started = time.perf_counter()
    services.parts.importer.run(items)
    first = time.perf_counter() - started
    started = time.perf_counter()
    services.parts.importer.run(items)
    again = time.perf_counter() - started
    viewer, lookups = Viewer(CUSTOMER), []
    for gid in ids[:: max(1, n // 500)][:500]:
        t = time.perf_counter()
        found = services.parts.registry.lookup(viewer, [{"name": "globalAssetId", "value": gid}])
        lookups.append(time.perf_counter() - t)
        assert len(found["result"]) == 1
    started, cursor, listed = time.perf_counter(), None, 0
    while True:
        page = services.parts.registry.shells(viewer, 100, cursor)
        listed += len(page["result"])
        cursor = page["paging_metadata"].get("cursor")
        if not cursor:
            break
    listing = time.perf_counter() - started
    assert listed == n
    print(f"{n} parts ({2 * n} items): import {first:.2f} s ({n / first:.0f} parts/s), again {again:.2f} s; "
          f"look-up p50 {statistics.median(lookups) * 1000:.2f} ms; listing {listing:.2f} s in pages of 100")
    services.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", type=int, action="append")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.parts or [1000]:
            run(n, Path(tmp))


if __name__ == "__main__":
    main()
