"""``/v3/contractnegotiations``: start, watch and stop negotiations as a consumer.

``POST`` takes EDC's ContractRequest: the provider's DSP address and the offer exactly as the
catalog showed it (``policy`` with ``@id`` = offer id, ``assigner`` = provider, ``target`` =
dataset). The negotiation is stored and its first message queued in one transaction; the
answer is the new id at once, and the state moves as the worker and the provider go on.

A negotiation shows EDC's fields, plus ``error {by, code, reasons}``: why it was terminated,
and by whom, in words (EDC's ``errorDetail`` alone is notoriously useless).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from connector.management.catalog import check_address, read_counterparty
from connector.management.deps import Body, Queries, Services
from connector.management.errors import ManagementRoute, bad_request
from connector.management.jsonld import (
    child,
    expand_body,
    id_response,
    plain,
    read_query_spec,
    string,
    with_context,
)
from connector.management.odrl import read_policy, render_stored
from connector.protocol.messages import OfferRef
from connector.services.queries import shown, shown_state
from connector.store.models import Agreement, Negotiation

router = APIRouter(prefix="/v3/contractnegotiations", route_class=ManagementRoute, tags=["contractnegotiations"])

PROTOCOL = "dataspace-protocol-http:2025-1"


def _callbacks(node: dict) -> list[dict]:
    raw = plain(node, "callbackAddresses")
    items = [] if raw is None else raw if isinstance(raw, list) else [raw]
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("uri"), str):
            raise bad_request(f"callbackAddresses[{i}]", "expected {uri, events, transactional}", item)
        callback = {k: v for k, v in item.items() if not k.startswith("@")}
        events = callback.get("events", [])
        callback["events"] = events if isinstance(events, list) else [events]  # one event unwraps in JSON-LD
        out.append(callback)
    return out


def read_contract_request(body: Any) -> dict:
    """The keyword arguments of ``NegotiationService.request`` for a ContractRequest body."""
    node = expand_body(body, "ContractRequest", "ContractRequestDto")
    address, counterparty_id = read_counterparty(node)
    policy, envelope = read_policy(child(node, "policy", required=True), "policy", ("Offer",))
    offer_id = envelope["@id"]
    if not isinstance(offer_id, str) or not offer_id:
        raise bad_request("policy.@id", "is required: the offer id (the @id of hasPolicy in the catalog)")
    if not (policy.permissions or policy.prohibitions):
        raise bad_request("policy", "an offer has a permission or a prohibition; "
                                    "send the offer as the catalog shows it")
    if not envelope["target"]:
        raise bad_request("policy.target", "is required: the id of the dataset the offer is for")
    provider = envelope["assigner"] or counterparty_id
    if not provider:
        raise bad_request("policy.assigner", "is required (or counterPartyId): the provider's participant id")
    return {
        "counterparty_address": address,
        "counterparty_id": provider,
        "offer": OfferRef(offer_id, policy, envelope["target"], provider),
        "callback_addresses": _callbacks(node),
    }


def verified_offer(services: Any, offer: Any, body: Any) -> dict | None:
    """The provider-signed offer behind a ContractRequest, verified (or a 400 saying why not)."""
    raw = body.get("policy", body.get("edc:policy")) if isinstance(body, dict) else None
    return services.offer_verifier.check(offer, raw if isinstance(raw, dict) else None)


def render_negotiation(neg: Negotiation) -> dict:
    out: dict = {
        "@type": "ContractNegotiation",
        "@id": neg.id,
        "type": neg.role,
        "protocol": PROTOCOL,
        "state": shown_state(neg),
        "counterPartyId": neg.counterparty_id,
        "counterPartyAddress": neg.counterparty_address,
        "callbackAddresses": neg.callback_addresses or [],
        "createdAt": neg.created_at,
    }
    if neg.asset_id:
        out["assetId"] = neg.asset_id
    if neg.agreement_id:
        out["contractAgreementId"] = neg.agreement_id
    if neg.error_detail:
        out["errorDetail"] = neg.error_detail
    if neg.error:
        out["error"] = neg.error
    return with_context(out)


def render_agreement(agreement: Agreement) -> dict:
    return with_context({
        "@type": "ContractAgreement",
        "@id": agreement.id,
        "assetId": agreement.asset_id,
        "policy": render_stored(agreement.policy, "Agreement"),
        # EDC shows epoch seconds here (and milliseconds everywhere else)
        "contractSigningDate": agreement.signing_date // 1000,
        "consumerId": agreement.consumer_id,
        "providerId": agreement.provider_id,
    })


def check_known_provider(services: Any, provider: str) -> None:
    """Static-token mode: the provider must be a peer with a token, or its answers (the agreement)
    would be refused as coming from no known participant and the negotiation would never end."""
    if services.settings.identity.auth_mode != "static-token" or getattr(services, "peers", None) is None:
        return
    peer = services.peers.by_id(provider)
    if peer is None or not peer.token:
        said = "is not a known peer" if peer is None else "is a peer without a token"
        raise bad_request("counterPartyId", f"the provider {provider!r} {said}, so its answers would be refused; "
                          f"add it first: connector peer add {provider} --token ITS_TOKEN (or under [[peers]])",
                          provider)


@router.post("")
async def start_negotiation(body: Body, services: Services) -> JSONResponse:
    def work() -> dict:
        request = read_contract_request(body)
        check_address(services, request["counterparty_address"])
        check_known_provider(services, request["counterparty_id"])
        request["signed_offer"] = verified_offer(services, request["offer"], body)
        neg = services.negotiations.request(**request)
        return id_response(neg.id, neg.created_at)

    return JSONResponse(await run_in_threadpool(work))


@router.post("/request")
async def query_negotiations(body: Body, queries: Queries) -> JSONResponse:
    def work() -> list:
        return [render_negotiation(n) for n in queries.negotiations(read_query_spec(body))]

    return JSONResponse(await run_in_threadpool(work))


@router.get("/{negotiation_id}")
async def get_negotiation(negotiation_id: str, queries: Queries) -> JSONResponse:
    return JSONResponse(render_negotiation(await run_in_threadpool(queries.negotiation, negotiation_id)))


@router.get("/{negotiation_id}/state")
async def get_negotiation_state(negotiation_id: str, queries: Queries, services: Services,
                                wait_ms: Annotated[int, Query(alias="waitMs", ge=0, le=30_000)] = 0) -> JSONResponse:
    """``waitMs``: a long poll. If the negotiation is not over, answer when its state next changes
    (committed) or after that many milliseconds, whichever comes first."""
    waits = services.negotiations.waits
    future = waits.register(negotiation_id) if wait_ms else None
    try:
        state = await run_in_threadpool(queries.negotiation_state, negotiation_id)
        if future is not None and state not in ("FINALIZED", "TERMINATED"):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(future), wait_ms / 1000)
            # the notice carries the state that was committed (no second read); after a timeout
            # read again: another replica may have moved it without telling this node
            state = future.result() if future.done() else \
                await run_in_threadpool(queries.negotiation_state, negotiation_id)
    finally:
        if future is not None:
            waits.forget(negotiation_id, future)
    return JSONResponse(with_context({"@type": "NegotiationState", "state": shown(state)}))


@router.get("/{negotiation_id}/agreement")
async def get_negotiation_agreement(negotiation_id: str, queries: Queries) -> JSONResponse:
    return JSONResponse(render_agreement(await run_in_threadpool(queries.agreement_of, negotiation_id)))


@router.post("/{negotiation_id}/terminate")
async def terminate_negotiation(negotiation_id: str, body: Body, services: Services) -> Response:
    def work() -> None:
        node = expand_body(body, "TerminateNegotiation", required=False)
        services.negotiations.terminate(negotiation_id, string(node, "reason"))

    await run_in_threadpool(work)
    return Response(status_code=204)
