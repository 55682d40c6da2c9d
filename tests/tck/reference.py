"""The official DSP 2025-1 JSON schemas, loaded from ``<repo>/../shared/reference/dsp/2025-1`` when present.

Where they are, every message and response body the connector under test emits is checked
against them too (``shapes.problems``), as the real TCK does on the raw JSON, and
tests/tck/test_shapes.py compares our own table of message shapes with them. The schemas are
read from the shared reference copy, never copied into the project. Upstream quirk fixed on
load (reference/dsp/SOURCES.md): three transfer schemas write ``#definitions/`` where
``#/definitions/`` is meant.
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from pathlib import Path

from jsonschema import Draft201909Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT201909

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
DSP_2025_1 = SHARED / "reference" / "dsp" / "2025-1"
MISSING_REASON = (
    f"the DSP 2025-1 reference schemas are not at {DSP_2025_1} "
    "(comparisons of our message shapes with them; check out the shared folder next to the repo)"
)

# the message/response @type -> its schema file under 2025-1/
SCHEMA_FILES = {
    "VersionResponse": "common/protocol-version-schema.json",
    "Catalog": "catalog/catalog-schema.json",
    "Dataset": "catalog/dataset-schema.json",
    "CatalogError": "catalog/catalog-error-schema.json",
    "CatalogRequestMessage": "catalog/catalog-request-message-schema.json",
    "ContractRequestMessage": "negotiation/contract-request-message-schema.json",
    "ContractOfferMessage": "negotiation/contract-offer-message-schema.json",
    "ContractAgreementMessage": "negotiation/contract-agreement-message-schema.json",
    "ContractAgreementVerificationMessage": "negotiation/contract-agreement-verification-message-schema.json",
    "ContractNegotiationEventMessage": "negotiation/contract-negotiation-event-message-schema.json",
    "ContractNegotiationTerminationMessage": "negotiation/contract-negotiation-termination-message-schema.json",
    "ContractNegotiation": "negotiation/contract-negotiation-schema.json",
    "ContractNegotiationError": "negotiation/contract-negotiation-error-schema.json",
    "TransferRequestMessage": "transfer/transfer-request-message-schema.json",
    "TransferStartMessage": "transfer/transfer-start-message-schema.json",
    "TransferSuspensionMessage": "transfer/transfer-suspension-message-schema.json",
    "TransferCompletionMessage": "transfer/transfer-completion-message-schema.json",
    "TransferTerminationMessage": "transfer/transfer-termination-message-schema.json",
    "TransferProcess": "transfer/transfer-process-schema.json",
    "TransferError": "transfer/transfer-error-schema.json",
}


def available() -> bool:
    return DSP_2025_1.is_dir()


def _load(path: Path) -> dict:
    return json.loads(path.read_text().replace('#definitions/', '#/definitions/'))


@lru_cache(maxsize=1)
def _registry() -> tuple[Registry, dict[str, dict]]:
    resources = []
    by_file: dict[str, dict] = {}
    for path in sorted(DSP_2025_1.glob("*/*-schema.json")):
        schema = _load(path)
        by_file[str(path.relative_to(DSP_2025_1))] = schema
        resources.append((schema["$id"], Resource.from_contents(schema, default_specification=DRAFT201909)))
    return Registry().with_resources(resources), by_file


@cache
def _validator(type_name: str) -> Draft201909Validator:
    registry, by_file = _registry()
    return Draft201909Validator(by_file[SCHEMA_FILES[type_name]], registry=registry)


def problems(type_name: str, body: object) -> list[str]:
    """Why ``body`` is not a valid ``type_name`` (empty when it is)."""
    if type_name not in SCHEMA_FILES:
        return [f"no 2025-1 schema is known for {type_name!r}"]
    if type_name != "VersionResponse":
        found = body.get("@type") if isinstance(body, dict) else None
        if found != type_name:
            return [f"@type: expected {type_name!r}, got {found!r}"]
    errors = sorted(_validator(type_name).iter_errors(body), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '$'}: {e.message}" for e in errors[:5]]


def check(type_name: str, body: object, what: str) -> None:
    """Fail the test when ``body`` (described as ``what``) is not a valid ``type_name``."""
    found = problems(type_name, body)
    if found:
        raise AssertionError(f"{what} is not a valid 2025-1 {type_name}: " + "; ".join(found)
                             + f"\n  body: {json.dumps(body)[:1500]}")
