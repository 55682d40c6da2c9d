"""The consumer's side of an EDR: its endpoint properties, when it expires, and the refresh grant.

An EDR is stored as the DSP DataAddress the provider sent (``TransferProcess.data_address``):
``endpoint`` plus ``endpointProperties``. Tractus-X names its auth properties with full IRIs
(``https://w3id.org/tractusx/auth/refreshToken``); other connectors and clients write
``tx-auth:refreshToken`` or the bare word, so ``prop`` finds a property under any of them.

``TokenRefresher`` is the Tractus-X refresh-token grant, over a sync httpx client (the cache's
callers run in worker threads, built by ``transport.sync_client``): ``RefreshRefused`` for a 4xx (the provider said no: asking again
will not help), ``RefreshUnavailable`` for everything worth another try.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable

import httpx
import jwt

from connector.jsonld.terms import DSP_MQTT_NS, EDC_NS, TX_AUTH_NS
from connector.services.ssrf import OutgoingGuard, SsrfRefused
from connector.services.transport import sync_client
from connector.store.models import TransferProcess

REFRESH_TOKEN, REFRESH_ENDPOINT = TX_AUTH_NS + "refreshToken", TX_AUTH_NS + "refreshEndpoint"
EXPIRES_IN = TX_AUTH_NS + "expiresIn"
META = "pontis:edr"  # in private_properties: {token fingerprint, expiresAt} after one of our refreshes


class RefreshRefused(Exception):
    """The provider refused the refresh (a 4xx): asking again will not help."""


class RefreshUnavailable(Exception):
    """The refresh endpoint failed or could not be reached: worth another try later."""


# --- the DataAddress's endpoint properties ------------------------------------------------------


TX_AUTH_TERMS = ("refreshToken", "refreshEndpoint", "refreshAudience", "expiresIn", "audience")


# the EDC terms of an EDR (Factory-X ADR 002, Tractus-X EDC: names are EDC IRIs; older peers sent them bare)
EDC_ADDRESS_TERMS = ("endpoint", "authorization", "authType", "endpointType")


def _mqtt(local: str) -> set[str]:
    """An MQTT stream's EDR (Factory-X ADR 012) names the same token properties under ``dsp-mqtt:``."""
    return {DSP_MQTT_NS + local, "dsp-mqtt:" + local} if local in MQTT_TOKEN_TERMS else set()


MQTT_TOKEN_TERMS = ("authorization", "refreshToken", "refreshEndpoint", "refreshAudience", "expiresIn")


def _aliases(name: str) -> set[str]:
    """The names a property goes by: full IRI, CURIE (``tx-auth:``, ``edc:``, ``dsp-mqtt:``), or bare."""
    local = name.removeprefix(DSP_MQTT_NS).removeprefix("dsp-mqtt:")
    if local != name and local in MQTT_TOKEN_TERMS:
        name = local
    local = name.removeprefix(TX_AUTH_NS).removeprefix("tx-auth:")
    if local in TX_AUTH_TERMS:
        return {TX_AUTH_NS + local, "tx-auth:" + local, local} | _mqtt(local)
    local = name.removeprefix(EDC_NS).removeprefix("edc:")
    if local in EDC_ADDRESS_TERMS:
        return {EDC_NS + local, "edc:" + local, local} | _mqtt(local)
    return {name}


def prop(address: dict | None, *names: str) -> str | None:
    """An endpoint property by any of its names (full Tractus-X or EDC IRI, CURIE, or bare)."""
    wanted = set().union(*(_aliases(n) for n in names))
    for item in (address or {}).get("endpointProperties") or []:
        if isinstance(item, dict) and item.get("name") in wanted and isinstance(item.get("value"), str):
            return item["value"]
    return None


def with_props(address: dict, updates: dict[str, str]) -> dict:
    """A copy of ``address`` with properties replaced (under the name they have) or added."""
    items = [dict(p) for p in address.get("endpointProperties") or []]
    for name, value in updates.items():
        found = [p for p in items if p.get("name") in _aliases(name)]
        for p in found:
            p["value"] = value
        if not found:
            items.append({"@type": "EndpointProperty", "name": name, "value": value})
    return {**address, "endpointProperties": items}


def fingerprint(token: str | None) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()[:32]


