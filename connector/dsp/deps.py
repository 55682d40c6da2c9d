"""FastAPI dependencies of the DSP edge: the connector's services and the verified caller.

In DCP mode (connector.identity.presentation) the verifier asks the caller's Credential Service
for the credentials the policy at stake needs: a ContractRequestMessage's offer, a
TransferRequestMessage's agreement (peeked from the body, which stays readable for the route);
otherwise the default scopes. A
refused caller's reason is kept in ``request.state.caller_refusal`` for the DSP error.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from connector.identity import Participant
from connector.identity.did import IdentityError
from connector.services.container import Container
from connector.services.dcp_wiring import agreement_policy


async def get_services(request: Request) -> Container:
    """``async``: FastAPI would run a plain ``def`` dependency in the thread pool (a hop per message)."""
    return request.app.state.services


async def policy_at_stake(request: Request, services: Container) -> dict[str, Any] | None:
    """The offer of a ContractRequestMessage (initial or counter), the agreement a TransferRequestMessage
    names, else None. Only a body that declares its length within the limit is peeked; the route
    reads (and judges) the body itself."""
    path = request.url.path.rstrip("/")
    declared = request.headers.get("content-length")
    negotiation, transfer = "/negotiations" in path, path.endswith("/transfers/request")
    if request.method != "POST" or not path.endswith("/request") or not (negotiation or transfer) or \
            not declared or not declared.isdigit() or int(declared) > services.settings.max_body_bytes:
        return None
    try:
        body = json.loads(await request.body())  # Starlette keeps the body: the route's read gets it again
    except (ValueError, RecursionError):
        return None
    if not isinstance(body, dict):
        return None
    if transfer:
        agreement_id = body.get("agreementId")
        if not isinstance(agreement_id, str):
            return None

        def read() -> dict[str, Any] | None:
            with services.db.read() as session:
                return agreement_policy(session, agreement_id)
        return await run_in_threadpool(read)
    offer = body.get("offer")
    return offer if isinstance(offer, dict) else None


async def get_caller(request: Request) -> Participant | None:
    services: Container = request.app.state.services
    authenticator = services.authenticator
    header = request.headers.get("authorization")
    check = getattr(authenticator, "check", None)
    if check is None:
        # a token the peer directory holds in memory is matched here; only a miss (which may read
        # the store) costs a thread hop
        in_memory = getattr(authenticator, "known_in_memory", None)
        caller = in_memory(header) if in_memory is not None else None
        if caller is None:
            caller = await run_in_threadpool(authenticator.authenticate, header)
        return _rate_limited(request, caller)
    # the body is peeked only for a caller whose header at least looks like a JWT
    looks_signed = isinstance(header, str) and header.count(".") == 2
    policy = await policy_at_stake(request, services) if looks_signed else None
    try:
        caller = await run_in_threadpool(check, header, policy)
    except IdentityError as exc:
        request.state.caller_refusal = f"identity ({exc.code}): {exc.reason}"
        caller = None
    return _rate_limited(request, caller)


def caller_refusal(request: Request) -> list[str]:
    """Why the caller was refused, when its token was checked and failed (for the DSP error)."""
    reason = getattr(request.state, "caller_refusal", None)
    return [reason] if isinstance(reason, str) else []


def _rate_limited(request: Request, caller: Participant | None) -> Participant | None:
    limiter = getattr(request.app.state, "peer_limiter", None)  # [limits]: RateLimited is a 429
    if limiter is not None:
        address = request.client.host if request.client else "unknown"
        limiter.take(caller.id if caller is not None else f"address:{address}", limiter.clock())
    return caller


Services = Annotated[Container, Depends(get_services)]
Caller = Annotated[Participant | None, Depends(get_caller)]
