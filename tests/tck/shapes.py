"""What a DSP 2025-1 message must look like, in our own words: the check every TCK step makes.

Written from the specification's message definitions (Dataspace Protocol 2025-1, the "Message
Types" sections of the catalog, negotiation and transfer protocols), so the TCK scenarios check
every message and answer of the connector under test in a fresh clone. Where the shared
reference schemas are present (``reference.py``), ``problems`` checks them too, and
tests/tck/test_shapes.py compares this table with them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.tck import reference

DSPACE_CONTEXT = "https://w3id.org/dspace/2025/1/context.jsonld"
NEGOTIATION_STATES = ("REQUESTED", "OFFERED", "ACCEPTED", "AGREED", "VERIFIED", "FINALIZED", "TERMINATED")
TRANSFER_STATES = ("REQUESTED", "STARTED", "TERMINATED", "COMPLETED", "SUSPENDED")
DATE_TIME = re.compile(r"-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")

Check = Callable[[Any, str], list[str]]


@dataclass(frozen=True)
class Shape:
    """One message type: the keys it must have, which of them are strings, what else is checked."""

    required: tuple[str, ...]
    strings: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()  # exactly one of these keys
    enums: tuple[tuple[str, tuple[str, ...]], ...] = ()
    nested: tuple[tuple[str, Check], ...] = ()  # a key's value, checked when present
    context: bool = True  # the message carries the DSP @context


def _is_list_of(value: Any, kind: type) -> bool:
    return isinstance(value, list) and all(isinstance(v, kind) for v in value)


def _rules(policy: dict, where: str) -> list[str]:
    found = []
    rules = [(k, r) for k in ("permission", "prohibition", "obligation") for r in (policy.get(k) or [])]
    for key in ("permission", "prohibition", "obligation"):
        if key in policy and not (isinstance(policy[key], list) and policy[key]):
            found.append(f"{where}/{key}: expected a non-empty array")
    if not any(isinstance(policy.get(k), list) and policy[k] for k in ("permission", "prohibition")):
        found.append(f"{where}: expected a permission or a prohibition")
    for key, rule in rules:
        if not isinstance(rule, dict) or "action" not in rule:
            found.append(f"{where}/{key}: every rule needs an action")
        elif "constraint" in rule and not isinstance(rule["constraint"], list):
            found.append(f"{where}/{key}/constraint: expected an array")
    return found


def _policy(type_name: str, required: tuple[str, ...], target: bool | None) -> Check:
    """An ODRL policy of ``type_name``; ``target`` True: must have one, False: must not, None: may."""
    def check(value: Any, where: str) -> list[str]:
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {type(value).__name__}"]
        found = [] if value.get("@type") == type_name else [
            f"{where}/@type: expected {type_name!r}, got {value.get('@type')!r}"]
        found += [f"{where}: '{key}' is a required property" for key in required if key not in value]
        found += [f"{where}/{key}: expected a string" for key in ("@id", "target", "assigner", "assignee")
                  if key in value and not isinstance(value[key], str)]
        if target is False and "target" in value:
            found.append(f"{where}: an offer in a dataset names no target")
        if "timestamp" in value and not (isinstance(value["timestamp"], str) and DATE_TIME.fullmatch(value["timestamp"])):
            found.append(f"{where}/timestamp: expected an xsd:dateTime, got {value['timestamp']!r}")
        return found + _rules(value, where)
    return check


MESSAGE_OFFER = _policy("Offer", ("@id",), None)
DATASET_OFFER = _policy("Offer", ("@id",), False)
AGREEMENT = _policy("Agreement", ("@id", "target", "assigner", "assignee"), True)


def _array_of(item: Check, minimum: int = 1) -> Check:
    def check(value: Any, where: str) -> list[str]:
        if not isinstance(value, list) or len(value) < minimum:
            return [f"{where}: expected an array of at least {minimum}"]
        return [p for i, v in enumerate(value) for p in item(v, f"{where}/{i}")]
    return check


def _distribution(value: Any, where: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: expected an object"]
    found = [f"{where}: '{key}' is a required property" for key in ("accessService", "format") if key not in value]
    if "format" in value and not isinstance(value["format"], str):
        found.append(f"{where}/format: expected a string")
    if "hasPolicy" in value:
        found += _array_of(DATASET_OFFER)(value["hasPolicy"], f"{where}/hasPolicy")
    return found


def _dataset(value: Any, where: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: expected an object"]
    found = [f"{where}: '{key}' is a required property" for key in ("@id", "hasPolicy", "distribution")
             if key not in value]
    if "hasPolicy" in value:
        found += _array_of(DATASET_OFFER)(value["hasPolicy"], f"{where}/hasPolicy")
    if "distribution" in value:
        found += _array_of(_distribution)(value["distribution"], f"{where}/distribution")
    return found


def _no_policy(value: Any, where: str) -> list[str]:
    return [f"{where}: a catalog carries no hasPolicy of its own"]


def _version(value: Any, where: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: expected an object"]
    found = [f"{where}: '{key}' is a required property" for key in ("version", "path", "binding") if key not in value]
    if "binding" in value and value["binding"] != "HTTPS":
        found.append(f"{where}/binding: expected 'HTTPS', got {value['binding']!r}")
    return found


def _data_address(value: Any, where: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: expected an object"]
    found = [] if value.get("@type") == "DataAddress" else [f"{where}/@type: expected 'DataAddress'"]
    if not isinstance(value.get("endpointType"), str):
        found.append(f"{where}: 'endpointType' is a required string")
    for i, prop in enumerate(value.get("endpointProperties") or []):
        if not (isinstance(prop, dict) and prop.get("@type") == "EndpointProperty"
                and isinstance(prop.get("name"), str) and isinstance(prop.get("value"), str)):
            found.append(f"{where}/endpointProperties/{i}: expected an EndpointProperty with a string name and value")
    return found


def _reason(value: Any, where: str) -> list[str]:
    return [] if isinstance(value, list) else [f"{where}: expected an array"]


PIDS = ("providerPid", "consumerPid")
CODED = (("reason", _reason),)  # code (a string) and reason (an array) of errors and terminations

SHAPES: dict[str, Shape] = {
    "VersionResponse": Shape(("protocolVersions",), nested=(("protocolVersions", _array_of(_version)),),
                             context=False),
    "Catalog": Shape(("@context", "@type", "@id", "participantId"), ("@id", "participantId"),
                     nested=(("dataset", _array_of(_dataset)), ("hasPolicy", _no_policy))),
    "Dataset": Shape(("@context", "@id", "hasPolicy", "distribution"), ("@id",),
                     nested=(("hasPolicy", _array_of(DATASET_OFFER)), ("distribution", _array_of(_distribution)))),
    "CatalogError": Shape(("@context", "@type"), ("code",), nested=CODED),
    "CatalogRequestMessage": Shape(("@context", "@type"), nested=(("filter", _reason),)),
    "ContractRequestMessage": Shape(("@context", "@type", "consumerPid", "offer"),
                                    ("consumerPid", "providerPid", "callbackAddress"),
                                    one_of=("callbackAddress", "providerPid"), nested=(("offer", MESSAGE_OFFER),)),
    "ContractOfferMessage": Shape(("@context", "@type", "providerPid", "offer"),
                                  ("consumerPid", "providerPid", "callbackAddress"),
                                  one_of=("callbackAddress", "consumerPid"), nested=(("offer", MESSAGE_OFFER),)),
    "ContractAgreementMessage": Shape(("@context", "@type", *PIDS, "agreement"), PIDS + ("callbackAddress",),
                                      nested=(("agreement", AGREEMENT),)),
    "ContractAgreementVerificationMessage": Shape(("@context", "@type", *PIDS), PIDS),
    "ContractNegotiationEventMessage": Shape(("@context", "@type", *PIDS, "eventType"), PIDS,
                                             enums=(("eventType", ("ACCEPTED", "FINALIZED")),)),
    "ContractNegotiationTerminationMessage": Shape(("@context", "@type", *PIDS), PIDS + ("code",), nested=CODED),
    "ContractNegotiation": Shape(("@context", "@type", *PIDS, "state"), PIDS,
                                 enums=(("state", NEGOTIATION_STATES),)),
    "ContractNegotiationError": Shape(("@context", "@type", *PIDS), PIDS + ("code",), nested=CODED),
    "TransferRequestMessage": Shape(("@context", "@type", "agreementId", "format", "callbackAddress", "consumerPid"),
                                    ("agreementId", "format", "callbackAddress", "consumerPid"),
                                    nested=(("dataAddress", _data_address),)),
    "TransferStartMessage": Shape(("@context", "@type", *PIDS), PIDS, nested=(("dataAddress", _data_address),)),
    "TransferSuspensionMessage": Shape(("@context", "@type", *PIDS), PIDS + ("code",), nested=CODED),
    "TransferCompletionMessage": Shape(("@context", "@type", *PIDS), PIDS),
    "TransferTerminationMessage": Shape(("@context", "@type", *PIDS), PIDS + ("code",), nested=CODED),
    "TransferProcess": Shape(("@context", "@type", *PIDS, "state"), PIDS, enums=(("state", TRANSFER_STATES),)),
    "TransferError": Shape(("@context", "@type", *PIDS), PIDS + ("code",), nested=CODED),
}


def own_problems(type_name: str, body: object) -> list[str]:
    """Why ``body`` is not a ``type_name`` by our own table (empty when it is)."""
    shape = SHAPES.get(type_name)
    if shape is None:
        return [f"no 2025-1 shape is known for {type_name!r}"]
    if not isinstance(body, dict):
        return [f"$: expected a JSON object, got {type(body).__name__}"]
    if type_name != "VersionResponse" and body.get("@type") != type_name:
        return [f"@type: expected {type_name!r}, got {body.get('@type')!r}"]
    found = [f"$: '{key}' is a required property" for key in shape.required if key not in body]
    if shape.context and "@context" in body:
        context = body["@context"]
        if not (_is_list_of(context, str) and DSPACE_CONTEXT in context):
            found.append(f"@context: expected an array of strings with {DSPACE_CONTEXT}, got {context!r}")
    found += [f"{key}: expected a string, got {body[key]!r}" for key in shape.strings
              if key in body and not isinstance(body[key], str)]
    if shape.one_of and sum(key in body for key in shape.one_of) != 1:
        found.append(f"$: expected exactly one of {' and '.join(shape.one_of)}")
    found += [f"{key}: expected one of {', '.join(allowed)}, got {body[key]!r}" for key, allowed in shape.enums
              if key in body and body[key] not in allowed]
    for key, check in shape.nested:
        if key in body:
            found += check(body[key], key)
    return found


def problems(type_name: str, body: object) -> list[str]:
    """Why ``body`` is not a valid ``type_name``: by our table, and by the reference schemas when present."""
    found = own_problems(type_name, body)
    if not found and reference.available():
        found = reference.problems(type_name, body)
    return found[:5]


def check(type_name: str, body: object, what: str) -> None:
    """Fail the test when ``body`` (described as ``what``) is not a valid ``type_name``."""
    found = problems(type_name, body)
    if found:
        raise AssertionError(f"{what} is not a valid 2025-1 {type_name}: " + "; ".join(found)
                             + f"\n  body: {json.dumps(body)[:1500]}")
