"""MQTT streams offered through DSP (Factory-X ADR 012): the ``Mqtt`` data address and the
``Mqtt-PULL`` EDR the provider sends in its TransferStartMessage.

An asset's data address (flat keys, as ``management.assets`` stores them)::

    type                          Mqtt
    mqttEndpointType              mqtt-wss | mqtt-tls | mqtt-tcp-basic
    baseUrl                       wss://… | mqtts://… | mqtt://… (optional: our own broker's public
                                  URL for that endpoint type, from [mqtt])
    dsp-mqtt:topic                the topic filter the consumer is granted (optional: without it the
                                  broker decides, which for ours is every topic)
    mqttAuthType                  mqtt-jwt (default) | mqtt-usrpw: our own broker only
    oauth2:tokenUrl, oauth2:clientId, oauth2:clientSecretKeyAlias (oauth2:scope)
                                  an external broker's IdP: the provider fetches a token (client
                                  credentials, the secret read by alias from services.secrets) and
                                  hands it over as the EDR's authorization (ADR 012 ``mqtt-jwt-oauth2``)

The EDR (a DSP DataAddress, ``endpointType`` ``Mqtt``, ``endpoint`` the broker URL) names its
properties by IRI, as our HttpData EDR does (``…/mqtt-pull/`` is ADR 012's namespace; the
management API compacts it to ``dsp-mqtt:``)::

    https://w3id.org/edc/v0.0.1/ns/flowType               PULL
    https://w3id.org/edc/v0.0.1/ns/mqttEndpointType       mqtt-wss
    https://w3id.org/dspace/2025/1/mqtt-pull/baseUrl      wss://broker.example/mqtt
    …/mqtt-pull/authorization    a JWT for the broker (our EDR key; aud = ``<participant>#mqtt``)
    …/mqtt-pull/refreshToken, refreshEndpoint, expiresIn, refreshAudience
    …/mqtt-pull/topic            when the asset names one
    …/mqtt-pull/user, password   mqtt-usrpw instead of a JWT (per transfer, stored hashed)

Our own broker asks ``connector.mqtt.tokens`` at CONNECT, which checks these against the store.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlmodel import Session

from connector.config.mqtt import MqttSettings
from connector.jsonld.terms import DSP_MQTT_NS, EDC_NS
from connector.protocol.transfer_messages import DataAddress
from connector.services.edr_tokens import EdrError, EdrIssuer, refresh_hash
from connector.services.errors import InvalidRequest
from connector.services.secrets import SecretError, read_secret
from connector.services.ssrf import OutgoingGuard, SsrfRefused
from connector.services.transfer import MQTT_PULL
from connector.services.transport import sync_client
from connector.store.models import Asset, EdrGrant, TransferProcess

__all__ = ["MQTT_PULL", "BrokerEndpoints", "BrokerUnavailable", "MqttStreams", "check_mqtt_address"]

MQTT = "Mqtt"
ENDPOINT_TYPES = ("mqtt-wss", "mqtt-tls", "mqtt-tcp-basic")
AUTH_TYPES = ("mqtt-jwt", "mqtt-usrpw")
# the schemes each endpoint type may use; plain TCP only when [mqtt] allows it
SCHEMES = {"mqtt-wss": ("wss",), "mqtt-tls": ("mqtts", "ssl", "tls"), "mqtt-tcp-basic": ("mqtt", "tcp")}
MQTT_AAS_TYPE = "https://w3id.org/factoryx/types/mqtt-aas"
DCT_TYPE = "http://purl.org/dc/terms/type"

TOPIC, USER, PASSWORD = DSP_MQTT_NS + "topic", DSP_MQTT_NS + "user", DSP_MQTT_NS + "password"
AUTHORIZATION, BASE_URL = DSP_MQTT_NS + "authorization", DSP_MQTT_NS + "baseUrl"
REFRESH_TOKEN, REFRESH_ENDPOINT = DSP_MQTT_NS + "refreshToken", DSP_MQTT_NS + "refreshEndpoint"
EXPIRES_IN, REFRESH_AUDIENCE = DSP_MQTT_NS + "expiresIn", DSP_MQTT_NS + "refreshAudience"
# Factory-X EDC's own constant for the user name (its code says username, ADR 012 says user)
USERNAME = DSP_MQTT_NS + "username"
OAUTH2_KEYS = ("oauth2:tokenUrl", "oauth2:clientId", "oauth2:clientSecretKeyAlias")
USER_GRANT = "mqtt-user:"  # EdrGrant ids of per-transfer broker users
NEVER = 2**62  # a broker user lives as long as its transfer: the agreement and the transfer decide


class BrokerUnavailable(InvalidRequest):
    """An external broker's IdP gave no token: the transfer request is refused with the reason
    (a 400, so the consumer's transfer ends saying why rather than retrying in silence)."""


class BrokerEndpoints:
    """Our own broker's URLs by endpoint type, as [mqtt] tells peers (``endpoints``: the broker's
    own reading of ``public_wss_url``, ``public_mqtts_url``, else host and port), and whether plain
    TCP (mqtt-tcp-basic) may be offered: only when [mqtt] runs a plain TCP listener (``tcp_port``).
    ``ports`` are the ports the listeners bound, once started (``bound``): port 0 lets the system choose."""

    def __init__(self, settings: MqttSettings,
                 endpoints: Callable[[MqttSettings, dict[str, int]], Mapping[str, str]]) -> None:
        self.settings = settings
        self.endpoints = endpoints
        self.ports: dict[str, int] = {}

    @property
    def allow_plain_tcp(self) -> bool:
        return self.settings.tcp_port is not None

    def bound(self, ports: dict[str, int]) -> None:
        """The listeners' ports (``MqttServer.ports``: keys ``wss``, ``mqtts``, ``mqtt``)."""
        self.ports = ports

    def url(self, endpoint_type: str) -> str | None:
        if not self.settings.enabled:
            return None
        url = self.endpoints(self.settings, self.ports).get(endpoint_type)
        return url if url and not url.endswith((":0", ":0" + self.settings.wss_path)) else None  # not yet bound


def field(address: Mapping[str, Any], name: str) -> Any:
    """An ``dsp-mqtt:`` key of a stored address, however the client named it (CURIE or IRI)."""
    return address.get("dsp-mqtt:" + name, address.get(DSP_MQTT_NS + name))


def is_mqtt(address: Mapping[str, Any] | None) -> bool:
    return bool(address) and (address or {}).get("type") == MQTT


def uses_oauth2(address: Mapping[str, Any]) -> bool:
    return any(address.get(k) for k in OAUTH2_KEYS)


def check_mqtt_address(address: Mapping[str, Any], broker: BrokerEndpoints | None) -> None:
    """Refuse, naming the field, an Mqtt data address no consumer could use."""
    def bad(key: str, what: str) -> InvalidRequest:
        return InvalidRequest("Asset.dataAddress", f"dataAddress.{key}: {what}", path=f"dataAddress.{key}")

    kind = address.get("mqttEndpointType")
    if kind not in ENDPOINT_TYPES:
        import difflib

        near = difflib.get_close_matches(str(kind), ENDPOINT_TYPES, n=1, cutoff=0.5)
        raise bad("mqttEndpointType", f"expected one of {', '.join(ENDPOINT_TYPES)}, got {kind!r}"
                  + (f" (did you mean {near[0]!r}?)" if near else ""))
    auth = address.get("mqttAuthType") or "mqtt-jwt"
    if auth not in AUTH_TYPES:
        raise bad("mqttAuthType", f"expected one of {', '.join(AUTH_TYPES)}, got {auth!r}")
    base = address.get("baseUrl")
    if base in (None, ""):
        base = broker.url(kind) if broker is not None else None
        if not base:
            raise bad("baseUrl", f"is required for a {kind} stream (the broker's URL): this connector's own "
                      f"broker has no public URL for {kind} in [mqtt]")
    if not isinstance(base, str):
        raise bad("baseUrl", f"expected the broker's URL as a string, got {base!r}")
    parts = urlsplit(base)
    scheme = parts.scheme.lower()
    if not parts.hostname:
        raise bad("baseUrl", f"expected an absolute URL with a host, got {base!r}")
    if scheme in SCHEMES["mqtt-tcp-basic"]:
        if kind != "mqtt-tcp-basic":
            raise bad("baseUrl", f"{base!r} is unencrypted MQTT: ADR 012 refuses it for {kind} "
                      f"(use {SCHEMES[kind][0]}://)")
        if broker is None or not broker.allow_plain_tcp:
            raise bad("baseUrl", f"{base!r} is unencrypted MQTT (mqtt-tcp-basic), which this connector does "
                      "not offer unless [mqtt] allows plain TCP")
    elif scheme not in SCHEMES[kind]:
        raise bad("baseUrl", f"a {kind} broker URL starts with {' or '.join(s + '://' for s in SCHEMES[kind])}, "
                  f"got {base!r}")
    if uses_oauth2(address):
        for key in OAUTH2_KEYS:
            if not address.get(key):
                raise bad(key, "is required with the other oauth2: keys (the external broker's IdP)")
        if not str(address["oauth2:tokenUrl"]).startswith(("https://", "http://")):
            raise bad("oauth2:tokenUrl", f"expected an http(s) URL, got {address['oauth2:tokenUrl']!r}")
        if auth == "mqtt-usrpw":
            raise bad("mqttAuthType", "mqtt-usrpw provisions users in our own broker; an asset with an "
                      "external IdP (oauth2:…) gets that IdP's tokens")
    topic = field(address, "topic")
    if topic is not None and (not isinstance(topic, str) or not topic or "\0" in topic):
        raise bad("dsp-mqtt:topic", f"expected an MQTT topic filter, got {topic!r}")


class MqttStreams:
    """Issues the ``Mqtt-PULL`` EDR of a started transfer."""

    def __init__(self, issuer: EdrIssuer, broker: BrokerEndpoints, *, guard: OutgoingGuard | None = None) -> None:
        self.issuer = issuer
        self.broker = broker
        self.guard = guard
        self._http: httpx.Client | None = None

    def _client(self) -> httpx.Client:
        """The SSRF-guarded sync client that asks an external broker's IdP (made on first use)."""
        if self._http is None:
            self._http = sync_client(self.guard or OutgoingGuard())
        return self._http

    def base_url(self, address: Mapping[str, Any]) -> str:
        base = address.get("baseUrl")
        if not base:
            base = self.broker.url(str(address.get("mqttEndpointType")))
        if not base:
            raise InvalidRequest("transfer.asset", "the asset's MQTT broker has no URL: set its baseUrl, or the "
                                 "broker's public URL in [mqtt]", path="dataAddress.baseUrl")
        return str(base)

    def address(self, session: Session, transfer: TransferProcess, now_ms: int) -> DataAddress:
        asset = session.get(Asset, transfer.asset_id)
        source = dict(asset.data_address or {}) if asset is not None else {}
        if not is_mqtt(source):
            raise InvalidRequest("format.unsupported", f"asset {transfer.asset_id} is not an MQTT stream",
                                 path="format")
        kind, base, topic = str(source["mqttEndpointType"]), self.base_url(source), field(source, "topic")
        props: list[tuple[str, str]] = [(EDC_NS + "flowType", "PULL"), (EDC_NS + "mqttEndpointType", kind),
                                        (BASE_URL, base)]
        if uses_oauth2(source):
            token, ttl = self.external_token(source)
            pair = self.issuer.grant_external(session, transfer, now_ms, token, ttl)
            props += self._token_props(pair.access_token, pair.refresh_token, ttl)
        elif (source.get("mqttAuthType") or "mqtt-jwt") == "mqtt-usrpw":
            user, password = self.provision_user(session, transfer, now_ms)
            props += [(USER, user), (USERNAME, user), (PASSWORD, password)]
        else:
            claims = {"topic": topic} if isinstance(topic, str) else {}
            pair = self.issuer.grant(session, transfer, now_ms, audience=self.issuer.broker_audience, claims=claims)
            props += self._token_props(pair.access_token, pair.refresh_token, pair.expires_in)
        if isinstance(topic, str):
            props.append((TOPIC, topic))
        return DataAddress(MQTT, base, tuple(props))

    def _token_props(self, access: str, refresh: str, ttl: int) -> list[tuple[str, str]]:
        return [(AUTHORIZATION, access), (REFRESH_TOKEN, refresh), (REFRESH_ENDPOINT, self.issuer.refresh_endpoint),
                (EXPIRES_IN, str(ttl)), (REFRESH_AUDIENCE, self.issuer.participant_id)]

    # --- mqtt-usrpw: a user per transfer in our own broker ----------------------------------------

    def provision_user(self, session: Session, transfer: TransferProcess, now_ms: int) -> tuple[str, str]:
        """A new user name and password for ``transfer``; only the password's hash is stored, and
        ending the transfer revokes it with the transfer's other grants."""
        user = "dsp-" + secrets.token_hex(8)
        password = secrets.token_urlsafe(24)
        session.add(EdrGrant(id=USER_GRANT + user, transfer_id=transfer.id, refresh_hash=refresh_hash(password),
                             status="active", issued_at=now_ms, expires_at=NEVER, refresh_expires_at=NEVER))
        return user, password

    # --- mqtt-jwt-oauth2: an external broker's IdP --------------------------------------------------

    def external_token(self, source: Mapping[str, Any]) -> tuple[str, int]:
        """A client-credentials token from the asset's IdP, and its lifetime in seconds."""
        url = str(source["oauth2:tokenUrl"])
        alias = str(source["oauth2:clientSecretKeyAlias"])
        try:
            secret = read_secret(alias)
        except SecretError as exc:
            raise EdrError(502, f"the MQTT broker's IdP secret: {exc}", code="backend_misconfigured") from exc
        form = {"grant_type": "client_credentials", "client_id": str(source["oauth2:clientId"]),
                "client_secret": secret}
        if source.get("oauth2:scope"):
            form["scope"] = str(source["oauth2:scope"])
        try:
            answer = self._client().post(url, data=form, headers={"accept": "application/json"})
        except SsrfRefused as exc:
            raise EdrError(502, f"the MQTT broker's token URL is refused: {exc.reason}", code="backend_refused") from exc
        except httpx.HTTPError as exc:
            raise EdrError(502, f"the MQTT broker's IdP {url} did not answer: {exc}", code="backend_auth") from exc
        try:
            body = json.loads(answer.content)
            token, ttl = body["access_token"], int(body.get("expires_in") or 300)
            if not isinstance(token, str) or not token:
                raise ValueError(token)
        except (ValueError, KeyError, TypeError):
            raise EdrError(502, f"the MQTT broker's IdP {url} answered HTTP {answer.status_code} without an "
                                "access_token", code="backend_auth") from None
        return token, ttl
