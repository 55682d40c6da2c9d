"""Transfer processes in both roles: requests under an agreement, start with a data address, end.

The durable machinery is ``process.ProcessService``'s. What a transfer needs besides is the
data flow: on a pull start the provider issues an EDR (endpoint + short-lived token) through its
data plane; on a push start it sends the data to the consumer's address; when a transfer ends,
its EDRs stop working. ``DataFlows`` is that seam, implemented by ``dataplane``-side services.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from sqlmodel import Session, select

from connector.protocol import Role
from connector.protocol.errors import LocalProtocolError
from connector.protocol.retry import RetryPolicy
from connector.protocol.step import TRANSFER, Effect, EndDataFlow
from connector.protocol.transfer import (
    TransferMessage as T,
)
from connector.protocol.transfer import (
    TransferState as S,
)
from connector.protocol.transfer import receive_transfer
from connector.protocol.transfer_messages import (
    DataAddress,
    TransferCompletion,
    TransferRequest,
    TransferStart,
    TransferSuspension,
    TransferTermination,
    transfer_ack,
)
from connector.services.errors import InvalidRequest, NotFound
from connector.services.outbox import Dispatch
from connector.services.playbook import Playbook
from connector.services.process import INITIAL, ProcessService, Work, join_url, new_pid
from connector.services.received_edrs import edr_problem
from connector.store import Database
from connector.store.models import Agreement, OutgoingMessage, TransferProcess

PULL = "HttpData-PULL"
PUSH = "HttpData-PUSH"
MQTT_PULL = "Mqtt-PULL"  # an MQTT stream through a broker (Factory-X ADR 012, services.dataflow.mqtt)
PULLS = (PULL, MQTT_PULL)  # the formats whose start message carries an EDR
FORMATS = (PULL, PUSH, MQTT_PULL)


class DataFlows(Protocol):
    """The provider's data plane, as the transfer service sees it."""

    def start_address(self, session: Session, transfer: TransferProcess, now: int) -> DataAddress | None:
        """The address a pull consumer fetches from (an EDR); None for push."""

    def check_transfer(self, session: Session, transfer: TransferProcess, agreement: Agreement, now: int) -> None:
        """Refuse (ServiceError) a transfer the agreement no longer allows, e.g. after its end date.

        The consumer's verified claims at request time are in ``transfer.private_properties``.
        """

    def ended(self, session: Session, transfer: TransferProcess, now: int) -> None:
        """A transfer completed, was suspended or terminated: its EDRs stop working."""


def ack(row: TransferProcess) -> dict[str, Any]:
    state = S.REQUESTED if row.state == INITIAL else S(row.state)
    return transfer_ack(row.provider_pid or "", row.consumer_pid or "", state)


