"""What negotiations and transfer processes share: load, step, persist, execute effects.

A *process* is a row (negotiation or transfer) with a role, a wire state, both process ids and
the peer's address. The decisions are ``protocol.step``'s (pure); ``ProcessService`` only

- loads a snapshot of the row (the queued message only when the in-flight rule needs it),
- calls ``step`` with what happened (a peer's message, our message's acknowledgement or failure,
  a staff command) and the playbook as autopilot,
- writes the new snapshot and carries out the effects in the same transaction.

Incoming messages and send results go through ``Database.group_write``: concurrent ones share
one write transaction (group commit), and the edge acknowledges only after it committed. A
message queued here is leased to this node's sender and handed to it in memory after the commit
(``Dispatch``); the stored row remains for crash recovery, retries and other replicas.

Subclasses supply the machine and the hooks that know their messages.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy import bindparam, insert
from sqlalchemy import select as sa_select
from sqlmodel import Session

from connector.identity import Participant
from connector.protocol import NegotiationMessage, RemoteProtocolError, Role
from connector.protocol.errors import LocalProtocolError
from connector.protocol.retry import RetryPolicy
from connector.protocol.step import (
    Absorb,
    Acknowledged,
    CancelQueued,
    Commanded,
    Effect,
    EndDataFlow,
    Event,
    FinishQueued,
    Machine,
    Message,
    Outcome,
    Reached,
    Received,
    RecordError,
    ScheduleRetry,
    Send,
    SendFailed,
    Snapshot,
    StoreAgreement,
    Terminate,
    step,
)
from connector.protocol.transfer import TransferMessage
from connector.services import outbox
from connector.services.errors import Conflict, InvalidRequest, NotFound
from connector.services.outbox import Dispatch
from connector.services.playbook import Playbook
from connector.services.state_waits import StateWaits
from connector.store import Database
from connector.store.models import OutgoingMessage, ReceivedMessage

log = logging.getLogger("pontis.process")

# a replay's stored answer: Core with one statement built once (no ORM load, no cache-key work)
_ANSWERED = sa_select(ReceivedMessage.status_code, ReceivedMessage.response).where(  # type: ignore[call-overload]
    ReceivedMessage.digest == bindparam("digest"))
_RECORD_ANSWER = insert(ReceivedMessage)

INITIAL = "INITIAL"  # a consumer's process whose first message is not yet acknowledged

# a subscriber to "negotiation finalized" / "transfer started": runs in the transaction that got
# there and returns the messages it queued
Subscriber = Callable[[Session, Any, int], Sequence[OutgoingMessage]]


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, Any] | None


def new_pid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def message_digest(caller_id: str, path: str, raw: bytes) -> str:
    return hashlib.sha256(caller_id.encode() + b"\0" + path.encode() + b"\0" + raw).hexdigest()


def join_url(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/")


@dataclass
class Work:
    """One transaction's context: what it queued, and the message and outbox row it handles."""

    now: int
    message: Any = None
    out: OutgoingMessage | None = None
    queued: list[OutgoingMessage] = field(default_factory=list)
    moved: list[tuple[str, str]] = field(default_factory=list)  # (process id, new state)

    def fresh(self) -> None:
        """Forget a rolled-back attempt: a write that lost to another replica runs again from the start."""
        self.out, self.queued, self.moved = None, [], []


