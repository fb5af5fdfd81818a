"""The recovery pages (idp.web.recovery): the same answer for every account, the link taken out of
the address bar and used once, the Ügyfélkapu+ code before the new password, sessions ended."""

from __future__ import annotations

import logging
import re

from sqlalchemy import select

from idp.accounts.states import AccountState
from idp.security import totp
from idp.sessions.models import SsoSession

from ..support.factories import make_account
from ..support.flows import Citizen, csrf_of
from ..support.lifecycle import NEW_PASSWORD
from ..support.recovery import ask, follow_link, link_in, set_password


def test_the_sign_in_page_leads_to_recovery(client):
    assert 'href="/recover"' in client.get("/login").get_data(as_text=True)
    page = client.get("/recover")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'autocomplete="username"' in html and 'autocomplete="email"' in html


def test_every_request_gets_the_same_answer(client, rt):
    """Known, unknown, a wrong address, deleted, awaiting activation: the same status, the same
    place, the same page (only the form's CSRF token differs)."""
    known = make_account(rt)
    deleted = make_account(rt, state=AccountState.DELETED)
    waiting = make_account(rt, state=AccountState.AWAITING_ACTIVATION, initial_password=True)
    cases = {
        "known": (known.username, known.email),
        "unknown": ("senki-sincs-ilyen", "senki@example.hu"),
        "wrong_email": (known.username, "mas@example.hu"),
        "deleted": (deleted.username, deleted.email),
        "awaiting_activation": (waiting.username, waiting.email),
    }
    pages = {}
    for case, (username, email) in cases.items():
        browser = client.application.test_client()
        response = ask(browser, username, email)
        assert (response.status_code, response.headers["Location"]) == (303, "/recover/sent"), case
        sent = browser.get("/recover/sent")
        assert sent.status_code == 200, case
        pages[case] = re.sub(r'name="csrf_token"[^>]*', "", sent.get_data(as_text=True))
    assert len(set(pages.values())) == 1


def test_a_throttled_request_gets_the_same_answer(client, rt):
    account = make_account(rt)
    answers = {ask(client, account.username, account.email).headers["Location"] for _ in range(6)}
    assert answers == {"/recover/sent"}
    citizen = Citizen(client, rt, account)
    assert len([m for m in citizen.mail() if "/recover/" in m.text]) == rt.settings.recovery.requests_per_account


def test_an_empty_form_asks_to_fill_it_in(client):
    page = client.get("/recover")
    response = client.post("/recover", data={"csrf_token": csrf_of(page.get_data(as_text=True)), "username": "", "email": ""})
    assert response.headers["Location"] == "/recover"
    assert 'aria-invalid="true"' in client.get("/recover").get_data(as_text=True)


def test_recovery_end_to_end_ends_every_session(client, rt, citizen, db):
    Citizen(client.application.test_client(), rt, citizen.account).signed_in_quickly()  # another browser
    ask(client, citizen.account.username, citizen.account.email)
    page = follow_link(client, citizen)
    assert page.status_code == 200 and 'autocomplete="new-password"' in page.get_data(as_text=True)
    done = set_password(client)
    assert done.status_code == 303 and done.headers["Location"] == "/login"
    assert citizen.sign_in(NEW_PASSWORD).headers["Location"] == "/"
    ended = db.session.scalars(select(SsoSession).where(SsoSession.end_reason == "password_recovered")).all()
    assert len(ended) == 1
    assert any("password" in m.subject or "jelszava" in m.subject for m in citizen.mail())


def test_a_link_cannot_be_used_twice(client, rt, citizen):
    ask(client, citizen.account.username, citizen.account.email)
    link = link_in(citizen)
    follow_link(client, citizen)
    set_password(client)
    again = client.get(link)
    assert again.status_code == 303 and again.headers["Location"] == "/recover"
    assert 'role="alert"' in client.get("/recover").get_data(as_text=True)
    assert client.get("/recover/password").headers["Location"] == "/recover"


def test_with_an_authenticator_the_code_comes_first(client, rt, citizen):
    secret, _codes = citizen.with_second_factor()
    ask(client, citizen.account.username, citizen.account.email)
    page = follow_link(client, citizen)
    html = page.get_data(as_text=True)
    assert 'autocomplete="one-time-code"' in html and "new-password" not in html
    refused = set_password(client)  # the password form is not on offer: the code is owed
    assert refused.headers["Location"] == "/recover/password"
    code = client.post("/recover/code", data={"csrf_token": csrf_of(html), "code": totp.code_at(secret, rt.now())})
    assert code.headers["Location"] == "/recover/password"
    assert 'autocomplete="new-password"' in client.get("/recover/password").get_data(as_text=True)
    assert set_password(client).headers["Location"] == "/login"


def test_well_known_change_password(client, citizen):
    assert client.get("/.well-known/change-password").headers["Location"] == "/recover"
    citizen.signed_in_quickly()
    assert client.get("/.well-known/change-password").headers["Location"] == "/account/password"


def test_no_recovery_token_or_password_reaches_the_logs(client, rt, citizen, caplog):
    caplog.set_level(logging.DEBUG)
    ask(client, citizen.account.username, citizen.account.email)
    link = link_in(citizen)
    follow_link(client, citizen)
    set_password(client)
    token = link.split("token=", 1)[1]
    assert token not in caplog.text and NEW_PASSWORD not in caplog.text


def test_with_the_emailed_code_the_code_is_mailed_and_comes_first(client, rt, citizen):
    citizen.with_email_factor()
    ask(client, citizen.account.username, citizen.account.email)
    page = follow_link(client, citizen)
    html = page.get_data(as_text=True)
    assert 'autocomplete="one-time-code"' in html and "new-password" not in html
    code = citizen.emailed_code()
    assert client.post("/recover/code", data={"csrf_token": csrf_of(html), "code": code}).headers["Location"] == "/recover/password"
    assert set_password(client).headers["Location"] == "/login"
    assert citizen.sign_in(NEW_PASSWORD).headers["Location"] == "/login/second-factor"  # Ügyfélkapu+ stays on
