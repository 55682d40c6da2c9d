"""What the admin console shows that the management API does not: activity, timelines, peers' health,
credentials' expiry, policy drafts and templates. Read-only queries and pure helpers, no HTTP edge.

A process's timeline is rebuilt from the messages stored for it anyway (the outbox's sent
messages, the answers kept for replays), so no extra history is written on the hot path.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from sqlmodel import col, select

from connector.policy import policy_from_compact_dsp
from connector.policy.model import Policy
from connector.policy.written import validate_policy_document
from connector.services.errors import NotFound
from connector.store import Database
from connector.store.models import (
    Agreement,
    Asset,
    BusinessPartnerGroup,
    ContractDefinition,
    Negotiation,
    OutgoingMessage,
    PolicyDefinition,
    ReceivedMessage,
    TransferProcess,
)

# the state a sent message moves its process to
SENT_STATE = {
    "ContractRequestMessage": "REQUESTED", "ContractOfferMessage": "OFFERED",
    "ContractNegotiationEventMessage:ACCEPTED": "ACCEPTED", "ContractAgreementMessage": "AGREED",
    "ContractAgreementVerificationMessage": "VERIFIED", "ContractNegotiationEventMessage:FINALIZED": "FINALIZED",
    "ContractNegotiationTerminationMessage": "TERMINATED",
    "TransferRequestMessage": "REQUESTED", "TransferStartMessage": "STARTED",
    "TransferCompletionMessage": "COMPLETED", "TransferSuspensionMessage": "SUSPENDED",
    "TransferTerminationMessage": "TERMINATED",
}
NEGOTIATION_PATH = ("REQUESTED", "OFFERED", "ACCEPTED", "AGREED", "VERIFIED", "FINALIZED")
TRANSFER_PATH = ("REQUESTED", "STARTED", "SUSPENDED", "COMPLETED")
# steps shown even when not passed through: the usual road; the others appear only when taken
USUAL = {"REQUESTED", "AGREED", "VERIFIED", "FINALIZED", "STARTED", "COMPLETED"}
TERMINAL_BAD = "TERMINATED"


@dataclass
class Event:
    at: int
    who: str  # "us" or "peer"
    text: str
    state: str | None = None
    problem: str | None = None


@dataclass
class Step:
    state: str
    reached: bool
    current: bool = False
    at: int | None = None
    bad: bool = False


@dataclass
class Timeline:
    steps: list[Step]
    events: list[Event]
    reasons: list[str] = field(default_factory=list)
    denied_by: str | None = None


def _state_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value.rsplit(":", 1)[-1].upper() if value else None
    return None


def timeline(db: Database, row: Negotiation | TransferProcess) -> Timeline:
    """The states a negotiation or transfer went through, when, by whose message, and why it ended."""
    with db.read() as session:
        sent = list(session.exec(select(OutgoingMessage).where(OutgoingMessage.process_id == row.id)
                                 .order_by(col(OutgoingMessage.created_at), col(OutgoingMessage.id))))
        answered = list(session.exec(select(ReceivedMessage).where(ReceivedMessage.process_id == row.id)
                                     .order_by(col(ReceivedMessage.created_at))))
    events: list[Event] = []
    for message in sent:
        state = SENT_STATE.get(message.kind)
        name = message.kind.replace("ContractNegotiationEventMessage:", "event ")
        problem = None
        if message.status in ("failed", "cancelled") or (message.status == "pending" and message.last_error):
            problem = f"{message.status}, {message.attempts} attempt(s)" + (
                f": {message.last_error}" if message.last_error else "")
        if message.status == "done":
            events.append(Event(message.created_at, "us", f"we sent {name}", state, problem))
        else:  # not (yet) delivered: the state it leads to is not reached
            verb = "we are sending" if message.status == "pending" else "we could not send"
            events.append(Event(message.created_at, "us", f"{verb} {name}", None, problem))
    for answer in answered:
        body = answer.response if isinstance(answer.response, dict) else {}
        state = _state_of(body.get("state") or body.get("dspace:state"))
        if answer.status_code >= 400:
            reason = body.get("reason") or body.get("dspace:reason") or body.get("code")
            events.append(Event(answer.created_at, "peer", f"the peer's message was refused (HTTP {answer.status_code})",
                                None, json.dumps(reason, ensure_ascii=False) if reason else None))
        else:
            events.append(Event(answer.created_at, "peer", "the peer's message arrived" + (
                f", now {state}" if state else ""), state))
    # a message we sent in the same millisecond as one we received answered it: the peer's first
    events.sort(key=lambda e: (e.at, e.who == "us"))
    current = "REQUESTED" if row.state == "INITIAL" else row.state
    path = NEGOTIATION_PATH if isinstance(row, Negotiation) else TRANSFER_PATH
    first_at: dict[str, int] = {}
    for event in events:
        if event.state:
            first_at.setdefault(event.state, event.at)
    seen = set(first_at) | {current}
    furthest = max((path.index(s) for s in seen if s in path), default=0)
    steps = [Step(s, reached=path.index(s) <= furthest and (s in seen or s in USUAL), current=s == current,
                  at=first_at.get(s)) for s in path if s in USUAL or s in seen]
    if current == TERMINAL_BAD:
        steps = [s for s in steps if s.reached]
        steps.append(Step(TERMINAL_BAD, True, True, first_at.get(TERMINAL_BAD, row.updated_at), bad=True))
    error = row.error or {}
    reasons = [str(r) for r in error.get("reasons") or []] or ([row.error_detail] if row.error_detail else [])
    by = {"local": "us", "peer": "the peer"}.get(str(error.get("by")), error.get("by"))
    return Timeline(steps, events, reasons, by)


class ConsoleQueries:
    """Lists and counts for the console's pages, newest first."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def counts(self) -> dict[str, int]:
        from sqlalchemy import func

        with self.db.read() as session:
            return {name: session.exec(select(func.count()).select_from(model)).one()
                    for name, model in (("assets", Asset), ("policies", PolicyDefinition),
                                        ("contracts", ContractDefinition), ("negotiations", Negotiation),
                                        ("transfers", TransferProcess), ("agreements", Agreement))}

    def negotiations(self, limit: int = 200) -> list[Negotiation]:
        with self.db.read() as session:
            return list(session.exec(select(Negotiation).order_by(col(Negotiation.updated_at).desc()).limit(limit)))

    def transfers(self, limit: int = 200) -> list[TransferProcess]:
        with self.db.read() as session:
            return list(session.exec(select(TransferProcess).order_by(col(TransferProcess.updated_at).desc()).limit(limit)))

    def agreements(self, limit: int = 200) -> list[Agreement]:
        with self.db.read() as session:
            return list(session.exec(select(Agreement).order_by(col(Agreement.created_at).desc()).limit(limit)))

    def recent(self, limit: int = 8) -> list[tuple[str, Negotiation | TransferProcess]]:
        rows: list[tuple[str, Any]] = [("negotiation", n) for n in self.negotiations(limit)]
        rows += [("transfer", t) for t in self.transfers(limit)]
        rows.sort(key=lambda pair: pair[1].updated_at, reverse=True)
        return rows[:limit]

    def get(self, model: Any, object_id: str, what: str) -> Any:
        with self.db.read() as session:
            row = session.get(model, object_id)
        if row is None:
            raise NotFound(f"{what}.unknown", f"there is no {what} {object_id!r}")
        return row

    def transfers_of(self, agreement_id: str) -> list[TransferProcess]:
        with self.db.read() as session:
            return list(session.exec(select(TransferProcess).where(TransferProcess.agreement_id == agreement_id)
                                     .order_by(col(TransferProcess.created_at))))

    def groups(self) -> list[BusinessPartnerGroup]:
        with self.db.read() as session:
            return list(session.exec(select(BusinessPartnerGroup).order_by(BusinessPartnerGroup.bpn)))

    def definitions_using(self, policy_id: str) -> list[ContractDefinition]:
        with self.db.read() as session:
            return [cd for cd in session.exec(select(ContractDefinition).order_by(ContractDefinition.id))
                    if policy_id in (cd.access_policy_id, cd.contract_policy_id)]


