"""Why a policy allows or denies a participant: for admins, never for the requester.

The claims used are, in order: the ones the admin passes (a hypothetical requester), the ones
that participant last proved to this connector, or the ones the config gives a known peer.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from connector.policy import decision_to_dict, explain_lines, policy_from_compact_dsp
from connector.policy.profile import SCOPES
from connector.services.errors import InvalidRequest, NotFound
from connector.services.groups import groups_of
from connector.services.usage import AccessGate
from connector.store import Database
from connector.store.models import Asset, ContractDefinition, PolicyDefinition


class Explainer:
    def __init__(self, db: Database, gate: AccessGate, settings: Any, peers: Any = None) -> None:
        self.db = db
        self.gate = gate
        self.settings = settings
        # the peer directory (config and added peers); without it, the config's peers only
        self.peers = peers

    def claims_for(self, participant_id: str, given: dict | None) -> tuple[dict, str]:
        if given is not None:
            return dict(given), "given"
        if participant_id in self.gate.last_claims:
            return self.gate.last_claims[participant_id], "last proved to this connector"
        peer = self.peers.by_id(participant_id) if self.peers is not None else self.settings.peer_by_id(participant_id)
        if peer is not None:
            # the peer's id is the DID it authenticates with (connector.identity.auth.Participant)
            return {"bpn": peer.bpn, **peer.claims, "did": peer.id}, "the peer entry"
        return {}, "none known: the participant has not called this connector"

    def policy(self, policy_id: str, participant_id: str, scope: str | None = None,
               claims: dict | None = None) -> dict:
        scope = scope or "contract.negotiation"
        if scope not in SCOPES:
            raise InvalidRequest("scope", f"one of {', '.join(SCOPES)}, got {scope!r}", path="scope")
        with self.db.read() as session:
            row = session.get(PolicyDefinition, policy_id)
            if row is None:
                raise NotFound("policy.unknown", f"no policy definition {policy_id!r}")
            used, source = self.claims_for(participant_id, claims)
            groups = groups_of(session, used.get("bpn"))
            decision = self.gate.decide(policy_from_compact_dsp(row.policy), used, groups, scope)
        return {
            "policyId": policy_id, "participantId": participant_id, "scope": scope, "allowed": decision.allowed,
            "explanation": explain_lines(decision), "claims": used, "claimsSource": source,
            "groups": sorted(groups), **decision_to_dict(decision),
        }

    def offer(self, asset_id: str, participant_id: str, claims: dict | None = None) -> dict:
        """For each contract definition offering the asset: would the participant see it, and agree?"""
        with self.db.read() as session:
            asset = session.get(Asset, asset_id)
            if asset is None:
                raise NotFound("asset.unknown", f"no asset {asset_id!r}")
            definitions = offering(session, asset)
        out = []
        for cd in definitions:
            access = self.policy(cd.access_policy_id, participant_id, "catalog", claims)
            usage = self.policy(cd.contract_policy_id, participant_id, "contract.negotiation", claims)
            out.append({"contractDefinitionId": cd.id, "visible": access["allowed"], "access": access,
                        "agreeable": usage["allowed"], "usage": usage})
        return {"assetId": asset_id, "participantId": participant_id, "offers": out}


def offering(session: Any, asset: Asset) -> list[ContractDefinition]:
    """The contract definitions whose selector picks ``asset``: those that offer it."""
    from connector.services.catalog import asset_record
    from connector.services.criteria import matches, parse_criteria

    return [cd for cd in session.exec(select(ContractDefinition).order_by(ContractDefinition.id))
            if cd.asset_id == asset.id or (cd.asset_id is None and all(
                matches(c, asset_record(asset)) for c in parse_criteria(cd.assets_selector, "s")))]
