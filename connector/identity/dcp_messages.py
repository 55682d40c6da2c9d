"""DCP v1.0 presentation messages and scopes: our own typed models of the wire JSON.

- :class:`PresentationQuery` / :class:`PresentationResponse`: ``PresentationQueryMessage`` and
  ``PresentationResponseMessage`` (``@context`` the DCP context, ``type``; a query has ``scope``
  or ``presentationDefinition``, never both). Reading one refuses an unknown key, naming the
  closest valid one, with the HTTP status DCP gives that fault (both at once: 400, empty scope:
  400).
- :class:`Scope`: ``alias:discriminator[:operation]``. The DCP aliases
  ``org.eclipse.dspace.dcp.vc.type`` and ``org.eclipse.dspace.dcp.vc.id``, and Tractus-X's
  ``org.eclipse.tractusx.vc.type:<Type>:read`` (what Catena-X wallets and EDC send).
- :func:`scopes_for_policy`: which credentials a verifier asks for when a policy is at stake,
  as Tractus-X EDC derives them: the default scopes (``MembershipCredential``) always, plus one per
  Catena-X constraint that names a credential: ``FrameworkAgreement`` with right operand
  ``DataExchangeGovernance:1.0`` needs ``DataExchangeGovernanceCredential``
  (``FrameworkAgreement.X`` needs ``XCredential``), ``Membership`` needs
  ``MembershipCredential``, ``Dismantler[.x]`` needs ``DismantlerCredential``. Other operands
  (BPN, purpose, dates) are judged on claims those credentials carry, so they need no scope.
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .did import IdentityError

DCP_CONTEXT = "https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"
CREDENTIAL_SERVICE = "CredentialService"
# our Credential Service's base (the DID document's CredentialService serviceEndpoint is
# <public_url> + this): POST <base>/presentations/query here; the holder's storage endpoint
# POST <base>/credentials belongs to DCP issuance
CREDENTIAL_SERVICE_PATH = "/api/dcp"
QUERY_PATH = "/presentations/query"

TX_TYPE_ALIAS = "org.eclipse.tractusx.vc.type"
# Factory-X EDC's alias (its IATP scope alias setting defaults to it); ADR 003 leaves the credential set open
FX_TYPE_ALIAS = "org.factoryx.vc.type"
DCP_TYPE_ALIAS = "org.eclipse.dspace.dcp.vc.type"
DCP_ID_ALIAS = "org.eclipse.dspace.dcp.vc.id"
ALIASES = (TX_TYPE_ALIAS, FX_TYPE_ALIAS, DCP_TYPE_ALIAS, DCP_ID_ALIAS)
READ_ALIASES = (TX_TYPE_ALIAS, FX_TYPE_ALIAS)  # the ones whose scopes end in :read
CX_POLICY_PREFIXES = ("https://w3id.org/catenax/2025/9/policy/", "https://w3id.org/catenax/policy/", "cx-policy:")
FX_POLICY_PREFIXES = ("https://w3id.org/factoryx/policy/v1.0/", "fx-policy:")
# the Factory-X operands that need a credential (Factory-X EDC's fx-policy functions)
FX_CREDENTIALS = {"Membership": "MembershipCredential", "FxMembership": "MembershipCredential",
                  "CertificationType": "CertificationCredential", "FxCertificationType": "CertificationCredential"}
DATASPACES = ("catena-x", "factory-x", "both")


class DcpMessageError(IdentityError):
    """A DCP message or scope we cannot accept; ``status`` is the HTTP answer DCP gives it."""

    code = "bad_request"

    def __init__(self, reason: str, *, status: int = 400, code: str | None = None) -> None:
        super().__init__(reason, code=code or self.code)
        self.status = status


def _closest(name: str, valid: Iterable[str]) -> str:
    near = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.5)
    return f"did you mean {near[0]!r}?" if near else f"expected one of {', '.join(sorted(valid))}"


def _envelope(body: Any, type_name: str, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise DcpMessageError(f"a {type_name} must be a JSON object")
    for key in body:
        if key not in keys:
            raise DcpMessageError(f"{type_name}: unknown key {key!r}; {_closest(key, keys)}")
    context = body.get("@context")
    if not isinstance(context, list) or DCP_CONTEXT not in context or not all(isinstance(c, str) for c in context):
        raise DcpMessageError(f"{type_name}.@context: expected an array of IRIs containing {DCP_CONTEXT}")
    if body.get("type") != type_name:
        raise DcpMessageError(f"{type_name}.type: expected {type_name!r}, got {body.get('type')!r}")
    return body


# --- scopes -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scope:
    """One scope: ``alias`` (which kind of selector), ``discriminator`` (a type or an id) and the
    operation (DCP's aliases carry none; Tractus-X's end in ``:read``)."""

    alias: str
    discriminator: str
    operation: str | None = None

    @classmethod
    def parse(cls, text: Any) -> Scope:
        if not isinstance(text, str) or text.count(":") < 1:
            raise DcpMessageError(f"scope {text!r}: expected alias:discriminator, e.g. {type_scope('MembershipCredential')}")
        alias, _, rest = text.partition(":")
        if alias not in ALIASES:
            raise DcpMessageError(f"scope {text!r}: unknown alias {alias!r}; {_closest(alias, ALIASES)}")
        operation: str | None = None
        if alias in READ_ALIASES:
            rest, _, operation = rest.rpartition(":")
            if operation != "read":
                raise DcpMessageError(f"scope {text!r}: a query may only read (…:read), not {operation!r}",
                                      code="scope_not_allowed", status=403)
        if not rest or any(c.isspace() for c in rest):
            raise DcpMessageError(f"scope {text!r}: empty or blank discriminator")
        return cls(alias, rest, operation)

    @property
    def credential_type(self) -> str | None:
        return None if self.alias == DCP_ID_ALIAS else self.discriminator

    @property
    def key(self) -> tuple[str, str]:
        """What the scope selects, whichever alias says it: two aliases for one type grant the same."""
        return ("id" if self.alias == DCP_ID_ALIAS else "type", self.discriminator)

    def selects(self, entry: dict[str, Any]) -> bool:
        """Whether a wallet entry (``id``, ``type``) is what this scope asks for."""
        if self.alias == DCP_ID_ALIAS:
            return entry.get("id") == self.discriminator
        types = entry.get("type")
        return self.discriminator in (types if isinstance(types, list) else [types])

    def __str__(self) -> str:
        tail = f":{self.operation}" if self.operation else ""
        return f"{self.alias}:{self.discriminator}{tail}"


def type_scope(credential_type: str, alias: str = TX_TYPE_ALIAS) -> str:
    """The scope reading one credential type: Catena-X's alias by default, Factory-X's on request."""
    return f"{alias}:{credential_type}:read"


def _atoms(constraints: Iterable[Any]) -> Iterator[tuple[str, Any]]:
    from connector.policy.model import AtomicConstraint

    for constraint in constraints:
        if isinstance(constraint, AtomicConstraint):
            yield constraint.left_operand, constraint.right_operand
        else:
            yield from _atoms(constraint.constraints)


def _rules(rules: Iterable[Any]) -> Iterator[Any]:
    for rule in rules:
        yield rule
        yield from _rules(rule.duties)


def fx_credential_for_operand(left: str) -> str | None:
    """The credential type a Factory-X left operand needs (None: not a Factory-X operand, or claims alone)."""
    for prefix in FX_POLICY_PREFIXES:
        if left.startswith(prefix):
            return FX_CREDENTIALS.get(left[len(prefix):])
    return None


def credential_for_operand(left: str, right: Any) -> str | None:
    """The credential type a Catena-X or Factory-X left operand needs (None: it is judged on claims alone)."""
    fx = fx_credential_for_operand(left)
    if fx:
        return fx
    for prefix in CX_POLICY_PREFIXES:
        if left.startswith(prefix):
            left = left[len(prefix):]
            break
    else:
        return None
    value = right.value if hasattr(right, "value") else right
    if left == "FrameworkAgreement":
        subtype = str(value).split(":", 1)[0] if isinstance(value, str) and value else None
        return f"{subtype}Credential" if subtype else None
    if left.startswith("FrameworkAgreement."):
        return left.split(".", 1)[1][:1].upper() + left.split(".", 1)[1][1:] + "Credential"
    head = left.split(".", 1)[0]
    return f"{head}Credential" if head in ("Membership", "Dismantler") else None


def scopes_for_policy(policy: dict[str, Any] | None, default_types: Iterable[str] = ("MembershipCredential",),
                      dataspace: str = "catena-x") -> list[str]:
    """The scopes a verifier asks for when ``policy`` (DSP compact ODRL, e.g. an offer) is at stake.
    A policy we cannot read adds nothing: its evaluation refuses it later, with the reason.

    ``dataspace`` is ``[profile] dataspace``: "catena-x" asks everything under Catena-X's alias
    (``org.eclipse.tractusx.vc.type:…:read``), "factory-x" under Factory-X's (``org.factoryx.vc.type:…:read``);
    "both" asks the default types and the Catena-X operands' credentials the Catena-X way, and the
    Factory-X operands' (``fx-policy:Membership``, ``CertificationType``) the Factory-X way."""
    if dataspace not in DATASPACES:
        raise ValueError(f"dataspace {dataspace!r}: expected one of {', '.join(DATASPACES)}")
    primary = FX_TYPE_ALIAS if dataspace == "factory-x" else TX_TYPE_ALIAS
    wanted = [(t, primary) for t in dict.fromkeys(default_types)]
    if policy:
        try:
            text = json.dumps(policy, sort_keys=True)
        except (TypeError, ValueError):
            text = None
        for needed, factory_x in _policy_credentials(text) if text else ():
            pair = (needed, FX_TYPE_ALIAS if factory_x and dataspace != "catena-x" else primary)
            if pair not in wanted:
                wanted.append(pair)
    return [type_scope(t, alias) for t, alias in wanted]


