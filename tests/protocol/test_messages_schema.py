"""Our DSP messages against the official 2025-1 schemas and examples.

Every official negotiation example parses into our typed message and renders back to the same
JSON; every message we render validates against its official schema.
"""

import json
from pathlib import Path

import pytest

from connector.protocol.messages import (
    NEGOTIATION_MESSAGE_TYPES,
    catalog_error,
    negotiation_ack,
    negotiation_error,
)
from connector.protocol.negotiation import NegotiationState

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
DSP = SHARED / "reference" / "dsp" / "2025-1"
pytestmark = pytest.mark.skipif(not DSP.is_dir(), reason=f"reference DSP 2025-1 files not found at {DSP} (../shared is absent)")


def _validator(schema_path: Path):
    from jsonschema import Draft201909Validator
    from referencing import Registry, Resource

    resources = []
    for path in DSP.rglob("*-schema.json"):
        text = path.read_text().replace("#definitions/", "#/definitions/")  # upstream quirk, see SOURCES.md
        doc = json.loads(text)
        resources.append((doc["$id"], Resource.from_contents(doc)))
    registry = Registry().with_resources(resources)
    schema = json.loads(schema_path.read_text().replace("#definitions/", "#/definitions/"))
    return Draft201909Validator(schema, registry=registry)


SCHEMA_OF = {
    "ContractRequestMessage": "contract-request-message-schema.json",
    "ContractOfferMessage": "contract-offer-message-schema.json",
    "ContractAgreementMessage": "contract-agreement-message-schema.json",
    "ContractAgreementVerificationMessage": "contract-agreement-verification-message-schema.json",
    "ContractNegotiationEventMessage": "contract-negotiation-event-message-schema.json",
    "ContractNegotiationTerminationMessage": "contract-negotiation-termination-message-schema.json",
}

EXAMPLES = sorted(p for p in (DSP / "negotiation" / "example").glob("*.json")
                  if json.loads(p.read_text())["@type"] in SCHEMA_OF) if DSP.is_dir() else []


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_official_example_round_trips(path):
    doc = json.loads(path.read_text())
    message = NEGOTIATION_MESSAGE_TYPES[doc["@type"]].from_json(doc)
    rendered = message.to_json()
    assert rendered == doc
    _validator(DSP / "negotiation" / SCHEMA_OF[doc["@type"]]).validate(rendered)


def test_acks_and_errors_validate():
    _validator(DSP / "negotiation" / "contract-negotiation-schema.json").validate(
        negotiation_ack("urn:uuid:p", "urn:uuid:c", NegotiationState.AGREED))
    _validator(DSP / "negotiation" / "contract-negotiation-error-schema.json").validate(
        negotiation_error("urn:uuid:p", "urn:uuid:c", "bad-request", ["offer.@id: is required"]))
    _validator(DSP / "catalog" / "catalog-error-schema.json").validate(catalog_error("x", ["y"]))
