"""Signed data: documents we publish carry our proof; documents we receive are checked against theirs.

Published JSON (a PCF payload, a part twin) is plain JSON, not JSON-LD, so it is secured with
eddsa-jcs-2022, the suite for bulk data: no JSON-LD processing, the JSON itself is signed.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from connector.identity.dataintegrity import VerificationResult
from connector.identity.dataintegrity import sign as di_sign

JCS = "eddsa-jcs-2022"


class DocumentSigner:
    """Signs served documents with our key; a document is signed once and the result reused."""

    def __init__(self, identity: Any, cache_size: int = 1024) -> None:
        self.identity = identity
        self._cache: OrderedDict[str, dict] = OrderedDict()
        self._lock = threading.Lock()
        self.cache_size = cache_size

    def __call__(self, document: dict) -> dict:
        key = json.dumps(document, sort_keys=True, separators=(",", ":"))
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        # the module-level sign: LocalIdentity.sign would add a JSON-LD @context to plain data
        signed = di_sign(document, self.identity.key, cryptosuite=JCS, check_jsonld=False)
        with self._lock:
            self._cache[key] = signed
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return signed


def verify_received(document: Any, resolve_key: Any, provider: str | None) -> VerificationResult | None:
    """The check of a received document's proof by ``provider``; None when it carries no proof."""
    if not isinstance(document, dict) or "proof" not in document:
        return None
    from connector.identity.wallet import verify_signed

    return verify_signed(document, resolve_key, signer=provider, check_jsonld=False)
