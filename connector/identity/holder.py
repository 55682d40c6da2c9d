"""DCP credential issuance, the holder's side: requesting credentials, storing delivered ones, renewing.

**Requesting** (:func:`request_credentials`, ``connector credentials request``): ``GET
<issuer>/metadata``; ``POST <issuer>/credentials`` a CredentialRequestMessage with our self-issued
token (``aud`` the issuer's DID) whose ``token`` claim is a *write grant*: a JWS we sign
(``typ: JWT``) with ``iss = aud =`` us, ``sub`` = the issuer, ``scope`` :data:`WRITE_SCOPE`,
``holderPid`` and an expiry. The issuer answers 201 with the request's status URL, which we
poll (``CredentialStatus``) until it is ``ISSUED`` or ``REJECTED``.

**Storing** (:func:`store_delivery`, the Credential Service's ``POST /credentials``): the
issuer's self-issued token must verify (``aud`` us) and its issuer be one we trust; its
``token`` must be our own write grant, for that issuer and that ``holderPid``, unexpired; the
CredentialMessage must be well formed; every credential must verify (signed by that issuer,
about us, valid now, not revoked on its status list). Any failure refuses the whole message
with the reason and stores nothing; otherwise the credentials replace same-typed ones from
that issuer in the wallet file.

**Renewing** (:class:`CredentialRenewal`): a credential whose ``validUntil`` is less than the
margin away is requested again from its issuer, found through the ``IssuerService`` entry of the
issuer's DID document; time is an argument.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import httpx

from .credentials import (
    CredentialError,
    StatusLists,
    VerifiedCredential,
    jws_encode,
    jws_unverified,
    jws_verify,
    parse_time,
    verify_credential,
)
from .dcp import ReplayCache, SelfIssuedTokens, TokenIds, create_id_token
from .dcp_issuance import CredentialMessage, IssuanceRefused, bearer_token, parse_message, request_message
from .did import IdentityError
from .vc11 import VC20, credential_profile
from .wallet import LocalIdentity, Wallet

log = logging.getLogger("pontis.identity")
WRITE_SCOPE = "org.eclipse.dspace.dcp.credentials:write"
_WALLET_WRITE = threading.Lock()
GRANT_SECONDS = 24 * 3600  # an issuer with a manual approval step may take a while to deliver
ISSUER_SERVICE = "IssuerService"


class DeliveryRefused(IdentityError):
    """A CredentialMessage we do not store; ``status`` is the HTTP answer (401 or 400)."""

    code = "refused"

    def __init__(self, reason: str, *, status: int = 400, code: str = "refused") -> None:
        super().__init__(reason, code=code)
        self.status = status


# --- the write grant ------------------------------------------------------------------------------

def write_grant(identity: LocalIdentity, issuer_did: str, holder_pid: str, *, now: int) -> str:
    """The access token an issuer needs to write the credentials of ``holder_pid`` to us."""
    claims = {"iss": identity.did, "sub": issuer_did, "aud": identity.did, "scope": WRITE_SCOPE,
              "holderPid": holder_pid, "jti": str(uuid.uuid4()), "iat": now, "exp": now + GRANT_SECONDS}
    return jws_encode(claims, identity.key, typ="JWT", kid=identity.kid)


def check_write_grant(identity: LocalIdentity, grant: Any, issuer_did: str, holder_pid: str | None, *,
                      now: float) -> None:
    if not isinstance(grant, str) or not grant:
        raise DeliveryRefused("the issuer's token carries no write grant (its 'token' claim)", status=401,
                              code="no_grant")
    try:
        header, claims = jws_unverified(grant, "write grant")
        if header.get("kid") not in {k for k in (identity.kid, identity.key.id)}:
            raise DeliveryRefused(f"the write grant is signed by {header.get('kid')}, not by our active key",
                                  status=401, code="forged")
        jws_verify(grant, identity.key.public_key, "write grant")
    except CredentialError as exc:
        raise DeliveryRefused(f"the write grant does not verify: {exc.reason}", status=401, code="forged") from None
    if claims.get("iss") != identity.did or claims.get("aud") != identity.did or claims.get("scope") != WRITE_SCOPE:
        raise DeliveryRefused("the write grant is not ours for writing credentials", status=401, code="forged")
    if claims.get("sub") != issuer_did:
        raise DeliveryRefused(f"the write grant was given to {claims.get('sub')}, not to {issuer_did}", status=401,
                              code="wrong_issuer")
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp < now:
        raise DeliveryRefused("the write grant has expired", status=401, code="expired")
    if holder_pid is not None and claims.get("holderPid") != holder_pid:
        raise DeliveryRefused(f"the write grant is for request {claims.get('holderPid')}, not {holder_pid}",
                              status=401, code="wrong_request")


# --- storing a delivery ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Delivery:
    issuer: str
    holder_pid: str | None
    status: str
    stored: tuple[VerifiedCredential, ...] = ()
    reason: str | None = None


def verify_issuer_token(identity: LocalIdentity, authorization: str | None, *, now: float,
                        replay: TokenIds, leeway_seconds: int = 10) -> tuple[str, dict[str, Any]]:
    """(issuer DID, claims) of a self-issued token addressed to us; DeliveryRefused (401) otherwise."""
    token = bearer_token(authorization)
    if not token:
        raise DeliveryRefused("no Authorization header: the issuer must send its self-issued token", status=401,
                              code="missing_token")
    checker = SelfIssuedTokens(identity.did, identity.resolver, replay, leeway_seconds=leeway_seconds)
    try:
        return checker.verify(token, now)
    except IdentityError as exc:
        raise DeliveryRefused(exc.reason, status=401, code=exc.code) from None


def store_delivery(identity: LocalIdentity, body: Any, authorization: str | None, *,
                   trusted_issuers: Iterable[str], status_lists: StatusLists | None, now: datetime,
                   replay: TokenIds | None = None, leeway_seconds: int = 10) -> Delivery:
    """Check a CredentialMessage (see the module docstring) and store what it delivers."""
    issuer, claims = verify_issuer_token(identity, authorization, now=now.timestamp(), leeway_seconds=leeway_seconds,
                                         replay=replay if replay is not None else ReplayCache())
    if issuer not in set(trusted_issuers):
        raise DeliveryRefused(f"{issuer} is not a trusted issuer (identity.trusted_issuers)", status=403,
                              code="untrusted_issuer")
    try:
        message: CredentialMessage = parse_message(CredentialMessage, body)
    except IssuanceRefused as exc:
        raise DeliveryRefused(exc.reason, code="malformed") from None
    check_write_grant(identity, claims.get("token"), issuer, message.holderPid, now=now.timestamp())
    if message.status == "REJECTED":
        log.warning("issuer %s rejected request %s: %s", issuer, message.holderPid, message.rejectionReason)
        return Delivery(issuer, message.holderPid, "REJECTED", reason=message.rejectionReason)
    if not message.credentials:
        raise DeliveryRefused("credentials: an ISSUED CredentialMessage must carry at least one credential")
    verified = []
    for i, container in enumerate(message.credentials):
        if container.format not in ("jwt", "vc+jwt"):
            raise DeliveryRefused(f"credentials[{i}].format: {container.format!r} is not supported (expected jwt)")
        try:
            credential = verify_credential(container.payload, identity.resolver, trusted_issuers=[issuer],
                                           status_lists=status_lists, holder=identity.did, now=now)
        except CredentialError as exc:
            raise DeliveryRefused(f"credentials[{i}] ({container.credentialType}): {exc.reason}",
                                  code=exc.code) from None
        if container.credentialType not in credential.types:
            raise DeliveryRefused(f"credentials[{i}]: announced as {container.credentialType}, but it is a "
                                  f"{'/'.join(credential.types)}")
        verified.append((credential, container.payload))
    _store(identity, verified)
    log.info("stored %s from %s (request %s)", ", ".join(c.types[-1] for c, _ in verified), issuer,
             message.holderPid)
    return Delivery(issuer, message.holderPid, "ISSUED", tuple(c for c, _ in verified))


def _store(identity: LocalIdentity, verified: list[tuple[VerifiedCredential, str]]) -> None:
    if identity.wallet.path is None:
        raise DeliveryRefused("this connector has no wallet file to store credentials in", status=500)
    with _WALLET_WRITE:  # two deliveries at once must not lose one (read, change, write)
        _store_locked(identity, verified)


def _store_locked(identity: LocalIdentity, verified: list[tuple[VerifiedCredential, str]]) -> None:
    assert identity.wallet.path is not None
    wallet = Wallet.load(identity.wallet.path)
    for credential, jwt in verified:
        # a renewed credential replaces the one it renews (same issuer, same type)
        for old in [e for e in wallet.entries if e.get("issuer") == credential.issuer
                    and list(e.get("type", []))[-1:] == [credential.types[-1]]]:
            wallet.remove(old["id"])
        wallet.add({"id": credential.id, "type": ["VerifiableCredential", *credential.types],
                    "issuer": credential.issuer, "subject": credential.subject.get("id"),
                    "validUntil": credential.valid_until, "jwt": jwt, "profile": credential_profile(jwt) or VC20})
    wallet.save()
    identity.wallet.refresh()


# --- requesting --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RequestOutcome:
    issuer: str
    holder_pid: str
    issuer_pid: str | None
    status: str
    reason: str | None = None


def _json(response: httpx.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise IssuanceRefused(f"{what} answered {response.status_code} with no JSON: {response.text[:200]}") from None


def _refusal(response: httpx.Response, what: str) -> IssuanceRefused:
    try:
        body = response.json()
        reason = body.get("reason") or body.get("error") or body
    except ValueError:
        reason = response.text[:300]
    return IssuanceRefused(f"{what} answered {response.status_code}: {reason}", status=response.status_code)


def fetch_metadata(http: httpx.Client, issuer_url: str) -> dict[str, Any]:
    url = issuer_url.rstrip("/") + "/metadata"
    response = http.get(url)
    if response.status_code != 200:
        raise _refusal(response, f"GET {url}")
    metadata = _json(response, f"GET {url}")
    if not isinstance(metadata, dict) or metadata.get("type") != "IssuerMetadata" or \
            not isinstance(metadata.get("issuer"), str):
        raise IssuanceRefused(f"GET {url} did not answer with IssuerMetadata")
    return metadata


def send_request(identity: LocalIdentity, http: httpx.Client, issuer_url: str, types: list[str], *,
                 now: int, profile: str = VC20) -> tuple[RequestOutcome, str]:
    """POST a CredentialRequestMessage for ``types`` in the DCP ``profile``; (the outcome so far, the status URL)."""
    metadata = fetch_metadata(http, issuer_url)
    issuer = metadata["issuer"]
    holder_pid = f"urn:uuid:{uuid.uuid4()}"
    message = request_message(holder_pid, types, metadata, profile)
    token = create_id_token(identity, issuer, now=now, presentation=False,
                            token=write_grant(identity, issuer, holder_pid, now=now))
    url = issuer_url.rstrip("/") + "/credentials"
    response = http.post(url, json=message, headers={"Authorization": f"Bearer {token}"})
    if response.status_code != 201:
        raise _refusal(response, f"POST {url}")
    location = response.headers.get("Location")
    if not location:
        raise IssuanceRefused(f"POST {url} answered 201 without a Location header")
    status_url = urljoin(url, location)
    return RequestOutcome(issuer, holder_pid, status_url.rstrip("/").rsplit("/", 1)[-1], "RECEIVED"), status_url


def request_status(identity: LocalIdentity, http: httpx.Client, status_url: str, issuer: str, *,
                   now: int) -> dict[str, Any]:
    token = create_id_token(identity, issuer, now=now, presentation=False)
    response = http.get(status_url, headers={"Authorization": f"Bearer {token}"})
    if response.status_code != 200:
        raise _refusal(response, f"GET {status_url}")
    status = _json(response, f"GET {status_url}")
    if not isinstance(status, dict) or status.get("type") != "CredentialStatus":
        raise IssuanceRefused(f"GET {status_url} did not answer with a CredentialStatus")
    return status


def request_credentials(identity: LocalIdentity, http: httpx.Client, issuer_url: str, types: list[str], *,
                        clock: Callable[[], float] = time.time, wait_seconds: float = 30.0,
                        poll_seconds: float = 0.05, profile: str = VC20) -> RequestOutcome:
    """Request ``types`` (in the DCP ``profile``) and wait (up to ``wait_seconds``) until the issuer says how it ended."""
    outcome, status_url = send_request(identity, http, issuer_url, types, now=int(clock()), profile=profile)
    deadline = clock() + wait_seconds
    while True:
        status = request_status(identity, http, status_url, outcome.issuer, now=int(clock()))
        if status.get("status") != "RECEIVED" or clock() >= deadline:
            return RequestOutcome(outcome.issuer, outcome.holder_pid, outcome.issuer_pid, str(status.get("status")),
                                  status.get("rejectionReason") or status.get("reason"))
        time.sleep(poll_seconds)


# --- renewing ----------------------------------------------------------------------------------------

def issuer_service_url(document: dict[str, Any]) -> str | None:
    """The ``IssuerService`` endpoint of an issuer's DID document."""
    for service in document.get("service", []) if isinstance(document.get("service"), list) else []:
        if isinstance(service, dict) and service.get("type") == ISSUER_SERVICE and \
                isinstance(service.get("serviceEndpoint"), str):
            return service["serviceEndpoint"]
    return None


