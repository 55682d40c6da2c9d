"""Benchmark (not a test): carbon footprints, issue 9 part 7.

1. ``import``: 10,000 io.catenax.pcf 8.0.0 footprints (one JSON file) read, validated, signed
   (eddsa-jcs-2022, the supplier's key) and stored and offered by ``FootprintService.publish``, in
   this process, on SQLite: what ``connector pcf import`` makes the connector do, without the HTTP
   upload. Target: at least 500 signed PCFs/s.
2. ``request``: a supplier and a customer connector (two processes, SQLite). The supplier publishes
   ``--products`` footprints; the customer asks for each once (negotiation, transfer, EDR: the
   warm-up), then 1,000 times more at concurrency ``--concurrency`` through its management API
   (``POST /v3/pcf/requests``, mode pull): catalog, data-plane pull with the reused agreement and
   EDR, signature verified, document kept. Target: at least 100 PCFs/s.
3. ``rollup``: five supplier connectors with 40 footprints each and a tier-1 connector (six
   processes); ``connector pcf rollup`` over a BOM of those 200 components, timed as a whole
   command (process start included), first cold (200 negotiations) and then three times warm
   (agreements and EDRs reused), with --allow-missing so that a component lost to a timeout is
   counted, not fatal. Target: under 2 s.

4. ``pact``: the PACT API in process: ``--n`` footprints published, then ``GET /3/footprints`` pages
   of 100 (first and last), a filtered list and a get by id, each the median of 5 calls.

Usage: python bench/pcf.py [--part import|request|rollup|pact|all] [--n 10000] [--requests 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.cli.launch import free_port, start_connector, wait_ready  # noqa: E402

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
CLAIMS = '{ membership = true, frameworkAgreements = { DataExchangeGovernance = "1.0" } }'


def footprints(n: int, prefix: str, company: str, bpn: str) -> list[dict]:
    from connector.pcf.document import new_footprint

    return [new_footprint(product_id=f"{prefix}-{i:05d}", product_name=f"Part {prefix}-{i:05d}", company_name=company,
                          company_bpn=bpn, declared_unit="piece", pcf_excluding_biogenic_uptake=1 + i % 97 / 10,
                          product_mass_per_declared_unit=0.5, now=NOW) for i in range(n)]


# --- 1. import and sign ----------------------------------------------------------------------------

def bench_import(n: int, workdir: Path) -> dict:
    from connector.identity.wallet import LocalIdentity, new_key_file
    from connector.services.footprints import FootprintService, read_upload
    from connector.store import Database

    did = "did:web:localhost%3A8411"
    db = Database(f"sqlite:///{workdir / 'import.db'}")
    db.migrate()
    identity = LocalIdentity(did, new_key_file(workdir / "keys.json", did))
    service = FootprintService(db, company_name="Nordguss GmbH", bpn="BPNL0000000NGUSS", identity=identity,
                               clock=lambda: int(time.time() * 1000))
    text = json.dumps(footprints(n, "NG", "Nordguss GmbH", "BPNL0000000NGUSS"))
    started = time.perf_counter()
    items = read_upload(text, csv=False, company_name="Nordguss GmbH", bpn="BPNL0000000NGUSS", now=0)
    stored = service.publish(items)
    seconds = time.perf_counter() - started
    db.dispose()
    assert len(stored) == n
    return {"footprints": n, "seconds": round(seconds, 2), "per_second": round(n / seconds, 1)}


# --- connectors ----------------------------------------------------------------------------------

class Company:
    def __init__(self, key: str, name: str, bpn: str, workdir: Path) -> None:
        self.key, self.name, self.bpn = key, name, bpn
        self.port = free_port()
        self.api_key = f"{key}-bench-api-key"
        self.token = f"{key}-bench-token"
        self.config = workdir / f"{key}.toml"
        self.workdir = workdir
        self.process = None
        (workdir / "var").mkdir(parents=True, exist_ok=True)

    @property
    def did(self) -> str:
        return f"did:web:localhost%3A{self.port}"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write(self, peers: list[Company]) -> None:
        lines = [f'participant_id = "{self.did}"', f'bpn = "{self.bpn}"', f'name = "{self.name}"',
                 f'api_key = "{self.api_key}"', f'token = "{self.token}"',
                 f'database_url = "sqlite:///var/{self.key}.db"', "",
                 "[identity]", f'key_file = "var/keys/{self.key}.keys.json"', "generate_key = true",
                 "allow_insecure_did_web = true", "", "[server]", 'host = "127.0.0.1"', f"port = {self.port}", ""]
        for peer in peers:
            lines += ["[[peers]]", f'id = "{peer.did}"', f'token = "{peer.token}"', f'bpn = "{peer.bpn}"',
                      f'dsp_url = "{peer.base}/api/dsp/2025-1"', f"claims = {CLAIMS}", ""]
        self.config.write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        self.process = start_connector(self.key, self.config, self.workdir / f"{self.key}.log", self.base,
                                       log_level="warning")

    def management(self, timeout: float = 120) -> httpx.Client:
        return httpx.Client(base_url=self.base + "/management", headers={"X-Api-Key": self.api_key},
                            timeout=timeout)

    def publish(self, documents: list[dict]) -> None:
        with self.management() as client:
            response = client.post("/v3/pcf/footprints", content=json.dumps(documents),
                                   headers={"Content-Type": "application/json"})
            response.raise_for_status()


def start_all(companies: list[Company]) -> None:
    for company in companies:
        company.start()
    for company in companies:
        wait_ready(company.process, timeout=90)


def stop_all(companies: list[Company]) -> None:
    for company in companies:
        if company.process is not None:
            company.process.stop()


# --- 2. requests end to end --------------------------------------------------------------------------

async def ask(client: httpx.AsyncClient, supplier: Company, product: str) -> float:
    started = time.perf_counter()
    response = await client.post("/v3/pcf/requests", json={"supplier": supplier.bpn, "productId": product,
                                                            "mode": "pull"})
    body = response.json()
    if response.status_code != 200 or body.get("status") != "ok":
        raise RuntimeError(f"request {product}: {response.status_code} {str(body)[:300]}")
    return time.perf_counter() - started


async def request_many(customer: Company, supplier: Company, products: list[str], total: int,
                       concurrency: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue = [products[i % len(products)] for i in range(total)]
    async with httpx.AsyncClient(base_url=customer.base + "/management", timeout=120,
                                 headers={"X-Api-Key": customer.api_key},
                                 limits=httpx.Limits(max_connections=concurrency)) as client:
        async def worker() -> None:
            while queue:
                latencies.append(await ask(client, supplier, queue.pop()))
        started = time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(concurrency)])
        return time.perf_counter() - started, latencies


def bench_request(total: int, products: int, concurrency: int, workdir: Path) -> dict:
    supplier = Company("nordguss", "Nordguss GmbH", "BPNL0000000NGUSS", workdir)
    customer = Company("achsen", "Achsen AG", "BPNL00000ACHSEAG", workdir)
    supplier.write([customer])
    customer.write([supplier])
    start_all([supplier, customer])
    try:
        documents = footprints(products, "NG", supplier.name, supplier.bpn)
        supplier.publish(documents)
        names = [f"NG-{i:05d}" for i in range(products)]
        warm_seconds, _ = asyncio.run(request_many(customer, supplier, names, products, 1))
        seconds, latencies = asyncio.run(request_many(customer, supplier, names, total, concurrency))
    finally:
        stop_all([supplier, customer])
    latencies.sort()
    return {"requests": total, "products": products, "concurrency": concurrency,
            "warm_up_seconds": round(warm_seconds, 2), "seconds": round(seconds, 2),
            "per_second": round(total / seconds, 1), "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1)}


# --- 3. roll-up ----------------------------------------------------------------------------------

def bench_rollup(per_supplier: int, workdir: Path) -> dict:
    suppliers = [Company(f"supplier{i}", f"Supplier {i} GmbH", f"BPNL00000000SUP{i}", workdir) for i in range(1, 6)]
    tier1 = Company("achsen", "Achsen AG", "BPNL00000ACHSEAG", workdir)
    for supplier in suppliers:
        supplier.write([tier1])
    tier1.write(suppliers)
    everyone = [*suppliers, tier1]
    start_all(everyone)
    try:
        components = []
        for index, supplier in enumerate(suppliers, 1):
            supplier.publish(footprints(per_supplier, f"S{index}", supplier.name, supplier.bpn))
            components += [{"productId": f"S{index}-{i:05d}", "supplierBpn": supplier.bpn, "quantity": 2,
                            "unit": "piece"} for i in range(per_supplier)]
        bom = workdir / "bom.json"
        bom.write_text(json.dumps({"productId": "AX-RM-7", "productName": "Rear-axle module", "declaredUnit": "piece",
                                   "ownEmissions": {"pcfExcludingBiogenicUptake": 30}, "components": components}))
        runs, oks, reasons = [], [], []
        for _ in range(4):
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "connector.cli.main", "pcf", "rollup", "--config",
                                   str(tier1.config), "--bom", str(bom), "--json", "--allow-missing"],
                                  capture_output=True, text=True, timeout=600)
            runs.append(time.perf_counter() - started)
            if done.returncode != 0:
                raise RuntimeError(f"rollup exit {done.returncode}: {done.stderr[-2000:]}")
            result = json.loads(done.stdout)
            oks.append(sum(c["status"] == "ok" for c in result["components"]))
            reasons += [c["reason"] for c in result["components"] if c["status"] != "ok"][:3]
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import connector.cli.main"], check=True, timeout=60)
        python_start = time.perf_counter() - started
    finally:
        stop_all(everyone)
    return {"components": len(components), "suppliers": len(suppliers), "cold_seconds": round(runs[0], 2),
            "warm_seconds": [round(r, 2) for r in runs[1:]], "ok_components_per_run": oks,
            "python_import_seconds": round(python_start, 2), "total": result["pcfExcludingBiogenicUptake"],
            "some_reasons": reasons[:3]}


# --- 4. the PACT API ------------------------------------------------------------------------------

def bench_pact(n: int, workdir: Path) -> dict:
    import base64

    from fastapi.testclient import TestClient

    from connector.app import create_app
    from connector.config import IdentitySettings, PactSettings, Peer, ServerSettings, Settings
    from connector.services.footprints import read_upload

    bpn = "BPNL00000ACHSEAG"
    settings = Settings(
        participant_id="did:web:localhost%3A8411", bpn="BPNL0000000NGUSS", name="Nordguss GmbH", api_key="bench-key",
        database_url=f"sqlite:///{workdir / 'pact.db'}", server=ServerSettings(port=8411),
        identity=IdentitySettings(key_file=str(workdir / "pact.keys.json"), generate_key=True),
        peers=[Peer(id="did:web:localhost%3A8412", bpn=bpn, token="t", claims={
            "membership": True, "frameworkAgreements": {"DataExchangeGovernance": "1.0"}})],
        pact=PactSettings(clients=[{"client_id": "achsen", "client_secret": "achsen-bench-secret-1", "bpn": bpn}]))
    app = create_app(settings, run_worker=False)
    timings: dict = {}
    with TestClient(app, base_url="https://nordguss.example") as http:
        documents = footprints(n, "NG", "Nordguss GmbH", "BPNL0000000NGUSS")
        services = app.state.services
        services.pcf.publish(read_upload(json.dumps(documents), csv=False, company_name="Nordguss GmbH",
                                         bpn="BPNL0000000NGUSS", now=0))
        basic = base64.b64encode(b"achsen:achsen-bench-secret-1").decode()
        token = http.post("/auth/token", data={"grant_type": "client_credentials"},
                          headers={"Authorization": f"Basic {basic}"}).json()["access_token"]
        for name, path in (("first page of 100", "/3/footprints?limit=100"),
                           ("last page of 100", f"/3/footprints?limit=100&offset={max(0, n - 100)}"),
                           ("filtered by productId", "/3/footprints?productId=urn:mpn:NG-00042"),
                           ("get by id", f"/3/footprints/{documents[42]['id']}")):
            samples = []
            for _ in range(5):
                started = time.perf_counter()
                response = http.get(path, headers={"Authorization": f"Bearer {token}"})
                samples.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text
            timings[name] = round(statistics.median(samples) * 1000, 1)
    return {"footprints": n, "median_ms": timings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["import", "request", "rollup", "pact", "all"], default="all")
    parser.add_argument("--n", type=int, default=10_000, help="footprints imported")
    parser.add_argument("--requests", type=int, default=1_000)
    parser.add_argument("--products", type=int, default=10, help="distinct products requested")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--per-supplier", type=int, default=40)
    args = parser.parse_args()
    results: dict = {"date": datetime.now(UTC).isoformat(timespec="seconds")}
    with tempfile.TemporaryDirectory(prefix="pontis-bench-pcf-") as tmp:
        workdir = Path(tmp)
        (workdir / "var").mkdir()
        if args.part in ("import", "all"):
            results["import"] = bench_import(args.n, workdir)
            print(json.dumps({"import": results["import"]}), flush=True)
        if args.part in ("request", "all"):
            results["request"] = bench_request(args.requests, args.products, args.concurrency, workdir / "req")
            print(json.dumps({"request": results["request"]}), flush=True)
        if args.part in ("rollup", "all"):
            results["rollup"] = bench_rollup(args.per_supplier, workdir / "rollup")
            print(json.dumps({"rollup": results["rollup"]}), flush=True)
        if args.part in ("pact", "all"):
            results["pact"] = bench_pact(min(args.n, 1000) if args.part == "all" else args.n, workdir)
            print(json.dumps({"pact": results["pact"]}), flush=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
