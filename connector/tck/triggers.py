"""The DSP TCK's consumer triggers as services: read the TCK's plain-JSON bodies, start the process.

The TCK (``eclipse-dataspacetck/dsp-tck``, ``HttpConsumerNegotiationClientImpl.initiateRequest``)
posts ``{"datasetId", "offerId", "providerId", "connectorAddress"}`` as plain JSON, no JSON-LD,
and expects the connector under test to send an initial ContractRequestMessage to
``connectorAddress/negotiations/request``. Its transfer trigger posts
``{"agreementId", "format", "providerId", "connectorAddress"}`` and expects a TransferRequestMessage
at ``connectorAddress/transfers/request`` under that (seeded) agreement. Test profile only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from connector.policy import policy_from_compact_dsp
from connector.protocol.messages import OfferRef
from connector.services.container import Container
from connector.services.errors import InvalidRequest
from connector.store.models import Negotiation, TransferProcess

# The TCK's provider answers any offer with its own "use" offer and never reads the policy we
# send, so the minimum a 2025-1 schema accepts is what we request: one permission to use.
TCK_OFFER_POLICY = {"permission": [{"action": "use"}]}


def _field(body: dict, name: str) -> str:
    value = body.get(name)
    if value is None:
        raise InvalidRequest("tck.field-missing", f"{name}: is required", path=name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest("tck.field-invalid", f"{name}: must be a non-empty string, got {type(value).__name__}",
                             path=name)
    return value.strip()


def _address(body: dict) -> str:
    address = _field(body, "connectorAddress")
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidRequest("tck.field-invalid", f"connectorAddress: must be an http(s) URL, got {address!r}",
                             path="connectorAddress")
    return address


def _object(body: Any) -> dict:
    if not isinstance(body, dict):
        raise InvalidRequest("tck.body-invalid", "$: the body must be a JSON object", path="$")
    return body


@dataclass(frozen=True, slots=True)
class NegotiationTrigger:
    dataset_id: str
    offer_id: str
    provider_id: str
    connector_address: str

    @classmethod
    def from_json(cls, body: Any) -> NegotiationTrigger:
        body = _object(body)
        return cls(_field(body, "datasetId"), _field(body, "offerId"), _field(body, "providerId"), _address(body))


@dataclass(frozen=True, slots=True)
class TransferTrigger:
    agreement_id: str
    format: str
    provider_id: str
    connector_address: str

    @classmethod
    def from_json(cls, body: Any) -> TransferTrigger:
        body = _object(body)
        return cls(_field(body, "agreementId"), _field(body, "format"), _field(body, "providerId"), _address(body))


def _known_peer(services: Container, provider_id: str) -> None:
    known = services.peers.by_id(provider_id) if services.peers is not None else services.settings.peer_by_id(provider_id)
    if known is None:
        # its callbacks would be authenticated as someone else and refused with 404 later
        raise InvalidRequest(
            "tck.provider-unknown",
            f"providerId: {provider_id!r} is not a known peer; add it under [[peers]] with its token, or with `connector peer add`",
            path="providerId",
        )


def start_negotiation(services: Container, trigger: NegotiationTrigger) -> Negotiation:
    """Queue the initial ContractRequestMessage; the worker sends it, as for any negotiation."""
    _known_peer(services, trigger.provider_id)
    offer = OfferRef(
        id=trigger.offer_id,
        policy=policy_from_compact_dsp(TCK_OFFER_POLICY),
        target=trigger.dataset_id,  # the playbook keys the consumer's script by this dataset id
        assigner=trigger.provider_id,
    )
    return services.negotiations.request(
        counterparty_address=trigger.connector_address, counterparty_id=trigger.provider_id, offer=offer
    )


def start_transfer(services: Container, trigger: TransferTrigger) -> TransferProcess:
    """Queue the TransferRequestMessage under a seeded agreement (ATPC...); the worker sends it.

    The TCK's provider answers the request at ``connectorAddress/transfers/request``; its later
    messages reach us at our ``callbackAddress``, and it reads our process at
    ``<callbackAddress>/transfers/:consumerPid``. A push format gets no destination: the TCK
    runs its transfer scenarios with ``HttpData-PULL``.
    """
    _known_peer(services, trigger.provider_id)
    return services.transfers.request(
        agreement_id=trigger.agreement_id, counterparty_address=trigger.connector_address,
        counterparty_id=trigger.provider_id, transfer_type=trigger.format,
    )
