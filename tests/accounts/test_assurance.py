"""Which second factor reaches which level: a pure rule with the operator's policy as a parameter
(``[assurance] substantial_methods``), and the setting that configures it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from idp.accounts import assurance
from idp.accounts.assurance import LOW, SUBSTANTIAL, AssurancePolicy
from idp.accounts.models import Account
from idp.accounts.second_factor import can_reach
from idp.settings import Settings, SettingsError, build_settings

DEFAULT = AssurancePolicy()
REAL_SERVICE = AssurancePolicy.of(["otp", "email"])
NOW = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)

LEVELS = [
    pytest.param(["pwd"], DEFAULT, LOW, id="password-alone"),
    pytest.param(["pwd", "otp"], DEFAULT, SUBSTANTIAL, id="authenticator"),
    pytest.param(["pwd", "email"], DEFAULT, LOW, id="email-not-counted-by-default"),
    pytest.param(["pwd", "email"], REAL_SERVICE, SUBSTANTIAL, id="email-counted"),
    pytest.param(["pwd", "email", "otp"], DEFAULT, SUBSTANTIAL, id="email-then-step-up-with-authenticator"),
    pytest.param(["otp"], DEFAULT, LOW, id="no-password-no-level"),
    pytest.param(["pwd", "hwk", "user", "mfa"], DEFAULT, SUBSTANTIAL, id="password-and-security-key"),
    pytest.param(["hwk", "user", "mfa"], DEFAULT, SUBSTANTIAL, id="passwordless-passkey"),
    pytest.param(["swk", "user", "mfa"], DEFAULT, SUBSTANTIAL, id="passwordless-synced-passkey"),
    pytest.param(["hwk", "user"], DEFAULT, LOW, id="passkey-without-user-verification"),
    pytest.param(["pwd", "hwk", "user", "mfa"], REAL_SERVICE, LOW, id="passkey-not-counted"),
]


@pytest.mark.parametrize(("amr", "policy", "level"), LEVELS)
def test_the_level_follows_the_methods_and_the_policy(amr, policy, level):
    assert assurance.level_for(amr, policy) == level


def citizen_with(method: str | None) -> Account:
    return Account(
        totp_secret_sealed="sealed" if method == "otp" else None,
        totp_enrolled_at=NOW if method == "otp" else None,
        email_code_enrolled_at=NOW if method == "email" else None,
    )


@pytest.mark.parametrize(
    ("method", "policy", "reaches"),
    [
        pytest.param("otp", DEFAULT, True, id="authenticator"),
        pytest.param("email", DEFAULT, False, id="email-not-counted"),
        pytest.param("email", REAL_SERVICE, True, id="email-counted"),
        pytest.param(None, REAL_SERVICE, False, id="no-second-factor"),
    ],
)
def test_a_step_up_is_offered_only_when_the_citizen_s_factor_reaches_substantial(method, policy, reaches):
    assert can_reach(citizen_with(method), SUBSTANTIAL, policy) is reaches
    assert can_reach(citizen_with(method), LOW, policy) is (method is not None)


def test_by_default_the_authenticator_and_passkeys_count():
    assert Settings().assurance.substantial_methods == ["otp", "passkey"]
    assert AssurancePolicy().substantial_methods == frozenset({"otp", "passkey"})


def valid(methods) -> Settings:
    return build_settings(
        {
            "server": {"issuer": "https://idp.example.gov.hu", "secret_key": "k" * 40},
            "keys": {"passphrase": "p" * 20},
            "security": {"pairwise_secret": "s" * 40},
            "assurance": {"substantial_methods": methods},
        }
    ).validate()


def test_an_operator_may_count_passkeys_or_not():
    assert valid(["otp", "email", "passkey"]).assurance.substantial_methods == ["otp", "email", "passkey"]
    assert valid(["otp"]).assurance.substantial_methods == ["otp"]


def test_an_operator_following_the_real_service_counts_email_too():
    assert valid(["otp", "email"]).assurance.substantial_methods == ["otp", "email"]
    assert valid("otp,email").assurance.substantial_methods == ["otp", "email"]  # as an environment variable


@pytest.mark.parametrize("methods", [["email"], ["otp", "sms"], []], ids=["without-otp", "unknown-method", "empty"])
def test_a_policy_without_the_authenticator_or_with_unknown_methods_refuses_to_start(methods):
    with pytest.raises(SettingsError) as caught:
        valid(methods)
    assert caught.value.key == "assurance.substantial_methods"
