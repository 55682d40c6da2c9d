"""Asking another company's connector for its catalog, over DSP, on behalf of our staff.

``POST {counterPartyAddress}/catalog/request`` with a CatalogRequestMessage, and
``GET {counterPartyAddress}/catalog/datasets/{id}``, each with the Authorization our
authenticator presents to that peer. The answer is returned as received (DSP compact JSON),
because clients such as tractusx-sdk read ``dataset``/``hasPolicy``/``@id`` from it directly.

A management QuerySpec is applied here, to the datasets received, rather than sent: DSP 2025-1
has no standard catalog filter (ours refuses one). Pagination (DSP's ``Link: <...>; rel="next"``)
is followed only when asked, i.e. when a QuerySpec wants more datasets than the first page held.

Any failure of the peer (unreachable, an error status, an answer that is not a JSON object) is
a ``CounterPartyError``: the management API's 502, with the peer's own reason in it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urljoin

from connector.identity import Authenticator
from connector.protocol.messages import DSPACE_CONTEXT
from connector.services.criteria import expand_term, matches
from connector.services.errors import InvalidRequest, ServiceError
from connector.services.queries import QuerySpec
from connector.services.transport import DspClient, PeerUnreachable, SsrfRefused

MAX_PAGES = 100  # a safety stop for a peer whose Link headers never end


class CounterPartyError(ServiceError):
    status = 502


def _reasons(body: Any) -> list[str]:
    """The peer's reasons: DSP errors carry ``reason``, EDC error arrays ``message``."""
    if isinstance(body, dict):
        raw = body.get("reason", body.get("message"))
        items = raw if isinstance(raw, list) else [raw] if raw else []
        code = body.get("code")
        out = [str(i.get("message", i.get("@value", i))) if isinstance(i, dict) else str(i) for i in items]
        return ([f"code {code}"] if code else []) + out
    if isinstance(body, list):
        return [str(i.get("message", i)) if isinstance(i, dict) else str(i) for i in body]
    return [str(body)[:300]] if body else []


def dataset_record(dataset: dict) -> dict:
    """A dataset as criteria see it: ``@id`` plus its properties keyed by full IRI."""
    record: dict = {"@id": dataset.get("@id")}
    for key, value in dataset.items():
        if key.startswith("@"):
            continue
        # under its key as written and as an IRI (dct:type → http://purl.org/dc/terms/type)
        record[key] = value
        record.setdefault(expand_term(key), value)
    return record


def _datasets(catalog: dict) -> list:
    found = catalog.get("dataset", catalog.get("dcat:dataset", []))
    return found if isinstance(found, list) else [found]


class RemoteCatalog:
    def __init__(self, client: DspClient, authenticator: Authenticator, offers: Any = None) -> None:
        self.client = client
        self.authenticator = authenticator
        # the consumer's OfferVerifier: it remembers the signed offers we are shown
        self.offers = offers

    async def _call(self, method: str, url: str, body: dict | None, counterparty_id: str | None,
                    what: str) -> tuple[dict, str | None]:
        token = self.authenticator.outgoing_token(counterparty_id)
        try:
            response = await self.client.request(method, url, body, token)
        except SsrfRefused as exc:
            raise InvalidRequest("counterparty.address_refused", f"{what}: {url} is refused: {exc.reason}",
                                 path="counterPartyAddress") from exc
        except PeerUnreachable as exc:
            raise CounterPartyError("counterparty.unreachable",
                                    f"{what}: the counter-party at {url} could not be reached ({exc})",
                                    path="counterPartyAddress") from exc
        parsed = response.body
        if not response.ok:
            reasons = _reasons(parsed)
            if response.status in (404, 405) and what.startswith("catalog request"):
                # the usual cause: the peer's base URL instead of its versioned DSP URL
                reasons.append("is counterPartyAddress the peer's DSP URL (e.g. https://peer/api/dsp/2025-1)?")
            if response.status == 401 and not any("peer add" in r for r in reasons):
                # an older or other connector: say the fix ourselves
                reasons.append("the peer does not know this connector yet: its admin adds it with `connector peer "
                               "add YOUR_ID --token YOUR_TOKEN` (print yours with `connector peer token`) or "
                               "under [[peers]] in its config")
            said = f": {'; '.join(reasons)}" if reasons else ""
            raise CounterPartyError("counterparty.refused",
                                    f"{what}: the counter-party answered HTTP {response.status}{said}",
                                    path="counterPartyAddress")
        if not isinstance(parsed, dict):
            raise CounterPartyError("counterparty.garbled",
                                    f"{what}: the counter-party's answer is not a JSON object",
                                    path="counterPartyAddress")
        return parsed, response.next_url

    async def catalog(self, address: str, counterparty_id: str | None, spec: QuerySpec | None = None) -> dict:
        """The peer's catalog; with a QuerySpec, its datasets filtered and paged here."""
        url = address.rstrip("/") + "/catalog/request"
        message = {"@context": [DSPACE_CONTEXT], "@type": "CatalogRequestMessage"}
        catalog, next_url = await self._call("POST", url, message, counterparty_id, "catalog request")
        self._remember(catalog)
        if spec is None:
            return catalog
        wanted = spec.offset + spec.limit
        datasets = [d for d in _datasets(catalog) if isinstance(d, dict) and self._selected(d, spec)]
        for _ in range(MAX_PAGES):
            if next_url is None or len(datasets) >= wanted:
                break
            page, next_url = await self._call("POST", urljoin(url, next_url), message, counterparty_id,
                                             "catalog request (next page)")
            self._remember(page)
            datasets.extend(d for d in _datasets(page) if isinstance(d, dict) and self._selected(d, spec))
        out = {k: v for k, v in catalog.items() if k not in ("dataset", "dcat:dataset")}
        out["dataset"] = datasets[spec.offset: wanted]
        return out

    @staticmethod
    def _selected(dataset: dict, spec: QuerySpec) -> bool:
        record = dataset_record(dataset)
        return all(matches(c, record) for c in spec.criteria)

    async def dataset(self, address: str, counterparty_id: str | None, dataset_id: str) -> dict:
        url = address.rstrip("/") + "/catalog/datasets/" + quote(dataset_id, safe="")
        dataset, _ = await self._call("GET", url, None, counterparty_id, f"dataset request for {dataset_id!r}")
        if self.offers is not None:
            self.offers.cache.remember_dataset(dataset, counterparty_id)
        return dataset

    def _remember(self, catalog: dict) -> None:
        if self.offers is not None:
            self.offers.cache.remember_catalog(catalog)
