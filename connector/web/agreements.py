"""Agreements: both parties' signatures, a check of them, and the signed export for a third party."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from connector.services.agreements import standalone
from connector.services.errors import Conflict
from connector.store.models import Agreement
from connector.web.policies import summary
from connector.web.render import render
from connector.web.routing import Admin, Services, WebRoute, queries

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def signatures(row: Agreement) -> list[dict]:
    """Each proof on the agreement: who signed (provider or consumer), when, with which suite."""
    proof = row.policy.get("proof")
    proofs = proof if isinstance(proof, list) else [proof] if isinstance(proof, dict) else []
    out = []
    for p in proofs:
        signer = str(p.get("verificationMethod", "")).split("#", 1)[0]
        role = "provider" if signer == row.provider_id else "consumer" if signer == row.consumer_id else "someone else"
        out.append({"signer": signer, "role": role, "created": p.get("created"), "suite": p.get("cryptosuite"),
                    "method": p.get("verificationMethod")})
    return out


@router.get("/agreements")
async def agreements(request: Request, admin: Admin, services: Services) -> Response:
    rows = await run_in_threadpool(queries(services).agreements)
    return render(request, "agreements.html", section="agreements", title="Agreements",
                  rows=[(r, signatures(r)) for r in rows], our_id=services.settings.participant_id)


def _verify(services: Any, row: Agreement) -> dict:
    if services.identity is None:
        return {"ok": False, "reason": "this connector has no identity key ([identity] key_file), so it cannot "
                                       "resolve and check signatures"}
    if row.policy.get("proof") is None:
        return {"ok": False, "reason": "the agreement carries no signature (the provider has no signing key)"}
    check = services.identity.verify_agreement(standalone(row.policy))
    return {"ok": check.ok, "reason": check.reason, "provider_signed": check.provider_signed,
            "consumer_signed": check.consumer_signed}


@router.get("/agreements/{agreement_id}")
async def agreement(agreement_id: str, request: Request, admin: Admin, services: Services,
                    verify: bool = False) -> Response:
    q = queries(services)
    row = await run_in_threadpool(q.get, Agreement, agreement_id, "agreement")
    checked = await run_in_threadpool(_verify, services, row) if verify else None
    transfers = await run_in_threadpool(q.transfers_of, row.id)
    return render(request, "agreement.html", section="agreements", title=f"Agreement on {row.asset_id}", row=row,
                  signatures=signatures(row), summary=summary(row.policy), checked=checked, transfers=transfers,
                  our_id=services.settings.participant_id)


@router.get("/agreements/{agreement_id}/signed.json")
async def signed_export(agreement_id: str, request: Request, admin: Admin, services: Services) -> Response:
    """The signed agreement with both DID documents: what ``connector agreement verify`` checks offline."""
    def work() -> dict:
        row = queries(services).get(Agreement, agreement_id, "agreement")
        if row.policy.get("proof") is None or services.identity is None:
            raise Conflict("agreement.unsigned", f"agreement {agreement_id} is not signed (the provider has no "
                                                 "signing key)")
        return services.identity.export_agreement(standalone(row.policy))

    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in agreement_id)
    return JSONResponse(await run_in_threadpool(work),
                        headers={"Content-Disposition": f'attachment; filename="agreement-{safe}.json"'})
