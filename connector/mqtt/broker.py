"""The broker's routing core: sessions, subscriptions, delivery. No sockets and no clock of its own.

A listener ``attach``es a ``Link`` (how to send bytes and close) per network connection and feeds the
bytes it reads to ``Connection.receive(data, now)``; ``Broker.tick(now)`` closes connections whose
keep-alive ran out (1.5 × the client's interval, §3.1.2.10), whose grant expired, or that never sent
CONNECT. ``Broker.publish`` is how the connector itself emits (the AAS events).

An authenticator that waits on I/O (``blocking = True``) is run through ``Broker.checks`` (the
listeners put a worker-thread pool there): the connection waits for its answer, holding the packets
that arrive meanwhile, while the event loop serves everyone else. ``Broker.cut_off`` closes every
connection whose grant is for a transfer that ended, and refuses the CONNECTs whose check was under
way when it did.

What MQTT 3.1.1 asks and this does: CONNECT first and once; CONNACK 1 for another protocol level, 2
for an empty client id without clean session, 3 past ``max_clients``, 4/5 for refused credentials; a second connection with
the same client id takes the session over; persistent sessions (clean session 0) keep their
subscriptions and QoS 1 messages while offline and resend unacknowledged ones with DUP; ``+`` and
``#`` filters, ``$`` topics not matched by a leading wildcard; QoS 0 and 1 (QoS 2 is granted as 1,
an inbound QoS 2 PUBLISH is acknowledged with PUBREC/PUBCOMP and routed once); retained messages.
Peers are read-only unless their ``Grant`` says otherwise: an unauthorised PUBLISH closes the
connection (3.1.1 has no negative acknowledgement) and a SUBSCRIBE outside the grant gets 0x80.
"""

from __future__ import annotations

import itertools
import logging
from collections import OrderedDict
from typing import Protocol

from connector.mqtt import packets as p
from connector.mqtt.access import Authenticator, Checks, Grant, Outcome, Refused, run_check
from connector.mqtt.session import Session, covers, matches

log = logging.getLogger("pontis.mqtt")


class Link(Protocol):
    """One network connection as the broker sees it."""

    def send(self, data: bytes) -> None: ...

    def close(self) -> None: ...


MAX_HELD = 100  # packets a client may send while its CONNECT is checked (a client waits for CONNACK)
MAX_CUT_REMEMBERED = 4096  # transfers cut off, remembered for the CONNECT checks under way meanwhile


