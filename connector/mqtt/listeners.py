"""The broker's network edges: MQTT over TLS (mqtts), over WebSocket-over-TLS (mqtt-wss, subprotocol
``mqtt``, binary frames), and plain TCP (mqtt-tcp-basic) only when ``[mqtt] tcp_port`` is set.

Each listener turns a network connection into a ``broker.Link`` and feeds what it reads to the routing
core with the wall-clock time; a ticker calls ``Broker.tick`` once a second. A plain TCP client that
reaches a TLS port fails the handshake and never gets to speak MQTT. CONNECT checks that wait on the
database run in a pool of ``[mqtt] auth_threads`` workers (``WorkerChecks``), never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from asyncio import sslproto
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from aiohttp import WSMsgType, web

from connector.config.mqtt import MqttSettings
from connector.mqtt.access import Grant, Outcome, run_check
from connector.mqtt.broker import Broker

log = logging.getLogger("pontis.mqtt")
READ_BYTES = 65_536
HANDSHAKE_SECONDS = 10
MAX_UNSENT_BYTES = 8 << 20  # a subscriber this far behind is disconnected rather than buffered without end


T = TypeVar("T")


class WorkerChecks:
    """The broker's ``Checks``: blocking work in at most ``workers`` threads (more wait their turn),
    its answer handed back on the event loop with the time then."""

    def __init__(self, workers: int, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.loop = asyncio.get_running_loop()
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mqtt-check")

    def run(self, check: Callable[[], Grant], done: Callable[[Outcome, float], None]) -> None:
        future = self.loop.run_in_executor(self.executor, run_check, check)

        def answered(f: asyncio.Future[Outcome]) -> None:
            if not f.cancelled():
                done(f.result(), self.clock())

        future.add_done_callback(answered)

    async def call(self, work: Callable[[], T]) -> T:
        """``work`` in a worker thread (the transfer re-checks: connector.mqtt.cutoff)."""
        return await self.loop.run_in_executor(self.executor, work)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


def server_tls_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context


class StreamLink:
    """A TCP or TLS connection (asyncio streams). What one turn of the event loop sends to it goes out
    in one write (one TLS record, one system call) instead of one per packet."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.pending: list[bytes] = []

    def send(self, data: bytes) -> None:
        if self.writer.is_closing():
            return
        if not self.pending:
            asyncio.get_running_loop().call_soon(self._flush)
        self.pending.append(data)

    def _flush(self) -> None:
        data, self.pending = b"".join(self.pending), []
        if self.writer.is_closing():
            return
        if self.writer.transport.get_write_buffer_size() > MAX_UNSENT_BYTES:
            log.warning("mqtt: %s reads too slowly (over %d bytes unsent): closing",
                        self.writer.get_extra_info("peername"), MAX_UNSENT_BYTES)
            self.writer.close()
            return
        self.writer.write(data)

    def close(self) -> None:
        if not self.writer.is_closing():
            if self.pending:  # what was sent before closing still goes out first (a CONNACK 5, say)
                self._flush()
            self.writer.close()


