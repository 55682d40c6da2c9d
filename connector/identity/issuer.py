"""The data-space issuer: its DID and keys, issuing credentials, revoking them, publishing.

Any company can run the issuer of a test data space. Its state is a folder::

    issuer.json       public state: DID, status-list URL, which indices are used and revoked, what was issued
    keys.json         the issuer's Ed25519 key set (0600; passphrase from PONTIS_KEY_PASSPHRASE if set)
    did.json          the published DID document        } rewritten on every change; a connector
    status-list.jwt   the published status list (vc+jwt) } with identity.issuer_dir serves both

The issuer's DID is a did:web. ``did:web:localhost%3A8181:issuer`` is served by the connector
on port 8181 at ``/issuer/did.json``, and its revocation list at ``/issuer/status-list``
(``http://`` for localhost, ``https://`` otherwise). Serving needs only the public files, so the
connector never loads the issuer's secret key; ``connector issuer revoke`` rewrites
``status-list.jwt`` and verifiers see the revocation when their cached copy expires.

Status-list indices are drawn at random from the free ones (the Bitstring Status List spec's
advice: sequential indices would tell a verifier the issuance order).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .credentials import (
    CREDENTIAL_TYPES,
    STATUS_LIST_BITS,
    CredentialError,
    build_credential,
    format_time,
    secure_data_integrity,
    secure_jwt,
    status_entry,
    status_list_credential,
    utcnow,
)
from .did import IdentityError, build_did_document, did_web_base_url, did_web_path, jwk_vm_id
from .jws import jws_encode
from .keys import KeySet, SigningKey, _write_private
from .status_list import set_bit
from .vc11 import PROFILES, VC11, VC20, as_vc11, secure_vc11, status_entry_2021, status_list_2021_jwt
from .wallet import Wallet, load_keys

ISSUER_TYPE = "PontisIssuer"
STATE, KEYS, DID_DOCUMENT, STATUS_LIST = "issuer.json", "keys.json", "did.json", "status-list.jwt"
STATUS_LIST_2021 = "status-list-2021.jwt"  # the same bits as a StatusList2021Credential (vc11-sl2021/jwt)
BPN_PATTERN = r"^BPNL[0-9A-Z]{12}$"


def issuer_service_base(did: str) -> str:
    """``did:web:host:issuer`` → ``http(s)://host/issuer/dcp``: where the DCP issuance API is served."""
    return did_web_base_url(did) + "/dcp"


class IssuerError(IdentityError):
    code = "issuer"


@dataclass(frozen=True)
class IssuedCredential:
    credential: dict[str, Any]
    jwt: str
    data_integrity: dict[str, Any] | None  # VCDM 2.0 credentials only
    profile: str = VC20

    def to_json(self) -> dict[str, Any]:
        """The wallet entry (see :mod:`connector.identity.wallet`)."""
        c = self.credential
        entry = {"id": c["id"], "type": c["type"], "issuer": c["issuer"], "subject": c["credentialSubject"]["id"],
                 "validUntil": c.get("validUntil") or c.get("expirationDate"), "jwt": self.jwt, "profile": self.profile}
        if self.data_integrity is not None:
            entry["dataIntegrity"] = self.data_integrity
        return entry


