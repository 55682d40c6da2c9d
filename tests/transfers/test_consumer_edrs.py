"""The consumer's EDR cache as a service: lookup, refresh (single-flight), expiry, sweep, follow-ups.

One consumer connector on SQLite with a clock the test moves. Its transfers are rows written
directly (STARTED, with the EDR a provider would have sent); the provider's refresh endpoint is
either a stub refresher or mocked with pytest-httpx.
"""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import jwt
import pytest
from sqlmodel import select

from connector.config import Peer, Settings
from connector.protocol import Role
from connector.protocol.messages import NegotiationEvent
from connector.services.container import build
from connector.services.edr_cache import (
    EDR_CALLBACK,
    META,
    REFRESH_ENDPOINT,
    REFRESH_TOKEN,
    ConsumerEdrs,
    EdrSweepingWorker,
    PeerFailure,
    RefreshRefused,
    TokenRefresher,
    expires_at,
    prop,
    with_props,
)
from connector.services.errors import Conflict, InvalidRequest, NotFound
from connector.services.transfer import PULL
from connector.store.models import Agreement, Negotiation, OutgoingMessage, TransferProcess
from tests.harness import Clock

PROVIDER = "did:web:nordguss.test"
TOKEN_URL = "http://provider.test/api/public/token"
T0 = 1_800_000_000_000  # ms


