"""DCP v1.0 credential issuance, the issuer's side: its messages and its book of requests.

Messages (``@context: ["https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"]``, shapes as in the DCP
issuance schemas):

- ``IssuerMetadata`` (``GET <issuer base>/metadata``): the issuer's DID and two ``CredentialObject``s
  per credential type it issues, one per DCP profile: ``urn:pontis:credential-object:<Type>``,
  profile ``vc20-bssl/jwt`` (VC 2.0, Bitstring Status List, secured as vc+jwt), and
  ``urn:pontis:credential-object:<Type>:vc11-sl2021``, profile ``vc11-sl2021/jwt`` (VC 1.1 as a
  JWT with a ``vc`` claim, StatusList2021: what Factory-X ADR 003 asks);
- ``CredentialRequestMessage`` (``POST <issuer base>/credentials``, with the holder's self-issued
  token): ``holderPid`` (the holder's id for the request) and ``credentials: [{id}]`` naming
  credential objects;
- ``CredentialMessage`` (``POST <holder's Credential Service>/credentials``): ``ISSUED`` with
  ``credentials: [{credentialType, payload: <vc+jwt>, format: "jwt"}]``, or ``REJECTED`` with a
  ``rejectionReason``;
- ``CredentialStatus`` (``GET <issuer base>/requests/<issuerPid>``): ``RECEIVED | REJECTED | ISSUED``.

Who may have what is the issuer's decision: ``connector issuer admit`` records a holder's DID, its
BPN and the credential types it may request (issuer.json ``holders``). A request names objects of
the metadata; an unknown id, or a type the holder was not admitted for, is refused with the
reason before anything is recorded. An accepted request is recorded (issuer.json ``requests``) as
``RECEIVED``, then issued and delivered (:mod:`connector.identity.issuer_service`), then
``ISSUED`` (or ``REJECTED`` with the reason when delivery failed).
"""

from __future__ import annotations

import difflib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .credentials import CREDENTIAL_TYPES, CX_CREDENTIALS_NS, format_time
from .dcp_messages import DCP_CONTEXT
from .did import IdentityError
from .issuer import IssuedCredential, Issuer, IssuerError, _read_state
from .vc11 import PROFILES, VC20

OBJECT_PREFIX = "urn:pontis:credential-object:"
PROFILE = VC20
FORMAT = "jwt"
RequestState = Literal["RECEIVED", "REJECTED", "ISSUED"]


class IssuanceRefused(IdentityError):
    """A request the issuer does not accept; ``status`` is the HTTP status to answer with."""

    code = "refused"

    def __init__(self, reason: str, *, status: int = 400, code: str = "refused") -> None:
        super().__init__(reason, code=code)
        self.status = status


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    context: list[str] = Field(alias="@context")


class RequestedCredential(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)


class CredentialRequestMessage(_Message):
    type: Literal["CredentialRequestMessage"]
    holderPid: str = Field(min_length=1)  # noqa: N815 (the wire name)
    credentials: list[RequestedCredential] = Field(min_length=1)


class CredentialContainer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credentialType: str  # noqa: N815
    payload: str
    format: str


class CredentialMessage(_Message):
    type: Literal["CredentialMessage"]
    issuerPid: str  # noqa: N815
    holderPid: str | None = None  # noqa: N815
    status: Literal["ISSUED", "REJECTED"]
    credentials: list[CredentialContainer] = Field(default_factory=list)
    rejectionReason: str | None = None  # noqa: N815


