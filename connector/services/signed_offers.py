"""Signed offers: every offer in our catalog carries our proof; offers we accept are checked and kept.

What a proof signs is the offer as the catalog shows it, with its ``target`` (the dataset) and
``assigner`` (the provider), in the standalone form signed agreements use
(:func:`connector.services.agreements.standalone`: ODRL profile context, ids as IRIs, Data
Integrity v2). The catalog offer carries the ``proof`` as an extension property; a peer that
knows nothing of proofs sees a valid DSP offer. A third party rebuilds the signed form from the
offer, its dataset's ``@id`` and the catalog's ``participantId`` — or takes the export
(``GET /management/v3/contractagreements/{id}/offer``), which is the signed form itself.

Provider (``OfferSigner``): a proof is made once per offer and stored (``OfferProof``). The
offer id names the contract definition, the asset and a hash of the policy, so a written asset,
policy or contract definition that changes an offer changes its id, and its proof is made then
(``warm`` after each write; any offer still unsigned when first served is signed then, once);
a page of the catalog only looks proofs up.

Consumer (``OfferVerifier``): before a negotiation starts, the offer's proof (sent along in the
request's policy, or remembered from the catalog we fetched) must verify as the provider's
(``[identity] offer_verification``: ``require``, ``verify-if-present`` (default) or ``ignore``).
The signed offer is kept (``SignedOffer``, by negotiation), so the agreement links to it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from connector.identity.dataintegrity import sign as di_sign
from connector.policy import equivalent, policy_from_compact_dsp
from connector.protocol.messages import OfferRef
from connector.services.agreements import standalone
from connector.services.errors import InvalidRequest
from connector.store import Database
from connector.store.models import OfferProof

log = logging.getLogger("pontis.offers")

JCS, RDFC = "eddsa-jcs-2022", "eddsa-rdfc-2022"
MODES = ("require", "verify-if-present", "ignore")
STORE_CHUNK = 200
VERIFIED_TTL = 300.0
ENVELOPE = ("proof", "target", "assigner", "assignee", "@context")


def offer_bundle(document: dict, resolver: Any) -> dict:
    """A self-contained export, as for agreements: the signed offer and its signer's DID document."""
    provider = document.get("assigner")
    return {"signedOffer": document, "didDocuments": [resolver.resolve(provider)] if isinstance(provider, str) else []}


def signed_form(offer: dict, target: str, assigner: str) -> dict:
    """The document an offer's proof signs (any ``proof`` on ``offer`` is carried over)."""
    node = {k: v for k, v in offer.items() if k not in ENVELOPE}
    node.update(target=target, assigner=assigner)
    if offer.get("proof") is not None:
        node["proof"] = offer["proof"]
    return standalone(node)


def _bare(offer: dict) -> str:
    found = offer.get("@id")
    return found if isinstance(found, str) else ""


