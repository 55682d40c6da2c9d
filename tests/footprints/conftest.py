"""Fixtures for the footprint tests: a publishing service on a migrated store, with a signing key."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connector.identity.wallet import LocalIdentity, new_key_file
from connector.pcf.document import new_footprint
from connector.services.footprints import FootprintService
from tests.harness import Clock

NORDGUSS_DID = "did:web:localhost%3A8411"
NOW = datetime(2026, 11, 7, 8, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


@pytest.fixture
def identity(tmp_path) -> LocalIdentity:
    keys = new_key_file(tmp_path / "nordguss.keys.json", NORDGUSS_DID)
    return LocalIdentity(NORDGUSS_DID, keys)


@pytest.fixture
def service(db, identity) -> FootprintService:
    return FootprintService(db, company_name="Nordguss GmbH", bpn="BPNL0000000NGUSS", identity=identity,
                            clock=Clock(NOW_MS))


def casting(kg: float = 12.5, **kw) -> dict:
    return new_footprint(product_id=kw.pop("product_id", "NG-WC-400"), product_name="Wheel-carrier casting",
                         company_name="Nordguss GmbH", company_bpn="BPNL0000000NGUSS", declared_unit="piece",
                         pcf_excluding_biogenic_uptake=kg, now=NOW, **kw)
