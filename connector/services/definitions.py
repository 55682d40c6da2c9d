"""What a provider publishes: assets, policy definitions and contract definitions.

Create, read, update, delete and QuerySpec for the three, each write in one transaction, so a
refused write leaves nothing behind. Inputs arrive typed and validated by the edge (a Policy, a
flat data address); what is stored is what the catalog reads: asset properties keyed by full
IRI, policies in the compact DSP form, selectors as criteria. A contract definition whose
selector is exactly ``id = X`` gets ``asset_id = X``, the catalog's indexed fast path.

References are checked on write (unlike EDC, which would offer nothing and say nothing): a
contract definition must name existing policies, and an ``id = X`` selector an existing asset;
an asset's data address must be of a type the data plane serves (or an ``Mqtt`` stream a broker
serves, Factory-X ADR 012, checked by ``services.dataflow.mqtt``). An asset an agreement refers
to cannot be deleted, and neither can a policy a contract definition uses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, or_, select

from connector.config import DataPlaneSettings
from connector.policy import Policy, policy_to_compact
from connector.services.criteria import EDC_NS, single_asset_id
from connector.services.dataflow.mqtt import BrokerEndpoints, check_mqtt_address
from connector.services.errors import Conflict, InvalidRequest, NotFound
from connector.services.queries import Fields, QuerySpec, parse_filter, run_query
from connector.store import Database
from connector.store.models import Agreement, Asset, ContractDefinition, PolicyDefinition

E = EDC_NS
# the data-address types the data plane serves (services.dataflow.sources), and what each needs
# (Mqtt: a broker's stream, Factory-X ADR 012, checked by services.dataflow.mqtt)
DATA_ADDRESS_TYPES = {"HttpData": ("baseUrl",), "PontisDocument": ("document",), "PontisFile": ("path",),
                      "Mqtt": ("mqttEndpointType",),
                      # our Digital Twin Registry (connector.parts.serving), e.g. a second offer of it for
                      # another organisational unit, under its own policies (Factory-X ADR 009)
                      "PontisRegistry": ()}


def check_data_address(address: dict, *, files_dir: str | None | bool = True,
                       broker: BrokerEndpoints | None = None) -> None:
    """Refuse, naming the field, a data address the data plane could not serve at the first pull.
    ``files_dir``: the configured [dataplane] files_dir (None: PontisFile cannot be served); True: unknown.
    ``broker``: our own MQTT broker's URLs, for an Mqtt address that leaves its baseUrl to them."""
    import difflib

    kind = address.get("type")
    if kind not in DATA_ADDRESS_TYPES:
        near = difflib.get_close_matches(str(kind), list(DATA_ADDRESS_TYPES), n=1, cutoff=0.5)
        raise InvalidRequest("Asset.dataAddress", f"dataAddress.type: {kind!r} is not served by this connector's "
                             f"data plane; expected {', '.join(DATA_ADDRESS_TYPES)}"
                             + (f" (did you mean {near[0]!r}?)" if near else ""), path="dataAddress.type")
    if kind == "Mqtt":
        check_mqtt_address(address, broker)
        return
    for key in DATA_ADDRESS_TYPES[kind]:
        value = address.get(key)
        if value is None or value == "":
            what = {"baseUrl": "the backend's URL", "document": "the JSON document to publish",
                    "path": "the file's path under [dataplane] files_dir"}[key]
            raise InvalidRequest("Asset.dataAddress", f"dataAddress.{key}: is required for a {kind} address "
                                 f"({what})", path=f"dataAddress.{key}")
    if kind == "PontisFile" and files_dir is None:
        raise InvalidRequest("Asset.dataAddress", "dataAddress.type: PontisFile assets need [dataplane] files_dir "
                             "in this connector's config (the folder the files are read from)",
                             path="dataAddress.type")


