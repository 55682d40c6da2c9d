"""The PACT API's running parts: the footprint view, the events, and what happens at start.

While it runs, new footprints are told to the clients with an events endpoint (PublishedEvent).
At start it publishes ``[pact] footprints_file`` (through the footprint service, so the
footprints are validated, signed and offered like any import; the ones already published are
left alone) and, once the server accepts connections, writes ``[pact] endpoints_file``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from anyio import to_thread

from connector.config import ConfigError, PactSettings, Settings
from connector.pact.access import FootprintView
from connector.pact.events import PactEvents

log = logging.getLogger("pontis.pact")


class PactApi:
    def __init__(self, settings: Settings, services: Any, clock: Callable[[], int]) -> None:
        if settings.pact is None:
            raise ConfigError("[pact]: the PACT API is not configured")
        self.settings = settings
        self.pact: PactSettings = settings.pact
        self.services = services
        self.clock = clock
        gate = getattr(getattr(services, "catalog", None), "gate", None)
        self.view = FootprintView(services.db, settings, gate.last_claims if gate is not None else {})
        self.events = PactEvents(settings, self.view, clock)
        self._startup: asyncio.Task | None = None
        self._watch: asyncio.Task | None = None
        self.poll_seconds = 1.0  # how often new footprints are looked for (PublishedEvent)

    def base_url(self) -> str:
        return self.settings.public_url

    def publish_footprints_file(self) -> int:
        """Publish the configured footprints file; footprints already published stay as they are."""
        from connector.services.errors import ServiceError
        from connector.services.footprints import read_upload

        path = Path(self.pact.footprints_file or "")
        try:
            items = read_upload(path.read_bytes(), csv=path.suffix.lower() == ".csv",
                                company_name=self.settings.name, bpn=self.settings.bpn, now=self.clock())
            stored = self.services.pcf.publish(items)
        except OSError as exc:
            raise ConfigError(f"[pact] footprints_file {path}: cannot be read: {exc}") from None
        except ServiceError as exc:
            raise ConfigError(f"[pact] footprints_file {path}: refused, nothing published: "
                              + "; ".join(exc.reasons)) from None
        log.info("PACT: %s: %d footprint(s) published, %d already were", path, len(stored), len(items) - len(stored))
        return len(stored)

    async def _wait_listening(self, timeout: float = 60) -> bool:
        """True once our own port accepts TCP connections (a connect, not an HTTP call)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        host = self.settings.server.host if self.settings.server.host not in ("0.0.0.0", "::") else "127.0.0.1"
        while loop.time() < deadline:
            try:
                _, writer = await asyncio.open_connection(host, self.settings.server.port)
                writer.close()
                return True
            except OSError:
                await asyncio.sleep(0.05)
        return False

    def write_endpoints(self) -> None:
        clients = self.pact.clients
        path = Path(self.pact.endpoints_file or "")
        doc = {"base_url": self.base_url(), "client_id": clients[0].client_id if clients else None,
               "client_secret": clients[0].client_secret if clients else None}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(doc, indent=2) + "\n")
        tmp.chmod(0o600)  # it holds a client secret
        tmp.replace(path)
        log.info("PACT: wrote %s (%s)", path, doc["base_url"])

    def _newest(self) -> tuple[int, frozenset[str]]:
        from sqlmodel import func, select

        from connector.store.models import Footprint

        with self.services.db.read() as session:
            latest = session.exec(select(func.max(Footprint.created_at))).one() or 0
            ids = frozenset(session.exec(select(Footprint.id).where(Footprint.created_at == latest)))
        return latest, ids

    def new_since(self, mark: tuple[int, frozenset[str]]) -> tuple[list[str], tuple[int, frozenset[str]]]:
        """Footprints published after ``mark`` (created time, ids seen at that time), and the new mark."""
        from sqlmodel import col, select

        from connector.store.models import Footprint

        latest, seen = mark
        with self.services.db.read() as session:
            rows = session.exec(select(Footprint.id, Footprint.created_at).where(Footprint.created_at >= latest)
                                .order_by(col(Footprint.created_at))).all()
        new = [r.id for r in rows if not (r.created_at == latest and r.id in seen)]
        if not new:
            return [], mark
        top = max(r.created_at for r in rows)
        return new, (top, frozenset(r.id for r in rows if r.created_at == top))

    async def _tell_published(self) -> None:
        """Watch for new footprints and tell the clients with events endpoints (PublishedEvent)."""
        mark = await to_thread.run_sync(self._newest)
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                new, mark = await to_thread.run_sync(self.new_since, mark)
                if new:
                    self.events.send(await to_thread.run_sync(self.events.published_events, new))
            except Exception:  # a failed look must not end the watch; the next one tries again
                log.exception("PACT: looking for new footprints failed")

    async def start(self) -> None:
        if self.pact.footprints_file:
            await to_thread.run_sync(self.publish_footprints_file)
        if any(c.events_url for c in self.pact.clients):
            self._watch = asyncio.create_task(self._tell_published())
        if self.pact.endpoints_file:
            async def endpoints_when_listening() -> None:
                if await self._wait_listening():
                    self.write_endpoints()
                else:
                    log.warning("PACT: the server did not start listening; %s not written",
                                self.pact.endpoints_file)
            self._startup = asyncio.create_task(endpoints_when_listening())

    async def stop(self) -> None:
        for task in (self._startup, self._watch):
            if task is not None and not task.done():
                task.cancel()
        await self.events.aclose()