class OfferSigner:
    """Provider: proofs over our catalog offers, made once per offer and looked up per page."""

    def __init__(self, db: Database, identity: Any, participant_id: str, cryptosuite: str = JCS,
                 cache_size: int = 65_536) -> None:
        self.db = db
        self.identity = identity
        self.participant_id = participant_id
        self.cryptosuite = cryptosuite
        self.cache_size = cache_size
        self._cache: OrderedDict[str, dict] = OrderedDict()
        self._checked: set[str] = set()
        self._lock = threading.Lock()

    @property
    def method(self) -> str:
        return self.identity.key.id

    def sign(self, offer: dict, target: str) -> dict:
        """Our proof over ``offer`` (for dataset ``target``)."""
        document = signed_form(offer, target, self.participant_id)
        # the JSON-LD safety check depends on the terms, not on the ids (IRIs under one base):
        # offers of one policy share its result, so 10,000 of them are checked once
        shape = json.dumps({k: v for k, v in document.items() if k not in ("@id", "target")}, sort_keys=True)
        checked = shape in self._checked
        signed = di_sign(document, self.identity.key, cryptosuite=self.cryptosuite, check_jsonld=not checked)
        if not checked:
            with self._lock:
                self._checked.add(shape)
                if len(self._checked) > 4096:
                    self._checked.clear()
        return signed["proof"]

    def attach(self, offers: Iterable[tuple[str, dict]]) -> None:
        """Give each ``(dataset id, offer)`` its proof, in place: from memory, else from the
        store, else made now and stored (once: a changed offer has a new id). Chunk by chunk,
        looking again before signing, so a catalog request and a background pass racing over
        the same offers sign each of them once."""
        pending = [(target, offer) for target, offer in offers if "proof" not in offer]
        for start in range(0, len(pending), STORE_CHUNK):
            self._attach(pending[start:start + STORE_CHUNK])

    def _attach(self, chunk: list[tuple[str, dict]]) -> None:
        missing: list[tuple[str, dict]] = []
        with self._lock:
            for target, offer in chunk:
                proof = self._cache.get(_bare(offer))
                if proof is not None:
                    offer["proof"] = proof
                else:
                    missing.append((target, offer))
        if not missing:
            return
        found = self._stored([_bare(o) for _, o in missing])
        unsigned = []
        for target, offer in missing:
            proof = found.get(_bare(offer))
            if proof is None:
                unsigned.append((target, offer))
            else:
                offer["proof"] = proof
        if unsigned:
            stored = self._store([(target, offer, self.sign(offer, target)) for target, offer in unsigned])
            for _, offer in unsigned:
                offer["proof"] = stored[_bare(offer)]
        self._remember({_bare(o): o["proof"] for _, o in missing})

    def _stored(self, offer_ids: list[str]) -> dict[str, dict]:
        out: dict[str, dict] = {}
        with self.db.read() as session:
            for chunk in range(0, len(offer_ids), 500):
                rows = session.execute(select(OfferProof.offer_id, OfferProof.proof).where(
                    col(OfferProof.offer_id).in_(offer_ids[chunk:chunk + 500]),
                    OfferProof.verification_method == self.method,
                    OfferProof.cryptosuite == self.cryptosuite)).all()
                out.update({row.offer_id: row.proof for row in rows})
        return out

    def _store(self, made: list[tuple[str, dict, dict]]) -> dict[str, dict]:
        now = int(time.time() * 1000)
        rows = [OfferProof(offer_id=_bare(offer), asset_id=target, verification_method=self.method,
                           cryptosuite=self.cryptosuite, proof=proof, created_at=now) for target, offer, proof in made]
        stored = {row.offer_id: row.proof for row in rows}
        try:
            with self.db.write() as session:
                session.add_all(rows)
        except IntegrityError:  # some were stored meanwhile (a catalog request, a replica): keep those,
            with self.db.write() as session:  # so an offer shows one proof; replace an older key's
                for row in rows:
                    existing = session.get(OfferProof, row.offer_id)
                    if existing is not None and (existing.verification_method, existing.cryptosuite) == (
                            self.method, self.cryptosuite):
                        stored[row.offer_id] = existing.proof
                    else:
                        session.merge(row)
        self._remember(stored)
        return stored

    def _remember(self, proofs: dict[str, dict]) -> None:
        with self._lock:
            self._cache.update(proofs)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()


# --- the consumer's side -----------------------------------------------------------------------