def _closest_ids(session: Session, model, wanted: str) -> str:
    import difflib

    ids = list(session.exec(select(model.id).limit(2000)))
    near = difflib.get_close_matches(wanted, ids, n=1, cutoff=0.6)
    return f" (did you mean {near[0]!r}?)" if near else ""


@dataclass(frozen=True)
class AssetInput:
    id: str
    properties: dict
    data_address: dict
    private_properties: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ContractDefinitionInput:
    id: str
    access_policy_id: str
    contract_policy_id: str
    assets_selector: list  # criteria as JSON: {operandLeft, operator, operandRight}
    private_properties: dict = field(default_factory=dict)


ASSET_FIELDS = Fields(
    columns={"@id": (Asset.id, False), E + "createdAt": (Asset.created_at, True)},
    record=lambda a: dict(a.properties or {}),
    private_record=lambda a: dict(a.private_properties or {}),
    open_record=True,  # any property may be filtered on, as in EDC
)
POLICY_FIELDS = Fields(
    columns={"@id": (PolicyDefinition.id, False), E + "createdAt": (PolicyDefinition.created_at, True)},
    record=lambda p: {},
    private_record=lambda p: dict(p.private_properties or {}),
)
CONTRACT_FIELDS = Fields(
    columns={
        "@id": (ContractDefinition.id, False), E + "createdAt": (ContractDefinition.created_at, True),
        E + "accessPolicyId": (ContractDefinition.access_policy_id, False),
        E + "contractPolicyId": (ContractDefinition.contract_policy_id, False),
        E + "assetId": (ContractDefinition.asset_id, False),
    },
    record=lambda c: {},
    private_record=lambda c: dict(c.private_properties or {}),
)


def checked_selector(raw: list | dict | None) -> tuple[list, str | None]:
    """The selector as stored (validated criteria, left operands as written) and its single asset id."""
    items = raw if isinstance(raw, list) else ([] if raw is None else [raw])
    criteria = parse_filter(items, "assetsSelector")
    stored = []
    for criterion, item in zip(criteria, items):
        left = next(item[k] for k in ("operandLeft", E + "operandLeft", "edc:operandLeft") if k in item)
        stored.append({"operandLeft": left, "operator": criterion.operator,
                       "operandRight": criterion.right})
    return stored, single_asset_id(criteria)


# an id is reached as one URL path segment (GET/PUT/DELETE /v3/assets/{id}): one with a slash, or
# a "." or "..", could be written but never read or deleted again
_NOT_IN_IDS = re.compile(r"[/\x00-\x1f\x7f]")
ID_RULE = "any characters except '/' and control characters, and not '.' or '..'"


def id_problem(object_id: str) -> str | None:
    """Why ``object_id`` cannot name an asset, policy or contract definition, or None."""
    if object_id in (".", "..") or _NOT_IN_IDS.search(object_id):
        return f"{object_id!r} is not a usable id: an id is one URL path segment, so it may hold {ID_RULE}"
    return None


def check_id(kind: str, object_id: str) -> None:
    problem = id_problem(object_id)
    if problem:
        raise InvalidRequest(f"{kind}.id", problem, path="@id")


