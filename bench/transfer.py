"""Benchmark (not a test): 1 GiB through the provider's data plane vs. the same bytes straight from their source.

Two sources, each measured in one run on 127.0.0.1:

- ``file``: a stored file (a ``PontisFile`` asset under ``[dataplane] files_dir``). Direct: the same
  file from a bare HTTP server that hands it to ``os.sendfile`` (the fastest this machine serves a
  file over HTTP, in the backend process);
- ``http``: an ``HttpData`` asset on a backend (uvicorn) that streams a generated body, one random
  block (1 MiB, or ``--backend-chunk-kib``) sent again and again with its Content-Length, so the
  body is never held whole. Direct: the same URL from the same client.

A provider connector process (SQLite) offers both, 127.0.0.1 allowlisted; a consumer connector in
this process negotiates and starts a pull transfer of each over DSP and hands over the EDR. Each
body is fetched alternately through the provider's data plane (with the EDR) and directly,
``--rounds`` times each, by one client (curl by default: a C client, so the figures measure the
servers, not the reader; ``--client httpx`` measures a Python consumer). While each pull runs the
provider's memory is watched (VmHWM reset before, VmRSS sampled every 20 ms).

Reported as a table: MB/s (10^6 bytes/s) of each path (median of the rounds) and their ratio
(targets: >= 0.8 for stored files, >= 0.6 for HttpData), the provider's RSS growth during a pull
(target < 50 MB) and the load average, since the machine may be shared.

Experiments: ``--dataplane-process`` serves the pulls from a second provider process (same config,
database and EDR key, its own port), as EDC splits its control and data planes; ``--control-load N``
keeps N threads asking the provider's catalog while the pulls run (the control plane busy);
``--profile DIR`` records the provider (py-spy) during the data plane's pulls and prints where its
time went.

Usage: python bench/transfer.py [--size-mib 1024] [--rounds 3] [--source file http] [--client curl|httpx]
       [--backend-chunk-kib 1024] [--dataplane-process] [--control-load N] [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.transfer_watch import ControlLoad, Profile, RssWatch, cpu_seconds, machine, status_kb  # noqa: E402
from connector.cli.configs import render_config  # noqa: E402
from connector.cli.launch import ConnectorProcess, free_port, start_connector, wait_ready  # noqa: E402
from connector.config import DSP_PATH, Settings  # noqa: E402

MIB = 1 << 20
CLAIMS = {"membership": True, "frameworkAgreements": {"DataExchangeGovernance": "1.0"}}
TARGETS = {"file": 0.8, "http": 0.6}
LABELS = {"file": "stored file (PontisFile)", "http": "HttpData (backend relay)"}
T = TypeVar("T")
Scope = MutableMapping[str, Any]


# --- the backend (its own process: python bench/transfer.py --backend PORT --file-server PORT --file PATH) ----

def backend_app(default_size: int, chunk: int) -> Callable[..., Any]:
    block = os.urandom(chunk)  # incompressible; the same block is sent again and again

    async def app(scope: Scope, receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            return
        query = dict(p.split("=", 1) for p in scope["query_string"].decode().split("&") if "=" in p)
        size = int(query.get("size", default_size))
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/octet-stream"), (b"content-length", str(size).encode())]})
        left = size
        while left > 0:
            part = block if left >= chunk else block[:left]
            left -= len(part)
            await send({"type": "http.response.body", "body": part, "more_body": left > 0})
    return app


async def _file_connection(path: Path, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A bare HTTP/1.1 file server: any GET gets the file, by os.sendfile, on a kept-alive connection."""
    size = path.stat().st_size
    try:
        while await reader.readuntil(b"\r\n\r\n"):
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n"
                         b"content-length: %d\r\n\r\n" % size)
            with path.open("rb") as file:
                await asyncio.get_running_loop().sendfile(writer.transport, file, 0, size)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def serve_backend(port: int, chunk: int, file_port: int, file: Path) -> None:
    import uvicorn

    async def both() -> None:
        files = await asyncio.start_server(lambda r, w: _file_connection(file, r, w), "127.0.0.1", file_port)
        server = uvicorn.Server(uvicorn.Config(backend_app(1024 * MIB, chunk), host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="off"))
        async with files:
            await server.serve()
    asyncio.run(both())


# --- the consumer: a connector in this process ----------------------------------------------------