def _token_exp(token: str | None) -> tuple[float | None, str | None]:
    """The access token's ``exp`` (seconds), and why it is unusable if it is: not a finite
    NumericDate (a string, NaN, 1e400) must never reach arithmetic. An opaque token has none."""
    try:
        claims = jwt.decode((token or "").removeprefix("Bearer ").strip(), options={"verify_signature": False})
    except jwt.PyJWTError:
        return None, None
    if not isinstance(claims, dict) or "exp" not in claims:
        return None, None
    exp = claims["exp"]
    if isinstance(exp, bool) or not isinstance(exp, (int, float)) or not math.isfinite(exp) or not 0 <= exp < 1e11:
        return None, (f"the EDR's access token has exp {exp!r}: expected a NumericDate, the number of "
                      "seconds since 1970 (RFC 7519)")
    return float(exp), None


HTTP_ENDPOINT_TYPE = "https://w3id.org/idsa/v4.1/HTTP"


def edr_problem(address: dict | None) -> str | None:
    """Why an EDR a provider sent cannot be used, or None. An HTTP EDR without its access token
    (Factory-X ADR 002: ``authorization`` is REQUIRED) leaves us no request to make."""
    token = prop(address, "authorization")
    if token is None and (address or {}).get("endpointType") == HTTP_ENDPOINT_TYPE:
        return (f"the dataAddress has no {EDC_NS}authorization endpointProperty: no request to "
                f"{(address or {}).get('endpoint') or 'the endpoint'} can be authorized (Factory-X ADR 002)")
    return _token_exp(token)[1]


def expires_at(row: TransferProcess) -> int | None:
    """When the EDR's access token expires (epoch ms), or None when it does not say."""
    token = prop(row.data_address, "authorization")
    meta = (row.private_properties or {}).get(META) or {}
    if meta.get("token") == fingerprint(token) and isinstance(meta.get("expiresAt"), int):
        return meta["expiresAt"]
    exp, _ = _token_exp(token)
    if exp is not None:
        return int(exp * 1000)
    seconds = prop(row.data_address, "expiresIn", EXPIRES_IN)
    return row.updated_at + int(seconds) * 1000 if seconds and seconds.isdigit() else None


# --- talking to the provider's refresh endpoint ------------------------------------------------


class TokenRefresher:
    """The Tractus-X refresh-token grant: ``POST {endpoint}?grant_type=refresh_token&refresh_token=…``
    with the current access token in ``Authorization`` — or, with ``client_token`` (dcp mode), our
    client JWT: a self-issued token for the provider carrying the access token in its ``token`` claim
    (Tractus-X refresh token grant profile §3.1, Factory-X ADR 002's "STS token"); the answer is
    ``{access_token, refresh_token, expires_in}``."""

    def __init__(self, client: httpx.Client | None = None, timeout: float = 10.0,
                 guard: OutgoingGuard | None = None,
                 client_token: Callable[[str, str], str] | None = None) -> None:
        self._client = client
        self.timeout = timeout
        self.guard = guard or OutgoingGuard()
        self.client_token = client_token  # (the provider's DID, the access token) -> our self-issued token

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = sync_client(self.guard, timeout=self.timeout)
        return self._client

    def refresh(self, endpoint: str, refresh_token: str, access_token: str | None, *,
                audience: str | None = None) -> dict:
        if not endpoint.startswith(("http://", "https://")):
            raise RefreshRefused(f"the refresh endpoint {endpoint!r} is not an http(s) URL")
        authorization = access_token or ""
        if self.client_token is not None and audience and access_token:
            try:
                authorization = "Bearer " + self.client_token(audience, access_token.removeprefix("Bearer ").strip())
            except Exception as exc:  # an external STS that fails: worth another try
                raise RefreshUnavailable(f"no client token for the refresh at {endpoint}: "
                                         f"{getattr(exc, 'reason', exc)}") from exc
        try:
            answer = self.client.post(endpoint, params={"grant_type": "refresh_token", "refresh_token": refresh_token},
                                      headers={"Authorization": authorization, "Accept": "application/json"})
        except SsrfRefused as exc:
            raise RefreshRefused(f"the refresh endpoint {endpoint} is refused: {exc.reason}") from exc
        except httpx.HTTPError as exc:
            raise RefreshUnavailable(f"{endpoint}: {type(exc).__name__}: {exc}") from exc
        try:
            body = answer.json()
        except ValueError:
            body = None
        if not answer.is_success:
            detail = body.get("error_description") or body.get("error") if isinstance(body, dict) else None
            text = f"{endpoint} answered HTTP {answer.status_code}: {detail or answer.text[:200]}"
            if 400 <= answer.status_code < 500 and answer.status_code not in (408, 425, 429):
                raise RefreshRefused(text)
            raise RefreshUnavailable(text)
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise RefreshUnavailable(f"{endpoint} answered without an access_token")
        return body
