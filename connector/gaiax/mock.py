"""A local Gaia-X Digital Clearing House: Notary, Compliance and Registry with a mock trust anchor
(research §5.2), for tests, ``make demo`` and ``connector gaiax mock``.

It refuses what the real services refuse, with their error shape
``{"message", "error", "statusCode", "errors": [...]}``: a body that is not a JWT or not sent as
``application/vp+jwt``, a VP without the ``iss`` header, a bad signature, a signer whose x5u chain
does not end at the trust anchor, a missing LegalPerson / Issuer / registration number, a wrong
T&C hash, a registration number not issued by the Notary, and a SHACL violation. On success the
compliance service answers 201 with a ``gx:LabelCredential`` VC-JWT.

Its DIDs are did:web under its own base URL (``…/notary/v2``, ``…/compliance/v2``), so verifiers
resolve them like any partner's. The root CA lives in ``ca_dir`` so that ``connector gaiax init``
can issue development chains under the same anchor.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from connector.identity.did import DidResolver, did_web_for_url
from connector.services.ssrf import Allowlist, OutgoingGuard
from connector.services.transport import DocumentFetch

from .credentials import CONTEXT, stamp, subjects_of, types_of
from .jose import JoseError, sign_vc, unenvelop, verify_jwt
from .keys import CertificateAuthority, ChainError, GaiaxKey, chain_pem, generate_private_key, parse_chain, verify_chain
from .label import LEVEL_OF_PATH, label_credential
from .shapes import ShapeViolation, validator

TERMS_HASHES = frozenset({"067dcac5efd18c1927deb1ffed3feab6d0ad044c0a9a263e6d5d8bdc43224515",
                          "4bd7554097444c960292b4726c2efa1373485e8a5565d94d41195214c5e0ceb3"})
SYNTAX = {"vat-id": r"^[A-Z]{2}[0-9A-Z]{2,13}$", "lei-code": r"^[0-9A-Z]{18}[0-9]{2}$",
          "eori": r"^[A-Z]{2}[0-9A-Z]{1,15}$", "euid": r"^[A-Z]{2}[0-9A-Za-z.\-]{3,40}$", "tax-id": r"^[0-9A-Z\-]{4,20}$"}
REGISTRATION = {"vat-id": ("gx:VatID", "gx:vatID"), "lei-code": ("gx:LeiCode", "schema:leiCode"),
                "eori": ("gx:EORI", "gx:eori"), "euid": ("gx:EUID", "gx:euid"), "tax-id": ("gx:TaxID", "schema:taxID")}
STATUS_TEXT = {400: "Bad Request", 404: "Not Found", 409: "Conflict"}


def gx_error(status: int, message: str, errors: list[str] | None = None) -> JSONResponse:
    return JSONResponse({"message": message, "error": STATUS_TEXT.get(status, "Error"), "statusCode": status,
                         "errors": errors or []}, status_code=status)


class Refusal(Exception):
    def __init__(self, message: str, errors: list[str] | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.errors, self.status = message, errors or [], status


class MockGxdch:
    """The three services' state: the trust anchor, the two service keys, and how to fetch."""

    def __init__(self, base_url: str, ca: CertificateAuthority, *, now: Callable[[], datetime] | None = None,
                 rules_version: str = "CD25.10", label_days: int = 90,
                 fetch: Callable[[str], bytes] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.ca = ca
        self.now = now or (lambda: datetime.now(UTC))
        self.rules_version, self.label_days = rules_version, label_days
        self.keys: dict[str, GaiaxKey] = {}
        self.chains: dict[str, bytes] = {}
        for service in ("notary", "compliance"):
            path = f"/{service}/v2"
            did = did_web_for_url(self.base_url + path)
            private = generate_private_key()
            self.chains[service] = chain_pem(ca.issue(private.public_key(), f"Pontis mock {service}", self.now()))
            self.keys[service] = GaiaxKey(private, f"{did}#key-1", f"{self.base_url}{path}/chain.pem")
        guard = OutgoingGuard(Allowlist.parse(["localhost", "127.0.0.1", "::1"]))
        self._fetch = fetch or DocumentFetch(guard, max_bytes=1 << 20)
        self.resolver = DidResolver(allow_insecure_localhost=True, fetch=self._fetch, ttl_seconds=5,
                                    documents=[self.did_document(s) for s in self.keys])

    def did(self, service: str) -> str:
        return self.keys[service].did

    def did_document(self, service: str) -> dict[str, Any]:
        key = self.keys[service]
        return {"@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
                "id": key.did, "verificationMethod": [key.verification_method()],
                "assertionMethod": [key.kid]}

    # --- registry ---------------------------------------------------------------------------

    def check_chain(self, x5u: str) -> None:
        """Raise :class:`ChainError` unless the chain at ``x5u`` ends at our trust anchor."""
        own = {key.x5u: self.chains[service] for service, key in self.keys.items()}
        try:
            pem = own[x5u] if x5u in own else self._fetch(x5u)
        except Exception as exc:  # noqa: BLE001 - any failure to fetch means "unverifiable"
            raise ChainError(f"cannot fetch the certificate chain at {x5u}: {exc}") from None
        verify_chain(parse_chain(pem), [self.ca.certificate], self.now())

    # --- notary -----------------------------------------------------------------------------

    def registration_number(self, kind: str, value: str, vc_id: str | None, subject_id: str | None) -> str:
        if kind not in SYNTAX:
            raise Refusal(f"unknown registration number type {kind!r}", [f"expected one of {', '.join(SYNTAX)}"], 404)
        if not vc_id or not subject_id:
            raise Refusal("vcId and subjectId are required", ["query parameters vcId and subjectId"])
        if not re.fullmatch(SYNTAX[kind], value):
            raise Refusal(f"the {kind} {value!r} is not valid", [f"{kind} must match {SYNTAX[kind]}"])
        gx_type, key = REGISTRATION[kind]
        now = self.now()
        subject: dict[str, Any] = {"id": subject_id, "type": gx_type, key: value}
        if kind == "vat-id":
            subject["gx:countryCode"] = value[:2]
        issued = stamp(now)
        credential = {"@context": CONTEXT, "type": ["VerifiableCredential", gx_type], "id": vc_id,
                      "issuer": self.did("notary"), "validFrom": issued, "credentialSubject": subject,
                      "evidence": {"gx:evidenceURL": f"{self.base_url}/notary/v2 (mock: syntax check only)",
                                   "gx:executionDate": issued, "gx:evidenceOf": gx_type}}
        return sign_vc(credential, self.keys["notary"])

    # --- compliance -------------------------------------------------------------------------

    def comply(self, vp_jwt: str, level: str, label_id: str | None) -> str:
        if level not in LEVEL_OF_PATH:
            raise Refusal(f"unknown compliance level {level!r}", [f"expected one of {', '.join(LEVEL_OF_PATH)}"], 404)
        if not label_id:
            raise Refusal("vcid is required", ["query parameter vcid: the id of the label credential"])
        now = self.now()
        try:
            vp = verify_jwt(vp_jwt, "vp", self.resolver, now, chain_check=self.check_chain)
        except (JoseError, ChainError) as exc:
            raise Refusal("Invalid verifiable presentation", [str(exc)]) from None
        tokens: list[str] = []
        payloads: list[dict[str, Any]] = []
        errors: list[str] = []
        try:
            tokens = unenvelop(vp.payload)
        except JoseError as exc:
            raise Refusal("Invalid verifiable presentation", [str(exc)]) from None
        for i, token in enumerate(tokens):
            try:
                payloads.append(verify_jwt(token, "vc", self.resolver, now, chain_check=self.check_chain).payload)
            except (JoseError, ChainError) as exc:
                errors.append(f"verifiableCredential[{i}]: {exc}")
        if errors:
            raise Refusal("Invalid verifiable credential", errors)
        by_type: dict[str, list[dict[str, Any]]] = {}
        for payload in payloads:
            for t in types_of(payload):
                by_type.setdefault(t, []).append(payload)
        for needed in ("gx:LegalPerson", "gx:Issuer"):
            if not by_type.get(needed):
                errors.append(f"a {needed} credential is missing")
            elif any(p.get("issuer") != vp.issuer for p in by_type[needed]):
                errors.append(f"the {needed} credential must be issued by the presentation's signer {vp.issuer}")
        for issuer in by_type.get("gx:Issuer", []):
            got = (issuer.get("credentialSubject") or {}).get("gx:gaiaxTermsAndConditions")
            if got not in TERMS_HASHES:
                errors.append(f"gx:gaiaxTermsAndConditions {got!r} is not the hash of the Gaia-X Terms and Conditions")
        registrations = [p for t, ps in by_type.items() if t in {v[0] for v in REGISTRATION.values()} for p in ps]
        if not registrations:
            errors.append("a registration number credential issued by a trusted notary is missing")
        elif not any(p.get("issuer") == self.did("notary") for p in registrations):
            errors.append("the registration number credential is not issued by a trusted notary "
                          f"(trusted: {self.did('notary')})")
        if errors:
            raise Refusal("Invalid verifiable presentation", errors)
        try:
            validator().check(subjects_of(payloads))
        except ShapeViolation as exc:
            raise Refusal("SHACL validation failed", [r.text for r in exc.results]) from None
        label = label_credential(self.did("compliance"), label_id, tokens, LEVEL_OF_PATH[level], now,
                                 valid_days=self.label_days, rules_version=self.rules_version)
        return sign_vc(label, self.keys["compliance"])


def mock_router(mock: MockGxdch) -> APIRouter:
    router = APIRouter()

    def _did(service: str) -> Callable[[], JSONResponse]:
        return lambda: JSONResponse(mock.did_document(service))

    def _chain(service: str) -> Callable[[], Response]:
        return lambda: Response(mock.chains[service], media_type="application/x-pem-file")

    for service in ("notary", "compliance"):
        router.add_api_route(f"/{service}/v2/did.json", _did(service), methods=["GET"])
        router.add_api_route(f"/{service}/v2/chain.pem", _chain(service), methods=["GET"])

    @router.get("/trust-anchor/root.pem")
    def root_pem() -> Response:
        return Response(chain_pem([mock.ca.certificate]), media_type="application/x-pem-file")

    @router.get("/notary/v2/registration-numbers/{kind}/{value}")
    def notary(kind: str, value: str, vcId: str | None = None, subjectId: str | None = None) -> Response:  # noqa: N803
        try:
            return Response(mock.registration_number(kind, value, vcId, subjectId), media_type="application/vc+jwt")
        except Refusal as exc:
            return gx_error(exc.status, exc.message, exc.errors)

    @router.post("/compliance/v2/api/credential-offers/{level}")
    async def compliance(level: str, request: Request, vcid: str | None = None) -> Response:
        body = (await request.body()).decode("utf-8", "replace").strip()
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/vp+jwt":
            return gx_error(400, "The payload is not a valid JWT and was not decoded",
                            ["Content-Type must be application/vp+jwt"])
        import anyio

        try:
            label = await anyio.to_thread.run_sync(lambda: mock.comply(body, level, vcid))
        except Refusal as exc:
            return gx_error(exc.status, exc.message, exc.errors)
        return Response(label, status_code=201, media_type="application/vc+jwt")

    @router.post("/registry/v2/api/trustAnchor/chain/file")
    def registry_chain(body: dict[str, Any]) -> Response:
        uri = body.get("uri") if isinstance(body, dict) else None
        if not isinstance(uri, str):
            return gx_error(400, "a body {\"uri\": \"<x5u>\"} is required")
        try:
            mock.check_chain(uri)
        except ChainError as exc:
            return gx_error(404, "the certificate chain could not be verified against a trust anchor", [str(exc)])
        return JSONResponse({"result": True})

    @router.get("/registry/v2/api/trusted-issuers")
    def trusted_issuers() -> JSONResponse:
        return JSONResponse({"items": [mock.did("notary"), mock.did("compliance")]})

    return router


def create_mock_app(base_url: str, ca_dir: Path | str, *, now: Callable[[], datetime] | None = None,
                    fetch: Callable[[str], bytes] | None = None) -> tuple[FastAPI, MockGxdch]:
    ca = CertificateAuthority.load_or_create(ca_dir, "Pontis mock Gaia-X trust anchor", (now or (lambda: datetime.now(UTC)))())
    mock = MockGxdch(base_url, ca, now=now, fetch=fetch)
    app = FastAPI(title="Pontis mock GXDCH", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(mock_router(mock))
    return app, mock
