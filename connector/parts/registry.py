"""The Digital Twin Registry: AAS shell and submodel descriptors, look-ups, and who may see what.

The AAS Registry API v3 subset the Tractus-X registry serves. Its owner (our staff, through the
management API) sees and writes everything. A peer reads through the data plane as a ``Viewer``
with the BPN we verified for its transfer, and sees, as in Tractus-X's classic access control
(closed by default):

- a specificAssetId only when its ``externalSubjectId`` names the peer's BPN (or ``PUBLIC_READABLE``,
  allowed only for ``manufacturerPartId`` and ``assetLifecyclePhase``), its keys cut to the matching ones;
- the whole shell when at least one specificAssetId names its BPN; only ``id``, the public
  specificAssetIds and ``submodelDescriptors`` when only public ones match; otherwise nothing.

"Nothing" is ``Hidden`` (a NotFound): Catena-X (CX-0002) answers it as an unknown shell, 404; in the
Factory-X profile (ADR 009, granular access to shell descriptors) it is a 403 saying why. What the
peer's contract grants, shell by shell: its agreement for the registry dataset lets it in, and the
BPN verified for that agreement must be named by one of the shell's specificAssetIds.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache

from jsonschema import Draft202012Validator
from sqlalchemy import delete, insert
from sqlmodel import Session, col, select

from connector.parts.models import first_error, normal_id, schemas
from connector.services.errors import Conflict, InvalidRequest, NotFound
from connector.store import Database
from connector.store.models import PartTwin, TwinAssetId, TwinSubmodel

PUBLIC = "PUBLIC_READABLE"
PUBLIC_NAMES = ("manufacturerPartId", "assetLifecyclePhase")
GLOBAL_ASSET_ID = "globalAssetId"
DEFAULT_LIMIT, MAX_LIMIT = 100, 10_000
ASSET_KINDS = ("Instance", "NotApplicable", "Role", "Type")


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who reads: the owner (our staff) or a peer with the BPN we verified for it."""

    bpn: str | None
    owner: bool = False


OWNER = Viewer(None, owner=True)


class Hidden(NotFound):
    """A twin that exists but that the viewer may not see; ``unknown`` is what a 404 says of it."""

    def __init__(self, aas_id: str, viewer: Viewer) -> None:
        self.unknown = f"no shell descriptor {aas_id!r}"
        if viewer.bpn:
            why = f"is not shared with {viewer.bpn}: none of its specificAssetIds names that BPN in externalSubjectId"
        else:
            why = "is shared only by BPN, and no BPN was verified for this caller's transfer"
        super().__init__("registry.hidden", f"shell descriptor {aas_id!r} {why}", path="aasIdentifier")


# --- encoding ------------------------------------------------------------------------------------

def b64url(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def unb64url(value: str, field: str) -> str:
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True).decode()
        if not decoded:
            raise ValueError("empty")
        return decoded
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidRequest("registry.encoding", f"{field}: expected a base64url-encoded (UTF-8) identifier, "
                                                  f"got {value[:80]!r}", path=field) from None


# --- validation ----------------------------------------------------------------------------------

@cache
def _validators() -> dict[str, Draft202012Validator]:
    schema = json.loads((schemas() / "aas-shell-descriptor.json").read_text())
    defs = {"$defs": schema["$defs"]}
    return {"shell": Draft202012Validator(schema),
            "submodel": Draft202012Validator({**defs, "$ref": "#/$defs/SubmodelDescriptor"}),
            "links": Draft202012Validator({**defs, "type": "array", "maxItems": 10_000,
                                           "items": {"$ref": "#/$defs/AssetLink"}})}


def check(kind: str, doc: object, field: str = "body") -> None:
    """Refuse a descriptor (or asset links) that does not fit the schema, naming the field."""
    found = first_error(_validators()[kind], doc, field)
    if found is not None:
        raise InvalidRequest("registry.invalid", f"{found[0]}: {found[1]}", path=found[0])
    if kind == "shell" and isinstance(doc, dict):  # the schema made it an object
        for i, said in enumerate(doc.get("specificAssetIds") or []):
            if PUBLIC in subjects(said) and said["name"] not in PUBLIC_NAMES:
                raise InvalidRequest("registry.public", f"{field}.specificAssetIds[{i}].externalSubjectId: "
                                     f"{PUBLIC} is allowed only for {' and '.join(PUBLIC_NAMES)}, not "
                                     f"{said['name']!r}", path=f"{field}.specificAssetIds[{i}]")


