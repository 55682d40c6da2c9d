"""Benchmark (not a test): negotiations per second between two connector processes, and catalog latency.

It starts a provider and a consumer as separate processes on SQLite, seeds the provider with a
10,000-asset catalog (one contract definition per asset, as Catena-X providers publish), then:

1. drives N negotiations at concurrency C through the consumer's management API, each from
   POST /v3/contractnegotiations until GET .../state says FINALIZED, and prints finalized
   negotiations/s and p50/p99 latency;
2. asks the provider's DSP catalog for 100-item pages at many cursors and prints the p50.

Usage: python bench/negotiation.py [--negotiations 1000] [--concurrency 32] [--assets 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import secrets
import statistics
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


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def negotiate_all(consumer_mgmt: str, api_key: str, provider_dsp: str, provider_id: str,
                        offer: dict, n: int, concurrency: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    failures = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)
    request = {
        "@context": {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"},
        "@type": "ContractRequest", "counterPartyAddress": provider_dsp, "counterPartyId": provider_id,
        "protocol": "dataspace-protocol-http:2025-1", "policy": offer,
    }
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)
    async with httpx.AsyncClient(base_url=consumer_mgmt, headers={"X-Api-Key": api_key}, timeout=60,
                                 limits=limits) as client:
        async def one() -> None:
            nonlocal failures
            while not queue.empty():
                queue.get_nowait()
                start = time.perf_counter()
                r = await client.post("/v3/contractnegotiations", json=request)
                r.raise_for_status()
                nid = r.json()["@id"]
                while True:
                    state = (await client.get(f"/v3/contractnegotiations/{nid}/state")).json()["state"]
                    if state in ("FINALIZED", "TERMINATED"):
                        break
                    await asyncio.sleep(0.05)
                if state == "FINALIZED":
                    latencies.append(time.perf_counter() - start)
                else:
                    failures += 1

        began = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(concurrency)))
        return time.perf_counter() - began, latencies, failures


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
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--catalog-samples", type=int, default=200)
    parser.add_argument("--unsigned-offers", action="store_true",
                        help="the provider has no key: offers carry no proof (the figure before issue 15)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="pontis-bench-"))
    ports = {"provider": free_port(), "consumer": free_port()}
    keys = {name: secrets.token_urlsafe(12) for name in ports}
    tokens = {name: secrets.token_urlsafe(12) for name in ports}
    ids = {name: f"did:web:localhost%3A{port}" for name, port in ports.items()}
    seed(work / "seed.json", args.assets)
    procs = []
    for name, other in (("provider", "consumer"), ("consumer", "provider")):
        extra = f'seed_file = "{work / "seed.json"}"' if name == "provider" else ""
        identity = "[identity]\nallow_insecure_did_web = true\n"  # the DIDs are did:web:localhost
        if name == "provider" and not args.unsigned_offers:  # a key: every catalog offer carries its proof
            new_key_file(work / "provider.keys.json", ids["provider"])
            identity += f'key_file = "{work / "provider.keys.json"}"\n'
        (work / f"{name}.toml").write_text(render_config(
            participant_id=ids[name], bpn=None, name=name, port=ports[name],
            database_url=f"sqlite:///{work / (name + '.db')}", api_key=keys[name], token=tokens[name],
            peers=[{"id": ids[other], "token": tokens[other], "dsp_url": f"http://127.0.0.1:{ports[other]}{DSP_PATH}",
                    "claims": {"membership": True, "frameworkAgreements": {"DataExchangeGovernance": "1.0"}}}],
            extra=extra + "\n" + identity))
        procs.append(start_connector(name, work / f"{name}.toml", work / f"{name}.log",
                                     f"http://127.0.0.1:{ports[name]}", log_level="warning"))
    try:
        for proc in procs:
            wait_ready(proc, timeout=120)
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
        elapsed, latencies, failures = asyncio.run(negotiate_all(
            consumer_mgmt, keys["consumer"], provider_dsp, ids["provider"], offer, args.negotiations, args.concurrency))
        pages = catalog_pages(provider_dsp, tokens["consumer"], args.catalog_samples)
    finally:
        for proc in procs:
            proc.stop()
    print(f"date: {time.strftime('%Y-%m-%d')}  machine: {platform.machine()}, {platform.processor() or '?'}, "
          f"{__import__('os').cpu_count()} cores, Python {platform.python_version()}")
    print(f"negotiations: {args.negotiations} at concurrency {args.concurrency}, SQLite, two processes")
    print(f"  finalized/s: {len(latencies) / elapsed:.1f}  (failures: {failures}, wall {elapsed:.2f} s)")
    if latencies:
        print(f"  latency p50: {pct(latencies, 0.5) * 1000:.1f} ms  p99: {pct(latencies, 0.99) * 1000:.1f} ms")
    print(f"catalog: {args.assets} assets, 100-item pages, {len(pages)} samples")
    print(f"  page p50: {statistics.median(pages) * 1000:.1f} ms  p99: {pct(pages, 0.99) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
