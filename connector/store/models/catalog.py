"""What we publish and what we accept: assets, policies, contract definitions, business partner
groups, accepted policies, and the signed offers of our catalog."""

from __future__ import annotations

from typing import Any

from sqlmodel import Field, SQLModel

from ._columns import _json, _ms


class Asset(SQLModel, table=True):
    __tablename__ = "asset"

    id: str = Field(primary_key=True, max_length=512)
    properties: dict[str, Any] = _json(nullable=False)
    private_properties: dict[str, Any] = _json(nullable=False)
    data_address: dict[str, Any] = _json(nullable=False)
    created_at: int = _ms()


class PolicyDefinition(SQLModel, table=True):
    __tablename__ = "policy_definition"

    id: str = Field(primary_key=True, max_length=512)
    # the policy in the DSP compact vocabulary (a Set), as connector.policy.codec writes it
    policy: dict[str, Any] = _json(nullable=False)
    private_properties: dict[str, Any] = _json(nullable=False)
    created_at: int = _ms()


class ContractDefinition(SQLModel, table=True):
    __tablename__ = "contract_definition"

    id: str = Field(primary_key=True, max_length=512)
    access_policy_id: str = Field(max_length=512)
    contract_policy_id: str = Field(max_length=512)
    # a list of criteria {operandLeft, operator, operandRight}, all of which must hold
    assets_selector: list[Any] = _json(nullable=False)
    # set when the selector is exactly ``id = X``: the catalog finds such definitions by index
    asset_id: str | None = Field(default=None, max_length=512, index=True)
    private_properties: dict[str, Any] = _json(nullable=False)
    created_at: int = _ms()


class BusinessPartnerGroup(SQLModel, table=True):
    """The groups a business partner (by BPN) belongs to, for BusinessPartnerGroup constraints."""

    __tablename__ = "business_partner_group"

    bpn: str = Field(primary_key=True, max_length=64)
    groups: list[Any] = _json(nullable=False)
    updated_at: int = _ms()


class AcceptedPolicy(SQLModel, table=True):
    """A policy this connector, as consumer, is willing to agree to (an offer must fit inside one)."""

    __tablename__ = "accepted_policy"

    id: str = Field(primary_key=True, max_length=512)
    # the policy in the DSP compact vocabulary, as connector.policy.codec writes it
    policy: dict[str, Any] = _json(nullable=False)
    created_at: int = _ms()


class OfferProof(SQLModel, table=True):
    """Provider: our Data Integrity proof over a catalog offer (with its target and assigner).

    Keyed by the offer id, which names the contract definition, the asset and a hash of the
    policy: a changed offer has a new id and gets a new proof; an unchanged one keeps its proof."""

    __tablename__ = "offer_proof"

    offer_id: str = Field(primary_key=True, max_length=2048)
    asset_id: str = Field(max_length=512, index=True)
    # the key (DID URL) and suite that made it: a rotated key or another suite means a new proof
    verification_method: str = Field(max_length=512)
    cryptosuite: str = Field(max_length=32)
    proof: dict[str, Any] = _json(nullable=False)
    created_at: int = _ms()


class SignedOffer(SQLModel, table=True):
    """Consumer: the provider-signed offer a negotiation started from, as verified (a standalone
    document with its proof); the agreement reached by that negotiation links to it."""

    __tablename__ = "signed_offer"

    negotiation_id: str = Field(primary_key=True, max_length=200)
    offer_id: str = Field(max_length=2048)
    provider_id: str = Field(max_length=512)
    document: dict[str, Any] = _json(nullable=False)
    created_at: int = _ms()
