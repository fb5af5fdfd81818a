"""Passkeys through the real forms (a software authenticator answers as the browser would): adding
one on ``/account/second-factor``, using it after the password, a replayed or foreign answer
refused, removal with the password and a code, and the passwordless sign-in behind its setting."""

from __future__ import annotations


import pytest
from sqlalchemy import select

from idp.accounts import assurance
from idp.accounts.passkey_records import Passkey
from idp.app import create_app
from idp.extensions import db as _db

from ..conftest import make_settings
from ..support.authenticator import ORIGIN, Enrolled, SoftAuthenticator, options_of
from ..support.factories import PASSWORD, make_account
from ..support.flows import Citizen, csrf_of, is_signed_in, sessions_of

@pytest.fixture
def enrolled(citizen, rt):
    return Enrolled(citizen, rt)


def test_a_citizen_adds_a_passkey_with_the_password_and_a_code(enrolled, citizen, db):
    citizen.signed_in_quickly(amr=("pwd", "otp"))
    key = SoftAuthenticator(ORIGIN)
    response = enrolled.add(key, "Telefonom")
    assert response.status_code == 303 and response.headers["Location"] == "/account/second-factor"
    page = citizen.http.get("/account/second-factor").get_data(as_text=True)
    assert "Telefonom" in page and "passkeys.js" in page
    (passkey,) = db.session.scalars(select(Passkey).where(Passkey.account_id == citizen.account.id)).all()
    assert passkey.credential_id == key.id
    assert "Telefonom" in citizen.mail()[0].text  # told by mail, in Hungarian


def test_adding_refuses_a_wrong_password_and_shows_no_ceremony(enrolled, citizen):
    citizen.signed_in_quickly(amr=("pwd", "otp"))
    page = citizen.http.get("/account/second-factor").get_data(as_text=True)
    response = citizen.http.post("/account/second-factor/passkeys", data={
        "csrf_token": csrf_of(page), "name": "Laptop", "current_password": "wrong", "code": enrolled.code()})
    assert response.headers["Location"] == "/account/second-factor"
    assert citizen.http.get("/account/second-factor/passkeys/new").status_code == 303


def test_a_key_made_for_another_site_is_not_added(enrolled, citizen, db):
    citizen.signed_in_quickly(amr=("pwd", "otp"))
    enrolled.add(SoftAuthenticator("https://evil.example"))
    enrolled.add(SoftAuthenticator(ORIGIN), rp_id="evil.example")
    assert db.session.scalars(select(Passkey)).all() == []


def test_the_second_step_with_a_passkey(enrolled, citizen, db):
    key = SoftAuthenticator(ORIGIN)
    citizen.signed_in_quickly(amr=("pwd", "otp"))
    enrolled.add(key)
    citizen.http.delete_cookie(enrolled.rt.settings.session_cookie_name, domain="localhost")
    response = citizen.sign_in()
    assert response.headers["Location"].startswith("/login/second-factor")
    page = citizen.http.get("/login/second-factor").get_data(as_text=True)
    assert 'autocomplete="one-time-code"' in page  # the code stays beside the passkey
    answer = key.get(options_of(page))
    response = citizen.http.post("/login/second-factor/passkey", data={"csrf_token": csrf_of(page), "credential": answer})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    live = [s for s in sessions_of(db, citizen.account) if s.ended_at is None]
    assert live[-1].amr == ["pwd", "hwk", "user", "mfa"] and live[-1].acr == assurance.SUBSTANTIAL


def test_a_replayed_or_foreign_answer_is_refused(enrolled, citizen, db):
    key = SoftAuthenticator(ORIGIN)
    citizen.signed_in_quickly(amr=("pwd", "otp"))
    enrolled.add(key)
    citizen.http.delete_cookie(enrolled.rt.settings.session_cookie_name, domain="localhost")
    citizen.sign_in()
    page = citizen.http.get("/login/second-factor").get_data(as_text=True)
    foreign = key.get(options_of(page), origin="https://evil.example")
    response = citizen.http.post("/login/second-factor/passkey", data={"csrf_token": csrf_of(page), "credential": foreign})
    assert response.headers["Location"].startswith("/login/second-factor") and not is_signed_in(citizen.http)
    page = citizen.http.get("/login/second-factor").get_data(as_text=True)
    answer = key.get(options_of(page))
    citizen.http.post("/login/second-factor/passkey", data={"csrf_token": csrf_of(page), "credential": answer})
    assert is_signed_in(citizen.http)
    citizen.http.post("/logout", data={"csrf_token": csrf_of(citizen.http.get("/").get_data(as_text=True))})
    citizen.sign_in()
    page = citizen.http.get("/login/second-factor").get_data(as_text=True)
    response = citizen.http.post("/login/second-factor/passkey", data={"csrf_token": csrf_of(page), "credential": answer})
    assert response.headers["Location"].startswith("/login/second-factor") and not is_signed_in(citizen.http)


def test_an_empty_answer_without_javascript_is_a_readable_refusal(enrolled, citizen):
    citizen.signed_in_quickly(amr=("pwd", "otp"))
    enrolled.add(SoftAuthenticator(ORIGIN))
    citizen.http.delete_cookie(enrolled.rt.settings.session_cookie_name, domain="localhost")
    citizen.sign_in()
    page = citizen.http.get("/login/second-factor").get_data(as_text=True)
    response = citizen.http.post("/login/second-factor/passkey", data={"csrf_token": csrf_of(page), "credential": ""})
    assert response.status_code == 303
    shown = citizen.http.get(response.headers["Location"]).get_data(as_text=True)
    assert 'class="flash flash-error"' in shown