def _write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)  # readers (the serving connector) never see half a file
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_state(directory: Path) -> dict[str, Any]:
    try:
        state = json.loads((directory / STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IssuerError(f"{directory} holds no issuer ({STATE}: {exc}); run `connector issuer init` first") from None
    if not isinstance(state, dict) or state.get("type") != ISSUER_TYPE:
        raise IssuerError(f"{directory / STATE} is not a {ISSUER_TYPE} file")
    return state


class Issuer:
    def __init__(self, directory: Path | str, state: dict[str, Any], keys: KeySet) -> None:
        self.directory = Path(directory)
        self.state = state
        self.keys = keys

    # --- set-up ---------------------------------------------------------------------------------

    @classmethod
    def init(cls, directory: Path | str, did: str, *, status_list_url: str | None = None,
             passphrase: str | None = None, force: bool = False) -> Issuer:
        """Create an issuer: a key set for ``did``, an empty revocation list, the published files."""
        directory = Path(directory)
        if (directory / STATE).exists() and not force:
            raise IssuerError(f"{directory} already holds an issuer; pass force to replace it")
        if not did.startswith("did:web:"):
            raise IssuerError(f"the issuer's DID must be a did:web (it publishes a DID document), not {did!r}")
        url = status_list_url or did_web_base_url(did) + "/status-list"
        directory.mkdir(parents=True, exist_ok=True)
        keys = KeySet(SigningKey.generate(f"{did}#key-1", did))
        keys.save(directory / KEYS, passphrase)
        state = {"type": ISSUER_TYPE, "version": 1, "did": did, "statusListUrl": url,
                 "statusListBits": STATUS_LIST_BITS, "revoked": [], "issued": []}
        issuer = cls(directory, state, keys)
        issuer._save()
        return issuer

    @classmethod
    def load(cls, directory: Path | str, passphrase: str | None = None) -> Issuer:
        directory = Path(directory)
        return cls(directory, _read_state(directory), load_keys(directory / KEYS, passphrase))

    @property
    def did(self) -> str:
        return self.state["did"]

    @property
    def status_list_url(self) -> str:
        return self.state["statusListUrl"]

    @property
    def status_list_2021_url(self) -> str:
        return self.status_list_url + "-2021"

    @property
    def key(self) -> SigningKey:
        return self.keys.active

    @property
    def service_url(self) -> str:
        """The base URL of its DCP issuer service (``connector issuer serve``)."""
        return issuer_service_base(self.did)

    def did_document(self) -> dict[str, Any]:
        service = {"id": f"{self.did}#issuer-service", "type": "IssuerService", "serviceEndpoint": self.service_url}
        return build_did_document(self.did, self.keys, services=[service])

    # --- issuing and revoking -------------------------------------------------------------------

    def issue(self, subject: str, kind: str, *, bpn: str | None = None, contract_version: str = "1.0",
              valid_from: datetime | None = None, valid_until: datetime | None = None, valid_days: int = 365,
              now: datetime | None = None, profile: str = VC20) -> IssuedCredential:
        """Issue ``kind`` (Membership, Bpn, DataExchangeGovernance or the full type) to ``subject``, in the
        DCP ``profile`` (``vc20-bssl/jwt``: VCDM 2.0 vc+jwt; ``vc11-sl2021/jwt``: VCDM 1.1 JWT)."""
        if profile not in PROFILES:
            raise IssuerError(f"unknown credential profile {profile!r} (one of {', '.join(PROFILES)})")
        if kind not in CREDENTIAL_TYPES and kind not in CREDENTIAL_TYPES.values():
            raise IssuerError(f"unknown credential type {kind!r} (one of {', '.join(CREDENTIAL_TYPES)})")
        if not subject.startswith("did:"):
            raise IssuerError(f"the subject must be a DID, not {subject!r}")
        if bpn is not None and not re.match(BPN_PATTERN, bpn):
            raise IssuerError(f"{bpn!r} is not a legal-entity BPN (BPNL + 12 digits or capitals)")
        now = now or utcnow()
        valid_from = valid_from or now
        valid_until = valid_until or valid_from + timedelta(days=valid_days)
        with self._locked():
            self.state = _read_state(self.directory)
            index = self._free_index()
            try:
                credential = build_credential(
                    kind, issuer=self.did, subject=subject, bpn=bpn, contract_version=contract_version,
                    credential_id=f"urn:uuid:{uuid.uuid4()}", valid_from=valid_from, valid_until=valid_until,
                    status=status_entry(self.status_list_url, index) if profile == VC20 else
                    status_entry_2021(self.status_list_2021_url, index))
            except CredentialError as exc:
                raise IssuerError(exc.reason) from None
            kid = jwk_vm_id(self.key.id)
            if profile == VC11:
                credential = as_vc11(credential)
                issued = IssuedCredential(credential, secure_vc11(credential, self.key, kid), None, VC11)
            else:
                issued = IssuedCredential(credential, secure_jwt(credential, self.key, kid),
                                          secure_data_integrity(credential, self.key, created=format_time(now)))
            self.state["issued"].append({"id": credential["id"], "type": credential["type"][-1],
                                         "subject": subject, "statusListIndex": index, "profile": profile,
                                         "validUntil": credential.get("validUntil") or credential.get("expirationDate"),
                                         "issued": format_time(now)})
            self._save()
        return issued

    def revoke(self, credential_id: str) -> int:
        """Revoke an issued credential (by id); returns its status-list index."""
        with self._locked():
            self.state = _read_state(self.directory)
            entry = next((e for e in self.state["issued"] if e["id"] == credential_id), None)
            if entry is None:
                raise IssuerError(f"this issuer has issued no credential {credential_id}")
            if entry["statusListIndex"] not in self.state["revoked"]:
                self.state["revoked"].append(entry["statusListIndex"])
            self._save()
        return entry["statusListIndex"]

    def _revoked_bits(self) -> bytes:
        bits = bytearray(self.state["statusListBits"] // 8)
        for index in self.state["revoked"]:
            set_bit(bits, index)
        return bytes(bits)

    def status_list_jwt(self, now: datetime | None = None) -> str:
        listed = status_list_credential(self.did, self.status_list_url, self._revoked_bits(), valid_from=now or utcnow())
        return jws_encode(listed, self.key, typ="vc+jwt", cty="vc", kid=jwk_vm_id(self.key.id))

    def status_list_2021_jwt(self, now: datetime | None = None) -> str:
        """The same revocations as a StatusList2021Credential, for the vc11-sl2021/jwt credentials."""
        return status_list_2021_jwt(self.did, self.status_list_2021_url, self._revoked_bits(), self.key,
                                    jwk_vm_id(self.key.id), issued=format_time(now or utcnow()))

    def _free_index(self) -> int:
        used = {e["statusListIndex"] for e in self.state["issued"]}
        size = self.state["statusListBits"]
        if len(used) >= size // 2:  # keep random draws cheap; a real issuer would open a new list
            raise IssuerError("the status list is half full; start a new issuer list")
        while True:
            index = secrets.randbelow(size)
            if index not in used:
                return index

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # two `connector issuer` commands at once must not hand out one index twice
        with open(self.directory / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _save(self) -> None:
        _write_private(self.directory / STATE, self.state)
        _write_private(self.directory / DID_DOCUMENT, self.did_document())
        _write_text(self.directory / STATUS_LIST, self.status_list_jwt() + "\n")
        _write_text(self.directory / STATUS_LIST_2021, self.status_list_2021_jwt() + "\n")


# --- serving (public files only) ---------------------------------------------------------------

@dataclass(frozen=True)
class PublishedIssuer:
    """What a connector serves for an issuer folder: paths from the public state, files read per request."""

    directory: Path
    did: str
    did_path: str
    status_path: str

    @property
    def status_2021_path(self) -> str:
        return self.status_path + "-2021"

    def did_document(self) -> dict[str, Any]:
        return json.loads((self.directory / DID_DOCUMENT).read_text(encoding="utf-8"))

    def status_list(self) -> str:
        return (self.directory / STATUS_LIST).read_text(encoding="utf-8").strip()

    def status_list_2021(self) -> str | None:
        """The StatusList2021 twin, or None for an issuer folder written before it existed."""
        path = self.directory / STATUS_LIST_2021
        return path.read_text(encoding="utf-8").strip() if path.exists() else None


def published(directory: Path | str) -> PublishedIssuer:
    directory = Path(directory)
    state = _read_state(directory)
    return PublishedIssuer(directory, state["did"], did_web_path(state["did"]),
                           urlsplit(state["statusListUrl"]).path)


def provision(issuer: Issuer, subject: str, *, bpn: str | None, wallet: Wallet | None = None,
              kinds: tuple[str, ...] = ("Membership", "Bpn", "DataExchangeGovernance"),
              **options: Any) -> list[IssuedCredential]:
    """Issue the Catena-X set to ``subject`` (a Bpn credential only with a BPN); add them to ``wallet``
    and save it, if given. For demos and tests."""
    issued = [issuer.issue(subject, kind, bpn=bpn, **options) for kind in kinds if kind != "Bpn" or bpn]
    if wallet is not None:
        for credential in issued:
            wallet.add(credential)
        wallet.save()
    return issued
