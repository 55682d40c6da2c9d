"""outbox.claim on both engines: leases, due times, order within a process, and concurrent owners.

Times are arguments: the tests pass ``now`` and never sleep to let a lease run out.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlmodel import select

from connector.services import outbox
from connector.store import Database
from connector.store.models import OutgoingMessage

T0 = 1_790_000_000_000
LEASE = 30_000


def add(db: Database, process_id: str, now: int = T0, **kw) -> int:  # type: ignore[no-untyped-def]
    with db.write() as session:
        message = outbox.enqueue(session, process_id, kw.pop("kind", "ContractRequestMessage"),
                                 f"https://peer.example/{process_id}", {"process": process_id}, now)
        for name, value in kw.items():
            setattr(message, name, value)
        session.flush()
        return message.id


def claim(db: Database, owner: str, now: int, limit: int = 10, lease_ms: int = LEASE) -> list[int]:
    with db.write() as session:
        rows = outbox.claim(session, owner, now, limit, lease_ms, postgres=not db.is_sqlite)
        return [r.id for r in rows]


def finish(db: Database, message_id: int, status: str = "done") -> None:
    with db.write() as session:
        session.get(OutgoingMessage, message_id).status = status


def row(db: Database, message_id: int) -> OutgoingMessage:
    with db.read() as session:
        return session.get(OutgoingMessage, message_id)


def test_enqueue_stores_a_pending_message_due_now(db: Database) -> None:
    mid = add(db, "p1")
    r = row(db, mid)
    assert (r.status, r.attempts, r.next_attempt_at, r.created_at, r.lease_owner, r.lease_until) == \
        ("pending", 0, T0, T0, None, 0)
    assert r.body == {"process": "p1"} and r.url == "https://peer.example/p1"


def test_claim_leases_due_rows_to_the_owner(db: Database) -> None:
    ids = [add(db, f"p{i}") for i in range(3)]
    assert claim(db, "a", T0) == ids
    for mid in ids:
        r = row(db, mid)
        assert (r.lease_owner, r.lease_until, r.status) == ("a", T0 + LEASE, "pending")


def test_claim_on_an_empty_outbox_returns_nothing(db: Database) -> None:
    assert claim(db, "a", T0) == []


def test_a_leased_row_goes_to_no_one_else_until_the_lease_runs_out(db: Database) -> None:
    mid = add(db, "p1")
    assert claim(db, "a", T0) == [mid]
    assert claim(db, "b", T0 + 1) == []
    assert claim(db, "a", T0 + 1) == []  # not even to its owner: it is being sent
    assert claim(db, "b", T0 + LEASE) == []  # the lease runs up to and including lease_until
    assert claim(db, "b", T0 + LEASE + 1) == [mid]
    r = row(db, mid)
    assert (r.lease_owner, r.lease_until) == ("b", T0 + LEASE + 1 + LEASE)
    assert claim(db, "a", T0 + LEASE + 2) == []


def test_claim_respects_next_attempt_at(db: Database) -> None:
    later = add(db, "p1", next_attempt_at=T0 + 5_000)
    now = add(db, "p2")
    assert claim(db, "a", T0) == [now]
    assert claim(db, "a", T0 + 4_999) == []
    assert claim(db, "a", T0 + 5_000) == [later]


def test_claim_takes_the_earliest_due_first_and_at_most_limit(db: Database) -> None:
    third = add(db, "p1", next_attempt_at=T0 - 1_000)
    first = add(db, "p2", next_attempt_at=T0 - 3_000)
    second = add(db, "p3", next_attempt_at=T0 - 2_000)
    fourth = add(db, "p4", next_attempt_at=T0 - 1_000)
    with db.write() as session:
        got = outbox.claim(session, "a", T0, 2, LEASE, postgres=not db.is_sqlite)
        assert {r.id for r in got} == {first, second}
    assert sorted(claim(db, "b", T0, limit=10)) == sorted([third, fourth])


def test_finished_rows_are_never_claimed(db: Database) -> None:
    ids = {status: add(db, f"p-{status}") for status in ("done", "cancelled", "failed")}
    for status, mid in ids.items():
        finish(db, mid, status)
    assert claim(db, "a", T0 + 10 * LEASE) == []


def test_only_the_oldest_pending_message_of_a_process_is_claimable(db: Database) -> None:
    p1 = [add(db, "p1", kind=f"m{i}") for i in range(3)]
    q1 = add(db, "q1")
    assert claim(db, "a", T0) == [p1[0], q1]
    # while the first is out (leased), its successors wait, even for another owner
    assert claim(db, "b", T0 + 1) == []
    finish(db, p1[0])
    assert claim(db, "b", T0 + 2) == [p1[1]]
    finish(db, p1[1], "cancelled")
    assert claim(db, "b", T0 + 3) == [p1[2]]


def test_a_retry_scheduled_later_holds_back_the_rest_of_its_process(db: Database) -> None:
    first = add(db, "p1", next_attempt_at=T0 + 10_000, attempts=1)
    add(db, "p1")
    assert claim(db, "a", T0) == []
    assert claim(db, "a", T0 + 10_000) == [first]


def test_an_expired_lease_hands_over_the_same_message_not_the_next(db: Database) -> None:
    first, second = add(db, "p1"), add(db, "p1")
    assert claim(db, "a", T0) == [first]
    assert claim(db, "b", T0 + LEASE + 1) == [first]
    assert row(db, second).lease_owner is None


def test_pending_for_and_cancel_pending(db: Database) -> None:
    ids = [add(db, "p1", kind=f"m{i}") for i in range(3)]
    other = add(db, "p2")
    finish(db, ids[0])
    with db.read() as session:
        assert [m.id for m in outbox.pending_for(session, "p1")] == ids[1:]
    with db.write() as session:
        outbox.cancel_pending(session, "p1", "the peer terminated")
    with db.read() as session:
        assert outbox.pending_for(session, "p1") == []
        assert [(m.status, m.last_error) for m in (session.get(OutgoingMessage, i) for i in ids)] == [
            ("done", None), ("cancelled", "the peer terminated"), ("cancelled", "the peer terminated")]
    assert claim(db, "a", T0) == [other]


def test_release_gives_up_an_owners_pending_leases_at_once(db: Database) -> None:
    mine, done, theirs = add(db, "p1"), add(db, "p2"), add(db, "p3")
    claim(db, "a", T0, limit=2)
    finish(db, done)
    claim(db, "b", T0)
    with db.write() as session:
        assert outbox.release(session, "a") == 1
    assert row(db, done).lease_owner == "a"  # a finished row keeps its history
    assert row(db, theirs).lease_owner == "b"
    assert claim(db, "c", T0 + 1) == [mine]


def test_a_claim_in_flight_is_invisible_to_a_second_owner(db: Database) -> None:
    """Owner a has claimed rows but not committed yet when owner b claims.

    PostgreSQL: b skips a's locked rows (FOR UPDATE SKIP LOCKED) and gets the others at once.
    SQLite: b's BEGIN IMMEDIATE waits until a commits, then sees a's leases. Either way the two
    sets are disjoint and together cover all rows.
    """
    ids = [add(db, f"p{i}") for i in range(6)]
    a_claimed, b_done = threading.Event(), threading.Event()
    got: dict[str, list[int]] = {}

    def owner_a() -> bool:
        with db.write() as session:
            got["a"] = [r.id for r in outbox.claim(session, "a", T0, 3, LEASE, postgres=not db.is_sqlite)]
            a_claimed.set()
            # hold the transaction open until b is done, or briefly where b must wait for us
            b_finished_first = b_done.wait(timeout=0.5)
        return b_finished_first

    def owner_b() -> None:
        assert a_claimed.wait(timeout=10)
        got["b"] = claim(db, "b", T0, limit=10)
        b_done.set()

    with ThreadPoolExecutor(2) as pool:
        fa, fb = pool.submit(owner_a), pool.submit(owner_b)
        fb.result(timeout=30)
        b_finished_first = fa.result(timeout=30)

    assert got["a"] == ids[:3]
    assert got["b"] == ids[3:]
    # on PostgreSQL the second owner skips locked rows rather than waiting for them
    assert b_finished_first is (not db.is_sqlite)
    with db.read() as session:
        owners = {m.id: m.lease_owner for m in session.exec(select(OutgoingMessage))}
    assert owners == {**{i: "a" for i in ids[:3]}, **{i: "b" for i in ids[3:]}}


def test_concurrent_owners_never_claim_a_row_twice(db: Database) -> None:
    rows = 240
    with db.write() as session:
        session.add_all([
            OutgoingMessage(process_id=f"p{i % 80}", kind="k", url="u", body={}, next_attempt_at=T0, created_at=T0)
            for i in range(rows)
        ])
    owners = ["a", "b", "c"]
    start = threading.Barrier(len(owners))

    def work(owner: str) -> list[int]:
        mine: list[int] = []
        start.wait(timeout=10)
        idle = 0
        while idle < 3:
            got = claim(db, owner, T0, limit=7)
            idle = idle + 1 if not got else 0
            for mid in got:  # sent at once: the next message of that process becomes claimable
                finish(db, mid)
            mine += got
        return mine

    with ThreadPoolExecutor(len(owners)) as pool:
        claimed = dict(zip(owners, pool.map(work, owners, timeout=60)))

    everything = [mid for got in claimed.values() for mid in got]
    assert len(everything) == len(set(everything)), "a row was claimed twice"
    assert len(everything) == rows
    with db.read() as session:
        stored = {m.id: m.lease_owner for m in session.exec(select(OutgoingMessage))}
    assert stored == {mid: owner for owner, got in claimed.items() for mid in got}


def test_prune_deletes_finished_rows_and_answers_past_the_window_only(db: Database) -> None:
    from connector.store.models import ReceivedMessage

    old_done, old_pending, new_done = add(db, "p1", T0), add(db, "p2", T0), add(db, "p3", T0 + 10_000)
    finish(db, old_done)
    finish(db, new_done, "cancelled")
    with db.write() as session:
        session.add(ReceivedMessage(digest="old", process_id="p1", status_code=200, response={}, created_at=T0))
        session.add(ReceivedMessage(digest="new", process_id="p1", status_code=200, response={}, created_at=T0 + 10_000))
    cut = T0 + 5_000
    with db.read() as session:
        assert outbox.prunable(session, cut)
    with db.write() as session:
        assert outbox.prune(session, cut, batch=1) == 2  # batches: one of each kind
    with db.write() as session:
        assert outbox.prune(session, cut) == 0
    with db.read() as session:
        assert not outbox.prunable(session, cut)
        assert session.get(OutgoingMessage, old_done) is None
        assert session.get(OutgoingMessage, old_pending) is not None  # work is never pruned, however old
        assert session.get(OutgoingMessage, new_done) is not None
        assert session.get(ReceivedMessage, "old") is None and session.get(ReceivedMessage, "new") is not None


def test_dispatch_leases_what_it_can_hand_over_and_leaves_the_rest_to_a_claim(db: Database) -> None:
    dispatch = outbox.Dispatch("node-a", lease_ms=LEASE)
    with db.write() as session:  # no sender listens yet: stored for a claim
        quiet = dispatch.enqueue(session, "p0", "k", "u", {}, T0)
    assert quiet.lease_owner is None
    woken: list[int] = []
    dispatch.listen(lambda: woken.append(1))
    with db.write() as session:
        first = dispatch.enqueue(session, "p1", "k", "u", {}, T0)
        second = dispatch.enqueue(session, "p1", "k", "u", {}, T0)  # behind the first: keeps the order
        later = dispatch.enqueue(session, "p2", "k", "u", {}, T0, delay_ms=500)  # not due yet
    assert (first.lease_owner, first.lease_until) == ("node-a", T0 + LEASE)
    assert second.lease_owner is None and later.lease_owner is None and later.next_attempt_at == T0 + 500
    dispatch.hand_over([first, second, later], T0)
    assert woken and dispatch.claim_wanted
    assert [m.id for m in dispatch.take(10)] == [first.id] and dispatch.take(10) == []
    # another node's claim never takes the handed-over row while its lease holds
    assert claim(db, "node-b", T0 + 1) == [quiet.id]
    finish(db, first.id)
    assert claim(db, "node-b", T0 + 1) == [second.id]
    assert claim(db, "node-b", T0 + 500) == [later.id]


def test_any_due_is_a_read_that_sees_only_claimable_rows(db: Database) -> None:
    with db.read() as session:
        assert not outbox.any_due(session, T0)
    mid = add(db, "p1", next_attempt_at=T0 + 100)
    with db.read() as session:
        assert not outbox.any_due(session, T0) and outbox.any_due(session, T0 + 100)
    claim(db, "a", T0 + 100)
    with db.read() as session:
        assert not outbox.any_due(session, T0 + 100)
    assert row(db, mid).lease_owner == "a"
