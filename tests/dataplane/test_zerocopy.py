"""Stored files leave by os.sendfile, large backend bodies by os.splice (connector.dataplane.zerocopy),
and both still behave as HTTP bodies: whole, kept-alive, broken off when their source breaks."""

from __future__ import annotations

import hashlib
import socket

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from connector.dataplane.zerocopy import PATHSEND, ZeroCopyServer, splice_all
from tests.dataplane.backend import MIB, ThreadServer, pattern, sendfile_calls, splice_calls  # noqa: F401

SIZE = 5 * MIB + 3


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


# --- HttpData bodies: spliced from the backend's socket to the consumer's ------------------------

def test_a_large_backend_body_is_spliced_and_arrives_whole(dw, splice_calls):
    size = 9 * MIB + 5
    edr = dw.pull("spliced", {"type": "HttpData", "baseUrl": f"{dw.backend.url}/big?size={size}"})
    for _ in range(2):  # twice on one keep-alive connection: the server's books stay right
        answer = dw.fetch(edr)
        assert answer.status_code == 200 and answer.headers["content-length"] == str(size)
        assert hashlib.sha256(answer.content).digest() == hashlib.sha256(pattern(size)).digest()
    assert splice_calls, "the body was copied through Python, not spliced"
    assert dw.fetch("not-a-token").status_code == 401  # the token check still comes first


def test_head_of_a_large_backend_body_is_answered_without_a_splice(dw, splice_calls):
    size = 4 * MIB
    edr = dw.pull("headed", {"type": "HttpData", "baseUrl": f"{dw.backend.url}/big?size={size}"})
    head = dw.fetch(edr, method="HEAD")
    assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == str(size)
    assert not splice_calls  # a HEAD has no body to move
    assert dw.fetch(edr).content == pattern(size)  # and the connection serves the next request
    assert splice_calls


def test_a_small_backend_body_is_relayed_as_chunks(dw, splice_calls):
    edr = dw.pull("small", {"type": "HttpData", "baseUrl": f"{dw.backend.url}/big?size={MIB // 2}"})
    answer = dw.fetch(edr)
    assert answer.status_code == 200 and answer.content == pattern(MIB // 2)
    assert not splice_calls  # small bodies keep their pooled backend connection


def test_splice_all_says_which_side_broke_off():
    source, backend = socket.socketpair()
    sink, consumer = socket.socketpair()
    for s in (source, sink):
        s.setblocking(False)
    try:
        backend.sendall(b"x" * 1000)
        backend.close()  # 1000 of 5000 bytes, then the backend hangs up
        moved, source_error, sink_error = splice_all(source.fileno(), sink.fileno(), 5000)
        assert (moved, sink_error) == (1000, None) and "4000 bytes before the end" in (source_error or "")
        assert consumer.recv(2000) == b"x" * 1000
        other, backend = socket.socketpair()
        other.setblocking(False)
        backend.sendall(b"y" * 100)
        consumer.close()  # the consumer hangs up
        moved, source_error, sink_error = splice_all(other.fileno(), sink.fileno(), 100)
        assert moved == 0 and source_error is None and sink_error is not None
        other.close()
        backend.close()
    finally:
        source.close()
        sink.close()
