"""Zero-copy bodies on uvicorn's httptools server: stored files by sendfile, backend bodies by splice.

uvicorn offers neither ``http.response.zerocopy`` nor ``pathsend``: every body goes through
``transport.write``, so a stored file costs a read into Python and a write out of it, chunk by
chunk. ``ZeroCopyServer`` wraps the application outermost, where ``send`` is still uvicorn's own.
Where the connection can take it (uvicorn's httptools protocol on an asyncio selector loop, plain
TCP) it announces ``http.response.pathsend``, so Starlette's ``FileResponse`` sends the file's
path instead of its bytes, and hands the file to ``loop.sendfile`` (``os.sendfile``: the kernel
copies from the page cache to the socket, nothing passes through Python). uvicorn's own
Content-Length accounting is kept: it learns how many bytes went, and a body that came out short
breaks the connection as any short body does. Anywhere else (h11, uvloop, TLS) nothing is
announced and ``FileResponse`` streams chunks as before.

The same wrapper announces ``pontis.response.splice`` (Linux): an app that holds a backend's
socket sends ``{"type": "pontis.response.splice", "fd": ..., "count": ...}`` and the server moves
``count`` bytes from that socket to the consumer's through a pipe with ``os.splice``, in a worker
thread (the kernel copies nothing into Python, and the event loop stays free), then reports
``moved`` and, if one broke off, ``source_error`` / ``sink_error`` in the message. At most
``SPLICE_THREADS`` run at once; ``free()`` in the extension says whether one may start now.

``ConnectorApp`` is the FastAPI application with this wrapper outermost.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import select
import weakref
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio
from fastapi import FastAPI

log = logging.getLogger("pontis.dataplane")

PATHSEND = "http.response.pathsend"
SPLICE = "pontis.response.splice"
SPLICE_THREADS = 32
PIPE_SIZE = 1 << 20  # the kernel's default pipe-max-size; a larger pipe moves more per call
IDLE_SECONDS = 60.0  # as the backend session's read timeout
# the one server protocol whose response bookkeeping we know (a public attribute of its cycle)
HTTPTOOLS_CYCLE = "uvicorn.protocols.http.httptools_impl"

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]


def _server_cycle(send: Send) -> Any | None:
    """uvicorn's request/response cycle behind ``send``, if it is one we can send a file through."""
    cycle = getattr(send, "__self__", None)
    if cycle is None or type(cycle).__module__ != HTTPTOOLS_CYCLE or not hasattr(cycle, "expected_content_length"):
        return None
    transport = getattr(cycle, "transport", None)
    if not isinstance(transport, asyncio.Transport) or transport.get_extra_info("sslcontext") is not None:
        return None
    if not isinstance(asyncio.get_running_loop(), asyncio.selector_events.BaseSelectorEventLoop):
        return None  # loop.sendfile of other loops (uvloop) falls back to read + write anyway
    return cycle


async def _sendfile(cycle: Any, send: Send, path: str) -> None:
    """The body the head announced (its Content-Length), from ``path``, by ``os.sendfile``."""
    if cycle.disconnected:
        return
    count = int(cycle.expected_content_length)
    if cycle.chunked_encoding:  # no Content-Length in the head: through the server, as any body
        async with await anyio.open_file(path, "rb") as file:
            while chunk := await file.read(1 << 20):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
    elif count and cycle.scope["method"] != "HEAD":
        with open(path, "rb") as file:
            sent = await asyncio.get_running_loop().sendfile(cycle.transport, file, 0, count)
        cycle.expected_content_length -= sent
        if sent < count:
            log.warning("%s ended after %d of %d bytes; the connection is broken off", path, sent, count)
    # ends the response in uvicorn's books (or raises "shorter than Content-Length", which closes it)
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def _wait(fd: int, event: int, seconds: float) -> bool:
    poller = select.poll()
    poller.register(fd, event | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(int(seconds * 1000)))


