"""``/v3/contractagreements``: the agreements this connector holds, as consumer or as provider."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from connector.management.deps import Body, Queries, Services
from connector.management.errors import ApiError, ManagementRoute
from connector.management.jsonld import read_query_spec
from connector.management.negotiations import render_agreement, render_negotiation

router = APIRouter(prefix="/v3/contractagreements", route_class=ManagementRoute, tags=["contractagreements"])
# tractusx-sdk (0.8.x) builds this one path as f"{V3}/{endpoint}" with endpoint "/contractagreements",
# i.e. with a double slash, which no router matches; this alias answers it unchanged
sdk_alias = APIRouter(prefix="/v3//contractagreements", route_class=ManagementRoute, include_in_schema=False)


@router.post("/request")
async def query_agreements(body: Body, queries: Queries) -> JSONResponse:
    def work() -> list:
        return [render_agreement(a) for a in queries.agreements(read_query_spec(body))]

    return JSONResponse(await run_in_threadpool(work))


@router.get("/{agreement_id}")
async def get_agreement(agreement_id: str, queries: Queries) -> JSONResponse:
    return JSONResponse(render_agreement(await run_in_threadpool(queries.agreement, agreement_id)))


@router.get("/{agreement_id}/negotiation")
@sdk_alias.get("/{agreement_id}/negotiation")
async def get_agreement_negotiation(agreement_id: str, queries: Queries) -> JSONResponse:
    return JSONResponse(render_negotiation(await run_in_threadpool(queries.negotiation_of, agreement_id)))


@router.get("/{agreement_id}/signed")
async def get_signed_agreement(agreement_id: str, queries: Queries, services: Services) -> JSONResponse:
    """The signed agreement with both parties' DID documents: what ``connector agreement verify`` checks.

    A Pontis extension. 404 when the agreement is unknown, 409 when it carries no signature.
    """
    from connector.services.agreements import standalone

    def work() -> dict:
        row = queries.agreement(agreement_id)
        if row.policy.get("proof") is None or services.identity is None:
            raise ApiError(409, f"agreement {agreement_id} is not signed (the provider has no signing key)",
                           path="proof", invalid_value=agreement_id)
        return services.identity.export_agreement(standalone(row.policy))

    return JSONResponse(await run_in_threadpool(work))


@router.get("/{agreement_id}/offer")
async def get_signed_offer(agreement_id: str, queries: Queries, services: Services) -> JSONResponse:
    """The provider-signed offer the agreement came from, with the provider's DID document: what
    ``connector offer verify`` checks offline. A Pontis extension; 404 for an unknown agreement,
    409 when the offer carried no proof."""
    from connector.identity.wallet import verify_signed
    from connector.services.signed_offers import offer_bundle, signed_offer_behind

    def work() -> dict:
        row = queries.agreement(agreement_id)
        document = signed_offer_behind(services.db, row, services.catalog.signer)
        if document is None:
            raise ApiError(409, f"agreement {agreement_id} came from an offer that carried no provider proof",
                           path="proof", invalid_value=agreement_id)
        resolve_key = services.offer_verifier.resolve_key
        if resolve_key is None:
            raise ApiError(409, "this connector resolves no DIDs, so the offer's proof cannot be checked", path="proof",
                           invalid_value=agreement_id)
        check = verify_signed(document, resolve_key, signer=row.provider_id)
        if not check.ok:
            raise ApiError(409, f"the signed offer behind agreement {agreement_id} does not verify: {check.reason}",
                           path="proof", invalid_value=agreement_id)
        return offer_bundle(document, services.offer_verifier.resolver)

    return JSONResponse(await run_in_threadpool(work))
