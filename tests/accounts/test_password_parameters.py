"""argon2id parameters are configuration (issue 11; NIST SP 800-63B §5.1.1.2): a hash made under
older parameters is made again under the configured ones at the next successful sign-in, and only
then."""

from __future__ import annotations

import pytest
from argon2 import extract_parameters

from idp.extensions import db
from idp.security.passwords import Passwords
from idp.settings import SettingsError, argon2_below_floor, build_settings

from ..conftest import PAIRWISE, PASSPHRASE, SECRET


def parameters(account):
    db.session.refresh(account)
    p = extract_parameters(account.password_hash)
    return p.time_cost, p.memory_cost, p.parallelism


def test_a_hash_with_older_parameters_is_made_again_at_the_next_sign_in(rt, citizen):
    before = parameters(citizen.account)
    rt.passwords = Passwords(time_cost=2, memory_kib=2048, parallelism=1)  # the operator raised them

    citizen.sign_in(password="not-the-password-at-all")  # refused
    assert parameters(citizen.account) == before, "a failed sign-in changes nothing"

    citizen.sign_in()
    assert parameters(citizen.account) == (2, 2048, 1)
    assert rt.passwords.verify(citizen.account.password_hash, citizen.password).ok


def test_a_hash_with_the_current_parameters_is_kept(rt, citizen):
    stored = citizen.account.password_hash
    citizen.sign_in()
    db.session.refresh(citizen.account)
    assert citizen.account.password_hash == stored


def _settings(**security):
    data = {
        "server": {"issuer": "https://idp.example.gov.hu", "secret_key": SECRET},
        "keys": {"passphrase": PASSPHRASE},
        "security": {"pairwise_secret": PAIRWISE, **security},
    }
    return build_settings(data)


@pytest.mark.parametrize(
    ("key", "value"), [("argon2_time_cost", 0), ("argon2_parallelism", 0), ("argon2_parallelism", 64),
                       ("argon2_memory_kib", 8)],
)
def test_parameters_outside_the_hard_bounds_are_refused(key, value):
    with pytest.raises(SettingsError) as error:
        _settings(**{key: value, "argon2_parallelism": 2 if key != "argon2_parallelism" else value}).validate()
    assert error.value.key == f"security.{key}"


@pytest.mark.parametrize(("memory", "passes", "weak"), [(8192, 3, True), (19456, 1, True), (19456, 2, False),
                                                        (47104, 1, False), (65536, 3, False)])
def test_parameters_below_the_recommended_floor_are_named(memory, passes, weak):
    s = _settings(argon2_memory_kib=memory, argon2_time_cost=passes).validate()
    assert (argon2_below_floor(s) is not None) == weak


def test_the_defaults_are_valid_in_production_and_above_the_floor():
    s = _settings().validate()
    assert (s.security.argon2_time_cost, s.security.argon2_memory_kib, s.security.argon2_parallelism) == (3, 65536, 2)
    assert argon2_below_floor(s) is None