def splice_all(source: int, sink: int, count: int, idle_seconds: float = IDLE_SECONDS) -> tuple[int, str | None, str | None]:
    """Move ``count`` bytes from socket ``source`` to socket ``sink`` (both non-blocking) through
    a pipe, in the kernel. Returns (bytes moved, why the source broke off, why the sink did)."""
    flags = os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK
    pipe_out, pipe_in = os.pipe()
    try:
        try:
            fcntl.fcntl(pipe_in, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        except OSError:
            pass  # a smaller pipe only means more calls
        moved = 0
        while moved < count:
            try:
                in_pipe = os.splice(source, pipe_in, min(PIPE_SIZE, count - moved), flags=flags)
            except BlockingIOError:
                if not _wait(source, select.POLLIN, idle_seconds):
                    return moved, f"it sent nothing for {idle_seconds:.0f} s", None
                continue
            except OSError as exc:
                return moved, f"{type(exc).__name__}: {exc}", None
            if in_pipe == 0:
                return moved, f"it closed the connection {count - moved} bytes before the end", None
            while in_pipe:
                try:
                    out = os.splice(pipe_out, sink, in_pipe, flags=flags)
                except BlockingIOError:
                    if not _wait(sink, select.POLLOUT, idle_seconds):
                        return moved, None, f"the consumer took nothing for {idle_seconds:.0f} s"
                    continue
                except OSError as exc:
                    return moved, None, f"{type(exc).__name__}: {exc}"
                in_pipe -= out
                moved += out
        return moved, None, None
    finally:
        os.close(pipe_out)
        os.close(pipe_in)


async def _drained(cycle: Any) -> None:
    """Until the server's write buffer is empty: spliced bytes must not overtake buffered ones."""
    transport: asyncio.WriteTransport = cycle.transport
    if transport.get_write_buffer_size():
        transport.set_write_buffer_limits(high=0, low=0)  # pauses writing now, resumes when empty
        try:
            await cycle.flow.drain()
        finally:
            transport.set_write_buffer_limits()


async def _splice(cycle: Any, message: Message, limiter: anyio.CapacityLimiter) -> None:
    transport: asyncio.Transport = cycle.transport
    fd, count = int(message["fd"]), int(message["count"])
    message.update(moved=0, source_error=None, sink_error=None)
    if cycle.disconnected or cycle.chunked_encoding or count > cycle.expected_content_length:
        message["sink_error"] = "the response cannot take a spliced body"
        return
    reading = transport.is_reading()
    transport.pause_reading()  # a hang-up noticed now would close the socket under the splice
    try:
        await _drained(cycle)
        sink = transport.get_extra_info("socket").fileno()
        moved, source_error, sink_error = await anyio.to_thread.run_sync(
            splice_all, fd, sink, count, limiter=limiter)
    finally:
        if reading and not transport.is_closing():
            transport.resume_reading()
    cycle.expected_content_length -= moved
    message.update(moved=moved, source_error=source_error, sink_error=sink_error)
    if sink_error is not None:  # the consumer is gone: the server learns it now, not from a log line
        transport.close()
        await asyncio.sleep(0)


class ZeroCopyServer:
    """ASGI middleware, outermost: ``http.response.pathsend`` by ``os.sendfile`` and
    ``pontis.response.splice`` by ``os.splice`` where possible."""

    def __init__(self, app: Asgi) -> None:
        self.app = app
        self._limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = \
            weakref.WeakKeyDictionary()

    def _limiter(self) -> anyio.CapacityLimiter:
        loop = asyncio.get_running_loop()
        limiter = self._limiters.get(loop)
        if limiter is None:  # one per event loop (tests run several); in production, one
            limiter = self._limiters[loop] = anyio.CapacityLimiter(SPLICE_THREADS)
        return limiter

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        cycle = _server_cycle(send) if scope["type"] == "http" else None
        if cycle is None:
            await self.app(scope, receive, send)
            return
        limiter = self._limiter()
        extensions = {**(scope.get("extensions") or {}), PATHSEND: {}}
        if hasattr(os, "splice"):
            extensions[SPLICE] = {"free": lambda: limiter.available_tokens >= 1}
        scope["extensions"] = extensions

        async def send_zero_copy(message: Message) -> None:
            if message["type"] == PATHSEND:
                await _sendfile(cycle, send, str(message["path"]))
            elif message["type"] == SPLICE:
                await _splice(cycle, message, limiter)
            else:
                await send(message)
        await self.app(scope, receive, send_zero_copy)


class ConnectorApp(FastAPI):
    """The connector's FastAPI application, its middleware stack wrapped by ``ZeroCopyServer``."""

    def build_middleware_stack(self) -> Any:
        return ZeroCopyServer(super().build_middleware_stack())