class ProcessService:
    machine: ClassVar[Machine]
    model: ClassVar[type[Any]]

    def __init__(self, db: Database, *, participant_id: str, callback_url: str, playbook: Playbook,
                 clock: Callable[[], int], retry: RetryPolicy, dispatch: Dispatch | None = None) -> None:
        self.db = db
        self.participant_id = participant_id
        self.callback_url = callback_url
        self.playbook = playbook
        self.clock = clock
        self.retry = retry
        self.dispatch = dispatch or Dispatch()
        self._reached: list[Subscriber] = []
        self.waits = StateWaits()

    def subscribe(self, subscriber: Subscriber) -> None:
        """Call ``subscriber`` in the transaction in which a process reaches its milestone
        (a negotiation FINALIZED, a transfer STARTED)."""
        self._reached.append(subscriber)

    # --- hooks -------------------------------------------------------------------------------

    def _start_from_peer(self, session: Session, caller: Participant, role: Role | None, message: Any,
                         work: Work) -> tuple[Any, int]:
        raise NotImplementedError

    def _absorb(self, session: Session, row: Any, message: Any, now: int) -> None:
        """Keep what a received message carries."""

    def _build(self, session: Session, row: Any, kind: Any, now: int, code: str | None,
               reasons: list[str] | None) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def _domain_effect(self, session: Session, row: Any, effect: Effect, message: Any,
                       out: OutgoingMessage | None, now: int) -> None:
        """StoreAgreement, EndDataFlow: what only the subclass knows how to do."""

    def _refusal(self, session: Session, row: Any, message: Any) -> tuple[str, tuple[str, ...]] | None:
        """Whether we take a received message but answer it with a termination (code, reasons)."""
        return None

    def _playbook_keys(self, row: Any) -> tuple[str | None, ...]:
        return ()

    def _ack(self, row: Any) -> dict[str, Any]:
        raise NotImplementedError

    def _is_counter(self, kind: Any) -> bool:
        return False

    # --- snapshots ------------------------------------------------------------------------------

    def kind(self, stored: str) -> Message:
        """A stored message kind as this machine's message."""
        kind = self.machine.messages(stored)
        assert isinstance(kind, (NegotiationMessage, TransferMessage))
        return kind

    def state_of(self, row: Any) -> Any:
        return None if row.state == INITIAL else self.machine.states(row.state)

    def snapshot(self, row: Any, queued: OutgoingMessage | None = None) -> Snapshot:
        return Snapshot(self.machine, Role(row.role), self.state_of(row), row.provider_pid,
                        self.kind(queued.kind) if queued is not None else None,
                        queued is not None and queued.lease_owner is not None)

    def _load(self, session: Session, pid: str, lock: bool = True) -> Any:
        return session.get(self.model, pid, with_for_update=lock)

    def _step(self, session: Session, row: Any, event: Event, work: Work,
              queued: OutgoingMessage | None = None) -> Outcome:
        def autopilot(name: str, kind: Any, counter: bool) -> Any:
            return self.playbook.next_action(Role(row.role), name, kind, self._playbook_keys(row), counter=counter)

        outcome = step(self.snapshot(row, queued), event, work.now, autopilot=autopilot, retry=self.retry,
                       delay_ms=self.playbook.delay_ms)
        self._execute(session, row, outcome, work, queued)
        return outcome

    def _execute(self, session: Session, row: Any, outcome: Outcome, work: Work,
                 queued: OutgoingMessage | None) -> None:
        snap = outcome.snapshot
        state = snap.state.value if snap.state is not None else INITIAL
        if state != row.state or snap.provider_pid != row.provider_pid:
            row.state, row.provider_pid, row.updated_at = state, snap.provider_pid, work.now
            work.moved.append((row.id, state))
        for effect in outcome.effects:
            if isinstance(effect, Send):
                out = self.enqueue(session, row, effect.message, work.now, effect.code,
                                   list(effect.reasons) or None, delay_ms=effect.delay_ms)
                work.queued.append(out)
            elif isinstance(effect, CancelQueued):
                outbox.cancel_pending(session, row.id, effect.reason)
            elif isinstance(effect, FinishQueued):
                target = queued if queued is not None else work.out
                if target is not None:
                    target.status = effect.status
                    if effect.error and not target.last_error:
                        target.last_error = effect.error
                    session.add(target)
            elif isinstance(effect, ScheduleRetry):
                if work.out is not None:
                    work.out.next_attempt_at = effect.at
                    work.out.lease_owner, work.out.lease_until = None, 0
                    session.add(work.out)
            elif isinstance(effect, Absorb):
                self._absorb(session, row, work.message, work.now)
            elif isinstance(effect, RecordError):
                row.error = {"by": effect.by, "code": effect.code, "reasons": list(effect.reasons)}
                row.error_detail = "; ".join(effect.reasons)
            elif isinstance(effect, Terminate):
                self.end_locally(row, effect.by, effect.code, list(effect.reasons), work.now)
                work.moved.append((row.id, row.state))
                log.warning("%s %s: %s", self.machine.name, row.id, row.error_detail)
            elif isinstance(effect, Reached):
                for subscriber in self._reached:
                    work.queued.extend(subscriber(session, row, work.now))
            elif isinstance(effect, (StoreAgreement, EndDataFlow)):
                self._domain_effect(session, row, effect, work.message, queued or work.out, work.now)
        session.add(row)

    def _after_commit(self, work: Work) -> None:
        if work.queued:
            self.dispatch.hand_over(work.queued, work.now)
        for pid, state in work.moved:
            self.waits.moved(pid, state)

    # --- incoming DSP messages -----------------------------------------------------------------

    def handle(self, caller: Participant, role: Role | None, pid: str | None, message: Any, digest: str) -> Answer:
        """Apply a peer's message to our process ``pid`` (None for an initial message).

        ``role`` None means "whichever role we play in that process": the consumer's callbacks
        and the provider's endpoints share paths such as ``/negotiations/:pid/events``.
        """
        work = Work(self.clock(), message)

        def apply(session: Session) -> Answer:
            work.fresh()
            seen = session.connection().execute(_ANSWERED, {"digest": digest}).first()
            if seen is not None:
                return Answer(seen.status_code, seen.response)
            if pid is None:
                row, status = self._start_from_peer(session, caller, role, message, work)
            else:
                row, status = self._continue(session, caller, role, pid, message, work)
            answer = Answer(status, self._ack(row))
            session.connection().execute(_RECORD_ANSWER, {  # Core: no unit of work for a log row
                "digest": digest, "process_id": row.id, "status_code": status, "response": answer.body,
                "created_at": work.now})
            return answer

        answer = self.db.group_write(apply)
        self._after_commit(work)
        return answer

    def _continue(self, session: Session, caller: Participant, role: Role | None, pid: str, message: Any,
                  work: Work) -> tuple[Any, int]:
        row = self._load(session, pid)
        if row is None or (role is not None and row.role != role.value) or row.counterparty_id != caller.id:
            raise NotFound(f"{self.machine.name}.unknown", f"no {self.machine.name} {pid} of yours is known here")
        self._check_pids(row, Role(row.role), message)
        kind = message.kind
        event = Received(kind, getattr(message, "provider_pid", None), self._is_counter(kind),
                         self._refusal(session, row, message))
        try:
            step(self.snapshot(row), event, work.now)  # a dry run: most messages fit, and need no queue look-up
            queued = None
        except RemoteProtocolError:
            pending = outbox.pending_for(session, row.id)
            queued = pending[0] if pending else None
            if queued is None or queued.lease_owner is None:
                raise
        self._step(session, row, event, work, queued)
        return row, 200

    def _check_pids(self, row: Any, role: Role, message: Any) -> None:
        checks = [("consumerPid", message.consumer_pid, row.consumer_pid)]
        if role is Role.PROVIDER or row.provider_pid is not None:
            checks.insert(0, ("providerPid", message.provider_pid, row.provider_pid))
        for name, got, ours in checks:
            if got != ours:
                raise InvalidRequest(name, f"{name} {got!r} does not match {ours!r}", path=name)

    def get_for(self, caller: Participant, pid: str) -> dict[str, Any]:
        """The process a peer may see: its own process with us, and only that."""
        with self.db.read() as session:
            row = session.get(self.model, pid)
            if row is None or row.counterparty_id != caller.id:
                raise NotFound(f"{self.machine.name}.unknown", f"no {self.machine.name} {pid} of yours is known here")
            return self._ack(row)

    # --- our own side --------------------------------------------------------------------------

    def follow(self, session: Session, row: Any, kind: Any, work: Work, counter: bool = False) -> None:
        """A process a peer just started: what our side sends first (its step is the table's)."""
        action = self.playbook.next_action(Role(row.role), "received", kind, self._playbook_keys(row),
                                           counter=counter)
        if action is not None and self.machine.next(self.state_of(row), action, Role(row.role)) is not None:
            work.queued.append(self.enqueue(session, row, action, work.now, delay_ms=self.playbook.delay_ms))

    def enqueue(self, session: Session, row: Any, kind: Any, now: int, code: str | None = None,
                reasons: list[str] | None = None, *, delay_ms: int = 0) -> OutgoingMessage:
        url, body = self._build(session, row, kind, now, code, reasons)
        return self.dispatch.enqueue(session, row.id, kind.value, url, body, now, delay_ms)

    def command(self, pid: str, kind: Any, *, code: str | None = None, reasons: list[str] | None = None,
                check: Callable[[Any], None] | None = None) -> None:
        """Queue a message staff asked for; refuse at once if the protocol does not allow it."""
        work = Work(self.clock())
        with self.db.write() as session:
            row = self._load(session, pid)
            if row is None:
                raise NotFound(f"{self.machine.name}.unknown", f"no {self.machine.name} {pid}")
            if check is not None:
                check(row)
            try:
                self._step(session, row, Commanded(kind, code, tuple(reasons or ())), work)
            except LocalProtocolError as exc:
                raise Conflict(f"{self.machine.name}.state", str(exc)) from exc
        self._after_commit(work)

    def end_locally(self, row: Any, by: str, code: str, reasons: list[str], now: int) -> None:
        row.state = self.machine.terminated.value
        row.error = {"by": by, "code": code, "reasons": reasons}
        row.error_detail = "; ".join(reasons)
        row.updated_at = now

    # --- results of sending --------------------------------------------------------------------

    def fits(self, session: Session, message: OutgoingMessage) -> bool:
        """Whether a queued message still fits its process; a stale one is cancelled, not sent."""
        row = session.get(self.model, message.process_id)
        if row is None:
            return False
        if self.machine.next(self.state_of(row), self.kind(message.kind), Role(row.role)) is None:
            message.status = "cancelled"
            message.last_error = f"no longer fits state {row.state}"
            session.add(message)
            return False
        return True

    def acknowledged(self, message_id: int, response: dict[str, Any] | None) -> None:
        """The peer acknowledged one of our messages: now, and only now, our state moves."""
        work = Work(self.clock())

        def apply(session: Session) -> None:
            work.fresh()
            out = outbox.pending(session, message_id)
            if out is None:
                return  # already applied (the peer's next message showed it arrived)
            work.out = out
            row = self._load(session, out.process_id)
            out.attempts += 1  # after the row's load (an autoflush): one UPDATE with the status
            provider_pid = (response or {}).get("providerPid")
            event = Acknowledged(self.kind(out.kind), provider_pid if isinstance(provider_pid, str) else None)
            self._step(session, row, event, work, out)

        self.db.group_write(apply)
        self._after_commit(work)

    def failed(self, message_id: int, error: str, *, permanent: bool, peer_reasons: list[str] | None = None,
               peer_status: int | None = None) -> None:
        """A send failed: retry later as stored data, or give up and say why."""
        work = Work(self.clock())

        def apply(session: Session) -> None:
            work.fresh()
            out = session.get(OutgoingMessage, message_id)
            if out is None or out.status != "pending":
                return
            work.out = out
            out.attempts += 1
            out.last_error = error
            row = self._load(session, out.process_id)
            if peer_reasons:
                reasons = (f"{row.counterparty_id} refused our {out.kind} ({error}): " + "; ".join(peer_reasons),)
            else:
                reasons = (f"{out.kind} to {out.url} failed: {error}",)
            event = SendFailed(self.kind(out.kind), reasons, out.attempts, permanent,
                               tell_peer=permanent and peer_status not in (404, None))
            self._step(session, row, event, work, out)

        self.db.group_write(apply)
        self._after_commit(work)