def token(exp_ms: int, n: int = 0) -> str:
    return jwt.encode({"exp": exp_ms // 1000, "n": n}, "a-key-this-test-never-checks-anyway", algorithm="HS256")


def address(access: str, refresh: str | None = "refresh-1", endpoint: str | None = TOKEN_URL) -> dict:
    props = [("authorization", access), ("authType", "bearer"), ("expiresIn", "300")]
    if refresh:
        props.append((REFRESH_TOKEN, refresh))
    if endpoint:
        props.append((REFRESH_ENDPOINT, endpoint))
    return {"@type": "DataAddress", "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
            "endpoint": "http://provider.test/api/public",
            "endpointProperties": [{"@type": "EndpointProperty", "name": k, "value": v} for k, v in props]}


class StubRefresher:
    """Counts refreshes; each answers a new token valid for 300 s, after ``delay`` seconds."""

    def __init__(self, clock: Clock, delay: float = 0.0) -> None:
        self.clock, self.delay, self.calls = clock, delay, []
        self.lock = threading.Lock()

    def refresh(self, endpoint: str, refresh_token: str, access_token: str | None, audience: str | None = None) -> dict:
        with self.lock:
            self.calls.append((endpoint, refresh_token, access_token))
            n = len(self.calls)
        time.sleep(self.delay)
        return {"access_token": token(self.clock.now + 300_000, n), "refresh_token": f"refresh-{n + 1}",
                "expires_in": 300}


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def services(tmp_path, clock):  # type: ignore[no-untyped-def]
    settings = Settings(participant_id="did:web:achsen.test", api_key="k", token="achsen-token", transport="httpx",
                        database_url=f"sqlite:///{tmp_path / 'consumer.db'}",
                        peers=[Peer(id=PROVIDER, token="nordguss-token", dsp_url="http://provider.test/api/dsp/2025-1")])
    built = build(settings, clock=clock)
    built.db.migrate()
    yield built
    built.db.dispose()


def started(services, tp_id: str = "urn:uuid:tp-1", data: dict | None = None, state: str = "STARTED") -> str:  # type: ignore[no-untyped-def]
    with services.db.write() as session:
        if session.get(Agreement, "agr-1") is None:
            session.add(Agreement(id="agr-1", negotiation_id="neg-1", asset_id="pcf-NG-WC-400", provider_id=PROVIDER,
                                  consumer_id="did:web:achsen.test", policy={}, signing_date=T0, created_at=T0))
        session.add(TransferProcess(
            id=tp_id, role=Role.CONSUMER.value, state=state, provider_pid=f"urn:uuid:p-{tp_id}", consumer_pid=tp_id,
            counterparty_id=PROVIDER, counterparty_address="http://provider.test/api/dsp/2025-1", agreement_id="agr-1",
            asset_id="pcf-NG-WC-400", transfer_type=PULL, data_address=data, private_properties={},
            created_at=T0, updated_at=T0))
    return tp_id


def row(services, tp_id: str) -> TransferProcess:  # type: ignore[no-untyped-def]
    with services.db.read() as session:
        return session.get(TransferProcess, tp_id)


def pending(services, tp_id: str) -> list[OutgoingMessage]:  # type: ignore[no-untyped-def]
    with services.db.read() as session:
        return list(session.exec(select(OutgoingMessage).where(OutgoingMessage.process_id == tp_id,
                                                               OutgoingMessage.status == "pending")))


# --- the address's properties ------------------------------------------------------------------


def test_properties_are_found_under_any_of_their_names() -> None:
    data = address("tok")
    assert prop(data, "tx-auth:refreshToken") == prop(data, "refreshToken") == prop(data, REFRESH_TOKEN) == "refresh-1"
    changed = with_props(data, {"authorization": "new", REFRESH_TOKEN: "r2", "https://w3id.org/tractusx/auth/x": "y"})
    assert prop(changed, "authorization") == "new" and prop(changed, REFRESH_TOKEN) == "r2" and prop(changed, "https://w3id.org/tractusx/auth/x") == "y"
    assert prop(data, "authorization") == "tok", "with_props must not change its input"


def test_expiry_comes_from_the_token_then_from_expires_in(services, clock) -> None:  # type: ignore[no-untyped-def]
    started(services, "urn:uuid:jwt", address(token(T0 + 42_000)))
    started(services, "urn:uuid:opaque", address("opaque-token"))
    assert expires_at(row(services, "urn:uuid:jwt")) == T0 + 42_000
    assert expires_at(row(services, "urn:uuid:opaque")) == T0 + 300_000  # updated_at + expiresIn


# --- lookup and refresh ------------------------------------------------------------------------


def test_a_fresh_edr_is_served_as_stored(services, clock) -> None:  # type: ignore[no-untyped-def]
    stub = services.edr_cache.refresher = StubRefresher(clock)
    started(services, data=address(token(T0 + 300_000)))
    served = services.edr_cache.data_address("urn:uuid:tp-1")
    assert prop(served, "authorization") == token(T0 + 300_000) and stub.calls == []


def test_an_edr_about_to_expire_is_refreshed_before_it_is_served(services, clock) -> None:  # type: ignore[no-untyped-def]
    stub = services.edr_cache.refresher = StubRefresher(clock)
    old = token(T0 + 20_000)  # inside the 30 s margin
    started(services, data=address(old))
    served = services.edr_cache.data_address("urn:uuid:tp-1")
    assert stub.calls == [(TOKEN_URL, "refresh-1", old)]
    assert prop(served, "authorization") != old and prop(served, REFRESH_TOKEN) == "refresh-2"
    assert row(services, "urn:uuid:tp-1").private_properties[META]["expiresAt"] == T0 + 300_000
    # served again: the new token is fresh, nothing is refreshed
    assert prop(services.edr_cache.data_address("urn:uuid:tp-1"), "authorization") == prop(served, "authorization")
    assert len(stub.calls) == 1


def test_auto_refresh_false_serves_the_stored_edr_while_it_can_be_refreshed(services, clock) -> None:  # type: ignore[no-untyped-def]
    stub = services.edr_cache.refresher = StubRefresher(clock)
    old = token(T0 - 1_000)
    started(services, data=address(old))
    assert prop(services.edr_cache.data_address("urn:uuid:tp-1", auto_refresh=False), "authorization") == old
    assert stub.calls == []


def test_one_refresh_per_transfer_however_many_ask_at_once(services, clock) -> None:  # type: ignore[no-untyped-def]
    stub = services.edr_cache.refresher = StubRefresher(clock, delay=0.3)
    started(services, data=address(token(T0 - 1_000)))
    results: list[str] = []
    barrier = threading.Barrier(8)

    def ask() -> None:
        barrier.wait()
        results.append(prop(services.edr_cache.data_address("urn:uuid:tp-1"), "authorization") or "")

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(stub.calls) == 1, stub.calls
    assert len(results) == 8 and len(set(results)) == 1 and results[0] != token(T0 - 1_000)


def test_a_refresh_lost_to_another_replica_uses_the_winners_token(services, clock) -> None:  # type: ignore[no-untyped-def]
    old = token(T0 - 1_000)
    started(services, data=address(old))
    other = ConsumerEdrs(services.db, services.negotiations, services.transfers, clock=clock,
                         refresher=StubRefresher(clock))

    class LosesTheRace:
        def refresh(self, endpoint: str, refresh_token: str, access_token: str | None, audience: str | None = None) -> dict:
            other.refresh("urn:uuid:tp-1")  # the other replica rotates the single-use refresh token first
            raise RefreshRefused("invalid_grant: the refresh token was already used")

    services.edr_cache.refresher = LosesTheRace()
    served = services.edr_cache.data_address("urn:uuid:tp-1")
    assert prop(served, "authorization") not in (old, None) and prop(served, REFRESH_TOKEN) == "refresh-2"
    assert row(services, "urn:uuid:tp-1").error is None and pending(services, "urn:uuid:tp-1") == []


def test_two_replicas_refreshing_at_once_keep_one_token(services, clock) -> None:  # type: ignore[no-untyped-def]
    started(services, data=address(token(T0 - 1_000)))
    other = ConsumerEdrs(services.db, services.negotiations, services.transfers, clock=clock,
                         refresher=StubRefresher(clock))

    class SlowerReplica:
        def refresh(self, endpoint: str, refresh_token: str, access_token: str | None, audience: str | None = None) -> dict:
            other.refresh("urn:uuid:tp-1")  # the other replica stores its token while ours is on its way
            return {"access_token": "ours-came-second", "refresh_token": "refresh-x", "expires_in": 300}

    services.edr_cache.refresher = SlowerReplica()
    served = services.edr_cache.data_address("urn:uuid:tp-1")
    stored = row(services, "urn:uuid:tp-1").data_address
    assert prop(served, "authorization") == prop(stored, "authorization") != "ours-came-second"
    assert prop(stored, REFRESH_TOKEN) == "refresh-2"  # compare-and-set: the first write wins


def test_the_refresh_grant_is_the_tractus_x_one(services, clock, httpx_mock) -> None:  # type: ignore[no-untyped-def]
    old = token(T0 - 1_000)
    started(services, data=address(old))
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"access_token": "fresh", "refresh_token": "refresh-2", "expires_in": 120,
                                         "token_type": "Bearer"})

    httpx_mock.add_callback(answer, method="POST", url=httpx.URL(TOKEN_URL, params={
        "grant_type": "refresh_token", "refresh_token": "refresh-1"}))
    served = services.edr_cache.refresh("urn:uuid:tp-1")
    assert seen[0].headers["authorization"] == old
    assert prop(served, "authorization") == "fresh" and prop(served, "expiresIn") == "120"
    assert expires_at(row(services, "urn:uuid:tp-1")) == T0 + 120_000


