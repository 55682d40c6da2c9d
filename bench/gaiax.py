"""Gaia-X costs on one machine (issue 16): loading and running the SHACL shapes on the participant
credential subjects (our subset, and the official 25.11 files when ../shared is present), and signing
and verifying VC-JWTs (ES256). Run: .venv/bin/python bench/gaiax.py"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connector.gaiax.jose import sign_vc, verify_jwt  # noqa: E402
from connector.gaiax.keys import GaiaxKey, generate_private_key  # noqa: E402
from connector.gaiax.shapes import ShapesValidator  # noqa: E402
from connector.identity.did import DidResolver  # noqa: E402
from tests.gaiax.test_shapes import participant_subjects  # noqa: E402

OFFICIAL = Path(__file__).resolve().parents[2] / "shared" / "reference" / "gaiax" / "omb"


def shapes(name: str, validator: ShapesValidator, runs: int = 20) -> None:
    started = time.perf_counter()
    validator.results(participant_subjects())  # loads the files
    load = time.perf_counter() - started
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        assert validator.results(participant_subjects()) == []
        times.append(time.perf_counter() - t)
    print(f"shapes {name}: first run (load + validate) {load * 1000:.0f} ms; validate p50 "
          f"{statistics.median(times) * 1000:.1f} ms over {runs}")


def jose(runs: int = 500) -> None:
    key = GaiaxKey(generate_private_key(), "did:web:acme.example#gx-es256", "https://acme.example/chain.pem")
    resolver = DidResolver(documents=[{"id": key.did, "verificationMethod": [key.verification_method()],
                                       "assertionMethod": [key.kid]}])
    credential = {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"],
                  "id": "https://acme.example/c/1", "issuer": key.did, "credentialSubject": {"id": "x"}}
    t = time.perf_counter()
    tokens = [sign_vc(credential, key) for _ in range(runs)]
    signed = time.perf_counter() - t
    t = time.perf_counter()
    now = datetime.now(UTC)
    for token in tokens:
        verify_jwt(token, "vc", resolver, now)
    verified = time.perf_counter() - t
    print(f"VC-JWT ES256: sign {runs / signed:.0f}/s, verify (DID pinned) {runs / verified:.0f}/s")


if __name__ == "__main__":
    shapes("(Pontis subset)", ShapesValidator())
    if (OFFICIAL / "gx.shacl.ttl").exists():
        shapes("(official 25.11)", ShapesValidator(OFFICIAL / "gx.shacl.ttl", OFFICIAL / "gx.owl.ttl"), runs=5)
    jose()