# --- visibility ----------------------------------------------------------------------------------

def subjects(said: dict) -> list[str]:
    return [key.get("value") for key in (said.get("externalSubjectId") or {}).get("keys", [])]


def external_subject(bpns: Iterable[str]) -> dict | None:
    keys = [{"type": "GlobalReference", "value": bpn} for bpn in bpns]
    return {"type": "ExternalReference", "keys": keys} if keys else None


def view(descriptor: dict, submodels: list[dict], viewer: Viewer) -> dict | None:
    """The shell as ``viewer`` may see it, or None when it may not see it at all."""
    if viewer.owner:
        return {**descriptor, "submodelDescriptors": submodels}
    shown, full = [], False
    for said in descriptor.get("specificAssetIds", []):
        allowed = {PUBLIC} | ({viewer.bpn} if viewer.bpn else set())
        keys = [k for k in (said.get("externalSubjectId") or {}).get("keys", []) if k.get("value") in allowed]
        if keys:
            full = full or any(k["value"] == viewer.bpn for k in keys)
            shown.append({**said, "externalSubjectId": {**said["externalSubjectId"], "keys": keys}})
    if full:
        return {**descriptor, "specificAssetIds": shown, "submodelDescriptors": submodels}
    if shown:
        return {"id": descriptor["id"], "specificAssetIds": shown, "submodelDescriptors": submodels}
    return None


def may_read_all(descriptor: dict, viewer: Viewer) -> bool:
    """Whether ``viewer`` sees the whole twin (and so may read its submodels)."""
    return viewer.owner or any(viewer.bpn and viewer.bpn in subjects(s) for s in descriptor.get("specificAssetIds", []))


# --- the registry ---------------------------------------------------------------------------------

def _limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest("registry.limit", f"limit: expected 1 to {MAX_LIMIT}, got {limit}", path="limit")
    return limit


def _paged(items: list, limit: int, key: Callable) -> dict:
    meta = {"cursor": b64url(key(items[limit - 1]))} if len(items) > limit else {}
    return {"paging_metadata": meta, "result": items[:limit]}


