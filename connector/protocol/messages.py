"""DSP 2025-1 negotiation and catalog messages as typed objects, with their compact JSON forms.

Parsing reads the compact JSON the 2025-1 schemas define (the peer's ``@context`` has already
been checked at the edge) and raises ``MessageFormatError`` naming the field and what was
expected. Rendering produces exactly what the schemas require: an ``@context`` array, a compact
``@type``, bare states, no empty rule arrays, no ``target`` on offers in a catalog.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, overload

from connector.policy import Policy, PolicyError, contexts_for, policy_from_compact_dsp, policy_to_compact
from connector.protocol.negotiation import NegotiationMessage, NegotiationState

DSPACE_CONTEXT = "https://w3id.org/dspace/2025/1/context.jsonld"


class MessageFormatError(ValueError):
    """A message that does not have the shape its schema requires."""

    def __init__(self, path: str, expected: str, message_type: str = "") -> None:
        self.path = path
        self.expected = expected
        self.message_type = message_type
        super().__init__(f"{path}: {expected}")


# --- reading helpers -------------------------------------------------------------------------


@overload
def _string(body: dict[str, Any], key: str, *, required: Literal[True] = True) -> str: ...
@overload
def _string(body: dict[str, Any], key: str, *, required: bool) -> str | None: ...
def _string(body: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise MessageFormatError(key, "is required and must be a non-empty string")
        return None
    if not isinstance(value, str) or not value:
        raise MessageFormatError(key, f"must be a non-empty string, got {type(value).__name__}")
    return value


def _reasons(body: dict[str, Any]) -> list[str]:
    """DSP sends ``reason`` as an array; the TCK sends ``[{"message": ...}]``. Accept both."""
    raw = body.get("reason")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raw = [raw]
    out: list[str] = []
    for item in raw:
        if isinstance(item, dict):
            text = item.get("message") or item.get("@value") or item.get("reason")
            out.append(str(text) if text is not None else str(item))
        else:
            out.append(str(item))
    return out


def check_type(body: Any, expected: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise MessageFormatError("$", f"a JSON object of @type {expected}", expected)
    found = body.get("@type")
    if isinstance(found, list) and len(found) == 1:
        found = found[0]
    if found not in (expected, f"dspace:{expected}", f"https://w3id.org/dspace/2025/1/{expected}"):
        raise MessageFormatError("@type", f"must be {expected!r}, got {found!r}", expected)
    return body


@dataclass(frozen=True, slots=True)
class OfferRef:
    """An offer as carried in a negotiation message: its id, target and policy."""

    id: str
    policy: Policy
    target: str | None = None
    assigner: str | None = None

    def to_json(self, *, with_target: bool = True) -> dict[str, Any]:
        return policy_to_compact(
            self.policy,
            policy_type="Offer",
            policy_id=self.id,
            target=self.target if with_target else None,
            assigner=self.assigner,
        )


@dataclass(frozen=True, slots=True)
class AgreementDoc:
    id: str
    policy: Policy
    target: str
    assigner: str
    assignee: str
    timestamp: str | None = None
    # Data Integrity proof(s) over the agreement, carried as they came (see services/agreements.py)
    proof: Any = None

    def to_json(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"timestamp": self.timestamp} if self.timestamp else {}
        if self.proof is not None:
            extra["proof"] = self.proof
        return policy_to_compact(
            self.policy,
            policy_type="Agreement",
            policy_id=self.id,
            target=self.target,
            assigner=self.assigner,
            assignee=self.assignee,
            extra=extra or None,
        )


def _policy(body: dict[str, Any], key: str, policy_type: str) -> dict[str, Any]:
    node = body.get(key)
    if not isinstance(node, dict):
        raise MessageFormatError(key, f"is required and must be an {policy_type} object")
    found = node.get("@type")
    if found not in (policy_type, f"odrl:{policy_type}", f"http://www.w3.org/ns/odrl/2/{policy_type}"):
        raise MessageFormatError(f"{key}.@type", f"must be {policy_type!r}, got {found!r}")
    if not isinstance(node.get("@id"), str) or not node["@id"]:
        raise MessageFormatError(f"{key}.@id", "is required and must be a URI string")
    if "permission" not in node and "prohibition" not in node:
        raise MessageFormatError(key, "must have a permission or a prohibition")
    try:
        return {"node": node, "policy": policy_from_compact_dsp(node)}
    except PolicyError as exc:
        raise MessageFormatError(f"{key}.{getattr(exc, 'path', '')}".rstrip("."), str(getattr(exc, "expected", exc))) from exc


def read_offer(body: dict[str, Any], key: str = "offer") -> OfferRef:
    parsed = _policy(body, key, "Offer")
    node = parsed["node"]
    return OfferRef(
        id=node["@id"],
        policy=parsed["policy"],
        target=node.get("target") if isinstance(node.get("target"), str) else None,
        assigner=node.get("assigner") if isinstance(node.get("assigner"), str) else None,
    )


def read_agreement(body: dict[str, Any]) -> AgreementDoc:
    parsed = _policy(body, "agreement", "Agreement")
    node = parsed["node"]
    for key in ("target", "assigner", "assignee"):
        if not isinstance(node.get(key), str) or not node[key]:
            raise MessageFormatError(f"agreement.{key}", "is required and must be a string")
    return AgreementDoc(
        id=node["@id"],
        policy=parsed["policy"],
        target=node["target"],
        assigner=node["assigner"],
        assignee=node["assignee"],
        timestamp=node.get("timestamp") or body.get("timestamp"),
        proof=node.get("proof"),
    )


# --- messages --------------------------------------------------------------------------------


def _envelope(type_: str, contexts: list[str] | None = None) -> dict[str, Any]:
    return {"@context": contexts or [DSPACE_CONTEXT], "@type": type_}


@dataclass(frozen=True, slots=True)
class ContractRequest:
    consumer_pid: str
    offer: OfferRef
    provider_pid: str | None = None
    callback_address: str | None = None

    kind = NegotiationMessage.CONTRACT_REQUEST

    @classmethod
    def from_json(cls, body: Any) -> ContractRequest:
        check_type(body, "ContractRequestMessage")
        provider_pid = _string(body, "providerPid", required=False)
        callback = _string(body, "callbackAddress", required=False)
        if (provider_pid is None) == (callback is None):
            raise MessageFormatError(
                "callbackAddress", "exactly one of callbackAddress (initial request) or providerPid (counter-request)"
            )
        return cls(_string(body, "consumerPid"), read_offer(body), provider_pid, callback)

    def to_json(self) -> dict[str, Any]:
        out = _envelope("ContractRequestMessage", contexts_for(self.offer.policy))
        out["consumerPid"] = self.consumer_pid
        if self.provider_pid:
            out["providerPid"] = self.provider_pid
        out["offer"] = self.offer.to_json()
        if self.callback_address and not self.provider_pid:
            out["callbackAddress"] = self.callback_address
        return out


@dataclass(frozen=True, slots=True)
class ContractOffer:
    provider_pid: str
    offer: OfferRef
    consumer_pid: str | None = None
    callback_address: str | None = None

    kind = NegotiationMessage.CONTRACT_OFFER

    @classmethod
    def from_json(cls, body: Any) -> ContractOffer:
        check_type(body, "ContractOfferMessage")
        consumer_pid = _string(body, "consumerPid", required=False)
        callback = _string(body, "callbackAddress", required=False)
        if (consumer_pid is None) == (callback is None):
            raise MessageFormatError(
                "callbackAddress", "exactly one of callbackAddress (initial offer) or consumerPid"
            )
        return cls(_string(body, "providerPid"), read_offer(body), consumer_pid, callback)

    def to_json(self) -> dict[str, Any]:
        out = _envelope("ContractOfferMessage", contexts_for(self.offer.policy))
        out["providerPid"] = self.provider_pid
        if self.consumer_pid:
            out["consumerPid"] = self.consumer_pid
        out["offer"] = self.offer.to_json()
        if self.callback_address and not self.consumer_pid:
            out["callbackAddress"] = self.callback_address
        return out


@dataclass(frozen=True, slots=True)
class ContractAgreement:
    provider_pid: str
    consumer_pid: str
    agreement: AgreementDoc

    kind = NegotiationMessage.AGREEMENT

    @classmethod
    def from_json(cls, body: Any) -> ContractAgreement:
        check_type(body, "ContractAgreementMessage")
        return cls(_string(body, "providerPid"), _string(body, "consumerPid"), read_agreement(body))

    def to_json(self) -> dict[str, Any]:
        out = _envelope("ContractAgreementMessage", contexts_for(self.agreement.policy))
        out["providerPid"] = self.provider_pid
        out["consumerPid"] = self.consumer_pid
        out["agreement"] = self.agreement.to_json()
        return out


# DSP's verification message has no field for the consumer's counter-signature; this extension
# property (a full IRI, so JSON-LD processors keep it and plain-JSON peers may ignore it) carries it
AGREEMENT_PROOF = "https://w3id.org/pontis/v1/agreementProof"


@dataclass(frozen=True, slots=True)
class AgreementVerification:
    provider_pid: str
    consumer_pid: str
    agreement_proof: Any = None

    kind = NegotiationMessage.VERIFICATION

    @classmethod
    def from_json(cls, body: Any) -> AgreementVerification:
        check_type(body, "ContractAgreementVerificationMessage")
        proof = body.get(AGREEMENT_PROOF)
        if proof is not None and not isinstance(proof, dict):
            raise MessageFormatError(AGREEMENT_PROOF, "a Data Integrity proof object")
        return cls(_string(body, "providerPid"), _string(body, "consumerPid"), proof)

    def to_json(self) -> dict[str, Any]:
        out = _envelope("ContractAgreementVerificationMessage")
        out["providerPid"] = self.provider_pid
        out["consumerPid"] = self.consumer_pid
        if self.agreement_proof is not None:
            out[AGREEMENT_PROOF] = self.agreement_proof
        return out


EVENT_TYPES = ("ACCEPTED", "FINALIZED")


@dataclass(frozen=True, slots=True)
class NegotiationEvent:
    provider_pid: str
    consumer_pid: str
    event_type: str

    @property
    def kind(self) -> NegotiationMessage:
        return NegotiationMessage.ACCEPTED if self.event_type == "ACCEPTED" else NegotiationMessage.FINALIZED

    @classmethod
    def from_json(cls, body: Any) -> NegotiationEvent:
        check_type(body, "ContractNegotiationEventMessage")
        event = _string(body, "eventType")
        event = event.removeprefix("dspace:").removeprefix("https://w3id.org/dspace/2025/1/")
        if event not in EVENT_TYPES:
            raise MessageFormatError("eventType", f"must be one of {', '.join(EVENT_TYPES)}, got {event!r}")
        return cls(_string(body, "providerPid"), _string(body, "consumerPid"), event)

    def to_json(self) -> dict[str, Any]:
        out = _envelope("ContractNegotiationEventMessage")
        out["providerPid"] = self.provider_pid
        out["consumerPid"] = self.consumer_pid
        out["eventType"] = self.event_type
        return out


@dataclass(frozen=True, slots=True)
class NegotiationTermination:
    provider_pid: str
    consumer_pid: str
    code: str | None = None
    reason: list[str] = field(default_factory=list)

    kind = NegotiationMessage.TERMINATION

    @classmethod
    def from_json(cls, body: Any) -> NegotiationTermination:
        check_type(body, "ContractNegotiationTerminationMessage")
        code = body.get("code")
        return cls(
            _string(body, "providerPid"),
            _string(body, "consumerPid"),
            str(code) if code is not None else None,
            _reasons(body),
        )

    def to_json(self) -> dict[str, Any]:
        out = _envelope("ContractNegotiationTerminationMessage")
        out["providerPid"] = self.provider_pid
        out["consumerPid"] = self.consumer_pid
        if self.code:
            out["code"] = self.code
        if self.reason:
            out["reason"] = list(self.reason)
        return out


NEGOTIATION_MESSAGE_TYPES = {
    "ContractRequestMessage": ContractRequest,
    "ContractOfferMessage": ContractOffer,
    "ContractAgreementMessage": ContractAgreement,
    "ContractAgreementVerificationMessage": AgreementVerification,
    "ContractNegotiationEventMessage": NegotiationEvent,
    "ContractNegotiationTerminationMessage": NegotiationTermination,
}


def negotiation_ack(provider_pid: str, consumer_pid: str, state: NegotiationState) -> dict[str, Any]:
    """The ContractNegotiation object that acknowledges a message or answers a GET."""
    return {
        "@context": [DSPACE_CONTEXT],
        "@type": "ContractNegotiation",
        "providerPid": provider_pid,
        "consumerPid": consumer_pid,
        "state": state.value,
    }


def negotiation_error(provider_pid: str, consumer_pid: str, code: str, reasons: list[str]) -> dict[str, Any]:
    return {
        "@context": [DSPACE_CONTEXT],
        "@type": "ContractNegotiationError",
        "providerPid": provider_pid,
        "consumerPid": consumer_pid,
        "code": code,
        "reason": reasons or ["no reason given"],
    }


def catalog_error(code: str, reasons: list[str]) -> dict[str, Any]:
    return {"@context": [DSPACE_CONTEXT], "@type": "CatalogError", "code": code, "reason": reasons}
