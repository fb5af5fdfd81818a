"""The citizen's Ügyfélkapu+ settings through the real forms (``/account/second-factor``): choose the
emailed code, replace the authenticator (the old one works until the new one is confirmed),
switch, turn off, renew recovery codes; every change needs the password and a current code."""

from __future__ import annotations

import re

import pytest

from idp.accounts import assurance
from idp.security import totp

from ..support.factories import PASSWORD
from ..support.protocol import id_token_claims as decode
from ..support.flows import csrf_of, query_of, sessions_of

SETTINGS = "/account/second-factor"
CODES = re.compile(r"<li><code>([A-Z0-9-]+)</code></li>")


@pytest.fixture
def english(citizen):
    citizen.http.set_cookie("lang", "en", domain="localhost")
    return citizen


def submit(citizen, page_url: str, action_url: str, **fields):
    page = citizen.http.get(page_url).get_data(as_text=True)
    return citizen.http.post(action_url, data={"csrf_token": csrf_of(page), **fields})


def change(citizen, action: str, code: str, password: str = PASSWORD, next_url: str = ""):
    return submit(citizen, SETTINGS, SETTINGS + "/change", action=action, current_password=password, code=code,
                  next=next_url)


def shown(citizen, url: str = SETTINGS) -> str:
    return citizen.http.get(url).get_data(as_text=True)


def new_secret(html: str) -> str:
    return re.search(r'<code id="secret">([A-Z2-7]+)</code>', html).group(1)


def confirm(citizen, code: str, next_url: str = ""):
    return submit(citizen, SETTINGS, SETTINGS, code=code, next=next_url)


def refresh(db, citizen):
    db.session.refresh(citizen.account)
    return citizen.account


def test_the_page_offers_an_authenticator_app_or_a_code_by_email(english):
    english.signed_in_quickly()
    page = shown(english)
    assert "With an authenticator app" in page and "With a code by email" in page
    assert new_secret(page) and 'autocomplete="current-password"' in page


def test_choosing_the_emailed_code_needs_the_password(english, db):
    citizen = english
    citizen.signed_in_quickly()
    submit(citizen, SETTINGS, SETTINGS + "/change", action="email", current_password="not my password")
    page = shown(citizen)
    assert "The current password is not correct." in page
    assert re.search(r'id="current_password"[^>]*aria-invalid="true"[^>]*aria-describedby="current_password-error"', page)
    assert refresh(db, citizen).second_factor_method is None
    submit(citizen, SETTINGS, SETTINGS + "/change", action="email", current_password=PASSWORD)
    page = shown(citizen)
    assert "a code we send to" in page and len(CODES.findall(page)) == 10
    assert CODES.findall(shown(citizen)) == []  # shown once
    assert refresh(db, citizen).second_factor_method == assurance.EMAIL
    assert any("Ügyfélkapu+" in mail.subject for mail in citizen.mail())  # the citizen is told


def test_replacing_the_authenticator_keeps_the_old_one_until_a_code_from_the_new_one(english, rt, db):
    citizen = english
    old, _codes = citizen.with_second_factor()
    citizen.signed_in_quickly(amr=("pwd", "otp"))
    assert change(citizen, "app", totp.code_at(old, rt.now())).status_code == 303
    page = shown(citizen)
    assert "Finish setting up your new authenticator app" in page
    new = new_secret(page)
    assert new != old and refresh(db, citizen).second_factor_method == assurance.OTP
    rt.clock.advance(seconds=30)
    confirm(citizen, totp.code_at(new, rt.now()))
    assert "Your new authenticator app is set up" in shown(citizen)
    rt.clock.advance(seconds=30)
    response = change(citizen, "off", totp.code_at(old, rt.now()))  # the old app no longer counts
    assert response.status_code == 303 and refresh(db, citizen).has_second_factor
    rt.clock.advance(seconds=30)
    change(citizen, "off", totp.code_at(new, rt.now()))
    assert not refresh(db, citizen).has_second_factor
    assert "Ügyfélkapu+ is off." in shown(citizen)


def test_a_change_needs_a_current_code(english, rt, db):
    citizen = english
    secret, _codes = citizen.with_second_factor()
    citizen.signed_in_quickly()
    right = totp.code_at(secret, rt.now())
    change(citizen, "off", "000000" if right != "000000" else "111111")
    page = shown(citizen)
    assert "The code is not correct" in page and re.search(r'id="code"[^>]*aria-invalid="true"', page)
    change(citizen, "off", right, password="not my password")
    assert refresh(db, citizen).second_factor_method == assurance.OTP


