"""``/v3/peers``: the peers this connector knows, the same data as the config's ``[[peers]]``.

``GET`` lists config peers (``"readOnly": true``) and added ones, never their tokens;
``POST`` adds one and it takes effect at once (``{"id", "token", "dspUrl", "bpn", "claims"}``;
without ``dspUrl`` the peer's did:web document is asked for it); ``DELETE /{id}`` removes an
added one. A DID in the path has its ``%`` written as ``%25`` (``did:web:localhost%253A8282``).
The work is done by ``services.peers.PeerDirectory``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from connector.management.deps import Body, Services
from connector.management.errors import ManagementRoute, bad_request
from connector.services.peers import PeerInput, resolver_for

router = APIRouter(prefix="/v3/peers", route_class=ManagementRoute, tags=["peers"])


class PeerBody(BaseModel):
    """A peer to add (the fields of a ``[[peers]]`` entry)."""

    id: str = Field(description="the peer's participant id: a DID (did:web:...) or a BPN",
                    examples=["did:web:localhost%3A8282"])
    token: str | None = Field(default=None, description="static-token mode: the token this peer presents to us")
    dspUrl: str | None = Field(default=None, description="the peer's DSP base; omitted: read from its did:web "
                               "document", examples=["http://127.0.0.1:8282/api/dsp/2025-1"])
    bpn: str | None = Field(default=None, description="the peer's Business Partner Number",
                            examples=["BPNL000000000002"])
    claims: dict[str, Any] = Field(default_factory=dict, description="static-token mode: what the peer may claim "
                                   "to the policy engine", examples=[{"frameworkAgreements":
                                                                      {"DataExchangeGovernance": "1.0"}}])


FIELDS = {"id": "id", "@id": "id", "token": "token", "dspUrl": "dsp_url", "dsp_url": "dsp_url", "bpn": "bpn",
          "claims": "claims"}


def read_peer(body: Any) -> PeerInput:
    """A ``PeerInput`` from a JSON body; an unknown key is refused naming the closest one."""
    from connector.policy.written import closest

    if not isinstance(body, dict):
        raise bad_request("body", "expected a JSON object {\"id\": DID, \"token\", \"dspUrl\", \"bpn\", \"claims\"}")
    values: dict[str, Any] = {}
    for key, value in body.items():
        if key == "@context":
            continue
        if key not in FIELDS:
            near = closest(key, ["id", "token", "dspUrl", "bpn", "claims"])
            raise bad_request(key, f"unknown key {key!r}" + (f"; did you mean {near!r}?" if near else
                                                             "; expected id, token, dspUrl, bpn, claims"))
        if value is not None and not isinstance(value, dict if key == "claims" else str):
            raise bad_request(key, "expected " + ("an object" if key == "claims" else "a string"), value)
        values[FIELDS[key]] = value
    if not values.get("id"):
        raise bad_request("id", "is required: the peer's participant id (a DID or a BPN)")
    return PeerInput(**{k: v for k, v in values.items() if v is not None})


@router.get("")
async def list_peers(services: Services) -> JSONResponse:
    return JSONResponse([p.public() for p in await run_in_threadpool(services.peers.all)])


@router.post("", openapi_extra={"requestBody": {"required": True, "content": {
    "application/json": {"schema": PeerBody.model_json_schema()}}}})
async def add_peer(body: Body, services: Services) -> JSONResponse:
    def work() -> dict:
        peer = read_peer(body)
        resolver = resolver_for(services.settings, peer.id) if peer.dsp_url is None else None
        return services.peers.add(peer, resolver=resolver).public()

    return JSONResponse(await run_in_threadpool(work))


@router.delete("/{peer_id}")
async def remove_peer(peer_id: str, services: Services) -> Response:
    await run_in_threadpool(services.peers.remove, peer_id)
    return Response(status_code=204)
