"""Import items for a supply chain, made in code: the demo's small chain and the benchmark's large one.

Each function returns items of the ``connector parts import`` file format (``{aspect, payload,
visibleTo}``) in the 4.0.0 models (globalAssetId), which the part models validate like any file.
"""

from __future__ import annotations

SERIAL_PART = "urn:samm:io.catenax.serial_part:4.0.0#SerialPart"
BATCH = "urn:samm:io.catenax.batch:4.0.0#Batch"
BOM = "urn:samm:io.catenax.single_level_bom_as_built:4.0.0#SingleLevelBomAsBuilt"
USAGE = "urn:samm:io.catenax.single_level_usage_as_built:4.0.0#SingleLevelUsageAsBuilt"


def item(aspect: str, payload: dict, visible_to: list[str]) -> dict:
    return {"aspect": aspect, "payload": payload, "visibleTo": list(visible_to)}


def identity(part: str, local_key: str, local_value: str, part_number: str, name: str, visible_to: list[str], *,
             date: str = "2026-11-07") -> dict:
    """A SerialPart (``local_key`` van / partInstanceId) or a Batch (``local_key`` batchId)."""
    info: dict = {"manufacturerPartId": part_number, "nameAtManufacturer": name,
                  "partClassification": [{"standard": "GIN 20510-21513", "id": "1000001"}]}
    if local_key != "batchId":
        info.update(customerPartId=part_number, nameAtCustomer=name)
    payload = {"globalAssetId": part, "localIdentifiers": [{"key": local_key, "value": local_value}],
               "manufacturingInformation": {"productionDate": date, "country": "DEU"}, "partTypeInformation": info}
    return item(BATCH if local_key == "batchId" else SERIAL_PART, payload, visible_to)


def bom(part: str, children: list[tuple[str, str, float]], visible_to: list[str], *,
        created: str = "2026-11-12T09:30:00Z") -> dict:
    """The SingleLevelBomAsBuilt of ``part``: ``children`` as (globalAssetId, BPNL, pieces)."""
    return item(BOM, {"globalAssetId": part, "childItems": [
        {"globalAssetId": child, "businessPartner": bpn, "quantity": {"value": quantity, "unit": "unit:piece"},
         "hasAlternatives": False, "createdOn": created} for child, bpn, quantity in children]}, visible_to)


def usage(part: str, parents: list[tuple[str, str, float]], visible_to: list[str], *,
          created: str = "2026-11-12T09:30:00Z") -> dict:
    """The SingleLevelUsageAsBuilt of ``part``: ``parents`` as (globalAssetId, BPNL, pieces)."""
    return item(USAGE, {"globalAssetId": part, "customers": sorted({bpn for _, bpn, _ in parents}), "parentItems": [
        {"globalAssetId": parent, "businessPartner": bpn, "isOnlyPotentialParent": False, "createdOn": created,
         "quantity": {"value": quantity, "unit": "unit:piece"}} for parent, bpn, quantity in parents]}, visible_to)
