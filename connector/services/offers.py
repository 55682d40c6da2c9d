"""Offer ids: which contract definition and asset an offer stands for.

Ids follow EDC's shape ``b64(contractDefinitionId):b64(assetId):b64(policyHash)`` so EDC-based
clients read them as they expect. Plain ``definition:asset:anything`` ids (as the DSP TCK's
seeded offers use) are understood too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def _unb64(value: str) -> str | None:
    try:
        return base64.b64decode(value.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class OfferId:
    contract_definition_id: str
    asset_id: str
    suffix: str

    def __str__(self) -> str:
        return f"{_b64(self.contract_definition_id)}:{_b64(self.asset_id)}:{_b64(self.suffix)}"


def make_offer_id(contract_definition_id: str, asset_id: str, policy_key: str) -> str:
    digest = hashlib.sha256(policy_key.encode()).hexdigest()[:16]
    return str(OfferId(contract_definition_id, asset_id, digest))


def parse_offer_id(offer_id: str) -> list[OfferId]:
    """Every reading of ``offer_id``, most likely first; the caller keeps the one that exists."""
    parts = offer_id.split(":")
    if len(parts) != 3:
        return []
    readings: list[OfferId] = []
    decoded = [_unb64(p) for p in parts]
    if decoded[0] and decoded[1]:
        readings.append(OfferId(decoded[0], decoded[1], decoded[2] or parts[2]))
    readings.append(OfferId(parts[0], parts[1], parts[2]))
    return readings
