"""Zero-copy bodies: the ASGI ``http.response.pathsend`` extension, on uvicorn's httptools server.

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

``ConnectorApp`` is the FastAPI application with this wrapper outermost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio
from fastapi import FastAPI

log = logging.getLogger("pontis.dataplane")

PATHSEND = "http.response.pathsend"
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


class ZeroCopyServer:
    """ASGI middleware, outermost: ``http.response.pathsend`` by ``os.sendfile`` where possible."""

    def __init__(self, app: Asgi) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        cycle = _server_cycle(send) if scope["type"] == "http" else None
        if cycle is None:
            await self.app(scope, receive, send)
            return
        scope["extensions"] = {**(scope.get("extensions") or {}), PATHSEND: {}}

        async def send_or_sendfile(message: Message) -> None:
            if message["type"] == PATHSEND:
                await _sendfile(cycle, send, str(message["path"]))
            else:
                await send(message)
        await self.app(scope, receive, send_or_sendfile)


class ConnectorApp(FastAPI):
    """The connector's FastAPI application, its middleware stack wrapped by ``ZeroCopyServer``."""

    def build_middleware_stack(self) -> Any:
        return ZeroCopyServer(super().build_middleware_stack())

