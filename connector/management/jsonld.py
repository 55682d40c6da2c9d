"""JSON-LD in and out of the management API.

In: every body is expanded with ``connector.jsonld.expand`` (bundled contexts only; an unknown
context IRI is a 400 naming it). Like EDC, which registers its namespaces with the expander, we
put a default context *in front of* the client's own: ``@vocab`` edc plus the edc/odrl/dct/dcat/dspace
prefixes. So the bodies clients really send work (tractusx-sdk's asset body has prefixes but no
``@vocab``) and the client's own definitions still win. The expanded node is then read with the
small helpers below, which always say which field was wrong and what was expected.

Out: hand-written rendering, not pyld (responses are the hot path): keys in the EDC namespace
become bare words, known namespaces become ``prefix:local``, and the ``@context`` below says so.
"""

from __future__ import annotations

from typing import Any, Literal, overload

from connector.jsonld import expand
from connector.jsonld.terms import DCAT, DCT, DSPACE_NS, EDC_NS, ODRL_NS
from connector.management.errors import bad_request
from connector.policy.vocabulary import CX_POLICY_NS
from connector.services.queries import QuerySpec, parse_query_spec

PREFIXES = {"edc": EDC_NS, "odrl": ODRL_NS, "dct": DCT, "dcat": DCAT, "dspace": DSPACE_NS, "cx-policy": CX_POLICY_NS}
OUT_CONTEXT: dict = {"@vocab": EDC_NS, **PREFIXES}
# what EDC's expander adds to every incoming document; the client's contexts come after it
DEFAULT_CONTEXT: dict = {"@vocab": EDC_NS, "edc": EDC_NS, "odrl": ODRL_NS, "dct": DCT, "dcat": DCAT,
                         "dspace": DSPACE_NS}

_TYPE_NAMESPACES = (EDC_NS, ODRL_NS)


# --- in ------------------------------------------------------------------------------------------


def expand_body(body: Any, *types: str, required: bool = True) -> dict:
    """Expand a management request body to one node object, checking its ``@type``.

    ``types`` are the local names EDC accepts; a missing ``@type`` is accepted, a different one
    is refused. ``required=False`` turns a missing body into an empty node.
    """
    if body is None:
        if required:
            raise bad_request("body", "a JSON object is required")
        return {}
    if not isinstance(body, dict):
        raise bad_request("body", f"expected a JSON object, got {type(body).__name__}")
    ctx = body.get("@context")
    entries = [] if ctx is None else ctx if isinstance(ctx, list) else [ctx]
    for i, item in enumerate(entries):
        if not isinstance(item, (str, dict)):
            raise bad_request(f"@context[{i}]", "a context IRI or an inline context object", item)
    # expansion raises UnknownContextError / JsonLdError, which the route class turns into 400s
    expanded = expand({**body, "@context": [DEFAULT_CONTEXT, *entries]})
    if len(expanded) > 1:
        raise bad_request("body", "a single JSON-LD node object, not a graph of several")
    node = expanded[0] if expanded else {}
    if types:
        check_type(node, "@type", types)
    return node


def type_name(iri: str) -> str:
    for ns in _TYPE_NAMESPACES:
        if iri.startswith(ns):
            return iri[len(ns):]
    return iri


def check_type(node: dict, path: str, allowed: tuple[str, ...]) -> None:
    found = node.get("@type")
    if not found:
        return
    names = [type_name(t) for t in found]
    if not any(n in allowed for n in names):
        shown = names[0] if len(names) == 1 else names
        raise bad_request(path, f"expected {' or '.join(repr(a) for a in allowed)} (or none), got {shown!r}", shown)


def node_id(node: dict, path: str = "@id", *, required: bool = False) -> str | None:
    value = node.get("@id")
    if value is None and required:
        raise bad_request(path, "is required")
    if value is not None and (not isinstance(value, str) or not value):
        raise bad_request(path, "expected a non-empty string", value)
    return value


def values(node: dict, name: str) -> list:
    """The expanded values of EDC property ``name`` (a bare word) or of a full IRI."""
    found = node.get(name if ":" in name else EDC_NS + name, [])
    return found if isinstance(found, list) else [found]


def string(node: dict, name: str, path: str | None = None, *, required: bool = False) -> str | None:
    """One string value; an ``{"@id": ...}`` counts too (``@type: @id`` terms give those)."""
    path = path or name
    found = values(node, name)
    if not found:
        if required:
            raise bad_request(path, "is required and must be a string")
        return None
    if len(found) > 1:
        raise bad_request(path, "expected one string, got several", [simplify(v) for v in found])
    item = found[0]
    value = item.get("@value", item.get("@id")) if isinstance(item, dict) else None
    if not isinstance(value, str) or (required and not value):
        raise bad_request(path, "expected a non-empty string" if required else "expected a string", simplify(item))
    return value


