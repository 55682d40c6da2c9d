"""The column shapes every table uses: JSON and epoch milliseconds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Column
from sqlmodel import Field


def _json(**kw: Any) -> Any:
    return Field(default=None, sa_column=Column(JSON(none_as_null=True), **kw))


def _ms(**kw: Any) -> Any:
    return Field(default=0, sa_column=Column(BigInteger, nullable=False, **kw))
