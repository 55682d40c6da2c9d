"""Benchmark (not a test): a 1 GiB body through the provider's data plane vs. straight from its backend.

In one run, on 127.0.0.1:

1. a backend process (uvicorn) streams a generated body: one random block (1 MiB, or
   ``--backend-chunk-kib``) sent again and again, with its Content-Length, so the body is never
   held whole anywhere;
2. a provider connector process (SQLite) offers it as an HttpData asset, 127.0.0.1 allowlisted;
3. a consumer connector in this process negotiates and starts a pull transfer over DSP and
   hands over the EDR;
4. the body is fetched alternately through the provider's data plane (with the EDR) and directly
   from the backend, ``--rounds`` times each, by one client (curl by default: a C client, so the
   figures measure the servers, not the reader; ``--client httpx`` measures a Python consumer);
5. while each pull runs, the provider's memory is watched: VmHWM is reset (``clear_refs``) before
   the pull and read after, and VmRSS is sampled every 20 ms.

Reported: MB/s (10^6 bytes/s) of each path (median of the rounds), their ratio (target >= 0.8)
and the provider's RSS growth during the pull (peak minus the RSS before it; target < 50 MB).

Why the ratio is hard on a small machine: the direct fetch costs two kernel copies per byte
(backend send, client receive); through the data plane it costs four, and a third busy process
shares the cores. Profiles of the provider during a pull show most of its time in socket
send/receive, not in Python.

Usage: python bench/transfer.py [--size-mib 1024] [--rounds 3] [--client curl|httpx] [--backend-chunk-kib 1024]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.cli.configs import render_config  # noqa: E402
from connector.cli.launch import free_port, start_connector, wait_ready  # noqa: E402
from connector.config import DSP_PATH  # noqa: E402

MIB = 1 << 20
CLAIMS = {"membership": True, "frameworkAgreements": {"DataExchangeGovernance": "1.0"}}


# --- the backend (run as its own process: python bench/transfer.py --backend PORT) --------------

def backend_app(default_size: int, chunk: int):  # type: ignore[no-untyped-def]
    block = os.urandom(chunk)  # incompressible; the same block is sent again and again

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
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


def serve_backend(port: int, chunk: int) -> None:
    import uvicorn

    uvicorn.run(backend_app(1024 * MIB, chunk), host="127.0.0.1", port=port, log_level="warning", lifespan="off")


# --- memory of another process ------------------------------------------------------------------

def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


class RssWatch:
    """Samples a process's VmRSS while a pull runs; VmHWM (reset first) catches what sampling misses."""

    def __init__(self, pid: int, every: float = 0.02) -> None:
        self.pid, self.every = pid, every
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssWatch:
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
            self.hwm_reset = True
        except OSError:
            self.hwm_reset = False
        self.before = status_kb(self.pid, "VmRSS")
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(status_kb(self.pid, "VmRSS"))
            time.sleep(self.every)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.hwm = status_kb(self.pid, "VmHWM")

    @property
    def growth_kb(self) -> int:
        peak = max([*self.samples, self.hwm if self.hwm_reset else 0])
        return peak - self.before


# --- the consumer: a connector in this process ----------------------------------------------------

