"""The routing core with links that record what the broker sends, and an explicit clock (no sockets,
no sleeping): wildcards, QoS 1 and redelivery, clean and persistent sessions, keep-alive, grants."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pytest

from connector.mqtt import packets as p
from connector.mqtt.access import Grant, OpenAccess, Refused, StaticCredentials
from connector.mqtt.broker import Broker, Connection
from connector.mqtt.session import covers, matches


@dataclass
class Wire:
    """A Link: what the broker sent, decoded, and whether it closed the connection."""

    decoder: p.Decoder = field(default_factory=p.Decoder)
    received: list[p.Packet] = field(default_factory=list)
    closed: bool = False

    def send(self, data: bytes) -> None:
        self.received += self.decoder.feed(data)

    def close(self) -> None:
        self.closed = True

    def take(self) -> list[p.Packet]:
        out, self.received = self.received, []
        return out


def join(broker: Broker, client_id: str = "c", now: float = 0, **connect: object) -> tuple[Connection, Wire]:
    wire = Wire()
    connection = broker.attach(wire, now, "test")
    connection.receive(p.encode(p.Connect(client_id, **connect)), now)  # type: ignore[arg-type]
    return connection, wire


def subscribe(connection: Connection, wire: Wire, *filters: tuple[str, int], now: float = 0) -> tuple[int, ...]:
    connection.receive(p.encode(p.Subscribe(1, filters)), now)
    sent = wire.take()
    [suback] = [x for x in sent if isinstance(x, p.Suback)]
    wire.received = [x for x in sent if not isinstance(x, p.Suback)]  # retained messages follow it
    return suback.return_codes


@pytest.mark.parametrize(("topic_filter", "topic", "expected"), [
    ("aas/#", "aas", True), ("aas/#", "aas/shells/x", True), ("aas/+", "aas/x", True),
    ("aas/+", "aas/x/y", False), ("aas/+/y", "aas/x/y", True), ("+/+", "a/b", True), ("+", "a/b", False),
    ("#", "a/b/c", True), ("#", "$SYS/x", False), ("+/x", "$SYS/x", False), ("$SYS/#", "$SYS/x", True),
    ("a/b", "a/b", True), ("a/b", "a/b/", False), ("a//b", "a//b", True), ("+/+/+", "a//b", True),
])
def test_wildcards_match_as_the_standard_says(topic_filter: str, topic: str, expected: bool) -> None:
    assert matches(topic_filter, topic) is expected


@pytest.mark.parametrize(("granted", "requested", "expected"), [
    ("aas/#", "aas/shells/+", True), ("aas/#", "aas/#", True), ("aas/#", "#", False), ("aas/+", "aas/x", True),
    ("aas/+", "aas/#", False), ("aas/x", "aas/+", False), ("aas/x", "aas/x", True), ("aas/+/y", "aas/+/y", True),
    ("a/b", "a/b/c", False), ("a/#", "a", True),
])
def test_a_grant_covers_a_filter_only_when_every_topic_it_matches_is_granted(granted: str, requested: str,
                                                                            expected: bool) -> None:
    assert covers(granted, requested) is expected


def test_fan_out_once_per_client_at_the_highest_matching_qos() -> None:
    broker = Broker(OpenAccess())
    a, wa = join(broker, "a")
    b, wb = join(broker, "b")
    assert wa.take() == [p.Connack(0)] and wb.take() == [p.Connack(0)]
    assert subscribe(a, wa, ("aas/#", 0), ("aas/shells/+", 1)) == (0, 1)
    assert subscribe(b, wb, ("other/#", 1)) == (1,)
    assert broker.publish("aas/shells/x", b"e", qos=1) == 1
    [message] = wa.take()
    assert isinstance(message, p.Publish) and message.qos == 1 and message.packet_id and message.payload == b"e"
    assert wb.take() == []


def test_qos1_is_resent_with_dup_to_a_persistent_session_and_queued_while_offline() -> None:
    broker = Broker(OpenAccess())
    c, wire = join(broker, "keep", clean_session=False)
    subscribe(c, wire, ("t/#", 1))
    wire.take()
    broker.publish("t/1", b"one")
    [first] = wire.take()
    assert isinstance(first, p.Publish)
    c.lost(1)  # no PUBACK, then the connection drops
    broker.publish("t/2", b"two")  # while offline
    broker.publish("t/3", b"three", qos=0)  # QoS 0 is not kept for an offline client
    c2, wire2 = join(broker, "keep", now=2, clean_session=False)
    connack, again, queued = wire2.take()
    assert connack == p.Connack(0, session_present=True)
    assert isinstance(again, p.Publish) and again.dup and again.packet_id == first.packet_id
    assert isinstance(queued, p.Publish) and queued.payload == b"two"
    for message in (again, queued):
        c2.receive(p.encode(p.Puback(message.packet_id or 0)), 3)
    assert c2.session is not None and not c2.session.inflight


def test_a_clean_session_forgets_subscriptions() -> None:
    broker = Broker(OpenAccess())
    c, wire = join(broker, "x", clean_session=False)
    subscribe(c, wire, ("t", 1))
    c.receive(p.encode(p.Disconnect()), 1)
    _, wire2 = join(broker, "x", now=2, clean_session=True)
    assert wire2.take() == [p.Connack(0, session_present=False)]
    assert broker.publish("t", b"?") == 0


def test_keep_alive_runs_out_at_one_and_a_half_times_the_interval() -> None:
    broker = Broker(OpenAccess())
    c, wire = join(broker, "k", now=100, keep_alive=10)
    broker.tick(114.9)
    assert not wire.closed
    c.receive(p.encode(p.Pingreq()), 114.9)
    assert wire.take()[-1] == p.Pingresp()
    broker.tick(129.8)
    assert not wire.closed
    broker.tick(130.0)
    assert wire.closed and "k" not in broker.active


def test_no_connect_within_the_deadline_closes() -> None:
    broker = Broker(OpenAccess(), connect_timeout=10)
    wire = Wire()
    broker.attach(wire, 0, "idle")
    broker.tick(9)
    assert not wire.closed
    broker.tick(11)
    assert wire.closed and not broker.connections


def test_an_expiring_grant_disconnects_the_client(caplog: pytest.LogCaptureFixture) -> None:
    class Until:
        def authenticate(self, client_id: str, username: str | None, password: bytes | None, now: int) -> Grant:
            return Grant(subject="peer", topics=None, expires_at=now + 60)

    broker = Broker(Until())
    _, wire = join(broker, "g", now=1000)
    broker.tick(1059)
    assert not wire.closed
    with caplog.at_level(logging.WARNING, "pontis.mqtt"):
        broker.tick(1060)
    assert wire.closed and "grant for 'peer' expired" in caplog.text


def test_connack_codes_for_level_identifier_credentials_and_authorisation(caplog: pytest.LogCaptureFixture) -> None:
    broker = Broker(StaticCredentials("user", "pw"))
    with caplog.at_level(logging.WARNING, "pontis.mqtt"):
        cases = {1: {"protocol_level": 3}, 2: {"clean_session": False, "client_id": ""},
                 4: {"username": "user", "password": b"nope"}, 5: {}}
        for code, connect in cases.items():
            _, wire = join(broker, **{"client_id": "c", **connect})  # type: ignore[arg-type, dict-item]
            assert wire.take() == [p.Connack(code)] and wire.closed, code
    assert "CONNACK 5: no user name or password" in caplog.text
    assert "CONNACK 4: wrong user name or password" in caplog.text
    _, wire = join(broker, username="user", password=b"pw")
    assert wire.take() == [p.Connack(0)]


def test_read_only_grant_suback_0x80_outside_it_and_no_publishing(caplog: pytest.LogCaptureFixture) -> None:
    class Narrow:
        def authenticate(self, client_id: str, username: str | None, password: bytes | None, now: int) -> Grant:
            if client_id == "nobody":
                raise Refused("unknown client")
            return Grant(subject="peer", topics=("aas/submodels/+",), expires_at=None)

    broker = Broker(Narrow())
    c, wire = join(broker, "n")
    wire.take()
    with caplog.at_level(logging.WARNING, "pontis.mqtt"):
        assert subscribe(c, wire, ("aas/submodels/abc", 1), ("aas/#", 1), ("aas/submodels/+", 0)) == (1, 0x80, 0)
        c.receive(p.encode(p.Publish("aas/submodels/abc", b"forged", 1, packet_id=5)), 1)
    assert wire.closed and wire.take() == []  # no PUBACK: the connection is closed instead
    assert "may not subscribe to 'aas/#'" in caplog.text and "not authorised to publish" in caplog.text
    _, refused = join(broker, "nobody")
    assert refused.take() == [p.Connack(5)]


def test_a_client_allowed_to_publish_routes_qos1_and_qos2() -> None:
    broker = Broker(StaticCredentials("pub", "pw", may_publish=True))
    sub, ws = join(broker, "s", username="pub", password=b"pw")
    subscribe(sub, ws, ("t", 2))
    pub, wp = join(broker, "p", username="pub", password=b"pw")
    wp.take()
    pub.receive(p.encode(p.Publish("t", b"1", 1, packet_id=1)), 1)
    pub.receive(p.encode(p.Publish("t", b"2", 2, packet_id=2)) * 2, 1)  # a resent QoS 2 is routed once
    pub.receive(p.encode(p.Pubrel(2)), 1)
    assert wp.take() == [p.Puback(1), p.Pubrec(2), p.Pubrec(2), p.Pubcomp(2)]
    assert [x.payload for x in ws.take() if isinstance(x, p.Publish)] == [b"1", b"2"]


def test_retained_messages_reach_later_subscribers_and_an_empty_one_clears() -> None:
    broker = Broker(OpenAccess())
    broker.publish("r/1", b"kept", qos=1, retain=True)
    c, wire = join(broker)
    wire.take()
    subscribe(c, wire, ("r/#", 1))
    [message] = wire.take()
    assert isinstance(message, p.Publish) and message.retain and message.payload == b"kept"
    broker.publish("r/1", b"", retain=True)
    assert broker.retained == {}


def test_protocol_violations_close_the_connection() -> None:
    broker = Broker(OpenAccess())
    wire = Wire()
    broker.attach(wire, 0, "t").receive(p.encode(p.Pingreq()), 0)  # before CONNECT
    assert wire.closed
    c, wire = join(broker, "twice")
    c.receive(p.encode(p.Connect("twice")), 1)
    assert wire.closed
    c, wire = join(broker, "garbage")
    c.receive(b"\xf0\x00", 1)
    assert wire.closed


def test_a_second_connection_with_the_same_id_takes_over() -> None:
    broker = Broker(OpenAccess())
    _, first = join(broker, "same")
    second_connection, second = join(broker, "same", now=1)
    assert first.closed and not second.closed and broker.active["same"] is second_connection


def test_will_goes_out_on_a_lost_connection_only_when_the_grant_may_publish() -> None:
    broker = Broker(StaticCredentials("u", "pw", may_publish=True))
    watcher, ww = join(broker, "w", username="u", password=b"pw")
    subscribe(watcher, ww, ("wills/#", 1))
    c, _ = join(broker, "dies", username="u", password=b"pw", will=p.Will("wills/dies", b"bye", 1))
    c.lost(5)
    [will] = [x for x in ww.take() if isinstance(x, p.Publish)]
    assert isinstance(will, p.Publish) and will.payload == b"bye"
    read_only = Broker(OpenAccess())
    c, _ = join(read_only, "dies", will=p.Will("wills/dies", b"bye", 1))
    assert c.will is None


def test_past_the_client_limit_connack_3_but_a_known_client_id_may_come_back() -> None:
    broker = Broker(OpenAccess(), max_clients=2)
    join(broker, "a")
    join(broker, "b")
    _, third = join(broker, "c")
    assert third.take() == [p.Connack(3)] and third.closed
    _, again = join(broker, "a", now=1)  # takes its own place over
    assert again.take() == [p.Connack(0)]


def test_offline_persistent_sessions_are_bounded_oldest_forgotten_first() -> None:
    broker = Broker(OpenAccess(), max_clients=2)
    for name in ("a", "b", "c"):
        connection, _ = join(broker, name, clean_session=False)
        connection.lost(1)
    assert list(broker.sessions) == ["b", "c"]
