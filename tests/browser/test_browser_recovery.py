"""Recovering a forgotten password and the new-device notice in a real browser (Debian's Chromium
through Playwright), against the provider on a real port whose mail goes to a real SMTP server
(tests/support/smtp.py): the request, the same answer for an unknown account, the mailed link
used once, the Ügyfélkapu+ code (authenticator or a recovery code) before the new password,
every session ended and the agency told by back-channel logout (tests/support/receiver.py).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pyotp
import pytest
import requests

from idp.app import create_app
from idp.extensions import db

from ..conftest import _empty_tables, make_settings
from ..support import browser as bw
from ..support.factories import PASSWORD, make_account, make_client
from ..support.flows import Citizen
from ..support.lifecycle import NEW_PASSWORD
from ..support.live import free_port, serving
from ..support.receiver import logout_receiver

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bw.skip_reason() is not None, reason=bw.skip_reason() or ""),
]

SUBMIT = "main form.card button[type=submit]"
LINK = re.compile(r"(http://\S+/recover/link\?token=[A-Za-z0-9_-]{40,})")


@pytest.fixture
def receiver():
    with logout_receiver() as r:
        yield r


@pytest.fixture
def site(_schema, database_url, keys_dir, clock, smtp):
    port = free_port()
    settings = make_settings(
        database_url, keys_dir, issuer=f"http://127.0.0.1:{port}",
        mail=smtp.provider_mail(),
    )
    app = create_app(settings, clock=clock)
    with serving(app, port) as base, app.app_context():
        try:
            yield base, app.extensions["idp"]
        finally:
            db.session.remove()
            _empty_tables()
            db.engine.dispose()


def mails(smtp, to: str, needle: str, count: int = 1, timeout: float = 10) -> list:
    """The mails to ``to`` whose text holds ``needle``, once ``count`` of them have arrived."""
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in smtp.received if to in m.rcpt_tos and needle in m.text()]
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) >= count, f"{len(found)} mail(s) with {needle!r} to {to}"
            return found
        time.sleep(0.05)


def ask_for_a_link(page, base: str, username: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.locator("a[href='/recover']").click()
    page.wait_for_url(f"{base}/recover")
    page.fill("#username", username)
    page.fill("#email", email)
    page.locator(SUBMIT).click()
    page.wait_for_url(f"{base}/recover/sent")


def new_password(page, base: str, password: str = NEW_PASSWORD) -> None:
    page.fill("#new_password", password)
    page.fill("#confirm_password", password)
    page.locator(SUBMIT).click()
    page.wait_for_url(f"{base}/login")
    assert page.locator(".flash-success").is_visible()


def link_of(smtp, account) -> str:
    [mail] = mails(smtp, account.email, "/recover/")
    return LINK.search(mail.text()).group(1)


def signed_in_at_agency(page, base: str, rt, account, receiver) -> None:
    """The citizen signs in to an agency in ``page`` and the agency exchanges the code: it holds a
    session it will be told about (its backchannel_logout_uri is the receiver)."""
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    client, secret = make_client(rt, redirect_uri=redirect_uri, backchannel_logout_uri=receiver.url)
    from idp.authorizations import consent

    consent.record(db.session, account.id, client.id, "openid", rt.now())
    db.session.commit()
    page.context.route(lambda url: url.startswith(redirect_uri),
                       lambda route: route.fulfill(status=200, content_type="text/html", body="<title>Agency</title>"))
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode({"response_type": "code", "client_id": client.client_id, "redirect_uri": redirect_uri,
                       "scope": "openid", "state": "s", "nonce": "n", "code_challenge": challenge,
                       "code_challenge_method": "S256"})
    page.goto(f"{base}/authorize?{query}")
    page.fill("input[autocomplete=username]", account.username)
    page.fill("input[autocomplete=current-password]", PASSWORD)
    page.locator(SUBMIT).click()
    page.wait_for_url(lambda url: url.startswith(redirect_uri))
    code = parse_qs(urlsplit(page.url).query)["code"][0]
    token = requests.post(f"{base}/token", data={"grant_type": "authorization_code", "code": code,
                                                  "redirect_uri": redirect_uri, "code_verifier": verifier},
                          auth=(client.client_id, secret), timeout=5)
    assert token.status_code == 200, token.text


def test_recovery_end_to_end_ends_every_session_and_tells_the_agency(site, smtp, receiver, browsers):
    base, rt = site
    account = make_account(rt)
    elsewhere = browsers()
    signed_in_at_agency(elsewhere, base, rt, account, receiver)

    page = browsers()
    ask_for_a_link(page, base, account.username, account.email)
    link = link_of(smtp, account)
    page.goto(link)
    page.wait_for_url(f"{base}/recover/password")  # the token leaves the address bar
    new_password(page, base)

    [logout_token] = receiver.wait(1)
    assert logout_token
    elsewhere.goto(f"{base}/account")
    assert "/login" in elsewhere.url  # that browser's session ended too
    [notice] = mails(smtp, account.email, "hivatkozással")  # the notice, with what to do if it was not them
    assert f"{base}/recover" in notice.text() and f"{base}/account/password" in notice.text()

    page.goto(link)  # a link cannot be used twice
    page.wait_for_url(f"{base}/recover")
    assert page.locator(".flash-error").is_visible()

    page.goto(f"{base}/login")
    page.fill("input[autocomplete=username]", account.username)
    page.fill("input[autocomplete=current-password]", NEW_PASSWORD)
    page.locator(SUBMIT).click()
    page.wait_for_url(f"{base}/")


def test_an_unknown_account_gets_the_same_answer_and_no_mail(site, smtp, browsers):
    base, rt = site
    account = make_account(rt)
    page = browsers()
    ask_for_a_link(page, base, "senki.sincs", "senki@example.hu")
    unknown = page.content()
    ask_for_a_link(page, base, account.username, account.email)
    link_of(smtp, account)  # the known account's mail arrived, and it is the only mail
    assert [m.rcpt_tos for m in smtp.received] == [[account.email]]
    strip = re.compile(r'name="csrf_token"[^>]*')
    assert strip.sub("", page.content()) == strip.sub("", unknown)


@pytest.mark.parametrize("factor", ["authenticator", "recovery_code"])
def test_with_ugyfelkapu_plus_the_second_factor_comes_first(site, smtp, browsers, clock, factor):
    base, rt = site
    account = make_account(rt)
    clock.advance(seconds=-30)
    secret, codes = Citizen(None, rt, account).with_second_factor()
    page = browsers(locale="en-GB")
    ask_for_a_link(page, base, account.username, account.email)
    page.goto(link_of(smtp, account))
    page.wait_for_url(f"{base}/recover/password")
    assert page.locator("#new_password").count() == 0  # no password before the code
    code = pyotp.TOTP(secret).at(rt.now()) if factor == "authenticator" else codes[0]
    page.fill("#code", code)
    page.locator(SUBMIT).click()
    page.wait_for_url(f"{base}/recover/password")
    new_password(page, base)
    db.session.refresh(account)
    assert rt.passwords.verify(account.password_hash, NEW_PASSWORD).ok


def sign_in(page, base: str, account, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.fill("input[autocomplete=username]", account.username)
    page.fill("input[autocomplete=current-password]", password)
    page.locator(SUBMIT).click()
    page.wait_for_url(f"{base}/")


def sign_out(page, base: str) -> None:
    page.locator("form[action='/logout'] button").click()
    page.wait_for_url(f"{base}/signed-out")


def test_a_sign_in_from_a_new_browser_is_told_once(site, smtp, browsers):
    base, rt = site
    account = make_account(rt)
    usual = browsers(user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                                "(KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36")
    sign_in(usual, base, account)
    [first] = mails(smtp, account.email, "korábban")
    assert "Chrome 130" in first.text() and "Windows" in first.text() and "127.0.0.1" in first.text()
    assert "/recover" in first.text() and "/account/password" in first.text()
    sign_out(usual, base)
    sign_in(usual, base, account)  # the same browser again: nothing new
    other = browsers()
    sign_in(other, base, account)
    notices = mails(smtp, account.email, "korábban", count=2)
    assert len(notices) == 2
