"""Waiting for a process's next committed state change, without polling.

``ProcessService`` calls ``moved`` after each commit that changed a process's state; an async
caller (the management API's ``?waitMs=`` long poll) ``register``s first, reads the state, and
awaits the future if it wants the next change. A notice never comes before the commit.
``listeners`` hear every change (the MQTT broker cuts off the clients of a transfer that ended).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

log = logging.getLogger("pontis.process")


def _settle(future: asyncio.Future[str], state: str) -> None:
    if not future.done():
        future.set_result(state)


class StateWaits:
    """Post-commit notice of state changes, for callers that wait for one (``?waitMs=`` long polls)
    instead of polling: they learn of a change once it is committed, never before."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Future[str]]]] = {}
        #: called with (process id, new state) after each commit that moved a process; quick, any thread
        self.listeners: list[Callable[[str, str], None]] = []

    def moved(self, pid: str, state: str) -> None:
        with self._lock:
            waiting = self._waiting.pop(pid, [])
        for loop, future in waiting:
            loop.call_soon_threadsafe(_settle, future, state)
        for listener in list(self.listeners):
            try:
                listener(pid, state)
            except Exception:  # the change is committed: a listener's failure must not undo the caller's work
                log.exception("a listener of %s's state change failed", pid)

    def register(self, pid: str) -> asyncio.Future[str]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        with self._lock:
            self._waiting.setdefault(pid, []).append((loop, future))
        return future

    def forget(self, pid: str, future: asyncio.Future[str]) -> None:
        with self._lock:
            left = [w for w in self._waiting.get(pid, []) if w[1] is not future]
            if left:
                self._waiting[pid] = left
            else:
                self._waiting.pop(pid, None)
