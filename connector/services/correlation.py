"""The correlation id of the work in hand: one id for every log line of one DSP process, on both sides.

A DSP process's ``consumerPid`` is in every message of it and both parties know it, so it is the
id: outgoing DSP calls send it as ``X-Correlation-Id`` (``services.transport``) and the receiving
connector logs under the id it was sent (``connector.ops.middleware``).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

HEADER = "X-Correlation-Id"
correlation_id: ContextVar[str | None] = ContextVar("pontis_correlation_id", default=None)


def correlation_of(body: Mapping[str, Any] | None) -> str | None:
    """The id a DSP message carries: its consumerPid (either spelling), else the one in hand."""
    if body:
        for key in ("consumerPid", "dspace:consumerPid", "https://w3id.org/dspace/v0.8/consumerPid"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
    return correlation_id.get()
