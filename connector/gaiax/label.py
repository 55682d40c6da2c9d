"""Gaia-X label credentials: what the compliance service issues, and checking a partner's (research §1.6).

:func:`verify_label` takes a ``gx:LabelCredential`` VC-JWT and the VC-JWTs it covers and refuses,
with the reason, a label that is not signed by a trusted compliance service, is not yet or no longer
valid, lacks the LegalPerson / Issuer / registration-number credentials, whose ``digestSRI`` does
not match a presented credential, or whose LegalPerson was issued by someone other than the
presenter ("a label for another subject"). What it proves becomes policy claims
(:meth:`VerifiedLabel.claims`): ``gaiaxLabelLevel``, ``gaiaxLabelValidUntil``, ...

Which bytes ``digestSRI`` hashes is not settled publicly (research §1.5, §6.1): ``digest="jwt"``
hashes the compact VC-JWT, ``"jcs"`` the JCS (RFC 8785) of its payload; both use SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import rfc8785

from connector.identity.did import DidResolver

from .credentials import CONTEXT, stamp, subjects_of, types_of
from .jose import JoseError, peek, verify_jwt
from .shapes import ShapesValidator, ShapeViolation

LEVELS = ("SC", "L1", "L2", "L3")
LEVEL_OF_PATH = {"standard-compliance": "SC", "label-level-1": "L1", "label-level-2": "L2", "label-level-3": "L3"}
REGISTRATION_TYPES = frozenset({"gx:VatID", "gx:LeiCode", "gx:EORI", "gx:Eori", "gx:EUID", "gx:Euid", "gx:TaxID",
                                "gx:LocalRegistrationNumber"})
CLAIM_LEVEL, CLAIM_VALID_UNTIL = "gaiaxLabelLevel", "gaiaxLabelValidUntil"


class LabelRefused(ValueError):
    """A label that does not prove what it claims, with the reason."""


def digest_sri(vc_jwt: str, strategy: str = "jwt") -> str:
    if strategy == "jwt":
        data = vc_jwt.encode("ascii")
    elif strategy == "jcs":
        data = rfc8785.dumps(peek(vc_jwt)[1])
    else:
        raise ValueError(f"digest strategy {strategy!r}: expected 'jwt' or 'jcs'")
    return "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def label_credential(issuer: str, label_id: str, vc_jwts: list[str], level: str, now: datetime, *,
                     valid_days: int = 90, rules_version: str = "CD25.10", engine_version: str = "pontis-mock",
                     criteria: list[str] | None = None, digest: str = "jwt") -> dict[str, Any]:
    """The ``gx:LabelCredential`` payload a compliance service issues for ``vc_jwts`` (the mock's)."""
    covered = []
    for token in vc_jwts:
        payload = peek(token)[1]
        gx_types = [t for t in types_of(payload) if t != "VerifiableCredential"]
        covered.append({"id": payload.get("id"), "type": "gx:CompliantCredential",
                        "gx:credentialType": ",".join(gx_types),
                        "digestSRI": {"@value": digest_sri(token, digest), "@type": "cred:sriString"}})
    return {"@context": CONTEXT, "type": ["VerifiableCredential", "gx:LabelCredential"], "id": label_id,
            "issuer": issuer, "validFrom": stamp(now), "validUntil": stamp(now + timedelta(days=valid_days)),
            "credentialSubject": {"id": label_id + "#cs", "type": "gx:LabelCredential", "gx:labelLevel": level,
                                  "gx:engineVersion": engine_version, "gx:rulesVersion": rules_version,
                                  "gx:validatedCriteria": criteria or [f"{rules_version}/criteria_participant/#PA1.1"],
                                  "gx:compliantCredentials": covered}}


def _get(node: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in node:
            value = node[name]
            return value.get("@value") if isinstance(value, dict) and "@value" in value else value
    return None


def _entry_types(entry: dict[str, Any]) -> set[str]:
    raw = _get(entry, "gx:credentialType", "credentialType", "type")
    items = raw if isinstance(raw, list) else [raw]
    out = {t.strip() for item in items if isinstance(item, str) for t in item.split(",")}
    return out - {"gx:CompliantCredential", ""}


@dataclass(frozen=True)
class VerifiedLabel:
    id: str
    issuer: str
    subject: str  # the participant the label is about (its LegalPerson's issuer)
    level: str
    rules_version: str
    valid_until: str
    covered: dict[str, set[str]] = field(default_factory=dict)  # credential id -> types
    countries: tuple[str, ...] = ()

    def claims(self) -> dict[str, Any]:
        """What policies see (connector.policy: the GaiaxLabelLevel operand)."""
        return {CLAIM_LEVEL: self.level, CLAIM_VALID_UNTIL: self.valid_until, "gaiaxRulesVersion": self.rules_version,
                "gaiaxLabelIssuer": self.issuer, "gaiaxLabelId": self.id, "gaiaxCountries": list(self.countries)}


def verify_label(label_jwt: str, presented: list[str], presenter: str, resolver: DidResolver,
                 trusted_issuers: list[str], now: datetime, *, digest: str = "jwt",
                 shapes: ShapesValidator | None = None,
                 chain_check: Callable[[str], None] | None = None) -> VerifiedLabel:
    """Check a partner's (or our own) label; see the module docstring. Raises :class:`LabelRefused`.
    ``chain_check(x5u)`` (e.g. :func:`registry_chain_check`) runs on every signer's certificate chain."""
    try:
        label = verify_jwt(label_jwt, "vc", resolver, now, chain_check=chain_check)
    except (JoseError, ValueError) as exc:  # ChainError is a ValueError
        raise LabelRefused(f"the label credential is refused: {exc}") from None
    payload = label.payload
    if label.issuer not in trusted_issuers:
        raise LabelRefused(f"the label is issued by {label.issuer}, which is not a trusted compliance service "
                           f"(trusted: {', '.join(trusted_issuers) or 'none configured'})")
    if "gx:LabelCredential" not in types_of(payload):
        raise LabelRefused(f"the credential {payload.get('id')} is not a gx:LabelCredential (types: {types_of(payload)})")
    subject = payload.get("credentialSubject")
    if not isinstance(subject, dict):
        raise LabelRefused("the label has no credentialSubject object")
    if shapes is not None:
        try:
            shapes.check(subjects_of([payload]))
        except ShapeViolation as exc:
            raise LabelRefused(f"the label breaks the Gaia-X shapes: {exc}") from None
    level = _get(subject, "gx:labelLevel", "labelLevel")
    if level not in LEVELS:
        raise LabelRefused(f"gx:labelLevel {level!r}: expected one of {', '.join(LEVELS)}")
    entries = _get(subject, "gx:compliantCredentials", "compliantCredentials")
    entries = entries if isinstance(entries, list) else [entries] if isinstance(entries, dict) else []
    covered = {str(e.get("id")): _entry_types(e) for e in entries if isinstance(e, dict)}
    all_types = set().union(*covered.values()) if covered else set()
    for needed in ("gx:LegalPerson", "gx:Issuer"):
        if needed not in all_types:
            raise LabelRefused(f"the label covers no {needed} credential")
    if not all_types & REGISTRATION_TYPES:
        raise LabelRefused("the label covers no registration-number credential (gx:VatID, gx:LeiCode, ...)")
    by_id: dict[str, str] = {}
    countries: list[str] = []
    holder = None
    for token in presented:
        try:
            vc = verify_jwt(token, "vc", resolver, now, chain_check=chain_check)
        except (JoseError, ValueError) as exc:
            raise LabelRefused(f"a presented credential is refused: {exc}") from None
        by_id[str(vc.payload.get("id"))] = token
        if "gx:LegalPerson" in types_of(vc.payload):
            holder = vc.issuer
            cs = vc.payload.get("credentialSubject") or {}
            for key in ("gx:legalAddress", "gx:headquartersAddress"):
                address = cs.get(key) if isinstance(cs, dict) else None
                if isinstance(address, dict) and isinstance(address.get("gx:countryCode"), str):
                    countries.append(address["gx:countryCode"])
    for entry in entries:
        ident = str(entry.get("id"))
        presented_token = by_id.get(ident)
        if presented_token is None:
            raise LabelRefused(f"the label covers {ident}, which was not presented")
        expected = _get(entry, "digestSRI", "gx:digestSRI", "cred:digestSRI")
        if expected != digest_sri(presented_token, digest):
            raise LabelRefused(f"the digest of {ident} does not match the label's digestSRI "
                               f"(strategy {digest!r}): the credential was changed or is another one")
    if holder is None:
        raise LabelRefused("no gx:LegalPerson credential was presented with the label")
    if holder != presenter:
        raise LabelRefused(f"the label is for {holder}, not for {presenter}: a label for another subject")
    return VerifiedLabel(str(payload.get("id")), label.issuer, holder, level, str(_get(subject, "gx:rulesVersion")),
                         str(payload.get("validUntil")), covered, tuple(dict.fromkeys(countries)))


def registry_chain_check(client: Any) -> Callable[[str], None]:
    """A ``chain_check`` asking the Gaia-X Registry whether a chain is rooted in a trust anchor."""
    def check(x5u: str) -> None:
        if not client.chain_is_trusted(x5u):
            raise ValueError(f"the Registry does not trust the certificate chain at {x5u}")
    return check


def bundle(label_jwt: str, credentials: list[str]) -> str:
    """A label and the credentials it covers as one JSON document (how a partner hands them over)."""
    return json.dumps({"label": label_jwt, "credentials": credentials}, indent=2)


def read_bundle(text: str) -> tuple[str, list[str]]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise LabelRefused(f"not a label bundle (JSON with 'label' and 'credentials'): {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("label"), str) or not isinstance(data.get("credentials"), list):
        raise LabelRefused("a label bundle is {\"label\": \"<VC-JWT>\", \"credentials\": [\"<VC-JWT>\", ...]}")
    return data["label"], [str(c) for c in data["credentials"]]