class Connection:
    """One network connection: its decoder, its state before and after CONNECT, its session."""

    def __init__(self, broker: Broker, link: Link, now: float, peer: str) -> None:
        self.broker, self.link, self.peer = broker, link, peer
        self.decoder = p.Decoder(max_packet_bytes=broker.max_packet_bytes)
        self.opened_at = self.last_seen = now
        self.session: Session | None = None
        self.grant: Grant | None = None
        self.keep_alive = 0
        self.will: p.Will | None = None
        self.closed = False
        self.authenticating = False  # its CONNECT is being checked off the loop
        self.held: list[p.Packet] = []  # what it sent meanwhile, handled once the check answers

    @property
    def client_id(self) -> str:
        return self.session.client_id if self.session else "?"

    def send(self, packet: p.Packet) -> None:
        if not self.closed:
            self.link.send(p.encode(packet))

    def receive(self, data: bytes, now: float) -> None:
        """Bytes read from the network; any violation closes the connection (logged)."""
        if self.closed:
            return
        self.last_seen = now
        try:
            for packet in self.decoder.feed(data):
                self._handle(packet, now)
                if self.closed:
                    return
        except p.MalformedPacket as exc:
            self.close(f"malformed packet: {exc.reason}", now)

    def resume(self, now: float) -> None:
        """Its CONNECT was answered: handle what it sent while the check ran."""
        held, self.held = self.held, []
        for packet in held:
            if self.closed:
                return
            self._handle(packet, now)

    def lost(self, now: float) -> None:
        """The network connection ended without DISCONNECT: the will goes out (§3.1.2.5)."""
        self.close("connection lost", now, level=logging.INFO)

    def close(self, reason: str, now: float, *, level: int = logging.WARNING, will: bool = True) -> None:
        if self.closed:
            return
        self.closed = True
        log.log(level, "mqtt: closing %s (%s): %s", self.client_id, self.peer, reason)
        self.link.close()
        self.broker.detach(self)
        if will and self.will is not None:
            self.broker.publish(self.will.topic, self.will.payload, min(self.will.qos, 1), self.will.retain)
        self.will = None

    # packets

    def _handle(self, packet: p.Packet, now: float) -> None:
        if self.authenticating:
            if len(self.held) >= MAX_HELD:
                self.close(f"over {MAX_HELD} packets sent before its CONNACK", now)
                return
            self.held.append(packet)
            return
        if self.session is None:
            if not isinstance(packet, p.Connect):
                self.close(f"first packet must be CONNECT, got {type(packet).__name__}", now)
                return
            self.broker.connect(self, packet, now)
            return
        if isinstance(packet, p.Publish):
            self._publish(packet, now)
        elif isinstance(packet, p.Puback):
            self.session.inflight.pop(packet.packet_id, None)
        elif isinstance(packet, p.Pubrel):
            self.session.received.discard(packet.packet_id)
            self.send(p.Pubcomp(packet.packet_id))
        elif isinstance(packet, p.Subscribe):
            self._subscribe(packet)
        elif isinstance(packet, p.Unsubscribe):
            for topic_filter in packet.filters:
                self.session.subscriptions.pop(topic_filter, None)
            self.send(p.Unsuback(packet.packet_id))
        elif isinstance(packet, p.Pingreq):
            self.send(p.Pingresp())
        elif isinstance(packet, p.Disconnect):
            self.will = None  # a clean DISCONNECT discards the will (§3.14.4)
            self.close("DISCONNECT", now, level=logging.DEBUG, will=False)
        elif isinstance(packet, p.Connect):
            self.close("a second CONNECT on one connection", now)
        else:  # CONNACK, SUBACK, UNSUBACK, PINGRESP, PUBREC, PUBCOMP: only a server sends them here
            self.close(f"{type(packet).__name__} is not sent by a client to this broker", now)

    def _publish(self, packet: p.Publish, now: float) -> None:
        assert self.session is not None and self.grant is not None
        if not self.broker.may_publish(self.grant, packet.topic):
            self.close(f"not authorised to publish to {packet.topic!r} (read-only grant for "
                       f"{self.grant.subject!r})", now)
            return
        if packet.qos == 2:
            fresh = packet.packet_id not in self.session.received
            self.session.received.add(packet.packet_id or 0)
            if fresh:
                self.broker.publish(packet.topic, packet.payload, 1, packet.retain)
            self.send(p.Pubrec(packet.packet_id or 0))
            return
        self.broker.publish(packet.topic, packet.payload, packet.qos, packet.retain)
        if packet.qos == 1:
            self.send(p.Puback(packet.packet_id or 0))

    def _subscribe(self, packet: p.Subscribe) -> None:
        assert self.session is not None and self.grant is not None
        codes: list[int] = []
        granted: list[str] = []
        for topic_filter, qos in packet.filters:
            if not self.broker.may_subscribe(self.grant, topic_filter):
                log.warning("mqtt: %s (%s) may not subscribe to %r: outside the grant for %r (SUBACK 0x80)",
                            self.client_id, self.peer, topic_filter, self.grant.subject)
                codes.append(p.SUBACK_FAILURE)
                continue
            qos = min(qos, 1)
            self.session.subscriptions[topic_filter] = qos
            codes.append(qos)
            granted.append(topic_filter)
        self.send(p.Suback(packet.packet_id, tuple(codes)))
        for topic_filter in granted:  # retained messages after the SUBACK (§3.3.1.3)
            for message in self.broker.retained_for(topic_filter):
                self.deliver(message, self.session.subscriptions[topic_filter], retain=True)

    def deliver(self, message: p.Publish, max_qos: int, *, retain: bool = False) -> None:
        """Send one routed message at the lower of its QoS and the subscription's."""
        assert self.session is not None
        qos = min(message.qos, max_qos)
        if qos == 0:
            self.send(p.Publish(message.topic, message.payload, 0, retain))
            return
        outgoing = p.Publish(message.topic, message.payload, 1, retain, False, self.session.next_id())
        self.broker.remember(self.session, outgoing)
        self.send(outgoing)


