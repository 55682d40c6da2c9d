"""EDC QuerySpecs: parsing, running them against the store, and the negotiation/agreement queries.

A QuerySpec is ``{offset=0, limit=50, sortOrder ASC|DESC, sortField, filterExpression}``. Each
entity names the fields a query may use: those that are columns are filtered, sorted and paged
in SQL; the rest (asset properties, fields computed for display) are applied in memory after
the SQL part has narrowed the rows. Criteria are ANDed, so splitting them this way is exact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from connector.services.criteria import EDC_NS, Criterion, CriterionError, matches, parse_criteria
from connector.services.errors import InvalidRequest, NotFound
from connector.store import Database
from connector.store.models import Agreement, Negotiation, TransferProcess

DEFAULT_LIMIT = 50
MAX_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class QuerySpec:
    offset: int = 0
    limit: int = DEFAULT_LIMIT
    descending: bool = False
    sort_field: str | None = None  # an IRI or "@id", as criteria name fields
    criteria: tuple[Criterion, ...] = ()


def parse_filter(raw: Any, path: str) -> list[Criterion]:
    items = raw if isinstance(raw, list) else ([] if raw is None else [raw])
    try:
        criteria = parse_criteria(items, path)
    except CriterionError as exc:
        raise InvalidRequest("query.criterion", f"{exc.path}: expected {exc.expected}", path=exc.path) from exc
    for i, c in enumerate(criteria):
        # every EDC operator compares with something; a missing right side is a mistake, not "None"
        if c.right is None or (isinstance(c.right, list) and (not c.right or None in c.right)):
            where = f"{path}[{i}].operandRight"
            raise InvalidRequest("query.criterion", f"{where}: is required: the value to compare with", path=where)
    return criteria


def _int(raw: Any, name: str, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
        raise InvalidRequest("query.range", f"{name}: expected an integer from {low} to {high}, got {raw!r}", path=name)
    return raw


def parse_query_spec(raw: dict | None, path: str = "") -> QuerySpec:
    """A QuerySpec from its plain JSON (EDC keys as bare words). Raises InvalidRequest."""
    raw = raw or {}
    if not isinstance(raw, dict):
        raise InvalidRequest("query.shape", f"{path or 'querySpec'}: expected a QuerySpec object", path=path or None)
    at = (lambda n: f"{path}.{n}") if path else (lambda n: n)
    order = raw.get("sortOrder") or "ASC"
    if not isinstance(order, str) or order.upper() not in ("ASC", "DESC"):
        raise InvalidRequest("query.sortOrder", f"{at('sortOrder')}: expected ASC or DESC, got {order!r}",
                             path=at("sortOrder"))
    sort_field = raw.get("sortField")
    if sort_field is not None and (not isinstance(sort_field, str) or not sort_field.strip()):
        raise InvalidRequest("query.sortField", f"{at('sortField')}: expected a field name", path=at("sortField"))
    sort_iri = None
    if sort_field:
        sort_iri = parse_criteria([{"operandLeft": sort_field, "operator": "="}], "sortField")[0].left
    return QuerySpec(
        offset=_int(raw.get("offset"), at("offset"), 0, 0, 10**9),
        limit=_int(raw.get("limit"), at("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT),
        descending=order.upper() == "DESC",
        sort_field=sort_iri,
        criteria=tuple(parse_filter(raw.get("filterExpression"), at("filterExpression"))),
    )


# --- running a query -----------------------------------------------------------------------------


@dataclass
class Fields:
    """What a query over one table may name: columns (IRI → (column, is_int)), plus the
    computed fields ``record`` adds for in-memory criteria (declared in ``names``).
    ``open_record`` admits any field (asset properties)."""

    columns: dict[str, tuple[Any, bool]]
    record: Callable[[Any], dict]
    private_record: Callable[[Any], dict] = field(default=lambda row: {})
    open_record: bool = False
    names: Sequence[str] = ()
    # shown value → stored value, for columns whose stored values differ from what the API shows
    stored: dict[str, Callable[[Any], Any]] = field(default_factory=dict)


def _scalar(value: Any) -> Any:
    """A JSON-LD value object's plain value (the way criteria compare values)."""
    if isinstance(value, dict):
        return value.get("@value", value.get("@id", value))
    if isinstance(value, list) and len(value) == 1:
        return _scalar(value[0])
    return value