@overload
def child(node: dict[str, Any], name: str, path: str | None = None, *, required: Literal[True]) -> dict[str, Any]: ...


@overload
def child(node: dict[str, Any], name: str, path: str | None = None, *,
          required: bool = False) -> dict[str, Any] | None: ...


def child(node: dict[str, Any], name: str, path: str | None = None, *, required: bool = False) -> dict[str, Any] | None:
    """The one node object under ``name`` (an empty object when given as ``{}``)."""
    path = path or name
    found = values(node, name)
    if not found:
        if required:
            raise bad_request(path, "is required and must be a JSON object")
        return None
    if len(found) > 1 or not isinstance(found[0], dict) or "@value" in found[0] or "@list" in found[0]:
        raise bad_request(path, "expected a JSON object", simplify(found))
    return found[0]


def simplify(value: Any) -> Any:
    """Expanded JSON-LD → plain JSON: one-item lists unwrap, plain literals become scalars.

    Keys stay full IRIs; ``{"@id"}`` and typed or tagged literals keep their object form, so
    the meaning survives and a criterion (``criteria._scalar``) still reads the value.
    """
    if isinstance(value, list):
        items = [simplify(v) for v in value]
        return items[0] if len(items) == 1 else items
    if not isinstance(value, dict):
        return value
    if "@value" in value:
        return value["@value"] if set(value) == {"@value"} else dict(value)
    if "@list" in value:
        return [simplify(v) for v in value["@list"]]
    return {k: (v if k in ("@id", "@type") else simplify(v)) for k, v in value.items()}


def properties(node: dict, name: str, path: str | None = None) -> dict:
    """A property map (asset properties, privateProperties): full IRI → simplified value."""
    found = child(node, name, path)
    if found is None:
        return {}
    return {k: simplify(v) for k, v in found.items() if not k.startswith("@")}


def localize(value: Any) -> Any:
    """Simplified value with EDC-namespace keys shortened to bare words (for plain dicts such as
    QuerySpecs, criteria and data addresses, which the services read by local name)."""
    if isinstance(value, list):
        return [localize(v) for v in value]
    if isinstance(value, dict):
        return {(k[len(EDC_NS):] if k.startswith(EDC_NS) else k): localize(v) for k, v in value.items()}
    return value


def plain(node: dict, name: str) -> Any:
    """The simplified, localized value of property ``name`` (None when absent)."""
    found = values(node, name)
    return localize(simplify(found)) if found else None


# --- out -----------------------------------------------------------------------------------------


def compact_key(iri: str) -> str:
    if iri.startswith(EDC_NS):
        return iri[len(EDC_NS):]
    for prefix, ns in PREFIXES.items():
        if prefix != "edc" and iri.startswith(ns) and len(iri) > len(ns):
            return f"{prefix}:{iri[len(ns):]}"
    return iri


def render_value(value: Any) -> Any:
    """A stored (simplified) value with its keys compacted; ``@id`` values are left as IRIs."""
    if isinstance(value, list):
        return [render_value(v) for v in value]
    if isinstance(value, dict):
        return {(k if k.startswith("@") else compact_key(k)): (v if k.startswith("@") else render_value(v))
                for k, v in value.items()}
    return value


def render_properties(props: dict | None) -> dict:
    return {compact_key(k): render_value(v) for k, v in (props or {}).items()}


def with_context(doc: dict) -> dict:
    return {"@context": OUT_CONTEXT, **doc}


def id_response(object_id: str, created_at: int) -> dict:
    return with_context({"@type": "IdResponse", "@id": object_id, "createdAt": created_at})


def read_query_spec(body: Any) -> QuerySpec:
    """The QuerySpec of a ``POST .../request`` body; no body means the defaults (EDC's)."""
    node = expand_body(body, "QuerySpec", required=False)
    return query_spec_of(node)


def query_spec_of(node: dict | None, path: str = "") -> QuerySpec:
    raw = localize(simplify({k: v for k, v in (node or {}).items() if not k.startswith("@")}))
    if isinstance(raw.get("filterExpression"), dict):
        raw["filterExpression"] = [raw["filterExpression"]]  # one criterion unwraps like any one-item list
    return parse_query_spec(raw, path)
