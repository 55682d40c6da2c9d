"""Benchmark (not a test): a traversal job over a generated 5-tier supply chain across 10 connector processes.

In one run, on 127.0.0.1, for each chain size N (default 100, 250, 500, 1000 parts):

1. ten connector processes (SQLite, static tokens, each with its own Ed25519 key, serving signed
   documents) start: an OEM, two tier-1, two tier-2, two tier-3 and three tier-4 suppliers, each
   knowing the other nine as peers (BPN and DSP URL: the traversal's directory);
2. a tree of N parts is generated in 5 levels (1 root vehicle, then about 1 %, 4 %, 15 % and 80 % of
   N), the parts of level L owned round-robin by the companies of tier L, each part's BOM naming its
   children; each company imports its parts (``POST /v3/parts/import``), visible to the OEM;
3. the OEM's staff register a downward job (``POST /management/irs/jobs``) for the root and poll
   ``GET /management/irs/jobs/{id}`` every 100 ms until it is done: the *cold* run negotiates the
   registry and the BOM asset with each of the nine suppliers; a second, *warm* job reuses the
   agreements and EDRs. Every part costs a registry lookup, a shell descriptor and a signed BOM
   (verified against the supplier's DID) fetched through the supplier's data plane.

Reported per N: wall time of the cold and the warm job (POST to the 200), the CPU time the ten
processes spent on each job (user + system, from /proc: on a shared machine the wall time depends
on the load, the CPU time much less), parts reached, relationships, tombstones (their reasons on
stderr), and how the time grows with N (target: 1,000 parts under 10 s, growth linear).

Usage: python bench/provenance.py [--sizes 100,250,500,1000] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.cli.configs import render_config  # noqa: E402
from connector.cli.identity import identity_section  # noqa: E402
from connector.cli.launch import free_port, start_connector, wait_ready  # noqa: E402
from connector.config import DSP_PATH  # noqa: E402
from connector.identity.wallet import new_key_file  # noqa: E402
from connector.provenance.samples import bom, identity  # noqa: E402

TIERS = [[0], [1, 2], [3, 4], [5, 6], [7, 8, 9]]  # company indexes per tier
SHARES = [0.0, 0.01, 0.04, 0.15, 0.80]  # of N, per level below the root
CLAIMS = {"membership": True, "frameworkAgreements": {"DataExchangeGovernance": "1.0"}}


def bpn(company: int) -> str:
    return f"BPNL00000BENCH{company:02d}"


def level_sizes(n: int) -> list[int]:
    sizes = [1] + [max(1, round(n * share)) for share in SHARES[1:]]
    sizes[-1] += n - sum(sizes)  # the leaves take the rounding
    return sizes


def generate(n: int) -> tuple[str, dict[int, list[dict]], int]:
    """(root id, import items per company, relationships) of a 5-level tree of n parts."""
    levels: list[list[tuple[str, int]]] = []
    for level, size in enumerate(level_sizes(n)):
        owners = TIERS[level]
        levels.append([(f"urn:uuid:{uuid.uuid4()}", owners[i % len(owners)]) for i in range(size)])
    items: dict[int, list[dict]] = {c: [] for tier in TIERS for c in tier}
    edges = 0
    for level, parts in enumerate(levels):
        children: dict[int, list[tuple[str, str, float]]] = {}
        if level + 1 < len(levels):
            for i, (child, owner) in enumerate(levels[level + 1]):
                children.setdefault(i % len(parts), []).append((child, bpn(owner), 1))
        for i, (part, owner) in enumerate(parts):
            seen = [bpn(0)]
            items[owner].append(identity(part, "partInstanceId", f"P-{level}-{i:05d}", f"PN-{level}", f"part {level}", seen))
            if children.get(i):
                items[owner].append(bom(part, children[i], seen))
                edges += len(children[i])
    return levels[0][0][0], items, edges


class Company:
    def __init__(self, index: int, workdir: Path) -> None:
        self.index, self.port = index, free_port()
        self.api_key, self.token = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
        self.did = f"did:web:localhost%3A{self.port}"
        self.base = f"http://127.0.0.1:{self.port}"
        self.config = workdir / f"c{index}.toml"
        self.workdir = workdir
        self.process = None

    def write(self, others: list[Company]) -> None:
        keys = self.workdir / f"c{self.index}.keys.json"
        new_key_file(keys, self.did)
        extra = "\n".join([identity_section("static-token", keys, self.workdir / f"c{self.index}.wallet.json", [],
                                            insecure_localhost=True),
                           "[dataplane]", "sign_documents = true"])
        self.config.write_text(render_config(
            participant_id=self.did, bpn=bpn(self.index), name=f"Company {self.index}", port=self.port,
            database_url=f"sqlite:///{self.workdir / f'c{self.index}.db'}", api_key=self.api_key, token=self.token,
            peers=[{"id": o.did, "token": o.token, "dsp_url": o.base + DSP_PATH, "bpn": bpn(o.index), "claims": CLAIMS}
                   for o in others], extra=extra))

    def call(self, method: str, path: str, body: object = None, timeout: float = 120) -> httpx.Response:
        return httpx.request(method, f"{self.base}/management{path}", json=body, timeout=timeout,
                             headers={"X-Api-Key": self.api_key})


def cpu_seconds(companies: list[Company]) -> float:
    """user + system CPU time the connector processes have used so far (Linux /proc)."""
    total = 0
    for company in companies:
        fields = Path(f"/proc/{company.process.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (counted after the comm field)
    return total / os.sysconf("SC_CLK_TCK")


def run_job(oem: Company, root: str) -> tuple[float, dict]:
    started = time.perf_counter()
    created = oem.call("POST", "/irs/jobs", {"key": {"globalAssetId": root, "bpn": bpn(0)}, "direction": "downward"})
    created.raise_for_status()
    job = created.json()["id"]
    while True:
        answer = oem.call("GET", f"/irs/jobs/{job}?returnUncompletedJob=false")
        if answer.status_code == 200:
            return time.perf_counter() - started, answer.json()
        time.sleep(0.1)


def measure(n: int, workdir: Path) -> dict:
    companies = [Company(i, workdir) for tier in TIERS for i in tier]
    for company in companies:
        company.write([o for o in companies if o is not company])
    try:
        for company in companies:
            company.process = start_connector(f"c{company.index}", company.config, workdir / f"c{company.index}.log",
                                              company.base, log_level="warning")
        for company in companies:
            wait_ready(company.process, timeout=180)  # a loaded machine takes long to start ten Pythons
        root, items, edges = generate(n)
        started = time.perf_counter()
        for company in companies:
            company.call("POST", "/v3/parts/import", items[company.index]).raise_for_status()
        imported = time.perf_counter() - started
        oem = companies[0]
        cpu = cpu_seconds(companies)
        cold, first = run_job(oem, root)
        cpu_cold, cpu = cpu_seconds(companies) - cpu, cpu_seconds(companies)
        warm, second = run_job(oem, root)
        cpu_warm = cpu_seconds(companies) - cpu
        for answer in (first, second):
            assert answer["job"]["state"] == "COMPLETED", answer["job"]
            for stone in answer["tombstones"]:
                print("tombstone:", stone["processingError"]["errorDetail"], file=sys.stderr)
        return {"parts": n, "relationships_expected": edges, "import_s": round(imported, 2),
                "cold_s": round(cold, 3), "warm_s": round(warm, 3),
                "cpu_cold_s": round(cpu_cold, 2), "cpu_warm_s": round(cpu_warm, 2),
                "parts_reached": len(second["nodes"]), "relationships": len(second["relationships"]),
                "tombstones": len(second["tombstones"]),
                "verified": sum(1 for node in second["nodes"] if node.get("signature") == "verified")}
    finally:
        for company in companies:
            if company.process is not None:
                company.process.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,250,500,1000")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        workdir = Path(tempfile.mkdtemp(prefix=f"pontis-prov-{n}-"))
        try:
            row = measure(n, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        rows.append(row)
        print(json.dumps(row), flush=True)
    base = rows[0]
    print(f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.system()} {platform.machine()}, "
          f"Python {platform.python_version()}")
    print("| parts | relationships | reached | verified | tombstones | cold job | warm job | CPU cold | CPU warm |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['parts']} | {row['relationships']} | {row['parts_reached']} | {row['verified']} | "
              f"{row['tombstones']} | {row['cold_s']:.2f} s | {row['warm_s']:.2f} s | {row['cpu_cold_s']:.1f} s | "
              f"{row['cpu_warm_s']:.1f} s |")
    if len(rows) > 1:
        last = rows[-1]
        print(f"\ngrowth {base['parts']} → {last['parts']} parts (x{last['parts'] / base['parts']:g}): "
              f"warm x{last['warm_s'] / base['warm_s']:.2f}, cold x{last['cold_s'] / base['cold_s']:.2f}, "
              f"CPU warm x{last['cpu_warm_s'] / base['cpu_warm_s']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