def _coerce(value: Any, is_int: bool, path: str) -> Any:
    value = _scalar(value)
    if not is_int:
        return str(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidRequest("query.value", f"{path}: expected a number, got {value!r}", path=path) from None


def _sql(c: Criterion, column: Any, is_int: bool, to_stored: Callable[[Any], Any] | None) -> Any:
    op, right = c.operator, c.right
    path = f"filterExpression({c.left})"
    if to_stored is not None:
        right = [to_stored(_scalar(v)) for v in right] if isinstance(right, list) else to_stored(_scalar(right))
    if op in ("in", "not in"):
        values = [_coerce(v, is_int, path) for v in right]
        return column.in_(values) if op == "in" else or_(column.not_in(values), column.is_(None))
    value = _coerce(right, is_int, path)
    if op == "=":
        return column == value
    if op == "!=":
        # a missing value satisfies "!=" (as criteria.matches says), SQL's NULL would not
        return or_(column != value, column.is_(None))
    if op == "like":
        return column.like(str(value))
    if op == "ilike":
        return func.lower(column).like(str(value).lower())
    if op == "contains":
        return column.contains(str(value), autoescape=True)
    return {"<": column < value, "<=": column <= value, ">": column > value, ">=": column >= value}[op]


def _check_known(fields: Fields, iri: str, where: str) -> None:
    if fields.open_record or iri in fields.columns or iri in fields.names:
        return
    known = sorted({_short(n) for n in (*fields.columns, *fields.names)})
    raise InvalidRequest("query.field", f"{where}: unknown field {_short(iri)!r}; expected one of {', '.join(known)}",
                         path=where)


def _short(iri: str) -> str:
    return "id" if iri == "@id" else iri[len(EDC_NS):] if iri.startswith(EDC_NS) else iri


def _sort_key(value: Any) -> tuple:
    value = _scalar(value)
    # missing values first, numbers before strings, so mixed fields still sort
    if value is None:
        return (0, 0, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (1, value, "")
    return (2, 0, str(value))


def run_query(session: Session, model: Any, spec: QuerySpec, fields: Fields, id_column: Any) -> list:
    """Rows of ``model`` that satisfy ``spec``, sorted and paged."""
    sql, memory = [], []
    for c in spec.criteria:
        column = None if c.private else fields.columns.get(c.left)
        textual = c.operator in ("like", "ilike", "contains")
        if column is not None and textual and (column[1] or c.left in fields.stored):
            # text matching on a number or on a translated value: in memory, where it means what it says
            column = None
        if column is None:
            _check_known(fields, c.left, "filterExpression")
            memory.append(c)
        else:
            sql.append(_sql(c, *column, fields.stored.get(c.left)))
    if spec.sort_field:
        _check_known(fields, spec.sort_field, "sortField")
    statement = select(model).where(*sql)
    sort_column = fields.columns.get(spec.sort_field) if spec.sort_field else (id_column, False)
    if sort_column is not None:
        order = sort_column[0].desc() if spec.descending else sort_column[0].asc()
        tie = id_column.desc() if spec.descending else id_column.asc()
        statement = statement.order_by(order, tie)
        if not memory:
            return list(session.exec(statement.offset(spec.offset).limit(spec.limit)))
    def record(row: Any) -> dict:
        # the row's columns under their IRIs, plus what the entity computes for display
        return {**{iri: getattr(row, col.key) for iri, (col, _) in fields.columns.items()}, **fields.record(row)}

    rows: Iterable = session.exec(statement)
    if memory:
        rows = [r for r in rows if all(
            matches(c, fields.private_record(r) if c.private else record(r)) for c in memory)]
    rows = list(rows)
    if sort_column is None:
        rows.sort(key=lambda r: _sort_key(record(r).get(spec.sort_field)), reverse=spec.descending)
    return rows[spec.offset: spec.offset + spec.limit]


# --- negotiations and agreements -----------------------------------------------------------------

E = EDC_NS
INITIAL_SHOWN_AS = "REQUESTING"  # our INITIAL: the request is being sent, which EDC calls REQUESTING


_NEGOTIATION_STATE = sa_select(Negotiation.state).where(Negotiation.id == bindparam("id"))  # type: ignore[call-overload]


def shown_state(neg: Negotiation) -> str:
    return shown(neg.state)


def shown(state: str) -> str:
    """A stored negotiation state as the management API shows it."""
    return INITIAL_SHOWN_AS if state == "INITIAL" else state


NEGOTIATION_FIELDS = Fields(
    columns={
        "@id": (Negotiation.id, False), E + "type": (Negotiation.role, False),
        E + "counterPartyId": (Negotiation.counterparty_id, False),
        E + "counterPartyAddress": (Negotiation.counterparty_address, False),
        E + "contractAgreementId": (Negotiation.agreement_id, False),
        E + "contractAgreement.id": (Negotiation.agreement_id, False),
        E + "assetId": (Negotiation.asset_id, False), E + "contractAgreement.assetId": (Negotiation.asset_id, False),
        E + "createdAt": (Negotiation.created_at, True), E + "updatedAt": (Negotiation.updated_at, True),
        E + "state": (Negotiation.state, False),
    },
    record=lambda n: {E + "state": shown_state(n)},
    stored={E + "state": lambda shown: "INITIAL" if shown == INITIAL_SHOWN_AS else shown},
)

AGREEMENT_FIELDS = Fields(
    columns={
        "@id": (Agreement.id, False), E + "assetId": (Agreement.asset_id, False),
        E + "consumerId": (Agreement.consumer_id, False), E + "providerId": (Agreement.provider_id, False),
        E + "negotiationId": (Agreement.negotiation_id, False), E + "createdAt": (Agreement.created_at, True),
    },
    # EDC shows the signing date in epoch seconds; we store milliseconds
    record=lambda a: {E + "contractSigningDate": a.signing_date // 1000},
    names=(E + "contractSigningDate",),
)


def shown_transfer_state(row: TransferProcess) -> str:
    return INITIAL_SHOWN_AS if row.state == "INITIAL" else row.state


def correlation_id(row: TransferProcess) -> str | None:
    """The counter-party's id of the process, as EDC shows it."""
    return row.provider_pid if row.role == "CONSUMER" else row.consumer_pid


TRANSFER_FIELDS = Fields(
    columns={
        "@id": (TransferProcess.id, False), E + "type": (TransferProcess.role, False),
        E + "state": (TransferProcess.state, False),
        E + "contractId": (TransferProcess.agreement_id, False),
        E + "contractAgreementId": (TransferProcess.agreement_id, False),
        E + "agreementId": (TransferProcess.agreement_id, False),
        E + "assetId": (TransferProcess.asset_id, False),
        E + "counterPartyId": (TransferProcess.counterparty_id, False),
        E + "counterPartyAddress": (TransferProcess.counterparty_address, False),
        E + "transferType": (TransferProcess.transfer_type, False),
        E + "providerPid": (TransferProcess.provider_pid, False), E + "consumerPid": (TransferProcess.consumer_pid, False),
        E + "createdAt": (TransferProcess.created_at, True), E + "updatedAt": (TransferProcess.updated_at, True),
        E + "stateTimestamp": (TransferProcess.updated_at, True),
    },
    record=lambda t: {E + "state": shown_transfer_state(t), E + "correlationId": correlation_id(t)},
    names=(E + "correlationId",),
    stored={E + "state": lambda shown: "INITIAL" if shown == INITIAL_SHOWN_AS else shown},
)


class QueryService:
    """Read-only access to negotiations, agreements and transfer processes for staff."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def negotiations(self, spec: QuerySpec) -> list[Negotiation]:
        with self.db.read() as session:
            return run_query(session, Negotiation, spec, NEGOTIATION_FIELDS, Negotiation.id)

    def agreements(self, spec: QuerySpec) -> list[Agreement]:
        with self.db.read() as session:
            return run_query(session, Agreement, spec, AGREEMENT_FIELDS, Agreement.id)

    def negotiation(self, negotiation_id: str) -> Negotiation:
        with self.db.read() as session:
            neg = session.get(Negotiation, negotiation_id)
        if neg is None:
            raise NotFound("negotiation.unknown", f"ContractNegotiation with ID {negotiation_id!r} does not exist",
                           path="@id")
        return neg

    def negotiation_state(self, negotiation_id: str) -> str:
        """The stored state alone (the long poll's read): one prebuilt Core SELECT, no ORM load."""
        with self.db.engine.connect() as conn:
            row = conn.execute(_NEGOTIATION_STATE, {"id": negotiation_id}).first()
        if row is None:
            raise NotFound("negotiation.unknown", f"ContractNegotiation with ID {negotiation_id!r} does not exist",
                           path="@id")
        return str(row[0])

    def agreement(self, agreement_id: str) -> Agreement:
        with self.db.read() as session:
            agreement = session.get(Agreement, agreement_id)
        if agreement is None:
            raise NotFound("agreement.unknown", f"ContractAgreement with ID {agreement_id!r} does not exist",
                           path="@id")
        return agreement

    def agreement_of(self, negotiation_id: str) -> Agreement:
        """The agreement a negotiation reached; 404 (saying the state) until it has one."""
        neg = self.negotiation(negotiation_id)
        if neg.agreement_id:
            with self.db.read() as session:
                agreement = session.get(Agreement, neg.agreement_id)
            if agreement is not None:
                return agreement
        raise NotFound("agreement.none", f"ContractNegotiation {negotiation_id!r} has no agreement "
                                         f"(state {shown_state(neg)})", path="@id")

    def negotiation_of(self, agreement_id: str) -> Negotiation:
        return self.negotiation(self.agreement(agreement_id).negotiation_id)

    def transfers(self, spec: QuerySpec) -> list[TransferProcess]:
        with self.db.read() as session:
            return run_query(session, TransferProcess, spec, TRANSFER_FIELDS, TransferProcess.id)

    def transfer(self, transfer_id: str) -> TransferProcess:
        with self.db.read() as session:
            row = session.get(TransferProcess, transfer_id)
        if row is None:
            raise NotFound("transfer.unknown", f"TransferProcess with ID {transfer_id!r} does not exist", path="@id")
        return row
