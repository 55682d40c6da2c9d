"""Issue 15: a catalog whose offers carry proofs is still a valid DSP 2025-1 catalog (compared with
the official schemas; skipped when ../shared is absent)."""

from __future__ import annotations

import pytest

from tests.identity_service.test_offer_signing import MEMBER, provider
from tests.management.helpers import publish
from tests.protocol.test_messages_schema import DSP, _validator

pytestmark = pytest.mark.skipif(not DSP.is_dir(), reason=f"reference DSP 2025-1 files not found at {DSP} (../shared is absent)")


def test_a_signed_catalog_and_dataset_validate_against_the_dsp_schemas(tmp_path):
    services, client = provider(tmp_path)
    with client:
        publish(client)
        catalog, _ = services.catalog.page(MEMBER, None, 100)
        dataset = services.catalog.dataset(MEMBER, "asset-1")
    assert "proof" in catalog["dataset"][0]["hasPolicy"][0] and "proof" in dataset["hasPolicy"][0]
    for document, schema in ((catalog, "catalog-schema.json"), (dataset, "dataset-schema.json")):
        errors = list(_validator(DSP / "catalog" / schema).iter_errors(document))
        assert errors == [], [e.message for e in errors]
