"""The MQTT broker (connector.mqtt): fan-out of AAS-event-sized messages to N subscribers, and the
connect rate, over TLS on 127.0.0.1.

The broker runs in a process of its own (its event loop, as under ``connector serve``); the publisher
and the subscribers are asyncio clients in this process, speaking MQTT 3.1.1 over TLS (the publisher
always; the subscribers also over WebSocket-over-TLS, aiohttp's client). A fan-out run:
N subscribers on ``bench/#``, one publisher sends M messages of ~700 bytes at QoS q; the clock runs
from the first PUBLISH to the last message received by the last subscriber (subscribers PUBACK QoS 1).
Connect rate: TLS handshake + CONNECT/CONNACK + DISCONNECT, C at a time.

    .venv/bin/python bench/mqtt.py [--messages 2000] [--subscribers 1,10,50] [--connects 300]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import ssl
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402

from connector.config.mqtt import MqttSettings  # noqa: E402
from connector.mqtt import packets as p  # noqa: E402
from connector.mqtt.access import StaticCredentials  # noqa: E402
from connector.mqtt.broker import Broker  # noqa: E402
from connector.mqtt.listeners import MqttServer  # noqa: E402
from tests.mqtt.support import free_port, make_ca  # noqa: E402

PAYLOAD = b'{"specversion":"1.0","type":"io.admin-shell.events.v1.updated",' + b'"x":' + b'"0" ' * 150 + b"}"


def serve(settings: MqttSettings, ready: multiprocessing.synchronize.Event) -> None:
    async def run() -> None:
        server = MqttServer(settings, Broker(StaticCredentials("bench", "bench", may_publish=True),
                                             max_queued=100_000))
        await server.start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(run())


class Peer:
    """An MQTT 3.1.1 client over TLS (``ws`` None) or over WebSocket-over-TLS."""

    def __init__(self, reader: asyncio.StreamReader | None, writer: asyncio.StreamWriter | None,
                 ws: aiohttp.ClientWebSocketResponse | None = None, session: aiohttp.ClientSession | None = None) -> None:
        self.reader, self.writer, self.ws, self.session, self.decoder = reader, writer, ws, session, p.Decoder()
        self.sending: list[asyncio.Task[None]] = []

    @classmethod
    async def open(cls, port: int, context: ssl.SSLContext, client_id: str, wss: bool = False) -> Peer:
        if wss:
            session = aiohttp.ClientSession()
            ws = await session.ws_connect(f"https://localhost:{port}/mqtt", protocols=("mqtt",), ssl=context)
            peer = cls(None, None, ws, session)
        else:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname="localhost")
            peer = cls(reader, writer)
        peer.send(p.encode(p.Connect(client_id, username="bench", password=b"bench", keep_alive=0)))
        [connack] = await peer.read(1)
        assert connack == p.Connack(0), connack
        return peer

    def send(self, data: bytes) -> None:
        if self.ws is not None:
            self.sending = [t for t in self.sending if not t.done()]
            self.sending.append(asyncio.get_running_loop().create_task(self.ws.send_bytes(data)))
        else:
            assert self.writer is not None
            self.writer.write(data)

    async def recv(self) -> bytes:
        if self.ws is not None:
            message = await self.ws.receive()
            return message.data if message.type == aiohttp.WSMsgType.BINARY else b""
        assert self.reader is not None
        return await self.reader.read(65536)

    async def read(self, at_least: int) -> list[p.Packet]:
        out: list[p.Packet] = []
        while len(out) < at_least:
            data = await self.recv()
            if not data:
                raise ConnectionError("closed")
            out += self.decoder.feed(data)
        return out

    async def close(self) -> None:
        self.send(p.encode(p.Disconnect()))
        if self.ws is not None and self.session is not None:
            await asyncio.gather(*self.sending, return_exceptions=True)
            await self.ws.close()
            await self.session.close()
            return
        assert self.writer is not None
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, ssl.SSLError):
            pass


async def fan_out(ports: dict[str, int], context: ssl.SSLContext, subscribers: int, messages: int, qos: int,
                  wss: bool = False) -> float:
    port = ports["wss" if wss else "mqtts"]
    subs = [await Peer.open(port, context, f"sub-{qos}-{wss}-{i}", wss) for i in range(subscribers)]
    for peer in subs:
        peer.send(p.encode(p.Subscribe(1, (("bench/#", qos),))))
        await peer.read(1)

    async def receive(peer: Peer) -> None:
        got = 0
        while got < messages:
            data = await peer.recv()
            if not data:
                raise ConnectionError("closed")
            packets = [x for x in peer.decoder.feed(data) if isinstance(x, p.Publish)]
            got += len(packets)
            if qos:
                peer.send(b"".join(p.encode(p.Puback(x.packet_id or 0)) for x in packets))

    publisher = await Peer.open(ports["mqtts"], context, f"pub-{qos}-{wss}")
    assert publisher.writer is not None
    started = time.perf_counter()
    waiting = [asyncio.create_task(receive(peer)) for peer in subs]
    for start in range(0, messages, 100):
        publisher.send(b"".join(p.encode(p.Publish(f"bench/aas/{i % 10}", PAYLOAD, qos, packet_id=(i % 60000) + 1
                                                   if qos else None)) for i in range(start, min(messages, start + 100))))
        await publisher.writer.drain()
    await asyncio.gather(*waiting)
    elapsed = time.perf_counter() - started
    for peer in [*subs, publisher]:
        await peer.close()
    return elapsed


async def connect_rate(port: int, context: ssl.SSLContext, count: int, concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            peer = await Peer.open(port, context, f"c-{i}")
            await peer.close()

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return count / (time.perf_counter() - started)


async def main(args: argparse.Namespace, ports: dict[str, int], context: ssl.SSLContext) -> None:
    print(f"payload {len(PAYLOAD)} bytes, {args.messages} messages per run, on 127.0.0.1")
    print("| subscribers over | subscribers | QoS | events/s published | messages/s delivered | time |")
    print("|---|---|---|---|---|---|")
    for wss in (False, True):
        for subscribers in [int(x) for x in args.subscribers.split(",")]:
            for qos in (0, 1):
                elapsed = await fan_out(ports, context, subscribers, args.messages, qos, wss)
                print(f"| {'mqtt-wss' if wss else 'mqtts'} | {subscribers} | {qos} | {args.messages / elapsed:,.0f} | "
                      f"{args.messages * subscribers / elapsed:,.0f} | {elapsed:.2f} s |")
    for concurrency in (1, 16):
        rate = await connect_rate(ports["mqtts"], context, args.connects, concurrency)
        print(f"connects (TLS + CONNECT/CONNACK + DISCONNECT), {concurrency} at a time: {rate:,.0f}/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--subscribers", default="1,10,50")
    parser.add_argument("--connects", type=int, default=300)
    arguments = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="pontis-bench-mqtt-"))
    ca = make_ca(folder)
    settings = MqttSettings(enabled=True, tls_port=free_port(), wss_port=free_port(), cert_file=str(ca.cert_file),
                            key_file=str(ca.key_file), auth="none")
    ready = multiprocessing.Event()
    broker = multiprocessing.Process(target=serve, args=(settings, ready), daemon=True)
    broker.start()
    try:
        if not ready.wait(30):
            raise SystemExit("the broker did not start")
        client_context = ssl.create_default_context(cafile=str(ca.ca_file))
        print(f"machine: {os.uname().sysname} {os.uname().machine}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
        asyncio.run(main(arguments, {"mqtts": settings.tls_port or 0, "wss": settings.wss_port or 0}, client_context))
    finally:
        broker.terminate()
        broker.join(10)
