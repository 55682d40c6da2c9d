"""Stored files leave by os.sendfile (connector.dataplane.zerocopy), and still behave as HTTP bodies."""

from __future__ import annotations

import os

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from connector.dataplane.zerocopy import PATHSEND, ZeroCopyServer
from tests.dataplane.backend import MIB, ThreadServer, pattern

SIZE = 5 * MIB + 3


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


def test_a_stored_file_goes_out_by_sendfile_and_the_connection_stays_usable(dw, sendfile_calls):
    (dw.files / "big.bin").write_bytes(pattern(SIZE))
    edr = dw.pull("big-file", {"type": "PontisFile", "path": "big.bin", "contentType": "model/step"})
    for _ in range(2):  # twice on one keep-alive connection: the server's books stay right
        answer = dw.fetch(edr)
        assert answer.status_code == 200 and answer.content == pattern(SIZE)
        assert answer.headers["content-type"] == "model/step"
        assert answer.headers["content-length"] == str(SIZE)
    assert sendfile_calls, "the file was copied through Python, not sent by os.sendfile"
    assert dw.fetch("not-a-token").status_code == 401  # the token check still comes first


def test_a_stored_file_answers_head_and_a_range(dw, sendfile_calls):
    (dw.files / "ranged.bin").write_bytes(pattern(SIZE))
    edr = dw.pull("ranged", {"type": "PontisFile", "path": "ranged.bin"})
    head = dw.fetch(edr, method="HEAD")
    assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == str(SIZE)
    part = dw.fetch(edr, headers={"Range": f"bytes={MIB}-{2 * MIB - 1}"})
    assert part.status_code == 206 and part.content == pattern(SIZE)[MIB:2 * MIB]
    assert not sendfile_calls  # neither a HEAD nor a range sends the whole file


def _file_app(path: str, announced: int) -> Starlette:
    async def serve(request: Request) -> Response:
        return FileResponse(path, headers={"content-length": str(announced)})
    return Starlette(routes=[Route("/f", serve)])


def test_a_file_shorter_than_its_head_breaks_the_connection(tmp_path):
    path = tmp_path / "short.bin"
    path.write_bytes(pattern(MIB))  # the head promises 2 MiB: the file shrank after it was looked at
    server = ThreadServer(ZeroCopyServer(_file_app(str(path), 2 * MIB)), http="httptools").start()
    try:
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(server.url + "/f", timeout=10)
    finally:
        server.stop()


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_pathsend_is_announced_only_where_it_is_honoured(tmp_path, http):
    path = tmp_path / "f.bin"
    path.write_bytes(pattern(MIB + 1))
    seen: list[bool] = []

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        seen.append(PATHSEND in scope.get("extensions", {}))
        await FileResponse(str(path))(scope, receive, send)
    server = ThreadServer(ZeroCopyServer(app), http=http).start()
    try:
        answer = httpx.get(server.url + "/", timeout=10)
    finally:
        server.stop()
    assert answer.content == pattern(MIB + 1)
    assert seen == [http == "httptools"]  # h11 keeps its own body accounting: chunks through it
