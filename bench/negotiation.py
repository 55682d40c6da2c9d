"""Benchmark (not a test): negotiations and transfers per second between two connector processes.

It starts a provider and a consumer as separate processes (SQLite by default, PostgreSQL with
``--postgres URL``: one schema per connector), both with a signing key, so every agreement is
signed by the provider and counter-signed by the consumer. It seeds the provider's catalog, then:

1. the baseline: requests/s of an empty FastAPI endpoint served by uvicorn as the connector is,
   with the same client at the same concurrency, so the figures below read as a ratio;
2. drives N negotiations at concurrency C through the consumer's management API, each from
   POST /v3/contractnegotiations until its state is FINALIZED. The client waits with the state
   endpoint's long poll (``?waitMs=``: answered when the state changes), so it does not burn the
   consumer's CPU on polling; p50/p99 come from the client and from the consumer's stored
   timestamps (``created_at`` to ``updated_at``);
3. requests one pull transfer per agreement (at concurrency C), waits with polls every 250 ms,
   and takes transfers started/s from the stored timestamps (first request to last start);
4. asks the provider's DSP catalog for 100-item pages at many cursors and prints the p50.

Usage: python bench/negotiation.py [--negotiations 1000] [--concurrency 16] [--assets 10000]
       [--transfers 300] [--postgres postgresql://user:pw@host/db]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.cli.configs import render_config  # noqa: E402
from connector.cli.launch import free_port, start_connector, wait_ready  # noqa: E402
from connector.config import DSP_PATH  # noqa: E402
from connector.identity.wallet import new_key_file  # noqa: E402

MGMT_CONTEXT = {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"}
ECHO_APP = """
import sys, uvicorn
from fastapi import FastAPI
app = FastAPI()
@app.get("/echo")
async def echo() -> dict:
    return {}
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def seed(path: Path, assets: int) -> None:
    policy = {"permission": [{"action": "use", "constraint": [
        {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
        {"leftOperand": "UsagePurpose", "operator": "isAnyOf", "rightOperand": ["cx.pcf.base:1"]}]}]}
    data = {
        "policies": [{"@id": "usage", "policy": policy}, {"@id": "open", "policy": {"permission": [{"action": "access"}]}}],
        "assets": [{"@id": f"asset-{i:05d}", "properties": {"http://purl.org/dc/terms/title": f"part {i}"},
                    "dataAddress": {"type": "HttpData", "baseUrl": "https://backend.invalid/"}} for i in range(assets)],
        "contractDefinitions": [{"@id": f"cd-{i:05d}", "accessPolicyId": "open", "contractPolicyId": "usage",
                                 "assetsSelector": [{"operandLeft": "https://w3id.org/edc/v0.0.1/ns/id",
                                                     "operator": "=", "operandRight": f"asset-{i:05d}"}]}
                                for i in range(assets)],
    }
    path.write_text(json.dumps(data))


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (Linux /proc), less load-dependent than wall time."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def echo_baseline(n: int, concurrency: int) -> float:
    """Requests/s of an empty FastAPI endpoint, uvicorn as the connector runs it, the same client."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", ECHO_APP, str(port)])
    try:
        limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30, limits=limits) as client:
            for _ in range(100):
                try:
                    await client.get("/echo")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            left = iter(range(n))

            async def one() -> None:
                for _ in left:
                    (await client.get("/echo")).raise_for_status()

            began = time.perf_counter()
            await asyncio.gather(*(one() for _ in range(concurrency)))
            return n / (time.perf_counter() - began)
    finally:
        proc.terminate()
        proc.wait(10)


async def negotiate_all(consumer_mgmt: str, api_key: str, provider_dsp: str, provider_id: str,
                        offer: dict, n: int, concurrency: int,
                        poll_ms: int = 0) -> tuple[float, list[float], int, list[str]]:
    latencies: list[float] = []
    failures = 0
    ids: list[str] = []
    left = iter(range(n))
    request = {
        "@context": MGMT_CONTEXT,
        "@type": "ContractRequest", "counterPartyAddress": provider_dsp, "counterPartyId": provider_id,
        "protocol": "dataspace-protocol-http:2025-1", "policy": offer,
    }
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)
    async with httpx.AsyncClient(base_url=consumer_mgmt, headers={"X-Api-Key": api_key}, timeout=60,
                                 limits=limits) as client:
        async def one() -> None:
            nonlocal failures
            for _ in left:
                start = time.perf_counter()
                r = await client.post("/v3/contractnegotiations", json=request)
                r.raise_for_status()
                nid = r.json()["@id"]
                ids.append(nid)
                while True:  # a long poll: answered at the next committed change, not a busy loop
                    state = (await client.get(f"/v3/contractnegotiations/{nid}/state",
                                              params={} if poll_ms else {"waitMs": 5000})).json()["state"]
                    if state in ("FINALIZED", "TERMINATED"):
                        break
                    if poll_ms:  # a connector without the long poll (an older commit): plain polls
                        await asyncio.sleep(poll_ms / 1000)
                if state == "FINALIZED":
                    latencies.append(time.perf_counter() - start)
                else:
                    failures += 1

        began = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(concurrency)))
        return time.perf_counter() - began, latencies, failures, ids


async def agreements_of(consumer_mgmt: str, api_key: str, ids: list[str]) -> list[str]:
    async with httpx.AsyncClient(base_url=consumer_mgmt, headers={"X-Api-Key": api_key}, timeout=60) as client:
        found = []
        for nid in ids:
            agreement = (await client.get(f"/v3/contractnegotiations/{nid}")).json().get("contractAgreementId")
            if agreement:
                found.append(agreement)
        return found


async def transfer_all(consumer_mgmt: str, api_key: str, provider_dsp: str, agreements: list[str],
                       concurrency: int) -> tuple[list[str], int]:
    """Request one pull transfer per agreement (C requests at a time), then wait until all have
    started, with one listing every 250 ms; the rate comes from the stored timestamps."""
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)
    requested: list[str] = []
    async with httpx.AsyncClient(base_url=consumer_mgmt, headers={"X-Api-Key": api_key}, timeout=60,
                                 limits=limits) as client:
        left = iter(agreements)

        async def one() -> None:
            for agreement in left:
                r = await client.post("/v3/transferprocesses", json={
                    "@context": MGMT_CONTEXT, "@type": "TransferRequest", "contractId": agreement,
                    "counterPartyAddress": provider_dsp, "protocol": "dataspace-protocol-http:2025-1",
                    "transferType": "HttpData-PULL", "dataDestination": {"type": "HttpProxy"}})
                r.raise_for_status()
                requested.append(r.json()["@id"])

        await asyncio.gather(*(one() for _ in range(concurrency)))
        wanted = set(requested)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            listing = (await client.post("/v3/transferprocesses/request", json={
                "@context": MGMT_CONTEXT, "@type": "QuerySpec", "limit": 10_000})).json()
            states = {t["@id"]: t["state"] for t in listing if t["@id"] in wanted}
            if all(s in ("STARTED", "TERMINATED", "COMPLETED") for s in states.values()) and len(states) == len(wanted):
                break
            await asyncio.sleep(0.25)
    started = [t for t, s in states.items() if s == "STARTED"]
    return started, len(wanted) - len(started)


def stored_times(database: str, table: str, ids: list[str]) -> list[tuple[int, int]]:
    """(created_at, updated_at) in ms of the consumer's rows, from its own store."""
    wanted = list(ids)
    if database.startswith("sqlite"):
        with sqlite3.connect(database.split("///", 1)[1]) as conn:
            rows: list[tuple[int, int]] = []
            for k in range(0, len(wanted), 500):
                chunk = wanted[k:k + 500]
                rows += conn.execute(f"SELECT created_at, updated_at FROM {table} WHERE id IN "
                                     f"({','.join('?' * len(chunk))})", chunk).fetchall()
            return rows
    import psycopg

    url, _, schema = database.partition("#")
    with psycopg.connect(url, options=f"-csearch_path={schema}") as conn:
        return [(a, b) for a, b in conn.execute(
            f"SELECT created_at, updated_at FROM {table} WHERE id = ANY(%s)", (wanted,)).fetchall()]


def postgres_schemas(url: str) -> dict[str, str]:
    """One fresh schema per connector in the given database; the URLs select it by search_path."""
    import psycopg

    urls = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for name in ("provider", "consumer"):
            schema = f"bench_{name}"
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.execute(f"CREATE SCHEMA {schema}")
            sep = "&" if "?" in url else "?"
            urls[name] = f"{url}{sep}options=-csearch_path%3D{schema}#{schema}"
    return urls


def catalog_pages(provider_dsp: str, token: str, samples: int) -> list[float]:
    body = {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "CatalogRequestMessage"}
    timings: list[float] = []
    cursors: list[str | None] = [None]
    with httpx.Client(headers={"Authorization": token}, timeout=30) as client:
        url = provider_dsp + "/catalog/request"
        # walk the catalog once to collect cursors spread over all 10,000 assets
        r = client.post(url, json=body, params={"limit": 100})
        while "next" in r.links and len(cursors) < 100:
            next_url = r.links["next"]["url"]
            cursors.append(httpx.URL(next_url).params.get("cursor"))
            r = client.post(next_url, json=body)
        for i in range(samples):
            cursor = cursors[i % len(cursors)]
            params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            start = time.perf_counter()
            r = client.post(url, json=body, params=params)
            timings.append(time.perf_counter() - start)
            assert r.status_code == 200 and len(r.json().get("dataset", [])) == 100, r.text[:300]
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--negotiations", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--transfers", type=int, default=300)
    parser.add_argument("--catalog-samples", type=int, default=200)
    parser.add_argument("--echo-requests", type=int, default=5000)
    parser.add_argument("--poll-ms", type=int, default=0,
                        help="poll the state this often instead of the long poll (for commits before it)")
    parser.add_argument("--postgres", metavar="URL", help="run both connectors on PostgreSQL (a schema each)")
    parser.add_argument("--unsigned-offers", action="store_true",
                        help="the provider has no key: offers carry no proof (the figure before issue 15)")
    args = parser.parse_args()

    echo = asyncio.run(echo_baseline(args.echo_requests, args.concurrency))
    work = Path(tempfile.mkdtemp(prefix="pontis-bench-"))
    ports = {"provider": free_port(), "consumer": free_port()}
    keys = {name: secrets.token_urlsafe(12) for name in ports}
    tokens = {name: secrets.token_urlsafe(12) for name in ports}
    ids = {name: f"did:web:localhost%3A{port}" for name, port in ports.items()}
    pg = postgres_schemas(args.postgres) if args.postgres else {}
    databases = {name: pg.get(name) or f"sqlite:///{work / (name + '.db')}" for name in ports}
    seed(work / "seed.json", args.assets)
    procs = []
    for name, other in (("provider", "consumer"), ("consumer", "provider")):
        extra = f'seed_file = "{work / "seed.json"}"' if name == "provider" else ""
        identity = "[identity]\nallow_insecure_did_web = true\n"  # the DIDs are did:web:localhost
        if name == "consumer" or not args.unsigned_offers:  # keys: signed offers and agreements
            new_key_file(work / f"{name}.keys.json", ids[name])
            identity += f'key_file = "{work / f"{name}.keys.json"}"\n'
        (work / f"{name}.toml").write_text(render_config(
            participant_id=ids[name], bpn=None, name=name, port=ports[name],
            database_url=databases[name].partition("#")[0], api_key=keys[name], token=tokens[name],
            peers=[{"id": ids[other], "token": tokens[other], "dsp_url": f"http://127.0.0.1:{ports[other]}{DSP_PATH}",
                    "claims": {"membership": True, "frameworkAgreements": {"DataExchangeGovernance": "1.0"}}}],
            extra=extra + "\n" + identity))
        procs.append(start_connector(name, work / f"{name}.toml", work / f"{name}.log",
                                     f"http://127.0.0.1:{ports[name]}", log_level="warning"))
    try:
        for proc in procs:
            wait_ready(proc, timeout=180)
        provider_dsp = f"http://127.0.0.1:{ports['provider']}{DSP_PATH}"
        consumer_mgmt = f"http://127.0.0.1:{ports['consumer']}/management"
        catalog = httpx.post(provider_dsp + "/catalog/request", headers={"Authorization": tokens["consumer"]},
                             json={"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
                                   "@type": "CatalogRequestMessage"}, params={"limit": 1}, timeout=30).json()
        dataset = catalog["dataset"][0]
        print(f"offers signed: {'proof' in dataset['hasPolicy'][0]}")
        offer = {**dataset["hasPolicy"][0], "assigner": ids["provider"], "target": dataset["@id"]}
        # the provider signs its seeded offers in the background after start: finish that first
        # (a walk over the catalog signs what is left), so it does not share the CPU with the runs
        catalog_pages(provider_dsp, tokens["consumer"], 0)
        # warm up both processes (imports, caches, connection pools)
        asyncio.run(negotiate_all(consumer_mgmt, keys["consumer"], provider_dsp, ids["provider"], offer, 20, 4))
        load_before = os.getloadavg()
        pids = [proc.process.pid for proc in procs]
        cpu_before = cpu_seconds(pids)
        elapsed, latencies, failures, negotiations = asyncio.run(negotiate_all(
            consumer_mgmt, keys["consumer"], provider_dsp, ids["provider"], offer, args.negotiations, args.concurrency, args.poll_ms))
        load_after = os.getloadavg()
        cpu = cpu_seconds(pids) - cpu_before
        stored = [b - a for a, b in stored_times(databases["consumer"], "negotiation", negotiations)]
        agreements = asyncio.run(agreements_of(consumer_mgmt, keys["consumer"], negotiations[:args.transfers]))
        transfers, transfer_failures = asyncio.run(transfer_all(
            consumer_mgmt, keys["consumer"], provider_dsp, agreements, args.concurrency))
        spans = stored_times(databases["consumer"], "transfer_process", transfers)
        pages = catalog_pages(provider_dsp, tokens["consumer"], args.catalog_samples)
    finally:
        for proc in procs:
            proc.stop()
    store = "PostgreSQL" if args.postgres else "SQLite"
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  machine: {platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load average: {load_before[0]:.1f} before, {load_after[0]:.1f} after the negotiations")
    print(f"echo baseline: {echo:.0f} requests/s (empty FastAPI endpoint, concurrency {args.concurrency})")
    rate = len(latencies) / elapsed
    print(f"negotiations: {args.negotiations} at concurrency {args.concurrency}, {store}, two processes, "
          f"signed agreements")
    print(f"  finalized/s: {rate:.1f}  (failures: {failures}, wall {elapsed:.2f} s; "
          f"{rate / echo * 100:.1f}% of the echo rate)")
    print(f"  CPU (both connectors): {cpu * 1000 / max(1, args.negotiations):.1f} ms per negotiation")
    if latencies:
        print(f"  client latency p50: {pct(latencies, 0.5) * 1000:.1f} ms  p99: {pct(latencies, 0.99) * 1000:.1f} ms")
    if stored:
        print(f"  stored latency p50: {pct(stored, 0.5):.0f} ms  p99: {pct(stored, 0.99):.0f} ms")
    if spans:
        window = (max(b for _, b in spans) - min(a for a, _ in spans)) / 1000
        started = [b - a for a, b in spans]
        print(f"transfers: {len(spans)} started ({transfer_failures} failed), "
              f"{len(spans) / window:.1f} started/s (stored timestamps), "
              f"request-to-start p50 {pct(started, 0.5):.0f} ms p99 {pct(started, 0.99):.0f} ms")
    print(f"catalog: {args.assets} assets, 100-item pages, {len(pages)} samples")
    if pages:
        print(f"  page p50: {statistics.median(pages) * 1000:.1f} ms  p99: {pct(pages, 0.99) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
