"""A company's HTTP backend for data plane tests, and a way to serve any ASGI app on 127.0.0.1.

The backend records what reached it, so tests can see what the provider's data plane forwarded:
an echo, status codes, a large streamed body (with a gate, to prove streaming), a body that
breaks off midway, a tiny OAuth2 token endpoint and a resource it protects, and a push receiver.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from connector.cli.launch import free_port
from tests.harness import serve_in_thread

MIB = 1 << 20


def pattern(size: int, offset: int = 0) -> bytes:
    """Deterministic bytes (not all zeros), so a reordered or truncated body shows."""
    block = bytes(range(256)) * 4096  # 1 MiB
    start = offset % 256
    out = (block[start:] + block[:start]) * (size // len(block) + 1)
    return out[:size]


@dataclass
class Recorder:
    requests: list[dict] = field(default_factory=list)
    token_calls: int = 0
    tokens: set[str] = field(default_factory=set)
    received: list[dict] = field(default_factory=list)
    receiver_status: int = 200
    upload_progress: int = 0
    # streaming gates: the big body waits after its first MiB until the test releases it
    release: threading.Event = field(default_factory=threading.Event)
    first_mib_sent: threading.Event = field(default_factory=threading.Event)
    chunks_sent: int = 0


def backend_app(rec: Recorder) -> Starlette:
    async def echo(request: Request) -> Response:
        body = await request.body()
        seen = {"method": request.method, "path": request.url.path, "query": request.url.query,
                "headers": dict(request.headers), "body": body.decode(errors="replace")}
        rec.requests.append(seen)
        return JSONResponse(seen, headers={"X-Backend": "yes", "ETag": '"v1"'})

    async def status(request: Request) -> Response:
        code = int(request.path_params["code"])
        return JSONResponse({"status": code, "from": "backend"}, status_code=code)

    async def big(request: Request) -> Response:
        size = int(request.query_params.get("size", str(8 * MIB)))
        gated = request.query_params.get("gate") == "1"
        chunk = int(request.query_params.get("chunk", str(64 * 1024)))

        async def body():
            sent = 0
            while sent < size:
                part = pattern(min(chunk, size - sent), sent)
                sent += len(part)
                rec.chunks_sent += 1
                yield part
                if gated and sent >= MIB and not rec.release.is_set():
                    rec.first_mib_sent.set()
                    await asyncio.to_thread(rec.release.wait, 20)  # held until the test releases it
        headers = {"content-length": str(size)} if request.query_params.get("length", "1") == "1" else {}
        return StreamingResponse(body(), media_type="application/octet-stream", headers=headers)

    async def broken(request: Request) -> Response:
        size = int(request.query_params.get("size", str(4 * MIB)))
        after = int(request.query_params.get("after", str(MIB)))

        async def body():
            yield pattern(after)
            await asyncio.sleep(0.05)
            raise RuntimeError("the backend's disk failed")  # uvicorn drops the connection
        headers = {"content-length": str(size)} if request.query_params.get("length", "1") == "1" else {}
        return StreamingResponse(body(), media_type="application/octet-stream", headers=headers)

    async def token(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        if form.get("grant_type") != "client_credentials" or form.get("client_id") != "pontis" \
                or form.get("client_secret") != "s3cret":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        rec.token_calls += 1
        issued = f"tok-{rec.token_calls}-{form.get('scope', '')}"
        rec.tokens.add(issued)
        return JSONResponse({"access_token": issued, "token_type": "Bearer", "expires_in": 300})

    async def protected(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in rec.tokens:
            return JSONResponse({"error": "no valid token"}, status_code=401)
        rec.requests.append({"path": request.url.path, "headers": dict(request.headers)})
        return JSONResponse({"secret": "the part data", "token": auth[7:]})

    async def receiver(request: Request) -> Response:
        digest, size, chunks = hashlib.sha256(), 0, 0
        async for chunk in request.stream():
            digest.update(chunk)
            size += len(chunk)
            chunks += 1 if chunk else 0
            rec.upload_progress = size
        rec.received.append({"path": request.url.path, "headers": dict(request.headers), "size": size,
                             "sha256": digest.hexdigest(), "chunks": chunks})
        return JSONResponse({"received": size}, status_code=rec.receiver_status)

    return Starlette(routes=[
        Route("/echo", echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        Route("/echo/{rest:path}", echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        Route("/status/{code:int}", status),
        Route("/big", big),
        Route("/broken", broken),
        Route("/oauth/token", token, methods=["POST"]),
        Route("/protected", protected),
        Route("/receiver", receiver, methods=["POST", "PUT"]),
        Route("/upload", receiver, methods=["POST", "PUT"]),
    ])


class ThreadServer:
    """An ASGI app under uvicorn in a daemon thread, on a free port of 127.0.0.1."""

    def __init__(self, app, port: int | None = None, http: str = "auto") -> None:  # type: ignore[no-untyped-def]
        self.port = port or free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="critical",
                                                   lifespan="off", http=http, loop="asyncio"))
        self.thread: threading.Thread | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ThreadServer:
        self.thread = serve_in_thread(self.server, "the test server", timeout=10)
        self.loop = self._find_loop()
        return self

    def _find_loop(self) -> asyncio.AbstractEventLoop:
        return self.server.servers[0].get_loop()  # the asyncio server uvicorn listens with

    def call(self, coro, timeout: float = 60):  # type: ignore[no-untyped-def]
        """Run a coroutine on the server's event loop (where the app's async clients live)."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(10)


# --- fixtures that see zero-copy happen (the real calls still run) ------------------------------

@pytest.fixture
def sendfile_calls(monkeypatch):  # type: ignore[no-untyped-def]
    """Counts the os.sendfile calls of this process (the real call still runs)."""
    calls: list[int] = []
    real = os.sendfile

    def counting(out_fd: int, in_fd: int, offset: int | None, count: int) -> int:
        calls.append(count)
        return real(out_fd, in_fd, offset, count)
    monkeypatch.setattr(os, "sendfile", counting)
    return calls


@pytest.fixture
def splice_calls(monkeypatch):  # type: ignore[no-untyped-def]
    """Counts the os.splice calls of this process (the real call still runs)."""
    calls: list[int] = []
    real = os.splice

    def counting(src: int, dst: int, count: int, *args, **kw) -> int:  # type: ignore[no-untyped-def]
        calls.append(count)
        return real(src, dst, count, *args, **kw)
    monkeypatch.setattr(os, "splice", counting)
    return calls
