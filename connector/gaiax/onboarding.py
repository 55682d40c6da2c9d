"""Onboarding: from ``[gaiax]`` to a stored, verified Gaia-X label (research §1.4, §1.5, §3.1).

1. build the LegalPerson and Issuer credentials and check them (with a preview of the registration
   number node) against the shapes, before anything leaves;
2. ask the Notary for the registration-number VC-JWT and check it: signed by a trusted issuer
   (the Registry's list), for the subject id we asked for, the number we gave;
3. sign our two credentials, bundle the three into a VP-JWT and send it to Compliance;
4. verify the label that comes back like a partner's (issuer trusted, digests, dates, subject us);
5. store the label and the three credentials in one transaction, replacing the previous set.

Any failure raises :class:`OnboardingError` and stores nothing. :func:`renewal_due` says whether
the stored label must be renewed at ``now`` (absent, or within ``renew_before_days`` of its end).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from connector.identity.did import DidResolver
from connector.store.db import Database

from . import store
from .clients import GaiaxClient, GaiaxServiceError
from .credentials import (
    REGISTRATION_KEYS,
    REGISTRATION_TYPES,
    Issuing,
    RegistrationRequest,
    legal_person,
    registration_request,
    subjects_of,
    terms_issuer,
)
from .jose import JoseError, sign_vc, sign_vp, verify_jwt
from .keys import GaiaxKey
from .label import LabelRefused, VerifiedLabel, verify_label
from .shapes import ShapesValidator, ShapeViolation


class OnboardingError(Exception):
    """Onboarding stopped at ``step``; nothing was stored."""

    def __init__(self, step: str, reason: str) -> None:
        self.step, self.reason = step, reason
        super().__init__(f"{step}: {reason}")


@dataclass(frozen=True)
class Onboarded:
    label: VerifiedLabel
    label_jwt: str
    credentials: dict[str, str]  # kind -> VC-JWT
    digest: str  # the digest strategy the label matched


def _check_registration(token: str, request: RegistrationRequest, resolver: DidResolver, now: datetime,
                        trusted: list[str]) -> None:
    try:
        vc = verify_jwt(token, "vc", resolver, now)
    except JoseError as exc:
        raise OnboardingError("notary", f"the registration-number credential is refused: {exc}") from None
    if vc.issuer not in trusted:
        raise OnboardingError("notary", f"the registration-number credential is issued by {vc.issuer}, "
                                        f"which the Registry does not list as a trusted issuer")
    subject = vc.payload.get("credentialSubject") or {}
    if vc.payload.get("id") != request.vc_id or subject.get("id") != request.subject_id:
        raise OnboardingError("notary", f"the Notary answered for {vc.payload.get('id')}, not {request.vc_id}")
    value = subject.get(REGISTRATION_KEYS[request.kind])
    if value != request.value:
        raise OnboardingError("notary", f"the Notary certified {value!r}, not the configured {request.value!r}")


def onboard(gx: Any, key: GaiaxKey, public_url: str, client: GaiaxClient, resolver: DidResolver, db: Database,
            now: datetime, shapes: ShapesValidator) -> Onboarded:
    """Run the whole onboarding (see the module docstring); ``gx`` is the ``[gaiax]`` section."""
    issuing = Issuing(key.did, public_url, now, gx.credential_validity_days)
    request = registration_request(issuing, gx)
    lp = legal_person(issuing, gx, request.subject_id)
    tc = terms_issuer(issuing, gx.terms_and_conditions_hash)
    preview = {"id": request.subject_id, "type": REGISTRATION_TYPES[request.kind],
               REGISTRATION_KEYS[request.kind]: request.value}
    try:
        shapes.check(subjects_of([lp, tc]) + [preview])
    except ShapeViolation as exc:
        raise OnboardingError("shapes", str(exc)) from None
    try:
        trusted = sorted(set(client.trusted_issuers()) | set(gx.trusted_label_issuers))
        registration = client.registration_number(request.kind, request.value, request.vc_id, request.subject_id)
    except GaiaxServiceError as exc:
        raise OnboardingError(exc.service, str(exc)) from None
    _check_registration(registration, request, resolver, now, trusted)
    vcs = {"registration": registration, "legal-person": sign_vc(lp, key), "issuer": sign_vc(tc, key)}
    label_id = issuing.new_id("label")
    vp = sign_vp(list(vcs.values()), key, issuing.new_id("presentation"))
    try:
        label_jwt = client.compliance(vp, gx.compliance_level, label_id)
    except GaiaxServiceError as exc:
        raise OnboardingError("compliance", str(exc)) from None
    strategies = [gx.digest] + [s for s in ("jwt", "jcs") if s != gx.digest]
    refusals = []
    for strategy in strategies:  # which digest GXDCH uses is unsettled (research §1.5): accept either
        try:
            label = verify_label(label_jwt, list(vcs.values()), key.did, resolver, trusted, now,
                                 digest=strategy, shapes=shapes)
        except LabelRefused as exc:
            refusals.append(str(exc))
            continue
        store.replace_all(db, [("label", label_jwt), *((k, v) for k, v in vcs.items())])
        return Onboarded(label, label_jwt, vcs, strategy)
    raise OnboardingError("label", refusals[0])


def renewal_due(db: Database, now: datetime, renew_before_days: int) -> tuple[bool, str]:
    """Whether the stored label must be renewed at ``now``, and why."""
    labels = store.load(db, "label")
    if not labels:
        return True, "no label is stored"
    ends = [(c.valid_until, c.kind) for c in store.load(db) if c.valid_until and c.kind != "label"]
    if labels[-1].valid_until:
        ends.append((labels[-1].valid_until, "label"))
    for end, kind in sorted(ends):
        until = datetime.fromisoformat(str(end).replace("Z", "+00:00"))
        if now >= until - timedelta(days=renew_before_days):
            return True, f"the {kind} credential ends at {end} (renewing {renew_before_days} days before)"
    return False, f"the label is valid until {labels[-1].valid_until}"
