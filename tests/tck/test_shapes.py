"""Our table of DSP 2025-1 message shapes (``shapes.py``): it fails what it should, and agrees with the reference.

The first tests run everywhere; the comparisons with the reference schemas and examples skip
when ../shared is absent.
"""

from __future__ import annotations

import json

import pytest

from tests.tck import reference
from tests.tck.shapes import DSPACE_CONTEXT, SHAPES, own_problems

needs_reference = pytest.mark.skipif(not reference.available(), reason=reference.MISSING_REASON)
CONTEXT = [DSPACE_CONTEXT]
OFFER = {"@type": "Offer", "@id": "offer-1", "target": "ds-1", "permission": [{"action": "use"}]}


def test_a_valid_message_has_no_problems() -> None:
    body = {"@context": CONTEXT, "@type": "ContractRequestMessage", "consumerPid": "c", "offer": OFFER,
            "callbackAddress": "http://consumer/dsp"}
    assert own_problems("ContractRequestMessage", body) == []


@pytest.mark.parametrize(("type_name", "body", "named"), [
    ("ContractNegotiation", {"@context": CONTEXT, "@type": "ContractNegotiation", "providerPid": "p",
                             "consumerPid": "c", "state": "dspace:REQUESTED"}, "state"),
    ("ContractNegotiation", {"@context": CONTEXT, "@type": "ContractNegotiation", "providerPid": "p",
                             "state": "REQUESTED"}, "'consumerPid' is a required property"),
    ("ContractNegotiation", {"@context": ["https://example.org/other"], "@type": "ContractNegotiation",
                             "providerPid": "p", "consumerPid": "c", "state": "OFFERED"}, "@context"),
    ("ContractRequestMessage", {"@context": CONTEXT, "@type": "ContractRequestMessage", "consumerPid": "c",
                                "offer": OFFER}, "exactly one of callbackAddress and providerPid"),
    ("ContractRequestMessage", {"@context": CONTEXT, "@type": "ContractRequestMessage", "consumerPid": "c",
                                "providerPid": "p", "offer": {**OFFER, "permission": []}}, "offer/permission"),
    ("ContractAgreementMessage", {"@context": CONTEXT, "@type": "ContractAgreementMessage", "providerPid": "p",
                                  "consumerPid": "c", "agreement": {**OFFER, "@type": "Agreement", "assigner": "a"}},
     "agreement: 'assignee' is a required property"),
    ("ContractNegotiationEventMessage", {"@context": CONTEXT, "@type": "ContractNegotiationEventMessage",
                                         "providerPid": "p", "consumerPid": "c", "eventType": "AGREED"}, "eventType"),
    ("TransferStartMessage", {"@context": CONTEXT, "@type": "TransferStartMessage", "providerPid": "p",
                              "consumerPid": "c", "dataAddress": {"@type": "DataAddress"}}, "endpointType"),
    ("TransferError", {"@context": CONTEXT, "@type": "TransferError", "providerPid": "p", "consumerPid": "c",
                       "reason": "no"}, "reason: expected an array"),
    ("Catalog", {"@context": CONTEXT, "@type": "Catalog", "@id": "cat", "participantId": "me",
                 "dataset": [{"@id": "ds", "hasPolicy": [OFFER], "distribution": [{"format": "HttpData-PULL",
                                                                                  "accessService": "s"}]}]},
     "an offer in a dataset names no target"),
    ("VersionResponse", {"protocolVersions": [{"version": "2025-1", "path": "/dsp", "binding": "HTTP"}]}, "binding"),
])
def test_a_wrong_message_is_named(type_name: str, body: dict, named: str) -> None:
    found = own_problems(type_name, body)
    assert any(named in problem for problem in found), found


def test_a_wrong_type_is_the_one_problem() -> None:
    assert own_problems("ContractNegotiation", {"@type": "ContractNegotiationError"}) == [
        "@type: expected 'ContractNegotiation', got 'ContractNegotiationError'"]


# --- comparisons with the reference ------------------------------------------------------------


def _examples() -> list[tuple[str, str]]:
    if not reference.available():
        return [("none", "")]
    found = []
    for path in sorted(reference.DSP_2025_1.glob("*/example/*.json")):
        body = json.loads(path.read_text())
        kind = body.get("@type") if isinstance(body, dict) else None
        if kind in SHAPES or "protocolVersions" in body:
            found.append((kind or "VersionResponse", str(path.relative_to(reference.DSP_2025_1))))
    return found


@needs_reference
@pytest.mark.parametrize(("type_name", "example"), _examples())
def test_every_reference_example_fits_our_table(type_name: str, example: str) -> None:
    body = json.loads((reference.DSP_2025_1 / example).read_text())
    assert own_problems(type_name, body) == []
    assert reference.problems(type_name, body) == []  # and the reference schema agrees


@needs_reference
@pytest.mark.parametrize("type_name", sorted(set(SHAPES) - {"Catalog", "Dataset", "VersionResponse"}))
def test_our_table_requires_what_the_reference_schema_requires(type_name: str) -> None:
    schema = json.loads((reference.DSP_2025_1 / reference.SCHEMA_FILES[type_name]).read_text())
    definition = schema["definitions"][type_name]
    required = set(definition.get("required", []))
    for part in definition.get("allOf", []):
        required |= set(part.get("required", []))
    alternatives = {key for option in definition.get("oneOf", []) for key in option.get("required", [])}
    shape = SHAPES[type_name]
    assert required <= set(shape.required), required - set(shape.required)
    assert alternatives == set(shape.one_of)
    enums = {key: tuple(value["enum"]) for key, value in definition.get("properties", {}).items() if "enum" in value}
    assert enums == dict(shape.enums)
