"""Which connector answers for a BPN: a directory each connector keeps, without a discovery server.

It is filled from our own config: every ``[[peers]]`` entry with a ``bpn`` names a company and
its connector (``dsp_url``, participant id). A peer configured without ``dsp_url`` whose id is a
did:web DID is looked up in its DID document: the DSP ``CatalogService`` service entry
(``<dsp url>/catalog``) gives its DSP URL. A BPN with several connectors lists them all; a
traversal tries them in order. Our own BPN is answered from our own parts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from connector.config import Settings

log = logging.getLogger("pontis.provenance")


@dataclass(frozen=True, slots=True)
class Endpoint:
    bpn: str
    participant_id: str
    dsp_url: str
    source: str  # "config" or "did" (where we learnt the DSP URL)


class NotInDirectory(LookupError):
    """No connector is known for a BPN; the message says which BPNs are."""


def dsp_url_from_did_document(document: dict) -> str | None:
    """The DSP base URL a DID document advertises (dsp.md "DID discovery": CatalogService)."""
    services = document.get("service") or []
    for service in services if isinstance(services, list) else [services]:
        if not isinstance(service, dict):
            continue
        kinds = service.get("type")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        endpoint = service.get("serviceEndpoint")
        if "CatalogService" in kinds and isinstance(endpoint, str) and endpoint.startswith(("http://", "https://")):
            return endpoint.rstrip("/").removesuffix("/catalog")
    return None


class Directory:
    def __init__(self, settings: Settings, resolve_did: Callable[[str], dict] | None = None) -> None:
        self.own_bpn = settings.bpn
        self._resolve_did = resolve_did
        self._entries: dict[str, list[Endpoint]] = {}
        self._pending: dict[str, list[str]] = {}  # bpn → DIDs whose DSP URL is still to be looked up
        for peer in settings.peers:
            if not peer.bpn:
                continue
            if peer.dsp_url:
                self._entries.setdefault(peer.bpn, []).append(Endpoint(peer.bpn, peer.id, peer.dsp_url, "config"))
            elif peer.id.startswith("did:web:"):
                self._pending.setdefault(peer.bpn, []).append(peer.id)

    def is_own(self, bpn: str) -> bool:
        return bpn == self.own_bpn

    def known(self) -> list[str]:
        return sorted({*self._entries, *self._pending} | ({self.own_bpn} if self.own_bpn else set()))

    def lookup(self, bpn: str) -> list[Endpoint]:
        """The connectors of ``bpn``, DID documents read on first use (blocking: call from a thread)."""
        for did in self._pending.pop(bpn, []):
            try:
                if self._resolve_did is None:
                    raise LookupError("no DID resolver configured")
                url = dsp_url_from_did_document(self._resolve_did(did))
            except Exception as exc:  # an unreachable DID document leaves that peer out, said in the log
                log.warning("directory: the DID document of %s (%s) could not be read: %s", did, bpn, exc)
                continue
            if url:
                self._entries.setdefault(bpn, []).append(Endpoint(bpn, did, url, "did"))
            else:
                log.warning("directory: the DID document of %s (%s) names no DSP CatalogService", did, bpn)
        found = self._entries.get(bpn)
        if not found:
            raise NotInDirectory(f"no connector is known for {bpn}: it is not among this connector's peers "
                                 f"(known: {', '.join(self.known()) or 'none'})")
        return list(found)

    def entries(self) -> dict[str, list[dict]]:
        """What the directory holds now, for staff (``GET /management/irs/directory``)."""
        out: dict[str, list[dict[str, str | None]]] = {bpn: [{"participantId": e.participant_id, "dspUrl": e.dsp_url, "source": e.source} for e in found]
               for bpn, found in self._entries.items()}
        for bpn, dids in self._pending.items():
            out.setdefault(bpn, []).extend({"participantId": d, "dspUrl": None, "source": "did (not yet read)"}
                                           for d in dids)
        return out
