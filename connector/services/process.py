"""What negotiations and transfer processes share: durable handling of DSP messages in both roles.

A *process* is a row (negotiation or transfer) with a role, a wire state, both process ids and
the peer's address. ``ProcessService`` does the protocol-neutral work once:

- ``handle``: an incoming message in one write transaction (row lock, transition table, the
  stored answer for replays, follow-up messages), before the edge acknowledges;
- ``acknowledged`` / ``failed``: the outbox worker's results; state moves only on the peer's ACK;
  failures are retried as stored data, then end the process with a reason;
- the in-flight rule: a peer may answer our message before our sender saw its ACK.

Subclasses supply the table (``Machine``) and the hooks that know their messages.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlmodel import Session

from connector.identity import Participant
from connector.protocol import RemoteProtocolError, Role
from connector.protocol.errors import LocalProtocolError
from connector.protocol.retry import RetryPolicy
from connector.services import outbox
from connector.services.errors import Conflict, InvalidRequest, NotFound
from connector.services.playbook import Playbook
from connector.store import Database
from connector.store.models import OutgoingMessage, ReceivedMessage

log = logging.getLogger("pontis.process")

INITIAL = "INITIAL"  # a consumer's process whose first message is not yet acknowledged


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict | None


@dataclass(frozen=True)
class Machine:
    """One DSP state machine: its states, messages, table and terminal states."""

    name: str
    State: type[StrEnum]
    Message: type[StrEnum]
    next_state: Callable[[Any, Any, Role], Any]
    receive: Callable[[Role, Any, Any], Any]
    send: Callable[[Role, Any, Any], Any]
    terminal: frozenset
    terminated: Any
    termination: Any
    initial_message: Any


def new_pid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def message_digest(caller_id: str, path: str, raw: bytes) -> str:
    return hashlib.sha256(caller_id.encode() + b"\0" + path.encode() + b"\0" + raw).hexdigest()


def join_url(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/")


class ProcessService:
    machine: ClassVar[Machine]
    model: ClassVar[type]

    def __init__(self, db: Database, *, participant_id: str, callback_url: str, playbook: Playbook,
                 clock: Callable[[], int], retry: RetryPolicy, wake: Callable[[], None] = lambda: None) -> None:
        self.db = db
        self.participant_id = participant_id
        self.callback_url = callback_url
        self.playbook = playbook
        self.clock = clock
        self.retry = retry
        self.wake = wake

    # --- hooks -------------------------------------------------------------------------------

    def _start_from_peer(self, session, caller, role, message, now, enqueued):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    def _absorb(self, session: Session, row: Any, message: Any, now: int) -> None:
        """Keep what a received message carries."""

    def _build(self, session: Session, row: Any, kind: Any, now: int, code: str | None, reasons: list[str] | None) -> tuple[str, dict]:
        raise NotImplementedError

    def _on_acknowledged(self, session: Session, row: Any, out: OutgoingMessage, response: dict | None, now: int) -> str | None:
        """Record what our acknowledged message did; return an error text to fail it instead."""
        return None

    def _playbook_keys(self, row: Any) -> tuple[str | None, ...]:
        return ()

    def _ack(self, row: Any) -> dict:
        raise NotImplementedError

    # --- states ------------------------------------------------------------------------------

    def state_of(self, row: Any) -> Any:
        return None if row.state == INITIAL else self.machine.State(row.state)

    def _load(self, session: Session, pid: str, lock: bool = True) -> Any:
        return session.get(self.model, pid, with_for_update=lock)

    # --- incoming DSP messages -----------------------------------------------------------------

    def handle(self, caller: Participant, role: Role | None, pid: str | None, message: Any, digest: str) -> Answer:
        """Apply a peer's message to our process ``pid`` (None for an initial message).

        ``role`` None means "whichever role we play in that process": the consumer's callbacks
        and the provider's endpoints share paths such as ``/negotiations/:pid/events``.
        """
        now = self.clock()
        enqueued: list[OutgoingMessage] = []
        with self.db.write() as session:
            seen = session.get(ReceivedMessage, digest)
            if seen is not None:
                return Answer(seen.status_code, seen.response)
            if pid is None:
                row, status = self._start_from_peer(session, caller, role, message, now, enqueued)
            else:
                row, status = self._continue(session, caller, role, pid, message, now, enqueued)
            answer = Answer(status, self._ack(row))
            session.add(ReceivedMessage(digest=digest, process_id=row.id, status_code=status,
                                        response=answer.body, created_at=now))
        if enqueued:
            self.wake()
        return answer

    def _continue(self, session, caller, role, pid, message, now, enqueued):  # type: ignore[no-untyped-def]
        row = self._load(session, pid)
        if row is None or (role is not None and row.role != role.value) or row.counterparty_id != caller.id:
            raise NotFound(f"{self.machine.name}.unknown", f"no {self.machine.name} {pid} of yours is known here")
        role = Role(row.role)
        self._check_pids(row, role, message)
        kind = message.kind
        try:
            if row.state == INITIAL:
                raise RemoteProtocolError(None, kind.value, "our first message is not yet acknowledged")
            new = self.machine.receive(role, self.state_of(row), kind)
        except RemoteProtocolError as exc:
            new = self._after_in_flight(session, row, role, kind, message, exc)
        self._absorb(session, row, message, now)
        row.state = new.value
        row.updated_at = now
        if new is self.machine.terminated:
            outbox.cancel_pending(session, row.id, "the peer terminated the process")
        session.add(row)
        self._follow(session, row, "received", kind, now, enqueued, counter=self._is_counter(kind))
        return row, 200

    def _is_counter(self, kind: Any) -> bool:
        return False

    def _check_pids(self, row: Any, role: Role, message: Any) -> None:
        checks = [("consumerPid", message.consumer_pid, row.consumer_pid)]
        if role is Role.PROVIDER or row.provider_pid is not None:
            checks.insert(0, ("providerPid", message.provider_pid, row.provider_pid))
        for field, got, ours in checks:
            if got != ours:
                raise InvalidRequest(field, f"{field} {got!r} does not match {ours!r}", path=field)

    def _after_in_flight(self, session, row, role, kind, message, error):  # type: ignore[no-untyped-def]
        """A peer can answer our message before our sender has seen the peer's acknowledgement.

        If a message of ours is on its way and the peer's message fits the state that message
        leads to, the peer has evidently received it: apply it first, then the peer's.
        """
        pending = outbox.pending_for(session, row.id)
        if pending and pending[0].lease_owner is not None:
            sent = self.machine.Message(pending[0].kind)
            after = self.machine.next_state(self.state_of(row), sent, role)
            if after is not None:
                try:
                    new = self.machine.receive(role, after, kind)
                except RemoteProtocolError:
                    raise error from None
                if sent is self.machine.initial_message and row.provider_pid is None:
                    row.provider_pid = getattr(message, "provider_pid", None)
                self._on_acknowledged(session, row, pending[0], None, self.clock())
                pending[0].status = "done"
                session.add(pending[0])
                return new
        raise error

    def get_for(self, caller: Participant, pid: str) -> dict:
        """The process a peer may see: its own process with us, and only that."""
        with self.db.read() as session:
            row = session.get(self.model, pid)
            if row is None or row.counterparty_id != caller.id:
                raise NotFound(f"{self.machine.name}.unknown", f"no {self.machine.name} {pid} of yours is known here")
            return self._ack(row)

    # --- our own side --------------------------------------------------------------------------

    def _follow(self, session, row, event, kind, now, enqueued, counter=False):  # type: ignore[no-untyped-def]
        role = Role(row.role)
        action = self.playbook.next_action(role, event, kind, self._playbook_keys(row), counter=counter)
        if action is not None and self.machine.next_state(self.state_of(row), action, role) is not None:
            message = self.enqueue(session, row, action, now)
            message.next_attempt_at = now + self.playbook.delay_ms
            enqueued.append(message)

    def enqueue(self, session: Session, row: Any, kind: Any, now: int,
                code: str | None = None, reasons: list[str] | None = None) -> OutgoingMessage:
        url, body = self._build(session, row, kind, now, code, reasons)
        return outbox.enqueue(session, row.id, kind.value, url, body, now)

    def command(self, pid: str, kind: Any, *, code: str | None = None, reasons: list[str] | None = None,
                check: Callable[[Any], None] | None = None) -> None:
        """Queue a message staff asked for; refuse at once if the protocol does not allow it."""
        now = self.clock()
        with self.db.write() as session:
            row = self._load(session, pid)
            if row is None:
                raise NotFound(f"{self.machine.name}.unknown", f"no {self.machine.name} {pid}")
            if check is not None:
                check(row)
            if row.state == INITIAL and kind is self.machine.termination:
                # nothing has reached the peer yet: stop here, and say why
                outbox.cancel_pending(session, row.id, "terminated before it was sent")
                self.end_locally(row, "local", code or "terminated-by-user", reasons or ["terminated by staff"], now)
                session.add(row)
                return
            try:
                self.machine.send(Role(row.role), self.state_of(row), kind)
            except LocalProtocolError as exc:
                raise Conflict(f"{self.machine.name}.state", str(exc)) from exc
            if kind is self.machine.termination:
                outbox.cancel_pending(session, row.id, "superseded by a termination")
            if reasons:  # a termination or suspension we start: keep its reason on our side too
                row.error = {"by": "local", "code": code, "reasons": reasons}
                row.error_detail = "; ".join(reasons)
            self.enqueue(session, row, kind, now, code, reasons)
            session.add(row)
        self.wake()

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
        if self.machine.next_state(self.state_of(row), self.machine.Message(message.kind), Role(row.role)) is None:
            message.status = "cancelled"
            message.last_error = f"no longer fits state {row.state}"
            session.add(message)
            return False
        return True

    def acknowledged(self, message_id: int, response: dict | None) -> None:
        """The peer acknowledged one of our messages: now, and only now, our state moves."""
        now = self.clock()
        enqueued: list[OutgoingMessage] = []
        with self.db.write() as session:
            out = session.get(OutgoingMessage, message_id)
            if out is None or out.status != "pending":
                return  # already applied (the peer's next message showed it arrived)
            row = self._load(session, out.process_id)
            kind = self.machine.Message(out.kind)
            new = self.machine.next_state(self.state_of(row), kind, Role(row.role))
            if new is None:
                out.status, out.last_error = "cancelled", f"acknowledged, but no longer fits state {row.state}"
                session.add(out)
                return
            counter = kind is self.machine.initial_message and row.provider_pid is not None
            if kind is self.machine.initial_message and row.provider_pid is None:
                provider_pid = (response or {}).get("providerPid")
                if not isinstance(provider_pid, str) or not provider_pid:
                    self._fail(session, row, out, ["the provider's answer had no providerPid"], now)
                    return
                row.provider_pid = provider_pid
            problem = self._on_acknowledged(session, row, out, response, now)
            if problem:
                self._fail(session, row, out, [problem], now)
                return
            row.state = new.value
            row.updated_at = now
            out.status = "done"
            out.attempts += 1
            session.add(out)
            session.add(row)
            if new is self.machine.terminated:
                outbox.cancel_pending(session, row.id, f"the {self.machine.name} was terminated")
            self._follow(session, row, "sent", kind, now, enqueued, counter=counter)
        if enqueued:
            self.wake()

    def failed(self, message_id: int, error: str, *, permanent: bool, peer_reasons: list[str] | None = None,
               peer_status: int | None = None) -> None:
        """A send failed: retry later as stored data, or give up and say why."""
        now = self.clock()
        with self.db.write() as session:
            out = session.get(OutgoingMessage, message_id)
            if out is None or out.status != "pending":
                return
            out.attempts += 1
            out.last_error = error
            if not permanent:
                due = self.retry.next_attempt(out.attempts, datetime.fromtimestamp(now / 1000, UTC))
                if due is not None:
                    out.next_attempt_at = int(due.timestamp() * 1000)
                    out.lease_owner, out.lease_until = None, 0
                    session.add(out)
                    return
                error = f"{error} (gave up after {out.attempts} attempts)"
            row = self._load(session, out.process_id)
            if peer_reasons:
                reasons = [f"{row.counterparty_id} refused our {out.kind} ({error}): " + "; ".join(peer_reasons)]
            else:
                reasons = [f"{out.kind} to {out.url} failed: {error}"]
            self._fail(session, row, out, reasons, now, tell_peer=permanent and peer_status not in (404, None))

    def _fail(self, session, row, out, reasons, now, tell_peer=False):  # type: ignore[no-untyped-def]
        out.status = "failed"
        session.add(out)
        outbox.cancel_pending(session, row.id, "an earlier message failed")
        kind = self.machine.Message(out.kind)
        termination = self.machine.termination
        if tell_peer and kind is not termination and row.state != INITIAL and \
                self.machine.next_state(self.state_of(row), termination, Role(row.role)) is not None:
            # the peer refused our message, so our states may differ: DSP says terminate
            row.error = {"by": "local", "code": "peer-refused", "reasons": reasons}
            row.error_detail = "; ".join(reasons)
            self.enqueue(session, row, termination, now, "peer-refused", reasons[:3])
        else:
            self.end_locally(row, "local", "send-failed", reasons, now)
        session.add(row)
        log.warning("%s %s: %s", self.machine.name, row.id, "; ".join(reasons))
