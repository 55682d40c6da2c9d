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
    return services.authenticator.authenticate(request.headers.get("authorization"))


Services = Annotated[Container, Depends(get_services)]
Caller = Annotated[Participant | None, Depends(get_caller)]