class InProcessConnector:
    def __init__(self, settings) -> None:  # type: ignore[no-untyped-def]
        import uvicorn

        from connector.app import create_app
        from connector.services.container import build

        self.services = build(settings)
        self.server = uvicorn.Server(uvicorn.Config(create_app(settings, self.services), host="127.0.0.1",
                                                    port=settings.server.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the consumer did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def wait_for(what: str, probe, timeout: float = 60):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def negotiate_and_start(consumer: InProcessConnector, provider_dsp: str, provider_id: str, token: str) -> dict:
    from connector.protocol.messages import read_offer
    from connector.store.models import Negotiation, TransferProcess

    catalog = httpx.post(provider_dsp + "/catalog/request", headers={"Authorization": token}, timeout=30,
                         json={"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
                               "@type": "CatalogRequestMessage"}).json()
    dataset = catalog["dataset"][0]
    offer = read_offer({"offer": dict(dataset["hasPolicy"][0], target=dataset["@id"])})
    services = consumer.services
    neg = services.negotiations.request(counterparty_address=provider_dsp, counterparty_id=provider_id, offer=offer)

    def agreement() -> str | None:
        with services.db.read() as s:
            row = s.get(Negotiation, neg.id)
            if row.state == "TERMINATED":
                raise RuntimeError(f"negotiation terminated: {row.error_detail}")
            return row.agreement_id if row.state == "FINALIZED" else None
    agreement_id = wait_for("the agreement", agreement)
    tp = services.transfers.request(agreement_id=agreement_id, counterparty_address=provider_dsp)

    def started() -> dict | None:
        with services.db.read() as s:
            row = s.get(TransferProcess, tp.id)
            if row.state == "TERMINATED":
                raise RuntimeError(f"transfer terminated: {row.error_detail}")
            return row.data_address if row.state == "STARTED" else None
    address = wait_for("the transfer to start", started)
    props = {p["name"]: p["value"] for p in address["endpointProperties"]}
    return {"endpoint": address["endpoint"], "token": props["authorization"]}


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


def machine() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        mem = f", {int(Path('/proc/meminfo').read_text().split()[1]) // 1024 // 1024} GiB RAM"
    except (OSError, ValueError):
        pass
    return (f"{platform.system()} {platform.release()} {platform.machine()}, {model}, {os.cpu_count()} CPUs{mem}"
            f", Python {platform.python_version()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--client", choices=["curl", "httpx"], default="curl" if shutil.which("curl") else "httpx")
    parser.add_argument("--backend-chunk-kib", type=int, default=1024,
                        help="the size of the backend's writes: 1024 is a fast backend, 64 a typical Python one")
    parser.add_argument("--backend", type=int, help=argparse.SUPPRESS)  # internal: serve the backend
    args = parser.parse_args()
    if args.backend:
        serve_backend(args.backend, args.backend_chunk_kib * 1024)
        return

    from connector.config import DataPlaneSettings, Peer, ServerSettings, Settings

    size = args.size_mib * MIB
    work = Path(tempfile.mkdtemp(prefix="pontis-bench-transfer-"))
    ports = {"backend": free_port(), "provider": free_port(), "consumer": free_port()}
    ids = {name: f"did:web:localhost%3A{ports[name]}" for name in ("provider", "consumer")}
    tokens = {name: secrets.token_urlsafe(12) for name in ("provider", "consumer")}
    backend_url = f"http://127.0.0.1:{ports['backend']}/big?size={size}"
    (work / "seed.json").write_text(json.dumps({
        "policies": [{"@id": "open", "policy": {"permission": [{"action": "use"}]}}],
        "assets": [{"@id": "one-gib", "properties": {"http://purl.org/dc/terms/title": "a large body"},
                    "dataAddress": {"type": "HttpData", "baseUrl": backend_url}}],
        "contractDefinitions": [{"@id": "cd", "accessPolicyId": "open", "contractPolicyId": "open",
                                 "assetsSelector": [{"operandLeft": "https://w3id.org/edc/v0.0.1/ns/id",
                                                     "operator": "=", "operandRight": "one-gib"}]}],
    }))
    (work / "provider.toml").write_text(render_config(
        participant_id=ids["provider"], bpn=None, name="provider", port=ports["provider"],
        database_url=f"sqlite:///{work / 'provider.db'}", api_key=secrets.token_urlsafe(12), token=tokens["provider"],
        peers=[{"id": ids["consumer"], "token": tokens["consumer"], "claims": CLAIMS,
                "dsp_url": f"http://127.0.0.1:{ports['consumer']}{DSP_PATH}"}],
        extra=f'seed_file = "{work / "seed.json"}"\nedr_ttl_seconds = 3600\n'
              'dataplane = {allowlist = ["127.0.0.1"]}'))
    backend = subprocess.Popen([sys.executable, __file__, "--backend", str(ports["backend"]),
                                "--backend-chunk-kib", str(args.backend_chunk_kib)])
    provider = start_connector("provider", work / "provider.toml", work / "provider.log",
                               f"http://127.0.0.1:{ports['provider']}", log_level="warning")
    provider_dsp = f"http://127.0.0.1:{ports['provider']}{DSP_PATH}"
    consumer = InProcessConnector(Settings(
        participant_id=ids["consumer"], server=ServerSettings(port=ports["consumer"]),
        database_url=f"sqlite:///{work / 'consumer.db'}", api_key=secrets.token_urlsafe(12), token=tokens["consumer"],
        peers=[Peer(id=ids["provider"], token=tokens["provider"], dsp_url=provider_dsp)],
        dataplane=DataPlaneSettings()))
    rows: list[tuple[str, int, float, int | None]] = []
    try:
        wait_ready(provider, timeout=120)
        wait_for("the backend", lambda: _answers(f"http://127.0.0.1:{ports['backend']}/big?size=1"))
        consumer.start()
        edr = negotiate_and_start(consumer, provider_dsp, ids["provider"], tokens["consumer"])
        pid = provider.process.pid
        fetch(args.client, edr["endpoint"], {"Authorization": edr["token"]})  # warm up both paths
        fetch(args.client, backend_url, {})
        for _ in range(args.rounds):
            got, secs = fetch(args.client, backend_url, {})
            rows.append(("direct", got, secs, None))
            with RssWatch(pid) as watch:
                got, secs = fetch(args.client, edr["endpoint"], {"Authorization": edr["token"]})
            rows.append(("data plane", got, secs, watch.growth_kb))
            if got != size:
                raise RuntimeError(f"the data plane delivered {got} bytes, not {size}")
        rss_after = status_kb(pid, "VmRSS")
    finally:
        consumer.stop()
        provider.stop()
        backend.terminate()
        backend.wait(10)
    report(args, size, rows, rss_after)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def report(args, size: int, rows, rss_after_kb: int) -> None:  # type: ignore[no-untyped-def]
    def rates(kind: str) -> list[float]:
        return [got / secs / 1e6 for k, got, secs, _ in rows if k == kind]
    direct, plane = statistics.median(rates("direct")), statistics.median(rates("data plane"))
    growth = max(g for k, _, _, g in rows if k == "data plane")
    print(f"date: {datetime.now(UTC).isoformat(timespec='seconds')}")
    print(f"machine: {machine()}")
    print(f"body: {size // MIB} MiB ({size:,} bytes), backend writes of {args.backend_chunk_kib} KiB, "
          f"client: {args.client}, rounds: {args.rounds} (alternating)")
    try:
        import httptools  # noqa: F401
        server = "httptools"
    except ImportError:
        server = "h11 (install httptools, uvicorn[standard], for the C parser)"
    print(f"provider: uvicorn with {server}; backend client aiohttp")
    for kind, got, secs, grow in rows:
        extra = f", provider RSS +{grow / 1024:.1f} MiB" if grow is not None else ""
        print(f"  {kind:<10} {got / secs / 1e6:8.1f} MB/s  ({secs:.2f} s{extra})")
    print(f"direct from backend:     {direct:8.1f} MB/s (median)")
    print(f"through the data plane:  {plane:8.1f} MB/s (median)")
    ratio = plane / direct
    print(f"ratio:                   {ratio:8.2f}  (target >= 0.80: {'met' if ratio >= 0.8 else 'MISSED'})")
    mb = growth * 1024 / 1e6
    print(f"provider RSS growth during a pull (peak): {mb:.1f} MB  (target < 50 MB: {'met' if mb < 50 else 'MISSED'})"
          f"; RSS after the run {rss_after_kb / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