class Broker:
    """The routing core: who is connected, who subscribed to what, what is retained."""

    def __init__(self, authenticator: Authenticator, *, max_packet_bytes: int = 1 << 20,
                 max_queued: int = 1000, connect_timeout: float = 10.0, retain: bool = True,
                 max_clients: int = 10_000) -> None:
        self.authenticator = authenticator
        self.max_clients = max_clients
        self.max_packet_bytes = max_packet_bytes
        self.max_queued = max_queued
        self.connect_timeout = connect_timeout
        self.retain = retain
        self.connections: set[Connection] = set()
        self.sessions: dict[str, Session] = {}
        self.active: dict[str, Connection] = {}
        self.retained: dict[str, p.Publish] = {}
        self._anonymous = itertools.count(1)
        #: where blocking authenticators run (None: inline, as in the routing core's own tests)
        self.checks: Checks | None = None
        self._cuts = itertools.count(1)
        self.cut: OrderedDict[str, tuple[int, str]] = OrderedDict()  # transfer -> (when, in cut-offs, why)

    def attach(self, link: Link, now: float, peer: str = "?") -> Connection:
        """A new network connection; it must send CONNECT within ``connect_timeout``."""
        connection = Connection(self, link, now, peer)
        self.connections.add(connection)
        return connection

    def detach(self, connection: Connection) -> None:
        self.connections.discard(connection)
        session = connection.session
        if session is not None and self.active.get(session.client_id) is connection:
            del self.active[session.client_id]
            if session.clean:
                self.sessions.pop(session.client_id, None)
            elif len(self.sessions) - len(self.active) > self.max_clients:
                # persistent sessions of clients gone for good must not pile up: the oldest goes
                oldest = next(c for c in self.sessions if c not in self.active)
                del self.sessions[oldest]
                log.warning("mqtt: over %d offline sessions: forgot %s's", self.max_clients, oldest)

    # access

    @staticmethod
    def may_subscribe(grant: Grant, topic_filter: str) -> bool:
        return grant.topics is None or any(covers(g, topic_filter) for g in grant.topics)

    @staticmethod
    def may_publish(grant: Grant, topic: str) -> bool:
        return grant.may_publish and (grant.topics is None or any(matches(g, topic) for g in grant.topics))

    def connect(self, connection: Connection, packet: p.Connect, now: float) -> None:
        """Answer a CONNECT: refuse it (CONNACK 1, 2, 4, 5, then close) or start the session."""
        def refuse(code: int, reason: str) -> None:
            self._refuse(connection, packet, code, reason, now)

        if (packet.protocol_name, packet.protocol_level) != (p.PROTOCOL_NAME, p.PROTOCOL_LEVEL):
            return refuse(p.BAD_PROTOCOL_LEVEL, f"protocol {packet.protocol_name} level {packet.protocol_level}: "
                                                "this broker speaks MQTT 3.1.1 (level 4)")
        client_id = packet.client_id
        if len(self.active) >= self.max_clients and client_id not in self.active:
            return refuse(p.SERVER_UNAVAILABLE, f"the broker serves its limit of {self.max_clients} clients")
        if not client_id:
            if not packet.clean_session:
                return refuse(p.IDENTIFIER_REJECTED, "an empty client id needs clean session 1")
            client_id = f"pontis-anon-{next(self._anonymous)}"

        def check() -> Grant:
            if connection.closed:  # gone while it waited for a worker: nothing to ask
                raise Refused("the connection closed before its check began")
            return self.authenticator.authenticate(client_id, packet.username, packet.password, int(now))

        started = next(self._cuts)
        if self.checks is None or not getattr(self.authenticator, "blocking", False):
            self._answer(connection, packet, client_id, run_check(check), now, started)
            return
        connection.authenticating = True

        def done(outcome: Outcome, at: float) -> None:
            connection.authenticating = False
            self._answer(connection, packet, client_id, outcome, at, started)
            connection.resume(at)

        self.checks.run(check, done)

    @staticmethod
    def _refuse(connection: Connection, packet: p.Connect, code: int, reason: str, now: float) -> None:
        connection.send(p.Connack(code))
        log.warning("mqtt: refused CONNECT from %r (%s), CONNACK %d: %s", packet.client_id,
                    connection.peer, code, reason)
        connection.close(f"CONNACK {code}", now, level=logging.DEBUG, will=False)

    def _answer(self, connection: Connection, packet: p.Connect, client_id: str, outcome: Outcome, now: float,
                started: int) -> None:
        """CONNACK what the authenticator answered, unless the client or its transfer went meanwhile."""
        def refuse(code: int, reason: str) -> None:
            self._refuse(connection, packet, code, reason, now)

        if connection.closed:
            log.info("mqtt: %s (%s) went away while its CONNECT was checked", client_id, connection.peer)
            return
        if isinstance(outcome, Refused):
            return refuse(p.BAD_CREDENTIALS if outcome.bad_credentials else p.NOT_AUTHORIZED, outcome.reason)
        if not isinstance(outcome, Grant):
            log.error("mqtt: checking the CONNECT of %r failed", client_id, exc_info=outcome)
            return refuse(p.SERVER_UNAVAILABLE, f"the check failed ({type(outcome).__name__}: {outcome})")
        grant = outcome
        if grant.expires_at is not None and grant.expires_at <= now:
            return refuse(p.NOT_AUTHORIZED, f"the grant for {grant.subject!r} expired at {grant.expires_at}")
        ended = self.cut.get(grant.transfer) if grant.transfer is not None else None
        if ended is not None and ended[0] > started:  # the transfer ended while this CONNECT was checked
            return refuse(p.NOT_AUTHORIZED, f"transfer {grant.transfer} ended: {ended[1]}")
        if len(self.active) >= self.max_clients and client_id not in self.active:
            return refuse(p.SERVER_UNAVAILABLE, f"the broker serves its limit of {self.max_clients} clients")
        previous = self.active.get(client_id)
        if previous is not None:  # §3.1.4: the newer connection takes the client id over
            previous.close(f"client id {client_id!r} connected again", now, level=logging.INFO)
        session = self.sessions.get(client_id)
        present = session is not None and not packet.clean_session
        if session is None or packet.clean_session:
            session = Session(client_id, packet.clean_session)
        session.clean = packet.clean_session
        self.sessions[client_id] = session  # a clean one leaves with its connection (detach)
        # a persistent session may outlive a grant: keep only what the new grant still covers
        session.subscriptions = {f: q for f, q in session.subscriptions.items() if self.may_subscribe(grant, f)}
        connection.session, connection.grant, connection.keep_alive = session, grant, packet.keep_alive
        connection.will = packet.will if packet.will is None or self.may_publish(grant, packet.will.topic) else None
        self.active[client_id] = connection
        connection.send(p.Connack(p.ACCEPTED, present))
        for message in list(session.inflight.values()):  # unacknowledged: again, with DUP (§4.4)
            connection.send(p.Publish(message.topic, message.payload, 1, message.retain, True, message.packet_id))
        while session.queued:
            connection.deliver(session.queued.popleft(), 1)
        log.info("mqtt: %s connected from %s as %r", client_id, connection.peer, grant.subject)

    # routing

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> int:
        """Route one message to every matching subscription (once per client); how many got it."""
        message = p.Publish(topic, payload, qos)
        if retain and self.retain:
            if payload:
                self.retained[topic] = message
            else:
                self.retained.pop(topic, None)
        sent = 0
        at_most_once: bytes | None = None  # QoS 0 bytes are the same for every subscriber: encoded once
        for client_id, session in list(self.sessions.items()):
            best = max((q for f, q in session.subscriptions.items() if matches(f, topic)), default=None)
            if best is None:
                continue
            connection = self.active.get(client_id)
            if connection is not None and connection.session is session:
                if min(best, qos) == 0:
                    at_most_once = at_most_once or p.encode(p.Publish(topic, payload))
                    if not connection.closed:
                        connection.link.send(at_most_once)
                else:
                    connection.deliver(message, best)
                sent += 1
            elif min(best, qos) == 1:
                self._queue(session, message)
        return sent

    def retained_for(self, topic_filter: str) -> list[p.Publish]:
        return [m for t, m in self.retained.items() if matches(topic_filter, t)]

    def remember(self, session: Session, message: p.Publish) -> None:
        """Track a sent QoS 1 message until PUBACK; past the bound the oldest is given up (logged)."""
        session.inflight[message.packet_id or 0] = message
        if len(session.inflight) > self.max_queued:
            dropped, _ = session.inflight.popitem(last=False)
            log.warning("mqtt: %s acknowledges too slowly: gave up on message %d", session.client_id, dropped)

    def _queue(self, session: Session, message: p.Publish) -> None:
        session.queued.append(message)
        if len(session.queued) > self.max_queued:
            session.queued.popleft()
            log.warning("mqtt: offline session %s: queue full, dropped its oldest message", session.client_id)

    # time

    def tick(self, now: float) -> None:
        """Close connections past their keep-alive, grant or CONNECT deadline."""
        for connection in list(self.connections):
            grant = connection.grant
            if connection.session is None:
                if now - connection.opened_at > self.connect_timeout:
                    connection.close(f"its CONNECT was not answered within {self.connect_timeout:g} s (the "
                                     "check is slow)" if connection.authenticating else
                                     f"no CONNECT within {self.connect_timeout:g} s", now)
            elif grant is not None and grant.expires_at is not None and now >= grant.expires_at:
                connection.close(f"the grant for {grant.subject!r} expired at {grant.expires_at}", now)
            elif connection.keep_alive and now - connection.last_seen > 1.5 * connection.keep_alive:
                connection.close(f"nothing received for 1.5 × keep-alive ({connection.keep_alive} s)", now)

    # transfers (ADR 012)

    def transfers(self) -> set[str]:
        """The transfers the connected clients' grants are for."""
        return {c.grant.transfer for c in self.connections if c.grant is not None and c.grant.transfer is not None}

    def cut_off(self, transfer_id: str, reason: str, now: float) -> int:
        """Close every connection whose grant is for ``transfer_id`` (it ended, or its agreement is no
        longer in force), and refuse the CONNECTs for it checked meanwhile; how many were closed."""
        self.cut[transfer_id] = (next(self._cuts), reason)
        self.cut.move_to_end(transfer_id)
        while len(self.cut) > MAX_CUT_REMEMBERED:
            self.cut.popitem(last=False)
        closed = 0
        for connection in list(self.connections):
            if connection.grant is not None and connection.grant.transfer == transfer_id:
                connection.close(f"transfer {transfer_id} ended: {reason}", now)
                closed += 1
        return closed

    def close_all(self, now: float) -> None:
        for connection in list(self.connections):
            connection.close("broker stopping", now, level=logging.INFO, will=False)