def test_removal_asks_for_the_password_and_a_code(enrolled, citizen, db):
    key = SoftAuthenticator(ORIGIN)
    citizen.signed_in_quickly(amr=("pwd", "otp"))
    enrolled.add(key, "Régi kulcs")
    (passkey,) = db.session.scalars(select(Passkey)).all()
    url = f"/account/second-factor/passkeys/{passkey.id}/remove"
    page = citizen.http.get(url).get_data(as_text=True)
    assert "Régi kulcs" in page and 'class="card warning"' in page
    citizen.http.post(url, data={"csrf_token": csrf_of(page), "current_password": "wrong", "code": enrolled.code()})
    assert db.session.scalars(select(Passkey)).all() != []
    response = citizen.http.post(url, data={"csrf_token": csrf_of(page), "current_password": PASSWORD,
                                            "code": enrolled.code()})
    assert response.headers["Location"] == "/account/second-factor"
    db.session.expire_all()
    assert db.session.scalars(select(Passkey)).all() == []


def test_someone_else_s_passkey_cannot_be_removed(enrolled, citizen, rt, db, app):
    citizen.signed_in_quickly(amr=("pwd", "otp"))
    enrolled.add(SoftAuthenticator(ORIGIN))
    (passkey,) = db.session.scalars(select(Passkey)).all()
    other = Citizen(app.test_client(), rt, make_account(rt))
    other.signed_in_quickly()
    response = other.http.get(f"/account/second-factor/passkeys/{passkey.id}/remove")
    assert response.status_code == 303 and response.headers["Location"] == "/account/second-factor"


def test_no_passwordless_sign_in_by_default(enrolled, citizen):
    assert "data-passkey" not in citizen.http.get("/login").get_data(as_text=True)
    response = citizen.http.post("/login/passkey", data={"csrf_token": csrf_of(citizen.http.get("/login").get_data(as_text=True))})
    assert response.headers["Location"] == "/login" and not is_signed_in(citizen.http)


@pytest.fixture
def passwordless_app(_schema, database_url, keys_dir, clock, tmp_path):
    settings = make_settings(database_url, keys_dir, mail={"outbox_dir": str(tmp_path / "outbox")},
                             passkeys={"passwordless": True})
    app = create_app(settings, clock=clock)
    app.config["TESTING"] = True
    with app.app_context():
        yield app
        _db.session.remove()


def test_a_passwordless_sign_in_where_the_operator_allows_it(passwordless_app, db):
    rt = passwordless_app.extensions["idp"]
    citizen = Citizen(passwordless_app.test_client(), rt, make_account(rt))
    enrolled = Enrolled(citizen, rt)
    key = SoftAuthenticator(ORIGIN)
    citizen.signed_in_quickly(amr=("pwd", "otp"))
    enrolled.add(key)
    citizen.http.delete_cookie(rt.settings.session_cookie_name, domain="localhost")
    page = citizen.http.get("/login").get_data(as_text=True)
    assert 'data-passkey="get"' in page
    response = citizen.http.post("/login/passkey", data={"csrf_token": csrf_of(page), "credential": key.get(options_of(page))})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert is_signed_in(citizen.http)
    newest = max(sessions_of(db, citizen.account), key=lambda s: s.id)
    assert newest.amr == ["hwk", "user", "mfa"] and newest.acr == assurance.SUBSTANTIAL


def test_a_challenge_older_than_five_minutes_is_refused(enrolled, citizen, rt, db):
    key = SoftAuthenticator(ORIGIN)
    citizen.signed_in_quickly(amr=("pwd", "otp"))
    enrolled.add(key)
    sso = citizen.signed_in_quickly(amr=("pwd",))  # a step-up: the session outlives the challenge
    page = citizen.http.get("/login/second-factor").get_data(as_text=True)
    answer = key.get(options_of(page))
    rt.clock.advance(seconds=5 * 60 + 1)
    response = citizen.http.post("/login/second-factor/passkey", data={"csrf_token": csrf_of(page), "credential": answer})
    assert response.headers["Location"].startswith("/login/second-factor")
    db.session.refresh(sso)
    assert sso.amr == ["pwd"] and sso.acr == assurance.LOW
    page = citizen.http.get("/login/second-factor").get_data(as_text=True)  # a fresh challenge works
    citizen.http.post("/login/second-factor/passkey", data={"csrf_token": csrf_of(page), "credential": key.get(options_of(page))})
    db.session.refresh(sso)
    assert sso.acr == assurance.SUBSTANTIAL


def test_a_passkey_proves_the_second_factor_of_a_recovery(enrolled, citizen, client, db):
    from ..support.recovery import ask, follow_link, set_password

    key = SoftAuthenticator(ORIGIN)
    citizen.signed_in_quickly(amr=("pwd", "otp"))
    enrolled.add(key)
    ask(client, citizen.account.username, citizen.account.email)
    page = follow_link(client, citizen).get_data(as_text=True)
    assert "new-password" not in page  # the second factor is owed first
    foreign = key.get(options_of(page), origin="https://evil.example")
    refused = client.post("/recover/passkey", data={"csrf_token": csrf_of(page), "credential": foreign})
    assert refused.headers["Location"] == "/recover/password"
    page = client.get("/recover/password").get_data(as_text=True)
    assert "new-password" not in page
    answer = key.get(options_of(page))
    proven = client.post("/recover/passkey", data={"csrf_token": csrf_of(page), "credential": answer})
    assert proven.status_code == 303 and proven.headers["Location"] == "/recover/password"
    assert 'autocomplete="new-password"' in client.get("/recover/password").get_data(as_text=True)
    assert set_password(client).headers["Location"] == "/login"
