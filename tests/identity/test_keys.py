"""Key files (0600, optional passphrase encryption) and key sets with rotation."""

from __future__ import annotations

import json
import os
import stat

import pytest

from connector.identity import keys
from connector.identity.dataintegrity import sign, verify
from connector.identity.multikey import decode_public_multikey, did_key_vm_id

CONTROLLER = "did:web:supplier.example"
DOC = {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"],
       "issuer": CONTROLLER, "validFrom": "2025-01-01T00:00:00Z",
       "credentialSubject": {"id": "urn:uuid:7a0c2f1e-4d1b-4f7e-9c55-0d7d3c0b5a10"}}


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_generate_ids():
    did_key = keys.generate_key()
    assert did_key.id == did_key_vm_id(did_key.public_key) and did_key.controller.startswith("did:key:z6Mk")
    web = keys.generate_key(controller=CONTROLLER)
    assert web.id == f"{CONTROLLER}#{web.public_key_multibase}" and web.controller == CONTROLLER
    named = keys.generate_key("did:web:supplier.example#key-1")
    assert named.controller == CONTROLLER
    vm = named.verification_method()
    assert vm["type"] == "Multikey" and vm["controller"] == CONTROLLER
    assert decode_public_multikey(vm["publicKeyMultibase"]).public_bytes_raw() == named.public_key.public_bytes_raw()
    assert "private_key" not in repr(named)  # never printed into logs


def test_plain_key_file_round_trip_with_0600(tmp_path):
    key = keys.generate_key("did:web:supplier.example#key-1")
    path = keys.save_key(key, tmp_path / "signing.json")
    assert mode(path) == 0o600
    data = json.loads(path.read_text())
    assert data["type"] == "PontisEd25519Key" and data["id"] == key.id and data["controller"] == CONTROLLER
    assert data["secretKeyMultibase"].startswith("z3u2") and data["publicKeyMultibase"] == key.public_key_multibase
    loaded = keys.load_key(path)
    assert loaded.private_key.private_bytes_raw() == key.private_key.private_bytes_raw()
    assert (loaded.id, loaded.controller, loaded.created) == (key.id, key.controller, key.created)
    assert not list(tmp_path.glob(".signing.json.*")), "temporary file left behind"


def test_overwrite_keeps_0600_even_if_target_was_wider(tmp_path):
    path = tmp_path / "k.json"
    path.write_text("{}")
    os.chmod(path, 0o644)
    keys.save_key(keys.generate_key(), path)
    assert mode(path) == 0o600


def test_load_refuses_group_or_world_readable_file(tmp_path):
    path = keys.save_key(keys.generate_key(), tmp_path / "k.json")
    os.chmod(path, 0o640)
    with pytest.raises(keys.KeyFileError, match="chmod 600"):
        keys.load_key(path)
    assert keys.load_key(path, strict_permissions=False).id  # explicit opt-out (e.g. mounted secrets)


def test_encrypted_key_file(tmp_path):
    key = keys.generate_key(controller=CONTROLLER)
    path = keys.save_key(key, tmp_path / "enc.json", passphrase="correct horse battery staple")
    assert mode(path) == 0o600
    text = path.read_text()
    data = json.loads(text)
    assert "secretKeyMultibase" not in data
    envelope = data["encryptedSecretKey"]
    assert envelope["kdf"] == "scrypt" and envelope["cipher"] == "AES-256-GCM" and envelope["n"] >= 2**15
    assert key.private_key.private_bytes_raw().hex() not in text
    loaded = keys.load_key(path, passphrase="correct horse battery staple")
    assert loaded.private_key.private_bytes_raw() == key.private_key.private_bytes_raw()
    with pytest.raises(keys.KeyFileError, match="passphrase is required"):
        keys.load_key(path)
    with pytest.raises(keys.KeyFileError, match="wrong passphrase"):
        keys.load_key(path, passphrase="wrong")
    # the metadata is bound to the ciphertext: relabelling the key breaks decryption
    data["id"] = "did:web:attacker.example#key-1"
    path.write_text(json.dumps(data))
    with pytest.raises(keys.KeyFileError, match="altered"):
        keys.load_key(path, passphrase="correct horse battery staple", strict_permissions=False)


def test_key_file_with_mismatched_public_key_is_refused(tmp_path):
    key, other = keys.generate_key(), keys.generate_key()
    data = key.to_json()
    data["publicKeyMultibase"] = other.public_key_multibase
    with pytest.raises(keys.KeyFileError, match="does not match"):
        keys.SigningKey.from_json(data)
    with pytest.raises(keys.KeyFileError):
        keys.SigningKey.from_json({"type": "something else"})


def test_hostile_scrypt_parameters_are_refused():
    data = keys.generate_key().to_json(passphrase="pw")
    data["encryptedSecretKey"]["n"] = 2**30
    with pytest.raises(keys.KeyFileError, match="out of range"):
        keys.SigningKey.from_json(data, passphrase="pw")


def test_rotation_keeps_old_signatures_verifiable(tmp_path):
    first = keys.generate_key(f"{CONTROLLER}#key-1")
    keyset = keys.KeySet(first)
    old = sign(DOC, keyset.active, created="2025-01-01T00:00:00Z")
    second = keyset.rotate(keys.generate_key(f"{CONTROLLER}#key-2"))
    assert keyset.active is second
    new = sign(DOC, keyset.active, created="2025-06-01T00:00:00Z")
    assert new["proof"]["verificationMethod"] == f"{CONTROLLER}#key-2"
    assert verify(old, keyset.resolve).ok and verify(new, keyset.resolve).ok
    assert [vm["id"] for vm in keyset.verification_methods()] == [f"{CONTROLLER}#key-1", f"{CONTROLLER}#key-2"]

    # persisted: the retired key survives as a public method only
    path = keyset.save(tmp_path / "keyset.json", passphrase="pw")
    assert mode(path) == 0o600
    saved = json.loads(path.read_text())
    assert all("secretKeyMultibase" not in vm for vm in saved["retired"])
    reloaded = keys.load_keyset(path, passphrase="pw")
    assert reloaded.active.id == second.id
    assert verify(old, reloaded).ok and verify(new, reloaded).ok  # a KeySet is itself a resolver

    # a third rotation with a generated key of the same controller
    third = reloaded.rotate()
    assert third.controller == CONTROLLER and third.id.startswith(CONTROLLER + "#z6Mk")
    with pytest.raises(ValueError):
        reloaded.rotate(third)


def test_revoked_method_stops_verifying():
    keyset = keys.KeySet(keys.generate_key(f"{CONTROLLER}#key-1"))
    signed = sign(DOC, keyset.active, created="2025-01-01T00:00:00Z")
    with pytest.raises(ValueError):
        keyset.revoke(keyset.active.id)
    keyset.rotate()
    keyset.revoke(f"{CONTROLLER}#key-1", "2025-02-01T00:00:00Z")
    result = verify(signed, keyset.resolve)
    assert not result.ok and "revoked" in result.reason
    unknown = verify(signed, keys.KeySet(keys.generate_key()).resolve)
    assert not unknown.ok and "not in this key set" in unknown.reason
