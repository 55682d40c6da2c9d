"""Who may use the broker, and for which topics: the interface an authenticator implements.

The broker asks an ``Authenticator`` at CONNECT time; it answers with a ``Grant`` (the topics the
client may subscribe to, whether it may publish, until when) or raises ``Refused`` with the reason,
which the broker logs and turns into CONNACK 5 (or 4 for a bad user name or password).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Grant:
    """What an authenticated client may do.

    ``topics``: topic filters the client may subscribe to (MQTT wildcards allowed; a SUBSCRIBE
    filter must be covered by one of them), or ``None`` for every topic the broker permits.
    ``expires_at``: epoch seconds after which the broker disconnects the client, or ``None``.
    ``may_publish``: peers are read-only unless the grant says otherwise.
    ``transfer``: the DSP transfer the grant is for (ADR 012), whose end cuts the client off.
    """

    subject: str
    topics: tuple[str, ...] | None
    expires_at: int | None
    may_publish: bool = False
    transfer: str | None = None


class Refused(Exception):
    """The client may not connect; ``reason`` says why (logged, never sent to the client)."""

    def __init__(self, reason: str, bad_credentials: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        #: True when the user name or password is wrong (CONNACK 4) rather than not authorised (5).
        self.bad_credentials = bad_credentials


class Authenticator(Protocol):
    """Decides whether a CONNECT is accepted; raises ``Refused`` otherwise.

    One that waits on I/O (a database, a network) says so with a class attribute ``blocking = True``:
    the broker's listeners then run it in a worker thread, so a slow check never stalls the event
    loop it shares with the HTTP server; the others (no such attribute) answer inline.
    """

    def authenticate(self, client_id: str, username: str | None, password: bytes | None,
                     now: int) -> Grant: ...


class OpenAccess:
    """Every client may subscribe to every topic and may not publish (tests, a closed network)."""

    blocking = False

    def authenticate(self, client_id: str, username: str | None, password: bytes | None,
                     now: int) -> Grant:
        return Grant(subject=client_id, topics=None, expires_at=None)


@dataclass(frozen=True)
class StaticCredentials:
    """One user name and password (ADR 012's mqtt-usrpw): none given is CONNACK 5 (not authorised),
    a wrong one CONNACK 4."""

    username: str
    password: str
    may_publish: bool = False
    blocking = False

    def authenticate(self, client_id: str, username: str | None, password: bytes | None,
                     now: int) -> Grant:
        if username is None or password is None:
            raise Refused("no user name or password: this broker requires them")
        if username != self.username or password != self.password.encode():
            raise Refused(f"wrong user name or password for {username!r}", bad_credentials=True)
        return Grant(subject=username, topics=None, expires_at=None, may_publish=self.may_publish)


# what an authentication ended with: a grant, a refusal, or an error of the authenticator itself
Outcome = Grant | BaseException


class Checks(Protocol):
    """Runs a blocking CONNECT check off the event loop; calls ``done(outcome, now)`` back on it."""

    def run(self, check: Callable[[], Grant], done: Callable[[Outcome, float], None]) -> None: ...


def run_check(check: Callable[[], Grant]) -> Outcome:
    try:
        return check()
    except Exception as exc:  # noqa: BLE001 - a Refused, or the authenticator's own failure: both answered
        return exc
