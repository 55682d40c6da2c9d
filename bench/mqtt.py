"""The MQTT broker (connector.mqtt): fan-out of AAS-event-sized messages to N subscribers, and the
connect rate, over TLS on 127.0.0.1.

The broker runs in a process of its own (its event loop, as under ``connector serve``); the publisher
and the subscribers are asyncio clients in this process, speaking MQTT 3.1.1 over TLS. A fan-out run:
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
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.decoder = reader, writer, p.Decoder()

    @classmethod
    async def open(cls, port: int, context: ssl.SSLContext, client_id: str) -> Peer:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname="localhost")
        peer = cls(reader, writer)
        writer.write(p.encode(p.Connect(client_id, username="bench", password=b"bench", keep_alive=0)))
        [connack] = await peer.read(1)
        assert connack == p.Connack(0), connack
        return peer

    async def read(self, at_least: int) -> list[p.Packet]:
        out: list[p.Packet] = []
        while len(out) < at_least:
            data = await self.reader.read(65536)
            if not data:
                raise ConnectionError("closed")
            out += self.decoder.feed(data)
        return out

    async def close(self) -> None:
        self.writer.write(p.encode(p.Disconnect()))
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, ssl.SSLError):
            pass


async def fan_out(port: int, context: ssl.SSLContext, subscribers: int, messages: int, qos: int) -> float:
    subs = [await Peer.open(port, context, f"sub-{qos}-{i}") for i in range(subscribers)]
    for peer in subs:
        peer.writer.write(p.encode(p.Subscribe(1, (("bench/#", qos),))))
        await peer.read(1)

    async def receive(peer: Peer) -> None:
        got = 0
        while got < messages:
            data = await peer.reader.read(65536)
            if not data:
                raise ConnectionError("closed")
            packets = [x for x in peer.decoder.feed(data) if isinstance(x, p.Publish)]
            got += len(packets)
            if qos:
                peer.writer.write(b"".join(p.encode(p.Puback(x.packet_id or 0)) for x in packets))

    publisher = await Peer.open(port, context, f"pub-{qos}")
    started = time.perf_counter()
    waiting = [asyncio.create_task(receive(peer)) for peer in subs]
    for start in range(0, messages, 100):
        publisher.writer.write(b"".join(p.encode(p.Publish(f"bench/aas/{i % 10}", PAYLOAD, qos, packet_id=(i % 60000) + 1
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


async def main(args: argparse.Namespace, port: int, context: ssl.SSLContext) -> None:
    print(f"payload {len(PAYLOAD)} bytes, {args.messages} messages per run, TLS on 127.0.0.1")
    print("| subscribers | QoS | events/s published | messages/s delivered | time |")
    print("|---|---|---|---|---|")
    for subscribers in [int(x) for x in args.subscribers.split(",")]:
        for qos in (0, 1):
            elapsed = await fan_out(port, context, subscribers, args.messages, qos)
            print(f"| {subscribers} | {qos} | {args.messages / elapsed:,.0f} | "
                  f"{args.messages * subscribers / elapsed:,.0f} | {elapsed:.2f} s |")
    for concurrency in (1, 16):
        rate = await connect_rate(port, context, args.connects, concurrency)
        print(f"connects (TLS + CONNECT/CONNACK + DISCONNECT), {concurrency} at a time: {rate:,.0f}/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--subscribers", default="1,10,50")
    parser.add_argument("--connects", type=int, default=300)
    arguments = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="pontis-bench-mqtt-"))
    ca = make_ca(folder)
    settings = MqttSettings(enabled=True, tls_port=free_port(), wss_port=None, cert_file=str(ca.cert_file),
                            key_file=str(ca.key_file), auth="none")
    ready = multiprocessing.Event()
    broker = multiprocessing.Process(target=serve, args=(settings, ready), daemon=True)
    broker.start()
    try:
        if not ready.wait(30):
            raise SystemExit("the broker did not start")
        client_context = ssl.create_default_context(cafile=str(ca.ca_file))
        print(f"machine: {os.uname().sysname} {os.uname().machine}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
        asyncio.run(main(arguments, settings.tls_port or 0, client_context))
    finally:
        broker.terminate()
        broker.join(10)
