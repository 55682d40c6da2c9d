"""Cutting off the broker's clients when their transfer ends (Factory-X ADR 012).

A client connected under a transfer (its ``Grant.transfer``) is served while the transfer is STARTED
under an agreement in force. The ``TransferWatch`` hears, after the commit, every transfer that moved
to COMPLETED, SUSPENDED or TERMINATED (``StateWaits.listeners`` of the transfer service), asks the
authenticator why its clients may no longer be served (``recheck``, in a worker thread: it reads the
database, and revokes the transfer's tokens and users), and has the broker close their connections
with that reason (logged) and refuse the CONNECTs for it checked meanwhile; a reconnect is refused by
the authenticator with the reason.

Replicas on PostgreSQL each run a broker: the replica that committed the change sends the transfer id
by ``NOTIFY`` on a channel per connector, and every replica, itself included, ``LISTEN``s and cuts its
own clients off (as ``relay`` does for the AAS events). An agreement stops being in force by time (its
end date) without any write, and a replica may miss notices while its LISTEN reconnects: every
``recheck_seconds`` the transfers of the connected clients are re-checked too (the clock passed in).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, Protocol, TypeVar, runtime_checkable

from connector.mqtt.broker import Broker
from connector.mqtt.relay import listen, notify
from connector.store import Database

log = logging.getLogger("pontis.mqtt")
ENDED = frozenset({"COMPLETED", "SUSPENDED", "TERMINATED"})
T = TypeVar("T")


@runtime_checkable
class Rechecks(Protocol):
    """An authenticator that can say why a transfer's clients may no longer be served (``tokens``)."""

    def recheck(self, transfer_id: str, now: int) -> str | None: ...


async def in_thread(work: Callable[[], T]) -> T:
    return await asyncio.to_thread(work)


class TransferWatch:
    def __init__(self, broker: Broker, access: Rechecks, clock: Callable[[], float], *,
                 db: Database | None = None, channel: str | None = None, recheck_seconds: float = 30.0,
                 retry_seconds: float = 1.0) -> None:
        self.broker, self.access, self.clock = broker, access, clock
        self.db, self.channel = db, channel  # both set: PostgreSQL replicas, told by NOTIFY
        self.recheck_seconds, self.retry_seconds = recheck_seconds, retry_seconds
        self.call: Callable[[Callable[[], str | None]], Awaitable[str | None]] = in_thread
        self.listening = asyncio.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # the committing side (any thread, after the commit): StateWaits.listeners

    def moved(self, transfer_id: str, state: str) -> None:
        if state not in ENDED:
            return
        if self.db is not None and self.channel is not None:
            try:
                notify(self.db, self.channel, [transfer_id])
                return
            except Exception as exc:  # noqa: BLE001 - committed: cut off this replica's clients at least
                log.warning("mqtt: could not tell the other replicas that transfer %s ended (%s); their "
                            "clients are cut off at the next re-check", transfer_id, exc)
        loop = self.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._spawn, transfer_id)

    # every replica's side (the broker's event loop)

    def _spawn(self, transfer_id: str) -> None:
        task = asyncio.get_running_loop().create_task(self.heard(transfer_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def heard(self, transfer_id: str) -> int:
        """A transfer ended: cut off its clients here (a CONNECT being checked counts as one)."""
        if transfer_id not in self.broker.transfers() and not any(c.authenticating for c in self.broker.connections):
            return 0  # nobody here holds it: nothing to read
        return await self.check([transfer_id], self.clock())

    async def check(self, transfer_ids: Iterable[str], now: float) -> int:
        """Re-check ``transfer_ids`` at ``now``; cut off the clients of each that may no longer be served.
        How many connections were closed."""
        closed = 0
        for transfer_id in transfer_ids:
            try:
                reason = await self.call(functools.partial(self.access.recheck, transfer_id, int(now)))
            except Exception:  # a failed read decides nothing: the next re-check asks again
                log.exception("mqtt: re-checking transfer %s failed", transfer_id)
                continue
            if reason is not None:
                closed += self.broker.cut_off(transfer_id, reason, self.clock())
        return closed

    async def recheck_connected(self, now: float) -> int:
        """Re-check the transfer of every connected client at ``now`` (an agreement's end date passing)."""
        return await self.check(sorted(self.broker.transfers()), now)

    async def _periodic(self) -> None:
        while True:
            await asyncio.sleep(self.recheck_seconds)
            await self.recheck_connected(self.clock())

    async def _notice(self, payload: str) -> None:
        await self.heard(payload)

    def start(self, call: Callable[[Callable[[], str | None]], Awaitable[str | None]] | None = None) -> None:
        """On the broker's loop; ``call`` runs a re-check in a worker thread (the listeners' pool)."""
        self.loop = asyncio.get_running_loop()
        if call is not None:
            self.call = call
        runs: list[Coroutine[Any, Any, None]] = [self._periodic()]
        if self.db is not None and self.channel is not None:
            runs.append(listen(self.db, self.channel, self._notice, self.listening, self.retry_seconds))
        for run in runs:
            self._tasks.add(self.loop.create_task(run))

    async def stop(self) -> None:
        self.loop = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