class DefinitionService:
    def __init__(self, db: Database, *, clock: Callable[[], int], files_dir: str | None | bool = True,
                 dataplane: DataPlaneSettings | None = None, broker: BrokerEndpoints | None = None) -> None:
        self.db = db
        self.broker = broker
        self.clock = clock
        self._files_dir = files_dir
        self.dataplane = dataplane  # read on each write: the settings' files_dir, as it is now

    @property
    def files_dir(self) -> str | None | bool:
        """The configured [dataplane] files_dir (None: none; True: not known here, not checked)."""
        return self.dataplane.files_dir if self.dataplane is not None else self._files_dir

    @contextmanager
    def _write(self, kind: str, object_id: str) -> Iterator[Session]:
        """A write transaction in which a racing duplicate insert is a 409, not a 500."""
        try:
            with self.db.write() as session:
                yield session
        except IntegrityError as exc:
            raise Conflict(f"{kind}.duplicate", f"{kind} with ID {object_id!r} already exists", path="@id") from exc

    def _get(self, session: Session, model, kind: str, object_id: str):
        row = session.get(model, object_id)
        if row is None:
            raise NotFound(f"{kind}.unknown", f"{kind} with ID {object_id!r} does not exist", path="@id")
        return row

    def _absent(self, session: Session, model, kind: str, object_id: str) -> None:
        if session.get(model, object_id) is not None:
            raise Conflict(f"{kind}.duplicate", f"{kind} with ID {object_id!r} already exists", path="@id")

    # --- assets ------------------------------------------------------------------------------

    def create_asset(self, a: AssetInput) -> Asset:
        check_data_address(a.data_address, files_dir=self.files_dir, broker=self.broker)
        row = Asset(id=a.id, properties=a.properties, private_properties=a.private_properties,
                    data_address=a.data_address, created_at=self.clock())
        check_id("Asset", a.id)
        with self._write("Asset", a.id) as session:
            self._absent(session, Asset, "Asset", a.id)
            session.add(row)
        return row

    def update_asset(self, a: AssetInput) -> None:
        check_data_address(a.data_address, files_dir=self.files_dir, broker=self.broker)
        with self.db.write() as session:
            row = self._get(session, Asset, "Asset", a.id)
            row.properties, row.private_properties = a.properties, a.private_properties
            row.data_address = a.data_address
            session.add(row)

    def asset(self, asset_id: str) -> Asset:
        with self.db.read() as session:
            return self._get(session, Asset, "Asset", asset_id)

    def delete_asset(self, asset_id: str) -> None:
        with self.db.write() as session:
            row = self._get(session, Asset, "Asset", asset_id)
            used = session.exec(select(Agreement.id).where(Agreement.asset_id == asset_id).limit(1)).first()
            if used is not None:
                raise Conflict("Asset.referenced", f"Asset {asset_id!r} cannot be deleted: contract agreement "
                                                   f"{used!r} refers to it", path="@id")
            session.delete(row)

    def assets(self, spec: QuerySpec) -> list[Asset]:
        with self.db.read() as session:
            return run_query(session, Asset, spec, ASSET_FIELDS, Asset.id)

    # --- policy definitions ------------------------------------------------------------------

    def create_policy(self, policy_id: str, policy: Policy, private_properties: dict | None = None) -> PolicyDefinition:
        row = PolicyDefinition(id=policy_id, policy=policy_to_compact(policy, policy_type="Set", policy_id=policy_id),
                               private_properties=private_properties or {}, created_at=self.clock())
        check_id("PolicyDefinition", policy_id)
        with self._write("PolicyDefinition", policy_id) as session:
            self._absent(session, PolicyDefinition, "PolicyDefinition", policy_id)
            session.add(row)
        return row

    def update_policy(self, policy_id: str, policy: Policy, private_properties: dict | None = None) -> None:
        with self.db.write() as session:
            row = self._get(session, PolicyDefinition, "PolicyDefinition", policy_id)
            row.policy = policy_to_compact(policy, policy_type="Set", policy_id=policy_id)
            row.private_properties = private_properties or {}
            session.add(row)

    def policy(self, policy_id: str) -> PolicyDefinition:
        with self.db.read() as session:
            return self._get(session, PolicyDefinition, "PolicyDefinition", policy_id)

    def delete_policy(self, policy_id: str) -> None:
        with self.db.write() as session:
            row = self._get(session, PolicyDefinition, "PolicyDefinition", policy_id)
            users = list(session.exec(select(ContractDefinition.id).where(or_(
                ContractDefinition.access_policy_id == policy_id,
                ContractDefinition.contract_policy_id == policy_id)).limit(5)))
            if users:
                raise Conflict("PolicyDefinition.referenced",
                               f"PolicyDefinition {policy_id!r} cannot be deleted: contract definition(s) "
                               f"{', '.join(users)} use it; change or delete them first", path="@id")
            session.delete(row)

    def policies(self, spec: QuerySpec) -> list[PolicyDefinition]:
        with self.db.read() as session:
            return run_query(session, PolicyDefinition, spec, POLICY_FIELDS, PolicyDefinition.id)

    # --- contract definitions ----------------------------------------------------------------

    def _contract_row(self, c: ContractDefinitionInput, created_at: int) -> ContractDefinition:
        for name, value in (("accessPolicyId", c.access_policy_id), ("contractPolicyId", c.contract_policy_id)):
            if not value:
                raise InvalidRequest("ContractDefinition.policy", f"{name}: is required (a policy definition id)",
                                     path=name)
        selector, asset_id = checked_selector(c.assets_selector)
        return ContractDefinition(id=c.id, access_policy_id=c.access_policy_id, contract_policy_id=c.contract_policy_id,
                                  assets_selector=selector, asset_id=asset_id,
                                  private_properties=c.private_properties, created_at=created_at)

    @staticmethod
    def _references(session: Session, row: ContractDefinition) -> None:
        """The policies a contract definition names exist, and so does the asset of an ``id = X`` selector."""
        for name, value in (("accessPolicyId", row.access_policy_id), ("contractPolicyId", row.contract_policy_id)):
            policy = session.get(PolicyDefinition, value)
            if policy is None:
                raise InvalidRequest("ContractDefinition.reference", f"{name}: no policy definition {value!r} "
                                     f"exists{_closest_ids(session, PolicyDefinition, value)}; create it first",
                                     path=name)
            if name == "contractPolicyId" and not (policy.policy.get("permission") or policy.policy.get("prohibition")):
                # DSP: an offer has a permission or a prohibition; an allow-all policy can only be an access policy
                raise InvalidRequest("ContractDefinition.reference", f"{name}: policy definition {value!r} has no "
                                     "permission or prohibition, so no offer can be made of it; it can be the "
                                     "accessPolicyId, and the contract policy needs a rule", path=name)
        if row.asset_id is not None and session.get(Asset, row.asset_id) is None:
            raise InvalidRequest("ContractDefinition.reference", f"assetsSelector: no asset {row.asset_id!r} "
                                 f"exists{_closest_ids(session, Asset, row.asset_id)}; create it first",
                                 path="assetsSelector")

    def create_contract_definition(self, c: ContractDefinitionInput) -> ContractDefinition:
        row = self._contract_row(c, self.clock())
        check_id("ContractDefinition", c.id)
        with self._write("ContractDefinition", c.id) as session:
            self._absent(session, ContractDefinition, "ContractDefinition", c.id)
            self._references(session, row)
            session.add(row)
        return row

    def update_contract_definition(self, c: ContractDefinitionInput) -> None:
        with self.db.write() as session:
            row = self._get(session, ContractDefinition, "ContractDefinition", c.id)
            new = self._contract_row(c, row.created_at)
            self._references(session, new)
            for name in ("access_policy_id", "contract_policy_id", "assets_selector", "asset_id", "private_properties"):
                setattr(row, name, getattr(new, name))
            session.add(row)

    def contract_definition(self, cd_id: str) -> ContractDefinition:
        with self.db.read() as session:
            return self._get(session, ContractDefinition, "ContractDefinition", cd_id)

    def delete_contract_definition(self, cd_id: str) -> None:
        with self.db.write() as session:
            session.delete(self._get(session, ContractDefinition, "ContractDefinition", cd_id))

    def contract_definitions(self, spec: QuerySpec) -> list[ContractDefinition]:
        with self.db.read() as session:
            return run_query(session, ContractDefinition, spec, CONTRACT_FIELDS, ContractDefinition.id)

