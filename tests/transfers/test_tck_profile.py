"""What the TCK profile adds for transfers: seeded agreements and playbooks with sequences of actions."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from connector.app import create_app
from connector.config import Settings
from connector.protocol import Role
from connector.protocol.transfer import TransferMessage as T
from connector.services.container import build
from connector.services.playbook import PlaybookError
from connector.services.seed import SeedError, load_seed
from connector.store.models import Agreement
from connector.tck import tck_playbook
from connector.tck.playbook import SequencedPlaybook

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tck"


def test_a_sequence_takes_its_actions_in_turn_per_agreement() -> None:
    book = SequencedPlaybook({"ATP0104": {"received:request": "start", "sent:start": "suspend, complete",
                                          "sent:suspension": "start"}}, delay_ms=500)
    sent_start = [book.next_action(Role.PROVIDER, "sent", T.START, ("ATP0104",)) for _ in range(3)]
    assert sent_start == [T.SUSPENSION, T.COMPLETION, T.SUSPENSION]
    assert book.next_action(Role.PROVIDER, "sent", T.SUSPENSION, ("ATP0104",)) is T.START
    assert book.next_action(Role.PROVIDER, "received", T.REQUEST, ("ATP0104",)) is T.START
    assert book.next_action(Role.PROVIDER, "received", T.REQUEST, ("ATP9999",)) is T.START  # the default
    assert book.delay_ms == 500


def test_a_sequence_with_an_unknown_action_is_refused_at_start() -> None:
    with pytest.raises(PlaybookError, match="'explode'"):
        SequencedPlaybook({"ATP0104": {"sent:start": "suspend, explode"}})


def test_only_the_tck_profile_understands_sequences(tmp_path) -> None:  # type: ignore[no-untyped-def]
    playbook = {"ATP0104": {"sent:start": "suspend, complete"}}
    common = {"participant_id": "did:web:cut", "api_key": "k", "database_url": f"sqlite:///{tmp_path / 'c.db'}",
              "playbook": playbook}
    tck = Settings(**common, tck=True)
    assert isinstance(build(tck, playbook=tck_playbook(tck)).negotiations.playbook, SequencedPlaybook)
    assert isinstance(create_app(tck, run_worker=False).state.services.negotiations.playbook, SequencedPlaybook)
    with pytest.raises(PlaybookError, match="unknown action 'suspend, complete'"):
        build(Settings(**common))


def test_the_example_seeds_every_agreement_the_tck_names(tmp_path) -> None:  # type: ignore[no-untyped-def]
    properties = (EXAMPLE / "tck.properties").read_text()
    named = {line.split("=", 1)[1].strip() for line in properties.splitlines() if "_AGREEMENTID=" in line}
    config = tomllib.loads((EXAMPLE / "connector.toml").read_text())
    settings = Settings(participant_id=config["participant_id"], api_key="k", tck=True,
                        database_url=f"sqlite:///{tmp_path / 'cut.db'}", playbook=config["playbook"])
    services = build(settings, playbook=tck_playbook(settings))
    services.db.migrate()
    load_seed(services, EXAMPLE / "seed.json")
    load_seed(services, EXAMPLE / "seed.json")  # a restart seeds again: same rows, no duplicates
    with services.db.read() as session:
        agreements = {a.id: a for a in session.query(Agreement).all()}
    assert named <= set(agreements) and len(named) == 32
    assert agreements["ATP0101"].provider_id == "CONNECTOR_UNDER_TEST" == agreements["ATPC0101"].consumer_id
    assert agreements["ATP0101"].consumer_id == "TCK_PARTICIPANT" == agreements["ATPC0101"].provider_id
    assert agreements["ATP0101"].policy["@type"] == "Agreement" and agreements["ATP0101"].policy["permission"]


@pytest.mark.parametrize("agreement, field", [
    ({"@id": "A1", "providerId": "p", "consumerId": "c"}, "assetId"),
    ({"assetId": "x", "providerId": "p", "consumerId": "c"}, "@id"),
    ({"@id": "A1", "assetId": "x", "consumerId": "c"}, "providerId"),
])
def test_a_bad_seeded_agreement_is_named(tmp_path, agreement, field) -> None:  # type: ignore[no-untyped-def]
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"agreements": [agreement]}))
    services = build(Settings(participant_id="did:web:x", api_key="k", database_url=f"sqlite:///{tmp_path / 'x.db'}"))
    services.db.migrate()
    with pytest.raises(SeedError, match=rf"agreements\[0\]\.{field}"):
        load_seed(services, seed)
