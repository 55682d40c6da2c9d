"""Who is calling, and who signed what.

- Authentication of DSP callers: ``Authenticator`` is the interface; this package ships
  the static-token implementation (dev, tests, the TCK); signed identity tokens plug in
  behind the same interface.
- Data Integrity (``eddsa-rdfc-2022``, ``eddsa-jcs-2022``) signing and verification of
  JSON-LD documents (:mod:`.dataintegrity`), on RDFC-1.0 canonicalization with safe
  mode and poison-graph limits (:mod:`.canon`, :mod:`.contexts`), Ed25519 keys, key
  files and rotation (:mod:`.keys`), Multikey / did:key / JWK encodings (:mod:`.multikey`).
"""

from connector.identity.auth import Authenticator, Participant, StaticTokenAuthenticator
from connector.identity.canon import CanonicalizationError, DataIntegrityError, Limits
from connector.identity.dataintegrity import (
    ProofResult,
    SigningError,
    VerificationError,
    VerificationResult,
    sign,
    verify,
)
from connector.identity.keys import (
    KeyFileError,
    KeySet,
    SigningKey,
    generate_key,
    load_key,
    load_keyset,
    save_key,
)
from connector.identity.multikey import did_key_document, resolve_did_key

__all__ = [
    "Authenticator",
    "CanonicalizationError",
    "DataIntegrityError",
    "KeyFileError",
    "KeySet",
    "Limits",
    "Participant",
    "ProofResult",
    "SigningError",
    "SigningKey",
    "StaticTokenAuthenticator",
    "VerificationError",
    "VerificationResult",
    "did_key_document",
    "generate_key",
    "load_key",
    "load_keyset",
    "resolve_did_key",
    "save_key",
    "sign",
    "verify",
]