def due_for_renewal(wallet: Wallet, now: datetime, margin: timedelta) -> dict[str, list[str]]:
    """issuer DID → the credential types whose ``validUntil`` is within ``margin`` of ``now``."""
    due: dict[str, list[str]] = {}
    for entry in wallet.entries:
        until, issuer, types = entry.get("validUntil"), entry.get("issuer"), entry.get("type") or []
        if not isinstance(until, str) or not isinstance(issuer, str) or not types:
            continue
        try:
            expires = parse_time(until, "validUntil")
        except CredentialError:
            continue
        if expires - margin <= now and types[-1] not in due.get(issuer, []):
            due.setdefault(issuer, []).append(types[-1])
    return due


class CredentialRenewal:
    """Asks issuers for fresh credentials before the held ones expire (one pass per :meth:`run_once`)."""

    def __init__(self, identity: LocalIdentity, http: httpx.Client, *, margin: timedelta,
                 retry_after: timedelta = timedelta(hours=1)) -> None:
        self.identity = identity
        self.http = http
        self.margin = margin
        self.retry_after = retry_after
        self._asked: dict[tuple[str, str], datetime] = {}

    def run_once(self, now: datetime) -> list[RequestOutcome]:
        """Send one request per issuer for what is due; a request in flight is not repeated before
        ``retry_after``. Failures are logged and retried on a later pass."""
        self.identity.wallet.refresh()
        sent = []
        for issuer, types in due_for_renewal(self.identity.wallet, now, self.margin).items():
            types = [t for t in types if now - self._asked.get((issuer, t), now - self.retry_after) >= self.retry_after]
            if not types:
                continue
            # renewed in the profile it was held in (a vc11-sl2021/jwt credential stays one)
            by_profile: dict[str, list[str]] = {}
            for t in types:
                by_profile.setdefault(held_profile(self.identity.wallet, issuer, t), []).append(t)
            for profile, kinds in by_profile.items():
                try:
                    endpoint = issuer_service_url(self.identity.resolver.resolve(issuer))
                    if endpoint is None:
                        raise IssuanceRefused(f"the DID document of {issuer} names no {ISSUER_SERVICE}")
                    outcome, _ = send_request(self.identity, self.http, endpoint, kinds, now=int(now.timestamp()),
                                              profile=profile)
                except (IdentityError, httpx.HTTPError) as exc:
                    log.warning("renewing %s from %s failed: %s", ", ".join(kinds), issuer,
                                getattr(exc, "reason", exc))
                    continue
                for t in kinds:
                    self._asked[(issuer, t)] = now
                log.info("asked %s to renew %s (request %s)", issuer, ", ".join(kinds), outcome.holder_pid)
                sent.append(outcome)
        return sent


def held_profile(wallet: Wallet, issuer: str, credential_type: str) -> str:
    """The DCP profile of the held ``credential_type`` from ``issuer`` (vc20-bssl/jwt if unknown)."""
    for entry in wallet.entries:
        if entry.get("issuer") == issuer and list(entry.get("type") or [])[-1:] == [credential_type]:
            return entry.get("profile") or credential_profile(entry.get("jwt")) or VC20
    return VC20