class Registry:
    def __init__(self, db: Database, *, clock: Callable[[], int]) -> None:
        self.db = db
        self.clock = clock

    # reading

    def _twin(self, session: Session, aas_id: str) -> PartTwin:
        row = session.get(PartTwin, aas_id)
        if row is None:
            raise NotFound("registry.shell", f"no shell descriptor {aas_id!r}", path="aasIdentifier")
        return row

    @staticmethod
    def _submodels(session: Session, twin_ids: list[str]) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {t: [] for t in twin_ids}
        for chunk in range(0, len(twin_ids), 500):
            rows = session.exec(select(TwinSubmodel).where(col(TwinSubmodel.twin_id).in_(twin_ids[chunk:chunk + 500]))
                                .order_by(col(TwinSubmodel.created_at), TwinSubmodel.id))
            for row in rows:
                out[row.twin_id].append(row.descriptor)
        return out

    def shells(self, viewer: Viewer, limit: int | None = None, cursor: str | None = None, *,
               created_after: int | None = None, asset_kind: str | None = None) -> dict:
        limit = _limit(limit)
        if asset_kind is not None and asset_kind not in ASSET_KINDS:
            raise InvalidRequest("registry.query", f"assetKind: expected one of {', '.join(ASSET_KINDS)}, got "
                                                   f"{asset_kind!r}", path="assetKind")
        after = unb64url(cursor, "cursor") if cursor else ""
        found: list[dict] = []
        # a peer may see few of many twins: read wider chunks for it, and submodels of visible twins only
        chunk = limit + 1 if viewer.owner else max(limit + 1, 500)
        with self.db.read() as session:
            while len(found) <= limit:
                rows = list(session.exec(select(PartTwin).where(PartTwin.id > after, PartTwin.created_at > (
                    created_after if created_after is not None else -1)).order_by(PartTwin.id).limit(chunk)))
                if not rows:
                    break
                shown = [(row.id, v) for row in rows if asset_kind in (None, row.descriptor.get("assetKind"))
                         and (v := view(row.descriptor, [], viewer)) is not None]
                submodels = self._submodels(session, [twin_id for twin_id, _ in shown])
                found += [{**v, "submodelDescriptors": submodels[twin_id]} for twin_id, v in shown]
                after = rows[-1].id
        return _paged(found, limit, lambda d: d["id"])

    def shell(self, viewer: Viewer, aas_id: str) -> dict:
        with self.db.read() as session:
            row = self._twin(session, aas_id)
            shown = view(row.descriptor, self._submodels(session, [row.id])[row.id], viewer)
        if shown is None:  # 404 as unknown (Catena-X) or 403 saying why (Factory-X): registry_api decides
            raise Hidden(aas_id, viewer)
        return shown

    def submodels(self, viewer: Viewer, aas_id: str, limit: int | None = None, cursor: str | None = None) -> dict:
        limit = _limit(limit)
        after = unb64url(cursor, "cursor") if cursor else None
        items = self.shell(viewer, aas_id)["submodelDescriptors"]
        if after is not None:
            ids = [d["id"] for d in items]
            items = items[ids.index(after) + 1:] if after in ids else []
        return _paged(items, limit, lambda d: d["id"])

    def submodel(self, viewer: Viewer, aas_id: str, submodel_id: str) -> dict:
        for item in self.shell(viewer, aas_id)["submodelDescriptors"]:
            if item["id"] == submodel_id:
                return item
        raise NotFound("registry.submodel", f"shell {aas_id!r} has no submodel descriptor {submodel_id!r}",
                       path="submodelIdentifier")

    def lookup(self, viewer: Viewer, links: list[dict], limit: int | None = None, cursor: str | None = None, *,
               created_after: int | None = None) -> dict:
        """The ids of the shells ``viewer`` may see that match every link (name/value) given."""
        check("links", links, "assetIds")
        limit = _limit(limit)
        after = unb64url(cursor, "cursor") if cursor else ""
        with self.db.read() as session:
            if not links:
                ids = list(session.exec(select(PartTwin.id).where(PartTwin.id > after).order_by(PartTwin.id)))
            elif links[0]["name"] == GLOBAL_ASSET_ID:
                ids = list(session.exec(select(PartTwin.id).where(PartTwin.global_key == normal_id(links[0]["value"]))))
            else:
                ids = list(session.exec(select(TwinAssetId.twin_id).where(
                    TwinAssetId.name == links[0]["name"], TwinAssetId.value == links[0]["value"]).distinct()))
            ids = sorted(i for i in set(ids) if i > after)
            rows = [session.get(PartTwin, i) for i in ids]
        matched = [row.id for row in rows if row is not None and _matches(row.descriptor, links, viewer)
                   and (created_after is None or row.created_at > created_after)]
        return _paged(matched, limit, lambda i: i)

    # writing (the owner only)

    def create_shell(self, doc: dict) -> dict:
        check("shell", doc)
        with self.db.write() as session:
            if session.get(PartTwin, doc["id"]) is not None:
                raise Conflict("registry.duplicate", f"a shell descriptor with id {doc['id']!r} exists", path="id")
            self.write_shell(session, doc, created=True)
        return self.shell(OWNER, doc["id"])

    def put_shell(self, aas_id: str, doc: dict) -> bool:
        """Create or replace; True when it was created."""
        check("shell", doc)
        if doc["id"] != aas_id:
            raise InvalidRequest("registry.id", f"id: the body's id {doc['id']!r} differs from the path's "
                                                f"{aas_id!r}", path="id")
        with self.db.write() as session:
            created = session.get(PartTwin, aas_id) is None
            self.write_shell(session, doc, created=created)
        return created

    def write_shell(self, session: Session, doc: dict, *, created: bool) -> None:
        """Store a checked shell descriptor in an open transaction (the importer writes many in one)."""
        now = self.clock()
        body = {k: v for k, v in doc.items() if k != "submodelDescriptors"}
        key = normal_id(doc[GLOBAL_ASSET_ID]) if doc.get(GLOBAL_ASSET_ID) else None
        if key is not None:
            other = session.exec(select(PartTwin.id).where(PartTwin.global_key == key)).first()
            if other is not None and other != doc["id"]:
                raise Conflict("registry.globalAssetId", f"globalAssetId: {doc[GLOBAL_ASSET_ID]!r} is the twin "
                                                         f"of shell {other!r} already", path="globalAssetId")
        row = session.get(PartTwin, doc["id"]) or PartTwin(id=doc["id"], descriptor={}, created_at=now)
        row.descriptor, row.global_key, row.updated_at = body, key, now
        session.add(row)
        session.execute(delete(TwinAssetId).where(col(TwinAssetId.twin_id) == row.id))
        insert_asset_ids(session, asset_id_values(row.id, body))
        if "submodelDescriptors" in doc or created:
            session.execute(delete(TwinSubmodel).where(col(TwinSubmodel.twin_id) == row.id))
            session.flush()
            for i, item in enumerate(doc.get("submodelDescriptors", [])):
                self.write_submodel(session, row.id, item, now + i)

    @staticmethod
    def write_submodel(session: Session, twin_id: str, doc: dict, now: int, payload: dict | None = None) -> TwinSubmodel:
        row = session.get(TwinSubmodel, doc["id"])
        if row is not None and row.twin_id != twin_id:
            raise Conflict("registry.duplicate", f"submodel descriptor {doc['id']!r} belongs to shell "
                                                 f"{row.twin_id!r}", path="id")
        keys = (doc.get("semanticId") or {}).get("keys") or [{}]
        row = row or TwinSubmodel(id=doc["id"], twin_id=twin_id, descriptor={}, created_at=now)
        row.descriptor, row.semantic_id, row.updated_at = doc, keys[0].get("value"), now
        if payload is not None:
            row.payload = payload
        session.add(row)
        return row

    def delete_shell(self, aas_id: str) -> None:
        with self.db.write() as session:
            session.delete(self._twin(session, aas_id))
            session.execute(delete(TwinAssetId).where(col(TwinAssetId.twin_id) == aas_id))
            session.execute(delete(TwinSubmodel).where(col(TwinSubmodel.twin_id) == aas_id))

    def put_submodel(self, aas_id: str, doc: dict, submodel_id: str | None = None) -> bool:
        """Create (POST: ``submodel_id`` None, 409 if it exists) or create-or-replace (PUT)."""
        check("submodel", doc)
        if submodel_id is not None and doc["id"] != submodel_id:
            raise InvalidRequest("registry.id", f"id: the body's id {doc['id']!r} differs from the path's "
                                                f"{submodel_id!r}", path="id")
        with self.db.write() as session:
            self._twin(session, aas_id)
            existing = session.get(TwinSubmodel, doc["id"])
            if existing is not None and submodel_id is None:
                raise Conflict("registry.duplicate", f"a submodel descriptor with id {doc['id']!r} exists", path="id")
            self.write_submodel(session, aas_id, doc, self.clock())
        return existing is None

    def delete_submodel(self, aas_id: str, submodel_id: str) -> None:
        with self.db.write() as session:
            self._twin(session, aas_id)
            row = session.get(TwinSubmodel, submodel_id)
            if row is None or row.twin_id != aas_id:
                raise NotFound("registry.submodel", f"shell {aas_id!r} has no submodel descriptor {submodel_id!r}",
                               path="submodelIdentifier")
            session.delete(row)


def asset_id_values(twin_id: str, descriptor: dict) -> list[dict]:
    """The look-up index rows of a twin's specificAssetIds."""
    return [{"twin_id": twin_id, "name": s["name"], "value": s["value"]} for s in descriptor.get("specificAssetIds", [])]


def insert_asset_ids(session: Session, values: list[dict]) -> None:
    """Insert index rows in bulk (no ORM objects: a 10,000-part import writes some 60,000)."""
    for chunk in range(0, len(values), 1000):
        session.execute(insert(TwinAssetId), values[chunk:chunk + 1000])


def _matches(descriptor: dict, links: list[dict], viewer: Viewer) -> bool:
    shown = view(descriptor, [], viewer)
    if shown is None:
        return False
    pairs = {(s["name"], s["value"]) for s in shown.get("specificAssetIds", [])}
    for link in links:
        if link["name"] == GLOBAL_ASSET_ID:
            global_id = shown.get(GLOBAL_ASSET_ID)  # absent from a public-only view
            if not global_id or normal_id(global_id) != normal_id(link["value"]):
                return False
        elif (link["name"], link["value"]) not in pairs:
            return False
    return True
