"""Ügyfélkapu+ by emailed code through the real forms: the code mailed after the password, a new
code on request, ten minutes, single use, throttling, and what ``acr`` the agency gets under
either policy (``[assurance] substantial_methods``)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from idp.accounts import assurance, email_code
from idp.accounts.records import EmailCode
from idp.security import totp

from ..conftest import make_settings
from ..support.flows import csrf_of, is_signed_in, query_of, sessions_of
from ..support.protocol import id_token_claims as decode
from ..support.protocol import page_location, resume_of

EMAIL_COUNTED = pytest.mark.parametrize("substantial_methods", [["otp", "email"]], ids=["email-counted"])


@pytest.fixture
def substantial_methods():
    return ["otp"]


@pytest.fixture
def settings(database_url, keys_dir, tmp_path, substantial_methods):
    return make_settings(database_url, keys_dir, mail={"outbox_dir": str(tmp_path / "outbox")},
                         assurance={"substantial_methods": substantial_methods})


@pytest.fixture
def english(citizen):
    citizen.http.set_cookie("lang", "en", domain="localhost")
    return citizen


def ask_for_a_new_code(citizen, page_url: str = "/login/second-factor"):
    page = citizen.http.get(page_url)
    data = {"csrf_token": csrf_of(page.get_data(as_text=True))}
    return citizen.http.post(page_url + "/send", data=data)


def code_mails(citizen) -> int:
    return sum(1 for mail in citizen.mail() if re.search(r"^\s{4}\d{6}\s*$", mail.text, re.MULTILINE))


def page_text(citizen, url: str = "/login/second-factor") -> str:
    return citizen.http.get(url).get_data(as_text=True)


def test_the_code_is_mailed_after_the_password_and_signs_in(english, db):
    citizen = english
    citizen.account.locale = "en"
    db.session.commit()
    citizen.with_email_factor()
    response = citizen.sign_in()
    assert response.status_code == 303 and response.headers["Location"].startswith("/login/second-factor")
    assert sessions_of(db, citizen.account) == []
    page = page_text(citizen)
    assert f"{citizen.account.username[0]}***@example.hu" in page and "valid for 10 minutes" in page
    assert 'autocomplete="one-time-code"' in page and "authenticator" not in page
    assert code_mails(citizen) == 1
    response = citizen.second_step(citizen.emailed_code())
    assert response.status_code == 303 and is_signed_in(citizen.http)
    (sso,) = sessions_of(db, citizen.account)
    assert sso.amr == ["pwd", "email"] and sso.acr == assurance.LOW


def test_an_emailed_code_signs_in_once(citizen):
    citizen.with_email_factor()
    citizen.sign_in()
    code = citizen.emailed_code()
    citizen.second_step(code)
    citizen.http.post("/logout", data={"csrf_token": csrf_of(page_text(citizen, "/"))})
    citizen.sign_in()
    citizen.second_step(code)
    assert not is_signed_in(citizen.http)


def test_a_new_code_kills_the_old_one(english, rt):
    citizen = english
    citizen.with_email_factor()
    citizen.sign_in()
    old = citizen.emailed_code()
    rt.clock.advance(seconds=60)
    assert ask_for_a_new_code(citizen).status_code == 303
    assert "We have sent you a new code by email." in page_text(citizen)
    new = citizen.emailed_code()
    if new == old:
        pytest.skip("the new code drew the same six digits")
    citizen.second_step(old)
    assert not is_signed_in(citizen.http)
    citizen.second_step(new)
    assert is_signed_in(citizen.http)


def test_a_new_code_within_a_minute_says_how_long_to_wait(english, rt):
    citizen = english
    citizen.with_email_factor()
    citizen.sign_in()
    rt.clock.advance(seconds=20)
    ask_for_a_new_code(citizen)
    assert "Please wait 40 seconds" in page_text(citizen)
    assert code_mails(citizen) == 1


def test_an_emailed_code_expires_after_ten_minutes(english, rt, db):
    citizen = english
    citizen.with_email_factor()
    citizen.signed_in_quickly()  # a step-up: the session outlives the ten minutes
    assert "Ask for a code" in page_text(citizen)
    ask_for_a_new_code(citizen)
    code = citizen.emailed_code()
    rt.clock.advance(minutes=10)
    response = citizen.second_step(code)
    assert response.headers["Location"].startswith("/login/second-factor")
    page = page_text(citizen)
    assert "The code has expired" in page and 'aria-invalid="true"' in page  # tied to the code field
    (sso,) = sessions_of(db, citizen.account)
    assert sso.amr == ["pwd"]


def test_wrong_emailed_codes_are_throttled_like_authenticator_codes(citizen, db):
    citizen.with_email_factor()
    citizen.sign_in()
    right = citizen.emailed_code()
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(12):
        citizen.second_step(wrong)
    citizen.second_step(right)
    assert not is_signed_in(citizen.http)
    # The throttle held the tries back before they reached the code: it is not used up.
    assert db.session.scalar(select(EmailCode.attempts)) < email_code.MAX_ATTEMPTS


def test_no_code_is_mailed_to_a_citizen_with_an_authenticator(citizen, rt):
    secret, _codes = citizen.with_second_factor()
    citizen.sign_in()
    assert "/login/second-factor/send" not in page_text(citizen)
    assert ask_for_a_new_code(citizen).status_code == 303
    assert code_mails(citizen) == 0
    citizen.second_step(totp.code_at(secret, rt.now()))
    assert is_signed_in(citizen.http)


# acr per policy


def signed_in_by_email(citizen):
    citizen.with_email_factor()
    citizen.sign_in()
    citizen.second_step(citizen.emailed_code())
    assert is_signed_in(citizen.http)


def test_by_default_an_emailed_code_gives_low(citizen, agency, rt):
    signed_in_by_email(citizen)
    claims = decode(rt, agency.tokens()["id_token"])
    assert claims["acr"] == assurance.LOW and claims["amr"] == ["pwd", "email"]


def test_by_default_an_agency_asking_for_substantial_leads_to_an_authenticator_app(english, agency):
    citizen = english
    signed_in_by_email(citizen)
    response = agency.visit(acr_values=assurance.SUBSTANTIAL)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'href="/account/second-factor?next=' in page
    assert "Set up an authenticator app" in page and "/second-factor\"" not in page
    silent = agency.authorize(acr_values=assurance.SUBSTANTIAL, prompt="none")
    assert query_of(silent.headers["Location"])["error"] == "interaction_required"


@EMAIL_COUNTED
def test_an_operator_may_count_the_emailed_code_for_substantial(citizen, agency, rt):
    signed_in_by_email(citizen)
    claims = decode(rt, agency.tokens(acr_values=assurance.SUBSTANTIAL)["id_token"])
    assert claims["acr"] == assurance.SUBSTANTIAL and claims["amr"] == ["pwd", "email"]


@EMAIL_COUNTED
def test_when_it_counts_an_emailed_code_steps_a_session_up(citizen, agency, rt, db):
    citizen.with_email_factor()
    citizen.signed_in_quickly()
    location = page_location(agency.authorize(acr_values=assurance.SUBSTANTIAL), "second-factor")
    ask_for_a_new_code(citizen, location)
    response = citizen.second_step(citizen.emailed_code(), page_url=location)
    assert response.headers["Location"] == resume_of(location)
    consent = agency.follow(response)
    claims = decode(rt, agency.exchange(agency.code_from(agency.follow(agency.consent(consent)))).get_json()["id_token"])
    assert claims["acr"] == assurance.SUBSTANTIAL and claims["amr"] == ["pwd", "email"]
    assert len(sessions_of(db, citizen.account)) == 1


@pytest.mark.parametrize("substantial_methods", [["otp"], ["otp", "email"]], ids=["default", "email-counted"])
def test_discovery_states_both_levels_under_either_policy(client):
    supported = client.get("/.well-known/openid-configuration").get_json()["acr_values_supported"]
    assert supported == [assurance.LOW, assurance.SUBSTANTIAL]
