"""Passwords a citizen chooses (NIST SP 800-63B-4 §3.1.1.2): length, not composition; no common,
guessable or personal ones."""

from __future__ import annotations

import pytest

from idp.accounts.password_policy import MAX_LENGTH, MIN_LENGTH, problems


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("rövid-jelszó", "password_too_short"),
        ("x" * (MAX_LENGTH + 1), "password_too_long"),
        ("PasswordPassword", "password_common"),
        ("abcabcabcabcabcabc", "password_common"),
        ("qwertyuiopasdfghjk1", "password_guessable"),
        ("password1234567890", "password_guessable"),
        ("kovacs-eva-szereti-a-napot", "password_contains_personal_data"),
        ("polgar77-jelszava-ez-itt", "password_contains_personal_data"),
    ],
    ids=lambda v: v if isinstance(v, str) and v.startswith("password_") else None,
)
def test_a_weak_password_is_refused_with_its_reason(password, reason):
    assert reason in problems(password, "polgar77", ("Kovács", "Éva"))


@pytest.mark.parametrize(
    "password",
    ["kek-alma-reggel-fut", "correct horse battery staple", "Ősz a fák alatt, csendben", "x7#Lq9-Wm2&Tz8!Pc4"],
)
def test_long_unrelated_words_or_random_strings_are_accepted(password):
    assert problems(password, "polgar77", ("Kovács", "Éva")) == []


def test_at_least_64_characters_and_any_unicode_are_allowed():
    long_one = "árvíztűrő tükörfúrógép, a hajnali vonat késik, de a kertben már nyílik a levendula"
    assert len(long_one) >= 64
    assert problems(long_one, "polgar77", ("Kovács", "Éva")) == []
    assert MIN_LENGTH == 15
