"""DSP 2025-1 transfer-process messages as typed objects, with their compact JSON forms.

Parsing raises ``MessageFormatError`` naming the field; rendering produces exactly what the
2025-1 transfer schemas require.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connector.jsonld.terms import EDC_NS
from connector.protocol.messages import DSPACE_CONTEXT, MessageFormatError, _reasons, _string, check_type
from connector.protocol.transfer import TransferMessage, TransferState


@dataclass(frozen=True, slots=True)
class DataAddress:
    """Where data is: an endpoint and its properties (``authorization``, ``authType``, ...)."""

    endpoint_type: str
    endpoint: str | None = None
    properties: tuple[tuple[str, str], ...] = ()

    def get(self, name: str) -> str | None:
        """A property by its name; a bare name also finds it under the EDC IRI (``authorization`` is
        ``https://w3id.org/edc/v0.0.1/ns/authorization`` from EDC and from us)."""
        names = (name, EDC_NS + name) if "://" not in name and ":" not in name else (name,)
        for wanted in names:
            for key, value in self.properties:
                if key == wanted:
                    return value
        return None

    @classmethod
    def from_json(cls, node: Any, path: str = "dataAddress") -> DataAddress:
        if not isinstance(node, dict):
            raise MessageFormatError(path, "a DataAddress object")
        if node.get("@type") not in ("DataAddress", "dspace:DataAddress"):
            raise MessageFormatError(f"{path}.@type", f"must be 'DataAddress', got {node.get('@type')!r}")
        endpoint_type = node.get("endpointType")
        if not isinstance(endpoint_type, str) or not endpoint_type:
            raise MessageFormatError(f"{path}.endpointType", "is required and must be a string")
        endpoint = node.get("endpoint")
        if endpoint is not None and not isinstance(endpoint, str):
            raise MessageFormatError(f"{path}.endpoint", "must be a string")
        props = []
        raw = node.get("endpointProperties") or []
        if not isinstance(raw, list):
            raise MessageFormatError(f"{path}.endpointProperties", "must be an array of EndpointProperty")
        for i, prop in enumerate(raw):
            if not isinstance(prop, dict) or not isinstance(prop.get("name"), str) or not isinstance(prop.get("value"), str):
                raise MessageFormatError(f"{path}.endpointProperties[{i}]", "an EndpointProperty with string name and value")
            props.append((prop["name"], prop["value"]))
        return cls(endpoint_type, endpoint, tuple(props))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"@type": "DataAddress", "endpointType": self.endpoint_type}
        if self.endpoint is not None:
            out["endpoint"] = self.endpoint
        if self.properties:
            out["endpointProperties"] = [
                {"@type": "EndpointProperty", "name": name, "value": value} for name, value in self.properties
            ]
        return out


def _envelope(type_: str) -> dict[str, Any]:
    return {"@context": [DSPACE_CONTEXT], "@type": type_}


def _address(body: dict[str, Any]) -> DataAddress | None:
    return DataAddress.from_json(body["dataAddress"]) if body.get("dataAddress") is not None else None


@dataclass(frozen=True, slots=True)
class TransferRequest:
    consumer_pid: str
    agreement_id: str
    format: str
    callback_address: str
    data_address: DataAddress | None = None

    kind = TransferMessage.REQUEST

    @classmethod
    def from_json(cls, body: Any) -> TransferRequest:
        check_type(body, "TransferRequestMessage")
        return cls(_string(body, "consumerPid"), _string(body, "agreementId"), _string(body, "format"),
                   _string(body, "callbackAddress"), _address(body))

    def to_json(self) -> dict[str, Any]:
        out = _envelope("TransferRequestMessage")
        out.update(consumerPid=self.consumer_pid, agreementId=self.agreement_id, format=self.format)
        if self.data_address is not None:
            out["dataAddress"] = self.data_address.to_json()
        out["callbackAddress"] = self.callback_address
        return out


@dataclass(frozen=True, slots=True)
class TransferStart:
    provider_pid: str
    consumer_pid: str
    data_address: DataAddress | None = None

    kind = TransferMessage.START

    @classmethod
    def from_json(cls, body: Any) -> TransferStart:
        check_type(body, "TransferStartMessage")
        return cls(_string(body, "providerPid"), _string(body, "consumerPid"), _address(body))

    def to_json(self) -> dict[str, Any]:
        out = _envelope("TransferStartMessage")
        out.update(providerPid=self.provider_pid, consumerPid=self.consumer_pid)
        if self.data_address is not None:
            out["dataAddress"] = self.data_address.to_json()
        return out


@dataclass(frozen=True, slots=True)
class TransferCompletion:
    provider_pid: str
    consumer_pid: str

    kind = TransferMessage.COMPLETION

    @classmethod
    def from_json(cls, body: Any) -> TransferCompletion:
        check_type(body, "TransferCompletionMessage")
        return cls(_string(body, "providerPid"), _string(body, "consumerPid"))

    def to_json(self) -> dict[str, Any]:
        out = _envelope("TransferCompletionMessage")
        out.update(providerPid=self.provider_pid, consumerPid=self.consumer_pid)
        return out


@dataclass(frozen=True, slots=True)
class _CodeMessage:
    provider_pid: str
    consumer_pid: str
    code: str | None = None
    reason: list[str] = field(default_factory=list)

    type_name = ""

    @classmethod
    def from_json(cls, body: Any):  # type: ignore[no-untyped-def]
        check_type(body, cls.type_name)
        code = body.get("code")
        return cls(_string(body, "providerPid"), _string(body, "consumerPid"),
                   str(code) if code is not None else None, _reasons(body))

    def to_json(self) -> dict[str, Any]:
        out = _envelope(self.type_name)
        out.update(providerPid=self.provider_pid, consumerPid=self.consumer_pid)
        if self.code:
            out["code"] = self.code
        if self.reason:
            out["reason"] = list(self.reason)
        return out


@dataclass(frozen=True, slots=True)
class TransferSuspension(_CodeMessage):
    kind = TransferMessage.SUSPENSION
    type_name = "TransferSuspensionMessage"


@dataclass(frozen=True, slots=True)
class TransferTermination(_CodeMessage):
    kind = TransferMessage.TERMINATION
    type_name = "TransferTerminationMessage"


TRANSFER_MESSAGE_TYPES = {
    "TransferRequestMessage": TransferRequest,
    "TransferStartMessage": TransferStart,
    "TransferCompletionMessage": TransferCompletion,
    "TransferSuspensionMessage": TransferSuspension,
    "TransferTerminationMessage": TransferTermination,
}


def transfer_ack(provider_pid: str, consumer_pid: str, state: TransferState) -> dict[str, Any]:
    return {"@context": [DSPACE_CONTEXT], "@type": "TransferProcess", "providerPid": provider_pid,
            "consumerPid": consumer_pid, "state": state.value}


def transfer_error(provider_pid: str, consumer_pid: str, code: str, reasons: list[str]) -> dict[str, Any]:
    return {"@context": [DSPACE_CONTEXT], "@type": "TransferError", "providerPid": provider_pid,
            "consumerPid": consumer_pid, "code": code, "reason": reasons or ["no reason given"]}
