"""What a Data Consumer checks of a provider's twins on its way to a submodel (Factory-X ADR 008/009,
Catena-X CX-0002 alike), used by connector.provenance.suppliers.RemoteSupplier.

Each fault is its own error, saying what was expected and where, so a tombstone tells the provider's
staff what to fix:

- ``RegistryNotOffered``: no dataset of the catalog has ``dct:type`` cx-taxo:DigitalTwinRegistry (a
  dataset that looks like a registry but lacks the annotation is named);
- ``DescriptorInvalid``: a SubmodelDescriptor without ``semanticId`` (the submodel's type is unknown);
- ``NoDspEndpoint``: no endpoint of a SubmodelDescriptor has ``protocolInformation.subprotocol`` DSP;
- ``SubprotocolBodyError`` (a configuration error): ``subprotocolBody`` is not ``key=value`` pairs
  joined by ``;``, or lacks ``id`` or ``dspEndpoint``, or has a key ADR 009 does not define;
- ``RegistryIntegrationError``: the registry's base path serves no ``/lookup/shells`` (ADR 008 wants
  the Registry and the Discovery under one base path).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from connector.services.remote_catalog import dataset_record

REGISTRY_TYPE = "https://w3id.org/catenax/taxonomy#DigitalTwinRegistry"
DCT_TYPE = "http://purl.org/dc/terms/type"
BODY_KEYS = ("id", "dspEndpoint")


class DiscoveryError(ValueError):
    """A provider's twin data a consumer cannot follow; ``step`` is the IRS process step it fails."""

    step = "DigitalTwinRequest"


class RegistryNotOffered(DiscoveryError):
    pass


class RegistryIntegrationError(DiscoveryError):
    pass


class DescriptorInvalid(DiscoveryError):
    step = "SchemaValidation"


class NoDspEndpoint(DiscoveryError):
    step = "SubmodelRequest"


class SubprotocolBodyError(DiscoveryError):
    step = "SubmodelRequest"


@dataclass(frozen=True, slots=True)
class DspTarget:
    """Where a submodel is negotiated: the dataset ``id`` in the provider's catalog at ``dsp_endpoint``."""

    dataset_id: str
    dsp_endpoint: str


@dataclass(frozen=True, slots=True)
class SubmodelEndpoint:
    href: str
    target: DspTarget


def _descriptor_name(descriptor: Any) -> str:
    return repr(descriptor.get("id")) if isinstance(descriptor, dict) else "(not an object)"


def parse_subprotocol_body(text: Any, descriptor: str) -> DspTarget:
    """``id=<dataset id>;dspEndpoint=<DSP URL>`` (ADR 009: ``=`` assigns, ``;`` separates; a value may
    hold ``=``). A configuration error of ``descriptor`` names the missing, empty or unknown key."""
    said = f"submodel descriptor {descriptor}: protocolInformation.subprotocolBody"
    if not isinstance(text, str) or not text.strip():
        raise SubprotocolBodyError(f"configuration error: {said} is empty; expected id=<dataset id>;"
                                   "dspEndpoint=<DSP URL>")
    pairs: dict[str, str] = {}
    for segment in text.split(";"):
        if not segment.strip():
            continue  # a trailing ';' says nothing
        key, eq, value = segment.partition("=")
        key = key.strip()
        if not eq or not key:
            raise SubprotocolBodyError(f"configuration error: {said} {text!r}: {segment!r} is not a key=value pair "
                                       "(pairs are joined by ';')")
        if key not in BODY_KEYS:
            close = difflib.get_close_matches(key, BODY_KEYS, n=1, cutoff=0.5)
            hint = f"closest: {close[0]}" if close else f"known: {', '.join(BODY_KEYS)}"
            raise SubprotocolBodyError(f"configuration error: {said} {text!r}: unknown key {key!r} ({hint})")
        if key in pairs:
            raise SubprotocolBodyError(f"configuration error: {said} {text!r}: key {key!r} given twice")
        pairs[key] = value.strip()
    for key in BODY_KEYS:
        if not pairs.get(key):
            what = "an empty" if key in pairs else "no"
            raise SubprotocolBodyError(f"configuration error: {said} {text!r} has {what} {key!r} key "
                                       f"(expected id=<dataset id>;dspEndpoint=<DSP URL>)")
    if not pairs["dspEndpoint"].startswith(("http://", "https://")):
        raise SubprotocolBodyError(f"configuration error: {said} {text!r}: dspEndpoint is not an http(s) URL")
    return DspTarget(pairs["id"], pairs["dspEndpoint"])


