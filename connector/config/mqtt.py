"""The ``[mqtt]`` table: the connector's own MQTT 3.1.1 broker and its AAS events (connector.mqtt,
Factory-X ADR 011 and 012)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from .sections import _Section


class MqttSettings(_Section):
    """``[mqtt]``: off unless ``enabled``. MQTT over TLS (mqtts) and over WebSocket-over-TLS (mqtt-wss)
    with the server certificate in ``cert_file``/``key_file`` (PEM; relative to the config file); a
    plain TCP listener (mqtt-tcp-basic, no encryption) only when ``tcp_port`` is set."""

    enabled: bool = False
    host: str = "127.0.0.1"
    # a listener is off when its port is left out; 0 lets the system choose (tests)
    tls_port: int | None = Field(default=8883, ge=0, le=65535)
    wss_port: int | None = Field(default=8884, ge=0, le=65535)
    wss_path: str = "/mqtt"
    tcp_port: int | None = Field(default=None, ge=0, le=65535)
    cert_file: str | None = None
    key_file: str | None = None
    # what peers are told to connect to (the catalog's data address); default: host and port
    public_wss_url: str | None = Field(default=None, pattern=r"^wss://")
    public_mqtts_url: str | None = Field(default=None, pattern=r"^mqtts://")
    # AAS events go to <topic_prefix>/shells/<base64url aas id> and <topic_prefix>/submodels/<base64url id>
    topic_prefix: str = "aas"
    # the events' "data" property, as the use case agrees: "element" (the shell descriptor, or the
    # submodel as an IDTA-01002 Submodel when its content is stored), "value" (a submodel's value-only
    # JSON, a shell's descriptor), "none" (slim events: the consumer GETs the source)
    event_data: Literal["element", "value", "none"] = "element"
    # who may connect: "none" (anyone, read-only), "password" (username/password below, ADR 012
    # mqtt-usrpw), "token" (the JWT an EDR carries, ADR 012 mqtt-jwt-oauth2: connector.mqtt.tokens)
    auth: Literal["none", "password", "token"] = "token"
    username: str | None = None
    password: str | None = None
    keep_retained: bool = True
    max_packet_bytes: int = Field(default=1 << 20, ge=1024)
    max_queued: int = Field(default=1000, ge=1)
    # connected clients at most (one more is answered CONNACK 3, server unavailable), and as many
    # persistent sessions of clients gone offline (past it the oldest is forgotten)
    max_clients: int = Field(default=10_000, ge=1)
    # CONNECT checks that read the database run in this many worker threads (never on the event loop)
    auth_threads: int = Field(default=4, ge=1, le=64)
    # connected transfer clients are re-checked this often (an agreement's end date passing, a notice
    # missed while a replica's LISTEN reconnected); a transfer that ends cuts them off at once
    recheck_seconds: float = Field(default=30.0, gt=0)

    @field_validator("topic_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not value or "+" in value or "#" in value or value.startswith("/") or value.endswith("/"):
            raise ValueError(f"expected topic levels without wildcards or a leading/trailing '/', got {value!r}")
        return value

    @field_validator("wss_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"expected a path starting with '/', got {value!r}")
        return value

    @model_validator(mode="after")
    def _complete(self) -> MqttSettings:
        if not self.enabled:
            return self
        if (self.tls_port is not None or self.wss_port is not None) and not (self.cert_file and self.key_file):
            raise ValueError("cert_file and key_file: the TLS and WSS listeners need the server certificate "
                             "and its key (PEM)")
        if self.tls_port is None and self.wss_port is None and self.tcp_port is None:
            raise ValueError("tls_port, wss_port, tcp_port: at least one listener is needed when enabled")
        if self.auth == "password" and not (self.username and self.password):
            raise ValueError("username and password: auth = \"password\" needs both")
        return self