@functools.lru_cache(maxsize=1024)
def _policy_credentials(policy_json: str) -> tuple[tuple[str, bool], ...]:
    """The credential types a policy's constraints need, each with whether a Factory-X operand
    needs it (cached: every DSP call of a process asks)."""
    from connector.policy.codec import policy_from_compact_dsp
    from connector.policy.errors import PolicyError

    try:
        parsed = policy_from_compact_dsp(json.loads(policy_json))
    except (PolicyError, ValueError, TypeError):
        return ()
    needed = ((credential_for_operand(left, right), fx_credential_for_operand(left) is not None)
              for rule in _rules((*parsed.permissions, *parsed.prohibitions, *parsed.obligations))
              for left, right in _atoms(rule.constraints))
    return tuple(dict.fromkeys((n, fx) for n, fx in needed if n))


def catalog_unprovable(policy: Any, default_types: Iterable[str] = ("MembershipCredential",)) -> list[str]:
    """Why an access policy (a typed ``Policy``) would hide its offer in dcp mode: a catalog request
    proves only the default scopes (as Tractus-X EDC asks), so a constraint that needs another
    credential can never pass there. One warning per such operand; [] when nothing is out of reach."""
    defaults = set(default_types)
    out: dict[str, str] = {}
    for rule in _rules((*policy.permissions, *policy.prohibitions, *policy.obligations)):
        for left, right in _atoms(rule.constraints):
            needed = credential_for_operand(left, right)
            name = left.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
            if needed and needed not in defaults and name not in out:
                out[name] = (f"{name} needs a {needed}, which a catalog request does not prove in dcp mode "
                             f"(it asks only for {', '.join(sorted(defaults))}): the offer would be hidden "
                             f"from everyone; put {name} in the usage (contract) policy, proven at negotiation")
    return list(out.values())