def dsp_endpoint(descriptor: Any) -> SubmodelEndpoint:
    """The submodel's URL and where to negotiate it, from the descriptor's endpoint with subprotocol DSP."""
    name = _descriptor_name(descriptor)
    endpoints = descriptor.get("endpoints") if isinstance(descriptor, dict) else None
    infos: list[dict] = [e["protocolInformation"] for e in endpoints or []
                         if isinstance(e, dict) and isinstance(e.get("protocolInformation"), dict)]
    dsp = [i for i in infos if i.get("subprotocol") == "DSP"]
    if not dsp:
        found = sorted({str(i["subprotocol"]) for i in infos if i.get("subprotocol")})
        raise NoDspEndpoint(f"submodel descriptor {name} has no endpoint with protocolInformation.subprotocol DSP "
                            f"(found {len(infos)} endpoint(s), subprotocols {found or 'none'}): the DSP endpoint and "
                            "dataset id of the submodel cannot be derived")
    info = dsp[0]
    href = info.get("href")
    if not isinstance(href, str) or not href.startswith(("http://", "https://")):
        raise NoDspEndpoint(f"submodel descriptor {name}: the DSP endpoint's protocolInformation.href is not an "
                            f"http(s) URL: {href!r:.120}")
    return SubmodelEndpoint(href, parse_subprotocol_body(info.get("subprotocolBody"), name))


def semantic_id(descriptor: Any) -> str | None:
    semantic = descriptor.get("semanticId") if isinstance(descriptor, dict) else None
    keys = semantic.get("keys") if isinstance(semantic, dict) else None
    if isinstance(keys, list) and keys and isinstance(keys[0], dict) and isinstance(keys[0].get("value"), str) \
            and keys[0]["value"]:
        return keys[0]["value"]
    return None


def check_descriptors(shell: dict) -> None:
    """Every SubmodelDescriptor of ``shell`` says what it is (ADR 008: a ``semanticId``)."""
    found = shell.get("submodelDescriptors")
    if found is None:
        return
    if not isinstance(found, list):
        raise DescriptorInvalid(f"validation error: shell {shell.get('id')!r}: submodelDescriptors is not an array")
    for i, descriptor in enumerate(found):
        if semantic_id(descriptor) is None:
            raise DescriptorInvalid(
                f"validation error: shell {shell.get('id')!r}: submodelDescriptors[{i}] (submodel descriptor "
                f"{_descriptor_name(descriptor)}) has no semanticId, so the submodel's type cannot be identified "
                "(Factory-X ADR 008 requires one)")


def dataset_type(dataset: dict) -> str | None:
    """A catalog dataset's ``dct:type`` IRI, however the catalog's context wrote the key."""
    kind = dataset_record(dataset).get(DCT_TYPE)
    kind = kind.get("@id") if isinstance(kind, dict) else kind
    return kind if isinstance(kind, str) else None


def is_registry(dataset: dict) -> bool:
    kind = dataset_type(dataset)
    return kind is not None and (kind == REGISTRY_TYPE or kind.endswith(":DigitalTwinRegistry"))


def registries(datasets: list[dict], where: str) -> list[dict]:
    """The catalog's Digital Twin Registry datasets (ADR 009: typed by ``dct:type``), or RegistryNotOffered."""
    found = [d for d in datasets if is_registry(d)]
    if found:
        return found
    title = "http://purl.org/dc/terms/title"
    lookalikes = [str(d.get("@id")) for d in datasets
                  if "registry" in f"{d.get('@id')} {dataset_record(d).get(title)}".lower()]
    hint = (f"; dataset {lookalikes[0]!r} looks like one but lacks the annotation" if lookalikes else "")
    raise RegistryNotOffered(f"discovery failure: no Digital Twin Registry offered in the catalog at {where}: no "
                             f"dataset has {DCT_TYPE} = {REGISTRY_TYPE} (Factory-X ADR 009, CX-0002){hint}")


def lookup_not_served(base: str, status: int, reason: str) -> RegistryIntegrationError:
    """The registry at ``base`` answered 404 for ``/lookup/shells`` itself (a look-up that matches nothing
    answers 200 and an empty result): its Discovery is elsewhere."""
    return RegistryIntegrationError(
        f"integration error: the Digital Twin Registry at {base} serves no Discovery at {base}/lookup/shells "
        f"(HTTP {status}: {reason}); Factory-X ADR 008 requires the Registry and the Discovery under one base path")