class WebSocketLink:
    """A WebSocket: packets queued and sent by one task, several packets per binary frame when queued."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.unsent = 0
        self.closing = False
        self.task = asyncio.get_running_loop().create_task(self._pump())

    def send(self, data: bytes) -> None:
        if self.closing:
            return
        if self.unsent > MAX_UNSENT_BYTES:
            log.warning("mqtt: a WebSocket client reads too slowly (over %d bytes unsent): closing", MAX_UNSENT_BYTES)
            self.close()
            return
        self.unsent += len(data)
        self.queue.put_nowait(data)

    def close(self) -> None:
        if not self.closing:
            self.closing = True
            self.queue.put_nowait(None)

    async def _pump(self) -> None:
        try:
            while True:
                chunks = [await self.queue.get()]
                while not self.queue.empty() and chunks[-1] is not None:
                    chunks.append(self.queue.get_nowait())
                data = b"".join(c for c in chunks if c is not None)
                if data:
                    self.unsent -= len(data)
                    await self.ws.send_bytes(data)
                if chunks[-1] is None:
                    break
        except (ConnectionError, RuntimeError):
            pass
        finally:
            await self.ws.close()


@dataclass
class MqttServer:
    """The listeners ``[mqtt]`` names, around one broker. ``ports`` holds what was bound (port 0 = any)."""

    settings: MqttSettings
    broker: Broker
    clock: Callable[[], float] = time.time
    tick_seconds: float = 1.0
    ports: dict[str, int] = field(default_factory=dict)
    _servers: list[asyncio.Server] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _ticker: asyncio.Task[None] | None = None
    _handlers: set[asyncio.Task[object]] = field(default_factory=set)
    checks: WorkerChecks | None = None

    async def start(self) -> None:
        s = self.settings
        self.checks = self.broker.checks = WorkerChecks(s.auth_threads, self.clock)
        context = server_tls_context(s.cert_file, s.key_file) if s.cert_file and s.key_file else None
        if s.tls_port is not None:
            if context is None:
                raise ValueError("[mqtt] cert_file and key_file: the mqtts listener needs them")
            self.ports["mqtts"] = await self._stream_server(s.tls_port, context, "mqtts")
        if s.tcp_port is not None:
            log.warning("mqtt: plain TCP listener (mqtt-tcp-basic) on port %d: nothing is encrypted", s.tcp_port)
            self.ports["mqtt"] = await self._stream_server(s.tcp_port, None, "mqtt")
        if s.wss_port is not None:
            if context is None:
                raise ValueError("[mqtt] cert_file and key_file: the mqtt-wss listener needs them")
            self.ports["wss"] = await self._websocket_server(s.wss_port, context)
        self._ticker = asyncio.get_running_loop().create_task(self._tick())
        log.info("mqtt: broker listening on %s", ", ".join(f"{k} {s.host}:{v}" for k, v in self.ports.items()))

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        for server in self._servers:
            server.close()
        self.broker.close_all(self.clock())
        for task in list(self._handlers):  # connections still in their TLS handshake, or reading
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        for server in self._servers:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 5)
        if self._runner is not None:
            await self._runner.cleanup()
        self._servers.clear()
        if self.checks is not None:
            self.checks.close()
            self.broker.checks = self.checks = None

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.tick_seconds)
            try:
                self.broker.tick(self.clock())
            except Exception:  # a bug here must not end keep-alive and grant checks for good
                log.exception("mqtt: the broker's tick failed")

    # TLS and TCP

    async def _stream_server(self, port: int, context: ssl.SSLContext | None, scheme: str) -> int:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            if task is not None:
                self._handlers.add(task)
                task.add_done_callback(self._handlers.discard)
            await self._serve_stream(reader, writer, scheme)

        loop = asyncio.get_running_loop()

        def connection() -> asyncio.BaseProtocol:
            stream = asyncio.StreamReaderProtocol(asyncio.StreamReader(limit=READ_BYTES, loop=loop), serve, loop=loop)
            return stream if context is None else _logged_tls(loop, stream, context, scheme)

        server = await loop.create_server(connection, self.settings.host, port)
        self._servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    async def _serve_stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, scheme: str) -> None:
        peer = writer.get_extra_info("peername")
        connection = self.broker.attach(StreamLink(writer), self.clock(), f"{scheme}:{_address(peer)}")
        try:
            while not connection.closed:
                data = await reader.read(READ_BYTES)
                if not data:
                    break
                connection.receive(data, self.clock())
        except (ConnectionError, ssl.SSLError, OSError) as exc:
            log.info("mqtt: %s: %s", connection.peer, exc)
        finally:
            connection.lost(self.clock())
            with contextlib.suppress(ConnectionError, ssl.SSLError, OSError):
                writer.close()
                await writer.wait_closed()

    # WebSocket over TLS

    async def _websocket_server(self, port: int, context: ssl.SSLContext) -> int:
        app = web.Application(client_max_size=self.settings.max_packet_bytes + 8)
        app.router.add_get(self.settings.wss_path, self._serve_websocket)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        http, loop = self._runner.server, asyncio.get_running_loop()
        assert http is not None
        server = await loop.create_server(lambda: _logged_tls(loop, http(), context, "mqtt-wss"), self.settings.host, port)
        self._servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    async def _serve_websocket(self, request: web.Request) -> web.StreamResponse:
        offered = [v.strip() for v in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if v.strip()]
        if "mqtt" not in offered:
            log.warning("mqtt: refused a WebSocket from %s: subprotocol 'mqtt' not offered (got %s)",
                        request.remote, offered or "none")
            raise web.HTTPBadRequest(text="Sec-WebSocket-Protocol: expected 'mqtt' (MQTT over WebSocket)")
        ws = web.WebSocketResponse(protocols=("mqtt",), max_msg_size=self.settings.max_packet_bytes + 8,
                                   autoping=True)
        await ws.prepare(request)
        link = WebSocketLink(ws)
        connection = self.broker.attach(link, self.clock(), f"wss:{request.remote}")
        try:
            async for message in ws:
                if message.type == WSMsgType.BINARY:
                    connection.receive(message.data, self.clock())
                elif message.type == WSMsgType.TEXT:
                    connection.close("a text frame: MQTT over WebSocket is sent in binary frames", self.clock())
                if connection.closed:
                    break
        finally:
            connection.lost(self.clock())
            link.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(link.task, 5)
        return ws


class _LoggedTls(sslproto.SSLProtocol):
    """TLS in front of a listener's protocol, as ``create_server(ssl=...)`` puts it, except that a
    refused handshake (plain MQTT or HTTP on a TLS port, an untrusted client) is logged with its
    reason instead of only in asyncio's debug mode."""

    peer = "?"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.peer = _address(transport.get_extra_info("peername"))
        super().connection_made(transport)


def _logged_tls(loop: asyncio.AbstractEventLoop, inner: asyncio.BaseProtocol, context: ssl.SSLContext,
                listener: str) -> asyncio.BaseProtocol:
    handshake: asyncio.Future[None] = loop.create_future()
    protocol = _LoggedTls(loop, inner, context, handshake, server_side=True, ssl_handshake_timeout=HANDSHAKE_SECONDS)

    def done(future: asyncio.Future[None]) -> None:
        exc = None if future.cancelled() else future.exception()
        if exc is not None:
            log.warning("mqtt: refused a connection to %s from %s: TLS handshake failed (%s); this port speaks "
                        "TLS only", listener, protocol.peer, exc.__class__.__name__ + (f": {exc}" if str(exc) else ""))

    handshake.add_done_callback(done)
    return protocol


def _address(peer: object) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer)