class InProcessConnector:
    def __init__(self, settings: Settings) -> None:
        import uvicorn

        from connector.app import create_app
        from connector.services.container import build

        self.services = build(settings)
        self.server = uvicorn.Server(uvicorn.Config(create_app(settings, self.services), host="127.0.0.1",
                                                    port=settings.server.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        wait_for("the consumer to start", lambda: self.server.started)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def negotiate_and_start(consumer: InProcessConnector, provider_dsp: str, provider_id: str, token: str,
                        asset_id: str) -> dict[str, str]:
    from connector.protocol.messages import read_offer
    from connector.store.models import Negotiation, TransferProcess

    catalog = httpx.post(provider_dsp + "/catalog/request", headers={"Authorization": token}, timeout=30,
                         json={"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
                               "@type": "CatalogRequestMessage"}).json()
    datasets = catalog["dataset"] if isinstance(catalog["dataset"], list) else [catalog["dataset"]]
    dataset = next(d for d in datasets if d["@id"] == asset_id)
    offer = read_offer({"offer": dict(dataset["hasPolicy"][0], target=dataset["@id"])})
    services = consumer.services
    neg = services.negotiations.request(counterparty_address=provider_dsp, counterparty_id=provider_id, offer=offer)

    def agreement() -> str | None:
        with services.db.read() as s:
            row = s.get(Negotiation, neg.id)
            if row is None or row.state == "TERMINATED":
                raise RuntimeError(f"negotiation terminated: {row and row.error_detail}")
            return row.agreement_id if row.state == "FINALIZED" else None
    agreement_id = wait_for("the agreement", agreement)
    tp = services.transfers.request(agreement_id=agreement_id, counterparty_address=provider_dsp)

    def started() -> dict | None:
        with services.db.read() as s:
            row = s.get(TransferProcess, tp.id)
            if row is None or row.state == "TERMINATED":
                raise RuntimeError(f"transfer terminated: {row and row.error_detail}")
            return row.data_address if row.state == "STARTED" else None
    address = wait_for("the transfer to start", started)
    props = {p["name"]: p["value"] for p in address["endpointProperties"]}
    # the provider names the properties by their EDC IRIs (as EDC consumers read them)
    token = props.get("https://w3id.org/edc/v0.0.1/ns/authorization") or props["authorization"]
    endpoint = address.get("endpoint") or props.get("https://w3id.org/edc/v0.0.1/ns/endpoint")
    return {"endpoint": endpoint, "token": token}


# --- the downloads -----------------------------------------------------------------------------

def fetch(client: str, url: str, headers: dict[str, str]) -> tuple[int, float]:
    """Bytes received and seconds from request to last byte; the body is discarded as it comes."""
    if client == "curl":
        args = ["curl", "-sS", "--fail-with-body", "-o", "/dev/null", "-w", "%{size_download} %{time_total}", url]
        for name, value in headers.items():
            args[1:1] = ["-H", f"{name}: {value}"]
        out = subprocess.run(args, capture_output=True, text=True, check=True).stdout.split()
        return int(out[0]), float(out[1])
    start, got = time.perf_counter(), 0
    with httpx.Client(timeout=120) as http, http.stream("GET", url, headers=headers) as answer:
        answer.raise_for_status()
        for chunk in answer.iter_raw(MIB):
            got += len(chunk)
    return got, time.perf_counter() - start


@dataclass
class Row:
    source: str  # "file" or "http"
    path: str  # "direct" or "data plane"
    got: int
    secs: float
    growth_kb: int | None = None
    cpu: float | None = None  # the provider's CPU seconds during the pull

    @property
    def mb_s(self) -> float:
        return self.got / self.secs / 1e6


def write_file(path: Path, size: int) -> None:
    block = os.urandom(MIB)
    with path.open("wb") as out:
        for offset in range(0, size, MIB):
            out.write(block[:min(MIB, size - offset)])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--source", nargs="+", choices=["file", "http"], default=["file", "http"])
    parser.add_argument("--client", choices=["curl", "httpx"], default="curl" if shutil.which("curl") else "httpx")
    parser.add_argument("--backend-chunk-kib", type=int, default=1024,
                        help="the size of the backend's writes: 1024 is a fast backend, 64 a typical Python one")
    parser.add_argument("--dataplane-process", action="store_true",
                        help="pull from a second provider process (same config, database and EDR key)")
    parser.add_argument("--control-load", type=int, default=0, metavar="N",
                        help="N threads asking the provider's catalog while the pulls run")
    parser.add_argument("--profile", type=Path, metavar="DIR", help="record the provider with py-spy during pulls")
    parser.add_argument("--backend", type=int, help=argparse.SUPPRESS)  # internal: serve the backend
    parser.add_argument("--file-server", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.backend:
        serve_backend(args.backend, args.backend_chunk_kib * 1024, args.file_server, args.file)
        return

    from connector.config import DataPlaneSettings, Peer, ServerSettings

    size = args.size_mib * MIB
    work = Path(tempfile.mkdtemp(prefix="pontis-bench-transfer-"))
    (work / "files").mkdir()
    stored = work / "files" / "one-gib.bin"
    write_file(stored, size)
    ports = {name: free_port() for name in ("backend", "files", "provider", "consumer", "dataplane")}
    ids = {name: f"did:web:localhost%3A{ports[name]}" for name in ("provider", "consumer")}
    tokens = {name: secrets.token_urlsafe(12) for name in ("provider", "consumer")}
    direct = {"http": f"http://127.0.0.1:{ports['backend']}/big?size={size}",
              "file": f"http://127.0.0.1:{ports['files']}/one-gib.bin"}
    assets = {"http": {"type": "HttpData", "baseUrl": direct["http"]},
              "file": {"type": "PontisFile", "path": stored.name}}
    (work / "seed.json").write_text(json.dumps({
        "policies": [{"@id": "open", "policy": {"permission": [{"action": "use"}]}}],
        "assets": [{"@id": f"body-{s}", "properties": {"http://purl.org/dc/terms/title": LABELS[s]},
                    "dataAddress": a} for s, a in assets.items()],
        "contractDefinitions": [{"@id": f"cd-{s}", "accessPolicyId": "open", "contractPolicyId": "open",
                                 "assetsSelector": [{"operandLeft": "https://w3id.org/edc/v0.0.1/ns/id",
                                                     "operator": "=", "operandRight": f"body-{s}"}]}
                                for s in assets],
    }))

    def provider_config(port: int, seed: bool) -> str:
        return render_config(
            participant_id=ids["provider"], bpn=None, name="provider", port=port,
            database_url=f"sqlite:///{work / 'provider.db'}", api_key="bench-key", token=tokens["provider"],
            peers=[{"id": ids["consumer"], "token": tokens["consumer"], "claims": CLAIMS,
                    "dsp_url": f"http://127.0.0.1:{ports['consumer']}{DSP_PATH}"}],
            extra=(f'seed_file = "{work / "seed.json"}"\n' if seed else "") + "edr_ttl_seconds = 3600\n"
                  f'dataplane = {{allowlist = ["127.0.0.1"], files_dir = "{work / "files"}"}}')
    (work / "provider.toml").write_text(provider_config(ports["provider"], True))
    backend = subprocess.Popen([sys.executable, __file__, "--backend", str(ports["backend"]),
                                "--backend-chunk-kib", str(args.backend_chunk_kib),
                                "--file-server", str(ports["files"]), "--file", str(stored)])
    provider = start_connector("provider", work / "provider.toml", work / "provider.log",
                               f"http://127.0.0.1:{ports['provider']}", log_level="warning")
    dataplane: ConnectorProcess | None = None
    provider_dsp = f"http://127.0.0.1:{ports['provider']}{DSP_PATH}"
    consumer = InProcessConnector(Settings(
        participant_id=ids["consumer"], server=ServerSettings(port=ports["consumer"]),
        database_url=f"sqlite:///{work / 'consumer.db'}", api_key=secrets.token_urlsafe(12), token=tokens["consumer"],
        peers=[Peer(id=ids["provider"], token=tokens["provider"], dsp_url=provider_dsp)],
        dataplane=DataPlaneSettings()))
    rows: list[Row] = []
    load_rates: list[float] = []
    try:
        wait_ready(provider, timeout=120)
        wait_for("the backend", lambda: _answers(direct["http"].replace(f"size={size}", "size=1")))
        consumer.start()
        edrs = {s: negotiate_and_start(consumer, provider_dsp, ids["provider"], tokens["consumer"], f"body-{s}")
                for s in args.source}
        serving = provider
        if args.dataplane_process:  # the same provider, a second process: only its data plane is used
            (work / "dataplane.toml").write_text(provider_config(ports["dataplane"], False))
            dataplane = start_connector("dataplane", work / "dataplane.toml", work / "dataplane.log",
                                        f"http://127.0.0.1:{ports['dataplane']}", log_level="warning")
            wait_ready(dataplane, timeout=120)
            for edr in edrs.values():
                edr["endpoint"] = edr["endpoint"].replace(f":{ports['provider']}/", f":{ports['dataplane']}/")
            serving = dataplane
        pid = serving.process.pid
        for source in args.source:
            edr = edrs[source]
            fetch(args.client, edr["endpoint"], {"Authorization": edr["token"]})  # warm up both paths
            fetch(args.client, direct[source], {})
            for _ in range(args.rounds):
                got, secs = fetch(args.client, direct[source], {})
                rows.append(Row(source, "direct", got, secs))
                with RssWatch(pid) as watch, Profile(args.profile, pid, source), \
                        ControlLoad(provider_dsp + "/catalog/request", tokens["consumer"], args.control_load) as load:
                    cpu = cpu_seconds(pid)
                    got, secs = fetch(args.client, edr["endpoint"], {"Authorization": edr["token"]})
                    cpu = cpu_seconds(pid) - cpu
                rows.append(Row(source, "data plane", got, secs, watch.growth_kb, cpu))
                if args.control_load:
                    load_rates.append(load.rate)
                if got != size:
                    raise RuntimeError(f"the data plane delivered {got} bytes of {source}, not {size}")
                args.profile = None  # one profile per run is enough
                print(f"  {source:<5} direct {rows[-2].mb_s:8.1f} MB/s   data plane {rows[-1].mb_s:8.1f} MB/s",
                      flush=True)
        rss_after = status_kb(pid, "VmRSS")
    finally:
        consumer.stop()
        if dataplane is not None:
            dataplane.stop()
        provider.stop()
        backend.terminate()
        backend.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    report(args, size, rows, rss_after, load_rates)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def report(args: argparse.Namespace, size: int, rows: list[Row], rss_after_kb: int, load_rates: list[float]) -> None:
    try:
        import httptools  # noqa: F401
        server = "httptools"
    except ImportError:
        server = "h11 (install httptools for the C parser and sendfile of stored files)"
    print()
    print(f"date: {datetime.now(UTC).isoformat(timespec='seconds')}   load average: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"machine: {machine()}")
    print(f"body: {size // MIB} MiB ({size:,} bytes); client: {args.client}; rounds: {args.rounds} (alternating); "
          f"backend writes of {args.backend_chunk_kib} KiB; provider: uvicorn with {server}"
          + ("; data plane in a SECOND provider process" if args.dataplane_process else "")
          + (f"; control-plane load: {args.control_load} catalog threads, "
             f"{statistics.median(load_rates):.1f} catalog requests/s during the pulls" if load_rates else ""))
    print()
    print(f"| {'source':<26} | {'direct MB/s':>11} | {'data plane MB/s':>15} | {'ratio':>5} | {'paired':>6} | "
          f"{'target':>6} | {'':<6} | {'provider CPU s/GiB':>18} | {'provider RSS growth':>19} |")
    print(f"|{'-' * 28}|{'-' * 13}|{'-' * 17}|{'-' * 7}|{'-' * 8}|{'-' * 8}|{'-' * 8}|{'-' * 20}|{'-' * 21}|")
    for source in args.source:
        mine = [r for r in rows if r.source == source]
        direct = statistics.median(r.mb_s for r in mine if r.path == "direct")
        plane = statistics.median(r.mb_s for r in mine if r.path == "data plane")
        # each data plane pull against the direct fetch just before it: steadier on a shared machine
        paired = statistics.median(b.mb_s / a.mb_s for a, b in zip(mine[::2], mine[1::2]))
        cpu = statistics.median((r.cpu or 0) / (r.got / (1 << 30)) for r in mine if r.path == "data plane")
        growth = max(r.growth_kb or 0 for r in mine) * 1024 / 1e6
        ratio, target = plane / direct, TARGETS[source]
        print(f"| {LABELS[source]:<26} | {direct:11.1f} | {plane:15.1f} | {ratio:5.2f} | {paired:6.2f} | "
              f">= {target:.1f} | {'met' if ratio >= target else 'MISSED':<6} | {cpu:18.2f} | {growth:16.1f} MB |")
    print("ratio: median data plane / median direct; paired: median of each pull / the direct fetch before it")
    print()
    print("rounds (MB/s): " + "; ".join(
        f"{s} {p}: " + ", ".join(f"{r.mb_s:.0f}" for r in rows if r.source == s and r.path == p)
        for s in args.source for p in ("direct", "data plane")))
    print(f"provider RSS after the run: {rss_after_kb / 1024:.1f} MiB (growth target < 50 MB per pull)")


if __name__ == "__main__":
    main()
