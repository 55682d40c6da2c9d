"""Shared helpers for the policy tests: where the read-only reference data lives,
a skip marker for machines without it, and a pyld loader serving the REFERENCE
contexts from disk (never the network)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
DSP_REF = SHARED / "reference" / "dsp" / "2025-1"
CX_REF = SHARED / "reference" / "catenax" / "cx-odrl-profile"

requires_shared = pytest.mark.skipif(
    not DSP_REF.is_dir() or not CX_REF.is_dir(),
    reason=f"reference data not found under {SHARED} (read-only checkout of /work/shared)",
)

_CONTEXT_FILES = {
    "https://w3id.org/dspace/2025/1/context.jsonld": DSP_REF / "context" / "dspace.jsonld",
    "https://w3id.org/dspace/2025/1/odrl-profile.jsonld": DSP_REF / "context" / "odrl.jsonld",
}


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def pyld_expand(doc: dict) -> list:
    """Expand ``doc`` with pyld, resolving the DSP contexts from the reference files."""
    from pyld import jsonld

    def loader(url: str, options: dict | None = None) -> dict:
        if url not in _CONTEXT_FILES:
            raise AssertionError(f"test loader has no local copy of {url}")
        return {"contextUrl": None, "documentUrl": url, "document": load_json(_CONTEXT_FILES[url])}

    # base=None keeps undefined words ("dateTime") as relative IRIs instead of
    # resolving them against a made-up document base (see research/dsp.md §5).
    return jsonld.expand(doc, {"documentLoader": loader, "base": None})