class TransferService(ProcessService):
    machine = TRANSFER
    model = TransferProcess

    def __init__(self, db: Database, *, participant_id: str, callback_url: str, playbook: Playbook,
                 clock: Callable[[], int], retry: RetryPolicy, flows: DataFlows,
                 dispatch: Dispatch | None = None, offered_formats: tuple[str, ...] = FORMATS) -> None:
        super().__init__(db, participant_id=participant_id, callback_url=callback_url, playbook=playbook,
                         clock=clock, retry=retry, dispatch=dispatch)
        self.flows = flows
        # what our catalog's distributions name (Factory-X: HttpData-PULL only, ADR 002); a request for
        # another format we could serve is refused as a mismatch with the offer
        self.offered_formats = offered_formats

    def _ack(self, row: TransferProcess) -> dict[str, Any]:
        return ack(row)

    def _playbook_keys(self, row: TransferProcess) -> tuple[str | None, ...]:
        return (row.agreement_id,)

    # --- a consumer asks for a transfer ----------------------------------------------------------

    def _start_from_peer(self, session: Session, caller: Any, role: Role | None, message: Any,
                         work: Work) -> tuple[TransferProcess, int]:
        now = work.now
        if role is not Role.PROVIDER or not isinstance(message, TransferRequest):
            raise InvalidRequest("transfer.initial", "only a TransferRequestMessage starts a transfer process")
        existing = session.exec(select(TransferProcess).where(
            TransferProcess.role == Role.PROVIDER.value,
            TransferProcess.counterparty_id == caller.id,
            TransferProcess.consumer_pid == message.consumer_pid,
        )).first()
        if existing is not None:  # DSP: providers are idempotent on consumerPid
            return existing, 201
        agreement = session.get(Agreement, message.agreement_id)
        if agreement is None or agreement.consumer_id != caller.id or agreement.provider_id != self.participant_id:
            raise InvalidRequest("agreement.unknown",
                                 f"no agreement {message.agreement_id!r} between you and {self.participant_id}",
                                 path="agreementId")
        if message.format not in FORMATS:
            raise InvalidRequest("format.unsupported",
                                 f"format {message.format!r} is not offered; use one of {', '.join(FORMATS)}",
                                 path="format")
        if message.format not in self.offered_formats:
            raise InvalidRequest("format.mismatch",
                                 f"format {message.format!r} does not match the offer: asset {agreement.asset_id!r} "
                                 f"is distributed as {' or '.join(self.offered_formats)} only", path="format")
        if message.format == PUSH and message.data_address is None:
            raise InvalidRequest("dataAddress", "a push transfer needs the dataAddress to send the data to",
                                 path="dataAddress")
        receive_transfer(Role.PROVIDER, None, T.REQUEST)
        pid = new_pid()
        row = TransferProcess(
            id=pid, role=Role.PROVIDER.value, state=S.REQUESTED.value, provider_pid=pid,
            consumer_pid=message.consumer_pid, counterparty_id=caller.id,
            counterparty_address=message.callback_address, agreement_id=agreement.id, asset_id=agreement.asset_id,
            transfer_type=message.format,
            data_destination=message.data_address.to_json() if message.data_address else None,
            # what the consumer proved when it asked; the data plane re-checks the agreement with it
            private_properties={"consumerClaims": dict(caller.claims)},
            created_at=now, updated_at=now,
        )
        self.flows.check_transfer(session, row, agreement, now)
        session.add(row)
        self.follow(session, row, T.REQUEST, work)
        return row, 201

    def _absorb(self, session: Session, row: TransferProcess, message: Any, now: int) -> None:
        if isinstance(message, TransferStart) and message.data_address is not None:
            address = message.data_address.to_json()
            problem = edr_problem(address) if row.role == Role.CONSUMER.value else None
            if problem:  # refused to the provider, with the reason, before anything is stored
                raise InvalidRequest("transfer.edr-unusable", f"dataAddress: {problem}", path="dataAddress")
            row.data_address = address
        elif isinstance(message, (TransferTermination, TransferSuspension)):
            reasons = list(message.reason) or ["no reason given"]
            verb = "terminated" if isinstance(message, TransferTermination) else "suspended"
            row.error = {"by": "peer", "code": message.code, "reasons": reasons}
            row.error_detail = f"{verb} by {row.counterparty_id}: " + "; ".join(reasons)
        if isinstance(message, TransferStart) and row.role == Role.PROVIDER.value:
            # the consumer resumes: check the agreement still allows it before data flows again
            agreement = session.get(Agreement, row.agreement_id)
            if agreement is not None:
                self.flows.check_transfer(session, row, agreement, now)

    def _domain_effect(self, session: Session, row: TransferProcess, effect: Effect, message: Any,
                       out: OutgoingMessage | None, now: int) -> None:
        if isinstance(effect, EndDataFlow):
            self.flows.ended(session, row, now)

    # --- what we send --------------------------------------------------------------------------

    def _build(self, session: Session, row: TransferProcess, kind: T, now: int, code: str | None, reasons: list[str] | None) -> tuple[str, dict[str, Any]]:
        pp, cp = row.provider_pid or "", row.consumer_pid or ""
        base = row.counterparty_address
        provider = Role(row.role) is Role.PROVIDER
        if kind is T.REQUEST and not provider:
            destination = DataAddress.from_json(row.data_destination) if row.data_destination else None
            message = TransferRequest(cp, row.agreement_id, row.transfer_type, self.callback_url, destination)
            return join_url(base, "transfers/request"), message.to_json()
        target = f"transfers/{cp}" if provider else f"transfers/{pp}"
        if kind is T.START:
            address = None
            if provider and row.transfer_type in PULLS:
                address = self.flows.start_address(session, row, now)
                row.data_address = address.to_json() if address else None
            return join_url(base, f"{target}/start"), TransferStart(pp, cp, address).to_json()
        if kind is T.COMPLETION:
            return join_url(base, f"{target}/completion"), TransferCompletion(pp, cp).to_json()
        if kind is T.SUSPENSION:
            return join_url(base, f"{target}/suspension"), TransferSuspension(pp, cp, code, reasons or []).to_json()
        if kind is T.TERMINATION:
            return join_url(base, f"{target}/termination"), TransferTermination(pp, cp, code, reasons or []).to_json()
        raise LocalProtocolError(row.state, kind.value, f"the {row.role.lower()} does not send {kind.value}")

    # --- staff commands ------------------------------------------------------------------------

    def request(self, *, agreement_id: str, counterparty_address: str, counterparty_id: str | None = None,
                transfer_type: str = PULL, data_destination: dict[str, Any] | None = None,
                private_properties: dict[str, Any] | None = None, callback_addresses: list[Any] | None = None) -> TransferProcess:
        """Start a transfer as consumer under one of our agreements."""
        if transfer_type not in FORMATS:
            raise InvalidRequest("transferType", f"expected one of {', '.join(FORMATS)}, got {transfer_type!r}",
                                 path="transferType")
        if transfer_type == PUSH and not data_destination:
            raise InvalidRequest("dataDestination", "a push transfer needs a dataDestination to receive the data",
                                 path="dataDestination")
        now = self.clock()
        with self.db.write() as session:
            agreement = session.get(Agreement, agreement_id)
            if agreement is None or agreement.consumer_id != self.participant_id:
                raise NotFound("agreement.unknown", f"no agreement {agreement_id!r} of which we are the consumer")
            pid = new_pid()
            row = TransferProcess(
                id=pid, role=Role.CONSUMER.value, state=INITIAL, consumer_pid=pid,
                counterparty_id=counterparty_id or agreement.provider_id, counterparty_address=counterparty_address,
                agreement_id=agreement_id, asset_id=agreement.asset_id, transfer_type=transfer_type,
                data_destination=data_destination, private_properties=private_properties or {},
                callback_addresses=callback_addresses or [], created_at=now, updated_at=now,
            )
            session.add(row)
            first = self.enqueue(session, row, T.REQUEST, now)
        self.dispatch.hand_over([first], now)
        return row

    def start(self, pid: str) -> None:
        """Start (provider) or resume (either side) a transfer."""
        self.command(pid, T.START)

    def complete(self, pid: str) -> None:
        self.command(pid, T.COMPLETION)

    def suspend(self, pid: str, reason: str | None) -> None:
        self.command(pid, T.SUSPENSION, code="suspended-by-user", reasons=[reason or "suspended by staff"])

    def terminate(self, pid: str, reason: str | None, code: str = "terminated-by-user") -> None:
        self.command(pid, T.TERMINATION, code=code, reasons=[reason or "terminated by staff"])
