"""The part-data services one connector holds, built from its settings by the container."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connector.parts.changes import ChangeFeed, ObservedImporter, ObservedRegistry
from connector.parts.importer import PartImporter
from connector.parts.registry import Registry
from connector.parts.serving import PartSources


@dataclass
class Parts:
    registry: Registry
    importer: PartImporter
    serving: PartSources
    changes: ChangeFeed = field(default_factory=ChangeFeed)  # who hears of twin/submodel writes (mqtt events)


def build_parts(settings: Any, db: Any, *, clock: Callable[[], int], identity: Any, sources: Any) -> Parts:
    """The registry, the importer and the data-plane handlers; submodels are signed when we have a key."""
    changes = ChangeFeed()
    registry = ObservedRegistry(db, clock=clock, feed=changes)
    signer = getattr(sources, "signer", None)
    if signer is None and identity is not None:
        from connector.services.documents import DocumentSigner

        signer = DocumentSigner(identity)
    serving = PartSources(registry, settings.bpn, signer, settings.profile.dataspace)
    serving.install(sources)
    importer = ObservedImporter(registry, changes, bpn=settings.bpn, company=settings.name,
                                public_url=settings.public_url)
    return Parts(registry, importer, serving, changes)
