"""What bench/transfer.py watches while a pull runs: another process's memory and CPU time, a
control plane kept busy, a py-spy profile, and the machine it runs on."""

from __future__ import annotations

import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

# --- memory and CPU time of another process ------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


class ControlLoad:
    """Threads asking the provider's catalog again and again: its control plane kept busy."""

    def __init__(self, url: str, token: str, threads: int) -> None:
        self.url, self.token, self.done = url, token, 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        self.started = time.perf_counter()

    def _run(self) -> None:
        body = {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "CatalogRequestMessage"}
        with httpx.Client(timeout=30) as http:
            while not self._stop.is_set():
                if http.post(self.url, json=body, headers={"Authorization": self.token}).status_code == 200:
                    self.done += 1

    def __enter__(self) -> ControlLoad:
        self.started = time.perf_counter()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)
        self.rate = self.done / (time.perf_counter() - self.started)


class Profile:
    """py-spy on the provider while the data plane's pulls run; prints where its time went."""

    def __init__(self, folder: Path | None, pid: int, name: str) -> None:
        self.out = folder / f"provider-{name}.txt" if folder else None
        self.pid = pid
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Profile:
        if self.out is not None:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self.proc = subprocess.Popen([shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy"),
                                          "record", "--format", "raw", "--rate", "250", "--nonblocking",
                                          "-p", str(self.pid), "-o", str(self.out)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is None or self.out is None:
            return
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(30)
        leaves: Counter[str] = Counter()
        total = 0
        for line in self.out.read_text().splitlines():
            stack, _, samples = line.rpartition(" ")
            total += int(samples)
            leaves[stack.split(";")[-1]] += int(samples)
        print(f"  profile of the provider ({self.out}): {total} samples, top frames by own time:")
        for frame, count in leaves.most_common(8):
            print(f"    {100 * count / max(total, 1):5.1f}%  {frame}")


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


