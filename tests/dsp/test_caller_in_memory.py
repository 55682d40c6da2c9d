"""The DSP edge matches a caller's token on its event loop when the peer directory's snapshot is fresh
(no thread hop), and asks the directory (which may read the store) otherwise: never a staler answer
than ``by_token`` gives."""

from __future__ import annotations

from connector.config import Peer
from connector.services.peers import PeerDirectory, PeerInput, PeerTokenAuthenticator
from connector.store import Database


class Monotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_fresh_snapshot_answers_in_memory_and_a_stale_or_invalidated_one_does_not(db: Database) -> None:
    db.migrate()
    clock = Monotonic()
    directory = PeerDirectory(db, [Peer(id="did:web:configured.test", token="configured-token")],
                              own_token="own", monotonic=clock)
    auth = PeerTokenAuthenticator(directory, "own")
    assert auth.known_in_memory("configured-token") is None  # never loaded: the thread path decides
    assert auth.authenticate("Bearer configured-token") is not None  # ... and loads the snapshot
    found = auth.known_in_memory("Bearer configured-token")
    assert found is not None and found.id == "did:web:configured.test"
    assert auth.known_in_memory("no-such-token") is None and auth.known_in_memory(None) is None

    directory.add(PeerInput(id="did:web:partner.test", token="partner-token", dsp_url="https://partner.test/dsp"))
    assert auth.known_in_memory("partner-token") is None  # add() invalidated the snapshot
    assert auth.authenticate("partner-token") is not None
    assert auth.known_in_memory("partner-token") is not None
    directory.remove("did:web:partner.test")
    assert auth.known_in_memory("partner-token") is None  # a removed peer is never let in from memory
    assert auth.authenticate("partner-token") is None

    auth.authenticate("configured-token")
    clock.now += directory.ttl_seconds + 0.1  # past the snapshot's life: by_token would read the store
    assert auth.known_in_memory("configured-token") is None
