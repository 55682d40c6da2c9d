"""Reading a DSP request body: size limit, JSON, ``@context`` and ``@type``, with exact errors."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from connector.jsonld import get_loader
from connector.protocol.messages import DSPACE_CONTEXT, MessageFormatError


class BodyError(Exception):
    """A body that cannot be read as a DSP message; ``status`` is always a 4xx."""

    def __init__(self, path: str, expected: str, status: int = 400) -> None:
        self.path = path
        self.expected = expected
        self.status = status
        super().__init__(f"{path}: {expected}")


async def read_json(request: Request, limit: int) -> tuple[bytes, Any]:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyError("$", f"a body of at most {limit} bytes; this one declares {declared}", 413)
    raw = bytearray()
    async for chunk in request.stream():
        raw.extend(chunk)
        if len(raw) > limit:
            raise BodyError("$", f"a body of at most {limit} bytes", 413)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyError("$", f"a JSON document ({exc})") from exc
    except RecursionError:  # the parser itself gave up: far deeper than MAX_DEPTH
        raise BodyError("$", f"a JSON document nested at most {MAX_DEPTH} levels deep") from None
    check_depth(body)
    return bytes(raw), body


# DSP messages nest a dozen levels (policy constraints included); a deeper body is an attack on
# the recursive code that reads it (JSON-LD expansion, policy parsing), not a message
MAX_DEPTH = 64


def check_depth(body: Any, limit: int = MAX_DEPTH) -> None:
    """Refuse (``BodyError``) a document nested deeper than ``limit``; iterative, so it cannot
    itself overflow the stack."""
    stack = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            raise BodyError("$", f"a JSON document nested at most {limit} levels deep")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, (dict, list)))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, (dict, list)))


def check_context(body: Any) -> None:
    """DSP 2025-1 wants an ``@context`` array holding its context; we refuse contexts we lack."""
    if not isinstance(body, dict):
        raise MessageFormatError("$", "a JSON object")
    ctx = body.get("@context")
    if ctx is None:
        raise MessageFormatError("@context", f"is required and must be an array containing {DSPACE_CONTEXT!r}")
    entries = ctx if isinstance(ctx, list) else [ctx]  # be liberal: a lone string is one entry
    known = get_loader().iris
    for i, entry in enumerate(entries):
        if isinstance(entry, str) and entry not in known:
            raise MessageFormatError(f"@context[{i}]", f"a context this connector knows; {entry!r} is not one of them")
        if not isinstance(entry, (str, dict)):
            raise MessageFormatError(f"@context[{i}]", "a context IRI string")
    if DSPACE_CONTEXT not in entries:
        raise MessageFormatError("@context", f"must contain {DSPACE_CONTEXT!r}")
