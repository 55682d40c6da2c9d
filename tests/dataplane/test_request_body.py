"""DataRequest.read: the capped body read that small-body sources (registry, footprint exchange) share."""

from __future__ import annotations

import asyncio

import pytest

from connector.services.dataflow.sources import DataRequest
from connector.services.edr_tokens import EdrError


def chunks(*parts: bytes):
    async def body():
        for part in parts:
            yield part
    return body()


def test_the_whole_body_up_to_the_limit():
    assert asyncio.run(DataRequest(body=chunks(b"ab", b"cd")).read(4, "a body")) == b"abcd"
    assert asyncio.run(DataRequest().read(4, "a body")) == b""


def test_a_body_over_the_limit_is_413_naming_what():
    with pytest.raises(EdrError) as refused:
        asyncio.run(DataRequest(body=chunks(b"abc", b"de")).read(4, "a footprint"))
    assert refused.value.status == 413 and "a footprint is at most 4 bytes" in str(refused.value)
