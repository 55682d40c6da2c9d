"""Bodies stream through the data plane both ways, and a backend failing midway is never a success."""

import hashlib
import tracemalloc

import httpx
import pytest

from tests.dataplane.backend import MIB, pattern, splice_calls  # noqa: F401
from tests.harness import settle

SIZE = 24 * MIB


def big(dw, **query) -> dict:  # type: ignore[no-untyped-def]
    params = "&".join(f"{k}={v}" for k, v in {"size": SIZE, **query}.items())
    return {"type": "HttpData", "baseUrl": f"{dw.backend.url}/big?{params}"}


def test_the_consumer_gets_the_first_mebibyte_before_the_backend_sends_the_rest(dw):
    edr = dw.pull("big", big(dw, gate=1))
    digest, got = hashlib.sha256(), 0
    with dw.http.stream("GET", dw.public, headers={"Authorization": edr.token}) as answer:
        assert answer.status_code == 200 and answer.headers["content-length"] == str(SIZE)
        chunks = answer.iter_raw()
        while got < MIB:
            chunk = next(chunks)
            digest.update(chunk)
            got += len(chunk)
        # the backend is held at its gate: a data plane that buffered would have given us nothing yet
        assert dw.rec.first_mib_sent.wait(5) and not dw.rec.release.is_set()
        assert dw.rec.chunks_sent * 64 * 1024 < SIZE
        dw.rec.release.set()
        for chunk in chunks:
            digest.update(chunk)
            got += len(chunk)
    assert got == SIZE and digest.hexdigest() == hashlib.sha256(pattern(SIZE)).hexdigest()


def test_a_large_body_passes_in_bounded_memory(dw):
    size = 64 * MIB
    edr = dw.pull("big", big(dw, size=size))
    tracemalloc.start()
    try:
        got, chunks = 0, 0
        with dw.http.stream("GET", dw.public, headers={"Authorization": edr.token}) as answer:
            for chunk in answer.iter_raw():
                got += len(chunk)
                chunks += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got == size
    assert chunks > 64  # it came in many pieces, not one
    # everything in this process (backend, data plane, consumer) stayed far below the body's size
    assert peak < 12 * MIB, f"peak traced memory {peak / MIB:.1f} MiB for a {size // MIB} MiB body"


def test_an_upload_streams_to_the_backend_as_it_comes(dw):
    edr = dw.pull("upload", {"type": "HttpData", "baseUrl": dw.backend.url + "/upload", "proxyMethod": "true",
                             "proxyBody": "true"})
    size = 16 * MIB

    def body():
        yield pattern(MIB)
        # the backend must see the start before we send the rest
        settle(until=lambda: dw.rec.upload_progress >= MIB, timeout=10,
               what="the backend to receive the upload's first MiB (the data plane held it back)")
        for offset in range(MIB, size, MIB):
            yield pattern(MIB, offset)
    answer = dw.fetch(edr, method="POST", content=body(), headers={"Content-Type": "application/octet-stream"})
    assert answer.status_code == 200, answer.text
    received = dw.rec.received[-1]
    assert received["size"] == size and received["sha256"] == hashlib.sha256(pattern(size)).hexdigest()
    assert received["headers"]["content-type"] == "application/octet-stream"


@pytest.mark.parametrize("length", [1, 0], ids=["content-length", "chunked"])
def test_a_backend_failing_midway_breaks_the_body_and_ends_the_transfer(dw, length, splice_calls):
    edr = dw.pull("broken", {"type": "HttpData",
                             "baseUrl": f"{dw.backend.url}/broken?size={4 * MIB}&after={MIB}&length={length}"})
    got = 0
    with pytest.raises(httpx.RemoteProtocolError):
        with dw.http.stream("GET", dw.public, headers={"Authorization": edr.token}) as answer:
            assert answer.status_code == 200
            for chunk in answer.iter_raw():
                got += len(chunk)
    assert got <= MIB  # what arrived before the break, and no clean end
    assert bool(splice_calls) == bool(length)  # a Content-Length body was spliced, a chunked one relayed
    refused = dw.fetch(edr)
    assert refused.status_code == 403  # its tokens died with it
    dw.settle()
    row = dw.provider_transfer(edr.provider_pid)
    assert row.state == "TERMINATED"
    assert row.error_detail.startswith("the backend failed after ")
    assert int(row.error_detail.split()[4]) <= MIB  # what was relayed before the break
    if length:  # the splice saw the hang-up
        assert "closed the connection" in row.error_detail
    assert row.error["code"] == "backend-failed"
    consumer = dw.consumer_transfer(edr.consumer_pid)
    assert consumer.state == "TERMINATED" and "the backend failed" in consumer.error_detail
