"""Finding a partner by its BPN: our peers (configured and stored) first, then the BPN-DID directory.

The directory (:class:`connector.identity.bpn_directory.BpnDirectory`, ``[identity]
bpn_directory_url``) gives the DID; the partner's did:web document gives its DSP URL (its
``CatalogService`` / ``DataService`` entries), when it can be read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connector.identity.bpn_directory import BpnDirectory
from connector.identity.did import IdentityError
from connector.services.errors import ServiceError
from connector.services.peers import PeerDirectory, dsp_url_from_did


@dataclass(frozen=True)
class Partner:
    bpn: str
    did: str
    source: str  # "peer" or "directory"
    dsp_url: str | None = None
    note: str | None = None  # why there is no DSP URL


def find_partner(bpn: str, peers: PeerDirectory, directory: BpnDirectory | None, resolver: Any) -> Partner:
    """The partner with ``bpn``; IdentityError (code ``unknown_bpn``) naming where we looked."""
    for peer in peers.all():
        if peer.bpn == bpn and peer.id.startswith("did:"):
            return Partner(bpn, peer.id, "peer", peer.dsp_url)
    if directory is None:
        raise IdentityError(f"{bpn} is none of our peers, and no [identity] bpn_directory_url is configured",
                            code="unknown_bpn")
    did = directory.did_for(bpn)
    if did is None:
        raise IdentityError(f"{bpn} is none of our peers, and the BPN-DID directory names no DID for it",
                            code="unknown_bpn")
    try:
        return Partner(bpn, did, "directory", dsp_url_from_did(did, resolver))
    except ServiceError as exc:
        return Partner(bpn, did, "directory", None, str(exc))
