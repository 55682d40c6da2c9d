"""Multikey, base58btc, did:key and JWK: known answers and round trips."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connector.identity import multikey as mk

from .conftest import load_json, requires_shared, vectors_dir


@pytest.mark.parametrize("raw, encoded", [
    (b"", ""),
    (b"\0", "1"),
    (b"\0\0\x01", "112"),
    (b"Hello World!", "2NEpo7TZRRrLZSi2U"),
    (bytes.fromhex("00000000000000000000"), "1111111111"),
    (b"The quick brown fox jumps over the lazy dog.", "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z"),
])
def test_base58btc_known_answers(raw, encoded):
    assert mk.b58encode(raw) == encoded
    assert mk.b58decode(encoded) == raw


def test_base58btc_round_trips_random_bytes():
    for size in range(0, 70, 7):
        data = b"\0" * (size % 3) + os.urandom(size)
        assert mk.b58decode(mk.b58encode(data)) == data


@pytest.mark.parametrize("bad", ["0", "O", "I", "l", "abc+", "z z"])
def test_base58btc_rejects_characters_outside_the_alphabet(bad):
    with pytest.raises(mk.KeyFormatError):
        mk.b58decode(bad)


@requires_shared
def test_multikey_matches_the_official_key_pair():
    pair = load_json(vectors_dir() / "keyPair.json")
    private = mk.decode_secret_multikey(pair["privateKeyMultibase"])
    assert mk.encode_public_multikey(private.public_key()) == pair["publicKeyMultibase"]
    assert mk.encode_secret_multikey(private) == pair["privateKeyMultibase"]
    assert pair["publicKeyMultibase"].startswith("z6Mk") and pair["privateKeyMultibase"].startswith("z3u2")


@requires_shared
def test_multikey_matches_the_proof_set_key_pairs():
    for pair in load_json(vectors_dir() / "proof-set-chain" / "multiKeyPairs.json").values():
        private = mk.decode_secret_multikey(pair["privateKeyMultibase"])
        assert mk.encode_public_multikey(private.public_key()) == pair["publicKeyMultibase"]


def test_multikey_round_trip_and_headers():
    private = Ed25519PrivateKey.generate()
    public_mb = mk.encode_public_multikey(private.public_key())
    secret_mb = mk.encode_secret_multikey(private)
    assert mk.multibase_decode(public_mb)[:2] == b"\xed\x01"
    assert mk.multibase_decode(secret_mb)[:2] == b"\x80\x26"
    assert mk.encode_public_multikey(mk.decode_public_multikey(public_mb)) == public_mb
    assert mk.encode_secret_multikey(mk.decode_secret_multikey(secret_mb)) == secret_mb
    with pytest.raises(mk.KeyFormatError):
        mk.decode_public_multikey(secret_mb)  # wrong header
    with pytest.raises(mk.KeyFormatError):
        mk.decode_secret_multikey(public_mb)
    with pytest.raises(mk.KeyFormatError):
        mk.decode_public_multikey("u" + public_mb[1:])  # not base58btc
    with pytest.raises(mk.KeyFormatError):
        mk.decode_public_multikey(mk.multibase_encode(b"\xed\x01" + b"\x01" * 31))  # short key


def test_did_key_document_and_resolution():
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    mb = mk.encode_public_multikey(public)
    did = f"did:key:{mb}"
    doc = mk.did_key_document(public)
    assert doc["id"] == did
    assert doc["@context"] == [mk.DID_V1_CONTEXT, mk.MULTIKEY_V1_CONTEXT]
    vm = doc["verificationMethod"][0]
    assert vm == {"id": f"{did}#{mb}", "type": "Multikey", "controller": did, "publicKeyMultibase": mb}
    for relationship in mk.DID_KEY_RELATIONSHIPS:
        assert doc[relationship] == [vm["id"]]
    assert mk.resolve_did_key(did) == doc
    assert mk.did_key_document(did) == doc == mk.did_key_document(mb)
    resolved_vm = mk.resolve_did_key(f"{did}#{mb}")
    assert {k: v for k, v in resolved_vm.items() if k != "@context"} == vm
    assert mk.public_key_from_vm(resolved_vm).public_bytes_raw() == public.public_bytes_raw()
    with pytest.raises(mk.KeyFormatError):
        mk.resolve_did_key(f"{did}#other")
    with pytest.raises(mk.KeyFormatError):
        mk.resolve_did_key("did:web:example.com")


@requires_shared
def test_did_key_of_the_vector_matches_its_verification_method():
    signed = load_json(vectors_dir() / "eddsa-rdfc-2022" / "signedDataInt.json")
    pair = load_json(vectors_dir() / "keyPair.json")
    assert mk.did_key_vm_id(mk.decode_public_multikey(pair["publicKeyMultibase"])) == \
        signed["proof"]["verificationMethod"]


def test_jwk_rfc8037_known_answer():
    # RFC 8037 appendix A.1/A.2
    jwk = {"kty": "OKP", "crv": "Ed25519", "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
           "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    private = mk.jwk_to_private(jwk)
    assert mk.private_jwk(private) == jwk
    assert mk.public_jwk(private.public_key()) == {k: v for k, v in jwk.items() if k != "d"}
    # RFC 8037 A.4: the signature of "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
    sig = private.sign(b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc")
    assert sig.hex().startswith("860c98d2297f3060a33f42739672d61b53cf3adefed3d3c672f320dc021b411e")


def test_jwk_round_trips_and_rejections():
    private = Ed25519PrivateKey.generate()
    jwk = mk.public_jwk(private.public_key())
    assert mk.jwk_to_public(jwk).public_bytes_raw() == private.public_key().public_bytes_raw()
    assert mk.jwk_to_private(mk.private_jwk(private)).private_bytes_raw() == private.private_bytes_raw()
    vm = mk.jwk_vm("did:web:example.com#k1", "did:web:example.com", private.public_key())
    assert vm["type"] == "JsonWebKey"
    assert mk.public_key_from_vm(vm).public_bytes_raw() == private.public_key().public_bytes_raw()
    other = Ed25519PrivateKey.generate()
    with pytest.raises(mk.KeyFormatError):  # d of another key
        mk.jwk_to_private({**jwk, "d": mk.private_jwk(other)["d"]})
    with pytest.raises(mk.KeyFormatError):
        mk.jwk_to_public({**jwk, "crv": "X25519"})
    with pytest.raises(mk.KeyFormatError):
        mk.jwk_to_public({"kty": "EC", "crv": "P-256", "x": "a", "y": "b"})
    with pytest.raises(mk.KeyFormatError):
        mk.jwk_to_public({**jwk, "x": jwk["x"] + "="})  # padded
    with pytest.raises(mk.KeyFormatError):  # a method that publishes its secret is refused
        mk.public_key_from_vm({**vm, "publicKeyJwk": mk.private_jwk(private)})
    with pytest.raises(mk.KeyFormatError):
        mk.public_key_from_vm({"id": "x", "type": "Multikey"})


def test_multikey_and_jwk_views_agree():
    private = Ed25519PrivateKey.generate()
    via_mb = mk.public_key_from_vm(mk.multikey_vm("did:x:1#k", "did:x:1", private.public_key()))
    via_jwk = mk.public_key_from_vm(mk.jwk_vm("did:x:1#k", "did:x:1", private.public_key()))
    assert via_mb.public_bytes_raw() == via_jwk.public_bytes_raw()