def test_cancelling_a_new_authenticator_keeps_the_old_one(english, rt, db):
    citizen = english
    old, _codes = citizen.with_second_factor()
    citizen.signed_in_quickly()
    change(citizen, "app", totp.code_at(old, rt.now()))
    submit(citizen, SETTINGS, SETTINGS + "/cancel")
    assert "nothing has changed" in shown(citizen) and refresh(db, citizen).totp_pending_sealed is None


def test_switching_from_the_authenticator_to_codes_by_email(english, rt, db):
    citizen = english
    secret, codes = citizen.with_second_factor()
    citizen.signed_in_quickly()
    change(citizen, "email", totp.code_at(secret, rt.now()))
    page = shown(citizen)
    assert "a code we send to" in page and CODES.findall(page) == []  # the recovery codes are kept
    assert refresh(db, citizen).second_factor_method == assurance.EMAIL
    assert citizen.account.totp_secret_sealed is None


def test_a_citizen_on_codes_by_email_asked_for_substantial_moves_to_an_app_and_back_to_the_agency(
    english, agency, rt, db
):
    citizen = english
    citizen.with_email_factor()
    citizen.signed_in_quickly(amr=("pwd", "email"))
    fix = agency.visit(acr_values=assurance.SUBSTANTIAL).get_data(as_text=True)
    settings_url = re.search(r'href="(/account/second-factor\?next=[^"]+)"', fix).group(1).replace("&amp;", "&")
    resume = query_of(settings_url)["next"]
    page = shown(citizen, settings_url)
    assert re.search(r'id="action-app"[^>]*checked', page) and "accepts only an authenticator app" in page
    assert f'href="{resume}"' not in page  # no way on until the app is set up
    submit(citizen, settings_url, SETTINGS + "/send-code", next=resume)
    change(citizen, "app", citizen.emailed_code(), next_url=resume)
    secret = new_secret(shown(citizen, settings_url))
    done = confirm(citizen, totp.code_at(secret, rt.now()), next_url=resume)
    assert f'class="button primary" href="{resume}"' in shown(citizen, done.headers["Location"])
    assert refresh(db, citizen).second_factor_method == assurance.OTP
    response = agency.follow(citizen.http.get(resume))
    if response.status_code == 200 and b'name="decision"' in response.data:
        response = agency.follow(agency.consent(response))
    claims = decode(rt, agency.exchange(agency.code_from(response)).get_json()["id_token"])
    assert claims["acr"] == assurance.SUBSTANTIAL and claims["amr"] == ["pwd", "email", "otp"]
    assert len(sessions_of(db, citizen.account)) == 1


def test_new_recovery_codes_after_the_password_and_a_code_are_shown_once(english, rt):
    citizen = english
    secret, old = citizen.with_second_factor()
    citizen.signed_in_quickly()
    assert "New recovery codes" in shown(citizen)
    url = SETTINGS + "/recovery-codes"
    submit(citizen, url, url, current_password="not my password", code=totp.code_at(secret, rt.now()))
    assert "The current password is not correct." in shown(citizen, url)
    submit(citizen, url, url, current_password=PASSWORD, code=old[0])  # a recovery code is a current code too
    page = shown(citizen, url)
    new = CODES.findall(page)
    assert len(new) == 10 and not set(new) & set(old) and "the previous ones no longer work" in page
    assert CODES.findall(shown(citizen, url)) == []
    citizen.http.post("/logout", data={"csrf_token": csrf_of(shown(citizen, "/"))})
    citizen.sign_in()
    citizen.second_step(old[1])
    assert "/logout" not in shown(citizen, "/")
    citizen.second_step(new[0])
    assert 'action="/logout"' in shown(citizen, "/")


def test_renewing_recovery_codes_by_email(english, rt):
    citizen = english
    citizen.with_email_factor()
    citizen.signed_in_quickly()
    url = SETTINGS + "/recovery-codes"
    submit(citizen, url, SETTINGS + "/send-code", page="recovery")
    submit(citizen, url, url, current_password=PASSWORD, code=citizen.emailed_code())
    assert len(CODES.findall(shown(citizen, url))) == 10


@pytest.mark.parametrize(
    ("method", "url"),
    [("get", SETTINGS), ("get", SETTINGS + "/recovery-codes"), ("post", SETTINGS + "/change"),
     ("post", SETTINGS + "/send-code"), ("post", SETTINGS + "/cancel"), ("post", SETTINGS + "/recovery-codes")],
)
def test_every_settings_page_needs_a_signed_in_citizen(client, method, url):
    data = {"csrf_token": csrf_of(client.get("/login").get_data(as_text=True))} if method == "post" else None
    response = getattr(client, method)(url, data=data)
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")