# --- expiry: never STARTED forever ------------------------------------------------------------


def test_an_expired_edr_without_refresh_token_ends_its_transfer(services, clock, httpx_mock) -> None:  # type: ignore[no-untyped-def]
    started(services, data=address(token(T0 - 1_000), refresh=None, endpoint=None))
    with pytest.raises(Conflict) as refused:
        services.edr_cache.data_address("urn:uuid:tp-1")
    assert "no refresh token" in str(refused.value)
    [message] = pending(services, "urn:uuid:tp-1")
    assert message.kind == "TransferTerminationMessage" and message.body["code"] == "edr-expired"
    assert "expired" in message.body["reason"][0]
    # the provider acknowledges the termination: TERMINATED, with the reason kept
    httpx_mock.add_response(method="POST", url=message.url, status_code=200)
    asyncio.run(services.worker.run_once())
    ended = row(services, "urn:uuid:tp-1")
    assert ended.state == "TERMINATED" and ended.error["code"] == "edr-expired"
    with pytest.raises(Conflict, match="TERMINATED"):  # and its EDR says why it is void
        services.edr_cache.data_address("urn:uuid:tp-1")


def test_a_refused_refresh_of_an_expired_edr_ends_its_transfer(services, clock, httpx_mock) -> None:  # type: ignore[no-untyped-def]
    started(services, data=address(token(T0 - 1_000)))
    httpx_mock.add_response(method="POST", status_code=400,
                            json={"error": "invalid_grant", "error_description": "the refresh token has expired"})
    with pytest.raises(Conflict, match="the refresh token has expired"):
        services.edr_cache.data_address("urn:uuid:tp-1")
    assert row(services, "urn:uuid:tp-1").error["code"] == "edr-expired"
    with pytest.raises(Conflict, match="being terminated"):  # asked again: no second refresh, no second termination
        services.edr_cache.data_address("urn:uuid:tp-1")
    assert len(pending(services, "urn:uuid:tp-1")) == 1