# --- credentials and peers -----------------------------------------------------------------------

SOON_DAYS = 30


def credentials(identity: Any, now_ms: int) -> list[dict]:
    """Our wallet's credentials with how long each is still valid."""
    if identity is None:
        return []
    identity.wallet.refresh()
    now = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    out = []
    for entry in identity.wallet.entries:
        types = [t for t in entry.get("type", []) if t != "VerifiableCredential"]
        until, days, status = entry.get("validUntil"), None, "valid"
        if isinstance(until, str):
            try:
                end = datetime.fromisoformat(until.replace("Z", "+00:00"))
                days = (end - now).days
                status = "expired" if end <= now else "expires soon" if days < SOON_DAYS else "valid"
            except ValueError:
                status = "unreadable date"
        out.append({"id": entry.get("id"), "type": ", ".join(types) or "credential", "issuer": entry.get("issuer"),
                    "validUntil": until, "days": days, "status": status})
    return out


@dataclass
class PeerHealth:
    id: str
    dsp_url: str | None
    bpn: str | None
    claims: dict
    answers: bool | None  # None: no DSP URL to ask
    detail: str


async def probe_peers(client: Any, peers: list[Any], timeout: float = 3.0) -> list[PeerHealth]:
    """Ask each peer's ``/.well-known/dspace-version`` (no token needed) whether it answers."""
    async def probe(peer: Any) -> PeerHealth:
        dsp = getattr(peer, "dsp_url", None)
        base = PeerHealth(peer.id, dsp, getattr(peer, "bpn", None), dict(getattr(peer, "claims", {}) or {}), None,
                          "no DSP URL known")
        if not dsp:
            return base
        url = urljoin(dsp, "/.well-known/dspace-version")
        try:
            answer = await asyncio.wait_for(client.get(url, None), timeout)
        except TimeoutError:
            base.answers, base.detail = False, f"no answer within {timeout:g} s"
            return base
        except Exception as exc:  # unreachable, refused: all mean "does not answer"
            base.answers, base.detail = False, f"cannot connect to {urlsplit(url).netloc} ({type(exc).__name__})"
            return base
        base.answers = answer.ok
        base.detail = "its DSP version list answered" if answer.ok else f"answered HTTP {answer.status}"
        return base

    return list(await asyncio.gather(*(probe(p) for p in peers)))


# --- policy drafts and templates -----------------------------------------------------------------

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "policies"


def policy_templates(folder: Path = TEMPLATES_DIR) -> dict[str, dict]:
    """The ODRL templates in ``policies/``, by file stem (empty when the folder is not there)."""
    out = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            out[path.stem] = json.loads(path.read_text())
        except ValueError:
            continue
    return out


def check_draft(raw: Any, profile: str = "catena-x") -> tuple[Policy | None, list[dict]]:
    """A policy being written (compact DSP JSON, as the templates are): the typed policy, or every
    problem with its field path and what was expected (the closest valid term or operand)."""
    violations = validate_policy_document(raw, profile="lenient" if profile == "lenient" else "catena-x")
    if violations:
        return None, [v.to_dict() for v in violations]
    return policy_from_compact_dsp(raw), []
