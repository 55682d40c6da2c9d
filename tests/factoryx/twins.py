"""A Factory-X MX-Port provider and its peer, for the ADR 008 / 009 scenarios.

``mx_pair``: two in-process connectors (tests/transfers/conftest.py): Nordguss provides in the
``[profile] dataspace`` asked for, with the example chain's Nordguss and Achsen parts shared with the
consumer (Achsen, BPNL00000ACHSEAG) and one more twin, ``ASSET_B``, shared with Motorwerke only. The
consumer reads through the data plane with the EDRs it negotiates, as a peer does.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.parts.conftest import ACHSEN, MOTORWERKE, chain
from tests.transfers.conftest import Pair, make_pair, ok

R = "/management/v3/registry"
PROVIDER_PUBLIC = "http://provider.test"
ASSET_A = "urn:uuid:2c8de93a-06b0-46d8-8e4f-13f94294402c"  # Nordguss's batch, shared with Achsen
ASSET_B = "urn:uuid:5b0c4c8e-1111-4d2a-9c33-0000000000b2"  # a casting type shared with Motorwerke only
TYPE_ONLY = "urn:uuid:24717a15-9579-4b58-b92f-f9c19e5cd880"  # one submodel: PartTypeInformation
MODULE = "urn:uuid:0cca71fb-80ff-4d36-8db1-4751129478be"  # three: SerialPart, BOM and usage
PTI = "urn:samm:io.catenax.part_type_information:2.0.0#PartTypeInformation"
TAXONOMY_DTR = "https://w3id.org/catenax/taxonomy#DigitalTwinRegistry"


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def provider_parts() -> list[dict]:
    """Nordguss's chain and Achsen's (re-shared with Achsen, the consumer), and Asset-B for Motorwerke."""
    achsen = [{**item, "visibleTo": [ACHSEN]} for item in chain("achsen")]
    [type_item] = [i for i in chain("nordguss") if i["aspect"] == PTI]
    payload = {**type_item["payload"], "globalAssetId": ASSET_B,
               "partTypeInformation": {"manufacturerPartId": "NG-WC-999", "nameAtManufacturer": "Other casting"}}
    return [*chain("nordguss"), *achsen, {"aspect": PTI, "payload": payload, "visibleTo": [MOTORWERKE]}]


def mx_pair(tmp_path: Path, dataspace: str = "factory-x") -> Iterator[Pair]:
    for two in make_pair(tmp_path, provider_extra={"profile": {"dataspace": dataspace}}):
        ok(two.provider.post("/management/v3/parts/import", json=provider_parts()))
        yield two


class Peer:
    """The consumer's view of the provider's data plane, with the EDRs it negotiated."""

    def __init__(self, two: Pair) -> None:
        self.two = two
        self.edrs: dict[str, tuple[str, str]] = {}

    def edr(self, asset_id: str = "digital-twin-registry") -> tuple[str, str]:
        """(endpoint, token) of a pull transfer of ``asset_id``, negotiated once."""
        if asset_id not in self.edrs:
            _, transfer = self.two.negotiate_edr(asset_id)
            address = ok(self.two.consumer.get(f"/management/v3/edrs/{transfer['@id']}/dataaddress"))
            self.edrs[asset_id] = (address["endpoint"], address["authorization"])
        return self.edrs[asset_id]

    def get(self, url: str, asset_id: str = "digital-twin-registry", **params: Any) -> httpx.Response:
        """GET ``url`` (absolute, or a path below the registry's base) with the EDR of ``asset_id``."""
        endpoint, token = self.edr(asset_id)
        absolute = url if url.startswith("http") else endpoint.rstrip("/") + url
        assert absolute.startswith(PROVIDER_PUBLIC + "/api/public"), absolute
        return self.two.provider.get(absolute.removeprefix(PROVIDER_PUBLIC), params=params or None,
                                     headers={"Authorization": token})

    def shell_of(self, global_asset_id: str) -> dict:
        link = b64(json.dumps({"name": "globalAssetId", "value": global_asset_id}))
        [aas_id] = ok(self.get("/lookup/shells", assetIds=link))["result"]
        return ok(self.get(f"/shell-descriptors/{b64(aas_id)}"))


def datasets(catalog: dict) -> list[dict]:
    found = catalog.get("dcat:dataset") or catalog.get("dataset") or []
    return found if isinstance(found, list) else [found]


def dct_type(dataset: dict) -> str | None:
    kind = dataset.get("dct:type") or dataset.get("http://purl.org/dc/terms/type")
    return kind.get("@id") if isinstance(kind, dict) else kind
