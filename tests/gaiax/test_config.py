"""``[gaiax]`` and ``[profile]``: typed, relative paths resolved, unknown keys refused with the closest one."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.config import ConfigError, load_settings

BASE = '''participant_id = "did:web:acme.example"
api_key = "k"
[gaiax]
key_file = "gx.pem"
chain_file = "gx-chain.pem"
legal_name = "Acme"
country_code = "DE"
registration_number = "DE129273398"
notary_url = "https://gxdch.example/notary/v2"
compliance_url = "https://gxdch.example/compliance/v2"
registry_url = "https://gxdch.example/registry/v2"
'''


def test_the_gaiax_section(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(BASE + '[profile]\ndataspace = "factory-x"\n')
    settings = load_settings(path)
    assert settings.gaiax is not None and settings.gaiax.key_file == str(tmp_path / "gx.pem")
    assert settings.gaiax.compliance_level == "standard-compliance" and settings.profile.dataspace == "factory-x"
    assert load_settings(_write(tmp_path, "participant_id = \"x\"\napi_key = \"k\"\n")).gaiax is None


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "d.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("extra,message", [
    ('legal_nme = "x"\n', "[gaiax] legal_nme: unknown key; did you mean 'legal_name'?"),
    ('country_code = "Germany"\n', "[gaiax] country_code"),
    ('registration_number_kind = "duns"\n', "[gaiax] registration_number_kind"),
])
def test_bad_gaiax_keys_are_refused(tmp_path: Path, extra: str, message: str) -> None:
    text = BASE.replace('country_code = "DE"\n', "") if "country_code" in extra else BASE
    with pytest.raises(ConfigError) as caught:
        load_settings(_write(tmp_path, text + extra))
    assert message in str(caught.value)


def test_an_unknown_profile_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[profile\] dataspace"):
        load_settings(_write(tmp_path, BASE + '[profile]\ndataspace = "manufacturing-x"\n'))
