"""Every DCP presentation message of the flow validates against the DCP reference schemas
(../shared/reference/dcp; these comparison tests skip when it is absent), and our models read the
reference examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft201909Validator
from referencing import Registry, Resource

from connector.identity.dcp_messages import PresentationQuery, PresentationResponse

from .test_dcp_presentation import USAGE, caller, exchange, verifier, verifier_for  # noqa: F401  (fixtures)

RESOURCES = Path(__file__).resolve().parents[3] / "shared" / "reference" / "dcp" / "artifacts" / "src" / "main" / \
    "resources"
pytestmark = pytest.mark.skipif(not RESOURCES.is_dir(), reason="../shared/reference/dcp is absent")
PRESENTATION_EXCHANGE = "https://identity.foundation/presentation-exchange/schemas/"


def presentation_registry() -> Registry:
    context = json.loads((RESOURCES / "common" / "context-schema.json").read_text())
    # the query schema refers to .../v1.0/common/context-schema.json, whose own $id still says v08
    registry = Registry().with_resource("https://w3id.org/dspace-dcp/v1.0/common/context-schema.json",
                                        Resource.from_contents(context))
    # DIF Presentation Exchange's schemas are not in the reference copy: an object is all we check there
    return registry.with_resources([
        (PRESENTATION_EXCHANGE + "presentation-definition.json",
         Resource.from_contents({"$schema": "https://json-schema.org/draft/2019-09/schema", "type": "object"})),
        (PRESENTATION_EXCHANGE + "presentation-submission.json",
         Resource.from_contents({"$schema": "https://json-schema.org/draft/2019-09/schema",
                                 "properties": {"presentation_submission": {"type": "object"}}})),
    ])


def schema_errors(message: dict[str, Any]) -> list[str]:
    name = {"PresentationQueryMessage": "presentation-query-message-schema.json",
            "PresentationResponseMessage": "presentation-response-message-schema.json"}[message["type"]]
    schema = json.loads((RESOURCES / "presentation" / name).read_text())
    return [e.message for e in Draft201909Validator(schema, registry=presentation_registry()).iter_errors(message)]


def test_the_flows_query_and_response_validate(verifier, caller, exchange):  # noqa: F811
    verifier.check(caller.outgoing_token_for(verifier.identity.did, USAGE), USAGE)
    verifier.check(caller.outgoing_token(verifier.identity.did), None)
    assert len(exchange.queries) == 2
    for record in exchange.queries:
        assert schema_errors(record["query"]) == []
        assert schema_errors(record["response"]) == []


def test_the_data_integrity_flows_messages_validate(provider, resolver, exchange, issuer, caller):  # noqa: F811
    verifier = verifier_for(provider, resolver, exchange, [issuer.did], presentation_format="ldp")
    verifier.check(caller.outgoing_token_for(provider.did, USAGE), USAGE)
    [record] = exchange.queries
    assert "presentationDefinition" in record["query"] and isinstance(record["response"]["presentation"][0], dict)
    assert schema_errors(record["query"]) == [] and schema_errors(record["response"]) == []


def test_the_schema_check_can_fail():
    assert schema_errors({"@context": ["https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"],
                          "type": "PresentationQueryMessage"})  # neither scope nor definition
    assert schema_errors({"@context": ["https://example.com/"], "type": "PresentationResponseMessage",
                          "presentation": []})


@pytest.mark.parametrize("name", ["presentation-query-message.json",
                                  "presentation-query-message-w-presentation-definition.json"])
def test_our_query_model_reads_the_reference_examples(name):
    example = json.loads((RESOURCES / "presentation" / "example" / name).read_text())
    if "scope" in example:  # the example's scopes ("presentation1") are placeholders, not alias:discriminator
        example = {**example, "scope": ["org.eclipse.dspace.dcp.vc.type:MembershipCredential"]}
    query = PresentationQuery.from_json(example)
    assert schema_errors(query.to_json()) == []
    assert query.to_json() == example


@pytest.mark.parametrize("name", ["presentation-response-message.json",
                                  "presentation-response-message-w-presentation-submission.json"])
def test_our_response_model_reads_the_reference_examples(name):
    example = json.loads((RESOURCES / "presentation" / "example" / name).read_text())
    assert PresentationResponse.from_json(example).to_json() == example
    assert schema_errors(example) == []