def test_an_unreachable_refresh_endpoint_is_retried_until_the_grace_runs_out(services, clock, httpx_mock) -> None:  # type: ignore[no-untyped-def]
    started(services, data=address(token(T0 - 1_000)))
    httpx_mock.add_exception(httpx.ConnectError("connection refused"), is_reusable=True)
    with pytest.raises(PeerFailure, match="connection refused"):
        services.edr_cache.data_address("urn:uuid:tp-1")
    assert row(services, "urn:uuid:tp-1").error is None and pending(services, "urn:uuid:tp-1") == []
    clock.now = T0 + 301_000  # expired 302 s ago: past the 300 s grace
    with pytest.raises(PeerFailure):
        services.edr_cache.data_address("urn:uuid:tp-1")
    assert row(services, "urn:uuid:tp-1").error["code"] == "edr-expired"


def test_the_sweep_refreshes_or_ends_expired_edrs_and_leaves_the_rest(services, clock) -> None:  # type: ignore[no-untyped-def]
    stub = services.edr_cache.refresher = StubRefresher(clock)
    started(services, "urn:uuid:fresh", address(token(T0 + 200_000)))
    started(services, "urn:uuid:dead", address(token(T0 - 1_000), refresh=None, endpoint=None))
    started(services, "urn:uuid:stale", address(token(T0 - 1_000)))
    started(services, "urn:uuid:tck", {"@type": "DataAddress", "endpointType": "x", "endpointProperties": [
        {"@type": "EndpointProperty", "name": "authorization", "value": "TCK-TOKEN"}]})  # says no expiry
    started(services, "urn:uuid:suspended", address(token(T0 - 1_000), refresh=None), state="SUSPENDED")
    assert services.edr_cache.sweep(clock.now) == ["urn:uuid:dead"]
    assert [c[1] for c in stub.calls] == ["refresh-1"]  # only the stale one was refreshed
    assert row(services, "urn:uuid:dead").error["code"] == "edr-expired"
    assert expires_at(row(services, "urn:uuid:stale")) == T0 + 300_000
    for untouched in ("urn:uuid:fresh", "urn:uuid:tck", "urn:uuid:suspended"):
        assert row(services, untouched).error is None and pending(services, untouched) == []


def test_the_worker_runs_the_sweep_beside_the_outbox(services) -> None:  # type: ignore[no-untyped-def]
    calls: list[int] = []
    three = threading.Event()

    def sweep(now: int) -> None:
        calls.append(now)
        if len(calls) >= 3:
            three.set()

    worker = EdrSweepingWorker([services.negotiations, services.transfers], services.client, lambda _: None,
                               sweep=sweep, sweep_seconds=0.05, idle_seconds=0.05)

    async def run() -> bool:
        task = asyncio.create_task(worker.run())
        swept = await asyncio.to_thread(three.wait, 10)  # the sweep runs in a thread
        worker.stop()
        await asyncio.wait_for(task, 5)
        return swept

    assert asyncio.run(run()), f"the worker swept {len(calls)} time(s) in 10 s, not 3"
    assert calls == sorted(calls)


def test_lookups_say_why_there_is_no_edr(services) -> None:  # type: ignore[no-untyped-def]
    started(services, "urn:uuid:requested", None, state="REQUESTED")
    started(services, "urn:uuid:suspended", address("t"), state="SUSPENDED")
    with pytest.raises(NotFound, match="not started it yet"):
        services.edr_cache.data_address("urn:uuid:requested")
    with pytest.raises(Conflict, match="SUSPENDED"):
        services.edr_cache.data_address("urn:uuid:suspended")
    with pytest.raises(NotFound, match="no such consumer transfer"):
        services.edr_cache.data_address("urn:uuid:nope")


