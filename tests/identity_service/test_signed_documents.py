"""Published documents carry the provider's eddsa-jcs-2022 proof; a receiver verifies it."""

import pytest

from connector.identity.keys import SigningKey
from connector.services.documents import DocumentSigner, verify_received


class _Identity:
    def __init__(self) -> None:
        self.key = SigningKey.generate()


def resolve(vm):  # did:key methods carry their key; the verifier resolves them itself
    from connector.identity.multikey import resolve_did_key

    return resolve_did_key(vm.split("#")[0])


@pytest.fixture
def signer():
    return DocumentSigner(_Identity())


def test_a_served_document_is_signed_once_and_verifies(signer):
    pcf = {"productIds": ["urn:mpn:NG-WC-400"], "pcf": {"pcfExcludingBiogenicUptake": 12.5}}
    signed = signer(pcf)
    assert signed is signer(dict(pcf))  # the same document is signed once
    assert "@context" not in signed and signed["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    result = verify_received(signed, resolve, signed["proof"]["verificationMethod"].split("#")[0])
    assert result is not None and result.ok, result and result.reason


def test_a_tampered_or_foreign_document_fails(signer):
    signed = signer({"pcf": {"pcfExcludingBiogenicUptake": 12.5}})
    tampered = {**signed, "pcf": {"pcfExcludingBiogenicUptake": 1.25}}
    result = verify_received(tampered, resolve, None)
    assert result is not None and not result.ok and result.reason
    other = verify_received(signed, resolve, "did:web:someone-else")
    assert not other.ok and "not by did:web:someone-else" in other.reason
    assert verify_received({"pcf": 1}, resolve, None) is None  # unsigned: nothing to verify