# --- messages -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PresentationQuery:
    """``PresentationQueryMessage``: ``scopes`` or a ``presentation_definition``."""

    scopes: tuple[Scope, ...] = ()
    presentation_definition: dict[str, Any] | None = None

    KEYS = ("@context", "type", "scope", "presentationDefinition")

    @classmethod
    def from_json(cls, body: Any) -> PresentationQuery:
        body = _envelope(body, "PresentationQueryMessage", cls.KEYS)
        has_scope, has_definition = "scope" in body, "presentationDefinition" in body
        if has_scope and has_definition:
            raise DcpMessageError("PresentationQueryMessage: scope and presentationDefinition are exclusive; send one")
        if has_definition:
            definition = body["presentationDefinition"]
            if not isinstance(definition, dict):
                raise DcpMessageError("PresentationQueryMessage.presentationDefinition: expected an object")
            return cls(presentation_definition=definition)
        scopes = body.get("scope")
        if not isinstance(scopes, list) or not scopes:
            raise DcpMessageError("PresentationQueryMessage.scope: expected a non-empty array of scope strings "
                                  f"(e.g. {type_scope('MembershipCredential')!r}), or a presentationDefinition")
        return cls(scopes=tuple(Scope.parse(s) for s in scopes))

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"@context": [DCP_CONTEXT], "type": "PresentationQueryMessage"}
        if self.presentation_definition is not None:
            body["presentationDefinition"] = self.presentation_definition
        else:
            body["scope"] = [str(s) for s in self.scopes]
        return body


