"""The tables, one SQLModel class per entity, in one module per concern. JSON columns hold compact,
already-validated shapes. Times are epoch milliseconds (int), the same on both engines and what
EDC's API shows."""

from .audit import AuditCheckpoint, AuditEntry
from .catalog import (
    AcceptedPolicy,
    Asset,
    BusinessPartnerGroup,
    ContractDefinition,
    OfferProof,
    PolicyDefinition,
    SignedOffer,
)
from .footprints import Footprint, FootprintRecipient, PcfExchangeRequest, ReceivedFootprint
from .identity import GaiaxCredential, StoredPeer, UsedTokenId
from .parts import PartTwin, ProvenanceJob, TwinAssetId, TwinSubmodel
from .processes import (
    Agreement,
    ConnectorSecret,
    DataFlow,
    EdrGrant,
    Negotiation,
    OutgoingMessage,
    ReceivedMessage,
    TransferProcess,
)

__all__ = [
    "AcceptedPolicy",
    "Agreement",
    "Asset",
    "AuditCheckpoint",
    "AuditEntry",
    "BusinessPartnerGroup",
    "ConnectorSecret",
    "ContractDefinition",
    "DataFlow",
    "EdrGrant",
    "Footprint",
    "FootprintRecipient",
    "GaiaxCredential",
    "Negotiation",
    "OfferProof",
    "OutgoingMessage",
    "PartTwin",
    "PcfExchangeRequest",
    "PolicyDefinition",
    "ProvenanceJob",
    "ReceivedFootprint",
    "ReceivedMessage",
    "SignedOffer",
    "StoredPeer",
    "TransferProcess",
    "TwinAssetId",
    "TwinSubmodel",
    "UsedTokenId",
]
