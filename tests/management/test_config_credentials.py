"""Issue 8: credentials that would let one party pass for another are refused at start."""

from __future__ import annotations

import pytest

from connector.config import ConfigError, load_settings

BASE = 'participant_id = "did:web:me.test"\ndatabase_url = "sqlite:///x.db"\n'


def config(tmp_path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "c.toml"
    path.write_text(BASE + text)
    return load_settings(path)


@pytest.mark.parametrize("text,message", [
    ('api_key = ""\n', "api_key: must not be empty"),
    ('api_key = "   "\n', "api_key: must not be empty"),
    ('api_key = "k"\n[[peers]]\nid = "did:web:a.test"\ntoken = "same"\n[[peers]]\nid = "did:web:b.test"\ntoken = "same"\n',
     "peers[1].token: did:web:b.test has the same token as peers[0] (did:web:a.test)"),
    ('api_key = "k"\ntoken = "ours"\n[[peers]]\nid = "did:web:a.test"\ntoken = "ours"\n',
     "peers[0].token: did:web:a.test has the same token as token (the one we present to peers)"),
    ('api_key = "k"\n[[peers]]\nid = "did:web:a.test"\ntoken = ""\n', "peers[0].token: must not be empty"),
])
def test_refused_at_start_with_a_clear_message(tmp_path, text, message):
    with pytest.raises(ConfigError) as caught:
        config(tmp_path, text)
    assert message in str(caught.value)


def test_distinct_tokens_start(tmp_path):
    settings = config(tmp_path, 'api_key = "k"\ntoken = "ours"\n[[peers]]\nid = "did:web:a.test"\ntoken = "a"\n'
                                '[[peers]]\nid = "did:web:b.test"\ntoken = "b"\n[[peers]]\nid = "did:web:c.test"\n')
    assert [p.token for p in settings.peers] == ["a", "b", None]


def test_serve_refuses_it_before_it_listens(tmp_path):
    import subprocess
    import sys

    (tmp_path / "c.toml").write_text(BASE + 'api_key = ""\n')
    run = subprocess.run([sys.executable, "-m", "connector.cli.main", "serve", "--config", str(tmp_path / "c.toml")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "api_key: must not be empty" in run.stdout + run.stderr
