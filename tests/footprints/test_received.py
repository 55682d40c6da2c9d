"""What a customer keeps: only a valid PCF with its supplier's valid signature; calls pass the SSRF guard."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from connector.config import Peer, Settings
from connector.identity.dataintegrity import sign
from connector.identity.wallet import new_key_file
from connector.services.pcf_client import PcfClient, Refused
from connector.services.pcf_exchange import accept_footprint
from connector.services.remote_catalog import RemoteCatalog
from connector.services.ssrf import OutgoingGuard
from tests.footprints.conftest import casting


@pytest.fixture
def supplier(tmp_path):
    keys = new_key_file(tmp_path / "supplier.keys.json", "did:key:")
    return keys.active.controller, keys.active


@pytest.fixture
def customer(db):
    settings = Settings(participant_id="did:web:customer.test", api_key="k", database_url=db.url)
    from connector.identity.did import DidResolver

    return SimpleNamespace(db=db, identity=None, settings=settings, negotiations=SimpleNamespace(clock=lambda: 5),
                           pcf_client=SimpleNamespace(resolver=DidResolver()))


def signed(key, document: dict) -> dict:
    return sign(document, key, cryptosuite="eddsa-jcs-2022", check_jsonld=False)


def test_a_signed_valid_footprint_is_kept(customer, supplier) -> None:
    did, key = supplier
    row = accept_footprint(customer, did, "BPNL0000000NGUSS", signed(key, casting()), "pull", None, "NG-WC-400")
    assert (row.product_id, row.status, row.signer.split("#")[0]) == ("NG-WC-400", "Active", did)
    assert row.signed["proof"]["cryptosuite"] == "eddsa-jcs-2022"


def test_a_tampered_footprint_is_refused(customer, supplier) -> None:
    did, key = supplier
    document = signed(key, casting())
    document["pcf"]["pcfExcludingBiogenicUptake"] = 1.0
    with pytest.raises(Refused, match="signature is not valid"):
        accept_footprint(customer, did, None, document, "pull", None, "NG-WC-400")


def test_an_unsigned_footprint_is_refused(customer, supplier) -> None:
    with pytest.raises(Refused, match="not signed"):
        accept_footprint(customer, supplier[0], None, casting(), "pull", None, "NG-WC-400")


def test_a_footprint_signed_by_someone_else_is_refused(customer, supplier, tmp_path) -> None:
    other = new_key_file(tmp_path / "other.keys.json", "did:key:").active
    with pytest.raises(Refused, match="not by"):
        accept_footprint(customer, supplier[0], None, signed(other, casting()), "pull", None, "NG-WC-400")


def test_an_invalid_pcf_is_refused_even_when_signed(customer, supplier) -> None:
    did, key = supplier
    bad = casting()
    bad["pcf"]["pcfExcludingBiogenicUptake"] = -2
    with pytest.raises(Refused, match="not a valid PCF"):
        accept_footprint(customer, did, None, signed(key, bad), "pull", None, "NG-WC-400")


def test_a_footprint_for_another_product_is_refused(customer, supplier) -> None:
    did, key = supplier
    with pytest.raises(Refused, match="asked for product AX-RM-7"):
        accept_footprint(customer, did, None, signed(key, casting()), "response", None, "AX-RM-7")


def test_data_plane_calls_pass_the_ssrf_guard(db) -> None:
    settings = Settings(participant_id="did:web:customer.test", api_key="k", database_url=db.url,
                        peers=[Peer(id="did:web:supplier.test", dsp_url="http://127.0.0.1:9/api/dsp/2025-1")])
    negotiations = SimpleNamespace(clock=lambda: 5, participant_id=settings.participant_id)
    client = PcfClient(settings, db, RemoteCatalog(None, None), guard=OutgoingGuard(), identity=None,  # type: ignore[arg-type]  # calls need no catalog, transfers or EDRs
                       negotiations=negotiations, transfers=None, edr_cache=None)

    async def calls() -> tuple[str, str]:
        with pytest.raises(Refused) as private:
            await client.call("GET", "http://10.0.0.7/api/public", "token")
        with pytest.raises(Refused) as metadata:
            await client.call("GET", "http://169.254.169.254/latest/meta-data", "token")
        await client.aclose()
        return private.value.reason, metadata.value.reason

    private, metadata = asyncio.run(calls())
    assert "SSRF" in private and "private" in private
    assert "SSRF" in metadata and "link-local" in metadata
    import ipaddress  # a configured peer's host is the admin's choice, so it is allowed

    assert client.allowlist.allows_ip(ipaddress.ip_address("127.0.0.1"))


def test_a_kept_footprint_tampered_later_is_still_refused(customer, supplier) -> None:
    did, key = supplier
    document = signed(key, casting())
    accept_footprint(customer, did, None, document, "pull", None, "NG-WC-400")
    assert accept_footprint(customer, did, None, document, "pull", None, "NG-WC-400").signed == document  # again
    tampered = {**document, "pcf": {**document["pcf"], "pcfExcludingBiogenicUptake": 0.5}}
    with pytest.raises(Refused, match="signature is not valid"):
        accept_footprint(customer, did, None, tampered, "pull", None, "NG-WC-400")