@dataclass(frozen=True)
class PresentationResponse:
    """``PresentationResponseMessage``: presentations, each a JWT string (vp+jwt) or a JSON object
    (a Data Integrity presentation), and an optional ``presentationSubmission``."""

    presentations: tuple[str | dict[str, Any], ...]
    submission: dict[str, Any] | None = None

    KEYS = ("@context", "type", "presentation", "presentationSubmission")

    @classmethod
    def from_json(cls, body: Any) -> PresentationResponse:
        body = _envelope(body, "PresentationResponseMessage", cls.KEYS)
        items = body.get("presentation")
        if not isinstance(items, list) or not all(isinstance(i, (str, dict)) for i in items):
            raise DcpMessageError("PresentationResponseMessage.presentation: expected an array of JWT strings "
                                  "and JSON objects")
        submission = body.get("presentationSubmission")
        if submission is not None and not isinstance(submission, dict):
            raise DcpMessageError("PresentationResponseMessage.presentationSubmission: expected an object")
        return cls(tuple(items), submission)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"@context": [DCP_CONTEXT], "type": "PresentationResponseMessage",
                                "presentation": list(self.presentations)}
        if self.submission is not None:
            body["presentationSubmission"] = self.submission
        return body


def credential_service_endpoint(document: dict[str, Any]) -> str:
    """The ``serviceEndpoint`` of the DID document's ``CredentialService`` (DCP: the base URL)."""
    services = document.get("service")
    for service in services if isinstance(services, list) else []:
        if isinstance(service, dict) and service.get("type") == CREDENTIAL_SERVICE:
            endpoint = service.get("serviceEndpoint")
            if isinstance(endpoint, str) and endpoint.startswith(("https://", "http://")):
                return endpoint.rstrip("/")
    raise IdentityError(f"the DID document of {document.get('id')} announces no CredentialService endpoint",
                        code="no_credential_service")


def credential_service_entry(did: str, public_url: str) -> dict[str, str]:
    """Our DID document's ``CredentialService`` entry."""
    return {"id": f"{did}#credential-service", "type": CREDENTIAL_SERVICE,
            "serviceEndpoint": public_url.rstrip("/") + CREDENTIAL_SERVICE_PATH}
