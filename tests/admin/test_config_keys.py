"""Unknown config keys are refused in every section, naming the closest valid key."""

from __future__ import annotations

import pytest

from connector.config import ConfigError, load_settings

BASE = 'participant_id = "did:web:a.test"\napi_key = "k"\n'


@pytest.mark.parametrize("toml, said", [
    ("apikey = 'x'\n", "apikey: unknown key; did you mean 'api_key'?"),
    ("[server]\nprot = 1\n", "[server] prot: unknown key; did you mean 'port'?"),
    ('[identity]\nauthmode = "dcp"\n', "[identity] authmode: unknown key; did you mean 'auth_mode'?"),
    ('[dataplane]\nfile_dir = "x"\n', "[dataplane] file_dir: unknown key; did you mean 'files_dir'?"),
    ('[[peers]]\nid = "did:web:b.test"\ntokn = "t"\n', "[[peers]] #1 tokn: unknown key; did you mean 'token'?"),
    ('[server]\nzzzzzz = 1\n', "[server] zzzzzz: unknown key; valid keys: host, port, public_url"),
    ('[database]\nurll = "sqlite:///x.db"\n', "[database] urll: unknown key; the only key there is 'url'"),
])
def test_an_unknown_key_is_refused_naming_the_closest(tmp_path, toml, said):
    config = tmp_path / "c.toml"
    config.write_text(BASE + toml)
    with pytest.raises(ConfigError) as refused:
        load_settings(config)
    assert said in str(refused.value)
    assert "\n" not in str(refused.value)  # one line


def test_a_known_config_still_loads(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(BASE + '[identity]\nauth_mode = "static-token"\n[[peers]]\nid = "did:web:b.test"\ntoken = "t"\n'
                      'claims = {membership = true}\n')
    settings = load_settings(config)
    assert settings.peers[0].claims == {"membership": True}