# --- negotiate, then transfer ------------------------------------------------------------------


def marked_negotiation(services, state: str = "VERIFIED") -> str:  # type: ignore[no-untyped-def]
    with services.db.write() as session:
        session.add(Negotiation(
            id="urn:uuid:neg-1", role=Role.CONSUMER.value, state=state, provider_pid="urn:uuid:pneg-1",
            consumer_pid="urn:uuid:neg-1", counterparty_id=PROVIDER,
            counterparty_address="http://provider.test/api/dsp/2025-1", offer_id="offer-1", asset_id="pcf-NG-WC-400",
            agreement_id="agr-1", callback_addresses=[{"uri": EDR_CALLBACK, "events": ["contract.negotiation"],
                                                       "transactional": False, "transferType": PULL}],
            created_at=T0, updated_at=T0))
        session.add(Agreement(id="agr-1", negotiation_id="urn:uuid:neg-1", asset_id="pcf-NG-WC-400",
                              provider_id=PROVIDER, consumer_id="did:web:achsen.test", policy={}, signing_date=T0,
                              created_at=T0))
    return "urn:uuid:neg-1"


def finalize(services) -> None:  # type: ignore[no-untyped-def]
    caller = services.authenticator.authenticate("nordguss-token")
    services.negotiations.handle(caller, None, "urn:uuid:neg-1",
                                 NegotiationEvent("urn:uuid:pneg-1", "urn:uuid:neg-1", "FINALIZED"), "digest-1")


def test_finalized_starts_the_transfer_in_the_same_transaction_and_survives_a_restart(tmp_path, services, clock) -> None:  # type: ignore[no-untyped-def]
    marked_negotiation(services)
    finalize(services)  # no worker runs: nothing is sent yet
    restarted = build(services.settings, clock=clock)  # a new process on the same database
    try:
        with restarted.db.read() as session:
            [transfer] = session.exec(select(TransferProcess)).all()
            [message] = session.exec(select(OutgoingMessage).where(OutgoingMessage.process_id == transfer.id)).all()
            neg = session.get(Negotiation, "urn:uuid:neg-1")
        assert neg.state == "FINALIZED"
        assert (transfer.state, transfer.role, transfer.agreement_id, transfer.transfer_type) == (
            "INITIAL", "CONSUMER", "agr-1", PULL)
        assert message.kind == "TransferRequestMessage" and message.status == "pending"
        assert message.url == "http://provider.test/api/dsp/2025-1/transfers/request"
        assert message.body["agreementId"] == "agr-1" and message.body["format"] == PULL
    finally:
        restarted.db.dispose()


def test_a_finalized_negotiation_without_the_edr_mark_starts_nothing(services) -> None:  # type: ignore[no-untyped-def]
    marked_negotiation(services)
    with services.db.write() as session:
        session.get(Negotiation, "urn:uuid:neg-1").callback_addresses = []
    finalize(services)
    with services.db.read() as session:
        assert session.exec(select(TransferProcess)).all() == []


def test_one_transfer_per_finalized_negotiation(services, clock) -> None:  # type: ignore[no-untyped-def]
    marked_negotiation(services, state="FINALIZED")
    with services.db.write() as session:
        neg = session.get(Negotiation, "urn:uuid:neg-1")
        first = services.edr_cache.on_finalized(session, neg, clock.now)
        again = services.edr_cache.on_finalized(session, neg, clock.now)
    assert first is not None and again is None


def test_negotiate_refuses_a_transfer_type_it_cannot_start(services) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidRequest, match="transferType"):
        services.edr_cache.negotiate({}, "HttpData-STREAM")
    with pytest.raises(InvalidRequest, match="dataDestination"):
        services.edr_cache.negotiate({}, "HttpData-PUSH", None)


def test_the_default_refresher_refuses_a_non_http_endpoint() -> None:
    with pytest.raises(RefreshRefused, match="not an http"):
        TokenRefresher().refresh("file:///etc/passwd", "r", "t")
