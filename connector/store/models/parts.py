"""Part provenance: the Digital Twin Registry, the submodels we serve (connector.parts), and
traversal jobs (connector.provenance.jobs)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from ._columns import _json, _ms


class PartTwin(SQLModel, table=True):
    """A digital twin in our registry: its AAS shell descriptor, without its submodel descriptors."""

    __tablename__ = "part_twin"

    id: str = Field(primary_key=True, max_length=2048)  # the AAS id (urn:uuid:<random v4>)
    # the part's globalAssetId/catenaXId, lower case without urn:uuid: (both forms find it)
    global_key: str | None = Field(default=None, max_length=2048, unique=True)
    # the descriptor as the AAS API shows it to the owner (specificAssetIds with externalSubjectIds)
    descriptor: dict[str, Any] = _json(nullable=False)
    created_at: int = _ms()
    updated_at: int = _ms()


class TwinAssetId(SQLModel, table=True):
    """One specificAssetId of a twin, indexed for look-ups (its visibility is in the descriptor)."""

    __tablename__ = "twin_asset_id"
    __table_args__ = (Index("ix_twin_asset_id_name_value", "name", "value"),)

    id: int | None = Field(default=None, primary_key=True)
    twin_id: str = Field(max_length=2048, index=True)
    name: str = Field(max_length=64)
    value: str = Field(max_length=2048)


class TwinSubmodel(SQLModel, table=True):
    """A submodel descriptor of a twin and, when we serve it ourselves, the aspect payload."""

    __tablename__ = "twin_submodel"

    id: str = Field(primary_key=True, max_length=2048)  # the submodel descriptor's id
    twin_id: str = Field(max_length=2048, index=True)
    semantic_id: str | None = Field(default=None, max_length=512)  # the aspect URN
    descriptor: dict[str, Any] = _json(nullable=False)
    payload: dict[str, Any] | None = _json(nullable=True)
    created_at: int = _ms()
    updated_at: int = _ms()


# --- part provenance: traversal jobs (connector.provenance.jobs) -------------------------------------


class ProvenanceJob(SQLModel, table=True):
    """A traversal job (IRS RegisterJob): parameters, state, lease, and what it has found so far."""

    __tablename__ = "provenance_job"
    __table_args__ = (Index("ix_provenance_job_due", "state", "lease_until"),)

    id: str = Field(primary_key=True, max_length=64)
    # INITIAL → RUNNING → COMPLETED | CANCELED | ERROR
    state: str = Field(max_length=16)
    global_asset_id: str = Field(max_length=512)
    bpn: str = Field(max_length=64)
    parameter: dict[str, Any] = _json(nullable=False)
    # the item graph (relationships, shells, submodels, tombstones, bpns, nodes), partial while RUNNING
    result: dict[str, Any] | None = _json(nullable=True)
    summary: dict[str, Any] | None = _json(nullable=True)
    # {exception, errorDetail, exceptionDate} when it ended in ERROR
    exception: dict[str, Any] | None = _json(nullable=True)
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_until: int = _ms()
    attempts: int = Field(default=0)
    deadline_at: int = _ms()
    created_at: int = _ms()
    started_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    completed_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    updated_at: int = _ms()
