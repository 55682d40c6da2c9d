"""GX-7: a ServiceOffering for the connector and a DataProduct per offered asset, generated from the
catalog after onboarding, shape-checked, signed and stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector.config import Settings
from connector.gaiax import store
from connector.gaiax.jose import peek, verify_jwt
from connector.gaiax.keys import chain_pem, generate_private_key, write_private_pem
from connector.gaiax.onboarding import OnboardingError, onboard
from connector.gaiax.service import offering_credentials
from connector.gaiax.shapes import validator
from connector.gaiax.web import gaiax_key
from connector.store.db import Database
from connector.store.models import Asset

from .conftest import MockHandle, Participant, client_for, gx_settings, resolver_for


def test_offerings_from_the_catalog(mock_gxdch: MockHandle, db: Database, tmp_path: Path) -> None:
    gx = gx_settings(mock_gxdch, tmp_path)
    settings = Settings(participant_id="did:web:acme.example", name="Acme connector", api_key="k",
                        database_url=db.url, server={"public_url": "https://acme.example"}, gaiax=gx)
    write_private_pem(gx.key_file, generate_private_key())
    key = gaiax_key(settings)
    with pytest.raises(OnboardingError, match="run `connector gaiax onboard` first"):
        offering_credentials(settings, db, datetime.now(UTC), "https://acme.example/terms.pdf", "ab" * 32)
    # onboard first (the mock resolves our DID document from its files)
    document = {"id": key.did, "verificationMethod": [key.verification_method()], "assertionMethod": [key.kid]}
    mock_gxdch.files["https://acme.example/.well-known/did.json"] = json.dumps(document).encode()
    mock_gxdch.files[key.x5u] = chain_pem(mock_gxdch.gxdch.ca.issue(key.private_key.public_key(), key.did,
                                                                    datetime.now(UTC)))
    me = Participant(key.did, key, document, "https://acme.example")
    onboard(gx, key, "https://acme.example", client_for(mock_gxdch), resolver_for(me), db, datetime.now(UTC),
            validator())
    with db.write() as session:
        session.add(Asset(id="pcf-1", properties={"name": "PCF of part 1"}, private_properties={}, data_address={}))
        session.add(Asset(id="parts-2", properties={}, private_properties={}, data_address={}))
    made = offering_credentials(settings, db, datetime.now(UTC), "https://acme.example/terms.pdf", "ab" * 32)
    assert len(made) == 3
    kinds = sorted(c.kind for c in store.load(db))
    assert kinds.count("data-product") == 2 and kinds.count("service-offering") == 1 and "label" in kinds
    offering = verify_jwt(made[0], "vc", resolver_for(me), datetime.now(UTC)).payload
    assert offering["credentialSubject"]["gx:endpoint"]["gx:endpointURL"]["@value"] == settings.dsp_url
    products = {peek(t)[1]["credentialSubject"]["gx:digitalServiceOfferingName"]: peek(t)[1]["credentialSubject"]
                for t in made[1:]}
    assert set(products) == {"PCF of part 1", "parts-2"}  # a name from the asset's properties, else its id
    product = products["PCF of part 1"]
    assert product["gx:dataProductDescription"]["dcat:Dataset"] == settings.dsp_url + "/catalog/datasets/pcf-1"
