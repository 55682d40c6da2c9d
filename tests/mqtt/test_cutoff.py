"""Cutting off the clients of a transfer that ended: the routing core (explicit clock, a check run by
hand so a transfer can end while a CONNECT is being checked), and the ``TransferWatch`` across two
replicas on one database, told through the transfer service's state changes (on PostgreSQL every
replica's broker hears it by NOTIFY; on SQLite the one process does). The DSP end to end is in
tests/factoryx/test_adr012_cutoff.py."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.mqtt import packets as p
from connector.mqtt.access import Grant, Outcome, Refused, run_check
from connector.mqtt.broker import MAX_HELD, Broker
from connector.protocol import Role
from connector.services.container import Container
from connector.services.dataflow.mqtt import USER_GRANT
from connector.store.models import Agreement, EdrGrant, TransferProcess

from .test_broker import Wire, join
from .test_relay import Loop, _wait, run_replicas


class PerTransfer:
    """The user name is the transfer the grant is for; ``ended`` says which transfers ended, and why."""

    def __init__(self, blocking: bool = False) -> None:
        self.blocking = blocking
        self.ended: dict[str, str] = {}

    def authenticate(self, client_id: str, username: str | None, password: bytes | None, now: int) -> Grant:
        if username in self.ended:
            raise Refused(f"transfer {username} ended: {self.ended[username]}")
        return Grant(subject="did:web:peer.test", topics=None, expires_at=None, transfer=username)

    def recheck(self, transfer_id: str, now: int) -> str | None:
        return self.ended.get(transfer_id)


class ByHand:
    """``Checks`` the test runs itself: the CONNECT waits until ``finish``."""

    def __init__(self) -> None:
        self.waiting: list[tuple[Callable[[], Grant], Callable[[Outcome, float], None]]] = []

    def run(self, check: Callable[[], Grant], done: Callable[[Outcome, float], None]) -> None:
        self.waiting.append((check, done))

    def finish(self, now: float) -> None:
        for check, done in self.waiting:
            done(run_check(check), now)
        self.waiting.clear()


def test_cut_off_closes_the_transfers_connections_only(caplog: pytest.LogCaptureFixture) -> None:
    broker = Broker(PerTransfer())
    gone = [join(broker, f"c{i}", username="t1") for i in range(2)]
    _, stays = join(broker, "c3", username="t2")
    assert broker.transfers() == {"t1", "t2"}
    with caplog.at_level(logging.WARNING, "pontis.mqtt"):
        assert broker.cut_off("t1", "transfer t1 is TERMINATED, not STARTED", 5) == 2
    assert all(wire.closed for _, wire in gone) and not stays.closed and broker.transfers() == {"t2"}
    assert caplog.text.count("transfer t1 ended: transfer t1 is TERMINATED, not STARTED") == 2


def test_a_connect_checked_while_its_transfer_ends_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    broker = Broker(PerTransfer(blocking=True))
    broker.checks = checks = ByHand()
    connection, wire = join(broker, "late", username="t1")
    connection.receive(p.encode(p.Subscribe(1, (("a/#", 1),))), 1)  # held while the check runs
    assert connection.authenticating and wire.take() == []
    broker.cut_off("t1", "transfer t1 is SUSPENDED, not STARTED", 2)  # read STARTED, answers after this
    with caplog.at_level(logging.WARNING, "pontis.mqtt"):
        checks.finish(3)
    assert wire.take() == [p.Connack(5)] and wire.closed
    assert "CONNACK 5: transfer t1 ended: transfer t1 is SUSPENDED" in caplog.text
    # a check that began after the cut-off is the authenticator's to answer (a resumed transfer)
    connection, wire = join(broker, "resumed", username="t1")
    checks.finish(4)
    assert wire.take() == [p.Connack(0)] and not wire.closed


@pytest.fixture
def replicas(database_url: str, tmp_path: Path) -> Iterator[tuple[list[Container], list[Any], Loop, PerTransfer]]:
    access = PerTransfer()
    for containers, services, loop in run_replicas(database_url, tmp_path, access, recheck_seconds=3600):
        yield containers, services, loop, access


def test_a_transfer_ending_through_one_replica_cuts_off_its_clients_at_every_replica(
        replicas: tuple[list[Container], list[Any], Loop, PerTransfer], caplog: pytest.LogCaptureFixture) -> None:
    containers, services, loop, access = replicas
    assert all(s.watch is not None for s in services)
    postgres = not containers[0].db.is_sqlite
    if postgres:
        _wait(loop, lambda: all(s.watch.listening.is_set() for s in services), "both replicas to LISTEN")
    wires = [loop.call(lambda s=s: join(s.broker, "sub", now=time.time(), username="t1", keep_alive=0)[1])
             for s in services]
    others = [loop.call(lambda s=s: join(s.broker, "other", now=time.time(), username="t2", keep_alive=0)[1])
              for s in services]
    access.ended["t1"] = "transfer t1 is TERMINATED, not STARTED: terminated by the consumer"
    containers[0].transfers.waits.moved("t2", "STARTED")  # a transfer (re)starting cuts nobody off
    with caplog.at_level(logging.WARNING, "pontis.mqtt"):
        containers[0].transfers.waits.moved("t1", "TERMINATED")  # committed through replica 0
        reached = [0, 1] if postgres else [0]
        _wait(loop, lambda: all(wires[i].closed for i in reached), f"the cut-off at replicas {reached}")
    assert not any(w.closed for w in others)
    assert "transfer t1 ended: transfer t1 is TERMINATED, not STARTED: terminated by the consumer" in caplog.text


def test_the_periodic_recheck_cuts_off_a_transfer_whose_agreement_ended_on_its_clock(
        replicas: tuple[list[Container], list[Any], Loop, PerTransfer]) -> None:
    _, services, loop, access = replicas
    watch = services[0].watch
    wire = loop.call(lambda: join(services[0].broker, "sub", now=time.time(), username="t9", keep_alive=0)[1])
    assert loop.run(watch.recheck_connected(time.time())) == 0 and not wire.closed
    access.ended["t9"] = "agreement a9: the policy's dateTime constraint no longer holds"  # nothing written
    assert loop.run(watch.recheck_connected(time.time())) == 1 and wire.closed


@pytest.fixture
def token_replicas(database_url: str, tmp_path: Path) -> Iterator[tuple[list[Container], list[Any], Loop]]:
    yield from run_replicas(database_url, tmp_path, None, auth="token")


def test_with_the_transfer_authenticator_every_replica_cuts_off_and_revokes_the_transfers_user(
        token_replicas: tuple[list[Container], list[Any], Loop], caplog: pytest.LogCaptureFixture) -> None:
    """[mqtt] auth "token" (connector.mqtt.tokens) on each replica: a provider transfer's mqtt-usrpw user
    connects to both brokers; the transfer is terminated through replica 0; both cut it off, the user
    is revoked, and a reconnect is refused with the reason."""
    containers, services, loop = token_replicas
    now = int(time.time())
    with containers[0].db.write() as session:
        session.add(Agreement(id="agr-9", negotiation_id="neg-9", asset_id="stream-9", provider_id="did:web:p.test",
                              consumer_id="did:web:c.test", policy={}, signing_date=now * 1000,
                              created_at=now * 1000))
        transfer = TransferProcess(
            id="urn:uuid:tp-9", role=Role.PROVIDER.value, state="STARTED", provider_pid="urn:uuid:tp-9",
            consumer_pid="urn:uuid:c-9", counterparty_id="did:web:c.test", agreement_id="agr-9",
            counterparty_address="http://c.test/api/dsp/2025-1", asset_id="stream-9", transfer_type="Mqtt-PULL",
            private_properties={}, created_at=now * 1000, updated_at=now * 1000)
        session.add(transfer)
        user, password = containers[0].dataflows.mqtt.provision_user(session, transfer, now * 1000)
    if not containers[0].db.is_sqlite:
        _wait(loop, lambda: all(s.watch.listening.is_set() for s in services), "both replicas to LISTEN")

    def connect(service: Any) -> Wire:
        return loop.call(lambda: join(service.broker, "sub", now=time.time(), username=user,
                                      password=password.encode(), keep_alive=0)[1])

    wires = [connect(s) for s in services]
    _wait(loop, lambda: all(w.received for w in wires), "both CONNACKs (checked in worker threads)")
    assert [loop.call(w.take) for w in wires] == [[p.Connack(0)], [p.Connack(0)]]
    with containers[0].db.write() as session:
        row = session.get(TransferProcess, "urn:uuid:tp-9")
        assert row is not None
        row.state, row.error_detail = "TERMINATED", "terminated by did:web:c.test: line stopped"
    with caplog.at_level(logging.WARNING, "pontis.mqtt"):
        containers[0].transfers.waits.moved("urn:uuid:tp-9", "TERMINATED")
        reached = [0] if containers[0].db.is_sqlite else [0, 1]
        _wait(loop, lambda: all(wires[i].closed for i in reached), f"the cut-off at replicas {reached}")
    assert ("transfer urn:uuid:tp-9 ended: transfer urn:uuid:tp-9 is TERMINATED, not STARTED: terminated by "
            "did:web:c.test: line stopped") in caplog.text
    with containers[1].db.read() as session:
        assert session.get(EdrGrant, USER_GRANT + user).status == "revoked"  # type: ignore[union-attr]
    caplog.clear()
    with caplog.at_level(logging.WARNING, "pontis.mqtt"):
        again = connect(services[-1])
        _wait(loop, lambda: again.closed, "the refusal")
    assert loop.call(again.take) == [p.Connack(5)]
    assert f"user {user!r} was revoked: transfer urn:uuid:tp-9 is TERMINATED" in caplog.text


def test_a_client_flooding_while_its_connect_is_checked_is_closed(caplog: pytest.LogCaptureFixture) -> None:
    broker = Broker(PerTransfer(blocking=True))
    broker.checks = checks = ByHand()
    connection, wire = join(broker, "eager", username="t1")
    with caplog.at_level(logging.WARNING, "pontis.mqtt"):
        connection.receive(p.encode(p.Pingreq()) * (MAX_HELD + 1), 1)
    assert wire.closed and "over 100 packets sent before its CONNACK" in caplog.text
    checks.finish(2)  # its answer finds it gone
    assert wire.take() == [] and not broker.connections
