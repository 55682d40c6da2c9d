"""JSON-LD at the edge: our own contexts, a loader that never fetches, expand/compact helpers,
and the compiled walk (term tables per context set) that signing uses (compiled.py)."""

from .errors import JsonLdError, UnknownContextError
from .loader import ContextLoader, get_loader, load_document
from .processing import clear_cache, compact, expand

__all__ = [
    "ContextLoader",
    "JsonLdError",
    "UnknownContextError",
    "clear_cache",
    "compact",
    "expand",
    "get_loader",
    "load_document",
]
