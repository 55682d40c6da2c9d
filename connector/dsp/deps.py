"""FastAPI dependencies of the DSP edge: the connector's services and the verified caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from connector.identity import Participant
from connector.services.container import Container


def get_services(request: Request) -> Container:
    return request.app.state.services


def get_caller(request: Request) -> Participant | None:
    services: Container = request.app.state.services
    caller = services.authenticator.authenticate(request.headers.get("authorization"))
    limiter = getattr(request.app.state, "peer_limiter", None)  # [limits]: RateLimited is a 429
    if limiter is not None:
        address = request.client.host if request.client else "unknown"
        limiter.take(caller.id if caller is not None else f"address:{address}", limiter.clock())
    return caller


Services = Annotated[Container, Depends(get_services)]
Caller = Annotated[Participant | None, Depends(get_caller)]
