"""The part-data services one connector holds, built from its settings by the container."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connector.parts.importer import PartImporter
from connector.parts.registry import Registry
from connector.parts.serving import PartSources


@dataclass
class Parts:
    registry: Registry
    importer: PartImporter
    serving: PartSources


def build_parts(settings: Any, db: Any, *, clock: Callable[[], int], identity: Any, sources: Any) -> Parts:
    """The registry, the importer and the data-plane handlers; submodels are signed when we have a key."""
    registry = Registry(db, clock=clock)
    signer = getattr(sources, "signer", None)
    if signer is None and identity is not None:
        from connector.services.documents import DocumentSigner

        signer = DocumentSigner(identity)
    serving = PartSources(registry, settings.bpn, signer, settings.profile.dataspace)
    serving.install(sources)
    importer = PartImporter(registry, bpn=settings.bpn, company=settings.name, public_url=settings.public_url)
    return Parts(registry, importer, serving)
