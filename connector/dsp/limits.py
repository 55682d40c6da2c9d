"""A peer over its rate limit ([limits]) gets 429 with Retry-After, in the DSP error shape of the
endpoint it called (catalog, negotiation or transfer)."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import JSONResponse

from connector.protocol.messages import catalog_error, negotiation_error
from connector.protocol.transfer_messages import transfer_error
from connector.services.ratelimit import RateLimited

log = logging.getLogger("pontis.dsp")


async def rate_limited(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimited)
    reasons = [f"too many requests from {exc.caller}; retry after {exc.retry_after} s"]
    path = request.url.path
    if "/transfers" in path:
        body = transfer_error("", "", "rate-limited", reasons)
    elif "/negotiations" in path:
        body = negotiation_error("", "", "rate-limited", reasons)
    else:
        body = catalog_error("rate-limited", reasons)
    log.warning("DSP caller %s rate-limited on %s", exc.caller, path)
    return JSONResponse(body, status_code=429, headers={"Retry-After": str(exc.retry_after)})
