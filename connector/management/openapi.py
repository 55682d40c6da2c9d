"""The management API's own description: ``/management/openapi.json`` and ``/management/docs``.

Only the management side is described, and only for staff: both need the API key, in
``X-Api-Key`` or, so that a browser can open the page, as the password of HTTP Basic (the browser
asks for it). Only these two read-only pages take Basic: the API itself never accepts a
credential a browser sends by itself, so no other site can make a browser call it.
The public ``/docs`` and ``/openapi.json`` FastAPI would serve are switched off in ``app``.

The routes read their JSON-LD bodies themselves (``deps.read_body``), so FastAPI cannot see
their shape: the request bodies are described here, by path and method, with examples that
work as written, and every operation carries the ``X-Api-Key`` security scheme, so the page's
"Authorize" and "Try it out" drive the API.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response

from connector.config import MANAGEMENT_PATH
from connector.management.errors import ApiError, ManagementRoute
from connector.services.definitions import DATA_ADDRESS_TYPES

SCHEME = "ApiKeyAuth"
EDC_CONTEXT = {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"}
CX_CONTEXT = ["https://w3id.org/catenax/2025/9/policy/context.jsonld",
              "https://w3id.org/dspace/2025/1/odrl-profile.jsonld", EDC_CONTEXT]
DSP = "http://127.0.0.1:8282/api/dsp/2025-1"

_CONTEXT = {"description": "JSON-LD context; EDC's @vocab when absent"}
_ID = {"type": "string", "description": "the object's id"}
_CRITERION = {"type": "object", "required": ["operandLeft", "operator", "operandRight"], "properties": {
    "operandLeft": {"type": "string"}, "operator": {"type": "string", "enum": ["=", "!=", "in", "like", "ilike"]},
    "operandRight": {}}}
_RULE = {"type": "object", "required": ["action"], "properties": {
    "action": {"type": "string", "examples": ["use", "access"]},
    "constraint": {"type": "array", "items": {"type": "object"}}}}
_POLICY = {"type": "object", "properties": {
    "@type": {"type": "string", "enum": ["Set", "Offer", "Agreement"]},
    "permission": {"type": "array", "items": _RULE}, "prohibition": {"type": "array", "items": _RULE},
    "obligation": {"type": "array", "items": _RULE},
    "allowAll": {"type": "boolean", "description": "true on a policy without rules: everyone may, on purpose"}}}

ASSET = {"type": "object", "required": ["dataAddress"], "properties": {
    "@context": _CONTEXT, "@id": _ID, "properties": {"type": "object"}, "privateProperties": {"type": "object"},
    "dataAddress": {"type": "object", "required": ["type"], "properties": {
        "type": {"type": "string", "enum": list(DATA_ADDRESS_TYPES),
                 "description": "PontisRegistry: our Digital Twin Registry, offered once more (e.g. per unit); "
                                "Mqtt: a broker's stream (Factory-X ADR 012)"},
        "baseUrl": {"type": "string", "description": "HttpData: the backend's URL"},
        "document": {"description": "PontisDocument: the JSON document, kept exactly as sent"},
        "path": {"type": "string", "description": "PontisFile: the file under [dataplane] files_dir"},
        "contentType": {"type": "string"}}}},
    "example": {"@context": EDC_CONTEXT, "@id": "pcf-NG-WC-400", "properties": {"name": "PCF of casting NG-WC-400"},
                "dataAddress": {"type": "PontisDocument", "document": {"pcf": {"value": 12.5, "unit": "kg CO2e"}}}}}
POLICY_DEFINITION = {"type": "object", "required": ["policy"], "properties": {
    "@context": _CONTEXT, "@id": _ID, "policy": _POLICY, "privateProperties": {"type": "object"}},
    "example": {"@context": CX_CONTEXT, "@id": "bpn-access", "policy": {"@type": "Set", "permission": [
        {"action": "access", "constraint": [
            {"leftOperand": "BusinessPartnerNumber", "operator": "isAnyOf", "rightOperand": ["BPNL000000000002"]}]}]}}}
CONTRACT_DEFINITION = {"type": "object", "required": ["accessPolicyId", "contractPolicyId"], "properties": {
    "@context": _CONTEXT, "@id": _ID, "accessPolicyId": {"type": "string"}, "contractPolicyId": {"type": "string"},
    "assetsSelector": {"type": "array", "items": _CRITERION}},
    "example": {"@context": EDC_CONTEXT, "@id": "pcf-offer", "accessPolicyId": "bpn-access",
                "contractPolicyId": "bpn-access", "assetsSelector": [
                    {"operandLeft": "https://w3id.org/edc/v0.0.1/ns/id", "operator": "=",
                     "operandRight": "pcf-NG-WC-400"}]}}
QUERY_SPEC = {"type": "object", "properties": {
    "@context": _CONTEXT, "offset": {"type": "integer"}, "limit": {"type": "integer"},
    "sortField": {"type": "string"}, "sortOrder": {"type": "string", "enum": ["ASC", "DESC"]},
    "filterExpression": {"type": "array", "items": _CRITERION}},
    "example": {"@context": EDC_CONTEXT, "offset": 0, "limit": 50}}
CATALOG_REQUEST = {"type": "object", "required": ["counterPartyAddress"], "properties": {
    "@context": _CONTEXT, "counterPartyAddress": {"type": "string", "description": "the peer's DSP URL"},
    "counterPartyId": {"type": "string"}, "protocol": {"type": "string"}, "querySpec": QUERY_SPEC},
    "example": {"@context": EDC_CONTEXT, "counterPartyAddress": DSP, "counterPartyId": "did:web:localhost%3A8282",
                "protocol": "dataspace-protocol-http:2025-1"}}
DATASET_REQUEST = {"type": "object", "required": ["@id", "counterPartyAddress"], "properties": {
    "@context": _CONTEXT, "@id": {"type": "string", "description": "the dataset id"},
    "counterPartyAddress": {"type": "string"}, "counterPartyId": {"type": "string"}, "protocol": {"type": "string"}}}
CONTRACT_REQUEST = {"type": "object", "required": ["counterPartyAddress", "policy"], "properties": {
    "@context": _CONTEXT, "counterPartyAddress": {"type": "string"}, "counterPartyId": {"type": "string"},
    "protocol": {"type": "string"},
    "policy": {**_POLICY, "description": "the offer from the peer's catalog, with assigner and target"}}}
TRANSFER_REQUEST = {"type": "object", "required": ["contractId", "transferType"], "properties": {
    "@context": _CONTEXT, "contractId": {"type": "string", "description": "the agreement id"},
    "counterPartyAddress": {"type": "string"}, "protocol": {"type": "string"},
    "transferType": {"type": "string", "examples": ["HttpData-PULL", "HttpData-PUSH", "Mqtt-PULL"]},
    "dataDestination": {"type": "object", "description": "push only: where the provider sends the data"}}}
EXPLAIN = {"type": "object", "required": ["participantId"], "properties": {
    "participantId": {"type": "string"},
    "scope": {"type": "string", "enum": ["catalog", "contract.negotiation", "transfer.process"]},
    "claims": {"type": "object", "description": "a hypothetical requester's claims", "properties": {
        "bpn": {"type": "string", "examples": ["BPNL000000000002"]},
        "membership": {"type": ["boolean", "string"], "examples": [True, "active"]},
        "frameworkAgreements": {"type": "object", "additionalProperties": {"type": "string"},
                                "examples": [{"DataExchangeGovernance": "1.0"}]},
        "credentials": {"type": "array", "items": {"type": "string"}}}}},
    "example": {"participantId": "did:web:localhost%3A8282", "scope": "catalog"}}
GROUPS = {"type": "object", "required": ["@id", "tx:groups"], "properties": {
    "@id": {"type": "string", "description": "the BPN"}, "tx:groups": {"type": "array", "items": {"type": "string"}}},
    "example": {"@id": "BPNL000000000002", "tx:groups": ["gold"]}}
TERMINATE = {"type": "object", "properties": {"@context": _CONTEXT, "reason": {"type": "string"}}}
ACCEPTED = {"type": "object", "required": ["policy"], "properties": {"@context": _CONTEXT, "@id": _ID,
                                                                    "policy": _POLICY}}
EVALUATION_PLAN = {"type": "object", "properties": {
    "@context": _CONTEXT, "policyScope": {"type": "string", "enum": ["catalog", "contract.negotiation",
                                                                      "transfer.process"]}},
    "example": {"@context": EDC_CONTEXT, "policyScope": "catalog"}}
PCF_REQUEST = {"type": "object", "required": ["supplier", "productId"], "additionalProperties": False, "properties": {
    "supplier": {"type": "string", "minLength": 1, "description": "the supplier's BPNL or participant id (DID)"},
    "productId": {"type": "string", "minLength": 1, "description": "the product's manufacturerPartId"},
    "mode": {"type": "string", "enum": ["auto", "pull", "async"]},
    "timeoutSeconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 600}},
    "example": {"supplier": "BPNL000000000002", "productId": "NG-WC-400", "mode": "auto"}}
_QUANTITY = {"type": ["number", "string"], "description": "a decimal"}
BOM = {"type": "object", "required": ["productId", "declaredUnit", "ownEmissions", "components"],
       "additionalProperties": False, "properties": {
           "productId": {"type": "string"}, "productName": {"type": "string"}, "declaredUnit": {"type": "string"},
           "ownEmissions": {"type": "object", "required": ["pcfExcludingBiogenicUptake"], "additionalProperties": False,
                            "properties": {"pcfExcludingBiogenicUptake": _QUANTITY}},
           "components": {"type": "array", "items": {
               "type": "object", "required": ["productId", "supplierBpn", "quantity", "unit"],
               "additionalProperties": False, "properties": {
                   "productId": {"type": "string"}, "supplierBpn": {"type": "string"}, "quantity": _QUANTITY,
                   "unit": {"type": "string"}}}}}}
ANY = {"type": "object", "description": "a JSON-LD body (see the EDC Management API v3)"}

M = MANAGEMENT_PATH + "/v3"
BODIES: dict[tuple[str, str], dict] = {
    ("post", f"{M}/assets"): ASSET, ("put", f"{M}/assets"): ASSET,
    ("post", f"{M}/policydefinitions"): POLICY_DEFINITION, ("put", f"{M}/policydefinitions"): POLICY_DEFINITION,
    ("put", f"{M}/policydefinitions/{{policy_id}}"): POLICY_DEFINITION,
    ("post", f"{M}/contractdefinitions"): CONTRACT_DEFINITION,
    ("put", f"{M}/contractdefinitions"): CONTRACT_DEFINITION,
    ("post", f"{M}/catalog/request"): CATALOG_REQUEST, ("post", f"{M}/catalog/dataset/request"): DATASET_REQUEST,
    ("post", f"{M}/contractnegotiations"): CONTRACT_REQUEST, ("post", f"{M}/edrs"): CONTRACT_REQUEST,
    ("post", f"{M}/transferprocesses"): TRANSFER_REQUEST,
    ("post", f"{M}/policydefinitions/{{policy_id}}/explain"): EXPLAIN, ("post", f"{M}/catalog/explain"): EXPLAIN,
    ("post", f"{M}/business-partner-groups"): GROUPS, ("put", f"{M}/business-partner-groups"): GROUPS,
    ("post", f"{M}/acceptedpolicies"): ACCEPTED,
    ("post", f"{M}/contractnegotiations/{{negotiation_id}}/terminate"): TERMINATE,
    ("post", f"{M}/transferprocesses/{{transfer_id}}/terminate"): TERMINATE,
    ("post", f"{M}/transferprocesses/{{transfer_id}}/suspend"): TERMINATE,
    ("post", f"{M}/policydefinitions/{{policy_id}}/evaluationplan"): EVALUATION_PLAN,
    ("post", f"{M}/pcf/requests"): PCF_REQUEST, ("post", f"{M}/pcf/rollups"): BOM,
}


def _reads_body(route: Any) -> bool:
    from connector.management.deps import read_body

    dependant = getattr(route, "dependant", None)
    stack = list(dependant.dependencies if dependant is not None else [])
    while stack:
        dep = stack.pop()
        if dep.call is read_body:
            return True
        stack.extend(dep.dependencies)
    return False


def management_openapi(app: FastAPI) -> dict:
    """The OpenAPI document of the management routes, built once per app."""
    cached = getattr(app.state, "management_openapi", None)
    if cached is not None:
        return cached
    from fastapi import routing

    prefix = MANAGEMENT_PATH + "/v3"
    # (full path, methods, the route as declared) of every management route, through included routers
    routes = [(ctx.path_format, ctx.methods or set(), ctx.original_route)
              for ctx in routing.iter_route_contexts(app.routes)
              if str(getattr(ctx, "path_format", "")).startswith(prefix)]
    spec = get_openapi(title="Pontis management API", version=app.version, routes=app.routes,
                       description="The EDC Management API v3 subset, plus peers and explanations. "
                                   "Every call needs the X-Api-Key header: press Authorize and give the "
                                   "connector's api_key.")
    spec["paths"] = {path: item for path, item in spec.get("paths", {}).items() if path.startswith(prefix)}
    spec.setdefault("components", {})["securitySchemes"] = {
        SCHEME: {"type": "apiKey", "in": "header", "name": "X-Api-Key",
                 "description": "the connector's api_key (from its config)"}}
    spec["security"] = [{SCHEME: []}]
    for path, methods, route in routes:
        path = str(path)
        for method in sorted(methods):
            operation = spec["paths"].get(path, {}).get(method.lower())
            if operation is None:
                continue
            operation["security"] = [{SCHEME: []}]
            if "requestBody" not in operation and _reads_body(route):
                schema = dict(BODIES.get((method.lower(), path), QUERY_SPEC if path.endswith("/request") else ANY))
                example = schema.pop("example", None)
                content: dict[str, Any] = {"schema": schema}
                if example is not None:
                    content["example"] = example
                operation["requestBody"] = {"required": not path.endswith("/request"),
                                            "content": {"application/json": content}}
    app.state.management_openapi = spec
    return spec


def _staff_only(request: Request) -> Response | None:
    """None when the caller gave the API key: in X-Api-Key, or (a browser opening the page) as the
    password of HTTP Basic, which only these two read-only pages accept; else the 401 to answer,
    asking a browser for the key."""
    import base64
    import hmac

    from connector.management.deps import check_api_key

    authorization = request.headers.get("authorization", "")
    if request.headers.get("x-api-key") is None and authorization.lower().startswith("basic "):
        try:
            _, _, given = base64.b64decode(authorization[6:].strip(), validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            given = ""
        expected = request.app.state.services.settings.api_key
        if given and hmac.compare_digest(given.encode(), expected.encode()):
            return None
    try:
        check_api_key(request)
    except ApiError as refused:
        if request.headers.get("x-api-key") is not None:
            return refused.response()
        response = refused.response()
        response.headers["WWW-Authenticate"] = 'Basic realm="Pontis management API (password: the api_key)"'
        return response
    return None


router = APIRouter(prefix=MANAGEMENT_PATH, include_in_schema=False, route_class=ManagementRoute)


@router.get("/openapi.json")
async def openapi_document(request: Request) -> Response:
    refused = _staff_only(request)
    return refused or JSONResponse(management_openapi(request.app))


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Pontis management API</title>
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({spec: %s, dom_id: "#swagger-ui", deepLinking: true});</script>
</body></html>"""


@router.get("/docs")
async def docs_page(request: Request) -> Response:
    """Swagger UI with the document inlined (the page's own fetch could not send the key)."""
    refused = _staff_only(request)
    if refused is not None:
        return refused
    spec = json.dumps(management_openapi(request.app)).replace("</", "<\\/")
    return HTMLResponse(PAGE % spec, headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"})