def parse_message(model: type[_Message], body: Any) -> Any:
    """``body`` as ``model``; :class:`IssuanceRefused` naming the first bad field otherwise."""
    if not isinstance(body, dict):
        raise IssuanceRefused(f"a {model.__name__} must be a JSON object")
    try:
        message = model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(message)"
        raise IssuanceRefused(f"{model.__name__}: {where}: {first['msg']}", code="malformed") from None
    if DCP_CONTEXT not in message.context:
        raise IssuanceRefused(f"{model.__name__}: @context must include {DCP_CONTEXT}", code="malformed")
    return message


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header ("" when there is none)."""
    token = (authorization or "").strip()
    return token[7:].strip() if token[:7].lower() == "bearer " else token


def object_id(credential_type: str, profile: str = VC20) -> str:
    return OBJECT_PREFIX + credential_type + ("" if profile == VC20 else ":" + profile.split("/")[0])


def credential_object(credential_type: str, profile: str = VC20) -> dict[str, Any]:
    return {"id": object_id(credential_type, profile), "type": "CredentialObject", "credentialType": credential_type,
            "credentialSchema": CX_CREDENTIALS_NS + credential_type, "offerReason": "issuance",
            "bindingMethods": ["did:web"], "profile": profile}


def issuer_metadata(issuer_did: str) -> dict[str, Any]:
    return {"@context": [DCP_CONTEXT], "type": "IssuerMetadata", "issuer": issuer_did,
            "credentialsSupported": [credential_object(t, p) for p in PROFILES for t in CREDENTIAL_TYPES.values()]}


def request_message(holder_pid: str, credential_types: list[str], metadata: dict[str, Any],
                    profile: str = VC20) -> dict[str, Any]:
    """The holder's CredentialRequestMessage for ``credential_types`` (full names or short kinds) in
    the DCP ``profile``, naming the issuer's credential objects from its ``metadata`` (an object
    without a profile is ``vc20-bssl/jwt``); IssuanceRefused for a type it does not offer so."""
    offered = {(o.get("credentialType"), o.get("profile", VC20)): o.get("id")
               for o in metadata.get("credentialsSupported", []) if isinstance(o, dict)}
    ids = []
    for wanted in credential_types:
        full = CREDENTIAL_TYPES.get(wanted, wanted)
        if (full, profile) not in offered:
            listed = sorted(f"{t} ({p})" for t, p in offered)
            raise IssuanceRefused(f"the issuer {metadata.get('issuer')} does not issue {wanted!r} in {profile} "
                                  f"(it offers {', '.join(listed) or 'nothing'})", code="unknown_type")
        ids.append({"id": offered[(full, profile)]})
    return {"@context": [DCP_CONTEXT], "type": "CredentialRequestMessage", "holderPid": holder_pid,
            "credentials": ids}


def credential_message(issuer_pid: str, holder_pid: str, issued: list[IssuedCredential]) -> dict[str, Any]:
    return {"@context": [DCP_CONTEXT], "type": "CredentialMessage", "issuerPid": issuer_pid, "holderPid": holder_pid,
            "status": "ISSUED",
            "credentials": [{"credentialType": c.credential["type"][-1], "payload": c.jwt, "format": FORMAT}
                            for c in issued]}


def rejection_message(issuer_pid: str, holder_pid: str, reason: str) -> dict[str, Any]:
    return {"@context": [DCP_CONTEXT], "type": "CredentialMessage", "issuerPid": issuer_pid, "holderPid": holder_pid,
            "status": "REJECTED", "rejectionReason": reason}


@dataclass(frozen=True)
class IssuanceRequest:
    """One recorded request (an issuer.json ``requests`` entry)."""

    issuer_pid: str
    holder_pid: str
    holder: str
    types: tuple[str, ...]
    status: RequestState
    access_token: str | None = None
    reason: str | None = None
    profiles: tuple[str, ...] = ()  # per type; empty (older records): vc20-bssl/jwt

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> IssuanceRequest:
        return cls(entry["issuerPid"], entry["holderPid"], entry["holder"], tuple(entry["types"]), entry["status"],
                   entry.get("accessToken"), entry.get("reason"), tuple(entry.get("profiles") or ()))

    def status_message(self) -> dict[str, Any]:
        return {"@context": [DCP_CONTEXT], "type": "CredentialStatus", "issuerPid": self.issuer_pid,
                "holderPid": self.holder_pid, "status": self.status}


class IssuanceBook:
    """The issuer's holders and requests, kept in its folder beside what it issued."""

    def __init__(self, issuer: Issuer) -> None:
        self.issuer = issuer

    def metadata(self) -> dict[str, Any]:
        return issuer_metadata(self.issuer.did)

    # --- who may have what ------------------------------------------------------------------------

    def admit(self, holder: str, *, bpn: str | None, kinds: list[str]) -> dict[str, Any]:
        """Let ``holder`` (a DID) request ``kinds`` (short or full type names); replaces its entry."""
        if not holder.startswith("did:"):
            raise IssuerError(f"the holder must be a DID, not {holder!r}")
        types = []
        for kind in kinds:
            full = CREDENTIAL_TYPES.get(kind, kind)
            if full not in CREDENTIAL_TYPES.values():
                near = difflib.get_close_matches(kind, [*CREDENTIAL_TYPES, *CREDENTIAL_TYPES.values()], n=1)
                hint = f"did you mean {near[0]!r}? " if near else ""
                raise IssuerError(f"unknown credential type {kind!r} ({hint}one of {', '.join(CREDENTIAL_TYPES)})")
            if full == CREDENTIAL_TYPES["Bpn"] and not bpn:
                raise IssuerError("a BpnCredential needs the holder's BPN (--bpn)")
            types.append(full)
        with self.issuer._locked():
            self.issuer.state = _read_state(self.issuer.directory)
            holders = self.issuer.state.setdefault("holders", {})
            holders[holder] = {"bpn": bpn, "types": sorted(set(types))}
            self.issuer._save()
            return dict(holders[holder])

    def holders(self) -> dict[str, dict[str, Any]]:
        return dict(_read_state(self.issuer.directory).get("holders", {}))

    def directory(self) -> dict[str, str]:
        """BPN → DID of every admitted holder with a BPN (the BPN-DID directory)."""
        return {h["bpn"]: did for did, h in sorted(self.holders().items()) if h.get("bpn")}

    # --- requests --------------------------------------------------------------------------------------

    def receive(self, holder: str, body: Any, *, access_token: str | None, now: datetime) -> IssuanceRequest:
        """Check and record a CredentialRequestMessage from ``holder`` (the verified token's DID);
        IssuanceRefused (nothing recorded) for a malformed message, an unknown credential object or
        a type the holder may not have."""
        message: CredentialRequestMessage = parse_message(CredentialRequestMessage, body)
        by_id = {o["id"]: (o["credentialType"], o["profile"]) for o in self.metadata()["credentialsSupported"]}
        types, profiles = [], []
        for item in message.credentials:
            if item.id not in by_id:
                raise IssuanceRefused(f"credentials: this issuer offers no credential {item.id!r} "
                                      f"(its metadata lists {', '.join(sorted(by_id))})", code="unknown_type")
            types.append(by_id[item.id][0])
            profiles.append(by_id[item.id][1])
        admitted = self.holders().get(holder)
        if admitted is None:
            raise IssuanceRefused(f"{holder} is not admitted by this issuer (`connector issuer admit`)",
                                  status=403, code="not_admitted")
        refused = [t for t in types if t not in admitted.get("types", [])]
        if refused:
            raise IssuanceRefused(f"{holder} is not admitted for {', '.join(refused)} (admitted for "
                                  f"{', '.join(admitted.get('types', [])) or 'nothing'})", status=403,
                                  code="not_admitted")
        request = IssuanceRequest(f"urn:uuid:{uuid.uuid4()}", message.holderPid, holder, tuple(types), "RECEIVED",
                                  access_token, profiles=tuple(profiles))
        with self.issuer._locked():
            self.issuer.state = _read_state(self.issuer.directory)
            self.issuer.state.setdefault("requests", []).append(
                {"issuerPid": request.issuer_pid, "holderPid": request.holder_pid, "holder": holder,
                 "types": list(types), "profiles": profiles, "status": "RECEIVED", "accessToken": access_token,
                 "received": format_time(now)})
            self.issuer._save()
        return request

    def get(self, issuer_pid: str) -> IssuanceRequest | None:
        for entry in _read_state(self.issuer.directory).get("requests", []):
            if entry["issuerPid"] == issuer_pid:
                return IssuanceRequest.from_json(entry)
        return None

    def issue(self, request: IssuanceRequest, *, now: datetime, valid_days: int = 365) -> list[IssuedCredential]:
        """The credentials of an accepted request (not yet delivered)."""
        bpn = self.holders().get(request.holder, {}).get("bpn")
        short = {v: k for k, v in CREDENTIAL_TYPES.items()}
        profiles = request.profiles or (VC20,) * len(request.types)
        return [self.issuer.issue(request.holder, short[t], bpn=bpn, now=now, valid_days=valid_days, profile=p)
                for t, p in zip(request.types, profiles, strict=True)]

    def settle(self, issuer_pid: str, status: RequestState, *, now: datetime, reason: str | None = None,
               credential_ids: list[str] | None = None) -> None:
        """Record how a request ended; its access token (the right to write to the holder) is dropped."""
        with self.issuer._locked():
            self.issuer.state = _read_state(self.issuer.directory)
            for entry in self.issuer.state.get("requests", []):
                if entry["issuerPid"] == issuer_pid:
                    entry.update(status=status, settled=format_time(now), accessToken=None)
                    if reason:
                        entry["reason"] = reason
                    if credential_ids:
                        entry["credentials"] = credential_ids
            self.issuer._save()
