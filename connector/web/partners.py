"""A partner's catalog: browse it over DSP, negotiate one of its offers, or fetch (negotiate, then
start a pull transfer at once; the data is downloaded from the transfer's page)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from connector.policy import policy_from_compact_dsp
from connector.protocol.messages import OfferRef
from connector.services.errors import InvalidRequest, ServiceError
from connector.services.remote_catalog import RemoteCatalog
from connector.web.peers import known_peers
from connector.web.policies import summary
from connector.web.render import redirect, render
from connector.web.routing import Admin, Form, Services, WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)
TITLE_KEYS = ("http://purl.org/dc/terms/title", "dct:title", "https://w3id.org/edc/v0.0.1/ns/name", "name", "title")
DESCRIPTION_KEYS = ("http://purl.org/dc/terms/description", "dct:description", "description")


def _first(node: dict, keys: tuple[str, ...]) -> str:
    for key in keys:
        value = node.get(key)
        if isinstance(value, dict):
            value = value.get("@value", value.get("@id"))
        if value:
            return str(value)
    return ""


def _list(value: Any) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def _offers(dataset: dict) -> list[dict]:
    return [o for o in _list(dataset.get("hasPolicy", dataset.get("odrl:hasPolicy"))) if isinstance(o, dict)]


def _target(services: Any, peer: str, address: str) -> tuple[str | None, str]:
    """(the peer's participant id or None, its DSP URL) from the form: a known peer, or an address."""
    address = address.strip()
    if peer:
        known = next((p for p in known_peers(services) if p.id == peer), None)
        if known is None:
            raise InvalidRequest("peer", f"peer: {peer!r} is not a known peer; enter its DSP URL instead", path="peer")
        if not address:
            if not known.dsp_url:
                raise InvalidRequest("address", f"peer {peer!r} has no DSP URL in the config; enter it", path="address")
            address = known.dsp_url
    if not address.startswith(("http://", "https://")):
        raise InvalidRequest("address", "DSP URL: expected the partner's DSP address, e.g. "
                                        "https://partner.example/api/dsp/2025-1", path="address")
    return (peer or None), address


def _remote(services: Any) -> RemoteCatalog:
    return RemoteCatalog(services.client, services.authenticator)


@router.get("/partners")
async def partners(request: Request, admin: Admin, services: Services, peer: str = "", address: str = "") -> Response:
    catalog, datasets, error, provider = None, [], None, None
    if peer or address:
        try:
            peer_id, url = _target(services, peer, address)
            catalog = await _remote(services).catalog(url, peer_id)
            provider = peer_id or catalog.get("participantId") or catalog.get("dspace:participantId")
            for dataset in _list(catalog.get("dataset", catalog.get("dcat:dataset"))):
                if isinstance(dataset, dict):
                    datasets.append({"id": dataset.get("@id"), "title": _first(dataset, TITLE_KEYS),
                                     "description": _first(dataset, DESCRIPTION_KEYS),
                                     "offers": [{"id": o.get("@id"), "summary": summary(o)} for o in _offers(dataset)]})
            address = url
        except ServiceError as exc:
            error = "; ".join(exc.reasons)
    return render(request, "partners.html", section="partners", title="Partner catalogs",
                  peers=[p for p in known_peers(services) if p.dsp_url], peer=peer, address=address,
                  catalog=catalog, datasets=datasets, provider=provider, error=error)


@router.post("/partners/negotiate")
async def negotiate(request: Request, form: Form, services: Services) -> Response:
    peer, address = (str(form.get(k) or "") for k in ("peer", "address"))
    dataset_id, offer_id = (str(form.get(k) or "") for k in ("dataset", "offer"))
    fetch = form.get("then") == "fetch"
    peer_id, url = _target(services, peer, address)
    # the offer as the provider states it now, not as the page had it
    dataset = await _remote(services).dataset(url, peer_id, dataset_id)
    offer = next((o for o in _offers(dataset) if o.get("@id") == offer_id), None)
    if offer is None:
        raise InvalidRequest("offer", f"the partner no longer offers {offer_id!r} for {dataset_id!r}; "
                                      "browse its catalog again")
    provider = peer_id or str(form.get("provider") or "")
    if not provider:
        raise InvalidRequest("provider", "the partner's participant id is unknown (its catalog names none)")
    ref = OfferRef(offer_id, policy_from_compact_dsp({k: v for k, v in offer.items() if k != "@type"}),
                   dataset_id, provider)
    request_args: dict[str, Any] = {"counterparty_address": url, "counterparty_id": provider, "offer": ref}
    if fetch:
        neg = await run_in_threadpool(services.edr_cache.negotiate, request_args)
    else:
        neg = await run_in_threadpool(lambda: services.negotiations.request(**request_args))
    what = "Negotiating, then transferring" if fetch else "Negotiating"
    return redirect(request, f"/ui/negotiations/{neg.id}", f"{what} {dataset_id} with {provider}.")
