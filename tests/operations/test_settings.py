"""Configuration: typed, validated at start-up with the bad key named, documented at the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from idp.settings import SettingsError, build_settings, example_toml, load_settings

ROOT = Path(__file__).resolve().parents[2]

GOOD = {
    "server": {"issuer": "https://idp.example.gov.hu", "secret_key": "k" * 40},
    "keys": {"passphrase": "p" * 20},
    "security": {"pairwise_secret": "s" * 40},
}


def settings_with(**changes):
    data = {k: dict(v) for k, v in GOOD.items()}
    for dotted, value in changes.items():
        section, key = dotted.split("__")
        data.setdefault(section, {})[key] = value
    return build_settings(data)


def test_a_complete_production_configuration_is_accepted():
    s = settings_with().validate()
    assert s.is_https and s.session_cookie_name == "__Host-idp_session"


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"server__issuer": "http://idp.example.gov.hu"}, "server.issuer"),
        ({"server__issuer": "http://127.0.0.1:5000"}, "server.issuer"),
        ({"server__issuer": "https://idp.example.gov.hu/"}, "server.issuer"),
        ({"server__issuer": "idp.example.gov.hu"}, "server.issuer"),
        ({"server__secret_key": ""}, "server.secret_key"),
        ({"keys__passphrase": "short"}, "keys.passphrase"),
        ({"security__pairwise_secret": ""}, "security.pairwise_secret"),
        ({"keys__algorithms": ["ES256"]}, "keys.algorithms"),
        ({"keys__algorithms": ["RS256", "HS256"]}, "keys.algorithms"),
        ({"tokens__authorization_code_seconds": 3600}, "tokens.authorization_code_seconds"),
        ({"policy__account_validity_days": 0, "policy__password_max_age_days": 0}, "policy.password_max_age_days"),
        ({"policy__registration_document_days": 0}, "policy.registration_document_days"),
        ({"policy__registration_document_days": 365}, "policy.registration_document_days"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_an_unsafe_setting_refuses_to_start_naming_the_key(changes, key):
    with pytest.raises(SettingsError) as caught:
        settings_with(**changes).validate()
    assert caught.value.key == key


def test_http_issuer_is_allowed_only_in_development_on_loopback():
    settings_with(server__issuer="http://127.0.0.1:5000", server__development=True).validate()
    settings_with(server__issuer="http://localhost:5000", server__development=True).validate()
    with pytest.raises(SettingsError):
        settings_with(server__issuer="http://10.0.0.5:5000", server__development=True).validate()


def test_unknown_keys_and_wrong_types_are_refused():
    with pytest.raises(SettingsError) as caught:
        build_settings({"server": {"isuer": "x"}})
    assert caught.value.key == "server.isuer"
    with pytest.raises(SettingsError) as caught:
        build_settings({"tokens": {"access_token_seconds": "ten"}})
    assert caught.value.key == "tokens.access_token_seconds"
    with pytest.raises(SettingsError):
        build_settings({"nonsense": {}})


def test_secrets_come_from_the_environment(tmp_path):
    config = tmp_path / "idp.toml"
    config.write_text('[server]\nissuer = "https://idp.example.gov.hu"\n')
    env = {"IDP_SERVER_SECRET_KEY": "e" * 40, "IDP_KEYS_PASSPHRASE": "q" * 20, "IDP_SECURITY_PAIRWISE_SECRET": "r" * 40,
           "IDP_TOKENS_ACCESS_TOKEN_SECONDS": "300", "IDP_SERVER_DEVELOPMENT": "false"}
    s = load_settings(config, env)
    assert s.server.secret_key == "e" * 40
    assert s.tokens.access_token_seconds == 300


def test_a_missing_config_file_is_named(tmp_path):
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path / "absent.toml", {})
    assert caught.value.key == "--config"


def test_the_committed_example_matches_the_settings_classes():
    committed = (ROOT / "config.example.toml").read_text("utf-8")
    assert committed == example_toml(), "run: idp config example > config.example.toml"


def test_the_example_documents_every_key_and_parses():
    import tomllib

    parsed = tomllib.loads(example_toml())
    assert parsed["server"]["issuer"].startswith("https://")
    assert "IDP_KEYS_PASSPHRASE" in example_toml()


def test_the_2009_rule_is_expressible_by_configuration_alone():
    s = settings_with(policy__account_validity_days=0, policy__password_max_age_days=730).validate()
    assert s.policy.account_validity_days == 0 and s.policy.password_renewal_grace_days == 60