class SignedOfferCache:
    """Consumer: the signed offers in catalogs we fetched, by offer id, for a request that does
    not send the proof along (bounded: only the latest few thousand)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._offers: OrderedDict[str, tuple[dict, str, str]] = OrderedDict()
        self._lock = threading.Lock()

    def remember_catalog(self, catalog: dict) -> None:
        provider = catalog.get("participantId")
        datasets = catalog.get("dataset", catalog.get("dcat:dataset", []))
        for dataset in datasets if isinstance(datasets, list) else [datasets]:
            if isinstance(dataset, dict):
                self.remember_dataset(dataset, provider)

    def remember_dataset(self, dataset: dict, provider: Any) -> None:
        offers = dataset.get("hasPolicy", dataset.get("odrl:hasPolicy", []))
        with self._lock:
            for offer in offers if isinstance(offers, list) else [offers]:
                if isinstance(offer, dict) and isinstance(offer.get("proof"), dict) and _bare(offer) \
                        and isinstance(dataset.get("@id"), str):
                    assigner = offer.get("assigner") if isinstance(offer.get("assigner"), str) else provider
                    if isinstance(assigner, str):
                        self._offers[_bare(offer)] = (offer, dataset["@id"], assigner)
            while len(self._offers) > self.size:
                self._offers.popitem(last=False)

    def get(self, offer_id: str) -> tuple[dict, str, str] | None:
        with self._lock:
            return self._offers.get(offer_id)


class OfferVerifier:
    """Consumer: check an offer's proof before negotiating; the signed document to keep, or None."""

    def __init__(self, resolver: Any, mode: str = "verify-if-present", cache: SignedOfferCache | None = None,
                 *, unresolvable_ok: bool = False) -> None:
        if mode not in MODES:
            raise ValueError(f"offer_verification: expected one of {', '.join(MODES)}, got {mode!r}")
        self.resolver = resolver  # a DidResolver: resolve_key for proofs, resolve for exports
        self.resolve_key: Callable[[str], Any] | None = resolver.resolve_key if resolver is not None else None
        self.mode = mode
        # static-token mode (peers known by their tokens): a provider whose DID document cannot be
        # read at all (did:web:example.com in a first try) is negotiated with unchecked, as its
        # agreements are (services.agreements.check); a proof that can be checked and fails is refused
        self.unresolvable_ok = unresolvable_ok and mode != "require"
        self.cache = cache or SignedOfferCache()
        # signed offers that verified (their JSON → when): one offer negotiated again within
        # VERIFIED_TTL (the DID cache's default lifetime) is not checked again
        self._verified_docs: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, offer: OfferRef, raw: dict | None) -> dict | None:
        """``offer`` as the request names it; ``raw`` the request's policy object as sent (it may
        carry the catalog's ``proof``). Raises InvalidRequest (``policy.proof``) with the reason."""
        if self.mode == "ignore":
            return None
        provider = offer.assigner or ""
        candidates = []
        if isinstance(raw, dict) and raw.get("proof") is not None:
            typed = {k: v for k, v in offer.to_json(with_target=False).items() if k != "assigner"}
            candidates = [signed_form(raw, offer.target or "", provider),
                          signed_form({**typed, "proof": raw["proof"]}, offer.target or "", provider)]
        else:
            remembered = self.cache.get(offer.id)
            if remembered is not None:
                signed, target, assigner = remembered
                if target != offer.target or assigner != provider or not equivalent(
                        policy_from_compact_dsp({k: v for k, v in signed.items() if k not in ENVELOPE}),
                        offer.policy):
                    raise InvalidRequest("offer.tampered", f"policy: offer {offer.id} differs from the one "
                                         f"{assigner} signed in its catalog (target {target!r}); send the "
                                         "offer as the catalog shows it", path="policy")
                candidates = [signed_form(signed, target, assigner)]
        if not candidates:
            if self.mode == "require":
                raise InvalidRequest("offer.unsigned", f"policy.proof: offer {offer.id} carries no proof by "
                                     f"{provider or 'its provider'}; this connector negotiates only signed offers "
                                     "([identity] offer_verification = \"require\")", path="policy.proof")
            return None
        return self._verified(candidates, provider, offer.id)

    def _verified(self, candidates: list[dict], provider: str, offer_id: str) -> dict | None:
        from connector.identity.wallet import verify_signed

        if self.resolve_key is None:
            raise InvalidRequest("offer.unverifiable", f"policy.proof: offer {offer_id} is signed, but this "
                                 "connector cannot resolve DIDs (no [identity] key_file)", path="policy.proof")
        reason = None
        for document in candidates:
            key = json.dumps(document, sort_keys=True)
            with self._lock:
                checked = self._verified_docs.get(key)
                if checked is not None and time.monotonic() - checked < VERIFIED_TTL:
                    return document  # the same signed offer again, checked moments ago
            result = verify_signed(document, self.resolve_key, signer=provider or None)
            if result.ok:
                with self._lock:
                    self._verified_docs[key] = time.monotonic()
                    while len(self._verified_docs) > 1024:
                        self._verified_docs.popitem(last=False)
                return document
            reason = reason or result.reason
        if self.unresolvable_ok and provider:
            from connector.identity.did import IdentityError

            try:
                self.resolver.resolve(provider)
            except IdentityError as exc:
                log.warning("offer %s: signature not checked, the DID document of %s cannot be read (%s); "
                            "negotiating because peers are authenticated by static tokens", offer_id, provider, exc)
                return None
        raise InvalidRequest("offer.tampered", f"policy.proof: offer {offer_id} does not verify as signed by "
                             f"{provider}: {reason}; it was altered after the provider signed it, or is not "
                             "the provider's", path="policy.proof")


def signed_offer_behind(db: Database, agreement: Any, signer: OfferSigner | None) -> dict | None:
    """The signed offer an agreement came from: as the consumer kept it, or (provider) rebuilt
    from the negotiated offer and our stored proof. None when there is none."""
    from connector.protocol import Role
    from connector.store.models import Negotiation, SignedOffer

    with db.read() as session:
        kept = session.get(SignedOffer, agreement.negotiation_id)
        if kept is not None:
            return kept.document
        neg = session.get(Negotiation, agreement.negotiation_id)
        if neg is None or neg.role != Role.PROVIDER.value or signer is None or not neg.offer_id:
            return None
        row = session.get(OfferProof, neg.offer_id)
    if row is None or not isinstance(neg.offer, dict):
        return None
    return signed_form({**neg.offer, "proof": row.proof}, agreement.asset_id, agreement.provider_id)


class SigningAfterWrites:
    """A DefinitionService whose every write (create_*, update_*, delete_*) is followed by
    ``after()``: the catalog signing the offers that changed (CatalogService.warm_proofs)."""

    def __init__(self, inner: Any, after: Callable[[], None]) -> None:
        self._inner = inner
        self._after = after

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not (callable(attr) and name.startswith(("create_", "update_", "delete_"))):
            return attr

        def write(*args: Any, **kwargs: Any) -> Any:
            result = attr(*args, **kwargs)
            self._after()
            return result
        return write
