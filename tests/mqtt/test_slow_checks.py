"""A CONNECT check that waits on the database runs off the event loop: while one client's check is
stuck, other clients connect and ping on the same loop (raw MQTT over the plain TCP listener), and
what the stuck client sent meanwhile is handled once its check answers. No timing: the slow check
waits on an Event the test sets; a socket timeout only bounds how long a broken broker is waited for."""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

import pytest

from connector.mqtt import packets as p
from connector.mqtt.access import Grant, Refused

from .support import make_ca, serve_broker


class Held:
    """A blocking authenticator: user "slow" waits until ``release`` is set; "broken" fails."""

    blocking = True

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def authenticate(self, client_id: str, username: str | None, password: bytes | None, now: int) -> Grant:
        if username == "slow":
            self.entered.set()
            self.release.wait(30)
        if username == "broken":
            raise RuntimeError("database unreachable")
        if username == "nobody":
            raise Refused("unknown user", bad_credentials=True)
        return Grant(subject=username or client_id, topics=None, expires_at=None)


class Raw:
    """An MQTT client written with our own codec over a plain socket."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.decoder = p.Decoder()
        self.pending: list[p.Packet] = []

    def send(self, *packets: p.Packet) -> None:
        self.sock.sendall(b"".join(p.encode(packet) for packet in packets))

    def next(self) -> p.Packet:
        while not self.pending:
            data = self.sock.recv(65536)
            assert data, "the broker closed the connection"
            self.pending += self.decoder.feed(data)
        return self.pending.pop(0)

    def close(self) -> None:
        self.sock.close()


def test_a_slow_check_does_not_stall_the_loop_for_other_clients(tmp_path: Path) -> None:
    held = Held()
    served = serve_broker(make_ca(tmp_path), held, tcp_port=0)
    slow = fast = None
    try:
        slow = Raw(served.ports["mqtt"])
        slow.send(p.Connect("slow-one", username="slow", password=b"x"), p.Subscribe(1, (("a/#", 1),)))
        assert held.entered.wait(10)  # its check is under way, and stays so until released
        fast = Raw(served.ports["mqtt"])
        fast.send(p.Connect("fast-one", username="fast", password=b"x"))
        assert fast.next() == p.Connack(0)
        fast.send(p.Pingreq())
        assert fast.next() == p.Pingresp()
        assert served.call(lambda: served.broker.connections and sum(
            c.authenticating for c in served.broker.connections)) == 1
        held.release.set()
        assert slow.next() == p.Connack(0)
        assert slow.next() == p.Suback(1, (1,))  # sent before the CONNACK: held, then handled
    finally:
        held.release.set()
        for client in (slow, fast):
            if client is not None:
                client.close()
        served.stop()


@pytest.mark.parametrize(("user", "code", "words"), [
    ("nobody", 4, "CONNACK 4: unknown user"),
    ("broken", 3, "CONNACK 3: the check failed (RuntimeError: database unreachable)"),
])
def test_a_check_in_a_worker_keeps_its_connack_codes(tmp_path: Path, caplog: pytest.LogCaptureFixture, user: str,
                                                     code: int, words: str) -> None:
    served = serve_broker(make_ca(tmp_path), Held(), tcp_port=0)
    client = Raw(served.ports["mqtt"])
    try:
        with caplog.at_level(logging.WARNING, "pontis.mqtt"):
            client.send(p.Connect("c", username=user, password=b"x"))
            assert client.next() == p.Connack(code)
            assert client.sock.recv(10) == b""  # then closed
    finally:
        client.close()
        served.stop()
    assert words in caplog.text
